/* test_cli.c — the command line (host/config/cli.c, docs/design.md §7).
 *
 * cli_parse() decides what a run does before anything expensive starts, so a mistyped option
 * must be refused with the nearest real one, both "--opt value" and "--opt=value" must work, and
 * the combinations that cannot work (simulate without a model, a model and training) must be
 * caught here rather than after minutes of training.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/cli.h"
#include "ddm/h5space.h"

#define assert_has(message, part)                                                                  \
    cr_assert(strstr((message), (part)) != NULL, "expected \"%s\" in \"%s\"", (part), (message))

static struct ddm_cli cli;
static struct ddm_error err;

/* Parses a NULL-terminated argument list (argv[0] is added). */
static int parse_list(const char *const *args) {
    static char *argv[2 * CLI_MAX_SETS + 16];
    int argc = 0;
    argv[argc++] = (char *)"ddm_gpu";
    for (; *args; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    memset(&err, 0, sizeof err);
    return cli_parse(argc, argv, &cli, &err);
}

#define parse(...) parse_list((const char *const[]){__VA_ARGS__, NULL})

static void expect_error(int code, const char *message) {
    cr_assert_eq(code, DDM_EUSAGE, "parsed without error");
    cr_assert_eq(err.code, DDM_EUSAGE);
    cr_assert_str_eq(err.message, message);
}

Test(cli, config_alone_runs_all_stages) {
    cr_assert_eq(parse("run.ini"), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cli.config_path, "run.ini");
    cr_assert_eq(cli.stage_train, 1);
    cr_assert_eq(cli.stage_simulate, 1);
    cr_assert_eq(cli.stage_analyze, 1);
    cr_assert_eq(cli.nsets, 0);
    cr_assert_null(cli.backend);
    cr_assert_null(cli.output);
    cr_assert_null(cli.model_path);
    cr_assert_eq(cli.quiet, 0);
    cr_assert_eq(cli.help, 0);
    cr_assert_eq(cli.version, 0);
}

Test(cli, set_is_repeatable_in_both_forms_and_keeps_order) {
    cr_assert_eq(parse("--set", "network.neurons=64", "run.ini", "--set=train.epochs=3", "--set",
                       "system.drift=y; -x"),
                 DDM_OK, "%s", err.message);
    cr_assert_eq(cli.nsets, 3);
    cr_assert_str_eq(cli.sets[0], "network.neurons=64");
    cr_assert_str_eq(cli.sets[1], "train.epochs=3", "--set=a.b=c keeps everything after '--set='");
    cr_assert_str_eq(cli.sets[2], "system.drift=y; -x");
    cr_assert_str_eq(cli.config_path, "run.ini");
}

Test(cli, value_options_in_both_forms) {
    cr_assert_eq(parse("run.ini", "--backend", "cpu", "--output=out.h5", "--quiet"), DDM_OK, "%s",
                 err.message);
    cr_assert_str_eq(cli.backend, "cpu");
    cr_assert_str_eq(cli.output, "out.h5");
    cr_assert_eq(cli.quiet, 1);
    cr_assert_eq(parse("--backend=cuda", "--output", "a b.h5", "-q", "run.ini"), DDM_OK, "%s",
                 err.message);
    cr_assert_str_eq(cli.backend, "cuda");
    cr_assert_str_eq(cli.output, "a b.h5");
    cr_assert_eq(cli.quiet, 1);
}

Test(cli, stages_and_model) {
    cr_assert_eq(parse("run.ini", "--stages", "simulate", "--model", "trained.h5"), DDM_OK, "%s",
                 err.message);
    cr_assert_eq(cli.stage_train, 0);
    cr_assert_eq(cli.stage_simulate, 1);
    cr_assert_eq(cli.stage_analyze, 0);
    cr_assert_str_eq(cli.model_path, "trained.h5");
    cr_assert_eq(parse("run.ini", "--stages=train"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.stage_train, 1);
    cr_assert_eq(cli.stage_simulate, 0);
    cr_assert_eq(cli.stage_analyze, 0);
    cr_assert_eq(parse("--model=m.h5", "--stages=simulate", "run.ini"), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cli.model_path, "m.h5");
    cr_assert_eq(parse("run.ini", "--stages", "train, simulate"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.stage_train, 1);
    cr_assert_eq(cli.stage_simulate, 1);
    cr_assert_eq(cli.stage_analyze, 0);
    cr_assert_eq(parse("run.ini", "--stages", "analyze", "--model", "run.h5"), DDM_OK, "%s",
                 err.message);
    cr_assert_eq(cli.stage_train + cli.stage_simulate, 0);
    cr_assert_eq(cli.stage_analyze, 1);
    cr_assert_eq(parse("run.ini", "--stages=simulate,analyze", "--model=m.h5", "--output=o.h5"),
                 DDM_OK, "%s", err.message);
    cr_assert_eq(cli.stage_simulate + cli.stage_analyze, 2);
}

Test(cli, analyze_alone_writes_into_the_model_file) {
    expect_error(parse("run.ini", "--stages", "analyze", "--model", "run.h5", "--output", "o.h5"),
                 "--stages analyze alone writes /analysis into the --model file; --output does "
                 "not apply");
    expect_error(parse("run.ini", "--stages", "analyze"),
                 "--stages without train needs --model FILE.h5 (a run file with /model)");
}

Test(cli, command_line_is_recorded) {
    cr_assert_eq(parse("run.ini", "--set", "network.seed=4", "--quiet"), DDM_OK);
    cr_assert_str_eq(cli.command_line, "ddm_gpu run.ini --set network.seed=4 --quiet");
}

Test(cli, unknown_option_suggests) {
    expect_error(parse("run.ini", "--stage", "train"),
                 "unknown option '--stage' (did you mean '--stages'?) (see --help)");
    expect_error(parse("run.ini", "--outptu=x.h5"),
                 "unknown option '--outptu' (did you mean '--output'?) (see --help)");
}

Test(cli, unknown_option_far_from_all) {
    expect_error(parse("run.ini", "--frobnicate"), "unknown option '--frobnicate' (see --help)");
}

Test(cli, option_prefix_is_not_the_option) {
    /* "--settings" must not be read as "--set" with a value glued on */
    cr_assert_eq(parse("run.ini", "--settings"), DDM_EUSAGE);
    assert_has(err.message, "unknown option '--settings'");
}

Test(cli, missing_value) {
    expect_error(parse("run.ini", "--output"), "--output needs a value (see --help)");
    expect_error(parse("run.ini", "--set"), "--set needs a value (see --help)");
}

Test(cli, two_config_files) {
    expect_error(parse("a.ini", "b.ini"),
                 "more than one config file ('a.ini' and 'b.ini'); give one CONFIG.ini");
}

Test(cli, no_config_file) {
    expect_error(parse("--quiet"), "no config file given; usage: ddm_gpu CONFIG.ini [options] (see "
                                   "--help; examples are in experiments/)");
}

Test(cli, simulate_without_model) {
    expect_error(parse("run.ini", "--stages", "simulate"),
                 "--stages without train needs --model FILE.h5 (a run file with /model)");
}

Test(cli, model_with_training) {
    expect_error(parse("run.ini", "--model", "m.h5"),
                 "--model replaces training: use it with --stages simulate and/or analyze");
    expect_error(parse("run.ini", "--model", "m.h5", "--stages", "train,simulate"),
                 "--model replaces training: use it with --stages simulate and/or analyze");
}

Test(cli, unknown_stage) {
    expect_error(parse("run.ini", "--stages", "train,analyse"),
                 "--stages: unknown stage 'analyse' (did you mean 'analyze'?) (stages: train, "
                 "simulate, analyze)");
    expect_error(parse("run.ini", "--stages", "plot"),
                 "--stages: unknown stage 'plot' (stages: train, simulate, analyze)");
}

Test(cli, bad_backend_names_the_option) {
    expect_error(parse("run.ini", "--backend", "gpu"),
                 "--backend 'gpu' is not valid (did you mean 'cpu'?) (valid: auto, cpu, cuda)");
    expect_error(parse("run.ini", "--on-nonfinite", "skip"),
                 "--on-nonfinite 'skip' is not valid (valid: stop, drop, keep)");
    expect_error(parse("run.ini", "--on-nonfinite=dorp"),
                 "--on-nonfinite 'dorp' is not valid (did you mean 'drop'?) (valid: stop, drop, "
                 "keep)");
}

Test(cli, help_and_version_need_no_config) {
    cr_assert_eq(parse("--help"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.help, 1);
    cr_assert_eq(parse("-h"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.help, 1);
    cr_assert_eq(parse("--version"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.version, 1);
    cr_assert_eq(cli.help, 0);
    cr_assert_eq(parse("run.ini", "--stages", "simulate", "--help"), DDM_OK,
                 "--help wins over a combination that would be refused: %s", err.message);
}

Test(cli, overwrite_is_a_flag_that_resume_refuses) {
    cr_assert_eq(parse("run.ini"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.overwrite, 0, "an existing output is kept unless asked");
    cr_assert_eq(parse("run.ini", "--overwrite"), DDM_OK, "%s", err.message);
    cr_assert_eq(cli.overwrite, 1);
    expect_error(parse("run.ini", "--overwrit"),
                 "unknown option '--overwrit' (did you mean '--overwrite'?) (see --help)");
    expect_error(parse("--resume", "r.h5", "--overwrite"),
                 "--resume continues the run in r.h5 from its checkpoint; --overwrite does not "
                 "apply (to start that run again from scratch: ddm_gpu CONFIG.ini --output r.h5 "
                 "--overwrite)");
}

Test(cli, too_many_sets) {
    static const char *args[2 * CLI_MAX_SETS + 4];
    int n = 0;
    args[n++] = "run.ini";
    for (int i = 0; i <= CLI_MAX_SETS; i++) {
        args[n++] = "--set";
        args[n++] = "network.seed=1";
    }
    args[n] = NULL;
    char expected[64];
    snprintf(expected, sizeof expected, "too many --set options (at most %d)", CLI_MAX_SETS);
    expect_error(parse_list(args), expected);
}

Test(cli, help_text_teaches) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cli_print_help(out);
    fclose(out);
    assert_has(text, "usage: ddm_gpu CONFIG.ini [options]");
    assert_has(text, "--set section.key=value");
    assert_has(text, "--stages");
    assert_has(text, "--overwrite");
    assert_has(text, "exit status: 0 success, 1 run-time failure");
    assert_has(text, "lorenz");
    assert_has(text, "  [network]\n"); /* the INI keys come from the same table as the loader */
    free(text);
}

Test(cli, set_without_equals_says_what_is_wrong) {
    expect_error(parse("run.ini", "--set", "network.neurons", "64"),
                 "--set network.neurons 64: the value needs '=' (write --set network.neurons=64)");
    expect_error(parse("run.ini", "--set", "network.neurons", "=", "64"),
                 "--set network.neurons = 64: write the assignment as one word, --set "
                 "network.neurons=64");
    expect_error(parse("run.ini", "--set", "network.neurons"),
                 "--set network.neurons: expected section.key=value with '=', e.g. --set "
                 "network.neurons=512");
    cr_assert_eq(parse("run.ini", "--set", "network.neurons = 64"), DDM_OK, "%s", err.message);
}

Test(cli, sizes_are_printed_in_their_own_unit) {
    const double bytes[] = {512, 28000, 28.04e6, 1.25e9};
    const char *const want[] = {"512 bytes", "28 kB", "28.0 MB", "1.25 GB"};
    for (int i = 0; i < 4; i++) {
        char text[32];
        h5space_size_text(bytes[i], text, sizeof text);
        cr_assert_str_eq(text, want[i]);
    }
}

Test(cli, a_machine_without_gpu_is_told_calmly) {
    cr_assert_str_eq(backend_cpu_reason("no CUDA device (CUDA driver version is insufficient for "
                                        "CUDA runtime version)"),
                     "no CUDA GPU on this machine; [run] backend = cuda says why if one was "
                     "expected");
    assert_has(backend_cpu_reason("this build has no CUDA backend (nvcc was not found ...)"),
               "this build has no CUDA backend; the CPU is its backend");
    cr_assert_str_eq(backend_cpu_reason("[run] device = 3 but this machine has 1 CUDA device"),
                     "[run] device = 3 but this machine has 1 CUDA device",
                     "a GPU that is there but failed is reported as it is");
}
