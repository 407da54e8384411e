/* test_disk.c — a full disk (host/io/h5space.c, host/io/runfile.c, host/io/checkpoint.c). A tmpfs
 * of a few MB is mounted for each test (root; skipped where mount is not permitted) and fills
 * during the simulation, at the creation of the file, during the training, and at a checkpoint.
 * Each run ends with status 1 and one line saying "No space left on device", closes its file (no
 * HDF5 file is left open in the process) and leaves a file HDF5 opens, with complete = 0 and the
 * very bits that an identical run on a roomy disk wrote up to the failure — or no file at all
 * when not even its header fits. The last test turns the reservations off to check the fallback
 * (a write that fails inside HDF5).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/h5space.h"
#include "ddm/signals.h"

/* 64 trajectories × 30001 recorded times: blocks of 8192 times, about 23 MB on disk. */
static const char *filling = "[system]\nname = vdp\n[network]\nneurons = 16\nseed = 3\n"
                             "[train]\nsamples = 300\nepochs = 5\nbatch = 64\npaths = 2\n"
                             "path_time = 10\npath_burn_in = 1\n"
                             "[simulate]\ntrajectories = 64\nsteps = 30000\nrecord_every = 1\n"
                             "burn_in = 0\ntrace_trajectories = 2\ntrace_neurons = 3\n";

static char disk[128]; /* the mounted tmpfs, "" when none */

/* After each test: the tmpfs goes, and the test directory with its roomy reference runs. */
static void clean_up(void) {
    char command[256];
    snprintf(command, sizeof command, "umount %s", disk);
    if (disk[0] && system(command)) fprintf(stderr, "test_disk: could not unmount %s\n", disk);
    disk[0] = 0;
    snprintf(command, sizeof command, "rm -rf %s", test_dir);
    if (test_dir[0] && !strncmp(test_dir, "/tmp/ddm_disk_", 14) && system(command))
        fprintf(stderr, "test_disk: could not remove %s\n", test_dir);
}

/* A tmpfs of `kib` KiB at <test dir>/disk; skips the test where mount is not permitted. */
static void mount_disk(unsigned long kib) {
    snprintf(disk, sizeof disk, "%s", in_dir("disk"));
    cr_assert_eq(mkdir(disk, 0755), 0);
    char command[256];
    snprintf(command, sizeof command, "mount -t tmpfs -o size=%luk tmpfs %s 2>/dev/null", kib,
             disk);
    if (system(command)) {
        disk[0] = 0;
        cr_skip_test("mounting a tmpfs is not permitted here (needs root)");
    }
}

static const char *on_disk(const char *name) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", disk, name);
    return path;
}

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : st.st_size;
}

/* The run's message: about the full disk, on one line. */
static void assert_full_disk_message(const char *message) {
    cr_assert(strstr(message, "No space left on device"), "message: %s", message);
    cr_assert_null(strchr(message, '\n'), "one line: %s", message);
}

/* The run closed its files, and the file HDF5 opens read-only says complete = 0. */
static hid_t open_failed_file(const char *path) {
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE), 0, "a file was left open");
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(file >= 0, "HDF5 cannot open %s", path);
    long long complete = -1;
    hid_t attr = H5Aopen(file, "complete", H5P_DEFAULT);
    cr_assert(attr >= 0, "no attribute complete");
    H5Aread(attr, H5T_NATIVE_LLONG, &complete);
    H5Aclose(attr);
    cr_assert_eq(complete, 0);
    return file;
}

/* The first `times` recorded times of /simulate/<name> (axis `axis`), as raw bytes. */
static unsigned char *recorded_prefix(hid_t file, const char *name, int axis, hsize_t times,
                                      size_t *bytes) {
    hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert(dataset >= 0, "no dataset %s", name);
    hid_t space = H5Dget_space(dataset), type = H5Dget_type(dataset);
    hsize_t dims[4], start[4] = {0};
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    cr_assert(dims[axis] >= times, "%s holds %llu times, %llu wanted", name,
              (unsigned long long)dims[axis], (unsigned long long)times);
    dims[axis] = times;
    *bytes = H5Tget_size(type);
    for (int d = 0; d < rank; d++) *bytes *= dims[d];
    unsigned char *data = malloc(*bytes + 1);
    hid_t memory = H5Screate_simple(rank, dims, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, dims, NULL);
    cr_assert(H5Dread(dataset, type, memory, space, H5P_DEFAULT, data) >= 0, "reading %s", name);
    H5Sclose(memory), H5Sclose(space), H5Tclose(type), H5Dclose(dataset);
    return data;
}

/* Every recorded time the failed run kept (at least one, fewer than the roomy run's) holds the
 * bits of the roomy run. Returns the number kept. */
static hsize_t assert_same_prefix(hid_t failed, const char *roomy_path) {
    hid_t latent = H5Dopen2(failed, "/simulate/latent", H5P_DEFAULT);
    hid_t space = H5Dget_space(latent);
    hsize_t dims[3];
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space), H5Dclose(latent);
    const hsize_t kept = dims[1];
    hid_t roomy = H5Fopen(roomy_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(roomy >= 0);
    static const char *const names[] = {"/simulate/latent", "/simulate/target_latent",
                                        "/simulate/traces", "/simulate/t"};
    for (int i = 0; i < 4; i++) {
        int axis = i == 3 ? 0 : 1;
        size_t na, nb;
        unsigned char *a = recorded_prefix(failed, names[i], axis, kept, &na);
        unsigned char *b = recorded_prefix(roomy, names[i], axis, kept, &nb);
        cr_assert(na == nb && !memcmp(a, b, na), "%s: the %llu kept times differ", names[i],
                  (unsigned long long)kept);
        free(a), free(b);
    }
    H5Fclose(roomy);
    return kept;
}

TestSuite(disk, .fini = clean_up, .timeout = 120);

Test(disk, simulation_fills_the_disk) {
    make_test_dir("disk");
    write_text("fill.ini", filling);
    cr_assert_eq(run_ddm("@fill.ini --stages train,simulate --output @roomy.h5"), 0, "%s",
                 run_err.message);
    off_t roomy = file_size(in_dir("roomy.h5"));
    mount_disk((unsigned long)(roomy / 2 / 1024)); /* room for about half of it */
    char args[512];
    snprintf(args, sizeof args, "@fill.ini --stages train,simulate --output %s", on_disk("run.h5"));
    cr_assert_eq(run_ddm(args), DDM_ERUNTIME, "%s", run_err.message);
    assert_full_disk_message(run_err.message);
    cr_assert(strstr(run_err.message, "/simulate"), "%s", run_err.message);
    cr_assert(strstr(run_err.message, "is kept with what was written"), "%s", run_err.message);
    hid_t file = open_failed_file(on_disk("run.h5"));
    hsize_t kept = assert_same_prefix(file, in_dir("roomy.h5"));
    cr_assert(kept > 1 && kept < 30001, "kept %llu recorded times", (unsigned long long)kept);
    H5Fclose(file);
}

Test(disk, not_even_the_header_fits) {
    make_test_dir("disk");
    write_text("fill.ini", filling);
    mount_disk(16);
    char args[512];
    snprintf(args, sizeof args, "@fill.ini --stages train,simulate --output %s", on_disk("run.h5"));
    cr_assert_eq(run_ddm(args), DDM_ERUNTIME, "%s", run_err.message);
    assert_full_disk_message(run_err.message);
    cr_assert(strstr(run_err.message, "creating the output file"), "%s", run_err.message);
    cr_assert(strstr(run_err.message, "the file was removed"), "%s", run_err.message);
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE), 0, "a file was left open");
    cr_assert_neq(access(on_disk("run.h5"), F_OK), 0, "the empty file is removed");
}

/* Another process fills the disk while the run trains: the training's results still go into the
 * space claimed with the header, and the run stops at its first block. */
Test(disk, disk_fills_during_the_training) {
    make_test_dir("disk");
    write_text("train.ini", "[system]\nname = vdp\n[network]\nneurons = 128\nseed = 3\n"
                            "[train]\nsamples = 20000\nepochs = 300\npaths = 4\npath_time = 20\n"
                            "[simulate]\ntrajectories = 16\nsteps = 2000\nrecord_every = 1\n"
                            "burn_in = 0\n[run]\nthreads = 1\n");
    mount_disk(4096); /* roomy enough for the whole run (about 0.5 MB and the reservations) */
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        char args[512];
        snprintf(args, sizeof args, "@train.ini --output %s", on_disk("run.h5"));
        int code = run_ddm(args);
        FILE *said = fopen(in_dir("message.txt"), "w");
        if (said) fputs(run_err.message, said), fclose(said);
        _exit(code);
    }
    /* the header (its configuration attribute alone is several kB; H5Fcreate's superblock and
     * root group are under 1 kB) is flushed before the training starts: fill the disk then */
    for (int i = 0; i < 40000 && file_size(on_disk("run.h5")) < 2048; i++) usleep(500);
    int ballast = open(on_disk("ballast"), O_WRONLY | O_CREAT, 0644);
    cr_assert(ballast >= 0);
    static char block[1 << 16];
    while (write(ballast, block, sizeof block) > 0) continue;
    close(ballast);
    int status;
    waitpid(child, &status, 0);
    cr_assert(WIFEXITED(status), "the run crashed");
    cr_assert_eq(WEXITSTATUS(status), DDM_ERUNTIME);
    char message[1100] = "";
    FILE *said = fopen(in_dir("message.txt"), "r");
    cr_assert(said);
    cr_assert(fgets(message, sizeof message, said));
    fclose(said);
    assert_full_disk_message(message);
    cr_assert(strstr(message, "/simulate"), "the training's results fit: %s", message);
    hid_t file = open_failed_file(on_disk("run.h5"));
    cr_assert(H5Lexists(file, "model", H5P_DEFAULT) > 0, "the trained model is kept");
    cr_assert(H5Lexists(file, "train", H5P_DEFAULT) > 0, "the loss curve is kept");
    H5Fclose(file);
}

/* A stop request with a disk too full for the checkpoint: the run says so and ends with status 1
 * (it cannot be resumed), without a /checkpoint cut short. */
Test(disk, checkpoint_does_not_fit) {
    make_test_dir("disk");
    write_text("cp.ini", "[system]\nname = vdp\n[network]\nneurons = 256\nseed = 3\n"
                         "[train]\nsamples = 300\nepochs = 2\npaths = 2\npath_time = 10\n"
                         "[simulate]\ntrajectories = 4096\nsteps = 100\nrecord_every = 10\n"
                         "burn_in = 10\nstart = 0.5, 0.5\n");
    cr_assert_eq(run_ddm("@cp.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    mount_disk(3072); /* the states alone are 4096 × 256 floats = 4 MiB */
    char args[512];
    snprintf(args, sizeof args, "@cp.ini --stages simulate --model @model.h5 --output %s",
             on_disk("run.h5"));
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm(args), DDM_ERUNTIME, "%s", run_err.message);
    assert_full_disk_message(run_err.message);
    cr_assert(strstr(run_err.message, "stopped by SIGTERM"), "%s", run_err.message);
    cr_assert(strstr(run_err.message, "writing the checkpoint failed"), "%s", run_err.message);
    hid_t file = open_failed_file(on_disk("run.h5"));
    cr_assert(H5Lexists(file, "checkpoint", H5P_DEFAULT) <= 0, "no checkpoint cut short");
    cr_assert(H5Aexists(file, "interrupted") <= 0, "not marked as resumable");
    H5Fclose(file);
}

/* Without the reservations (a filesystem without fallocate, whose free space fell to nothing
 * after the check), the write fails inside HDF5: the failed file is frozen, closes cleanly, and
 * keeps what its last flush wrote. 2 MiB hold the header and t = 0; the first block's latent
 * read-out (4 MiB) fails while HDF5 writes it. */
Test(disk, a_write_that_fails_inside_hdf5_freezes_the_file) {
    make_test_dir("disk");
    write_text("fill.ini", filling);
    cr_assert_eq(run_ddm("@fill.ini --stages train,simulate --output @roomy.h5"), 0, "%s",
                 run_err.message);
    mount_disk(2048);
    h5space_set_reserving(0);
    char args[512];
    snprintf(args, sizeof args, "@fill.ini --stages train,simulate --output %s", on_disk("run.h5"));
    cr_assert_eq(run_ddm(args), DDM_ERUNTIME, "%s", run_err.message);
    h5space_set_reserving(1);
    assert_full_disk_message(run_err.message);
    cr_assert(strstr(run_err.message, "appending to a dataset failed"), "%s", run_err.message);
    hid_t file = open_failed_file(on_disk("run.h5"));
    cr_assert_eq(assert_same_prefix(file, in_dir("roomy.h5")), 1);
    H5Fclose(file);
}
