/* test_config.c — the INI loader and --set (host/config/config.c, host/config/config_keys.c).
 *
 * The configuration is the user's only way in, so each mistake must come back as one line naming
 * the file and line, what is wrong and what would be valid. These tests pin the exact messages
 * (line numbers included), the defaults of docs/design.md §7, the INI details that matter for
 * expressions
 * (';' inside values, ' # comment', indented continuation lines) and that the effective
 * configuration written into the HDF5 file loads back to the same values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddm/config.h"
#include "ddm/system.h"

/* The message must contain `part`; on failure show the whole message. */
#define assert_has(message, part)                                                                  \
    cr_assert(strstr((message), (part)) != NULL, "expected \"%s\" in \"%s\"", (part), (message))

static struct ddm_config cfg;
static struct ddm_error err;

static void setup(void) {
    memset(&err, 0, sizeof err);
    cr_assert_eq(config_defaults(&cfg, &err), DDM_OK, "defaults: %s", err.message);
}

static void teardown(void) {
    config_free(&cfg);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Loads `text` as the file "t.ini" on top of the defaults. */
static int load(const char *text) {
    return config_load_text(&cfg, text, "t.ini", &err);
}

/* Loading must fail with a usage error whose message is exactly `expected`. */
static void expect_error(const char *text, const char *expected) {
    cr_assert_eq(load(text), DDM_EUSAGE, "loaded without error: %s", text);
    cr_assert_eq(err.code, DDM_EUSAGE);
    cr_assert_str_eq(err.message, expected);
}

/* ---- defaults ------------------------------------------------------------------------------ */

Test(config, defaults_of_design_section_7) {
    cr_assert_eq(cfg.neurons, 256);
    cr_assert_eq(cfg.sampling, SAMPLING_PATHS);
    cr_assert_eq(cfg.schedule, SCHEDULE_COSINE);
    cr_assert_eq(cfg.init, INIT_MANIFOLD);
    cr_assert_eq(cfg.backend, BACKEND_AUTO);
    cr_assert_eq(cfg.seed, 1);
    cr_assert_float_eq(cfg.tau, 1.0, 0);
    cr_assert_eq(cfg.steps % cfg.record_every, 0, "the default steps are recordable");
    cr_assert_eq(cfg.burn_in, 0);
    cr_assert_eq(cfg.threads, 0, "all cores");
    cr_assert_eq(cfg.device, 0);
    cr_assert_str_eq(cfg.output_path, "ddm_{name}.h5");
    cr_assert_str_eq(cfg.system_name, "");
    cr_assert_str_eq(cfg.drift, "");
    cr_assert_str_eq(cfg.box, "");
    cr_assert_eq(cfg.pca, 20);
    cr_assert_eq(cfg.decomposition_grid, 41);
    cr_assert_eq(cfg.hhd_grid, 64);
    cr_assert_eq(cfg.lyapunov_steps, 20000);
    cr_assert_eq(cfg.lyapunov_precision, 0.025);
    cr_assert_eq(cfg.target_drift_error, 0.001);
    cr_assert_str_eq(cfg.bounds, "", "the grids cover the visited region by default");
    cr_assert_eq(config_line(&cfg, "network", "neurons"), 0, "a default has no line");
}

Test(config, empty_text_keeps_defaults) {
    cr_assert_eq(load(""), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.neurons, 256);
    cr_assert_str_eq(cfg.source_path, "t.ini");
}

/* ---- values and their lines ---------------------------------------------------------------- */

Test(config, values_lines_and_where) {
    const char *text = "; a comment\n"
                       "[system]\n"
                       "name = lorenz\n"
                       "\n"
                       "[network]\n"
                       "neurons = 512\n"
                       "tau = 0.25\n"
                       "[train]\n"
                       "sampling = both\n"
                       "samples = 1e5\n"
                       "[run]\n"
                       "backend = cpu\n";
    cr_assert_eq(load(text), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.system_name, "lorenz");
    cr_assert_eq(cfg.neurons, 512);
    cr_assert_float_eq(cfg.tau, 0.25, 0);
    cr_assert_eq(cfg.sampling, SAMPLING_BOTH);
    cr_assert_eq(cfg.samples, 100000, "integers may be written 1e5");
    cr_assert_eq(cfg.backend, BACKEND_CPU);
    cr_assert_eq(config_line(&cfg, "system", "name"), 3);
    cr_assert_eq(config_line(&cfg, "network", "neurons"), 6);
    cr_assert_eq(config_line(&cfg, "run", "backend"), 12);
    cr_assert_eq(config_line(&cfg, "train", "epochs"), 0);
    char where[256];
    config_where(&cfg, "network", "tau", where, sizeof where);
    cr_assert_str_eq(where, "t.ini:7: [network] tau");
    config_where(&cfg, "train", "epochs", where, sizeof where);
    cr_assert_str_eq(where, "[train] epochs");
}

Test(config, crlf_line_ends) {
    cr_assert_eq(load("[network]\r\nneurons = 32\r\n\r\nseed = 7\r\n"), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.neurons, 32);
    cr_assert_eq(cfg.seed, 7);
    cr_assert_eq(config_line(&cfg, "network", "seed"), 4);
}

Test(config, seeds_keep_all_64_bits) {
    cr_assert_eq(load("[network]\nseed = 18446744073709551615\n"), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.seed, UINT64_MAX);
    config_free(&cfg);
    setup();
    cr_assert_eq(load("[network]\nseed = 1e3\n"), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.seed, 1000);
    expect_error("[network]\nseed = 18446744073709551616\n",
                 "t.ini:2: [network] seed = '18446744073709551616' is not a valid seed (expected "
                 "a whole number 0 to 18446744073709551615)");
}

Test(config, negative_seed) {
    expect_error("[network]\nseed = -1\n",
                 "t.ini:2: [network] seed = '-1' is not a valid seed (expected a whole number 0 "
                 "to 18446744073709551615)");
}

/* ---- unknown names ------------------------------------------------------------------------- */

Test(config, unknown_key_suggests_and_lists) {
    expect_error("[system]\nname = vdp\n\n[network]\nneuron = 64\n",
                 "t.ini:5: unknown key 'neuron' in [network] (did you mean 'neurons'? keys: "
                 "neurons, tau, seed, init_gain, init_bias)");
}

Test(config, unknown_key_far_from_all) {
    expect_error("[run]\nzzzzzzzzzz = 1\n",
                 "t.ini:2: unknown key 'zzzzzzzzzz' in [run] (keys: backend, threads, device, "
                 "memory_limit)");
}

Test(config, unknown_section_suggests) {
    expect_error("[network]\nneurons = 8\n[tran]\nepochs = 3\n",
                 "t.ini:4: unknown section [tran] (did you mean [train]? sections: system, "
                 "network, train, simulate, input, analysis, output, run)");
}

Test(config, key_outside_any_section) {
    expect_error("# settings\nneurons = 64\n[network]\n",
                 "t.ini:2: key 'neurons' is outside any section (put it under one of: system, "
                 "network, train, simulate, input, analysis, output, run)");
}

/* ---- bad values ---------------------------------------------------------------------------- */

Test(config, not_a_number) {
    expect_error("[network]\nneurons = many\n",
                 "t.ini:2: [network] neurons = 'many' is not a number (expected a whole number 1 "
                 "to 1048576, or auto)");
}

Test(config, real_not_a_number) {
    expect_error("[train]\nlr = 1e-3x\n",
                 "t.ini:2: [train] lr = '1e-3x' is not a number (expected a number 0 to 10)");
}

Test(config, infinity_is_not_a_number) {
    expect_error("[network]\ntau = inf\n",
                 "t.ini:2: [network] tau = 'inf' is not a number (expected a number >= 1e-09)");
}

Test(config, not_an_integer) {
    expect_error("[train]\nepochs = 2.5\n",
                 "t.ini:2: [train] epochs = 2.5 is not a whole number (expected an integer 0 to "
                 "16777216)");
}

Test(config, out_of_range_shows_range) {
    expect_error("[network]\nneurons = 0\n",
                 "t.ini:2: [network] neurons = 0 is out of range (valid: 1 to 1048576)");
}

Test(config, real_out_of_range) {
    expect_error("[train]\n\ntest_fraction = 0.95\n",
                 "t.ini:3: [train] test_fraction = 0.95 is out of range (valid: 0.001 to 0.9)");
}

Test(config, open_range_shows_lower_bound) {
    expect_error("[simulate]\ndt = 0\n",
                 "t.ini:2: [simulate] dt = 0 is out of range (valid: >= 1e-12)");
}

Test(config, bad_choice_suggests) {
    expect_error("[train]\nsampling = path\n",
                 "t.ini:2: [train] sampling = 'path' is not valid (did you mean 'paths'? valid: "
                 "paths/box/both)");
}

Test(config, bad_choice_far_from_all) {
    expect_error("[simulate]\ninit = zzzzzzzzzzzz\n",
                 "t.ini:2: [simulate] init = 'zzzzzzzzzzzz' is not valid (valid: "
                 "manifold/off_manifold)");
}

/* ---- INI structure ------------------------------------------------------------------------- */

Test(config, key_given_twice_names_both_lines) {
    expect_error("[network]\nneurons = 64\n[train]\nepochs = 1\n[network]\nneurons = 128\n",
                 "t.ini:6: [network] neurons is given more than once (first on line 2; keep one; "
                 "lines starting with white space continue the value above)");
}

Test(config, continuation_joins_a_string) {
    const char *text = "[system]\n"
                       "name = spiral\n"
                       "vars = x, y\n"
                       "drift = -0.1*x - y;\n"
                       "        x - 0.1*y\n"
                       "params = a=1,\n"
                       "\n"
                       "    b=2\n";
    cr_assert_eq(load(text), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.drift, "-0.1*x - y; x - 0.1*y");
    cr_assert_str_eq(cfg.params, "a=1, b=2", "a blank line does not end a value");
    cr_assert_eq(config_line(&cfg, "system", "drift"), 4, "the line of the key, not of its tail");
    cr_assert_eq(config_line(&cfg, "system", "params"), 6);
}

Test(config, continuation_of_a_number_is_an_error) {
    expect_error("[network]\nneurons = 64\n  128\n",
                 "t.ini:3: [network] neurons: this line starts with white space, so it continues "
                 "the value of line 2, which makes no sense for a number; remove the indentation");
}

Test(config, indented_key_after_another_is_a_continuation) {
    /* as in inih and Python's configparser: an indented line continues the value above */
    cr_assert_eq(load("[network]\ntau = 2\n  seed = 5\n"), DDM_EUSAGE);
    assert_has(err.message, "t.ini:3: [network] tau: this line starts with white space");
}

Test(config, indented_first_key_of_a_section_is_a_key) {
    cr_assert_eq(load("[network]\n  neurons = 48\n[train]\n\tepochs = 3\n"), DDM_OK, "%s",
                 err.message);
    cr_assert_eq(cfg.neurons, 48);
    cr_assert_eq(cfg.epochs, 3);
    cr_assert_eq(config_line(&cfg, "train", "epochs"), 4);
}

Test(config, semicolon_in_a_value_is_not_a_comment) {
    cr_assert_eq(load("[system]\ndrift = a; b ; c\n"), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.drift, "a; b ; c");
}

Test(config, hash_after_space_ends_the_value) {
    const char *text = "[system]\n"
                       "drift = y; -x   # the harmonic oscillator\n"
                       "[network]\n"
                       "neurons = 16 # small\n"
                       "[output]\n"
                       "path = run#1.h5\n";
    cr_assert_eq(load(text), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.drift, "y; -x");
    cr_assert_eq(cfg.neurons, 16);
    cr_assert_str_eq(cfg.output_path, "run#1.h5", "'#' without a space before it is kept");
}

Test(config, hash_comment_on_a_continuation_line) {
    cr_assert_eq(load("[system]\ndrift = y;\n  -x # restoring force\n"), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.drift, "y; -x");
}

Test(config, indented_comment_does_not_continue) {
    cr_assert_eq(load("[system]\ndrift = y;\n  ; a note\n  # another\n  -x\n"), DDM_OK, "%s",
                 err.message);
    cr_assert_str_eq(cfg.drift, "y; -x");
}

Test(config, syntax_error_names_its_line) {
    expect_error("[network]\nneurons = 8\n\nseed 5\ntau = 1\n",
                 "t.ini:4: syntax error: 'seed 5' is not 'key = value', a [section] or a comment "
                 "(lines starting with ';' or '#')");
}

Test(config, first_mistake_is_reported) {
    /* a syntax error before an unknown key: the syntax error, with its own line */
    cr_assert_eq(load("[network]\n\nno equals sign here\n[netwrk]\nx = 1\n"), DDM_EUSAGE);
    assert_has(err.message, "t.ini:3: syntax error: 'no equals sign here'");
}

Test(config, unclosed_section) {
    expect_error("[network]\nneurons = 8\n[train\nepochs = 1\n",
                 "t.ini:3: syntax error: '[train' has no closing ']' (a section is written "
                 "[name])");
}

Test(config, long_syntax_error_line_is_shortened) {
    char text[400] = "[network]\n";
    for (int i = 0; i < 100; i++) strcat(text, "ab");
    strcat(text, "\n");
    cr_assert_eq(load(text), DDM_EUSAGE);
    assert_has(err.message, "t.ini:2: syntax error: 'abababab");
    assert_has(err.message, "...' is not 'key = value'");
    cr_assert_lt(strlen(err.message), 200);
}

Test(config, long_value_is_read_whole) {
    /* inih's default line limit is 200 bytes; drift expressions are longer */
    static char text[20000];
    strcpy(text, "[system]\ndrift = x");
    for (int i = 0; i < 2000; i++) strcat(text, " + x");
    strcat(text, "\n[network]\nneurons = 9\n");
    cr_assert_eq(load(text), DDM_OK, "%s", err.message);
    cr_assert_eq(strlen(cfg.drift), 1 + 4 * 2000);
    cr_assert_eq(cfg.neurons, 9);
    cr_assert_eq(config_line(&cfg, "network", "neurons"), 4);
}

/* ---- --set --------------------------------------------------------------------------------- */

Test(config, set_overrides_and_is_located) {
    cr_assert_eq(load("[network]\nneurons = 64\n"), DDM_OK, "%s", err.message);
    cr_assert_eq(config_set(&cfg, "network.neurons=512", &err), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.neurons, 512);
    cr_assert_eq(config_line(&cfg, "network", "neurons"), -1);
    char where[256];
    config_where(&cfg, "network", "neurons", where, sizeof where);
    cr_assert_str_eq(where, "--set network.neurons");
    cr_assert_eq(config_set(&cfg, "system.drift=y; -x", &err), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.drift, "y; -x");
    cr_assert_eq(config_set(&cfg, " train.sampling = box ", &err), DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.sampling, SAMPLING_BOX);
    cr_assert_eq(config_set(&cfg, "train.lr=0.05", &err), DDM_OK, "a '.' in the value: %s",
                 err.message);
    cr_assert_float_eq(cfg.lr, 0.05, 1e-17);
}

Test(config, set_without_equals) {
    cr_assert_eq(config_set(&cfg, "network.neurons", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "--set network.neurons: expected section.key=value, e.g. network.neurons=512");
}

Test(config, set_without_dot) {
    cr_assert_eq(config_set(&cfg, "neurons=5", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "--set neurons=5: expected section.key=value, e.g. network.neurons=512");
    cr_assert_eq(config_set(&cfg, ".neurons=5", &err), DDM_EUSAGE);
    assert_has(err.message, "--set .neurons=5: expected section.key=value");
}

Test(config, set_unknown_section) {
    cr_assert_eq(config_set(&cfg, "netwrk.neurons=5", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--set netwrk.neurons=5: unknown section [netwrk] (did you mean "
                                  "[network]? sections: system, network, train, simulate, input, "
                                  "analysis, output, run)");
}

Test(config, set_unknown_key) {
    cr_assert_eq(config_set(&cfg, "train.epoch=5", &err), DDM_EUSAGE);
    assert_has(err.message, "--set train.epoch=5: unknown key 'epoch' in [train] (did you mean "
                            "'epochs'? keys: samples, sampling, epochs,");
}

Test(config, set_out_of_range) {
    cr_assert_eq(config_set(&cfg, "train.batch=0", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "--set train.batch=0: [train] batch = 0 is out of range (valid: 1 to "
                     "67108864)");
    cr_assert_eq(cfg.batch, 1024, "a failed --set leaves the value alone");
}

/* ---- the effective configuration ----------------------------------------------------------- */

/* Every key, none at its default. */
static const char *every_key =
    "[system]\nname = mine\nvars = x, y\ndrift = y; -a*x\nparams = a=2\ndefine = q = 2*x\n"
    "diffusion = 0.5\n"
    "diffusion_matrix = 1, 0; 0, 1\npatterns = 1, 0; 0, 1\n"
    "data = rec.h5\ndata_dataset = /z\ndata_dt = 0.01\ndata_noise = estimate\n"
    "data_holdout = 0.3\ndata_drift = third_order\n"
    "[network]\nneurons = 33\ntau = 0.1\nseed = 18446744073709551615\ninit_gain = 1.25\n"
    "init_bias = 0.3\n"
    "[train]\nsamples = 1234\nsampling = both\nepochs = 7\nbatch = 99\nlr = 3e-3\n"
    "schedule = step\nweight_decay = 1e-4\nridge = 1e-9\ntarget_loss = 0.01\njitter = 0.2\n"
    "margin = 2.5\ntest_fraction = 0.25\npaths = 3\npath_dt = 0.002\npath_time = "
    "12.5\npath_burn_in = 1.5\n"
    "path_bound = 50\nbox = -3:3, -2:2\npath_start = 1, 2\ntarget_drift_error = 0.02\n"
    "gauss_newton = 3\n"
    "[simulate]\ntrajectories = 17\ndt = 0.005\nsteps = 300\nrecord_every = 3\nburn_in = 30\n"
    "trace_trajectories = 2\ntrace_neurons = 5\ninit = off_manifold\ninit_offset = 0.7\n"
    "start = 1, -1\nneuron_noise = 0.05\non_nonfinite = drop\nblowup_bound = 50\n"
    "[input]\ncues = 1:2 vector 1, 0\nstrength = 2\n"
    "[analysis]\npca = 7\npca_trajectories = 3\npca_samples = 40\npca_every = 5\n"
    "bounds = -4:4, -5:5\ndecomposition_grid = 21\ndecomposition_axes = y\n"
    "decomposition_at = 0.5, 0.25\nhhd_grid = 33\nhhd_bandwidth = 0.2\nhhd_cut = 0.01\n"
    "burn_in_fraction = 0.2\nbatches = 4\nmax_samples = 1000\nlyapunov_steps = 500\n"
    "lyapunov_transient = 50\nlyapunov_dt = 0.005\nlyapunov_starts = 2\nlyapunov_precision = 0.1\n"
    "stats_bins = 50\n"
    "recall_delay = 3\nwell_radius = 0.2\nfixed_point_seeds = 64\nfixed_point_match = 0.2\n"
    "[output]\npath = out/{name}_x.h5\nlive = true\n"
    "[run]\nbackend = cuda\nthreads = 3\ndevice = 1\nmemory_limit = 2.5\n";

/* The "key = value" lines of an INI text, in order. */
static int key_lines_of(const char *ini, char lines[][256], int max) {
    int count = 0;
    for (const char *p = ini; *p && count < max;) {
        size_t len = strcspn(p, "\n");
        if (len && *p != ';' && *p != '[') snprintf(lines[count++], 256, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
    return count;
}

Test(config, to_ini_round_trips_every_key) {
    cr_assert_eq(load(every_key), DDM_OK, "%s", err.message);
    char *written = config_to_ini(&cfg);
    cr_assert_not_null(written);

    struct ddm_config back, plain;
    struct ddm_error e2 = {0};
    cr_assert_eq(config_defaults(&back, &e2), DDM_OK);
    cr_assert_eq(config_load_text(&back, written, "effective.ini", &e2), DDM_OK, "%s\n%s",
                 e2.message, written);
    char *rewritten = config_to_ini(&back);
    cr_assert_str_eq(rewritten, written);
    cr_assert_eq(back.seed, UINT64_MAX);
    cr_assert_eq(back.tau, 0.1, "reals are written with all their digits");
    cr_assert_eq(back.lr, 3e-3);
    cr_assert_str_eq(back.drift, "y; -a*x");
    cr_assert_str_eq(back.box, "-3:3, -2:2");
    cr_assert_eq(back.init, INIT_OFF_MANIFOLD);
    cr_assert_eq(back.backend, BACKEND_CUDA);

    /* every key of the table is written, and each was changed from its default by every_key */
    cr_assert_eq(config_defaults(&plain, &e2), DDM_OK);
    char *defaults = config_to_ini(&plain);
    static char a[128][256], b[128][256];
    int na = key_lines_of(written, a, 128), nb = key_lines_of(defaults, b, 128);
    cr_assert_eq(na, nb);
    static char c[128][256];
    cr_assert_eq(na, key_lines_of(every_key, c, 128), "every key is written once");
    for (int i = 0; i < na; i++) {
        size_t name_len = strcspn(a[i], " =");
        cr_assert(!strncmp(a[i], b[i], name_len + 1), "same key order: %s / %s", a[i], b[i]);
        cr_assert_str_neq(a[i], b[i], "key not exercised by the round trip: %s", a[i]);
    }
    free(written);
    free(rewritten);
    free(defaults);
    config_free(&back);
    config_free(&plain);
}

/* The line of --help about `key`. */
static const char *help_line(const char *text, const char *key, char *line, size_t len) {
    char head[64];
    snprintf(head, sizeof head, "\n    %s ", key);
    const char *at = strstr(text, head);
    cr_assert_not_null(at, "no help line for %s", key);
    snprintf(line, len, "%.*s", (int)strcspn(at + 1, "\n"), at + 1);
    return line;
}

Test(config, help_lists_every_section_and_defaults) {
    char *text = NULL, line[512];
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    config_print_help(out);
    fclose(out);
    assert_has(text, "  [system]\n");
    assert_has(text, "  [run]\n");
    assert_has(text, "  [analysis]\n");
    assert_has(help_line(text, "hhd_grid", line, sizeof line), "= 64 ");
    assert_has(help_line(text, "neurons", line, sizeof line), "= 256 ");
    help_line(text, "sampling", line, sizeof line);
    assert_has(line, "= paths ");
    assert_has(line, "box");
    assert_has(line, "both");
    help_line(text, "device", line, sizeof line);
    assert_has(line, "CUDA device index");
    free(text);
}

/* ---- files --------------------------------------------------------------------------------- */

static char dir[64];

static const char *temp_file(const char *name, const char *bytes, size_t size) {
    static char path[128];
    if (!dir[0]) {
        strcpy(dir, "/tmp/ddm_test_config_XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, size, f), size);
    fclose(f);
    return path;
}

static void remove_temp(const char *path) {
    remove(path);
    rmdir(dir);
}

Test(config, load_a_file) {
    const char *text = "[system]\nname = vdp\n[network]\nneurons = 40\n";
    const char *path = temp_file("ok.ini", text, strlen(text));
    int code = config_load(&cfg, path, &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert_eq(cfg.neurons, 40);
    cr_assert_str_eq(cfg.source_path, path);
    cr_assert_str_eq(cfg.source_text, text, "the text is kept for the HDF5 file");
    cr_assert_eq(config_line(&cfg, "network", "neurons"), 4);
    remove_temp(path);
}

Test(config, file_errors_name_the_path) {
    const char *text = "[network]\nneurons = -3\n";
    const char *path = temp_file("bad.ini", text, strlen(text));
    cr_assert_eq(config_load(&cfg, path, &err), DDM_EUSAGE);
    char expected[300];
    snprintf(expected, sizeof expected,
             "%s:2: [network] neurons = -3 is out of range (valid: 1 to 1048576)", path);
    cr_assert_str_eq(err.message, expected);
    remove_temp(path);
}

Test(config, missing_file) {
    cr_assert_eq(config_load(&cfg, "/nonexistent/dir/x.ini", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "cannot open config '/nonexistent/dir/x.ini': No such file or directory");
}

Test(config, file_with_a_nul_byte) {
    static const char bytes[] = "[network]\nneurons = 40\nseed = 1\0\0junk\n";
    const char *path = temp_file("nul.ini", bytes, sizeof bytes - 1);
    cr_assert_eq(config_load(&cfg, path, &err), DDM_EUSAGE);
    char expected[300];
    snprintf(expected, sizeof expected, "%s:3: contains a NUL byte; is it a text file?", path);
    cr_assert_str_eq(err.message, expected);
    remove_temp(path);
}

/* ---- one parameter of [system] params (--set, [sweep]) --------------------------------------- */

Test(config, one_system_parameter_is_set_without_the_whole_params) {
    cr_assert_eq(load("[system]\nname = duffing\nvars = x, v\ndrift = v; -d*v - x^3 + x\n"
                      "params = d=0.2, P=1, w=b*2, b=0.5\n"),
                 DDM_OK, "%s", err.message);
    cr_assert_eq(config_set(&cfg, "system.P=1.25", &err), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.params, "d=0.2, P=1.25, w=b*2, b=0.5", "replaced in place, order kept");
    char value[64];
    cr_assert_eq(config_value_text(&cfg, "system", "P", value, sizeof value), 0,
                 "{system.P} names a sweep point's file");
    cr_assert_str_eq(value, "1.25");
    cr_assert_eq(config_set(&cfg, "system.Q=3", &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--set system.Q=3: 'Q' is neither a [system] key nor a "
                                  "parameter of the system (params = d=0.2, P=1.25, w=b*2, b=0.5)");
    cr_assert_eq(config_set(&cfg, "system.drfit=x", &err), DDM_EUSAGE);
    assert_has(err.message, "unknown key 'drfit' in [system] (did you mean 'drift'?");
}

Test(config, a_builtin_parameter_is_added_and_checked_by_the_system) {
    cr_assert_eq(load("[system]\nname = lorenz\n"), DDM_OK, "%s", err.message);
    cr_assert_eq(config_set(&cfg, "system.rho=20", &err), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cfg.params, "rho=20");
    struct ddm_system sys;
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_OK, "%s", err.message);
    double z[3] = {1, 0, 0}, f[3];
    system_drift(&sys, z, f);
    cr_assert_float_eq(f[1], 1 * (20 - 0) - 0, 1e-12, "ẏ = x(ρ - z) - y with ρ = 20");
    system_free(&sys);
    cr_assert_eq(config_set(&cfg, "system.rhoo=20", &err), DDM_OK);
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_EUSAGE);
    assert_has(err.message, "'rhoo' is not a parameter of 'lorenz' (did you mean 'rho'?)");
}

Test(config, define_helpers_for_the_drift) {
    cr_assert_eq(load("[system]\nname = mine\nvars = x, y\n"
                      "define = S(u) = 1/(1+exp(-g*u)); r2 = x^2 + y^2\n"
                      "drift = -x + S(y); -y*r2 + sign(x)\nparams = g=2\ndiffusion = 0.1\n"),
                 DDM_OK, "%s", err.message);
    struct ddm_system sys;
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_OK, "%s", err.message);
    cr_assert_null(sys.defines, "the definitions live only while the system is built");
    double z[2] = {-0.5, 0.7}, f[2];
    system_drift(&sys, z, f);
    cr_assert_float_eq(f[0], 0.5 + 1 / (1 + exp(-2 * 0.7)), 1e-15);
    cr_assert_float_eq(f[1], -0.7 * (0.25 + 0.49) - 1, 1e-15);
    system_free(&sys);
}

Test(config, define_mistakes_are_located) {
    const char *const cases[][2] = {
        {"S(u = 1", "t.ini:3: [system] define: 'S(u ' should be name(u, v) with ')' before '='"},
        {"x(u) = u", "t.ini:3: [system] define: 'x' is a variable already"},
        {"S(u, u) = u", "t.ini:3: [system] define: argument 'u' of 'S' is named twice"},
        {"S(u) = u; S(v) = v", "t.ini:3: [system] define: 'S' is defined twice"},
        {"exp(u) = u", "t.ini:3: [system] define: 'exp' cannot be defined (a function)"},
        {"S(u) = T(u)", "t.ini:3: [system] define: definition 1 'S(u) = T(u)', column 1 of "
                        "'T(u)': unknown function 'T'"},
        {"S(u)", "t.ini:3: [system] define: 'S(u)' should be name = expression or name(u) = "
                 "expression, e.g. 'S(u) = 1/(1+exp(-u))'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config_free(&cfg);
        cr_assert_eq(config_defaults(&cfg, &err), DDM_OK);
        char text[256];
        snprintf(text, sizeof text, "[system]\nvars = x, y\ndefine = %s\ndrift = -x; -y\n",
                 cases[i][0]);
        cr_assert_eq(load(text), DDM_OK, "%s", err.message);
        struct ddm_system sys;
        cr_assert_eq(system_build(&sys, &cfg, &err), DDM_EUSAGE, "'%s' was accepted", cases[i][0]);
        assert_has(err.message, cases[i][1]);
        system_free(&sys);
    }
}
