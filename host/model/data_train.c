/* data_train.c — drift–diffusion matching from recorded trajectories (docs/from_data.md).
 *
 * Kramers–Moyal: for z sampled every Δ, E[z(t+jΔ) | z(t) = z] = Σ_q (jΔ)^q Lᵠz/q! (L the
 * generator), so a forward stencil Σ_j a_j z(t+jΔ)/Δ with Σ a_j = 0, Σ j a_j = 1 and
 * Σ j^q a_j = 0 for q = 2..p has conditional mean f(z) + O(Δ^p) ([system] data_drift: p = 1, the
 * plain (z(t+Δ) − z(t))/Δ, whose bias (Δ/2)(f·∇)f + … stabilises the fixed points of Lorenz at
 * Δ = 0.01; p = 2, (−3z₀ + 4z₁ − z₂)/2Δ, the default; p = 3). Its noise is a combination of the
 * future increments only, zero-mean given z(t), of covariance Σ_i c_i² 2D/Δ with c_i = Σ_{j≥i} a_j
 * (1, 2.5, 4.83 for p = 1, 2, 3). So the pairs (z(t), f̂) are training points whose targets are f
 * plus zero-mean noise, and least squares on them (the usual ridge + Adam) is unbiased for f up
 * to O(Δ^p). With measurement noise the targets are corrected as host/model/data_noise.c says. The
 * held-out pairs come from whole held-out trajectories (or the last time block), so ε_f measures
 * generalisation along new paths.
 *
 * Diffusion: the residuals r_t = z(t+Δ) − φ_Δ(z(t)), φ_Δ the learnt flow over Δ (p = 1: the
 * Euler step z + f_RNN Δ, the model the first-order drift was fitted to; p ≥ 2: one RK4 step, so
 * that no O(Δ²) drift term is left in r), have C₀ = E[r rᵀ] = 2DΔ + 2R and
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

/* The forward stencils a_j (j = 0..p) of data_drift = first_order, second_order, third_order. */
static const double stencils[3][4] = {{-1, 1}, {-1.5, 2, -0.5}, {-11.0 / 6, 3, -1.5, 1.0 / 3}};

/* How the drift targets are made from the samples: the stencil and the noise correction. */
struct drift_estimator {
    int p;              /* samples ahead: the stencil's order */
    const double *a;    /* a_0 … a_p */
    double dt;          /* Δ */
    double noise_terms; /* Σ_i c_i² and Σ_j a_j², the weights of 2DΔ and R in the noise */
    double eta_terms;
    struct data_noise_model noise;
};

static int estimator_setup(const struct ddm_config *cfg, const struct recording *fit,
                           struct drift_estimator *e, struct ddm_error *err) {
    double sigma_obs;
    int code = data_noise_parse(cfg, &sigma_obs, err);
    if (code) return code;
    e->p = cfg->data_drift + 1;
    e->a = stencils[cfg->data_drift];
    e->dt = fit->dt;
    e->noise_terms = e->eta_terms = 0;
    for (int i = 0; i <= e->p; i++) {
        double c = 0;
        for (int j = i; j <= e->p; j++) c += e->a[j];
        e->noise_terms += i > 0 ? c * c : 0;
        e->eta_terms += e->a[i] * e->a[i];
    }
    return data_noise_model_fit(fit, sigma_obs, &e->noise, err);
}

/* The drift target at sample t of `part` (t + p within its trajectory) into f. */
static void estimator_target(const struct drift_estimator *e, const struct recording *part, long t,
                             double *f) {
    const int k = part->k;
    for (int c = 0; c < k; c++) {
        f[c] = 0;
        for (int j = 0; j <= e->p; j++) f[c] += e->a[j] * part->z[(t + j) * k + c];
        f[c] /= e->dt;
    }
    if (!e->noise.active) return;
    double score[DDM_MAX_K]; /* + a_0 R ∇ln p_y / Δ */
    data_noise_score(&e->noise, part->z + t * k, score);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) f[i] += e->a[0] * e->noise.R[i * k + j] * score[j] / e->dt;
}

/* The samples of `part` with p samples ahead in their trajectory. */
static long targets_in(const struct recording *part, int p) {
    long count = 0;
    for (int b = 0; b < part->trajectories; b++)
        count += recording_length(part, b) > p ? recording_length(part, b) - p : 0;
    return count;
}

/* Every `stride`-th target of `part` into z, f from index `at`; returns the next index. */
static long take_targets(const struct drift_estimator *e, const struct recording *part, long stride,
                         double *z, double *f, long at) {
    const int k = part->k;
    long index = 0;
    for (int b = 0; b < part->trajectories; b++)
        for (long t = part->offset[b]; t + e->p < part->offset[b + 1]; t++, index++) {
            if (index % stride) continue;
            memcpy(z + at * k, part->z + t * k, sizeof(double) * k);
            estimator_target(e, part, t, f + at * k);
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
    struct drift_estimator e;
    memset(points, 0, sizeof *points);
    if ((code = estimator_setup(cfg, &fit, &e, err))) {
        recording_free(&fit);
        recording_free(&held);
        return code;
    }
    const long cap = cfg->samples, fit_count = targets_in(&fit, e.p),
               held_count = targets_in(&held, e.p);
    if (fit_count < 1 || held_count < 1)
        code = ddm_fail(err, DDM_EUSAGE,
                        "[system] data: the trajectories are too short for data_drift = %s (%d "
                        "samples ahead of each point); use first_order",
                        cfg->data_drift == DATA_DRIFT_THIRD ? "third_order" : "second_order", e.p);
    const long stride_fit = (fit_count + cap - 1) / cap, stride_held = (held_count + cap - 1) / cap;
    const long M_fit = code ? 0 : (fit_count + stride_fit - 1) / stride_fit,
               M_held = code ? 0 : (held_count + stride_held - 1) / stride_held;
    points->M = (int)(M_fit + M_held);
    points->k = k;
    points->held_out = (int)M_held;
    points->path_dt = sys->recording->dt;
    if (!code) {
        points->z = ddm_alloc(sizeof(double) * points->M * k, "training points", err);
        points->f = ddm_alloc(sizeof(double) * points->M * k, "training drifts", err);
        if (!points->z || !points->f) code = DDM_ERUNTIME;
    }
    if (!code) {
        long at = take_targets(&e, &fit, stride_fit, points->z, points->f, 0);
        at = take_targets(&e, &held, stride_held, points->z, points->f, at);
        if (at != points->M) code = ddm_fail(err, DDM_ERUNTIME, "data points miscounted");
    }
    if (code) points_free(points);
    data_noise_model_free(&e.noise);
    recording_free(&fit);
    recording_free(&held);
    return code;
}

/* φ_Δ(z) − z of the learnt drift: f_RNN Δ (Euler, p = 1) or one RK4 step (p ≥ 2); the Jacobian
 * of f_RNN at z into jac. */
static void flow_step(const struct ddm_model *model, int p, double dt, const double *z,
                      double *step, double *jac) {
    const int k = model->k;
    double rate[4][DDM_MAX_K], stage[DDM_MAX_K];
    model_latent_drift(model, z, rate[0], jac);
    if (p == 1) {
        for (int c = 0; c < k; c++) step[c] = rate[0][c] * dt;
        return;
    }
    static const double weight[3] = {0.5, 0.5, 1.0};
    for (int s = 0; s < 3; s++) {
        for (int c = 0; c < k; c++) stage[c] = z[c] + weight[s] * dt * rate[s][c];
        model_latent_drift(model, stage, rate[s + 1], NULL);
    }
    for (int c = 0; c < k; c++)
        step[c] = dt / 6 * (rate[0][c] + 2 * rate[1][c] + 2 * rate[2][c] + rate[3][c]);
}

/* C₀ = mean r rᵀ and C₁ = mean r_t r_{t+1}ᵀ (within trajectories) of the residual increments
 * r = z(t+Δ) − φ_Δ(z(t)) of `part`, and the mean Jacobian J̄ of f_RNN at z(t), (k,k) each. */
static void residual_moments(const struct ddm_model *model, const struct recording *part, int p,
                             double *C0, double *C1, double *J) {
    const int k = part->k;
    long count0 = 0, count1 = 0;
    double sum0[DDM_MAX_K * DDM_MAX_K] = {0}, sum1[DDM_MAX_K * DDM_MAX_K] = {0},
                            sumJ[DDM_MAX_K * DDM_MAX_K] = {0};
#pragma omp parallel for reduction(+ : count0, count1, sum0[:DDM_MAX_K * DDM_MAX_K],              \
                                       sum1[:DDM_MAX_K * DDM_MAX_K],                              \
                                       sumJ[:DDM_MAX_K * DDM_MAX_K]) schedule(dynamic, 1)
    for (int b = 0; b < part->trajectories; b++) {
        double previous[DDM_MAX_K];
        for (long t = part->offset[b]; t + 1 < part->offset[b + 1]; t++) {
            double step[DDM_MAX_K], r[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K];
            flow_step(model, p, part->dt, part->z + t * k, step, jac);
            for (int q = 0; q < k * k; q++) sumJ[q] += jac[q];
            for (int c = 0; c < k; c++)
                r[c] = part->z[(t + 1) * k + c] - part->z[t * k + c] - step[c];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    sum0[i * k + j] += r[i] * r[j];
                    if (t > part->offset[b]) sum1[i * k + j] += previous[i] * r[j];
                }
            count0++;
            count1 += t > part->offset[b];
            memcpy(previous, r, sizeof r);
        }
    }
    for (int q = 0; q < k * k; q++) {
        C0[q] = sum0[q] / (count0 > 0 ? count0 : 1);
        C1[q] = sum1[q] / (count1 > 0 ? count1 : 1);
        J[q] = sumJ[q] / (count0 > 0 ? count0 : 1);
    }
}

/* D̂ = (C₀ − 2R)/(2Δ) with R from data_noise, less its O(Δ) term; σ̂ = chol(2D̂) into model->S
 * when estimated. The increments' covariance given z is 2DΔ + Δ²(J D + D Jᵀ) + O(Δ³) (constant
 * D), a relative Δ·J_ii (OU of rate 3 at Δ = 0.01: −3 %); with J̄ the mean Jacobian of the learnt
 * drift, D̂ = D₀ − (Δ/2)(J̄ D₀ + D₀ J̄ᵀ) leaves O(Δ²). */
static int diffusion_estimate(const struct ddm_system *sys, const struct ddm_config *cfg,
                              struct ddm_model *model, const double *C0, const double *C1,
                              const double *J, struct ddm_train_report *report,
                              struct ddm_error *err) {
    const int k = sys->k;
    double sigma_obs, two_D_dt[DDM_MAX_K * DDM_MAX_K], R[DDM_MAX_K * DDM_MAX_K];
    int code = data_noise_parse(cfg, &sigma_obs, err);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            R[i * k + j] = sigma_obs < 0 ? -0.5 * (C1[i * k + j] + C1[j * k + i])
                                         : (i == j) * sigma_obs * sigma_obs;
    /* a variance: an estimate's negative eigenvalues are sampling noise of no noise */
    if (!code && sigma_obs < 0) code = data_noise_psd(R, k, err);
    if (code) return code;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            two_D_dt[i * k + j] = C0[i * k + j] - 2 * R[i * k + j];
            if (i == j) report->data_noise_var[i] = R[i * k + j];
        }
    const double dt = sys->recording->dt;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double drift_term = 0; /* (J̄ D₀ + D₀ J̄ᵀ)_ij Δ, D₀ = two_D_dt/(2Δ) */
            for (int l = 0; l < k; l++)
                drift_term +=
                    (J[i * k + l] * two_D_dt[l * k + j] + two_D_dt[i * k + l] * J[j * k + l]) / 2;
            report->data_D[i * k + j] = (two_D_dt[i * k + j] - dt * drift_term) / (2 * dt);
        }
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

/* The held-out ε_f of the true drift: a perfect drift leaves the targets' noise,
 * N = (Σc²·tr(2D̂Δ) + Σa²·tr R)/Δ² per point, against their mean ‖f̂‖². Also what the error of
 * ε_f² − floor² needs: k_eff = (tr C)²/tr C² of the noise C = 2D̂Δ (‖noise‖² has relative
 * variance 2/k_eff for Gaussian increments), and the drift's rate ω = √(mean ‖f‖²/tr Cov z). */
struct floor_terms {
    double floor2, k_eff, rate;
};

static struct floor_terms noise_floor(const struct drift_estimator *e, const struct recording *held,
                                      const double *C0, const struct ddm_train_report *report) {
    const int k = held->k;
    double trace_C0 = 0, trace_R = 0, trace_C2 = 0, norm = 0, sum[DDM_MAX_K] = {0},
           sum2[DDM_MAX_K] = {0};
    for (int c = 0; c < k; c++) trace_C0 += C0[c * k + c], trace_R += report->data_noise_var[c];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            const double C = C0[i * k + j] - 2 * (i == j) * report->data_noise_var[i];
            trace_C2 += C * C;
        }
    const double noise =
        (e->noise_terms * (trace_C0 - 2 * trace_R) + e->eta_terms * trace_R) / (e->dt * e->dt);
    for (int b = 0; b < held->trajectories; b++)
        for (long t = held->offset[b]; t + e->p < held->offset[b + 1]; t++) {
            double f[DDM_MAX_K];
            estimator_target(e, held, t, f);
            for (int c = 0; c < k; c++) {
                norm += f[c] * f[c];
                sum[c] += held->z[t * k + c], sum2[c] += held->z[t * k + c] * held->z[t * k + c];
            }
        }
    const double count = fmax(1, (double)targets_in(held, e->p));
    double spread = 0; /* tr Cov z of the held-out points */
    for (int c = 0; c < k; c++) spread += fmax(0, sum2[c] / count - pow(sum[c] / count, 2));
    const double trace_C = trace_C0 - 2 * trace_R;
    return (struct floor_terms){.floor2 = noise / (norm / count),
                                .k_eff = trace_C2 > 0 ? trace_C * trace_C / trace_C2 : 1,
                                .rate =
                                    spread > 0 ? sqrt(fmax(0, norm / count - noise) / spread) : 0};
}

/* The standard error of x = (ε_f² − floor²)/(1 − floor²) (docs/from_data.md). ε_f² holds the
 * mean ‖noise‖² of M_held targets (relative variance 2·corr/(k_eff·M_held), corr the overlap of
 * neighbouring stencils: 1 + 2Σ_l (Σ_i c_i c_{i+l})²/(Σ c_i²)²), floor² the fit part's tr C₀
 * (2/(k_eff·M_fit)); and floor² is known only to O(Δ): the increments' covariance has the term
 * Δ²(J D + D Jᵀ), a relative Δ·|J| ≈ Δω. */
static double excess_error(const struct drift_estimator *e, const struct floor_terms *ft,
                           long held_targets, long fit_increments) {
    double c[4] = {0}, c2 = 0, overlap = 0;
    for (int i = 1; i <= e->p; i++) {
        for (int j = i; j <= e->p; j++) c[i - 1] += e->a[j];
        c2 += c[i - 1] * c[i - 1];
    }
    for (int lag = 1; lag < e->p; lag++) {
        double sum = 0;
        for (int i = 0; i + lag < e->p; i++) sum += c[i] * c[i + lag];
        overlap += 2 * sum * sum / (c2 * c2);
    }
    const double statistical = 2 / ft->k_eff *
                               ((1 + overlap) / fmax(1, (double)held_targets) +
                                1 / fmax(1, (double)fit_increments)),
                 systematic = e->dt * ft->rate;
    return ft->floor2 * sqrt(statistical + systematic * systematic) / (1 - ft->floor2);
}

int data_diffusion(const struct ddm_system *sys, const struct ddm_config *cfg,
                   struct ddm_model *model, struct ddm_train_report *report,
                   struct ddm_error *err) {
    const int k = sys->k;
    struct recording fit, held;
    int code = recording_split(sys->recording, cfg->data_holdout, &fit, &held, err);
    if (code) return code;
    struct drift_estimator e;
    if ((code = estimator_setup(cfg, &fit, &e, err))) {
        recording_free(&fit);
        recording_free(&held);
        return code;
    }
    double C0[DDM_MAX_K * DDM_MAX_K], C1[DDM_MAX_K * DDM_MAX_K], J[DDM_MAX_K * DDM_MAX_K];
    residual_moments(model, &fit, e.p, C0, C1, J);
    code = diffusion_estimate(sys, cfg, model, C0, C1, J, report, err);
    const struct floor_terms ft = noise_floor(&e, &held, C0, report);
    const double floor2 = ft.floor2, eps2 = report->drift_rel_err * report->drift_rel_err;
    /* the held-out targets of ε_f: every stride-th, as data_points took them */
    const long held_count = targets_in(&held, e.p),
               stride =
                   held_count > cfg->samples ? (held_count + cfg->samples - 1) / cfg->samples : 1,
               held_used = (held_count + stride - 1) / stride;
    report->from_data = 1, report->data_k = k;
    report->data_noise_floor = sqrt(floor2);
    const double excess2 = floor2 < 1 ? (eps2 - floor2) / (1 - floor2) : NAN,
                 excess2_err =
                     floor2 < 1 ? excess_error(&e, &ft, held_used, increments(&fit)) : NAN;
    report->data_drift_excess = floor2 < 1 ? sqrt(fmax(0, excess2)) : NAN;
    /* resolved when two standard errors clear 0; else only the bound is known */
    report->data_drift_excess_bound = sqrt(fmax(0, excess2) + 2 * excess2_err);
    report->data_drift_excess_resolved = excess2 > 2 * excess2_err;
    report->data_fit_increments = increments(&fit);
    report->data_heldout_increments = increments(&held);
    data_noise_model_free(&e.noise);
    recording_free(&fit);
    recording_free(&held);
    return code;
}
