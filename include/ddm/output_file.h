/* output_file.h — the new file a run or a merge writes. An existing file is never replaced unless
 * the user asks for it (--overwrite), and a path that cannot be created is refused with the
 * system's reason; both are found before any work, so hours of training never end in a file that
 * cannot be written, and no earlier result is lost to a repeated command.
 */
#ifndef DDM_OUTPUT_FILE_H
#define DDM_OUTPUT_FILE_H

#include <hdf5.h>

#include "ddm/error.h"

/* Checks that `path` can become the output file, without touching anything: refused when it is a
 * directory; when it exists and `overwrite` is 0 (the message says what it holds, read cheaply
 * from its root: a complete run, an incomplete one, one stopped with a checkpoint); or when it
 * cannot be created or replaced (missing directory, a file where a directory should be, no
 * permission, a read-only file system). `instead` ends the message for an existing file, e.g.
 * "--output another path". DDM_EUSAGE for these (the path cannot work as given), DDM_ERUNTIME
 * for a failure of the system itself (an I/O error). */
int output_check(const char *path, int overwrite, const char *instead, struct ddm_error *err);

/* Creates the HDF5 file: exclusively without `overwrite` (a file that appeared since output_check
 * is refused as well: the check and the creation are one step), replacing an existing one with
 * it. *file is the open file, or -1 with err filled. */
int output_create(const char *path, int overwrite, const char *instead, int live, hid_t *file,
                  struct ddm_error *err);

/* H5Fopen of a run file (flags H5F_ACC_RDONLY or H5F_ACC_RDWR), also one left by a live run
 * ([output] live = true) killed without warning: such a file carries the "open for writing" flags
 * of the newer format, which a plain open refuses. A reader then tries SWMR reading, and both
 * then clear the flags as `h5clear -s` does (refused, as it should be, while another program holds
 * the file's lock). A file of a default run opens at the first try. -1 when none works. */
hid_t output_open(const char *path, unsigned flags);

#endif
