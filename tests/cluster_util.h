/* cluster_util.h — helpers of the cluster tests (sweeps, shards, merge, resume): a scratch
 * directory, whole runs of ddm_gpu in-process from an argument string, and bit-for-bit
 * comparisons of datasets between run files. Header-only, static functions.
 */
#ifndef DDM_CLUSTER_UTIL_H
#define DDM_CLUSTER_UTIL_H

#include <criterion/criterion.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/cli.h"
#include "ddm/h5io.h"
#include "ddm/merge.h"
#include "ddm/signals.h"

static char test_dir[64];
static struct ddm_error run_err;

static inline void make_test_dir(const char *stem) {
    snprintf(test_dir, sizeof test_dir, "/tmp/ddm_%s_XXXXXX", stem);
    cr_assert(mkdtemp(test_dir));
}

/* dir/name */
static inline const char *in_dir(const char *name) {
    static char paths[4][512];
    static int next = 0;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%s/%s", test_dir, name);
    return path;
}

/* `text` with each '@' replaced by the test directory and a '/' (the paths in a message). */
static inline const char *in_test_dir(const char *text) {
    static char out[2048];
    size_t used = 0;
    for (const char *c = text; *c && used + 80 < sizeof out;) {
        if (*c == '@') {
            used += (size_t)snprintf(out + used, sizeof out - used, "%s/", test_dir);
            c++;
        } else {
            out[used++] = *c++;
        }
    }
    out[used] = 0;
    return out;
}

static inline void write_text(const char *name, const char *text) {
    FILE *f = fopen(in_dir(name), "w");
    cr_assert(f, "cannot write %s", name);
    fputs(text, f);
    fclose(f);
}

/* argv = {command, the words of ARGS, "--quiet", NULL}, words starting with '@' made files of
 * the test directory; run_err is cleared. Returns argc. */
static inline int test_argv(const char *command, const char *args, char *argv[40]) {
    static char words[2048], paths[32][512];
    int argc = 0, npaths = 0;
    argv[argc++] = (char *)command;
    snprintf(words, sizeof words, "%s", args);
    for (char *tok = strtok(words, " "); tok && argc < 38; tok = strtok(NULL, " ")) {
        if (tok[0] == '@' && npaths < 32) {
            snprintf(paths[npaths], 512, "%s/%s", test_dir, tok + 1);
            tok = paths[npaths++];
        }
        argv[argc++] = tok;
    }
    argv[argc++] = "--quiet";
    argv[argc] = NULL;
    memset(&run_err, 0, sizeof run_err);
    return argc;
}

/* Runs `ddm_gpu ARGS --quiet` in-process ('@' words: files of the test directory). Returns the
 * exit code (the message is in run_err). */
static inline int run_ddm(const char *args) {
    char *argv[40];
    int argc = test_argv("ddm_gpu", args, argv);
    struct ddm_cli cli;
    int code = cli_parse(argc, argv, &cli, &run_err);
    if (!code) code = ddm_run(&cli, &run_err);
    return code;
}

/* Runs `ddm_gpu merge ARGS --quiet` in-process, as run_ddm. */
static inline int run_merge(const char *args) {
    char *argv[40];
    int argc = test_argv("merge", args, argv);
    return merge_command(argc, argv, &run_err);
}

static inline hid_t open_file(const char *name) {
    hid_t file = H5Fopen(in_dir(name), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(file >= 0, "cannot open %s", name);
    return file;
}

static inline double root_attr(const char *name, const char *attr) {
    hid_t file = open_file(name);
    double value = -1;
    hid_t a = H5Aopen(file, attr, H5P_DEFAULT);
    cr_assert(a >= 0, "%s has no attribute %s", name, attr);
    H5Aread(a, H5T_NATIVE_DOUBLE, &value);
    H5Aclose(a);
    H5Fclose(file);
    return value;
}

/* The raw bytes of a dataset (in its file type) and their count; dims and rank out. */
static inline unsigned char *read_raw(hid_t file, const char *name, hsize_t *dims, int *rank,
                                      size_t *bytes) {
    hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert(dataset >= 0, "no dataset %s", name);
    hid_t space = H5Dget_space(dataset), type = H5Dget_type(dataset);
    *rank = H5Sget_simple_extent_dims(space, dims, NULL);
    *bytes = (size_t)H5Sget_simple_extent_npoints(space) * H5Tget_size(type);
    unsigned char *data = malloc(*bytes + 1);
    cr_assert(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "reading %s", name);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dataset);
    return data;
}

/* Dataset `name` of files a and b: same shape, same bits. */
static inline void assert_same_dataset(const char *a, const char *b, const char *name) {
    hid_t fa = open_file(a), fb = open_file(b);
    hsize_t da[4], db[4];
    int ra, rb;
    size_t na, nb;
    unsigned char *x = read_raw(fa, name, da, &ra, &na), *y = read_raw(fb, name, db, &rb, &nb);
    cr_assert_eq(ra, rb, "%s: rank %d in %s, %d in %s", name, ra, a, rb, b);
    for (int d = 0; d < ra; d++)
        cr_assert_eq(da[d], db[d], "%s: axis %d is %llu in %s, %llu in %s", name, d,
                     (unsigned long long)da[d], a, (unsigned long long)db[d], b);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(x, y, na), 0, "%s differs between %s and %s", name, a, b);
    free(x), free(y);
    H5Fclose(fa), H5Fclose(fb);
}

/* A numeric attribute of an object in both files: the same value. */
/* /simulate/nonfinite_step of a run of B trajectories: the blow-up marks (-1: none). */
static inline int64_t *read_marks(const char *name, hsize_t B) {
    hsize_t dims[4];
    int rank;
    size_t bytes;
    hid_t file = open_file(name);
    int64_t *steps = (int64_t *)read_raw(file, "/simulate/nonfinite_step", dims, &rank, &bytes);
    H5Fclose(file);
    cr_assert(rank == 1 && dims[0] == B, "%s: nonfinite_step has %llu rows", name,
              (unsigned long long)dims[0]);
    return steps;
}

static inline void assert_same_attr(const char *a, const char *b, const char *object,
                                    const char *attr) {
    double values[2];
    const char *names[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        hid_t file = open_file(names[i]);
        hid_t at = H5Aopen_by_name(file, object, attr, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(at >= 0, "%s: no attribute %s of %s", names[i], attr, object);
        H5Aread(at, H5T_NATIVE_DOUBLE, &values[i]);
        H5Aclose(at);
        H5Fclose(file);
    }
    cr_assert(values[0] == values[1], "%s %s: %.17g in %s, %.17g in %s", object, attr, values[0], a,
              values[1], b);
}

/* The stage a stopped run's checkpoint names. */
static inline void checkpoint_stage(const char *file, char *stage, size_t len) {
    hid_t f = open_file(file), group = H5Gopen2(f, "checkpoint", H5P_DEFAULT);
    struct ddm_error err;
    cr_assert_eq(h5_read_attr_string(group, "stage", stage, len, &err), 0);
    H5Gclose(group), H5Fclose(f);
}

/* /checkpoint's attribute n: the network's size, 0 for a stop while the paths were sampled. */
static inline double checkpoint_neurons(const char *file) {
    hid_t f = open_file(file);
    hid_t attr = H5Aopen_by_name(f, "checkpoint", "n", H5P_DEFAULT, H5P_DEFAULT);
    double n = -1;
    cr_assert(attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &n) >= 0, "%s: no /checkpoint n", file);
    H5Aclose(attr), H5Fclose(f);
    return n;
}

/* Runs `args` with a stop already requested, so it stops at its first check; then resumes the
 * same way until the run completes (an analyze checkpoint is resumed without a stop: there is no
 * check inside the analysis). Returns the number of stops. Training paths of 65 536 steps or more
 * would be stopped while sampling at every resume, so that is refused. */
static inline int run_stopping_everywhere(const char *args, const char *file) {
    stop_request(SIGTERM);
    int code = run_ddm(args), stops = 0;
    char resume[256], stage[32];
    snprintf(resume, sizeof resume, "--resume @%s", file);
    while (code == DDM_EINTERRUPTED && stops < 50) {
        stops++;
        cr_assert_eq(root_attr(file, "complete"), 0);
        cr_assert_eq(root_attr(file, "interrupted"), 1);
        checkpoint_stage(file, stage, sizeof stage);
        cr_assert(strcmp(stage, "train") || checkpoint_neurons(file) > 0,
                  "stopped while sampling: with a stop at every resume it would never go on "
                  "(shorten [train] path_time below 65 536 steps of path_dt)");
        if (strcmp(stage, "analyze")) stop_request(SIGTERM);
        code = run_ddm(resume);
    }
    cr_assert_eq(code, 0, "%s", run_err.message);
    return stops;
}

/* Runs `args` straight (straight.h5) and stopped at every check and resumed (stopped.h5, at least
 * two stops), and asserts the datasets `same` equal bit for bit. */
static inline void assert_resumed_run_equals_straight(const char *args, const char *const *same,
                                                      int count) {
    char line[512];
    snprintf(line, sizeof line, "%s --output @straight.h5", args);
    cr_assert_eq(run_ddm(line), 0, "%s", run_err.message);
    snprintf(line, sizeof line, "%s --output @stopped.h5", args);
    cr_assert_gt(run_stopping_everywhere(line, "stopped.h5"), 1);
    for (int i = 0; i < count; i++) assert_same_dataset("straight.h5", "stopped.h5", same[i]);
}

#endif
