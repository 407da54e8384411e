/* runfile_check.c — refusing a run file that cannot be read, with one line (see
 * include/ddm/runfile_check.h). The checks go from the file system to the layout, so the message
 * names the first thing that is wrong: the system's reason for a file that cannot be opened, no
 * HDF5 signature, a superblock HDF5 cannot read (a copy cut short, a damaged file), a lock held by
 * a program writing the file, then the root attribute format_version.
 */
#include "ddm/runfile_check.h"

#include "ddm/h5schema.h"
#include "ddm/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddm/h5io.h"
#include "ddm/runfile.h"

/* The path names a regular, readable, non-empty file. */
static int check_readable(const char *path, const char *role, struct ddm_error *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return ddm_fail(err, ddm_errno_code(errno), "cannot open %s '%s': %s", role, path,
                        strerror(errno));
    struct stat st;
    int code = DDM_OK;
    if (fstat(fd, &st))
        code = ddm_fail(err, DDM_ERUNTIME, "cannot open %s '%s': %s", role, path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        code = ddm_fail(err, DDM_EUSAGE, "cannot open %s '%s': %s", role, path, strerror(EISDIR));
    else if (st.st_size == 0)
        code = ddm_fail(err, DDM_EUSAGE, "%s '%s' is not an HDF5 file (it is empty)", role, path);
    close(fd);
    return code;
}

/* H5Ewalk visitor: does the stack hold HDF5's "unable to lock file"? */
static herr_t find_lock(unsigned depth, const H5E_error2_t *entry, void *locked) {
    (void)depth;
    if (entry->min_num == H5E_CANTLOCKFILE) *(int *)locked = 1;
    return 0;
}

/* The root attribute format_version: present, an integer from 1 to DDM_FORMAT_VERSION. */
static int check_format(hid_t file, const char *path, const char *role, struct ddm_error *err) {
    htri_t has = H5Aexists(file, H5N_FORMAT_VERSION);
    char reason[256];
    if (has < 0) {
        h5_reason(reason, sizeof reason);
        return ddm_fail(err, DDM_EUSAGE, "%s '%s' is corrupt or truncated (%s)", role, path,
                        reason);
    }
    if (!has) {
        /* ddm_gpu 0.1.0 wrote format 1 before it named it: ddm_version tells its files apart */
        if (H5Aexists(file, H5N_DDM_VERSION) > 0) return DDM_OK;
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s '%s' is not a ddm_gpu run file (no format_version attribute)", role,
                        path);
    }
    double version = 0;
    if (h5_read_attr_double(file, H5N_FORMAT_VERSION, &version, NULL) ||
        version != floor(version) || version < 1)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s '%s' has a format_version that is not a positive integer: not a "
                        "ddm_gpu run file, or a damaged one",
                        role, path);
    if (version > DDM_FORMAT_VERSION)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s '%s' has format_version %.0f; this ddm_gpu (version %s) reads "
                        "format_version %d",
                        role, path, version, DDM_VERSION, DDM_FORMAT_VERSION);
    return DDM_OK;
}

int runfile_open_read(const char *path, const char *role, hid_t *file, struct ddm_error *err) {
    h5_quiet();
    *file = -1;
    int code = check_readable(path, role, err);
    if (code) return code;
    char reason[256];
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 == 0) return ddm_fail(err, DDM_EUSAGE, "%s '%s' is not an HDF5 file", role, path);
    if (is_hdf5 < 0) {
        h5_reason(reason, sizeof reason);
        return ddm_fail(err, DDM_ERUNTIME, "cannot open %s '%s' (HDF5: %s)", role, path, reason);
    }
    hid_t opened = output_open(path, H5F_ACC_RDONLY);
    if (opened < 0) {
        int locked = 0;
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_lock, &locked);
        h5_reason(reason, sizeof reason);
        if (locked)
            return ddm_fail(err, DDM_ERUNTIME,
                            "%s '%s' is open for writing in another program (HDF5 file lock); "
                            "wait until that program has closed it",
                            role, path);
        return ddm_fail(err, DDM_EUSAGE, "%s '%s' is corrupt or truncated (%s)", role, path,
                        reason);
    }
    code = check_format(opened, path, role, err);
    if (code)
        H5Fclose(opened);
    else
        *file = opened;
    return code;
}
