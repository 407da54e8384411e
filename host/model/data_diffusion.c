/* data_diffusion.c — σ(z) learnt from recorded trajectories ([system] diffusion = estimate_state).
 *
 * Kramers–Moyal, second moment: with r = z(t+Δ) − z(t) − f(z(t))Δ (the drift taken out, which
 * removes the f fᵀΔ term of the raw increments' second moment),
 *
 *   E[r rᵀ | z] / Δ = 2D(z) + Δ [J D + D Jᵀ + (f·∇)D + D:∇∇D] + O(Δ²),
 *
 * and white measurement noise of covariance R adds 2R/Δ (it enters consecutive increments with
 * opposite signs, so the lag-one covariance of r is −R). Each entry of Q = r rᵀ/Δ is regressed by
 * least squares on the monomials of u = (z − μ)/s of total degree ≤ d; the normal equations are
 * accumulated in one pass over the fit part (Gram Σwφφᵀ, ΣwφQ) and one over the held-out part, so
 * the held-out mean squared error of every degree d ≤ 4 follows in closed form from the held-out
 * sums: Σw(Q − φᵀc)² = ΣwQ² − 2cᵀΣwφQ + cᵀ(Σwφφᵀ)c. The degree with the smallest held-out error
 * is kept. Three passes: ordinary (w = 1); weighted by 1/Var Q of the first fit; weighted, with the
 * O(Δ) term above (D from the second fit) taken off Q. 2R/Δ comes off the constant term. A
 * polynomial can dip below zero where data are sparse, so σ̂(z) = chol of 2D̂(z) with its
 * eigenvalues raised to a floor (reported: the share of the fit points where the floor was needed).
 */
#include "ddm/data_diffusion.h"

#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/model.h"
#include "ddm/polynomial.h"
#include "ddm/train.h"

static void powers_of(const struct diffusion_fit *fit, const double *z,
                      double (*power)[DIFFUSION_FIT_MAX_DEGREE + 1]) {
    for (int c = 0; c < fit->k; c++) {
        const double u = (z[c] - fit->mean[c]) / fit->scale[c];
        power[c][0] = 1;
        for (int p = 1; p <= DIFFUSION_FIT_MAX_DEGREE; p++) power[c][p] = power[c][p - 1] * u;
    }
}

static void basis(const struct diffusion_fit *fit, int terms, const double *z, double *phi) {
    double power[DDM_MAX_K][DIFFUSION_FIT_MAX_DEGREE + 1];
    powers_of(fit, z, power);
    for (int t = 0; t < terms; t++) {
        phi[t] = 1;
        for (int c = 0; c < fit->k; c++) phi[t] *= power[c][fit->exponents[t][c]];
    }
}

/* Sums of one part over its increments: Gram Σφφᵀ (terms²), ΣφQ (terms × entries), ΣQ²
 * (entries), and the lag-one Σ r_t r_{t+1}ᵀ (k²) with its count. */
struct moment_sums {
    double *gram, *cross, qq[DIFFUSION_FIT_MAX_ENTRIES], lag[DDM_MAX_K * DDM_MAX_K], weight;
    long count, lag_count;
};

/* ∂_a φ_t (b < 0) or ∂_a ∂_b φ_t in z, from the powers of u. */
static double derivative(const struct diffusion_fit *fit,
                         const double (*power)[DIFFUSION_FIT_MAX_DEGREE + 1], int t, int a, int b) {
    double value = 1;
    for (int c = 0; c < fit->k; c++) {
        const int e = fit->exponents[t][c], drop = (c == a) + (c == b);
        if (e < drop) return 0;
        value *= power[c][e - drop];
        for (int i = 0; i < drop; i++) value *= (e - i) / fit->scale[c];
    }
    return value;
}

/* The O(Δ) term of E[Q | z] (entries e), B = J D + D Jᵀ + (f·∇)D + D:∇∇D, with D = 2D̂/2 of `fit`
 * (its polynomial differentiated exactly), f and J the drift's. */
static void km_bias(const struct diffusion_fit *fit, const double *z, const double *f,
                    const double *jac, double *B) {
    const int k = fit->k, entries = k * (k + 1) / 2;
    double D[DDM_MAX_K * DDM_MAX_K], power[DDM_MAX_K][DIFFUSION_FIT_MAX_DEGREE + 1];
    diffusion_fit_two_D(fit, z, D);
    for (int q = 0; q < k * k; q++) D[q] *= 0.5;
    powers_of(fit, z, power);
    for (int e = 0; e < entries; e++) B[e] = 0;
    for (int t = 0; t < fit->terms; t++) {
        double g = 0; /* (f·∇ + D:∇∇) φ_t */
        for (int a = 0; a < k; a++) {
            g += f[a] * derivative(fit, power, t, a, -1);
            for (int b = 0; b < k; b++) g += D[a * k + b] * derivative(fit, power, t, a, b);
        }
        for (int e = 0; e < entries; e++) B[e] += 0.5 * fit->coef[t * entries + e] * g;
    }
    for (int i = 0, e = 0; i < k; i++)
        for (int j = i; j < k; j++, e++)
            for (int l = 0; l < k; l++)
                B[e] += jac[i * k + l] * D[l * k + j] + D[i * k + l] * jac[j * k + l];
}

/* The weight of a point: 1/(variance of Q), from a first fit (NULL: 1). For Gaussian increments
 * Var Q_ij = Q̄_ii Q̄_jj + Q̄_ij²; the mean of the diagonal stands in for all entries. */
static double weight_of(const struct diffusion_fit *first, const double *z) {
    if (!first) return 1;
    const int k = first->k;
    double two_D[DDM_MAX_K * DDM_MAX_K], level = 0;
    diffusion_fit_two_D(first, z, two_D);
    for (int c = 0; c < k; c++) /* in u = (z − μ)/s: coordinates of any scale count alike */
        level += (two_D[c * k + c] + 2 * first->noise_var[c * k + c] / first->dt) /
                 (first->scale[c] * first->scale[c] * k);
    level = fmax(level, first->floor);
    return 1 / (level * level);
}

static void accumulate(const struct diffusion_fit *fit, int terms, const struct recording *part,
                       diffusion_fit_drift drift, const void *ctx,
                       const struct diffusion_fit *first, int corrected, struct moment_sums *sums) {
    const int k = part->k, entries = k * (k + 1) / 2;
    for (int b = 0; b < part->trajectories; b++) {
        double previous[DDM_MAX_K];
        for (long t = part->offset[b]; t + 1 < part->offset[b + 1]; t++) {
            const double *z = part->z + t * k;
            double f[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K], r[DDM_MAX_K],
                Q[DIFFUSION_FIT_MAX_ENTRIES], B[DIFFUSION_FIT_MAX_ENTRIES] = {0},
                                              phi[DIFFUSION_FIT_MAX_TERMS];
            drift(ctx, z, f, corrected ? jac : NULL);
            if (corrected) km_bias(first, z, f, jac, B);
            for (int c = 0; c < k; c++) r[c] = z[k + c] - z[c] - f[c] * part->dt;
            for (int i = 0, e = 0; i < k; i++)
                for (int j = i; j < k; j++, e++) Q[e] = r[i] * r[j] / part->dt - part->dt * B[e];
            basis(fit, terms, z, phi);
            const double w = weight_of(first, z);
            for (int p = 0; p < terms; p++) {
                for (int q = p; q < terms; q++) sums->gram[p * terms + q] += w * phi[p] * phi[q];
                for (int e = 0; e < entries; e++) sums->cross[p * entries + e] += w * phi[p] * Q[e];
            }
            for (int e = 0; e < entries; e++) sums->qq[e] += w * Q[e] * Q[e];
            sums->weight += w;
            if (t > part->offset[b]) {
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) sums->lag[i * k + j] += previous[i] * r[j];
                sums->lag_count++;
            }
            memcpy(previous, r, sizeof r);
            sums->count++;
        }
    }
}

/* Least squares of degree with `terms` monomials (the leading block of the graded sums) into
 * coef (terms × entries); its held-out mean squared error into *score. */
static int solve_degree(const struct moment_sums *fit_sums, const struct moment_sums *held_sums,
                        int all_terms, int terms, int entries, double *coef, double *score) {
    double A[DIFFUSION_FIT_MAX_TERMS * DIFFUSION_FIT_MAX_TERMS], trace = 0;
    for (int p = 0; p < terms; p++) {
        for (int q = 0; q < terms; q++)
            A[p * terms + q] = fit_sums->gram[(p < q ? p : q) * all_terms + (p < q ? q : p)];
        trace += A[p * terms + p];
    }
    for (int p = 0; p < terms; p++) { /* a relative ridge of 1e-10: a guard, not a prior */
        A[p * terms + p] += 1e-10 * trace / terms;
        for (int e = 0; e < entries; e++) coef[p * entries + e] = fit_sums->cross[p * entries + e];
    }
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', terms, entries, A, terms, coef, entries) != 0)
        return -1;
    double sum = 0;
    for (int e = 0; e < entries; e++) {
        sum += held_sums->qq[e];
        for (int p = 0; p < terms; p++) {
            const double c_p = coef[p * entries + e];
            sum -= 2 * c_p * held_sums->cross[p * entries + e];
            for (int q = 0; q < terms; q++)
                sum += c_p * coef[q * entries + e] *
                       held_sums->gram[(p < q ? p : q) * all_terms + (p < q ? q : p)];
        }
    }
    *score = sum / (held_sums->weight > 0 ? held_sums->weight : 1);
    return 0;
}

static void part_moments(const struct recording *part, double *mean, double *scale) {
    const int k = part->k;
    const long count = recording_samples(part);
    for (int c = 0; c < k; c++) {
        double sum = 0, sum2 = 0;
        for (long s = 0; s < count; s++) sum += part->z[s * k + c];
        mean[c] = sum / count;
        for (long s = 0; s < count; s++) sum2 += pow(part->z[s * k + c] - mean[c], 2);
        scale[c] = sqrt(sum2 / count) > 0 ? sqrt(sum2 / count) : 1;
    }
}

/* R (k,k): σ_obs²I, or −(C₁ + C₁ᵀ)/2 from the lag-one sums when σ_obs < 0 (estimate), made
 * positive semi-definite (a variance). */
static int noise_of(const struct moment_sums *sums, int k, double sigma_obs, double *R,
                    struct ddm_error *err) {
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            R[i * k + j] = sigma_obs >= 0 ? (i == j) * sigma_obs * sigma_obs
                                          : -0.5 * (sums->lag[i * k + j] + sums->lag[j * k + i]) /
                                                (sums->lag_count > 0 ? sums->lag_count : 1);
    return sigma_obs < 0 ? data_noise_psd(R, k, err) : DDM_OK;
}

/* Chooses the degree by the held-out error, keeps its coefficients with 2R/Δ off the constant
 * term, and sets the floor. */
static int choose_degree(struct diffusion_fit *out, const struct moment_sums *fit_sums,
                         const struct moment_sums *held_sums, const int *terms_upto, int all_terms,
                         double dt, struct ddm_error *err) {
    const int k = out->k, entries = k * (k + 1) / 2;
    double best = INFINITY, coef[DIFFUSION_FIT_MAX_TERMS * DIFFUSION_FIT_MAX_ENTRIES];
    for (int d = 0; d < out->degrees_tried; d++) {
        double score;
        if (solve_degree(fit_sums, held_sums, all_terms, terms_upto[d], entries, coef, &score)) {
            out->degrees_tried = d; /* singular: the data do not span this degree */
            break;
        }
        out->heldout_score[d] = score;
        if (score < best) {
            best = score, out->degree = d, out->terms = terms_upto[d];
            memcpy(out->coef, coef, sizeof(double) * terms_upto[d] * entries);
        }
    }
    if (!isfinite(best))
        return ddm_fail(err, DDM_EUSAGE,
                        "[system] diffusion = estimate_state: the recorded increments do not "
                        "determine even a constant diffusion");
    for (int d = out->degrees_tried - 1; d >= 0; d--)
        out->heldout_score[d] /= out->heldout_score[0];
    double trace = 0;
    for (int i = 0, e = 0; i < k; i++)
        for (int j = i; j < k; j++, e++) {
            out->coef[e] -= 2 * out->noise_var[i * k + j] / dt; /* term 0 is the constant */
            if (i == j)                                         /* of 2D in u = (z − μ)/s */
                trace +=
                    (fit_sums->cross[e] / fit_sums->weight - 2 * out->noise_var[i * k + j] / dt) /
                    (out->scale[i] * out->scale[i]);
        }
    if (!(trace > 0))
        return ddm_fail(err, DDM_EUSAGE,
                        "[system] diffusion = estimate_state: the measurement-noise correction "
                        "exceeds the increments' variance (check data_noise, or sample the data "
                        "more coarsely)");
    out->floor = 1e-3 * trace / k;
    return DDM_OK;
}

int diffusion_fit_state(const struct recording *fit, const struct recording *held,
                        diffusion_fit_drift drift, const void *ctx, double sigma_obs,
                        struct diffusion_fit *out, struct ddm_error *err) {
    char *keep_text = out->text;
    memset(out, 0, sizeof *out);
    out->text = keep_text;
    const int k = fit->k, entries = k * (k + 1) / 2;
    int terms_upto[DIFFUSION_FIT_MAX_DEGREE + 1], max_degree = DIFFUSION_FIT_MAX_DEGREE;
    while (monomials_graded(k, max_degree, out->exponents, DIFFUSION_FIT_MAX_TERMS, terms_upto) < 0)
        max_degree--;
    out->k = k, out->dt = fit->dt;
    part_moments(fit, out->mean, out->scale);
    out->fit_increments = recording_samples(fit) - fit->trajectories;
    out->heldout_increments = recording_samples(held) - held->trajectories;
    /* at least 20 increments per coefficient of a degree */
    while (max_degree > 0 && 20L * terms_upto[max_degree] > out->fit_increments) max_degree--;
    out->degrees_tried = max_degree + 1;
    const int all_terms = terms_upto[max_degree];
    struct moment_sums sums[2] = {{0}, {0}};
    int code = DDM_OK;
    for (int s = 0; s < 2 && !code; s++) {
        sums[s].gram = ddm_calloc((size_t)all_terms * all_terms, sizeof(double), "Gram", err);
        sums[s].cross = ddm_calloc((size_t)all_terms * entries, sizeof(double), "Gram", err);
        if (!sums[s].gram || !sums[s].cross) code = DDM_ERUNTIME;
    }
    /* ordinary least squares; then weighted by that fit's variance of Q (Q's noise grows as D²:
     * unweighted, the sparse high-D states would dominate fit and degree choice); then, with the
     * weighted fit's D, the O(Δ) term taken off Q */
    struct diffusion_fit *first = NULL;
    for (int pass = 0; pass < 3 && !code; pass++) {
        for (int s = 0; s < 2; s++) {
            memset(sums[s].gram, 0, sizeof(double) * all_terms * all_terms);
            memset(sums[s].cross, 0, sizeof(double) * all_terms * entries);
            memset(sums[s].qq, 0, sizeof sums[s].qq), memset(sums[s].lag, 0, sizeof sums[s].lag);
            sums[s].weight = 0, sums[s].count = sums[s].lag_count = 0;
        }
        accumulate(out, all_terms, fit, drift, ctx, first, pass == 2, &sums[0]);
        accumulate(out, all_terms, held, drift, ctx, first, pass == 2, &sums[1]);
        code = noise_of(&sums[0], k, sigma_obs, out->noise_var, err);
        if (!code)
            code = choose_degree(out, &sums[0], &sums[1], terms_upto, all_terms, fit->dt, err);
        if (!code && pass == 0 && !(first = malloc(sizeof *first)))
            code = ddm_fail(err, DDM_ERUNTIME, "out of memory");
        if (!code && pass < 2) *first = *out;
    }
    free(first);
    long floored = 0;
    for (long s = 0; !code && s < recording_samples(fit); s++) {
        double sigma[DDM_MAX_K * DDM_MAX_K];
        floored += diffusion_fit_sigma(out, fit->z + s * k, sigma);
    }
    out->floored_share = (double)floored / recording_samples(fit);
    for (int s = 0; s < 2; s++) free(sums[s].gram), free(sums[s].cross);
    if (code) out->k = 0;
    return code;
}

void diffusion_fit_two_D(const struct diffusion_fit *fit, const double *z, double *two_D) {
    const int k = fit->k, entries = k * (k + 1) / 2;
    double phi[DIFFUSION_FIT_MAX_TERMS];
    basis(fit, fit->terms, z, phi);
    for (int i = 0, e = 0; i < k; i++)
        for (int j = i; j < k; j++, e++) {
            double value = 0;
            for (int t = 0; t < fit->terms; t++) value += fit->coef[t * entries + e] * phi[t];
            two_D[i * k + j] = two_D[j * k + i] = value;
        }
}

/* Raises the eigenvalues of the symmetric A (k,k) to `floor`; returns 1 when one was below. */
static int raise_eigenvalues(double *A, int k, double floor) {
    double vectors[DDM_MAX_K * DDM_MAX_K], values[DDM_MAX_K];
    memcpy(vectors, A, sizeof(double) * k * k);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', k, vectors, k, values) != 0) values[0] = NAN;
    int raised = 0;
    for (int i = 0; i < k; i++)
        if (!(values[i] >= floor)) values[i] = floor, raised = 1;
    if (!raised) return 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            A[i * k + j] = 0;
            for (int l = 0; l < k; l++)
                A[i * k + j] += vectors[i * k + l] * values[l] * vectors[j * k + l];
        }
    return 1;
}

/* The floor acts on N = S⁻¹ 2D̂ S⁻¹, the 2D̂ of u = (z − μ)/s (S = diag s), so that coordinates of
 * different scales are floored alike; σ̂ = S chol(N). */
int diffusion_fit_sigma(const struct diffusion_fit *fit, const double *z, double *sigma) {
    const int k = fit->k;
    const double *s = fit->scale;
    double A[DDM_MAX_K * DDM_MAX_K];
    diffusion_fit_two_D(fit, z, A);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) A[i * k + j] /= s[i] * s[j];
    int raised = 0;
    if (k == 1) {
        raised = !(A[0] >= fit->floor);
        sigma[0] = s[0] * sqrt(raised ? fit->floor : A[0]);
        return raised;
    }
    raised = raise_eigenvalues(A, k, fit->floor);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', k, A, k) != 0) { /* cannot happen after the floor */
        for (int q = 0; q < k * k; q++) A[q] = (q % (k + 1) == 0) * sqrt(fit->floor);
        raised = 1;
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) sigma[i * k + j] = j <= i ? s[i] * A[i * k + j] : 0;
    return raised;
}

/* Appends to buf at *used (snprintf semantics: *used counts what was needed). */
static void append(char *buf, size_t size, int *used, const char *format, ...) {
    const size_t at = (size_t)*used < size ? (size_t)*used : size;
    va_list args;
    va_start(args, format);
    *used += vsnprintf(buf ? buf + at : NULL, size - at, format, args);
    va_end(args);
}

int diffusion_fit_text(const struct diffusion_fit *fit, const char (*names)[32], char *buf,
                       size_t size) {
    const int k = fit->k, entries = k * (k + 1) / 2;
    int used = 0;
    if (size) buf[0] = 0;
    for (int e = 0; e < entries; e++) {
        if (e) append(buf, size, &used, "; ");
        for (int t = 0; t < fit->terms; t++) {
            const double c = fit->coef[t * entries + e];
            append(buf, size, &used,
                   t == 0  ? "%.6g"
                   : c < 0 ? " - %.6g"
                           : " + %.6g",
                   t == 0 ? c : fabs(c));
            for (int v = 0; v < k; v++) {
                const int power = fit->exponents[t][v];
                if (!power) continue;
                append(buf, size, &used,
                       fit->mean[v] < 0 ? "*((%s + %.6g)/%.6g)" : "*((%s - %.6g)/%.6g)", names[v],
                       fabs(fit->mean[v]), fit->scale[v]);
                if (power > 1) append(buf, size, &used, "^%d", power);
            }
        }
    }
    return used;
}

static void network_drift(const void *ctx, const double *z, double *f, double *jac) {
    model_latent_drift(ctx, z, f, jac);
}

int data_diffusion_state(const struct ddm_system *sys, const struct ddm_config *cfg,
                         const struct ddm_model *model, struct ddm_train_report *report,
                         struct ddm_error *err) {
    struct recording fit, held;
    double sigma_obs;
    int code = data_noise_parse(cfg, &sigma_obs, err);
    if (!code) code = recording_split(sys->recording, cfg->data_holdout, &fit, &held, err);
    if (code) return code;
    struct diffusion_fit *out = sys->diffusion_fit;
    code = diffusion_fit_state(&fit, &held, network_drift, model, sigma_obs, out, err);
    recording_free(&fit);
    recording_free(&held);
    if (code) return code;
    const int length = diffusion_fit_text(out, sys->var_names, NULL, 0) + 1;
    free(out->text);
    out->text = ddm_alloc((size_t)length, "diffusion text", err);
    if (!out->text) return DDM_ERUNTIME;
    diffusion_fit_text(out, sys->var_names, out->text, (size_t)length);
    report->data_diffusion_fit = out;
    return DDM_OK;
}
