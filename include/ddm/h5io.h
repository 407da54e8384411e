/* h5io.h — thin helpers over HDF5's C API: attributes, whole datasets, and streamed datasets
 * that grow along one axis as a run goes (chunked, shuffled and deflated, flushed per append so
 * a killed run leaves a readable file). Errors come back as one line with HDF5's own reason;
 * HDF5's automatic error-stack printing is switched off.
 */
#ifndef DDM_H5IO_H
#define DDM_H5IO_H

#include <hdf5.h>
#include <stdint.h>

#include "ddm/error.h"

/* Checks an HDF5 return value (negative = failure); fills err with what, file:line and HDF5's
 * innermost message, or, for a failed write to a file, "<what> failed: <strerror>" (and the file
 * is frozen: ddm/h5space.h). Returns DDM_OK or DDM_ERUNTIME. */
int h5_check(long long status, const char *what, const char *file, int line, struct ddm_error *err);
#define H5_CHECK(call, what, err) h5_check((long long)(call), what, __FILE__, __LINE__, err)

/* Silences HDF5's own printing of error stacks (once per process). */
void h5_quiet(void);

/* HDF5's innermost message on the current error stack (its most specific reason, e.g. "truncated
 * file: eof = 3000, ..."), then clears the stack. Returns the errno of a failed write to a file
 * on the stack (a full disk met all the same: the file is then frozen, ddm/h5space.h), else 0. */
int h5_reason(char *buf, size_t len);

int h5_attr_string(hid_t obj, const char *name, const char *value, struct ddm_error *err);
int h5_attr_double(hid_t obj, const char *name, double value, struct ddm_error *err);
int h5_attr_int(hid_t obj, const char *name, long long value, struct ddm_error *err);
int h5_attr_uint64(hid_t obj, const char *name, uint64_t value, struct ddm_error *err);

int h5_read_attr_double(hid_t obj, const char *name, double *value, struct ddm_error *err);
/* Reads a string attribute (any string type) into buf. */
int h5_read_attr_string(hid_t obj, const char *name, char *buf, size_t len, struct ddm_error *err);

/* Creates group `name` in `parent`; -1 (with err filled) on failure. */
hid_t h5_group(hid_t parent, const char *name, struct ddm_error *err);

/* Writes a whole dataset; `shape` names the axes, e.g. "(n,k)", stored as attribute "shape".
 * This and the attribute writers claim their disk space first (h5space_reserve). */
int h5_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
             const hsize_t *dims, const void *data, const char *shape, struct ddm_error *err);

/* Reads a whole dataset of the expected rank and dims (a mismatch is an error naming both). */
int h5_read(hid_t loc, const char *name, hid_t mem_type, int rank, const hsize_t *dims, void *data,
            struct ddm_error *err);

struct h5_stream {
    hid_t dataset;
    hid_t mem_type;
    int rank, axis;
    hsize_t dims[4]; /* current extent */
};

/* Creates a dataset of `rank` dims, extent 0 along `axis` (unlimited), chunked by `chunk`. */
int h5_stream_create(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                     const hsize_t *dims, int axis, const hsize_t *chunk, const char *shape,
                     struct h5_stream *stream, struct ddm_error *err);
/* Appends `count` slices along the axis; data is laid out with the dims of the dataset except
 * `count` along the axis. The caller reserves the space of all streams of a block first (their
 * h5_stream_bound summed: chunks stay in HDF5's cache until the flush) and flushes the file once
 * all streams of a block are written. */
int h5_stream_append(struct h5_stream *stream, hsize_t count, const void *data,
                     struct ddm_error *err);
/* The most bytes appending `count` slices can add to the file. */
uint64_t h5_stream_bound(const struct h5_stream *stream, hsize_t count);
void h5_stream_close(struct h5_stream *stream);

#endif
