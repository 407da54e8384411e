/* data_train.c — drift–diffusion matching from recorded trajectories (docs/from_data.md).
 *
 * Kramers–Moyal: for z sampled every Δ, E[(z(t+Δ) − z(t))/Δ | z(t) = z] = f(z) + O(Δ) and
 * Cov[z(t+Δ) − z(t) | z(t) = z] = 2D(z)Δ + O(Δ²), 2D = σσᵀ. So the pairs (z(t), f̂ = Δz/Δ) are
 * training points whose targets are f plus zero-mean noise of covariance 2D/Δ: least squares on
 * them (the usual ridge + Adam) is unbiased for f. The held-out pairs come from whole held-out
 * trajectories (or the last time block), so ε_f measures generalisation along new paths.
 *
 * Diffusion: the residuals r_t = Δz_t − f_RNN(z_t)Δ have C₀ = E[r rᵀ] = 2DΔ + 2R and
 * C₁ = E[r_t r_{t+1}ᵀ] = −R, with R = σ_obs² I the variance of white measurement noise (it enters
 * two consecutive increments with opposite signs). So 2D̂Δ = C₀ − 2R for a given σ_obs, and
 * 2D̂Δ = C₀ + C₁ + C₁ᵀ when σ_obs is estimated; σ̂ is the Cholesky factor of 2D̂.
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/recording.h"
#include "ddm/train.h"

int data_noise_parse(const struct ddm_config *cfg, double *sigma_obs, struct ddm_error *err) {
    const char *text = cfg->data_noise;
    if (!strcmp(text, "estimate")) {
        *sigma_obs = -1;
        return DDM_OK;
    }
    char *end;
    *sigma_obs = text[0] ? strtod(text, &end) : 0;
    if (text[0] && (*end || !(*sigma_obs >= 0) || !isfinite(*sigma_obs))) {
        char at[1200];
        config_where(cfg, "system", "data_noise", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = '%s': valid are 0 (no measurement noise), a standard deviation "
                        ">= 0, or estimate",
                        at, text);
    }
    return DDM_OK;
}

/* Increments of `part` into z, f from index `at`, every `stride`-th one; returns the count. */
static long take_increments(const struct recording *part, long stride, double *z, double *f,
                            long at) {
    const int k = part->k;
    long index = 0;
    for (int b = 0; b < part->trajectories; b++)
        for (long t = part->offset[b]; t + 1 < part->offset[b + 1]; t++, index++) {
            if (index % stride) continue;
            for (int c = 0; c < k; c++) {
                z[at * k + c] = part->z[t * k + c];
                f[at * k + c] = (part->z[(t + 1) * k + c] - part->z[t * k + c]) / part->dt;
            }
            at++;
        }
    return at;
}

static long increments(const struct recording *part) {
    return recording_samples(part) - part->trajectories;
}

int data_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                struct ddm_points *points, struct ddm_error *err) {
    const int k = sys->k;
    struct recording fit, held;
    int code = recording_split(sys->recording, cfg->data_holdout, &fit, &held, err);
    if (code) return code;
    const long cap = cfg->samples;
    const long stride_fit = (increments(&fit) + cap - 1) / cap,
               stride_held = (increments(&held) + cap - 1) / cap;
    const long M_fit = (increments(&fit) + stride_fit - 1) / stride_fit,
               M_held = (increments(&held) + stride_held - 1) / stride_held;
    memset(points, 0, sizeof *points);
    points->M = (int)(M_fit + M_held);
    points->k = k;
    points->held_out = (int)M_held;
    points->path_dt = sys->recording->dt;
    points->z = ddm_alloc(sizeof(double) * points->M * k, "training points", err);
    points->f = ddm_alloc(sizeof(double) * points->M * k, "training drifts", err);
    if (!points->z || !points->f) {
        code = DDM_ERUNTIME;
        points_free(points);
    } else {
        long at = take_increments(&fit, stride_fit, points->z, points->f, 0);
        at = take_increments(&held, stride_held, points->z, points->f, at);
        if (at != points->M) code = ddm_fail(err, DDM_ERUNTIME, "data points miscounted");
    }
    recording_free(&fit);
    recording_free(&held);
    return code;
}

/* C₀ = mean r rᵀ and C₁ = mean r_t r_{t+1}ᵀ (within trajectories) of the residual increments
 * r = Δz − f_RNN(z)Δ of `part`, (k,k) each. */
static void residual_moments(const struct ddm_model *model, const struct recording *part,
                             double *C0, double *C1) {
    const int k = part->k;
    long count0 = 0, count1 = 0;
    memset(C0, 0, sizeof(double) * k * k);
    memset(C1, 0, sizeof(double) * k * k);
    for (int b = 0; b < part->trajectories; b++) {
        double previous[DDM_MAX_K];
        for (long t = part->offset[b]; t + 1 < part->offset[b + 1]; t++) {
            double f[DDM_MAX_K], r[DDM_MAX_K];
            model_latent_drift(model, part->z + t * k, f, NULL);
            for (int c = 0; c < k; c++)
                r[c] = part->z[(t + 1) * k + c] - part->z[t * k + c] - f[c] * part->dt;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    C0[i * k + j] += r[i] * r[j];
                    if (t > part->offset[b]) C1[i * k + j] += previous[i] * r[j];
                }
            count0++;
            count1 += t > part->offset[b];
            memcpy(previous, r, sizeof r);
        }
    }
    for (int q = 0; q < k * k; q++) {
        C0[q] /= count0 > 0 ? count0 : 1;
        C1[q] /= count1 > 0 ? count1 : 1;
    }
}

/* D̂ = (C₀ − 2R)/(2Δ) with R from data_noise; σ̂ = chol(2D̂) into model->S when estimated. */
static int diffusion_estimate(const struct ddm_system *sys, const struct ddm_config *cfg,
                              struct ddm_model *model, const double *C0, const double *C1,
                              struct ddm_train_report *report, struct ddm_error *err) {
    const int k = sys->k;
    double sigma_obs, two_D_dt[DDM_MAX_K * DDM_MAX_K];
    int code = data_noise_parse(cfg, &sigma_obs, err);
    if (code) return code;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double R = sigma_obs < 0 ? -0.5 * (C1[i * k + j] + C1[j * k + i])
                                     : (i == j) * sigma_obs * sigma_obs;
            two_D_dt[i * k + j] = C0[i * k + j] - 2 * R;
            if (i == j) report->data_noise_var[i] = R;
        }
    for (int q = 0; q < k * k; q++) report->data_D[q] = two_D_dt[q] / (2 * sys->recording->dt);
    if (!sys->diffusion_estimated) return DDM_OK;
    double chol[DDM_MAX_K * DDM_MAX_K]; /* σ̂σ̂ᵀ = 2D̂ */
    for (int q = 0; q < k * k; q++) chol[q] = 2 * report->data_D[q];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', k, chol, k) != 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "the diffusion estimated from [system] data is not positive definite "
                        "(the measurement-noise correction exceeds the increments' variance): "
                        "check data_noise, or sample the data more coarsely");
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            model->S[i * model->m + j] =
                j <= i ? (float)(chol[i * k + j] / model->latent_scale[i]) : 0.0f;
    return DDM_OK;
}

int data_diffusion(const struct ddm_system *sys, const struct ddm_config *cfg,
                   struct ddm_model *model, struct ddm_train_report *report,
                   struct ddm_error *err) {
    const int k = sys->k;
    struct recording fit, held;
    int code = recording_split(sys->recording, cfg->data_holdout, &fit, &held, err);
    if (code) return code;
    double C0[DDM_MAX_K * DDM_MAX_K], C1[DDM_MAX_K * DDM_MAX_K];
    residual_moments(model, &fit, C0, C1);
    code = diffusion_estimate(sys, cfg, model, C0, C1, report, err);
    /* the noise floor of ε_f: a perfect drift leaves the noise N = tr(C₀)/Δ² per point */
    double norm = 0, noise = 0;
    for (int c = 0; c < k; c++) noise += C0[c * k + c] / (fit.dt * fit.dt);
    for (int b = 0; b < held.trajectories; b++)
        for (long t = held.offset[b]; t + 1 < held.offset[b + 1]; t++)
            for (int c = 0; c < k; c++)
                norm += pow((held.z[(t + 1) * k + c] - held.z[t * k + c]) / held.dt, 2);
    norm /= increments(&held);
    const double floor2 = noise / norm, eps2 = report->drift_rel_err * report->drift_rel_err;
    report->from_data = 1, report->data_k = k;
    report->data_noise_floor = sqrt(floor2);
    report->data_drift_excess = floor2 < 1 ? sqrt(fmax(0, eps2 - floor2) / (1 - floor2)) : NAN;
    report->data_fit_increments = increments(&fit);
    report->data_heldout_increments = increments(&held);
    recording_free(&fit);
    recording_free(&held);
    return code;
}
