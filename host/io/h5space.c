/* h5space.c — disk space for the HDF5 files a run writes: reservations ahead of the writes, and
 * the freeze of a file whose write failed anyway (see include/ddm/h5space.h for why).
 */
#include "ddm/h5space.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int reserving = 1;

void h5space_set_reserving(int on) {
    reserving = on;
}

/* The POSIX descriptor HDF5 reads and writes `file` through; -1 for a driver other than sec2. */
static int sec2_descriptor(hid_t file) {
    hid_t fapl = H5Fget_access_plist(file);
    void *handle = NULL;
    int fd = -1;
    if (fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 &&
        H5Fget_vfd_handle(file, fapl, &handle) >= 0 && handle)
        fd = *(int *)handle;
    if (fapl >= 0) H5Pclose(fapl);
    return fd;
}

/* 0 when `len` bytes from `offset` are the file's own; else the errno that says why not. */
static int claim(int fd, uint64_t offset, uint64_t len) {
    int status;
    do status = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
    while (status && errno == EINTR);
    if (!status) return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL) return errno;
    /* no fallocate on this filesystem: what it says is free will have to do */
    struct statvfs fs;
    if (fstatvfs(fd, &fs)) return 0;
    return (uint64_t)fs.f_bavail * fs.f_frsize >= len ? 0 : ENOSPC;
}

void h5space_size_text(double bytes, char *out, size_t len) {
    if (bytes < 1e3)
        snprintf(out, len, "%.0f bytes", bytes);
    else if (bytes < 1e6)
        snprintf(out, len, "%.0f kB", bytes / 1e3);
    else if (bytes < 1e9)
        snprintf(out, len, "%.1f MB", bytes / 1e6);
    else
        snprintf(out, len, "%.2f GB", bytes / 1e9);
}

int h5space_reserve(hid_t obj, uint64_t bytes, const char *what, struct ddm_error *err) {
    if (!reserving) return DDM_OK;
    hid_t file = H5Iget_file_id(obj);
    int fd = file >= 0 ? sec2_descriptor(file) : -1;
    haddr_t eoa = 0;
    struct stat st;
    int failed = 0;
    double free_bytes = -1;
    if (fd >= 0 && H5Fget_eoa(file, &eoa) >= 0 && fstat(fd, &st) == 0) {
        /* from the end of what is on disk to past the end of what HDF5 has allocated: space it
         * allocated but has not written yet is claimed too */
        uint64_t eof = (uint64_t)st.st_size, end = eoa > eof ? eoa : eof;
        failed = claim(fd, eof, end - eof + bytes + H5SPACE_MARGIN);
        struct statvfs fs;
        if (failed && !fstatvfs(fd, &fs)) free_bytes = (double)fs.f_bavail * fs.f_frsize;
    }
    if (file >= 0) H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (!failed) return DDM_OK;
    char needed[32], available[32] = "";
    h5space_size_text((double)bytes + H5SPACE_MARGIN, needed, sizeof needed);
    if (free_bytes >= 0) h5space_size_text(free_bytes, available, sizeof available);
    return ddm_fail(err, DDM_ERUNTIME, "%s: %s (needs up to %s on the disk%s%s)", what,
                    strerror(failed), needed, available[0] ? ", free: " : "", available);
}

/* Points the descriptor of `file` at an anonymous in-memory file: HDF5 goes on as if its writes
 * succeeded, and the file on disk is no longer touched. */
static void freeze(hid_t file) {
    int fd = sec2_descriptor(file);
    if (fd < 0) return;
    int scratch = memfd_create("ddm-frozen-hdf5", MFD_CLOEXEC);
    if (scratch < 0) scratch = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (scratch < 0) return;
    dup2(scratch, fd);
    close(scratch);
}

void h5space_discard(hid_t file, const char *path) {
    freeze(file);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    unlink(path);
}

/* Truncating a file to its own size frees the blocks fallocate(KEEP_SIZE) added past its end
 * (tmpfs, ext4; other filesystems may keep them until the file is rewritten). 0 or an errno. */
static int give_back(const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat st;
    int status = fstat(fd, &st) ? errno : 0;
    if (!status && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_blocks * 512 > (uint64_t)st.st_size + 65536)
        status = ftruncate(fd, st.st_size) ? errno : 0;
    close(fd);
    return status;
}

herr_t h5space_close(hid_t file) {
    char path[4096];
    ssize_t len = H5Fget_name(file, path, sizeof path);
    herr_t status = H5Fclose(file);
    /* blocks that stay reserved cost space, not correctness: a failure here is not reported */
    if (len > 0 && (size_t)len < sizeof path) give_back(path);
    return status;
}

/* What the error stack says of a failed write: the driver's description reads "file write
 * failed: ..., file descriptor = 5, errno = 28, ...". */
struct failed_write {
    int error; /* errno, 0 when no write failed */
    int fd;    /* -1 when not given */
};

static herr_t find_failed_write(unsigned depth, const H5E_error2_t *entry, void *data) {
    (void)depth;
    struct failed_write *found = data;
    if (found->error || entry->min_num != H5E_WRITEERROR) return 0;
    const char *fd = entry->desc ? strstr(entry->desc, "file descriptor = ") : NULL;
    const char *error = entry->desc ? strstr(entry->desc, "errno = ") : NULL;
    found->fd = fd ? atoi(fd + strlen("file descriptor = ")) : -1;
    found->error =
        error && atoi(error + strlen("errno = ")) > 0 ? atoi(error + strlen("errno = ")) : EIO;
    return 0;
}

int h5space_failed_write(void) {
    struct failed_write found = {0, -1};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_failed_write, &found);
    if (!found.error) return 0;
    /* the stack is read; the calls below may clear it */
    ssize_t count = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
    hid_t *files = count > 0 ? malloc(sizeof(hid_t) * (size_t)count) : NULL;
    if (files) count = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, (size_t)count, files);
    for (ssize_t i = 0; files && i < count; i++) {
        unsigned intent = 0;
        if (H5Fget_intent(files[i], &intent) < 0 || !(intent & H5F_ACC_RDWR)) continue;
        /* the file the write failed on; every file open for writing when the stack names none */
        if (found.fd < 0 || sec2_descriptor(files[i]) == found.fd) freeze(files[i]);
    }
    free(files);
    H5Eclear2(H5E_DEFAULT);
    return found.error;
}
