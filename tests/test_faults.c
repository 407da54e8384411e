/* test_faults.c — I/O faults (host/io/output_file.c, host/io/runfile_check.c, host/run/run.c,
 * host/io/merge.c): each is refused with one line and exit status 2 before any work, and every file
 * the run did not create itself is left byte for byte as it was.
 *
 *   - an existing output file (a run, a sweep point, a shard, merge OUT.h5) without --overwrite,
 *     described from its root (complete, incomplete, stopped with a checkpoint); --overwrite
 *     replaces it, but not while another process holds the file open (HDF5's flock); the output
 *     is never the --model file;
 *   - --model, --resume, `--stages analyze --model` and merge shards that are missing, not HDF5,
 *     empty, truncated, foreign HDF5, of a newer format_version, or without /model;
 *   - an output path that cannot be created: a missing directory, a file where a directory should
 *     be, a directory, a read-only directory (a read-only tmpfs when run as root, which ignores
 *     permissions).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/backend.h"
#include "ddm/h5io.h"
#include "ddm/runfile.h"
#include "ddm/signals.h"
#include "test_util.h"

#define assert_has(message, part)                                                                  \
    cr_assert(strstr((message), (part)) != NULL, "expected \"%s\" in \"%s\"", (part), (message))

/* A run of a second or less: train, simulate and a little analysis. */
static const char *tiny = "[system]\nname = ou\n[network]\nneurons = 8\nseed = 3\n"
                          "[train]\nsamples = 200\nepochs = 2\npaths = 2\npath_time = 5\n"
                          "path_burn_in = 1\n"
                          "[simulate]\ntrajectories = 4\nsteps = 40\nrecord_every = 2\n"
                          "burn_in = 10001\n"
                          "[analysis]\npca = 0\nlyapunov_steps = 100\nhhd_grid = 8\n"
                          "decomposition_grid = 5\n";

/* Options that would make training take many minutes: a refusal must come before it. */
static const char *slow = "--set network.neurons=4096 --set train.samples=1000000 "
                          "--set train.epochs=100000";

/* t.ini and model.h5 (a complete --stages train run) in a new test directory. */
static void trained(void) {
    make_test_dir("faults");
    write_text("t.ini", tiny);
    cr_assert_eq(run_ddm("@t.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
}

/* The whole content of a file of the test directory. */
struct snapshot {
    char name[64];
    unsigned char *bytes;
    size_t size;
};

static struct snapshot take(const char *name) {
    struct snapshot s = {.bytes = NULL};
    snprintf(s.name, sizeof s.name, "%s", name);
    FILE *f = fopen(in_dir(name), "rb");
    cr_assert(f, "cannot read %s", name);
    fseek(f, 0, SEEK_END);
    s.size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    s.bytes = malloc(s.size + 1);
    cr_assert_eq(fread(s.bytes, 1, s.size, f), s.size);
    fclose(f);
    return s;
}

/* The file still holds exactly the bytes of the snapshot; frees it. */
static void assert_unchanged(struct snapshot *s) {
    struct snapshot now = take(s->name);
    cr_assert_eq(now.size, s->size, "%s: %zu bytes, was %zu", s->name, now.size, s->size);
    cr_assert_eq(memcmp(now.bytes, s->bytes, s->size), 0, "%s was changed", s->name);
    free(now.bytes);
    free(s->bytes);
}

static void copy_file(const char *from, const char *to, size_t bytes) {
    struct snapshot s = take(from);
    FILE *f = fopen(in_dir(to), "wb");
    cr_assert(f);
    if (bytes > s.size) bytes = s.size;
    cr_assert_eq(fwrite(s.bytes, 1, bytes, f), bytes);
    fclose(f);
    free(s.bytes);
}

static void expect(int code, int want, const char *message) {
    cr_assert_eq(code, want, "exit %d, expected %d: %s", code, want, run_err.message);
    cr_assert_str_eq(run_err.message, in_test_dir(message));
}

/* Runs ARGS and expects exit status 2, a message starting with `start`, `name` unchanged and no
 * file out.h5. */
static void expect_refused(const char *args, const char *name, const char *start) {
    struct snapshot before = name ? take(name) : (struct snapshot){.bytes = NULL};
    cr_assert_eq(run_ddm(args), DDM_EUSAGE, "%s: %s", args, run_err.message);
    const char *want = in_test_dir(start);
    cr_assert(!strncmp(run_err.message, want, strlen(want)),
              "%s: \"%s\" does not start with \"%s\"", args, run_err.message, want);
    cr_assert(!strchr(run_err.message, '\n'), "one line");
    if (name) assert_unchanged(&before);
    cr_assert(access(in_dir("out.h5"), F_OK), "%s: no output file is written", args);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Sets (or adds) an integer root attribute of a file of the test directory. */
static void set_root_int(const char *name, const char *attr, long long value) {
    hid_t file = H5Fopen(in_dir(name), H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0);
    struct ddm_error err;
    cr_assert_eq(h5_attr_int(file, attr, value, &err), 0);
    H5Fclose(file);
}

/* The files a reader must refuse: name, what it is, and the start of the message (after the
 * role, e.g. "--model '@x.h5'"). */
struct bad_file {
    const char *name, *message;
};
static const struct bad_file bad_files[] = {
    {"nowhere.h5", NULL}, /* missing: "cannot open ROLE '...': No such file or directory" */
    {"text.h5", "is not an HDF5 file"},
    {"empty.h5", "is not an HDF5 file (it is empty)"},
    {"truncated.h5", "is corrupt or truncated (truncated file: eof = 3000, "},
    {"foreign.h5", "is not a ddm_gpu run file (no format_version attribute)"},
    {"v99.h5",
     "has format_version 99; this ddm_gpu (version " DDM_VERSION ") reads format_version 1"},
};
static const int bad_count = sizeof bad_files / sizeof bad_files[0];

/* text.h5, empty.h5, truncated.h5 (the first 3000 bytes of `from`), foreign.h5 (HDF5 written by
 * another program), v99.h5 (`from` with format_version 99). */
static void make_bad_files(const char *from) {
    write_text("text.h5", "[system]\nname = ou\n");
    write_text("empty.h5", "");
    copy_file(from, "truncated.h5", 3000);
    hid_t file = H5Fcreate(in_dir("foreign.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t three = 3;
    double data[3] = {1, 2, 3};
    struct ddm_error err;
    cr_assert_eq(
        h5_write(file, "x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &three, data, NULL, &err), 0);
    H5Fclose(file);
    copy_file(from, "v99.h5", (size_t)-1);
    set_root_int("v99.h5", "format_version", 99);
}

/* "ROLE '@NAME' MESSAGE", or the missing file's "cannot open ROLE '@NAME': ..." */
static const char *bad_message(const struct bad_file *bad, const char *role) {
    static char text[512];
    if (bad->message)
        snprintf(text, sizeof text, "%s '@%s' %s", role, bad->name, bad->message);
    else
        snprintf(text, sizeof text, "cannot open %s '@%s': No such file or directory", role,
                 bad->name);
    return text;
}

Test(faults, run_files_record_their_format_version, .init = trained) {
    cr_assert_eq(root_attr("model.h5", "format_version"), DDM_FORMAT_VERSION);
    cr_assert_eq(DDM_FORMAT_VERSION, 1);
}

Test(faults, an_existing_output_is_kept_unless_overwrite, .init = trained) {
    expect_refused("@t.ini --stages train --output @model.h5", "model.h5",
                   "output file '@model.h5' exists (complete run of 2");
    assert_has(run_err.message, "); give --overwrite to replace it, or --output another path");
    cr_assert_eq(run_ddm("@t.ini --stages train --output @model.h5 --overwrite --set "
                         "network.seed=4"),
                 0, "%s", run_err.message);
    cr_assert_eq(root_attr("model.h5", "complete"), 1);
    hid_t file = open_file("model.h5");
    char config[8192];
    struct ddm_error err;
    cr_assert_eq(h5_read_attr_string(file, "config", config, sizeof config, &err), 0);
    H5Fclose(file);
    assert_has(config, "seed = 4");
}

/* HDF5 truncates a file before it takes its lock: --overwrite on a file that h5py (here: its
 * shared flock) held open emptied it and then failed. Now it is refused before any work and the
 * file is left as it was; once closed there, --overwrite replaces it. */
Test(faults, overwrite_leaves_a_file_open_in_another_process_as_it_was, .init = trained) {
    const int reader = open(in_dir("model.h5"), O_RDONLY);
    cr_assert(reader >= 0 && flock(reader, LOCK_SH) == 0);
    char args[512];
    snprintf(args, sizeof args, "@t.ini --output @model.h5 --overwrite %s", slow);
    const double t0 = now();
    expect_refused(args, "model.h5", "output file '@model.h5' is open in another process (");
    cr_assert_lt(now() - t0, 5, "refused before any work");
    assert_has(run_err.message, "close it there, or give --output another path");
    close(reader);
    cr_assert_eq(run_ddm("@t.ini --stages train --output @model.h5 --overwrite"), 0, "%s",
                 run_err.message);
    cr_assert_eq(root_attr("model.h5", "complete"), 1);
}

Test(faults, an_existing_output_is_described_from_its_root, .init = trained) {
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm("@t.ini --stages train --output @stopped.h5"), DDM_EINTERRUPTED);
    stop_signals_restore();
    expect_refused("@t.ini --stages train --output @stopped.h5", "stopped.h5",
                   "output file '@stopped.h5' exists (stopped run of 2");
    assert_has(
        run_err.message,
        in_test_dir(" with a checkpoint: continue it with ddm_gpu --resume @stopped.h5); give "
                    "--overwrite to replace it, or --output another path"));
    copy_file("model.h5", "failed.h5", (size_t)-1);
    set_root_int("failed.h5", "complete", 0);
    expect_refused("@t.ini --stages train --output @failed.h5", "failed.h5",
                   "output file '@failed.h5' exists (incomplete run of 2");
    assert_has(run_err.message, ", complete = 0); give --overwrite");
    write_text("notes.h5", "not HDF5\n");
    expect_refused("@t.ini --stages train --output @notes.h5", "notes.h5",
                   "output file '@notes.h5' exists; give --overwrite to replace it, or --output "
                   "another path");
    make_bad_files("model.h5");
    expect_refused("@t.ini --stages train --output @foreign.h5", "foreign.h5",
                   "output file '@foreign.h5' exists (an HDF5 file, not a ddm_gpu run); give "
                   "--overwrite");
}

/* The check before the work and the creation are separate steps; a file that appears between
 * them is refused by the creation itself, which is exclusive. */
Test(faults, the_creation_itself_refuses_an_existing_file, .init = trained) {
    write_text("late.h5", "written by another job\n");
    struct snapshot before = take("late.h5");
    struct ddm_config cfg;
    config_from_text(&cfg, tiny);
    struct ddm_runfile rf;
    struct ddm_error err = {0};
    cr_assert_eq(runfile_create(&rf, in_dir("late.h5"), 0, &cfg, "test", backend_cpu(0), &err),
                 DDM_EUSAGE);
    cr_assert_eq(rf.file, -1);
    assert_has(err.message, "exists; give --overwrite to replace it");
    assert_unchanged(&before);
    config_free(&cfg);
}

Test(faults, refusals_come_before_any_work, .init = trained, .timeout = 60) {
    write_text("file", "a file, not a directory\n");
    const char *outputs[] = {"@model.h5", "@file/out.h5", "@nodir/out.h5"};
    for (int i = 0; i < 3; i++) {
        char args[512];
        snprintf(args, sizeof args, "@t.ini --stages train --output %s %s", outputs[i], slow);
        const double start = now();
        cr_assert_eq(run_ddm(args), DDM_EUSAGE, "%s", run_err.message);
        cr_assert_lt(now() - start, 10, "%s: refused after %.1f s (training takes minutes)",
                     run_err.message, now() - start);
    }
}

Test(faults, sweep_points_and_shards_keep_their_outputs, .init = trained) {
    char sweep[1024];
    snprintf(sweep, sizeof sweep,
             "%s[sweep]\nnetwork.seed = 1, 2\n[output]\npath = %s/p{index}.h5\n", tiny, test_dir);
    write_text("sweep.ini", sweep);
    unsetenv("SLURM_ARRAY_TASK_ID");
    cr_assert_eq(run_ddm("@sweep.ini --array-index 1 --stages train"), 0, "%s", run_err.message);
    expect_refused("@sweep.ini --array-index 1 --stages train", "p1.h5",
                   "output file '@p1.h5' exists (complete run of 2");
    cr_assert_eq(run_ddm("@sweep.ini --array-index 1 --stages train --overwrite"), 0, "%s",
                 run_err.message);
    cr_assert_eq(root_attr("p1.h5", "sweep_index"), 1);

    cr_assert_eq(run_ddm("@t.ini --shard 0/2 --model @model.h5 --output @s0.h5"), 0, "%s",
                 run_err.message);
    expect_refused("@t.ini --shard 0/2 --model @model.h5 --output @s0.h5", "s0.h5",
                   "output file '@s0.h5' exists (complete run of 2");
    cr_assert_eq(run_ddm("@t.ini --shard 0/2 --model @model.h5 --output @s0.h5 --overwrite"), 0,
                 "%s", run_err.message);
}

Test(faults, merge_keeps_an_existing_out_unless_overwrite, .init = trained) {
    for (int i = 0; i < 2; i++) {
        char args[256];
        snprintf(args, sizeof args, "@t.ini --shard %d/2 --model @model.h5 --output @s%d.h5", i, i);
        cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    }
    cr_assert_eq(run_merge("@m.h5 @s0.h5 @s1.h5"), 0, "%s", run_err.message);
    cr_assert_eq(root_attr("m.h5", "format_version"), DDM_FORMAT_VERSION);
    struct snapshot before = take("m.h5");
    cr_assert_eq(run_merge("@m.h5 @s0.h5 @s1.h5"), DDM_EUSAGE);
    const char *want = in_test_dir("merge: output file '@m.h5' exists (complete merge of 2");
    cr_assert(!strncmp(run_err.message, want, strlen(want)), "%s", run_err.message);
    assert_has(run_err.message, "); give --overwrite to replace it, or another OUT.h5");
    assert_unchanged(&before);
    cr_assert_eq(run_merge("@m.h5 @s0.h5 @s1.h5 --overwrite"), 0, "%s", run_err.message);
    cr_assert_eq(root_attr("m.h5", "complete"), 1);
    /* OUT.h5 in a directory that does not exist: refused before any shard is read */
    cr_assert_eq(run_merge("@nodir/m.h5 @s0.h5 @s1.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message,
                     in_test_dir("merge: cannot create output file '@nodir/m.h5': No such file or "
                                 "directory (the directory '@nodir' does not exist)"));
}

Test(faults, the_output_is_never_the_model_file, .init = trained) {
    expect_refused("@t.ini --stages simulate --model @model.h5 --output @model.h5 --overwrite",
                   "model.h5",
                   "the output file '@model.h5' is the --model file: a run does not write over "
                   "the model it reads");
}

Test(faults, unreadable_model_files_are_refused_and_left_alone, .init = trained) {
    make_bad_files("model.h5");
    char args[512];
    for (int i = 0; i < bad_count; i++) {
        const struct bad_file *bad = &bad_files[i];
        snprintf(args, sizeof args, "@t.ini --stages simulate --model @%s --output @out.h5",
                 bad->name);
        expect_refused(args, bad->message ? bad->name : NULL, bad_message(bad, "--model"));
        /* --stages analyze alone would write into it: refused before it is opened for writing */
        snprintf(args, sizeof args, "@t.ini --stages analyze --model @%s", bad->name);
        expect_refused(args, bad->message ? bad->name : NULL, bad_message(bad, "--model"));
    }
    copy_file("model.h5", "untrained.h5", (size_t)-1);
    hid_t file = H5Fopen(in_dir("untrained.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(H5Ldelete(file, "model", H5P_DEFAULT) >= 0);
    H5Fclose(file);
    expect_refused("@t.ini --stages simulate --model @untrained.h5 --output @out.h5",
                   "untrained.h5",
                   "'@untrained.h5' has no /model group: not a ddm_gpu run file, or its run "
                   "stopped before training ended");
}

Test(faults, a_file_written_before_format_version_existed_is_read, .init = trained) {
    copy_file("model.h5", "old.h5", (size_t)-1);
    hid_t file = H5Fopen(in_dir("old.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(H5Adelete(file, "format_version") >= 0);
    H5Fclose(file);
    cr_assert_eq(run_ddm("@t.ini --stages simulate --model @old.h5 --output @sim.h5"), 0, "%s",
                 run_err.message);
}

/* stopped.h5: a run stopped by a signal in its burn-in, with a checkpoint. */
static void stopped(void) {
    trained();
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm("@t.ini --stages simulate --model @model.h5 --output @stopped.h5"),
                 DDM_EINTERRUPTED, "%s", run_err.message);
    stop_signals_restore();
}

Test(faults, unreadable_resume_files_are_refused_and_left_alone, .init = stopped) {
    make_bad_files("stopped.h5");
    char args[256];
    for (int i = 0; i < bad_count; i++) {
        snprintf(args, sizeof args, "--resume @%s", bad_files[i].name);
        expect_refused(args, bad_files[i].message ? bad_files[i].name : NULL,
                       bad_message(&bad_files[i], "--resume"));
    }
    /* the checks of the run in the file read it through a read-only handle too */
    expect_refused("--resume @stopped.h5 @t.ini --set network.seed=9", "stopped.h5",
                   "--resume @stopped.h5: the configuration differs from the one the run started "
                   "with ([network] seed = 9 vs 3, given vs stored)");
    expect_refused("--resume @model.h5", "model.h5",
                   "--resume @model.h5: the run in it is complete (complete = 1)");
    cr_assert_eq(run_ddm("--resume @stopped.h5"), 0, "%s", run_err.message);
    cr_assert_eq(root_attr("stopped.h5", "complete"), 1);
}

Test(faults, unreadable_shards_are_refused_and_left_alone, .init = trained) {
    cr_assert_eq(run_ddm("@t.ini --shard 0/2 --model @model.h5 --output @s0.h5"), 0, "%s",
                 run_err.message);
    cr_assert_eq(run_ddm("@t.ini --shard 1/2 --model @model.h5 --output @s1.h5"), 0, "%s",
                 run_err.message);
    make_bad_files("s1.h5");
    char names[256];
    for (int i = 0; i < bad_count; i++) {
        const struct bad_file *bad = &bad_files[i];
        struct snapshot before = bad->message ? take(bad->name) : (struct snapshot){.bytes = NULL};
        snprintf(names, sizeof names, "@out.h5 @s0.h5 @%s", bad->name);
        cr_assert_eq(run_merge(names), DDM_EUSAGE, "%s", run_err.message);
        const char *want = in_test_dir(bad_message(bad, "shard"));
        cr_assert(!strncmp(run_err.message, want, strlen(want)),
                  "\"%s\" does not start with \"%s\"", run_err.message, want);
        if (bad->message) assert_unchanged(&before);
        cr_assert(access(in_dir("out.h5"), F_OK), "a refused merge writes nothing");
    }
}

Test(faults, output_paths_that_cannot_be_created, .init = trained) {
    write_text("file", "a file, not a directory\n");
    cr_assert_eq(mkdir(in_dir("sub"), 0755), 0);
    expect(run_ddm("@t.ini --stages train --output @nodir/x.h5"), DDM_EUSAGE,
           "cannot create output file '@nodir/x.h5': No such file or directory (the directory "
           "'@nodir' does not exist)");
    expect(run_ddm("@t.ini --stages train --output @file/x.h5"), DDM_EUSAGE,
           "cannot create output file '@file/x.h5': Not a directory");
    expect(run_ddm("@t.ini --stages train --output @sub"), DDM_EUSAGE,
           "output file '@sub' is a directory: give a file's name (--output another path)");
    expect(run_ddm("@t.ini --stages train --output @sub --overwrite"), DDM_EUSAGE,
           "output file '@sub' is a directory: give a file's name (--output another path)");
}

/* ro/: a directory this process cannot write into, holding old.h5 — by permissions for a user;
 * for root, which ignores them, a read-only tmpfs (skipped where mounting is not allowed). */
static int mounted;

static void read_only_dir(void) {
    trained();
    cr_assert_eq(mkdir(in_dir("ro"), 0755), 0);
    if (geteuid() != 0) {
        write_text("ro/old.h5", "kept\n");
        cr_assert_eq(chmod(in_dir("ro/old.h5"), 0444), 0);
        cr_assert_eq(chmod(in_dir("ro"), 0555), 0);
        return;
    }
    if (mount("tmpfs", in_dir("ro"), "tmpfs", 0, "size=1m"))
        cr_skip_test("root ignores permissions, and a read-only tmpfs cannot be mounted here: %s",
                     strerror(errno));
    mounted = 1;
    write_text("ro/old.h5", "kept\n");
    if (mount("tmpfs", in_dir("ro"), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=1m"))
        cr_skip_test("cannot remount the tmpfs read-only: %s", strerror(errno));
}

static void release_dir(void) {
    if (mounted) umount(in_dir("ro"));
    mounted = 0;
}

Test(faults, a_read_only_directory_is_refused, .init = read_only_dir, .fini = release_dir) {
    const char *reason = geteuid() != 0 ? strerror(EACCES) : strerror(EROFS);
    char want[256];
    snprintf(want, sizeof want, "cannot create output file '@ro/new.h5': %s", reason);
    expect(run_ddm("@t.ini --stages train --output @ro/new.h5"), DDM_EUSAGE, want);
    expect_refused("@t.ini --stages train --output @ro/old.h5", "ro/old.h5",
                   "output file '@ro/old.h5' exists; give --overwrite");
    snprintf(want, sizeof want, "cannot replace output file '@ro/old.h5': %s", reason);
    expect_refused("@t.ini --stages train --output @ro/old.h5 --overwrite", "ro/old.h5", want);
}
