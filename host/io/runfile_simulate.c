/* runfile_simulate.c — reading /simulate back: its shape, its times, and its latent paths in slabs
 * of whole chunks (the analysis streams them; a dropped trajectory reads as NaN). The writer of
 * /simulate is host/io/runfile.c; the names are those of include/ddm/h5schema.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/runfile.h"

int runfile_simulate_shape(hid_t file, int *present, int *B, long *T, int *k,
                           struct ddm_error *err) {
    *present = 0;
    if (H5Lexists(file, H5N_SIMULATE, H5P_DEFAULT) <= 0 ||
        H5Lexists(file, H5N_SIMULATE "/" H5N_LATENT, H5P_DEFAULT) <= 0 ||
        H5Lexists(file, H5N_SIMULATE "/" H5N_TARGET_LATENT, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return DDM_OK;
    }
    hid_t dataset = H5Dopen2(file, H5N_SIMULATE "/" H5N_LATENT, H5P_DEFAULT);
    int code = H5_CHECK(dataset, "/" H5N_SIMULATE "/" H5N_LATENT, err);
    if (code) return code;
    hid_t space = H5Dget_space(dataset);
    hsize_t dims[3] = {0};
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    H5Dclose(dataset);
    if (rank != 3)
        return ddm_fail(err, DDM_ERUNTIME, "/simulate/latent has rank %d, expected (B,T,k)", rank);
    *present = dims[1] > 0;
    *B = (int)dims[0];
    *T = (long)dims[1];
    *k = (int)dims[2];
    return DDM_OK;
}

/* The trajectories the run dropped (on_nonfinite = drop): a flag per row (B), or NULL when it
 * dropped none (or kept their finite part). A merged file's /simulate/nonfinite_step is virtual
 * over the shards' and reads the same. */
static char *dropped_rows(hid_t file, hsize_t B, struct ddm_error *err, int *code) {
    char policy[16] = "";
    hid_t group = H5Gopen2(file, H5N_SIMULATE, H5P_DEFAULT);
    if (group < 0 || H5Aexists(group, H5N_ON_NONFINITE) <= 0 ||
        H5Lexists(group, H5N_NONFINITE_STEP, H5P_DEFAULT) <= 0 ||
        h5_read_attr_string(group, H5N_ON_NONFINITE, policy, sizeof policy, err) ||
        strcmp(policy, "drop")) {
        if (group >= 0) H5Gclose(group);
        H5Eclear2(H5E_DEFAULT);
        return NULL;
    }
    int64_t *steps = ddm_alloc(sizeof(int64_t) * (B + 1), "blow-up marks", err);
    char *dropped = ddm_calloc(B + 1, 1, "blow-up flags", err);
    *code = steps && dropped
                ? h5_read(group, H5N_NONFINITE_STEP, H5T_NATIVE_INT64, 1, &B, steps, err)
                : DDM_ERUNTIME;
    long count = 0;
    for (hsize_t t = 0; !*code && t < B; t++) count += dropped[t] = steps[t] >= 0;
    H5Gclose(group);
    free(steps);
    if (*code || !count) {
        free(dropped);
        return NULL;
    }
    return dropped;
}

int runfile_simulate_scan(hid_t file, const char *dataset, long first, runfile_slab_fn fn,
                          void *user, struct ddm_error *err) {
    char path[64];
    snprintf(path, sizeof path, H5N_SIMULATE "/%s", dataset);
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    int code = H5_CHECK(ds, path, err);
    if (code) return code;
    hid_t space = H5Dget_space(ds);
    hsize_t dims[3] = {0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    const hsize_t B = dims[0], T = dims[1], k = dims[2];
    /* about 4 MB per slab, in whole chunks of 256 times */
    hsize_t per_slab = ((1u << 20) / (B * k) / 256) * 256;
    if (per_slab < 256) per_slab = 256;
    float *buffer = ddm_alloc(sizeof(float) * B * per_slab * k, "slab of /simulate", err);
    if (!buffer) code = DDM_ERUNTIME;
    char *dropped = code ? NULL : dropped_rows(file, B, err, &code);
    for (hsize_t t = (hsize_t)first; !code && t < T; t += per_slab) {
        hsize_t count = T - t < per_slab ? T - t : per_slab;
        hsize_t start[3] = {0, t, 0}, block[3] = {B, count, k};
        hid_t memory = H5Screate_simple(3, block, NULL);
        code = H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, block, NULL),
                        "selecting a slab of /simulate", err);
        if (!code)
            code = H5_CHECK(H5Dread(ds, H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT, buffer), path,
                            err);
        H5Sclose(memory);
        /* a dropped trajectory is left out whole, network and coupled target alike */
        for (hsize_t row = 0; !code && dropped && row < B; row++)
            for (hsize_t v = 0; dropped[row] && v < count * k; v++)
                buffer[row * count * k + v] = NAN;
        if (!code) fn(user, buffer, (int)count, (long)(t - first));
    }
    free(dropped);
    free(buffer);
    H5Sclose(space);
    H5Dclose(ds);
    return code;
}

int runfile_simulate_times(hid_t file, double **t, long *T, struct ddm_error *err) {
    hid_t ds = H5Dopen2(file, H5N_SIMULATE "/" H5N_T, H5P_DEFAULT);
    int code = H5_CHECK(ds, H5N_SIMULATE "/" H5N_T, err);
    if (code) return code;
    hid_t space = H5Dget_space(ds);
    hsize_t count = 0;
    H5Sget_simple_extent_dims(space, &count, NULL);
    *T = (long)count;
    *t = ddm_alloc(sizeof(double) * (count ? count : 1), "recorded times", err);
    code = *t ? H5_CHECK(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *t),
                         H5N_SIMULATE "/" H5N_T, err)
              : DDM_ERUNTIME;
    H5Sclose(space);
    H5Dclose(ds);
    return code;
}
