/* output_file.c — refusing to replace an existing output file, and saying why a path cannot be
 * created (include/ddm/output_file.h). The file system is asked with stat and access before any
 * work; the creation itself is exclusive, so a file written by someone else between the check and
 * the creation is refused too rather than truncated, and --overwrite does not replace a file that
 * another process holds open.
 */
#include "ddm/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"

/* "2026-11-25T10:12:33+0100" (the `created` attribute) as "2026-11-25 10:12" */
static void short_date(const char *created, char *buf, size_t len) {
    snprintf(buf, len, "%.16s", created);
    char *t = strchr(buf, 'T');
    if (t) *t = ' ';
}

/* What an existing file holds, from its root alone ("complete run of 2026-11-25 10:12"); empty
 * when it is not HDF5 or cannot be opened (it is then only said to exist). Read-only. */
static void describe(const char *path, char *buf, size_t len) {
    buf[0] = 0;
    h5_quiet();
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    hid_t file = output_open(path, H5F_ACC_RDONLY);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    char created[64] = "", when[64] = "";
    double complete = -1, interrupted = 0;
    if (H5Aexists(file, H5N_CREATED) > 0 &&
        !h5_read_attr_string(file, H5N_CREATED, created, sizeof created, NULL)) {
        snprintf(when, sizeof when, " of ");
        short_date(created, when + 4, sizeof when - 4);
    }
    if (H5Aexists(file, H5N_COMPLETE) > 0) h5_read_attr_double(file, H5N_COMPLETE, &complete, NULL);
    if (H5Aexists(file, H5N_INTERRUPTED) > 0)
        h5_read_attr_double(file, H5N_INTERRUPTED, &interrupted, NULL);
    const int checkpoint = H5Lexists(file, H5N_CHECKPOINT, H5P_DEFAULT) > 0;
    const int merged = H5Aexists(file, H5N_MERGED_FROM) > 0;
    if (checkpoint)
        snprintf(buf, len, "%s run%s with a checkpoint: continue it with ddm_gpu --resume %s",
                 interrupted == 1 ? "stopped" : "incomplete", when, path);
    else if (complete == 1)
        snprintf(buf, len, "complete %s%s", merged ? "merge" : "run", when);
    else if (complete == 0)
        snprintf(buf, len, "incomplete %s%s, complete = 0", merged ? "merge" : "run", when);
    else
        snprintf(buf, len, "an HDF5 file, not a ddm_gpu run");
    H5Eclear2(H5E_DEFAULT);
    H5Fclose(file);
}

/* Whether another process holds `path` open through HDF5, which locks the files it opens with
 * flock(2) (shared to read, exclusive to write; not where HDF5_USE_FILE_LOCKING=FALSE). It
 * matters because H5Fcreate(H5F_ACC_TRUNC) truncates the file before it takes the lock and finds
 * it held: --overwrite on a file that h5py had open, or that a running ddm_gpu was writing, left
 * it empty under that process and then failed (and the writer's later blocks made a corrupt file
 * marked complete). */
static int held_by_another_process(const char *path) {
    /* read-write where allowed: NFS emulates flock with byte-range locks, and an exclusive one
     * needs a descriptor open for writing; O_NONBLOCK so that a FIFO does not block the open */
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat st;
    const int held = !fstat(fd, &st) && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) != 0 &&
                     errno == EWOULDBLOCK;
    close(fd); /* and with it the lock this test may have taken */
    return held;
}

static int refuse_held(const char *path, const char *instead, struct ddm_error *err) {
    return ddm_fail(err, DDM_EUSAGE,
                    "output file '%s' is open in another process (a running ddm_gpu, h5py, "
                    "HDFView: HDF5 locks the files it opens); --overwrite would empty it under "
                    "that process: close it there, or give %s",
                    path, instead);
}

int output_check(const char *path, int overwrite, const char *instead, struct ddm_error *err) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return ddm_fail(err, DDM_EUSAGE,
                            "output file '%s' is a directory: give a file's name (%s)", path,
                            instead);
        if (!overwrite) {
            char what[PATH_MAX + 128];
            describe(path, what, sizeof what);
            return ddm_fail(err, DDM_EUSAGE,
                            "output file '%s' exists%s%s%s; give --overwrite to replace it, or %s",
                            path, what[0] ? " (" : "", what, what[0] ? ")" : "", instead);
        }
        if (held_by_another_process(path)) return refuse_held(path, instead, err);
        if (!access(path, W_OK)) return DDM_OK;
        const int e = errno;
        return ddm_fail(err, ddm_errno_code(e), "cannot replace output file '%s': %s", path,
                        strerror(e));
    }
    int e = errno;
    if (e != ENOENT) /* ENOTDIR: a file where the path needs a directory; EACCES, ELOOP, ... */
        return ddm_fail(err, ddm_errno_code(e), "cannot create output file '%s': %s", path,
                        strerror(e));
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (stat(dir, &st)) {
        e = errno;
        return ddm_fail(err, ddm_errno_code(e), "cannot create output file '%s': %s%s%s%s", path,
                        strerror(e), e == ENOENT ? " (the directory '" : "", e == ENOENT ? dir : "",
                        e == ENOENT ? "' does not exist)" : "");
    }
    if (!access(dir, W_OK | X_OK))
        return DDM_OK; /* root passes, unless the file system is read-only */
    e = errno;
    return ddm_fail(err, ddm_errno_code(e), "cannot create output file '%s': %s", path,
                    strerror(e));
}

hid_t output_open(const char *path, unsigned flags) {
    hid_t file = H5Fopen(path, flags, H5P_DEFAULT);
    if (file < 0 && !(flags & H5F_ACC_RDWR))
        file = H5Fopen(path, flags | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (file >= 0) return file;
    /* the property h5clear sets: the file is opened read-write and its status flags cleared */
    hbool_t clear = 1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t cleared =
        H5Pset(fapl, "clear_status_flags", &clear) < 0 ? -1 : H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (cleared < 0) { /* the plain open once more: its error stack says why (h5_reason) */
        H5Eclear2(H5E_DEFAULT);
        return H5Fopen(path, flags, H5P_DEFAULT);
    }
    H5Fclose(cleared);
    H5Eclear2(H5E_DEFAULT);
    return H5Fopen(path, flags, H5P_DEFAULT);
}

int output_create(const char *path, int overwrite, const char *instead, int live, hid_t *file,
                  struct ddm_error *err) {
    h5_quiet();
    if (overwrite && held_by_another_process(path)) return refuse_held(path, instead, err);
    /* a live run needs the latest format (superblock 3) for SWMR; the default is the oldest
     * format that holds the file, which HDF5 1.8 readers (older MATLAB) open too */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (live) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    *file = H5Fcreate(path, overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (*file >= 0) return DDM_OK;
    char reason[256];
    h5_reason(reason, sizeof reason);
    int code = output_check(path, overwrite, instead, err);
    if (code) return code; /* what the file system says (a file that appeared since included) */
    return ddm_fail(err, DDM_ERUNTIME, "cannot create output file '%s' (HDF5: %s)", path, reason);
}
