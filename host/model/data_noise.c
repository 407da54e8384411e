/* data_noise.c — the drift bias of measurement noise and its correction (docs/from_data.md).
 *
 * Observed y(t) = z(t) + η(t), η white Gaussian of covariance R. A drift target
 * Σ_j a_j y(t+jΔ)/Δ holds a_0 η(t)/Δ, and η(t) is part of the regressor y(t): by Tweedie's formula
 * (Efron, JASA 106, 1602 (2011)), exact for Gaussian η whatever the law of z,
 *
 *   E[η(t) | y(t)] = −R ∇ln p_y(y(t)),
 *
 * so E[target | y] = E[f(z) | y] + O(Δ^p) − a_0 R ∇ln p_y(y)/Δ: a bias of order R/(ΣΔ) that grows
 * as the sampling gets finer (for OU it is −R Σ_y⁻¹ y /Δ per unit a_0). Adding a_0 R ∇ln p̂_y/Δ to
 * every target removes it. What is left is E[f(z) | y] − f(y), of order R/Σ (no 1/Δ).
 *
 * The score ∇ln p_y is estimated by score matching (Hyvärinen, JMLR 6, 695 (2005)) on monomials
 * b(ŷ) of ŷ = (y − μ)/s up to degree 3 (k ≤ 4) or 2: the L²(p) projection of ∂_i ln p on the
 * basis has coefficients θ_i = −G⁻¹⟨∂_i b⟩, G = ⟨b bᵀ⟩ (integration by parts), exact for a
 * Gaussian. R is given (σ_obs² I) or estimated before training from the residuals r of a
 * polynomial drift fitted to the first-order increments: white noise enters two consecutive
 * increments with opposite signs, so ⟨r_t r_{t+1}ᵀ⟩ = −R; the estimate is made positive
 * semi-definite (negative eigenvalues, sampling noise when there is no noise, set to 0).
 */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/polynomial.h"
#include "ddm/train.h"

#define FIT_POINTS                                                                                 \
    200000 /* points (strided) of the score and drift fits: ample for ≤ 165 terms                \
            */

static void normalised(const struct data_noise_model *m, const double *y, double *yh) {
    for (int c = 0; c < m->k; c++) yh[c] = (y[c] - m->mean[c]) / m->scale[c];
}

/* b(ŷ) into b; with `grad` also ∂b/∂ŷ_i into grad[i * terms + a]. */
static void basis(const struct data_noise_model *m, const double *yh, double *b, double *grad) {
    double power[DDM_MAX_K][4];
    for (int c = 0; c < m->k; c++) {
        power[c][0] = 1;
        for (int q = 1; q < 4; q++) power[c][q] = power[c][q - 1] * yh[c];
    }
    for (int a = 0; a < m->terms; a++) {
        double v = 1;
        for (int c = 0; c < m->k; c++) v *= power[c][m->exponent[a][c]];
        b[a] = v;
        for (int i = 0; grad && i < m->k; i++) {
            const int e = m->exponent[a][i];
            double d = e > 0 ? e * power[i][e - 1] : 0;
            for (int c = 0; c < m->k && d != 0; c++)
                if (c != i) d *= power[c][m->exponent[a][c]];
            grad[i * m->terms + a] = d;
        }
    }
}

/* Solves (G + 1e-10·mean diag I) X = B for X (terms, width) in place of B; G (terms²) is kept. */
static int solve(int terms, const double *G, double *B, int width, struct ddm_error *err) {
    double *factor = ddm_alloc(sizeof(double) * terms * terms, "score fit", err);
    if (!factor) return DDM_ERUNTIME;
    double mean_diag = 0;
    for (int a = 0; a < terms; a++) mean_diag += G[a * terms + a] / terms;
    memcpy(factor, G, sizeof(double) * terms * terms);
    for (int a = 0; a < terms; a++) factor[a * terms + a] += 1e-10 * mean_diag;
    int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', terms, width, factor, terms, B, width);
    free(factor);
    return info ? ddm_fail(err, DDM_EUSAGE,
                           "[system] data: the samples are degenerate (a polynomial basis of "
                           "them is singular), so the measurement-noise drift correction cannot "
                           "be fitted; set data_noise = 0")
                : DDM_OK;
}

/* Every `stride`-th sample t of `part` that has a successor, as (trajectory-local) indices. */
#define FOR_STRIDED(part, stride, t)                                                               \
    for (int b_ = 0; b_ < (part)->trajectories; b_++)                                              \
        for (long t = (part)->offset[b_]; t + 1 < (part)->offset[b_ + 1]; t++)                     \
            if ((t - (part)->offset[b_]) % (stride) == 0)

/* Score matching: G = ⟨b bᵀ⟩, H_i = ⟨∂_i b⟩, coef_i = −G⁻¹ H_i. */
static int fit_score(const struct recording *part, long stride, struct data_noise_model *m,
                     double *G, struct ddm_error *err) {
    const int k = m->k, nb = m->terms;
    double *H = ddm_calloc((size_t)nb * k, sizeof(double), "score fit", err),
           *b = ddm_alloc(sizeof(double) * nb, "score fit", err),
           *grad = ddm_alloc(sizeof(double) * nb * k, "score fit", err);
    m->coef = ddm_alloc(sizeof(double) * nb * k, "score fit", err);
    int code = H && b && grad && m->coef ? DDM_OK : DDM_ERUNTIME;
    long count = 0;
    memset(G, 0, sizeof(double) * nb * nb);
    if (!code) {
        FOR_STRIDED(part, stride, t) {
            double yh[DDM_MAX_K];
            normalised(m, part->z + t * k, yh);
            basis(m, yh, b, grad);
            for (int a = 0; a < nb; a++) {
                for (int c = a; c < nb; c++) G[a * nb + c] += b[a] * b[c];
                for (int i = 0; i < k; i++) H[a * k + i] -= grad[i * nb + a];
            }
            count++;
        }
        for (int a = 0; a < nb; a++)
            for (int c = a; c < nb; c++) G[c * nb + a] = G[a * nb + c];
        code = solve(nb, G, H, k, err); /* H ← −G⁻¹⟨∂b⟩ (counts cancel) */
    }
    if (!code)
        for (int a = 0; a < nb; a++)
            for (int i = 0; i < k; i++) m->coef[i * nb + a] = H[a * k + i];
    free(H);
    free(b);
    free(grad);
    return code;
}

/* R̂ = −sym⟨r_t r_{t+1}ᵀ⟩ of the residuals of the least-squares polynomial drift (basis b, Gram G
 * of the same strided points up to a factor) of the first-order increments, made PSD. */
static int estimate_R(const struct recording *part, long stride, struct data_noise_model *m,
                      const double *G, struct ddm_error *err) {
    const int k = m->k, nb = m->terms;
    double *beta = ddm_calloc((size_t)nb * k, sizeof(double), "noise estimate", err),
           *b = ddm_alloc(sizeof(double) * nb, "noise estimate", err);
    int code = beta && b ? DDM_OK : DDM_ERUNTIME;
    if (!code) {
        FOR_STRIDED(part, stride, t) {
            double yh[DDM_MAX_K];
            normalised(m, part->z + t * k, yh);
            basis(m, yh, b, NULL);
            for (int a = 0; a < nb; a++)
                for (int i = 0; i < k; i++)
                    beta[a * k + i] += b[a] * (part->z[(t + 1) * k + i] - part->z[t * k + i]);
        }
        code = solve(nb, G, beta, k, err); /* increment per step = βᵀ b */
    }
    double C1[DDM_MAX_K * DDM_MAX_K] = {0};
    long pairs = 0;
    for (int bj = 0; !code && bj < part->trajectories; bj++)
        for (long t = part->offset[bj]; t + 2 < part->offset[bj + 1]; t += stride) {
            double r[2][DDM_MAX_K];
            for (int s = 0; s < 2; s++) {
                double yh[DDM_MAX_K];
                normalised(m, part->z + (t + s) * k, yh);
                basis(m, yh, b, NULL);
                for (int i = 0; i < k; i++) {
                    r[s][i] = part->z[(t + s + 1) * k + i] - part->z[(t + s) * k + i];
                    for (int a = 0; a < nb; a++) r[s][i] -= beta[a * k + i] * b[a];
                }
            }
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) C1[i * k + j] += r[0][i] * r[1][j];
            pairs++;
        }
    free(beta);
    free(b);
    if (code) return code;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            m->R[i * k + j] = -(C1[i * k + j] + C1[j * k + i]) / (2.0 * (pairs > 0 ? pairs : 1));
    return data_noise_psd(m->R, k, err);
}

int data_noise_psd(double *R, int k, struct ddm_error *err) {
    double V[DDM_MAX_K * DDM_MAX_K], w[DDM_MAX_K];
    memcpy(V, R, sizeof(double) * k * k);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', k, V, k, w))
        return ddm_fail(err, DDM_ERUNTIME, "the measurement-noise estimate did not converge");
    memset(R, 0, sizeof(double) * k * k);
    for (int q = 0; q < k; q++) /* R = V max(w, 0) Vᵀ; dsyev left the eigenvectors in columns */
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) R[i * k + j] += V[i * k + q] * fmax(w[q], 0) * V[j * k + q];
    return DDM_OK;
}

int data_noise_model_fit(const struct recording *fit, double sigma_obs, struct data_noise_model *m,
                         struct ddm_error *err) {
    const int k = fit->k;
    memset(m, 0, sizeof *m);
    m->k = k;
    if (sigma_obs == 0) return DDM_OK;
    m->active = 1;
    m->terms = monomials_graded(k, k <= 4 ? 3 : 2, m->exponent, DATA_NOISE_MAX_TERMS, NULL);
    const long samples = recording_samples(fit);
    for (int c = 0; c < k; c++) {
        double mean = 0, var = 0;
        for (long t = 0; t < samples; t++) mean += fit->z[t * k + c] / samples;
        for (long t = 0; t < samples; t++) var += pow(fit->z[t * k + c] - mean, 2) / samples;
        m->mean[c] = mean;
        m->scale[c] = var > 0 ? sqrt(var) : 1;
    }
    const long stride = samples > FIT_POINTS ? (samples + FIT_POINTS - 1) / FIT_POINTS : 1;
    double *G = ddm_alloc(sizeof(double) * m->terms * m->terms, "score fit", err);
    int code = G ? fit_score(fit, stride, m, G, err) : DDM_ERUNTIME;
    if (!code && sigma_obs < 0) code = estimate_R(fit, stride, m, G, err);
    for (int i = 0; !code && sigma_obs > 0 && i < k; i++) m->R[i * k + i] = sigma_obs * sigma_obs;
    free(G);
    if (code) data_noise_model_free(m);
    return code;
}

void data_noise_score(const struct data_noise_model *m, const double *y, double *score) {
    double yh[DDM_MAX_K] = {0}, b[DATA_NOISE_MAX_TERMS];
    normalised(m, y, yh);
    basis(m, yh, b, NULL);
    for (int i = 0; i < m->k; i++) {
        double s = 0;
        for (int a = 0; a < m->terms; a++) s += m->coef[i * m->terms + a] * b[a];
        score[i] = s / m->scale[i]; /* ∂ ln p/∂y_i = (∂ ln p̂/∂ŷ_i)/s_i */
    }
}

void data_noise_model_free(struct data_noise_model *m) {
    free(m->coef);
    m->coef = NULL;
}
