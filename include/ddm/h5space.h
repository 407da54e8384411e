/* h5space.h — disk space for the HDF5 files a run writes, so that a full disk (or a quota) ends
 * the run with one line and a file that still opens, holding everything written before.
 *
 * HDF5 1.10 copes badly with a write that fails half-way: a flush that fails leaves its metadata
 * cache in a state from which H5Fclose fails (and the library crashes at exit), and a close after
 * a failed raw-data write puts metadata on disk that points past the end of the file. So the
 * space is claimed *before* HDF5 writes: h5space_reserve allocates, with fallocate(KEEP_SIZE),
 * the bytes a write may take past the end of the file plus a margin for the metadata of the
 * close; when the disk cannot give them, the write is refused and HDF5 never meets the full
 * disk. The blocks are the file's own, so no other process can take them in between. Where the
 * filesystem has no fallocate (some NFS, FUSE), the free space statvfs reports is checked
 * instead, which another process may still use up first.
 *
 * A write that fails all the same (EIO, a quota on NFS, a disk filled by someone else) is the
 * fallback: h5space_freeze points the descriptor of the failed file at an anonymous in-memory
 * file, so the rest of the run and the close write nowhere and the file on disk keeps what it
 * had — exact when the failure came in a raw-data write (H5Dwrite), but a failure inside a flush
 * may already have left half-written metadata on disk, and HDF5 1.10.8 then cannot close the file
 * (the library crashes in its exit handler: status 139 where 1 was meant). Reserving first is
 * what avoids that; the freeze is the fallback.
 */
#ifndef DDM_H5SPACE_H
#define DDM_H5SPACE_H

#include <hdf5.h>
#include <stdint.h>

#include "ddm/error.h"

/* Kept free past every reservation for what HDF5 allocates on its own: B-tree nodes, object
 * header continuations, the global heap, the metadata written by the close. */
#define H5SPACE_MARGIN (1u << 20)

/* Makes sure `bytes` + H5SPACE_MARGIN can be written past the end of the file holding `obj` (a
 * file, group or dataset id). Refused: DDM_ERUNTIME with "<what>: No space left on device (needs
 * up to ... on the disk, free: ...)". Files of drivers other than sec2 (the default) are not
 * checked. */
int h5space_reserve(hid_t obj, uint64_t bytes, const char *what, struct ddm_error *err);

/* Closes a file written by this run and gives back the blocks reserved past its end (a
 * truncation to its own size). Returns H5Fclose's status. */
herr_t h5space_close(hid_t file);

/* Closes a file that must not be kept (nothing useful fits in it) without writing anything more
 * into it, and removes it. */
void h5space_discard(hid_t file, const char *path);

/* Called by h5_check with HDF5's error stack: when it holds a failed write to a file, freezes that
 * file (see above) and returns the errno of the write (EIO when the stack gives none); else 0. */
int h5space_failed_write(void);

/* Tests only: 0 turns the reservations off, as on a filesystem without fallocate and statvfs. */
void h5space_set_reserving(int on);

/* A size for people, in decimal units: "512 bytes", "28 kB", "3.4 MB", "1.25 GB". */
void h5space_size_text(double bytes, char *out, size_t len);

#endif
