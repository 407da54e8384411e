/* test_analysis_run.c — the analyze stage end to end (host/analysis/analysis.c,
 * host/io/analysis_h5.c, the command line): a small run writes /analysis in the layout of
 * docs/design.md §7; `--stages analyze
 * --model FILE` replaces it in place with new settings; without /simulate the sample-based parts
 * are left out with a note, and the rest still runs.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddm/cli.h"
#include "test_util.h"

static char dir[64], config_path[128], run_path[128];

static const char *config_text =
    "[system]\nname = vdp\n"
    "[network]\nneurons = 24\n"
    "[train]\nsamples = 2000\nepochs = 5\npath_time = 20\n"
    "[simulate]\ntrajectories = 16\ndt = 0.01\nsteps = 2000\nrecord_every = 10\n"
    "trace_trajectories = 1\ntrace_neurons = 3\n"
    "[analysis]\npca_trajectories = 4\npca_samples = 30\ndecomposition_grid = 9\nhhd_grid = 17\n"
    "batches = 4\nlyapunov_steps = 500\nlyapunov_transient = 100\nlyapunov_starts = 2\n"
    "stats_bins = 20\n";

static void setup(void) {
    strcpy(dir, "/tmp/ddm_test_analysis_XXXXXX");
    cr_assert(mkdtemp(dir));
    snprintf(config_path, sizeof config_path, "%s/vdp.ini", dir);
    snprintf(run_path, sizeof run_path, "%s/run.h5", dir);
    FILE *f = fopen(config_path, "w");
    fputs(config_text, f);
    fclose(f);
}

/* ddm_gpu CONFIG --quiet ARGS... in-process; returns the exit code. */
static int run(const char *args) {
    char buffer[512], *argv[24] = {"ddm_gpu", config_path, "--quiet"};
    int argc = 3;
    snprintf(buffer, sizeof buffer, "%s", args);
    for (char *tok = strtok(buffer, " "); tok && argc < 23; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    struct ddm_cli cli;
    struct ddm_error err = {0};
    int code = cli_parse(argc, argv, &cli, &err);
    if (!code) code = ddm_run(&cli, &err);
    if (code) fprintf(stderr, "ddm_run: %s\n", err.message);
    return code;
}

static double attr(hid_t file, const char *object, const char *name) {
    double value = NAN;
    hid_t a = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(a >= 0, "no attribute %s of %s", name, object);
    H5Aread(a, H5T_NATIVE_DOUBLE, &value);
    H5Aclose(a);
    return value;
}

/* rank and dims of a dataset, which must exist and carry a shape attribute */
static int shape(hid_t file, const char *name, hsize_t *dims) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert(ds >= 0, "no dataset %s", name);
    cr_assert(H5Aexists(ds, "shape") > 0, "%s has no shape attribute", name);
    hid_t space = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    H5Dclose(ds);
    return rank;
}

Test(analysis_run, writes_the_design_layout_and_reanalyses_in_place, .init = setup) {
    char args[384];
    snprintf(args, sizeof args, "--output %s", run_path);
    cr_assert_eq(run(args), 0);
    hid_t file = H5Fopen(run_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hsize_t dims[4];
    cr_assert_eq(attr(file, "/", "complete"), 1);
    cr_assert_eq(attr(file, "analysis", "complete"), 1);
    cr_assert_eq(shape(file, "analysis/pca/explained_variance", dims), 1);
    cr_assert_eq(dims[0], 20);
    cr_assert_eq(shape(file, "analysis/pca/principal_angles_deg", dims), 1);
    cr_assert_eq(dims[0], 2);
    cr_assert(attr(file, "analysis/pca", "recovery_r2") > 0.999999);
    cr_assert_eq(shape(file, "analysis/decomposition/f_asym", dims), 3);
    cr_assert(dims[0] == 9 && dims[1] == 9 && dims[2] == 2);
    cr_assert_eq(shape(file, "analysis/decomposition/energy", dims), 2);
    cr_assert_eq(shape(file, "analysis/decomposition/axis1", dims), 1);
    const char *processes[2] = {"analysis/hhd/rnn", "analysis/hhd/target"};
    for (int p = 0; p < 2; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s/f_irr", processes[p]);
        cr_assert_eq(shape(file, name, dims), 3);
        cr_assert(dims[0] == 17 && dims[1] == 17 && dims[2] == 2);
        snprintf(name, sizeof name, "%s/density", processes[p]);
        cr_assert_eq(shape(file, name, dims), 2);
        double phi = attr(file, processes[p], "entropy_production");
        double error = attr(file, processes[p], "entropy_production_error");
        cr_assert(phi > 0 && error > 0 && error < phi, "%s: Φ %g ± %g", processes[p], phi, error);
    }
    cr_assert_eq(shape(file, "analysis/lyapunov/rnn", dims), 1);
    cr_assert_eq(shape(file, "analysis/lyapunov/target_starts", dims), 2);
    cr_assert(dims[0] == 2 && dims[1] == 2);
    cr_assert_eq(shape(file, "analysis/stats/wasserstein", dims), 1);
    cr_assert_eq(shape(file, "analysis/stats/rnn/marginal", dims), 2);
    cr_assert(dims[0] == 2 && dims[1] == 20);
    cr_assert_eq(shape(file, "analysis/fixed_points/target/points", dims), 2);
    cr_assert(dims[0] == 1 && dims[1] == 2, "vdp has one fixed point");
    cr_assert_eq(attr(file, "analysis/fixed_points", "target"), 1);
    cr_assert_eq(attr(file, "analysis/fixed_points", "trajectories"), 16);
    cr_assert_eq(shape(file, "analysis/fixed_points/rnn/eigenvalues_imag", dims), 2);
    H5Fclose(file);

    /* again, in place, with other settings: the old /analysis is replaced */
    snprintf(args, sizeof args,
             "--stages analyze --model %s --set analysis.hhd_grid=21 --set analysis.pca=0 "
             "--set analysis.decomposition_axes=y --set analysis.fixed_point_seeds=0",
             run_path);
    cr_assert_eq(run(args), 0);
    file = H5Fopen(run_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_eq(attr(file, "analysis", "complete"), 1);
    cr_assert_eq(H5Lexists(file, "analysis/pca", H5P_DEFAULT), 0, "pca = 0 leaves the PCA out");
    cr_assert_eq(shape(file, "analysis/hhd/rnn/density", dims), 2);
    cr_assert_eq(dims[0], 21);
    cr_assert_eq(shape(file, "analysis/decomposition/energy", dims), 1, "one axis: a line");
    cr_assert_eq(H5Lexists(file, "analysis/fixed_points", H5P_DEFAULT), 0, "seeds = 0: off");
    cr_assert_eq(shape(file, "/simulate/latent", dims), 3, "the run's data is untouched");
    cr_assert_eq(attr(file, "/", "complete"), 1);
    H5Fclose(file);
}

Test(analysis_run, without_simulate_the_sample_parts_are_left_out, .init = setup) {
    char args[256];
    snprintf(args, sizeof args, "--stages train,analyze --output %s", run_path);
    cr_assert_eq(run(args), 0);
    hid_t file = H5Fopen(run_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hsize_t dims[4];
    cr_assert_eq(attr(file, "analysis", "complete"), 1);
    cr_assert_eq(H5Lexists(file, "analysis/hhd", H5P_DEFAULT), 0);
    cr_assert_eq(H5Lexists(file, "analysis/stats", H5P_DEFAULT), 0);
    cr_assert_eq(shape(file, "analysis/lyapunov/target", dims), 1);
    cr_assert_eq(shape(file, "analysis/decomposition/f", dims), 3);
    cr_assert_eq(attr(file, "analysis/fixed_points", "target"), 1, "seeds from μ ± 3.5 s");
    cr_assert_eq(attr(file, "analysis/fixed_points", "trajectories"), 0);
    H5Fclose(file);
}

Test(analysis_run, bad_analysis_keys_stop_before_any_work, .init = setup) {
    char args[256];
    snprintf(args, sizeof args, "--output %s --set analysis.decomposition_axes=x,q", run_path);
    struct ddm_cli cli;
    struct ddm_error err = {0};
    char buffer[256], *argv[8] = {"ddm_gpu", config_path, "--quiet"};
    int argc = 3;
    snprintf(buffer, sizeof buffer, "%s", args);
    for (char *tok = strtok(buffer, " "); tok; tok = strtok(NULL, " ")) argv[argc++] = tok;
    cr_assert_eq(cli_parse(argc, argv, &cli, &err), 0);
    cr_assert_eq(ddm_run(&cli, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--set analysis.decomposition_axes: 'q' is not a variable "
                                  "(variables: x, y)");
    cr_assert_eq(access(run_path, F_OK), -1, "no output file was created");
}

/* the first `count` doubles of a dataset */
static void read_doubles(hid_t file, const char *name, double *out, int count) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert(ds >= 0, "no dataset %s", name);
    hid_t space = H5Dget_space(ds);
    cr_assert(H5Sget_simple_extent_npoints(space) >= count, "%s is too small", name);
    double *all = malloc(sizeof(double) * H5Sget_simple_extent_npoints(space));
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all);
    memcpy(out, all, sizeof(double) * count);
    free(all);
    H5Sclose(space);
    H5Dclose(ds);
}

/* [simulate] start set: the Lyapunov starts are still distinct points of the target's path, so
 * both spectra carry an error bar above zero (every start at the same point gave "± 0"), and the
 * start procedure's counts are in the file. */
Test(analysis_run, a_fixed_start_still_gives_lyapunov_error_bars, .init = setup) {
    char args[256];
    snprintf(args, sizeof args, "--output %s --set simulate.start=1.5,0 --set analysis.pca=0",
             run_path);
    cr_assert_eq(run(args), 0);
    hid_t file = H5Fopen(run_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double starts[4], error[2];
    read_doubles(file, "analysis/lyapunov/starts", starts, 4);
    cr_assert(fabs(starts[0] - starts[2]) + fabs(starts[1] - starts[3]) > 1e-3,
              "starts (%g, %g) and (%g, %g) coincide", starts[0], starts[1], starts[2], starts[3]);
    const char *errors[2] = {"analysis/lyapunov/rnn_error", "analysis/lyapunov/target_error"};
    for (int p = 0; p < 2; p++) {
        read_doubles(file, errors[p], error, 2);
        cr_assert(error[0] > 0 && isfinite(error[0]), "%s: λ₁ ± %g", errors[p], error[0]);
    }
    cr_assert_eq(attr(file, "analysis/lyapunov", "start_path_candidates"), 1);
    cr_assert_eq(attr(file, "simulate", "start_candidates"), 0, "[simulate] start: none drawn");
    H5Fclose(file);
}
