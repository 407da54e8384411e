/* data_output.c — what a run learnt from data writes into its file: the data's source under
 * /system and the fit's data figures under /train, as attributes (docs/from_data.md). */
#include <hdf5.h>
#include <stdio.h>

#include "ddm/h5io.h"
#include "ddm/h5space.h"
#include "ddm/recording.h"
#include "ddm/runfile.h"
#include "ddm/train.h"

/* A one-dimensional attribute of `count` doubles. */
static int attr_doubles(hid_t obj, const char *name, const double *values, int count,
                        struct ddm_error *err) {
    int code = h5space_reserve(obj, sizeof(double) * count + 256, name, err);
    if (code) return code;
    hsize_t dims[1] = {(hsize_t)count};
    hid_t space = H5Screate_simple(1, dims, NULL);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t attr = H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    code = H5_CHECK(attr, name, err);
    if (!code) code = H5_CHECK(H5Awrite(attr, H5T_NATIVE_DOUBLE, values), name, err);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return code;
}

int runfile_write_data_source(hid_t system, const struct recording *r, struct ddm_error *err) {
    int code = h5_attr_string(system, "data_path", r->path, err);
    if (!code) code = h5_attr_string(system, "data_dataset", r->dataset, err);
    if (!code) code = h5_attr_double(system, "data_dt", r->dt, err);
    if (!code) code = h5_attr_int(system, "data_trajectories", r->trajectories, err);
    if (!code) code = h5_attr_int(system, "data_samples", recording_samples(r), err);
    if (!code) code = h5_attr_int(system, "data_file_bytes", r->file_bytes, err);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->hash);
    if (!code) code = h5_attr_string(system, "data_hash_fnv1a64", hash, err);
    if (!code)
        code = h5_attr_string(system, "target",
                              "learnt from data: no equations; the drift f is the network's own "
                              "(f_RNN) wherever a target flow is used, /simulate/target_latent "
                              "included",
                              err);
    return code;
}

int runfile_write_data_fit(hid_t train, const struct ddm_train_report *report,
                           struct ddm_error *err) {
    if (!report->from_data) return DDM_OK;
    const int k = report->data_k;
    int code = h5_attr_double(train, "data_noise_floor", report->data_noise_floor, err);
    if (!code) code = h5_attr_double(train, "data_drift_excess", report->data_drift_excess, err);
    if (!code) code = attr_doubles(train, "data_D", report->data_D, k * k, err);
    if (!code) code = attr_doubles(train, "data_noise_var", report->data_noise_var, k, err);
    if (!code) code = h5_attr_int(train, "data_fit_increments", report->data_fit_increments, err);
    if (!code)
        code = h5_attr_int(train, "data_heldout_increments", report->data_heldout_increments, err);
    return code;
}
