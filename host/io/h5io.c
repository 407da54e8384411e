/* h5io.c — HDF5 helpers: one-line errors, attributes, datasets, streamed appends. Every write
 * claims its disk space first (ddm/h5space.h), so a full disk refuses it before HDF5 starts. */
#include "ddm/h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5schema.h"
#include "ddm/h5space.h"

void h5_quiet(void) {
    static int done = 0;
    if (!done) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
}

/* H5Ewalk visitor keeping the innermost description (the most specific reason), on one line:
 * the driver's descriptions carry a ctime() date that ends in a newline */
static herr_t innermost(unsigned depth, const H5E_error2_t *entry, void *data) {
    char *out = data;
    if (depth == 0 && entry->desc) snprintf(out, 256, "%s", entry->desc);
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    return 0;
}

int h5_reason(char *buf, size_t len) {
    char reason[256] = "no reason given";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, reason);
    int failed_write = h5space_failed_write(); /* a full disk met all the same: see h5space.h */
    H5Eclear2(H5E_DEFAULT);
    snprintf(buf, len, "%s", reason);
    return failed_write;
}

int h5_check(long long status, const char *what, const char *file, int line,
             struct ddm_error *err) {
    if (status >= 0) return DDM_OK;
    char reason[256];
    int failed_write = h5_reason(reason, sizeof reason);
    if (failed_write)
        return ddm_fail(err, DDM_ERUNTIME, "%s failed: %s", what, strerror(failed_write));
    return ddm_fail(err, DDM_ERUNTIME, "HDF5: %s failed (%s) [%s:%d]", what, reason, file, line);
}

/* `bytes`: the size of the value (of the string for a variable-length one) */
static int write_attr(hid_t obj, const char *name, hid_t type, const void *value, uint64_t bytes,
                      struct ddm_error *err) {
    char what[300];
    snprintf(what, sizeof what, "writing attribute '%s'", name);
    int reserved = h5space_reserve(obj, bytes + 256, what, err);
    if (reserved) return reserved;
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int code = H5_CHECK(attr, name, err);
    if (!code) code = H5_CHECK(H5Awrite(attr, type, value), name, err);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return code;
}

int h5_attr_string(hid_t obj, const char *name, const char *value, struct ddm_error *err) {
    /* variable-length UTF-8: h5py gives str, MATLAB and HDFView show the text */
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    int code = write_attr(obj, name, type, &value, strlen(value), err);
    H5Tclose(type);
    return code;
}

int h5_attr_double(hid_t obj, const char *name, double value, struct ddm_error *err) {
    return write_attr(obj, name, H5T_NATIVE_DOUBLE, &value, sizeof value, err);
}

int h5_attr_int(hid_t obj, const char *name, long long value, struct ddm_error *err) {
    return write_attr(obj, name, H5T_NATIVE_LLONG, &value, sizeof value, err);
}

int h5_attr_uint64(hid_t obj, const char *name, uint64_t value, struct ddm_error *err) {
    return write_attr(obj, name, H5T_NATIVE_UINT64, &value, sizeof value, err);
}

int h5_read_attr_double(hid_t obj, const char *name, double *value, struct ddm_error *err) {
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    int code = H5_CHECK(attr, name, err);
    if (!code) code = H5_CHECK(H5Aread(attr, H5T_NATIVE_DOUBLE, value), name, err);
    if (attr >= 0) H5Aclose(attr);
    return code;
}

int h5_read_attr_string(hid_t obj, const char *name, char *buf, size_t len, struct ddm_error *err) {
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    int code = H5_CHECK(attr, name, err);
    if (code) return code;
    hid_t type = H5Aget_type(attr);
    if (H5Tget_class(type) != H5T_STRING) {
        code = ddm_fail(err, DDM_ERUNTIME, "attribute '%s' is not a string", name);
    } else if (H5Tis_variable_str(type) > 0) {
        char *value = NULL;
        hid_t mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, H5T_VARIABLE);
        H5Tset_cset(mem, H5Tget_cset(type)); /* UTF-8 as written by h5_attr_string */
        code = H5_CHECK(H5Aread(attr, mem, &value), name, err);
        if (!code) snprintf(buf, len, "%s", value ? value : "");
        if (value) H5free_memory(value);
        H5Tclose(mem);
    } else {
        size_t size = H5Tget_size(type);
        char *value = calloc(size + 1, 1);
        code = value ? H5_CHECK(H5Aread(attr, type, value), name, err)
                     : ddm_fail(err, DDM_ERUNTIME, "out of memory");
        if (!code) snprintf(buf, len, "%s", value);
        free(value);
    }
    H5Tclose(type);
    H5Aclose(attr);
    return code;
}

hid_t h5_group(hid_t parent, const char *name, struct ddm_error *err) {
    hid_t group = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return H5_CHECK(group, name, err) ? -1 : group;
}

int h5_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
             const hsize_t *dims, const void *data, const char *shape, struct ddm_error *err) {
    uint64_t bytes = H5Tget_size(file_type);
    for (int d = 0; d < rank; d++) bytes *= dims[d];
    char what[300];
    snprintf(what, sizeof what, "writing dataset '%s'", name);
    int reserved = h5space_reserve(loc, bytes + (shape ? strlen(shape) : 0) + 1024, what, err);
    if (reserved) return reserved;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dataset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int code = H5_CHECK(dataset, name, err);
    if (!code)
        code =
            H5_CHECK(H5Dwrite(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name, err);
    if (!code && shape) code = h5_attr_string(dataset, H5N_SHAPE, shape, err);
    if (dataset >= 0) H5Dclose(dataset);
    H5Sclose(space);
    return code;
}

int h5_read(hid_t loc, const char *name, hid_t mem_type, int rank, const hsize_t *dims, void *data,
            struct ddm_error *err) {
    hid_t dataset = H5Dopen2(loc, name, H5P_DEFAULT);
    int code = H5_CHECK(dataset, name, err);
    if (code) return code;
    hid_t space = H5Dget_space(dataset);
    hsize_t found[8] = {0};
    int found_rank = H5Sget_simple_extent_dims(space, found, NULL);
    int same = found_rank == rank;
    for (int d = 0; same && d < rank; d++) same = found[d] == dims[d];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int d = 0; d < rank; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%llu", d ? "," : "",
                     (unsigned long long)dims[d]);
        for (int d = 0; d < found_rank && d < 8; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? "," : "",
                     (unsigned long long)found[d]);
        code = ddm_fail(err, DDM_ERUNTIME, "dataset '%s' has shape (%s), expected (%s)", name, got,
                        want);
    } else {
        code = H5_CHECK(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name, err);
    }
    H5Sclose(space);
    H5Dclose(dataset);
    return code;
}

int h5_stream_create(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                     const hsize_t *dims, int axis, const hsize_t *chunk, const char *shape,
                     struct h5_stream *stream, struct ddm_error *err) {
    memset(stream, 0, sizeof *stream);
    stream->dataset = -1;
    stream->mem_type = mem_type;
    stream->rank = rank;
    stream->axis = axis;
    hsize_t maxdims[4];
    for (int d = 0; d < rank; d++) {
        stream->dims[d] = d == axis ? 0 : dims[d];
        maxdims[d] = d == axis ? H5S_UNLIMITED : dims[d];
    }
    hid_t space = H5Screate_simple(rank, stream->dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int code = H5_CHECK(H5Pset_chunk(dcpl, rank, chunk), name, err);
    if (!code) code = H5_CHECK(H5Pset_shuffle(dcpl), name, err);
    if (!code) code = H5_CHECK(H5Pset_deflate(dcpl, 4), name, err);
    if (!code) {
        stream->dataset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        code = H5_CHECK(stream->dataset, name, err);
    }
    if (!code && shape) code = h5_attr_string(stream->dataset, H5N_SHAPE, shape, err);
    H5Pclose(dcpl);
    H5Sclose(space);
    return code;
}

int h5_stream_append(struct h5_stream *stream, hsize_t count, const void *data,
                     struct ddm_error *err) {
    if (count == 0) return DDM_OK;
    hsize_t start[4] = {0}, block[4];
    for (int d = 0; d < stream->rank; d++) block[d] = stream->dims[d];
    start[stream->axis] = stream->dims[stream->axis];
    block[stream->axis] = count;
    stream->dims[stream->axis] += count;
    int code = H5_CHECK(H5Dset_extent(stream->dataset, stream->dims), "extending a dataset", err);
    if (code) return code;
    hid_t file_space = H5Dget_space(stream->dataset);
    hid_t mem_space = H5Screate_simple(stream->rank, block, NULL);
    code = H5_CHECK(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, block, NULL),
                    "selecting a slab", err);
    if (!code)
        code = H5_CHECK(
            H5Dwrite(stream->dataset, stream->mem_type, mem_space, file_space, H5P_DEFAULT, data),
            "appending to a dataset", err);
    H5Sclose(mem_space);
    H5Sclose(file_space);
    return code;
}

uint64_t h5_stream_bound(const struct h5_stream *stream, hsize_t count) {
    if (count == 0 || stream->dataset < 0) return 0;
    hid_t dcpl = H5Dget_create_plist(stream->dataset), type = H5Dget_type(stream->dataset);
    hsize_t chunk[4] = {1, 1, 1, 1};
    int rank = H5Pget_chunk(dcpl, 4, chunk);
    uint64_t chunk_bytes = H5Tget_size(type), chunks = 1;
    for (int d = 0; d < rank && d < stream->rank; d++) {
        chunk_bytes *= chunk[d];
        if (d == stream->axis) {
            hsize_t first = stream->dims[d] / chunk[d];
            hsize_t last = (stream->dims[d] + count - 1) / chunk[d];
            chunks *= last - first + 1;
        } else {
            chunks *= (stream->dims[d] + chunk[d] - 1) / chunk[d];
        }
    }
    H5Tclose(type);
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    /* each chunk the append touches is written once, whole (an edge chunk is padded); deflate
     * may grow incompressible data by a little, and the chunk index takes an entry per chunk */
    return chunks * (chunk_bytes + chunk_bytes / 64 + 256);
}

void h5_stream_close(struct h5_stream *stream) {
    if (stream->dataset >= 0) H5Dclose(stream->dataset);
    stream->dataset = -1;
}
