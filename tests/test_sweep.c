/* test_sweep.c — [sweep] (host/config/sweep.c, host/run/run_setup.c): the lists (',' or '|', grid
 * or zip), the point an array task runs (--array-index, $SLURM_ARRAY_TASK_ID, out of range), the
 * checks of every swept key and value with file and line, the output path template, and a run that
 * records its point in the file.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/h5io.h"
#include "ddm/sweep.h"
#include "test_util.h"

static struct ddm_error err;

/* Loads INI text (as "test.ini") and reads its sweep; returns the code of the first failure. */
static int load_sweep(const char *text, struct ddm_config *cfg, struct ddm_sweep *sweep) {
    memset(&err, 0, sizeof err);
    int code = config_defaults(cfg, &err);
    if (!code) code = config_load_text(cfg, text, "test.ini", &err);
    if (!code) code = sweep_parse(cfg, sweep, &err);
    return code;
}

static void expect_sweep_error(const char *text, const char *message) {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    cr_assert_eq(load_sweep(text, &cfg, &sweep), DDM_EUSAGE, "loaded without error");
    cr_assert_str_eq(err.message, message);
    config_free(&cfg);
}

Test(sweep, grid_runs_every_combination_last_key_fastest) {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    cr_assert_eq(load_sweep("[sweep]\nnetwork.neurons = 64, 128, 256\n"
                            "train.lr = 1e-3, 1e-2\n",
                            &cfg, &sweep),
                 0, "%s", err.message);
    cr_assert_eq(sweep.mode, SWEEP_GRID, "grid is the default");
    cr_assert_eq(sweep.points, 6);
    const char *expected[6] = {
        "network.neurons=64, train.lr=1e-3",  "network.neurons=64, train.lr=1e-2",
        "network.neurons=128, train.lr=1e-3", "network.neurons=128, train.lr=1e-2",
        "network.neurons=256, train.lr=1e-3", "network.neurons=256, train.lr=1e-2"};
    char text[256];
    for (int i = 0; i < 6; i++) {
        sweep_assignment(&sweep, i, text, sizeof text);
        cr_assert_str_eq(text, expected[i]);
    }
    cr_assert_eq(sweep_apply(&sweep, 3, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(cfg.neurons, 128);
    cr_assert_eq(cfg.lr, 1e-2);
    char at[256];
    config_where(&cfg, "network", "neurons", at, sizeof at);
    cr_assert_str_eq(at, "test.ini:2: [network] neurons", "later messages point at the sweep");
    sweep_free(&sweep);
    config_free(&cfg);
}

Test(sweep, zip_pairs_the_lists_and_bars_separate_values_with_commas) {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    cr_assert_eq(load_sweep("[sweep]\nmode = zip\n"
                            "system.params = mu=1, s=0.5 | mu=2, s=0.5 | mu=max(3, 1)\n"
                            "simulate.start = 1, 2 | 3, 4 |\n    5, 6\n"
                            "network.seed = 1, 2, 3\n",
                            &cfg, &sweep),
                 0, "%s", err.message);
    cr_assert_eq(sweep.points, 3);
    cr_assert_eq(sweep.keys[0].count, 3);
    cr_assert_str_eq(sweep.keys[0].values[2], "mu=max(3, 1)");
    cr_assert_str_eq(sweep.keys[1].values[2], "5, 6", "an indented line continues the list");
    cr_assert_eq(sweep_apply(&sweep, 1, &cfg, &err), 0, "%s", err.message);
    cr_assert_str_eq(cfg.params, "mu=2, s=0.5");
    cr_assert_str_eq(cfg.start, "3, 4");
    cr_assert_eq(cfg.seed, 2);
    char text[256];
    sweep_assignment(&sweep, 2, text, sizeof text);
    cr_assert_str_eq(text, "system.params=mu=max(3, 1), simulate.start=5, 6, network.seed=3");
    sweep_free(&sweep);
    config_free(&cfg);
}

Test(sweep, every_key_and_value_is_checked_with_its_line) {
    expect_sweep_error("[system]\nname = vdp\n[sweep]\nnetwork.nuerons = 1, 2\n",
                       "test.ini:4: [sweep] network.nuerons value 1: unknown key 'nuerons' in "
                       "[network] (did you mean 'neurons'? keys: neurons, tau, seed, init_gain, "
                       "init_bias)");
    expect_sweep_error("[sweep]\nnetwork.neurons = 64, 12x, 256\n",
                       "test.ini:2: [sweep] network.neurons value 2: [network] neurons = '12x' is "
                       "not a number (expected a whole number 1 to 1048576, or auto)");
    expect_sweep_error("[sweep]\nnetwork.neurons = 64, 0\n",
                       "test.ini:2: [sweep] network.neurons value 2: [network] neurons = 0 is out "
                       "of range (valid: 1 to 1048576)");
    expect_sweep_error("[sweep]\nnetwerk.neurons = 64, 128\n",
                       "test.ini:2: [sweep] netwerk.neurons value 1: unknown section [netwerk] "
                       "(did you mean [network]? sections: system, network, train, simulate, "
                       "input, analysis, output, run)");
    expect_sweep_error("[sweep]\nneurons = 64, 128\n",
                       "test.ini:2: [sweep] 'neurons' should be 'section.key = v1, v2, ...' (e.g. "
                       "network.neurons = 64, 128) or 'mode = grid|zip'");
    expect_sweep_error("[sweep]\nmode = cross\nnetwork.neurons = 64\n",
                       "test.ini:2: [sweep] mode = 'cross' is not valid (valid: grid/zip)");
    expect_sweep_error("[sweep]\nnetwork.neurons = 64,,128\n",
                       "test.ini:2: [sweep] network.neurons value 2 is empty (values are separated "
                       "by ',')");
    expect_sweep_error("[sweep]\nnetwork.neurons = 64\nnetwork.neurons = 128\n",
                       "test.ini:3: [sweep] network.neurons is given more than once (first on "
                       "line 2; keep one)");
    expect_sweep_error("[sweep]\nmode = zip\nnetwork.neurons = 64, 128\nnetwork.seed = 1, 2, 3\n",
                       "test.ini:4: [sweep] network.seed has 3 values but network.neurons (line "
                       "3) has 2; mode = zip pairs the i-th values, so the lists need one length");
    expect_sweep_error("[sweep]\nmode = zip\n",
                       "test.ini:2: [sweep] lists no keys (add e.g. network.neurons = 64, 128)");
}

Test(sweep, the_point_comes_from_the_option_or_slurm_and_must_exist) {
    struct ddm_config cfg;
    struct ddm_sweep sweep, none;
    cr_assert_eq(load_sweep("[sweep]\nnetwork.seed = 1, 2, 3\n", &cfg, &sweep), 0);
    long index;
    unsetenv("SLURM_ARRAY_TASK_ID");
    cr_assert_eq(sweep_select(&sweep, "run.ini", 2, 0, &index, &err), 0);
    cr_assert_eq(index, 2);
    cr_assert_eq(sweep_select(&sweep, "run.ini", 3, 0, &index, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--array-index 3 is out of range: the [sweep] of run.ini has 3 "
                                  "points (0..2; see --list-sweep)");
    cr_assert_eq(sweep_select(&sweep, "run.ini", -1, 0, &index, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "run.ini has a [sweep] of 3 points: choose one with --array-index 0..2 (or "
                     "run it as a SLURM array job, --array=0-2), or list them with --list-sweep");
    setenv("SLURM_ARRAY_TASK_ID", "1", 1);
    cr_assert_eq(sweep_select(&sweep, "run.ini", -1, 0, &index, &err), 0);
    cr_assert_eq(index, 1, "the array task's id");
    cr_assert_eq(sweep_select(&sweep, "run.ini", 0, 0, &index, &err), 0);
    cr_assert_eq(index, 0, "--array-index wins");
    setenv("SLURM_ARRAY_TASK_ID", "7", 1);
    cr_assert_eq(sweep_select(&sweep, "run.ini", -1, 0, &index, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "SLURM_ARRAY_TASK_ID = 7 is out of range: the [sweep] of run.ini "
                                  "has 3 points (0..2; see --list-sweep)");
    cr_assert_eq(sweep_select(&sweep, "run.ini", -1, 1, &index, &err), DDM_EUSAGE,
                 "a shard job's task id is its shard, not a sweep point");
    unsetenv("SLURM_ARRAY_TASK_ID");
    struct ddm_config plain;
    cr_assert_eq(load_sweep("[network]\nseed = 1\n", &plain, &none), 0);
    cr_assert_eq(sweep_select(&none, "run.ini", -1, 0, &index, &err), 0);
    cr_assert_eq(index, -1);
    cr_assert_eq(sweep_select(&none, "run.ini", 0, 0, &index, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--array-index 0: run.ini has no [sweep] section to choose from");
    sweep_free(&sweep);
    config_free(&cfg);
    config_free(&plain);
}

Test(sweep, output_template_is_filled) {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    cr_assert_eq(load_sweep("[sweep]\nnetwork.neurons = 64, 128\nsystem.params = a=1, b=2 | a=3\n"
                            "[output]\npath = runs/{name}_{index}_n{network.neurons}_{params}_"
                            "{tau}.h5\n",
                            &cfg, &sweep),
                 0, "%s", err.message);
    cr_assert_eq(sweep_apply(&sweep, 1, &cfg, &err), 0);
    char path[512];
    const struct output_place point = {&sweep, 1, 0, 0}, none = {NULL, -1, 0, 0};
    cr_assert_eq(output_path_fill(&cfg, "vdp", &point, path, sizeof path, &err), 0, "%s",
                 err.message);
    cr_assert_str_eq(path, "runs/vdp_1_n64_a=3_1.h5");
    free(cfg.output_path);
    cfg.output_path = strdup("out_{network.seed}.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &point, path, sizeof path, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "test.ini:5: [output] path = 'out_{network.seed}.h5' is the same for all 4 "
                     "sweep points: put {index} (or a swept key, e.g. "
                     "{network.neurons}) in it");
    free(cfg.output_path);
    cfg.output_path = strdup("out_{nuerons}.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &point, path, sizeof path, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "test.ini:5: [output] path = 'out_{nuerons}.h5': unknown placeholder "
                     "{nuerons} (valid: {name}, {index}, {shard}, and {section.key} of any "
                     "key, e.g. {network.neurons})");
    free(cfg.output_path);
    cfg.output_path = strdup("out_{index}.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &none, path, sizeof path, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "test.ini:5: [output] path = 'out_{index}.h5': {index} needs a [sweep] "
                     "section (it is the sweep point)");
    const struct output_place shard = {NULL, -1, 2, 3};
    free(cfg.output_path);
    cfg.output_path = strdup("out_{shard}.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &shard, path, sizeof path, &err), 0, "%s",
                 err.message);
    cr_assert_str_eq(path, "out_2.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &none, path, sizeof path, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "test.ini:5: [output] path = 'out_{shard}.h5': {shard} needs "
                                  "--shard i/N (it is the shard index)");
    free(cfg.output_path);
    cfg.output_path = strdup("{name}.h5");
    cr_assert_eq(output_path_fill(&cfg, "vdp", &shard, path, sizeof path, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "test.ini:5: [output] path = '{name}.h5' is the same for all 3 "
                                  "shards: put {shard} in it, or give each shard its --output");
    sweep_free(&sweep);
    config_free(&cfg);
}

static const char *sweep_run = "[system]\nname = ou\n[network]\nneurons = 12\n"
                               "[train]\nsamples = 200\nepochs = 0\npaths = 2\npath_time = 5\n"
                               "[simulate]\ntrajectories = 3\nsteps = 20\nrecord_every = 10\n"
                               "[sweep]\nnetwork.seed = 4 | 6\nmode = grid\n"
                               "network.tau = 0.5, 1\n"
                               "[output]\npath = s{index}_seed{seed}.h5\n";

Test(sweep, a_run_records_its_point_and_set_applies_after_it) {
    make_test_dir("sweep");
    write_text("sweep.ini", sweep_run);
    unsetenv("SLURM_ARRAY_TASK_ID");
    cr_assert_eq(chdir(test_dir), 0);
    cr_assert_eq(run_ddm("@sweep.ini --array-index 3 --stages train --set network.tau=2"), 0, "%s",
                 run_err.message);
    cr_assert_eq(root_attr("s3_seed6.h5", "sweep_index"), 3);
    cr_assert_eq(root_attr("s3_seed6.h5", "sweep_count"), 4);
    hid_t file = open_file("s3_seed6.h5");
    char text[256];
    cr_assert_eq(h5_read_attr_string(file, "sweep_assignment", text, sizeof text, &err), 0);
    cr_assert_str_eq(text, "network.seed=6, network.tau=1");
    hid_t model = H5Gopen2(file, "model", H5P_DEFAULT);
    double tau;
    cr_assert_eq(h5_read_attr_double(model, "tau", &tau, &err), 0);
    cr_assert_eq(tau, 2, "--set comes after the sweep point");
    H5Gclose(model);
    H5Fclose(file);
    cr_assert_eq(run_ddm("@sweep.ini --array-index 4"), DDM_EUSAGE);
    char expected[512];
    snprintf(expected, sizeof expected,
             "--array-index 4 is out of range: the [sweep] of %s/sweep.ini has 4 points (0..3; "
             "see --list-sweep)",
             test_dir);
    cr_assert_str_eq(run_err.message, expected);
}

Test(sweep, list_prints_every_point_with_its_output) {
    make_test_dir("sweep_list");
    write_text("sweep.ini", sweep_run);
    char listing[256];
    snprintf(listing, sizeof listing, "%s/listing.txt", test_dir);
    fflush(stdout);
    int saved = dup(1), out = open(listing, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    int code = run_ddm("@sweep.ini --list-sweep");
    fflush(stdout);
    dup2(saved, 1);
    close(out), close(saved);
    cr_assert_eq(code, 0, "%s", run_err.message);
    FILE *f = fopen(listing, "r");
    char text[1024] = "";
    size_t got = fread(text, 1, sizeof text - 1, f);
    text[got] = 0;
    fclose(f);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "# 4 points (grid over network.seed, network.tau) of %s/sweep.ini\n"
             "# index\toutput\tassignment\n"
             "0\ts0_seed4.h5\tnetwork.seed=4, network.tau=0.5\n"
             "1\ts1_seed4.h5\tnetwork.seed=4, network.tau=1\n"
             "2\ts2_seed6.h5\tnetwork.seed=6, network.tau=0.5\n"
             "3\ts3_seed6.h5\tnetwork.seed=6, network.tau=1\n",
             test_dir);
    cr_assert_str_eq(text, expected);
}

Test(sweep, one_parameter_of_the_system_is_swept_alone) {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    cr_assert_eq(load_sweep("[system]\nname = forced\nvars = x, v\ndrift = v; -x + P\n"
                            "params = a=1, P=0, b=2\n[sweep]\nsystem.P = 0.5, 1.25, 3\n"
                            "[output]\npath = f_P{system.P}.h5\n",
                            &cfg, &sweep),
                 0, "%s", err.message);
    cr_assert_eq(sweep.points, 3);
    const char *const params[] = {"a=1, P=0.5, b=2", "a=1, P=1.25, b=2", "a=1, P=3, b=2"};
    const char *const paths[] = {"f_P0.5.h5", "f_P1.25.h5", "f_P3.h5"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sweep_apply(&sweep, i, &cfg, &err), 0, "%s", err.message);
        cr_assert_str_eq(cfg.params, params[i], "only P changes, in place");
        char path[256];
        const struct output_place place = {&sweep, i, 0, 0};
        cr_assert_eq(output_path_fill(&cfg, "forced", &place, path, sizeof path, &err), 0, "%s",
                     err.message);
        cr_assert_str_eq(path, paths[i], "{system.P} tells the points apart");
    }
    sweep_free(&sweep);
    config_free(&cfg);
    expect_sweep_error("[system]\nname = forced\nvars = x\ndrift = -x + P\nparams = P=0\n"
                       "[sweep]\nsystem.Q = 1, 2\n",
                       "test.ini:7: [sweep] system.Q value 1: 'Q' is neither a [system] key nor "
                       "a parameter of the system (params = P=0)");
}
