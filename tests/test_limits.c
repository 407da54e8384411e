/* test_limits.c — memory checked up front (host/run/memory_need.c, host/run/limits.c): the
 * estimates grow as the arrays they stand for do; a run over [run] memory_limit is refused with
 * status 2 and one line naming the estimate and the limit, before its output file exists; a run
 * under it goes; and under a real address-space limit (setrlimit in a forked child, as prlimit --as
 * does) a run too big ends with status 2 before allocating, not with a failed allocation or a kill.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/limits.h"
#include "ddm/memory_need.h"
#include "test_util.h"

static struct memory_run sizes(int n, int B) {
    return (struct memory_run){.n = n, .k = 2, .m = 2, .B = B, .B_total = B};
}

static double part_bytes(const struct memory_need *need, const char *name) {
    for (int i = 0; i < need->count; i++)
        if (!strcmp(need->part[i].name, name)) return need->part[i].bytes;
    cr_assert_fail("no part '%s' in the %s", name, need->stage);
    return 0;
}

Test(limits, simulation_states_grow_with_trajectories_and_neurons) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = vdp\n");
    struct memory_need a, b, c;
    struct memory_run run = sizes(1024, 4096);
    memory_need_simulate(&cfg, &run, 0, &a);
    run = sizes(1024, 8192);
    memory_need_simulate(&cfg, &run, 0, &b);
    run = sizes(2048, 4096);
    memory_need_simulate(&cfg, &run, 0, &c);
    /* 16 bytes per neuron and trajectory (state, the backend's x, hidden, kick), and a copy */
    double states = part_bytes(&a, "states");
    cr_assert(states > 16.0 * 4096 * 1024 && states < 17.0 * 4096 * 1024, "states %g", states);
    cr_assert(fabs(part_bytes(&b, "states") / states - 2) < 0.01);
    cr_assert(fabs(part_bytes(&c, "states") / states - 2) < 0.03); /* per-trajectory records */
    cr_assert(fabs(part_bytes(&b, "checkpoint copy") / part_bytes(&a, "checkpoint copy") - 2) <
              0.01);
    cr_assert_str_eq(a.part[0].name, "states");
    config_free(&cfg);
}

Test(limits, training_gram_grows_with_the_square_of_neurons) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = vdp\n[train]\nsamples = 20000\n");
    struct memory_need small, large, more_points;
    struct memory_run run = sizes(2048, 1);
    memory_need_train(&cfg, &run, 0, &small);
    run = sizes(4096, 1);
    memory_need_train(&cfg, &run, 0, &large);
    /* the Gram matrix, the factor and LAPACKE's transposed copy: 3 × 8 (n+1)² bytes */
    double gram = part_bytes(&large, "Gram matrices");
    cr_assert(gram > 3 * 8.0 * 4097 * 4097 && gram < 3.1 * 8 * 4097 * 4097, "gram %g", gram);
    double ratio = gram / part_bytes(&small, "Gram matrices");
    cr_assert(ratio > 3.8 && ratio < 4.01, "%g", ratio); /* and a tile of n+1 features */
    config_free(&cfg);
    config_from_text(&cfg, "[system]\nname = vdp\n[train]\nsamples = 2000000\n");
    run = sizes(256, 1);
    memory_need_train(&cfg, &run, 0, &more_points);
    cr_assert(more_points.part[0].bytes > 100e6, "%s %g", more_points.part[0].name,
              more_points.part[0].bytes);
    cr_assert_str_eq(more_points.part[0].key, "samples");
    config_free(&cfg);
}

/* The Gauss–Newton rounds hold an S × P Jacobian (S = all M rows of the fit up to 131 072, else
 * draws of 65 536; P = 1024 columns at k = 3 above 256 neurons) beside the training's buffers;
 * gauss_newton = 0 holds none. Measured (dadras, n = 256, 18 000 training points, one round):
 * peak RSS +172 MB, estimate 200 MB. */
Test(limits, training_counts_the_gauss_newton_workspace) {
    struct ddm_config cfg;
    struct memory_need with, without;
    struct memory_run run = {.n = 1024, .k = 3, .m = 3, .B = 1, .B_total = 1};
    /* 60 000 points: 54 000 training ones and as many margin points, all in the rounds */
    config_from_text(&cfg, "[system]\nname = dadras\n[train]\nsamples = 60000\n");
    memory_need_train(&cfg, &run, 0, &with);
    double jacobian = 8.0 * 108000 * 1024, features = 8.0 * 256 * 108000;
    double gn = part_bytes(&with, "Gauss–Newton workspace");
    cr_assert(gn > jacobian + features && gn < 1.2 * (jacobian + features), "%g", gn);
    config_free(&cfg);
    /* 100 000 points: up to 180 000 rows (draws of 65 536), but 131 072 when margin points are
     * left out or declined (all rows): the estimate holds the larger */
    config_from_text(&cfg, "[system]\nname = dadras\n[train]\nsamples = 100000\n");
    memory_need_train(&cfg, &run, 0, &with);
    jacobian = 8.0 * 131072 * 1024, features = 8.0 * 256 * 131072;
    gn = part_bytes(&with, "Gauss–Newton workspace");
    cr_assert(gn > jacobian + features && gn < 1.2 * (jacobian + features), "%g", gn);
    config_free(&cfg);
    config_from_text(&cfg,
                     "[system]\nname = dadras\n[train]\nsamples = 100000\ngauss_newton = 0\n");
    memory_need_train(&cfg, &run, 0, &without);
    for (int i = 0; i < without.count; i++)
        cr_assert_str_neq(without.part[i].name, "Gauss–Newton workspace");
    cr_assert(fabs(with.bytes - without.bytes - gn) < 1, "%g %g %g", with.bytes, without.bytes, gn);
    config_free(&cfg);
}

Test(limits, analysis_peak_is_its_largest_part) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = vdp\n[analysis]\npca_trajectories = 64\n"
                           "pca_samples = 2048\n");
    struct memory_need need;
    struct memory_run run = sizes(2048, 256);
    run.analysis_B = 256, run.analysis_T = 1001;
    memory_need_analyze(&cfg, &run, 0, &need);
    /* the PCA's 64 × 2048 states of 2048 neurons in float, and centred in double beside them
     * (n ≤ 2048: no subsampling) */
    const double states = 64.0 * 2048 * 2048;
    cr_assert_str_eq(need.part[0].name, "PCA");
    cr_assert(need.part[0].bytes > 12 * states && need.part[0].bytes < 12.5 * states, "%g",
              need.part[0].bytes);
    config_free(&cfg);
}

Test(limits, the_host_limit_is_found_and_memory_limit_lowers_it) {
    struct memory_limit machine, configured;
    limits_host(0, 1, &machine);
    cr_assert(isfinite(machine.bytes) && machine.bytes > 0, "%g (%s)", machine.bytes,
              machine.source);
    limits_host(1e-6, 1, &configured); /* 1 KiB: less than the process holds already */
    cr_assert_eq(configured.bytes, 0);
    cr_assert_str_eq(configured.source, "[run] memory_limit");
}

static const char *big_run = "[system]\nname = vdp\n[network]\nneurons = 2048\n[train]\n"
                             "samples = 300\nepochs = 0\npaths = 2\npath_time = 10\n"
                             "[simulate]\ntrajectories = 65536\nsteps = 10\nrecord_every = 5\n";

Test(limits, over_memory_limit_is_refused_before_the_file_exists) {
    make_test_dir("limits");
    write_text("big.ini", big_run);
    int code = run_ddm("@big.ini --set run.memory_limit=1.5 --output @big.h5");
    cr_assert_eq(code, DDM_EUSAGE, "%s", run_err.message);
    const char *said = run_err.message;
    cr_assert(strstr(said, "[simulate] trajectories = 65536 with n = 2048 needs about "), "%s",
              said);
    cr_assert(strstr(said, "GiB of host memory for the simulation (states "), "%s", said);
    cr_assert(strstr(said, "are available ([run] memory_limit); lower [simulate] trajectories"),
              "%s", said);
    cr_assert_null(strchr(said, '\n'));
    double needs = 0, available = 0;
    cr_assert_eq(sscanf(strstr(said, "needs about "), "needs about %lf", &needs), 1);
    cr_assert_eq(sscanf(strstr(said, " but "), " but %lf", &available), 1);
    cr_assert(needs > 2 && available <= 1.5, "%g GiB needed, %g available", needs, available);
    cr_assert_neq(access(in_dir("big.h5"), F_OK), 0, "refused before the output file");
}

Test(limits, under_memory_limit_runs) {
    make_test_dir("limits");
    write_text("big.ini", big_run);
    cr_assert_eq(run_ddm("@big.ini --set run.memory_limit=4 --set simulate.trajectories=64 "
                         "--set network.neurons=256 --stages train,simulate --output @small.h5"),
                 0, "%s", run_err.message);
    cr_assert_eq(root_attr("small.h5", "complete"), 1);
}

/* The address space the process uses now (VmSize), in bytes. */
static double address_space(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmSize:", 7)) kib = atof(line + 7);
    if (status) fclose(status);
    return kib * 1024;
}

/* Runs `args` in a forked child under RLIMIT_AS = what it uses now + `room`; the exit status
 * (-1: killed by a signal), the message in `said`. */
static int run_under_address_limit(const char *args, double room, char *said, size_t len) {
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        rlim_t bytes = (rlim_t)(address_space() + room);
        struct rlimit limit = {bytes, bytes};
        if (setrlimit(RLIMIT_AS, &limit)) _exit(99);
        int code = run_ddm(args);
        FILE *out = fopen(in_dir("message.txt"), "w");
        if (out) fputs(run_err.message, out), fclose(out);
        _exit(code);
    }
    int status;
    waitpid(child, &status, 0);
    said[0] = 0;
    FILE *in = fopen(in_dir("message.txt"), "r");
    if (in) {
        if (!fgets(said, (int)len, in)) said[0] = 0;
        fclose(in);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(limits, an_address_space_limit_refuses_a_run_too_big_up_front) {
    make_test_dir("limits");
    write_text("big.ini", big_run);
    char said[1100];
    /* libgomp's threads do not survive a fork: the child uses one */
    int code = run_under_address_limit("@big.ini --set run.threads=1 --output @big.h5",
                                       1.0 * (1 << 30), said, sizeof said);
    cr_assert_eq(code, DDM_EUSAGE, "status %d: %s", code, said);
    cr_assert(strstr(said, "RLIMIT_AS"), "%s", said);
    cr_assert(strstr(said, "for the simulation"), "%s", said);
    cr_assert_neq(access(in_dir("big.h5"), F_OK), 0, "refused before the output file");
    /* the same limit lets a small run through: the allowance for threads is not absurd */
    code = run_under_address_limit("@big.ini --set run.threads=1 --set simulate.trajectories=64 "
                                   "--set network.neurons=64 --output @small.h5",
                                   1.0 * (1 << 30), said, sizeof said);
    cr_assert_eq(code, 0, "status %d: %s", code, said);
}
