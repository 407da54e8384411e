/* recording.c — recorded latent trajectories ([system] data): loading, checking, splitting.
 *
 * Three formats (docs/from_data.md): HDF5, a dataset (B,T,k) or (T,k) of any real or integer
 * type, the sampling interval in its attribute `dt` and optionally a time vector `t` or `time`
 * beside it; NumPy .npy, (T,k) or (B,T,k) little-endian float32/float64 in C order; CSV, one
 * column per variable, an optional header row naming them as [system] vars (and optionally a
 * first column t or time), trajectories separated by rows of NaN. Whatever is wrong with the data
 * is answered with one line naming the file, what is wrong and what would be valid (DDM_EUSAGE).
 */
#include "ddm/recording.h"

#include <ctype.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddm/h5io.h"
#include "ddm/system.h"

void recording_free(struct recording *r) {
    free(r->offset);
    free(r->z);
    memset(r, 0, sizeof *r);
}

/* One load: the file, the coordinate names and where the key was given, for messages. */
struct source {
    const struct ddm_config *cfg;
    const char *path;
    char at[1300]; /* "ou.ini:4: [system] data 'x.h5'" */
    int k;
    char names[DDM_MAX_K][32];
    double file_dt; /* the interval the file states (attribute dt, time vector); NAN: none */
    int has_time;   /* the file has a time vector */
};

static int parse_names(struct source *src, struct ddm_error *err) {
    char text[1024];
    snprintf(text, sizeof text, "%s", src->cfg->vars);
    src->k = 0;
    for (char *part = strtok(text, ","); part; part = strtok(NULL, ",")) {
        while (isspace((unsigned char)*part)) part++;
        size_t len = strlen(part);
        while (len && isspace((unsigned char)part[len - 1])) part[--len] = 0;
        if (!len) continue;
        if (src->k == DDM_MAX_K)
            return ddm_fail(err, DDM_EUSAGE, "%s: [system] vars names more than %d coordinates",
                            src->at, DDM_MAX_K);
        snprintf(src->names[src->k++], sizeof src->names[0], "%s", part);
    }
    if (!src->k)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: data needs [system] vars, the names of the recorded coordinates "
                        "(one per column, e.g. 'x, y')",
                        src->at);
    return DDM_OK;
}

/* FNV-1a 64 over the bytes of the samples. */
static uint64_t samples_hash(const double *z, size_t count) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)z;
    for (size_t i = 0; i < count * sizeof(double); i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* B trajectories of T samples each, from (B,T,k) values (taken over by the recording). */
static int set_uniform(struct recording *out, int B, long T, int k, double *values,
                       struct ddm_error *err) {
    out->offset = ddm_alloc(sizeof(long) * (B + 1), "data offsets", err);
    if (!out->offset) {
        free(values);
        return DDM_ERUNTIME;
    }
    out->k = k, out->trajectories = B, out->z = values;
    for (int b = 0; b <= B; b++) out->offset[b] = (long)b * T;
    return DDM_OK;
}

/* The checks every format shares: finite values (which trajectory and sample), enough samples,
 * the sampling interval (data_dt against the file's), then the hash. */
/* The fit / held-out split of data_holdout must leave, on each side, a trajectory with the
 * data_drift stencil's p samples after a point: checked here, before any output is written. */
static int check_split(const struct source *src, const struct recording *all,
                       struct ddm_error *err) {
    struct recording part[2];
    int code = recording_split(all, src->cfg->data_holdout, &part[0], &part[1], err);
    const long ahead = src->cfg->data_drift + 1;
    for (int side = 0; side < 2 && !code; side++) {
        long longest = 0;
        for (int b = 0; b < part[side].trajectories; b++)
            if (recording_length(&part[side], b) > longest)
                longest = recording_length(&part[side], b);
        if (longest <= ahead)
            code = ddm_fail(err, DDM_EUSAGE,
                            "the %s part (data_holdout = %g) has no trajectory of more than %ld "
                            "samples, as data_drift needs; use longer trajectories, first_order, "
                            "or another data_holdout",
                            side ? "held-out" : "fit", src->cfg->data_holdout, ahead);
    }
    recording_free(&part[0]);
    recording_free(&part[1]);
    if (code) ddm_error_prefix(err, "%s", src->at);
    return code;
}

static int check_loaded(struct source *src, struct recording *out, struct ddm_error *err) {
    const int k = out->k;
    long bad = 0, first = -1;
    for (long q = 0; q < recording_samples(out) * k; q++)
        if (!isfinite(out->z[q]) && bad++ == 0) first = q / k;
    if (bad) {
        int b = 0;
        while (out->offset[b + 1] <= first) b++;
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: %ld values are NaN or Inf, the first in trajectory %d at sample %ld "
                        "(counting from 0); every value must be finite (in .csv, a row of NaN "
                        "only separates trajectories)",
                        src->at, bad, b, first - out->offset[b]);
    }
    for (int b = 0; b < out->trajectories; b++)
        if (recording_length(out, b) < 2)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: trajectory %d has %ld sample; each needs at least 2 (an "
                            "increment)",
                            src->at, b, recording_length(out, b));
    if (recording_samples(out) < RECORDING_MIN_SAMPLES)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: %ld samples in all; the drift and diffusion estimates need at least "
                        "%d (better thousands)",
                        src->at, recording_samples(out), RECORDING_MIN_SAMPLES);
    const double given = src->cfg->data_dt;
    if (given != DDM_AUTO && isfinite(src->file_dt) &&
        fabs(given - src->file_dt) > 1e-6 * fabs(src->file_dt))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: [system] data_dt = %.10g disagrees with the file's sampling interval "
                        "%.10g (%s); leave data_dt out (auto) or make them agree",
                        src->at, given, src->file_dt,
                        src->has_time ? "from its time vector" : "its attribute dt");
    out->dt = given != DDM_AUTO ? given : src->file_dt;
    if (!(out->dt > 0))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: no sampling interval: set [system] data_dt, or give the dataset an "
                        "attribute dt (or a time vector)",
                        src->at);
    out->hash = samples_hash(out->z, (size_t)recording_samples(out) * k);
    return check_split(src, out, err);
}

/* A time vector t (count samples) must be uniform; its step becomes the file's interval. */
static int check_times(struct source *src, const double *t, long count, const char *what,
                       struct ddm_error *err) {
    if (count < 2) return DDM_OK;
    const double step = (t[count - 1] - t[0]) / (count - 1);
    for (long i = 1; i < count; i++) {
        double gap = t[i] - t[i - 1];
        if (!(fabs(gap - step) <= 1e-6 * fabs(step)) || !(step > 0))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: the times of %s are not uniform: t[%ld] − t[%ld] = %.10g, the "
                            "mean step is %.10g; resample the data on a uniform grid",
                            src->at, what, i, i - 1, gap, step);
    }
    if (isfinite(src->file_dt) && fabs(step - src->file_dt) > 1e-6 * src->file_dt)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: the time step of %s (%.10g) disagrees with the sampling interval "
                        "%.10g stated elsewhere in the file",
                        src->at, what, step, src->file_dt);
    src->file_dt = step;
    src->has_time = 1;
    return DDM_OK;
}

/* ---------------------------------------------------------------- HDF5 */

/* The datasets of a file other than time vectors, for the default data_dataset. */
struct dataset_list {
    int count;
    char first[256], names[512];
};

static int is_time_name(const char *name) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return !strcmp(base, "t") || !strcmp(base, "time");
}

static herr_t list_dataset(hid_t root, const char *name, const H5O_info_t *info, void *data) {
    (void)root;
    struct dataset_list *list = data;
    if (info->type != H5O_TYPE_DATASET || is_time_name(name)) return 0;
    if (list->count++ == 0) snprintf(list->first, sizeof list->first, "/%s", name);
    size_t used = strlen(list->names);
    if (used < sizeof list->names - 1)
        snprintf(list->names + used, sizeof list->names - used, "%s/%s", used ? ", " : "", name);
    return 0;
}

/* Whether each link of `path` exists (H5Lexists alone fails on a missing intermediate group). */
static int path_exists(hid_t file, const char *path) {
    char partial[512];
    const char *p = path;
    while (*p == '/') p++;
    if (!*p) return 0;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (len >= sizeof partial) return 0;
        memcpy(partial, path, len);
        partial[len] = 0;
        if (H5Lexists(file, partial, H5P_DEFAULT) <= 0) return 0;
        if (!slash) break;
        p = slash + 1;
    }
    hid_t object = H5Oopen(file, path, H5P_DEFAULT);
    if (object < 0) return 0;
    H5O_info_t info;
    int is_dataset = H5Oget_info(object, &info) >= 0 && info.type == H5O_TYPE_DATASET;
    H5Oclose(object);
    return is_dataset;
}

static int choose_dataset(struct source *src, hid_t file, char *name, size_t len,
                          struct ddm_error *err) {
    if (src->cfg->data_dataset[0]) {
        snprintf(name, len, "%s", src->cfg->data_dataset);
        if (!path_exists(file, name))
            return ddm_fail(err, DDM_EUSAGE, "%s: no dataset '%s' in the file", src->at, name);
        return DDM_OK;
    }
    struct dataset_list list = {0};
    H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, list_dataset, &list);
    if (list.count == 1) {
        snprintf(name, len, "%s", list.first);
        return DDM_OK;
    }
    if (!list.count)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: the file holds no dataset (besides a time vector); write the "
                        "trajectories as a dataset (B,T,k) or (T,k)",
                        src->at);
    return ddm_fail(err, DDM_EUSAGE,
                    "%s: the file holds %d datasets (%s); name one with [system] data_dataset",
                    src->at, list.count, list.names);
}

/* The user's data file, not a run file: its sampling interval is an attribute named dt. */
static const char DATA_DT_ATTRIBUTE[] = "dt";

/* The attribute dt of the dataset (or else of the file's root), and a time vector t or time in
 * the dataset's group, read into src. */
static int hdf5_times(struct source *src, hid_t file, hid_t dataset, const char *name, long T,
                      struct ddm_error *err) {
    src->file_dt = NAN;
    hid_t holders[2] = {dataset, file};
    for (int i = 0; i < 2 && !isfinite(src->file_dt); i++)
        if (H5Aexists(holders[i], DATA_DT_ATTRIBUTE) > 0) {
            double dt;
            if (h5_read_attr_double(holders[i], DATA_DT_ATTRIBUTE, &dt, err) == DDM_OK && dt > 0)
                src->file_dt = dt;
            else
                return ddm_fail(err, DDM_EUSAGE,
                                "%s: the attribute dt of '%s' is not a positive number", src->at,
                                i ? "/" : name);
        }
    char group[256], path[300];
    snprintf(group, sizeof group, "%s", name);
    char *slash = strrchr(group, '/');
    if (slash) *slash = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", group, i ? "time" : "t");
        if (!path_exists(file, path)) continue;
        hid_t set = H5Dopen2(file, path, H5P_DEFAULT);
        hid_t space = H5Dget_space(set);
        hsize_t dims[4] = {0};
        int rank = H5Sget_simple_extent_dims(space, dims, NULL);
        H5Sclose(space);
        double *t = rank == 1 && (long)dims[0] == T ? malloc(sizeof(double) * T) : NULL;
        int code = t ? H5_CHECK(H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t),
                                path, err)
                     : ddm_fail(err, DDM_EUSAGE,
                                "%s: the time vector '%s' must be one-dimensional with T = %ld "
                                "entries, the samples of each trajectory",
                                src->at, path, T);
        if (!code) code = check_times(src, t, T, path, err);
        free(t);
        H5Dclose(set);
        return code;
    }
    return DDM_OK;
}

/* Reads the dataset (B,T,k) or (T,k) as doubles. */
static int hdf5_values(struct source *src, hid_t file, const char *name, struct recording *out,
                       struct ddm_error *err) {
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set < 0) return ddm_fail(err, DDM_EUSAGE, "%s: cannot open dataset '%s'", src->at, name);
    hid_t space = H5Dget_space(set), type = H5Dget_type(set);
    hsize_t dims[H5S_MAX_RANK] = {0};
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank >= 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space, dims, NULL);
    H5T_class_t type_class = H5Tget_class(type);
    H5Tclose(type);
    H5Sclose(space);
    int code = DDM_OK;
    if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
        code = ddm_fail(err, DDM_EUSAGE, "%s: dataset '%s' does not hold numbers", src->at, name);
    else if ((rank != 2 && rank != 3) || (long)dims[rank - 1] != src->k)
        code = ddm_fail(err, DDM_EUSAGE,
                        "%s: dataset '%s' has rank %d with last axis %llu; expected (T, %d) or "
                        "(B, T, %d), k = %d coordinates as [system] vars names",
                        src->at, name, rank, rank > 0 ? (unsigned long long)dims[rank - 1] : 0ull,
                        src->k, src->k, src->k);
    const long B = rank == 3 ? (long)dims[0] : 1, T = rank >= 2 ? (long)dims[rank - 2] : 0;
    if (!code && (B > 1 << 30 || T * B * src->k > (1l << 34)))
        code = ddm_fail(err, DDM_EUSAGE, "%s: dataset '%s' is too large", src->at, name);
    double *values = NULL;
    if (!code && !(values = ddm_alloc(sizeof(double) * (B * T * src->k + 1), "data", err)))
        code = DDM_ERUNTIME;
    if (!code)
        code = H5_CHECK(H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values),
                        name, err);
    if (!code) code = hdf5_times(src, file, set, name, T, err);
    H5Dclose(set);
    if (code) {
        free(values);
        return code;
    }
    return set_uniform(out, (int)B, T, src->k, values, err);
}

static int load_hdf5(struct source *src, struct recording *out, struct ddm_error *err) {
    h5_quiet();
    if (H5Fis_hdf5(src->path) <= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: not an HDF5 file (for .npy or .csv, name the file so)", src->at);
    hid_t file = H5Fopen(src->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return ddm_fail(err, DDM_EUSAGE, "%s: cannot open the HDF5 file", src->at);
    char name[256];
    int code = choose_dataset(src, file, name, sizeof name, err);
    if (!code) code = hdf5_values(src, file, name, out, err);
    if (!code) snprintf(out->dataset, sizeof out->dataset, "%s", name);
    H5Fclose(file);
    return code;
}

/* ---------------------------------------------------------------- .npy */

/* The value text after 'key': in the header dict of a .npy file; NULL when absent. */
static const char *npy_field(const char *header, const char *key) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *at = strstr(header, quoted);
    if (!at) return NULL;
    at = strchr(at + strlen(quoted), ':');
    if (!at) return NULL;
    at++;
    while (isspace((unsigned char)*at)) at++;
    return at;
}

/* Parses the header dict: descr '<f4' or '<f8', fortran_order False, shape of rank 2 or 3. */
static int npy_header(struct source *src, const char *header, int *item, long *dims, int *rank,
                      struct ddm_error *err) {
    const char *descr = npy_field(header, "descr"), *order = npy_field(header, "fortran_order");
    const char *shape = npy_field(header, "shape");
    if (!descr || !order || !shape || *shape != '(')
        return ddm_fail(err, DDM_EUSAGE, "%s: the .npy header lacks descr, fortran_order or shape",
                        src->at);
    *item = !strncmp(descr, "'<f8'", 5) ? 8 : !strncmp(descr, "'<f4'", 5) ? 4 : 0;
    if (!*item) {
        char found[16];
        snprintf(found, sizeof found, "%.*s", (int)strcspn(descr, ","), descr);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: the array's dtype is %s; valid: little-endian float32 or float64 "
                        "('<f4', '<f8'), e.g. np.save(path, z.astype(np.float64))",
                        src->at, found);
    }
    if (strncmp(order, "False", 5))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: the array is in Fortran order; save it in C order "
                        "(np.save(path, np.ascontiguousarray(z)))",
                        src->at);
    *rank = 0;
    for (const char *p = shape + 1; *p && *p != ')';) {
        char *end;
        long value = strtol(p, &end, 10);
        if (end == p) break;
        if (*rank < 8) dims[*rank] = value;
        (*rank)++;
        p = end;
        while (*p == ',' || isspace((unsigned char)*p)) p++;
    }
    if ((*rank != 2 && *rank != 3) || dims[*rank - 1] != src->k)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: the array has rank %d with last axis %ld; expected (T, %d) or (B, T, "
                        "%d), k = %d coordinates as [system] vars names",
                        src->at, *rank, *rank > 0 && *rank <= 8 ? dims[*rank - 1] : 0, src->k,
                        src->k, src->k);
    return DDM_OK;
}

/* Reads the header of an open .npy file; leaves the file at the data. */
static int npy_open(struct source *src, FILE *file, int *item, long *dims, int *rank,
                    struct ddm_error *err) {
    unsigned char magic[12];
    if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6))
        return ddm_fail(err, DDM_EUSAGE, "%s: not a .npy file (no \\x93NUMPY magic)", src->at);
    unsigned long length = magic[8] | (unsigned long)magic[9] << 8;
    if (magic[6] >= 2) {
        if (fread(magic + 10, 1, 2, file) != 2)
            return ddm_fail(err, DDM_EUSAGE, "%s: truncated .npy header", src->at);
        length |= (unsigned long)magic[10] << 16 | (unsigned long)magic[11] << 24;
    }
    if (length > 1 << 20) return ddm_fail(err, DDM_EUSAGE, "%s: .npy header too long", src->at);
    char *header = calloc(length + 1, 1);
    if (!header) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    int code = fread(header, 1, length, file) == length
                   ? npy_header(src, header, item, dims, rank, err)
                   : ddm_fail(err, DDM_EUSAGE, "%s: truncated .npy header", src->at);
    free(header);
    return code;
}

static int load_npy(struct source *src, struct recording *out, struct ddm_error *err) {
    FILE *file = fopen(src->path, "rb");
    if (!file) return ddm_fail(err, DDM_EUSAGE, "%s: %s", src->at, strerror(errno));
    int item = 0, rank = 0;
    long dims[8] = {0};
    int code = npy_open(src, file, &item, dims, &rank, err);
    const long B = rank == 3 ? dims[0] : 1, T = rank >= 2 ? dims[rank - 2] : 0;
    const long count = B * T * src->k;
    if (!code && (B < 1 || T < 1 || B > 1 << 30 || count > (1l << 34)))
        code = ddm_fail(err, DDM_EUSAGE, "%s: the array's shape is empty or too large", src->at);
    double *values = code ? NULL : ddm_alloc(sizeof(double) * (count + 1), "data", err);
    if (!code && !values) code = DDM_ERUNTIME;
    unsigned char raw[8];
    for (long i = 0; !code && i < count; i++) {
        if (fread(raw, 1, item, file) != (size_t)item) {
            code = ddm_fail(err, DDM_EUSAGE,
                            "%s: the file ends after %ld of the %ld values its header promises",
                            src->at, i, count);
            break;
        }
        uint64_t bits = 0;
        for (int j = item - 1; j >= 0; j--) bits = bits << 8 | raw[j];
        if (item == 8) {
            memcpy(&values[i], &bits, 8);
        } else {
            uint32_t bits32 = (uint32_t)bits;
            float single;
            memcpy(&single, &bits32, 4);
            values[i] = single;
        }
    }
    fclose(file);
    src->file_dt = NAN;
    if (code) {
        free(values);
        return code;
    }
    return set_uniform(out, (int)B, T, src->k, values, err);
}

/* ---------------------------------------------------------------- .csv */

/* A CSV being read: the growing samples, trajectory offsets and the current trajectory's times. */
struct csv_state {
    struct source *src;
    int columns, time_column; /* time_column: 1 when the first column is t or time */
    double *values, *times;
    long count, capacity, times_count; /* samples */
    long *offset;
    int trajectories, offset_capacity;
};

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = 0;
    return s;
}

/* Splits a line at commas into at most `max` trimmed fields; returns their number. */
static int split_fields(char *line, char **fields, int max) {
    int count = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (count < max) fields[count] = trim(p);
        count++;
        if (!comma) return count;
        p = comma + 1;
    }
}

/* A header row names t/time (optional) then [system] vars in order. */
static int csv_header(struct csv_state *st, char **fields, int count, long line,
                      struct ddm_error *err) {
    struct source *src = st->src;
    st->time_column = count == src->k + 1 && is_time_name(fields[0]);
    int same = count == src->k + st->time_column;
    for (int c = 0; same && c < src->k; c++)
        same = !strcmp(fields[c + st->time_column], src->names[c]);
    if (!same) {
        char vars[600] = "";
        for (int c = 0; c < src->k; c++)
            snprintf(vars + strlen(vars), sizeof vars - strlen(vars), "%s%s", c ? "," : "",
                     src->names[c]);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s:%ld: the header row does not match [system] vars; expected '%s' (or "
                        "'t,%s' with a time column), or no header",
                        src->path, line, vars, vars);
    }
    st->columns = count;
    return DDM_OK;
}

/* Ends the current trajectory (if it has samples): its times must be uniform. */
static int csv_close(struct csv_state *st, struct ddm_error *err) {
    long start = st->trajectories ? st->offset[st->trajectories] : 0;
    if (st->count == start) return DDM_OK;
    if (st->time_column) {
        char what[64];
        snprintf(what, sizeof what, "trajectory %d", st->trajectories);
        int code = check_times(st->src, st->times, st->times_count, what, err);
        if (code) return code;
    }
    if (st->trajectories + 2 > st->offset_capacity) {
        st->offset_capacity = 2 * st->offset_capacity + 8;
        long *grown = realloc(st->offset, sizeof(long) * st->offset_capacity);
        if (!grown) return ddm_fail(err, DDM_ERUNTIME, "out of memory reading the data");
        st->offset = grown;
    }
    st->offset[0] = 0;
    st->offset[++st->trajectories] = st->count;
    st->times_count = 0;
    return DDM_OK;
}

/* One data row: a sample, or a separator (NaN in every variable column). */
static int csv_row(struct csv_state *st, char **fields, long line, struct ddm_error *err) {
    const int k = st->src->k;
    double row[DDM_MAX_K + 1];
    int nan_count = 0;
    for (int c = 0; c < st->columns; c++) {
        char *end;
        row[c] = fields[c][0] ? strtod(fields[c], &end) : NAN;
        if (fields[c][0] && *end)
            return ddm_fail(err, DDM_EUSAGE, "%s:%ld: column %d, '%s', is not a number",
                            st->src->path, line, c + 1, fields[c]);
        if (c >= st->time_column && isnan(row[c])) nan_count++;
    }
    if (nan_count == k) return csv_close(st, err);
    if (nan_count)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s:%ld: NaN in %d of the %d variable columns; a row of NaN in every "
                        "column separates trajectories, any other NaN is invalid",
                        st->src->path, line, nan_count, k);
    if (st->count + 1 > st->capacity) {
        st->capacity = 2 * st->capacity + 1024;
        double *grown = realloc(st->values, sizeof(double) * st->capacity * k);
        double *times = realloc(st->times, sizeof(double) * st->capacity);
        if (grown) st->values = grown;
        if (times) st->times = times;
        if (!grown || !times) return ddm_fail(err, DDM_ERUNTIME, "out of memory reading the data");
    }
    memcpy(st->values + st->count * k, row + st->time_column, sizeof(double) * k);
    if (st->time_column) st->times[st->times_count++] = row[0];
    st->count++;
    return DDM_OK;
}

/* Parses every line of the file's text. */
static int csv_parse(struct csv_state *st, char *text, struct ddm_error *err) {
    const int k = st->src->k;
    long line = 0;
    int code = DDM_OK, first = 1;
    char *fields[DDM_MAX_K + 2];
    for (char *next = text; !code && next;) {
        char *row = next;
        next = strchr(row, '\n');
        if (next) *next++ = 0;
        line++;
        row = trim(row);
        if (!row[0] || row[0] == '#') continue;
        int count = split_fields(row, fields, DDM_MAX_K + 2);
        if (first) {
            first = 0;
            char *end;
            strtod(fields[0], &end);
            if (fields[0][0] && *end && strcasecmp(fields[0], "nan")) {
                code = csv_header(st, fields, count, line, err);
                continue;
            }
            st->columns = k;
        }
        if (count != st->columns)
            code = ddm_fail(err, DDM_EUSAGE,
                            "%s:%ld: %d columns; expected %d (%s[system] vars), separated by ','",
                            st->src->path, line, count, st->columns,
                            st->time_column ? "a time column and " : "");
        else
            code = csv_row(st, fields, line, err);
    }
    if (!code) code = csv_close(st, err);
    return code;
}

static int load_csv(struct source *src, struct recording *out, struct ddm_error *err) {
    FILE *file = fopen(src->path, "rb");
    if (!file) return ddm_fail(err, DDM_EUSAGE, "%s: %s", src->at, strerror(errno));
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)size, file) : 0;
    fclose(file);
    if (!text) return ddm_fail(err, DDM_ERUNTIME, "out of memory reading %s", src->path);
    text[got] = 0;
    if (strlen(text) != got) {
        free(text);
        return ddm_fail(err, DDM_EUSAGE, "%s: the file holds a NUL byte; not a text .csv", src->at);
    }
    struct csv_state st = {.src = src};
    src->file_dt = NAN;
    int code = csv_parse(&st, text, err);
    free(text);
    free(st.times);
    if (!code && !st.trajectories)
        code = ddm_fail(err, DDM_EUSAGE, "%s: no samples in the file", src->at);
    if (code) {
        free(st.values);
        free(st.offset);
        return code;
    }
    out->k = src->k, out->trajectories = st.trajectories;
    out->z = st.values, out->offset = st.offset;
    return DDM_OK;
}

/* ---------------------------------------------------------------- load and split */

static int has_suffix(const char *path, const char *suffix) {
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && !strcasecmp(path + n - m, suffix);
}

int recording_load(const struct ddm_config *cfg, struct recording *out, struct ddm_error *err) {
    memset(out, 0, sizeof *out);
    struct source src = {.cfg = cfg, .path = cfg->data_path, .file_dt = NAN};
    char where[1200];
    config_where(cfg, "system", "data", where, sizeof where);
    snprintf(src.at, sizeof src.at, "%s '%s'", where, src.path);
    int code = parse_names(&src, err);
    if (code) return code;
    struct stat info;
    if (stat(src.path, &info) != 0)
        return ddm_fail(err, DDM_EUSAGE, "%s: %s (paths are relative to the current directory)",
                        src.at, strerror(errno));
    if (!S_ISREG(info.st_mode)) return ddm_fail(err, DDM_EUSAGE, "%s: not a regular file", src.at);
    const int hdf5 = has_suffix(src.path, ".h5") || has_suffix(src.path, ".hdf5");
    if (cfg->data_dataset[0] && !hdf5)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: [system] data_dataset is for HDF5 files only (.h5, .hdf5)", src.at);
    if (hdf5)
        code = load_hdf5(&src, out, err);
    else if (has_suffix(src.path, ".npy"))
        code = load_npy(&src, out, err);
    else if (has_suffix(src.path, ".csv"))
        code = load_csv(&src, out, err);
    else
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: unknown file type; valid: .h5 or .hdf5 (HDF5), .npy (NumPy), .csv",
                        src.at);
    if (!code) code = check_loaded(&src, out, err);
    if (code) {
        recording_free(out);
        return code;
    }
    snprintf(out->path, sizeof out->path, "%s", src.path);
    out->file_bytes = (long long)info.st_size;
    return DDM_OK;
}

/* Copies trajectories [b0, b1) into part, samples [s0, s1) of each (s1 < 0: to its end). */
static int copy_part(const struct recording *all, int b0, int b1, const int *take, long s0, long s1,
                     struct recording *part, struct ddm_error *err) {
    int count = 0;
    long samples = 0;
    for (int b = b0; b < b1; b++)
        if (!take || take[b]) {
            count++;
            samples += (s1 < 0 ? recording_length(all, b) : s1) - s0;
        }
    *part = *all;
    part->trajectories = count;
    part->offset = ddm_alloc(sizeof(long) * (count + 1), "data split", err);
    part->z = ddm_alloc(sizeof(double) * (samples * all->k + 1), "data split", err);
    if (!part->offset || !part->z) {
        recording_free(part);
        return DDM_ERUNTIME;
    }
    part->offset[0] = 0;
    int into = 0;
    for (int b = b0; b < b1; b++)
        if (!take || take[b]) {
            long length = (s1 < 0 ? recording_length(all, b) : s1) - s0;
            memcpy(part->z + part->offset[into] * all->k, all->z + (all->offset[b] + s0) * all->k,
                   sizeof(double) * length * all->k);
            part->offset[into + 1] = part->offset[into] + length;
            into++;
        }
    return DDM_OK;
}

int recording_split(const struct recording *all, double holdout, struct recording *fit,
                    struct recording *held_out, struct ddm_error *err) {
    memset(fit, 0, sizeof *fit);
    memset(held_out, 0, sizeof *held_out);
    const int B = all->trajectories;
    if (B == 1) { /* the last contiguous block */
        const long T = recording_length(all, 0), cut = T - (long)llround(holdout * T);
        if (cut < 2 || T - cut < 2)
            return ddm_fail(err, DDM_EUSAGE,
                            "data_holdout = %g leaves fewer than 2 samples on one side of the "
                            "split of one trajectory of %ld samples",
                            holdout, T);
        int code = copy_part(all, 0, 1, NULL, 0, cut, fit, err);
        if (!code) code = copy_part(all, 0, 1, NULL, cut, T, held_out, err);
        return code;
    }
    /* trajectory b is held out when ⌊(b+1)h⌋ > ⌊bh⌋: about hB of them, evenly spread; at least
     * one on each side */
    int *take = ddm_calloc((size_t)B, sizeof(int), "data split", err);
    if (!take) return DDM_ERUNTIME;
    int held = 0;
    for (int b = 0; b < B; b++) held += take[b] = floor((b + 1) * holdout) > floor(b * holdout);
    if (!held) take[B - 1] = 1, held = 1;
    if (held == B) take[0] = 0;
    int code = copy_part(all, 0, B, take, 0, -1, held_out, err);
    for (int b = 0; b < B; b++) take[b] = !take[b];
    if (!code) code = copy_part(all, 0, B, take, 0, -1, fit, err);
    free(take);
    if (code) {
        recording_free(fit);
        recording_free(held_out);
    }
    return code;
}
