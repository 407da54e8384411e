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
int output_create(const char *path, int overwrite, const char *instead, hid_t *file,
                  struct ddm_error *err);

#endif
