/* test_h5.c — the HDF5 run file (docs/design.md §7): the model survives a write/read round trip
 * exactly, a whole run writes every dataset with its shape, the same seed reproduces the file's
 * data bit for bit (whatever the thread count), a failed run is marked complete = 0, and a run
 * killed part-way leaves a readable file holding what was flushed.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddm/cli.h"
#include "ddm/output_file.h"
#include "ddm/runfile.h"
#include "test_util.h"

static char dir[64];

static void make_dir(void) {
    strcpy(dir, "/tmp/ddm_test_h5_XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* Runs ddm_gpu in-process on dir/config with extra arguments; returns the exit code. */
static int run(const char *config, const char *output, const char *extra) {
    char cfg_path[256], out_path[256], argbuf[512];
    snprintf(cfg_path, sizeof cfg_path, "%s/%s", dir, config);
    snprintf(out_path, sizeof out_path, "%s/%s", dir, output);
    char *argv[16] = {"ddm_gpu", cfg_path, "--quiet", "--output", out_path};
    int argc = 5;
    if (extra) {
        snprintf(argbuf, sizeof argbuf, "%s", extra);
        for (char *tok = strtok(argbuf, " "); tok && argc < 15; tok = strtok(NULL, " "))
            argv[argc++] = tok;
    }
    struct ddm_cli cli;
    struct ddm_error err = {0};
    int code = cli_parse(argc, argv, &cli, &err);
    if (!code) code = ddm_run(&cli, &err);
    return code;
}

static hid_t open_output(const char *output) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, output);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(file >= 0, "cannot open %s", path);
    return file;
}

static long long int_attr(hid_t obj, const char *name) {
    long long value = -1;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    cr_assert(attr >= 0, "no attribute %s", name);
    H5Aread(attr, H5T_NATIVE_LLONG, &value);
    H5Aclose(attr);
    return value;
}

/* Reads a whole float dataset; returns its element count (dims into dims). */
static float *read_floats(hid_t file, const char *name, hsize_t *dims, int *rank) {
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert(ds >= 0, "no dataset %s", name);
    hid_t space = H5Dget_space(ds);
    *rank = H5Sget_simple_extent_dims(space, dims, NULL);
    hsize_t count = H5Sget_simple_extent_npoints(space);
    float *data = malloc(sizeof(float) * (count ? count : 1));
    cr_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Sclose(space);
    H5Dclose(ds);
    return data;
}

static const char *small_run = "[system]\nname = vdp\n"
                               "[network]\nneurons = 40\nseed = 5\n"
                               "[train]\nsamples = 2000\nepochs = 3\n"
                               "[simulate]\ntrajectories = 10\nsteps = 400\nrecord_every = 10\n"
                               "trace_trajectories = 2\ntrace_neurons = 3\n";

Test(h5, model_round_trip_is_exact) {
    make_dir();
    struct ddm_model model, back;
    random_model(&model, 37, 3, 2, 1, 9); /* state-dependent: V and c are written too */
    model.tau = 0.37;
    char path[256];
    snprintf(path, sizeof path, "%s/model.h5", dir);
    struct ddm_config cfg;
    config_from_text(&cfg, "");
    struct ddm_runfile rf;
    struct ddm_error err = {0};
    cr_assert_eq(runfile_create(&rf, path, 0, &cfg, "test", backend_cpu(0), &err), 0, "%s",
                 err.message);
    cr_assert_eq(runfile_write_model(&rf, &model, &err), 0, "%s", err.message);
    cr_assert_eq(runfile_close(&rf, 1, &err), 0);
    cr_assert_eq(runfile_read_model(path, &back, &err), 0, "%s", err.message);
    cr_assert_eq(back.n, 37);
    cr_assert_eq(back.k, 3);
    cr_assert_eq(back.m, 2);
    cr_assert_eq(back.tau, 0.37);
    cr_assert_eq(memcmp(back.Gamma, model.Gamma, sizeof(float) * 37 * 3), 0);
    cr_assert_eq(memcmp(back.Ws, model.Ws, sizeof(float) * 37 * 3), 0);
    cr_assert_eq(memcmp(back.b, model.b, sizeof(float) * 37), 0);
    cr_assert_eq(memcmp(back.V, model.V, sizeof(float) * 6 * 37), 0);
    cr_assert_eq(memcmp(back.c, model.c, sizeof(float) * 6), 0);
    cr_assert_eq(memcmp(back.latent_scale, model.latent_scale, sizeof(double) * 3), 0);
    cr_assert_eq(memcmp(back.Gamma_pinv, model.Gamma_pinv, sizeof(float) * 3 * 37), 0);
    model_free(&model);
    model_free(&back);
    config_free(&cfg);
}

Test(h5, missing_model_file_is_a_clear_error) {
    struct ddm_model model;
    struct ddm_error err = {0};
    cr_assert_eq(runfile_read_model("/nonexistent/x.h5", &model, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "cannot open --model '/nonexistent/x.h5': No such file or directory");
}

Test(h5, run_writes_the_design_layout) {
    make_dir();
    write_file("run.ini", small_run);
    cr_assert_eq(run("run.ini", "out.h5", NULL), 0);
    hid_t file = open_output("out.h5");
    cr_assert_eq(int_attr(file, "complete"), 1);
    cr_assert_eq(int_attr(file, "seed"), 5);
    const char *must[] = {"/model/Gamma",
                          "/model/Ws",
                          "/model/b",
                          "/model/S",
                          "/train/loss",
                          "/simulate/t",
                          "/simulate/latent",
                          "/simulate/traces",
                          "/simulate/target_latent",
                          "/simulate/trace_neurons",
                          "/model/latent_mean",
                          "/model/latent_scale"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        cr_assert(H5Lexists(file, must[i] + 1, H5P_DEFAULT) > 0 ||
                      H5Oexists_by_name(file, must[i], H5P_DEFAULT) > 0,
                  "missing %s", must[i]);
    hsize_t dims[4];
    int rank;
    float *latent = read_floats(file, "/simulate/latent", dims, &rank);
    cr_assert_eq(rank, 3);
    cr_assert_eq(dims[0], 10);
    cr_assert_eq(dims[1], 400 / 10 + 1, "T = steps/record_every + 1");
    cr_assert_eq(dims[2], 2);
    free(latent);
    float *traces = read_floats(file, "/simulate/traces", dims, &rank);
    cr_assert(dims[0] == 2 && dims[1] == 41 && dims[2] == 3);
    free(traces);
    hid_t group = H5Gopen2(file, "simulate", H5P_DEFAULT);
    cr_assert_eq(int_attr(group, "record_every"), 10);
    cr_assert_eq(int_attr(group, "nonfinite"), 0);
    H5Gclose(group);
    H5Fclose(file);
}

static void compare_dataset(const char *a, const char *b, const char *name) {
    hid_t fa = open_output(a), fb = open_output(b);
    hsize_t da[4], db[4];
    int ra, rb;
    float *x = read_floats(fa, name, da, &ra), *y = read_floats(fb, name, db, &rb);
    cr_assert_eq(ra, rb);
    hsize_t count = 1;
    for (int d = 0; d < ra; d++) {
        cr_assert_eq(da[d], db[d]);
        count *= da[d];
    }
    cr_assert_eq(memcmp(x, y, sizeof(float) * count), 0, "%s differs between %s and %s", name, a,
                 b);
    free(x), free(y);
    H5Fclose(fa), H5Fclose(fb);
}

Test(h5, same_seed_gives_identical_data) {
    make_dir();
    write_file("run.ini", small_run);
    cr_assert_eq(run("run.ini", "a.h5", NULL), 0);
    cr_assert_eq(run("run.ini", "b.h5", "--set run.threads=1"), 0);
    omp_set_num_threads(2);
    cr_assert_eq(run("run.ini", "c.h5", "--set network.seed=6"), 0);
    const char *names[] = {
        "/model/Gamma",    "/model/Ws", "/model/b", "/simulate/latent", "/simulate/target_latent",
        "/simulate/traces"};
    for (int i = 0; i < 6; i++) compare_dataset("a.h5", "b.h5", names[i]);
    /* and a different seed gives different numbers (the comparison is not vacuous) */
    hid_t fa = open_output("a.h5"), fc = open_output("c.h5");
    hsize_t d[4];
    int r;
    float *x = read_floats(fa, "/simulate/latent", d, &r),
          *y = read_floats(fc, "/simulate/latent", d, &r);
    cr_assert_neq(memcmp(x, y, sizeof(float) * d[0] * d[1] * d[2]), 0);
    free(x), free(y);
    H5Fclose(fa), H5Fclose(fc);
}

Test(h5, failed_run_is_marked_incomplete) {
    make_dir();
    /* τ far below dt/2: Euler–Maruyama blows up, the run stops with exit 1 */
    write_file("bad.ini", "[system]\nname = vdp\n[network]\nneurons = 16\ntau = 0.001\n"
                          "[train]\nsamples = 500\nepochs = 0\n"
                          "[simulate]\ntrajectories = 4\ndt = 0.01\nsteps = 1000\n"
                          "record_every = 10\n");
    cr_assert_eq(run("bad.ini", "bad.h5", NULL), DDM_ERUNTIME);
    hid_t file = open_output("bad.h5");
    cr_assert_eq(int_attr(file, "complete"), 0);
    hid_t group = H5Gopen2(file, "simulate", H5P_DEFAULT);
    const long blew_up = int_attr(group, "nonfinite");
    cr_assert(blew_up >= 1 && blew_up <= 4, "%ld of 4 trajectories blew up", blew_up);
    cr_assert(int_attr(group, "first_nonfinite_step") > 0);
    H5Gclose(group);
    cr_assert(H5Lexists(file, "model", H5P_DEFAULT) > 0, "the trained model is kept");
    H5Fclose(file);
}

/* Starts `config` in a child process, waits until the file shows more than one recorded time (a
 * block has been flushed), lets the next block start writing and kills without warning: a kill
 * in the middle of a write is the hard case. The file is peeked at without HDF5's lock, which the
 * writer holds (and with `peek_flags` H5F_ACC_SWMR_READ for a live run); a peek that lands on a
 * torn state just fails and is retried. */
static void kill_during_simulation(const char *config, const char *output, const char *extra,
                                   unsigned peek_flags) {
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        alarm(120); /* never outlives a test that failed */
        int code = run(config, output, extra);
        _exit(code);
    }
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, output);
    hsize_t seen = 0;
    for (int i = 0; i < 1200 && seen <= 1; i++) {
        usleep(50000);
        hid_t peek = H5Fopen(path, H5F_ACC_RDONLY | peek_flags, H5P_DEFAULT);
        if (peek < 0) continue;
        hid_t ds = H5Dopen2(peek, "/simulate/latent", H5P_DEFAULT);
        if (ds >= 0) {
            hid_t space = H5Dget_space(ds);
            hsize_t dims[3] = {0};
            if (space >= 0 && H5Sget_simple_extent_dims(space, dims, NULL) == 3) seen = dims[1];
            if (space >= 0) H5Sclose(space);
            H5Dclose(ds);
        }
        H5Fclose(peek);
    }
    if (seen <= 1) kill(child, SIGKILL);
    cr_assert(seen > 1, "the run never flushed a block");
    /* the file of a running run (live: HDF5 drops its lock in SWMR mode, the run holds one) is
     * not emptied by --overwrite in another process */
    struct ddm_error held = {0};
    const int refused = output_check(path, 1, "--output another path", &held);
    if (refused != DDM_EUSAGE) kill(child, SIGKILL);
    cr_assert_eq(refused, DDM_EUSAGE, "--overwrite of a running run's file: '%s'", held.message);
    cr_assert(strstr(held.message, "is open in another process"), "%s", held.message);
    usleep(300000);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    cr_assert(WIFSIGNALED(status), "the run should have been killed, not finished");
    unsetenv("HDF5_USE_FILE_LOCKING");
}

/* The recorded part of a killed run: incomplete, more than one time, every value finite. */
static void assert_recorded_part(hid_t file) {
    cr_assert_eq(int_attr(file, "complete"), 0);
    hsize_t dims[4];
    int rank;
    float *latent = read_floats(file, "/simulate/latent", dims, &rank);
    cr_assert(dims[1] > 1, "recorded times kept: %llu", (unsigned long long)dims[1]);
    for (hsize_t q = 0; q < dims[0] * dims[1] * dims[2]; q++)
        cr_assert(isfinite(latent[q]), "element %llu is not finite", (unsigned long long)q);
    free(latent);
}

/* The default file: a plain open of any HDF5 reader reads a run killed with SIGKILL. */
Test(h5, killed_run_leaves_a_readable_file, .timeout = 60) {
    make_dir();
    write_file("long.ini", "[system]\nname = vdp\n[network]\nneurons = 64\n"
                           "[train]\nsamples = 1000\nepochs = 0\n"
                           "[simulate]\ntrajectories = 256\ndt = 0.001\nsteps = 100000000\n"
                           "record_every = 10\n");
    kill_during_simulation("long.ini", "long.h5", "--set run.threads=1", 0);
    hid_t file = open_output("long.h5");
    assert_recorded_part(file);
    H5Fclose(file);
}

/* A live run ([output] live = true) killed with SIGKILL: a plain open refuses the file (the newer
 * format's "open for writing" marks), the way docs/output.md gives (SWMR reading) and ddm_gpu's
 * own opening (output_open: --resume, merge, analyze) read all of it. */
Test(h5, killed_live_run_is_read_the_documented_way, .timeout = 60) {
    make_dir();
    write_file("live.ini", "[system]\nname = vdp\n[network]\nneurons = 16\n"
                           "[train]\nsamples = 500\nepochs = 0\n"
                           "[simulate]\ntrajectories = 8\ndt = 0.001\nsteps = 100000000\n"
                           "record_every = 1\n[output]\nlive = true\n");
    kill_during_simulation("live.ini", "live.h5", "--set run.threads=1", H5F_ACC_SWMR_READ);
    char path[256];
    snprintf(path, sizeof path, "%s/live.h5", dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t plain = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(plain < 0, "a killed live file opened without SWMR: the test no longer tests it");
    hid_t swmr = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    cr_assert(swmr >= 0, "h5py.File(path, 'r', swmr=True) would fail");
    assert_recorded_part(swmr);
    H5Fclose(swmr);
    hid_t writable = output_open(path, H5F_ACC_RDWR); /* what --resume does */
    cr_assert(writable >= 0, "ddm_gpu cannot open the killed live file for writing");
    H5Fclose(writable);
    hid_t file = open_output("live.h5"); /* the marks are gone: a plain open works now */
    assert_recorded_part(file);
    H5Fclose(file);
}
