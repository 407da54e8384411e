/* merge.c — `ddm_gpu merge OUT.h5 SHARD.h5...` (include/ddm/merge.h).
 *
 * Every shard is opened and checked against the first before anything is written; then OUT.h5
 * maps shard i's rows [first_i, first_i + B_i) of /simulate/latent (B,T,k) etc. through HDF5
 * virtual datasets. HDF5 stores each source file name as given and resolves a relative one
 * against the directory of OUT.h5, so names are written relative to that directory and the set
 * (merged file + shards) can be moved together. A missing source reads as the fill value without
 * an error; the fill value is NaN, so such rows cannot pass for data.
 */
#include "ddm/merge.h"

#include <hdf5.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ddm/config.h"
#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/h5space.h"
#include "ddm/output_file.h"
#include "ddm/runfile.h"
#include "ddm/runfile_check.h"

#define MAX_SHARDS 4096
/* how an existing OUT.h5 can be kept (output_check) */
#define MERGE_INSTEAD "another OUT.h5"

/* What merge needs to know of one shard. */
struct shard {
    const char *path;
    hid_t file;
    int index, count; /* shard i of N */
    long first, total;
    hsize_t latent[3]; /* (B_i, T, k) */
    hsize_t traces[3]; /* (Bt_i, T, nt) */
    int has_input;
    int has_nonfinite_step; /* /simulate/nonfinite_step, the blow-up marks */
    uint64_t model_hash;
    char *config; /* the effective configuration (root attribute) */
    double nonfinite, target_nonfinite, seconds;
    char source[PATH_MAX]; /* its name relative to the directory of OUT.h5 */
};

static void shard_close(struct shard *s) {
    if (s->file >= 0) H5Fclose(s->file);
    s->file = -1;
    free(s->config);
    s->config = NULL;
}

static int dims_of(hid_t file, const char *name, hsize_t *dims, int rank, const char *path,
                   struct ddm_error *err) {
    hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dataset < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_EUSAGE, "%s has no %s", path, name);
    }
    hid_t space = H5Dget_space(dataset);
    int found = H5Sget_simple_extent_ndims(space);
    if (found == rank) H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    H5Dclose(dataset);
    if (found != rank)
        return ddm_fail(err, DDM_EUSAGE, "%s: %s has rank %d, expected %d", path, name, found,
                        rank);
    return DDM_OK;
}

/* Opens a shard and reads what the checks need. */
static int shard_open(struct shard *s, struct ddm_error *err) {
    int code = runfile_open_read(s->path, "shard", &s->file, err);
    if (code) return code;
    double complete = 0, index = 0, count = 0, first = 0, total = 0;
    if (H5Aexists(s->file, H5N_SHARD_INDEX) <= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s is not a shard (no shard_index attribute; shards are written by runs "
                        "with --shard i/N)",
                        s->path);
    code = h5_read_attr_double(s->file, H5N_COMPLETE, &complete, err);
    if (!code && complete != 1)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s is not complete (complete = 0: its run failed or was stopped; "
                        "resume it with ddm_gpu --resume %s first)",
                        s->path, s->path);
    if (!code) code = h5_read_attr_double(s->file, H5N_SHARD_INDEX, &index, err);
    if (!code) code = h5_read_attr_double(s->file, H5N_SHARD_COUNT, &count, err);
    if (!code) code = h5_read_attr_double(s->file, H5N_FIRST_TRAJECTORY, &first, err);
    if (!code) code = h5_read_attr_double(s->file, H5N_TRAJECTORIES_TOTAL, &total, err);
    s->index = (int)index, s->count = (int)count, s->first = (long)first, s->total = (long)total;
    if (!code && (s->count < 1 || s->count > MAX_SHARDS || s->index < 0 || s->index >= s->count))
        code = ddm_fail(err, DDM_EUSAGE, "shard_index %d of shard_count %d is not valid", s->index,
                        s->count);
    const size_t len = 1 << 22;
    s->config = code ? NULL : ddm_alloc(len, "a shard's configuration", err);
    if (!code && !s->config) code = DDM_ERUNTIME;
    if (!code) code = h5_read_attr_string(s->file, H5N_CONFIG, s->config, len, err);
    if (!code) code = runfile_model_hash(s->file, &s->model_hash, err);
    if (!code) code = dims_of(s->file, H5N_SIMULATE "/" H5N_LATENT, s->latent, 3, s->path, err);
    if (!code) code = dims_of(s->file, H5N_SIMULATE "/" H5N_TRACES, s->traces, 3, s->path, err);
    s->has_input = !code && H5Lexists(s->file, H5N_SIMULATE "/" H5N_INPUT, H5P_DEFAULT) > 0;
    s->has_nonfinite_step =
        !code && H5Lexists(s->file, H5N_SIMULATE "/" H5N_NONFINITE_STEP, H5P_DEFAULT) > 0;
    hid_t group = code ? -1 : H5Gopen2(s->file, H5N_SIMULATE, H5P_DEFAULT);
    if (group >= 0) {
        code = h5_read_attr_double(group, H5N_TARGET_NONFINITE, &s->target_nonfinite, err);
        if (!code) code = h5_read_attr_double(group, H5N_NONFINITE, &s->nonfinite, err);
        if (!code) code = h5_read_attr_double(group, H5N_SECONDS, &s->seconds, err);
        H5Gclose(group);
    }
    if (code) ddm_error_prefix(err, "%s", s->path);
    return code;
}

/* The shard against the first one: same ensemble, same model, its own part of it. */
static int shard_agrees(const struct shard *s, const struct shard *ref, struct ddm_error *err) {
    char difference[1024];
    if (s->count != ref->count || s->total != ref->total)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s is shard %d of %d (of %ld trajectories) but %s is of %d (of %ld): "
                        "they are not parts of one ensemble",
                        s->path, s->index, s->count, s->total, ref->path, ref->count, ref->total);
    if (config_ini_compare(s->config, ref->config, difference, sizeof difference))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s and %s were run with different configurations (%s): they are not "
                        "parts of one ensemble",
                        s->path, ref->path, difference);
    if (s->model_hash != ref->model_hash)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s and %s hold different /model arrays: every shard must simulate the "
                        "same trained model (give all of them the same --model file)",
                        s->path, ref->path);
    const long first = s->total * s->index / s->count, end = s->total * (s->index + 1) / s->count;
    if ((long)s->latent[0] != end - first || s->first != first || s->latent[1] != ref->latent[1] ||
        s->latent[2] != ref->latent[2] || s->traces[2] != ref->traces[2] ||
        s->has_input != ref->has_input)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: /simulate/latent is (%llu,%llu,%llu) from trajectory %ld, expected "
                        "(%ld,%llu,%llu) from %ld for shard %d of %d",
                        s->path, (unsigned long long)s->latent[0], (unsigned long long)s->latent[1],
                        (unsigned long long)s->latent[2], s->first, end - first,
                        (unsigned long long)ref->latent[1], (unsigned long long)ref->latent[2],
                        first, s->index, s->count);
    return DDM_OK;
}

/* Every index 0..N-1 exactly once; `order` gets the shards by index. */
static int shards_cover(struct shard *shards, int count, struct shard **order,
                        struct ddm_error *err) {
    const int n = shards[0].count;
    for (int i = 0; i < n; i++) order[i] = NULL;
    for (int i = 0; i < count; i++) {
        struct shard *s = &shards[i];
        if (order[s->index])
            return ddm_fail(err, DDM_EUSAGE, "%s and %s are both shard %d of %d",
                            order[s->index]->path, s->path, s->index, n);
        order[s->index] = s;
    }
    for (int i = 0; i < n; i++)
        if (!order[i])
            return ddm_fail(err, DDM_EUSAGE,
                            "shard %d of %d is missing (%d file%s given; merge needs all %d)", i, n,
                            count, count == 1 ? "" : "s", n);
    return DDM_OK;
}

/* Splits an absolute path into its components (in place); returns their number. */
static int components(char *path, char **parts, int max) {
    int count = 0;
    char *save = NULL;
    for (char *p = strtok_r(path, "/", &save); p && count < max; p = strtok_r(NULL, "/", &save))
        parts[count++] = p;
    return count;
}

/* `file` relative to the directory `dir` (both absolute): "part.h5", "../runs/part.h5". */
static void relative_path(const char *dir, const char *file, char *out, size_t len) {
    char dir_copy[PATH_MAX], file_copy[PATH_MAX], *dir_parts[256], *file_parts[256];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir);
    snprintf(file_copy, sizeof file_copy, "%s", file);
    int nd = components(dir_copy, dir_parts, 256), nf = components(file_copy, file_parts, 256);
    int common = 0;
    while (common < nd && common < nf - 1 && !strcmp(dir_parts[common], file_parts[common]))
        common++;
    out[0] = 0;
    for (int i = common; i < nd; i++) strncat(out, "../", len - strlen(out) - 1);
    for (int i = common; i < nf; i++) {
        strncat(out, file_parts[i], len - strlen(out) - 1);
        if (i + 1 < nf) strncat(out, "/", len - strlen(out) - 1);
    }
}

/* Creates one virtual dataset of `rank` dims whose axis 0 concatenates the shards' rows. */
static int virtual_rows(hid_t group, const char *name, hid_t type, int rank, const hsize_t *dims,
                        struct shard **order, int count, int traced, const char *shape,
                        struct ddm_error *err) {
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* rows no shard maps read as "nothing recorded": NaN, or -1 for the blow-up marks */
    const double fill64 = NAN;
    const float fill32 = NAN;
    const int64_t fill_int = -1;
    const int is_int = H5Tequal(type, H5T_STD_I64LE) > 0,
              is_f64 = H5Tequal(type, H5T_IEEE_F64LE) > 0;
    int code = H5_CHECK(H5Pset_fill_value(dcpl,
                                          is_int   ? H5T_NATIVE_INT64
                                          : is_f64 ? H5T_NATIVE_DOUBLE
                                                   : H5T_NATIVE_FLOAT,
                                          is_int   ? (const void *)&fill_int
                                          : is_f64 ? (const void *)&fill64
                                                   : (const void *)&fill32),
                        name, err);
    char source_name[64];
    snprintf(source_name, sizeof source_name, "/" H5N_SIMULATE "/%s", name);
    hsize_t row = 0;
    for (int i = 0; i < count && !code; i++) {
        hsize_t rows = traced ? order[i]->traces[0] : order[i]->latent[0];
        if (rows == 0) continue;
        hsize_t start[3] = {row, 0, 0}, block[3];
        for (int d = 0; d < rank; d++) block[d] = d ? dims[d] : rows;
        hid_t source = H5Screate_simple(rank, block, NULL);
        code = H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, block, NULL), name,
                        err);
        if (!code)
            code = H5_CHECK(H5Pset_virtual(dcpl, space, order[i]->source, source_name, source),
                            name, err);
        H5Sclose(source);
        row += rows;
    }
    H5Sselect_all(space);
    hid_t dataset =
        code ? -1 : H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (!code) code = H5_CHECK(dataset, name, err);
    if (!code) code = h5_attr_string(dataset, H5N_SHAPE, shape, err);
    if (dataset >= 0) H5Dclose(dataset);
    H5Pclose(dcpl);
    H5Sclose(space);
    return code;
}

/* A per-time dataset (t, input), the same in every shard: a virtual view of the first one's. */
static int virtual_whole(hid_t group, const char *name, hid_t type, int rank, const hsize_t *dims,
                         const struct shard *first, const char *shape, struct ddm_error *err) {
    struct shard one = *first;
    struct shard *order[1] = {&one};
    one.latent[0] = dims[0]; /* all of its rows */
    return virtual_rows(group, name, type, rank, dims, order, 1, 0, shape, err);
}

/* Copies one attribute as it is (any type; variable-length strings included), when present. */
static int copy_attr(hid_t from, hid_t to, const char *name, struct ddm_error *err) {
    if (H5Aexists(from, name) <= 0) return DDM_OK;
    hid_t attr = H5Aopen(from, name, H5P_DEFAULT);
    int code = H5_CHECK(attr, name, err);
    if (code) return code;
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    hid_t mem = H5Tget_native_type(type, H5T_DIR_ASCEND);
    size_t bytes = H5Tget_size(mem) * (size_t)H5Sget_simple_extent_npoints(space);
    void *value = ddm_alloc(bytes, name, err);
    code = value ? H5_CHECK(H5Aread(attr, mem, value), name, err) : DDM_ERUNTIME;
    const int read = !code;
    if (!code && H5Aexists(to, name) > 0) H5Adelete(to, name);
    hid_t copy = code ? -1 : H5Acreate2(to, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (!code) code = H5_CHECK(copy, name, err);
    if (!code) code = H5_CHECK(H5Awrite(copy, mem, value), name, err);
    if (read && (H5Tis_variable_str(mem) > 0 || H5Tdetect_class(mem, H5T_VLEN) > 0))
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, value); /* the strings HDF5 allocated */
    if (copy >= 0) H5Aclose(copy);
    free(value);
    H5Tclose(mem);
    H5Tclose(type);
    H5Sclose(space);
    H5Aclose(attr);
    return code;
}

/* The root of OUT.h5: the first shard's description of the run, and what the merge adds. */
static int write_root(hid_t out, struct shard **order, int count, const char *command,
                      struct ddm_error *err) {
    static const char *const kept[] = {H5N_BACKEND,     H5N_DEVICE,      H5N_SEED,
                                       H5N_CONFIG,      H5N_CONFIG_FILE, H5N_MODEL_FILE,
                                       H5N_SWEEP_INDEX, H5N_SWEEP_COUNT, H5N_SWEEP_ASSIGNMENT};
    int code = DDM_OK;
    for (size_t i = 0; i < sizeof kept / sizeof kept[0] && !code; i++)
        code = copy_attr(order[0]->file, out, kept[i], err);
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
    size_t len = 1;
    for (int i = 0; i < count; i++) len += strlen(order[i]->source) + 1;
    char *sources = ddm_calloc(len, 1, "the list of shards", err);
    if (!sources) return DDM_ERUNTIME;
    for (int i = 0; i < count; i++) {
        strcat(sources, order[i]->source);
        if (i + 1 < count) strcat(sources, "\n");
    }
    if (!code) code = h5_attr_int(out, H5N_FORMAT_VERSION, DDM_FORMAT_VERSION, err);
    if (!code) code = h5_attr_string(out, H5N_DDM_VERSION, DDM_VERSION, err);
    if (!code) code = h5_attr_string(out, H5N_GIT_COMMIT, DDM_GIT_COMMIT, err);
    if (!code) code = h5_attr_string(out, H5N_CREATED, created, err);
    if (!code) code = h5_attr_string(out, H5N_COMMAND_LINE, command, err);
    if (!code) code = h5_attr_string(out, H5N_MERGED_FROM, sources, err);
    if (!code) code = h5_attr_int(out, H5N_SHARD_COUNT, count, err);
    if (!code) code = h5_attr_int(out, H5N_TRAJECTORIES_TOTAL, order[0]->total, err);
    free(sources);
    return code;
}

/* /simulate of OUT.h5: the virtual datasets and the attributes of the whole ensemble. */
/* The dimension scales of the merged /simulate: the traced rows of shard i are its first Bt_i
 * trajectories, global first_i + 0 .. Bt_i - 1. */
static int merged_scales(hid_t out, struct shard **order, int count, hsize_t traced,
                         struct ddm_error *err) {
    long long *rows = ddm_alloc(sizeof *rows * (traced ? traced : 1), "trace rows", err);
    if (!rows) return DDM_ERUNTIME;
    hsize_t row = 0;
    for (int i = 0; i < count; i++)
        for (hsize_t r = 0; r < order[i]->traces[0]; r++) rows[row++] = order[i]->first + (long)r;
    int code = h5schema_merged_scales(out, order[0]->total, rows, (long)traced, err);
    free(rows);
    return code;
}

static int write_simulate(hid_t out, struct shard **order, int count, struct ddm_error *err) {
    const struct shard *first = order[0];
    hid_t group = h5_group(out, H5N_SIMULATE, err);
    if (group < 0) return DDM_ERUNTIME;
    int code = DDM_OK;
    static const char *const kept[] = {
        H5N_DT,           H5N_STEPS,        H5N_RECORD_EVERY,   H5N_BURN_IN,
        H5N_ON_NONFINITE, H5N_BLOWUP_BOUND, H5N_TRACES_QUANTITY};
    hid_t source = H5Gopen2(first->file, H5N_SIMULATE, H5P_DEFAULT);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0] && !code; i++)
        if (H5Aexists(source, kept[i]) > 0) code = copy_attr(source, group, kept[i], err);
    if (!code)
        code = H5_CHECK(
            H5Ocopy(source, H5N_TRACE_NEURONS, group, H5N_TRACE_NEURONS, H5P_DEFAULT, H5P_DEFAULT),
            "copying /simulate/trace_neurons", err);
    H5Gclose(source);
    double nonfinite = 0, target_nonfinite = 0, seconds = 0;
    hsize_t traced = 0;
    int marks = 1;
    for (int i = 0; i < count; i++) {
        nonfinite += order[i]->nonfinite;
        marks &= order[i]->has_nonfinite_step;
        target_nonfinite += order[i]->target_nonfinite;
        seconds += order[i]->seconds;
        traced += order[i]->traces[0];
    }
    const hsize_t T = first->latent[1], k = first->latent[2];
    hsize_t latent[3] = {(hsize_t)first->total, T, k}, traces[3] = {traced, T, first->traces[2]};
    hsize_t times[1] = {T}, inputs[2] = {T, k};
    if (!code) code = h5_attr_int(group, H5N_NONFINITE, (long long)nonfinite, err);
    if (!code) code = h5_attr_int(group, H5N_TARGET_NONFINITE, (long long)target_nonfinite, err);
    if (!code) code = h5_attr_double(group, H5N_SECONDS, seconds, err);
    if (!code)
        code = virtual_rows(group, H5N_LATENT, H5T_IEEE_F32LE, 3, latent, order, count, 0,
                            "(B,T,k)", err);
    if (!code)
        code = virtual_rows(group, H5N_TARGET_LATENT, H5T_IEEE_F32LE, 3, latent, order, count, 0,
                            "(B,T,k)", err);
    if (!code)
        code = virtual_rows(group, H5N_TRACES, H5T_IEEE_F32LE, 3, traces, order, count, 1,
                            "(Bt,T,nt)", err);
    if (!code && marks)
        code = virtual_rows(group, H5N_NONFINITE_STEP, H5T_STD_I64LE, 1, latent, order, count, 0,
                            "(B) global step at which each network trajectory blew up, -1: never",
                            err);
    if (!code) code = virtual_whole(group, H5N_T, H5T_IEEE_F64LE, 1, times, first, "(T)", err);
    if (!code && first->has_input)
        code = virtual_whole(group, H5N_INPUT, H5T_IEEE_F32LE, 2, inputs, first, "(T,k)", err);
    H5Gclose(group);
    if (!code) code = merged_scales(out, order, count, traced, err);
    return code;
}

static herr_t add_dataset_bytes(hid_t group, const char *name, const H5L_info_t *info,
                                void *total) {
    (void)info;
    H5O_info_t object;
    if (H5Oget_info_by_name(group, name, &object, H5P_DEFAULT) < 0 ||
        object.type != H5O_TYPE_DATASET)
        return 0;
    hid_t dataset = H5Dopen2(group, name, H5P_DEFAULT);
    if (dataset >= 0) *(uint64_t *)total += H5Dget_storage_size(dataset);
    if (dataset >= 0) H5Dclose(dataset);
    return 0;
}

/* The bytes of the datasets of group `name` (0 when the file has none). */
static uint64_t group_bytes(hid_t file, const char *name) {
    uint64_t total = 0;
    if (H5Lexists(file, name, H5P_DEFAULT) > 0)
        H5Literate_by_name(file, name, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, add_dataset_bytes,
                           &total, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return total;
}

static int write_merged(const char *path, int overwrite, struct shard **order, int count,
                        const char *command, struct ddm_error *err) {
    hid_t out;
    int code = output_create(path, overwrite, MERGE_INSTEAD, 0, &out, err);
    if (code) return code;
    /* the merged file holds the copied groups and metadata (the virtual datasets) */
    static const char *const copied[] = {H5N_SYSTEM, H5N_MODEL, H5N_TRAIN};
    uint64_t bytes = 1u << 20;
    for (int i = 0; i < 3; i++) bytes += group_bytes(order[0]->file, copied[i]);
    code = h5space_reserve(out, bytes, "writing the merged file", err);
    if (!code) code = h5_attr_int(out, H5N_COMPLETE, 0, err);
    if (!code) code = write_root(out, order, count, command, err);
    for (int i = 0; i < 3 && !code; i++)
        if (H5Lexists(order[0]->file, copied[i], H5P_DEFAULT) > 0)
            code = H5_CHECK(
                H5Ocopy(order[0]->file, copied[i], out, copied[i], H5P_DEFAULT, H5P_DEFAULT),
                copied[i], err);
    if (!code) code = write_simulate(out, order, count, err);
    if (!code) code = h5_attr_int(out, H5N_COMPLETE, 1, err);
    int closed = H5_CHECK(h5space_close(out), "closing the merged file", code ? NULL : err);
    return code ? code : closed;
}

/* The directory of `path`, absolute (the path itself need not exist yet). */
static int absolute_dir(const char *path, char *out, struct ddm_error *err) {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    if (!realpath(dirname(copy), out))
        return ddm_fail(err, DDM_EUSAGE, "the directory of '%s' does not exist", path);
    return DDM_OK;
}

int merge_command(int argc, char **argv, struct ddm_error *err) {
    h5_quiet();
    const char *paths[MAX_SHARDS + 1];
    int npaths = 0, quiet = 0, overwrite = 0;
    char command[4096] = "";
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(command);
        snprintf(command + used, sizeof command - used, "%s%s", i ? " " : "ddm_gpu ", argv[i]);
        if (i == 0) continue;
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--overwrite")) {
            overwrite = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ddm_fail(err, DDM_EUSAGE,
                            "merge: unknown option '%s' (usage: ddm_gpu merge OUT.h5 SHARD.h5... "
                            "[--overwrite] [--quiet])",
                            argv[i]);
        } else if (npaths == MAX_SHARDS + 1) {
            return ddm_fail(err, DDM_EUSAGE, "merge: more than %d shards", MAX_SHARDS);
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (npaths < 2)
        return ddm_fail(err, DDM_EUSAGE,
                        "merge: usage: ddm_gpu merge OUT.h5 SHARD.h5... (the shards of one "
                        "ensemble, written with --shard i/N)");
    const char *out = paths[0];
    const int count = npaths - 1;
    struct shard *shards = ddm_calloc(count, sizeof *shards, "the shards", err), **order = NULL;
    if (!shards) return DDM_ERUNTIME;
    for (int i = 0; i < count; i++) shards[i].path = paths[i + 1], shards[i].file = -1;
    char out_dir[PATH_MAX], out_real[PATH_MAX], shard_real[PATH_MAX];
    int code = output_check(out, overwrite, MERGE_INSTEAD, err); /* before reading any shard */
    if (!code) code = absolute_dir(out, out_dir, err);
    if (code) ddm_error_prefix(err, "merge");
    const int out_exists = realpath(out, out_real) != NULL;
    for (int i = 0; i < count && !code; i++) {
        code = shard_open(&shards[i], err);
        if (!code && i) code = shard_agrees(&shards[i], &shards[0], err);
        if (!code && !realpath(shards[i].path, shard_real))
            code = ddm_fail(err, DDM_EUSAGE, "%s: cannot resolve its path", shards[i].path);
        if (!code && out_exists && !strcmp(out_real, shard_real))
            code = ddm_fail(err, DDM_EUSAGE, "merge: OUT.h5 '%s' is also given as a shard", out);
        if (!code) relative_path(out_dir, shard_real, shards[i].source, sizeof shards[i].source);
    }
    order = code ? NULL : ddm_calloc(shards[0].count, sizeof *order, "the shards", err);
    if (!code && !order) code = DDM_ERUNTIME;
    if (!code) code = shards_cover(shards, count, order, err);
    if (!code) code = write_merged(out, overwrite, order, count, command, err);
    if (!code && !quiet)
        printf("merged %d shards into %s: /simulate/latent (%ld,%llu,%llu), target_latent, "
               "traces, t as virtual datasets over %s … %s (nothing copied: keep the shards "
               "next to %s)\n",
               count, out, shards[0].total, (unsigned long long)shards[0].latent[1],
               (unsigned long long)shards[0].latent[2], order[0]->source, order[count - 1]->source,
               out);
    for (int i = 0; i < count; i++) shard_close(&shards[i]);
    free(shards);
    free(order);
    return code;
}

int merge_check_sources(const char *path, struct ddm_error *err) {
    h5_quiet();
    hid_t file = output_open(path, H5F_ACC_RDONLY);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        return DDM_OK; /* the model reader says what is wrong with it */
    }
    int code = DDM_OK;
    if (H5Aexists(file, H5N_MERGED_FROM) > 0) {
        const size_t len = 1 << 20;
        char *sources = ddm_alloc(len, "the list of shards", err), dir[PATH_MAX];
        code =
            sources ? h5_read_attr_string(file, H5N_MERGED_FROM, sources, len, err) : DDM_ERUNTIME;
        if (!code) code = absolute_dir(path, dir, err);
        /* every missing shard is named, so one look says what to bring back */
        char missing[1024] = "";
        int count = 0;
        for (char *name = code ? NULL : strtok(sources, "\n"); name; name = strtok(NULL, "\n")) {
            char full[2 * PATH_MAX + 2];
            snprintf(full, sizeof full, "%s/%s", dir, name);
            if (!access(full, R_OK)) continue;
            const size_t used = strlen(missing);
            snprintf(missing + used, sizeof missing - used, "%s'%s'", count ? ", " : "", name);
            count++;
        }
        if (count)
            code = ddm_fail(err, DDM_EUSAGE,
                            "%s is merged from shards, and %s %s not there (next to it, as the "
                            "virtual datasets look for %s): %s rows would read as NaN; keep the "
                            "shards with the merged file",
                            path, missing, count > 1 ? "are" : "is", count > 1 ? "them" : "it",
                            count > 1 ? "their" : "its");
        free(sources);
    }
    H5Fclose(file);
    return code;
}
