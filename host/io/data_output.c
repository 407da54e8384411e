/* data_output.c — what a run learnt from data writes into its file: the data's source under
 * /system and the fit's data figures under /train, as attributes (docs/from_data.md). */
#include <hdf5.h>
#include <stdio.h>

#include "ddm/data_diffusion.h"
#include "ddm/h5io.h"
#include "ddm/h5schema.h"
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

/* [system] diffusion = estimate_state: 2D̂(z) = Σ_t coef[t][e] Π_c u_c^exponents[t][c],
 * u = (z − mean)/scale, entries e = (i ≤ j) in row order; its text; how it was chosen. */
static int write_diffusion_fit(hid_t train, const struct diffusion_fit *fit,
                               struct ddm_error *err) {
    const int k = fit->k, entries = k * (k + 1) / 2;
    double exponents[DIFFUSION_FIT_MAX_TERMS * DDM_MAX_K];
    for (int t = 0; t < fit->terms; t++)
        for (int c = 0; c < k; c++) exponents[t * k + c] = fit->exponents[t][c];
    int code = h5_attr_string(train, H5N_DATA_DIFFUSION_TWO_D, fit->text, err);
    if (!code) code = h5_attr_int(train, H5N_DATA_DIFFUSION_DEGREE, fit->degree, err);
    if (!code)
        code = attr_doubles(train, H5N_DATA_DIFFUSION_EXPONENTS, exponents, fit->terms * k, err);
    if (!code)
        code = attr_doubles(train, H5N_DATA_DIFFUSION_COEFFICIENTS, fit->coef, fit->terms * entries,
                            err);
    if (!code) code = attr_doubles(train, H5N_DATA_DIFFUSION_MEAN, fit->mean, k, err);
    if (!code) code = attr_doubles(train, H5N_DATA_DIFFUSION_SCALE, fit->scale, k, err);
    if (!code)
        code = attr_doubles(train, H5N_DATA_DIFFUSION_HELDOUT_SCORE, fit->heldout_score,
                            fit->degrees_tried, err);
    if (!code) code = h5_attr_double(train, H5N_DATA_DIFFUSION_FLOOR, fit->floor, err);
    if (!code)
        code = h5_attr_double(train, H5N_DATA_DIFFUSION_FLOORED_SHARE, fit->floored_share, err);
    if (!code) code = attr_doubles(train, H5N_DATA_DIFFUSION_NOISE_VAR, fit->noise_var, k * k, err);
    return code;
}

int runfile_write_data_source(hid_t system, const struct recording *r, struct ddm_error *err) {
    int code = h5_attr_string(system, H5N_DATA_PATH, r->path, err);
    if (!code) code = h5_attr_string(system, H5N_DATA_DATASET, r->dataset, err);
    if (!code) code = h5_attr_double(system, H5N_DATA_DT, r->dt, err);
    if (!code) code = h5_attr_int(system, H5N_DATA_TRAJECTORIES, r->trajectories, err);
    if (!code) code = h5_attr_int(system, H5N_DATA_SAMPLES, recording_samples(r), err);
    if (!code) code = h5_attr_int(system, H5N_DATA_FILE_BYTES, r->file_bytes, err);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->hash);
    if (!code) code = h5_attr_string(system, H5N_DATA_HASH_FNV1A64, hash, err);
    if (!code)
        code = h5_attr_string(system, H5N_TARGET,
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
    /* the 1 % verdict on ε_f does not apply: the held-out targets are noisy increments */
    char verdict[256];
    snprintf(verdict, sizeof verdict,
             "from data: ε_f is against noisy held-out increments, %.3g times its noise floor %.3g "
             "(1: as good as the noise lets one tell); see data_drift_excess",
             report->drift_rel_err / report->data_noise_floor, report->data_noise_floor);
    int code = h5_attr_string(train, H5N_FIT_VERDICT, verdict, err);
    if (!code) code = h5_attr_double(train, H5N_DATA_NOISE_FLOOR, report->data_noise_floor, err);
    if (!code) code = h5_attr_double(train, H5N_DATA_DRIFT_EXCESS, report->data_drift_excess, err);
    if (!code)
        code = h5_attr_double(train, H5N_DATA_DRIFT_EXCESS_BOUND, report->data_drift_excess_bound,
                              err);
    if (!code) code = attr_doubles(train, H5N_DATA_D, report->data_D, k * k, err);
    if (!code) code = attr_doubles(train, H5N_DATA_NOISE_VAR, report->data_noise_var, k, err);
    if (!code) code = h5_attr_int(train, H5N_DATA_FIT_INCREMENTS, report->data_fit_increments, err);
    if (!code)
        code =
            h5_attr_int(train, H5N_DATA_HELDOUT_INCREMENTS, report->data_heldout_increments, err);
    if (!code && report->data_diffusion_fit)
        code = write_diffusion_fit(train, report->data_diffusion_fit, err);
    return code;
}
