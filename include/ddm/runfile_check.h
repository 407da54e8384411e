/* runfile_check.h — opening a run file that a run reads (--model, --resume, a merge shard) only
 * after it is known to be one this build can read, so that a wrong file is refused with one line
 * that says what it is — missing, not HDF5, corrupt or truncated, foreign, or of a newer format —
 * and is never written to.
 *
 * The file is opened read-only; --resume and `--stages analyze` alone reopen it read-write only
 * once every check has passed.
 */
#ifndef DDM_RUNFILE_CHECK_H
#define DDM_RUNFILE_CHECK_H

#include <hdf5.h>

#include "ddm/error.h"

/* Opens `path` read-only after checking that it exists, is HDF5, opens, and carries a
 * format_version this build reads (a file of ddm_gpu 0.1.0 written before format_version existed,
 * with ddm_version, passes as format 1). `role` names the file in messages: "--model",
 * "--resume", "shard". *file is the open file, or -1 with err filled and DDM_EUSAGE returned for
 * a file that can never be read, DDM_ERUNTIME for one that is busy (locked by a program writing
 * it) or unreadable for a reason of the system. */
int runfile_open_read(const char *path, const char *role, hid_t *file, struct ddm_error *err);

#endif
