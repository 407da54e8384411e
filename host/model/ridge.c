/* ridge.c — the closed-form readout Ŵ_s of the training (docs/design.md §3): ridge least squares
 * on the hidden layer's Gram matrix, and for data the evidence-maximising λ (include/ddm/ridge.h).
 */
#include "ddm/ridge.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Solves (G + λ̄I) W = C for the first `features` features, W (features, width), in place of C
 * (on the device when the backend has train_solve, from the G, C of its last train_gram).
 * λ̄ = ridge · mean(diag G) makes λ independent of the number of points and of the scale. When G
 * is too ill-conditioned for the Cholesky factorisation, λ is raised ×100 until it succeeds (up
 * to 1e-3), and *ridge_used says which λ gave the solution. G and C are copied, not consumed. */
int ridge_solve(const struct ddm_backend *backend, void *ctx, const double *gram, int stride,
                int features, const double *cross, int width, double ridge, double *solution,
                double *ridge_used, struct ddm_error *err) {
    double mean_diag = 0;
    for (int i = 0; i < features; i++) mean_diag += gram[(size_t)i * stride + i] / features;
    double *factor = ddm_alloc(sizeof(double) * features * features, "ridge system", err);
    if (!factor) return DDM_ERUNTIME;
    int info = -1;
    for (double lambda = ridge; info != 0 && lambda <= fmax(ridge, 1e-3) * (1 + 1e-9);
         lambda = lambda > 0 ? lambda * 100 : 1e-12) {
        *ridge_used = lambda;
        if (backend->train_solve) { /* on the device, from the Gram matrix it kept */
            int code =
                backend->train_solve(ctx, features, lambda * mean_diag, solution, &info, err);
            if (code) {
                free(factor);
                return code;
            }
            continue;
        }
        for (int i = 0; i < features; i++) {
            memcpy(factor + (size_t)i * features, gram + (size_t)i * stride,
                   sizeof(double) * features);
            factor[(size_t)i * features + i] += lambda * mean_diag;
            memcpy(solution + (size_t)i * width, cross + (size_t)i * width, sizeof(double) * width);
        }
        info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', features, width, factor, features, solution,
                             width);
    }
    free(factor);
    if (info != 0)
        return ddm_fail(err, DDM_ERUNTIME,
                        "the ridge system stays singular up to λ = 1e-3 (LAPACK dposv info %d): "
                        "are the training points degenerate?",
                        info);
    return DDM_OK;
}

/* Ŵ_s from the ridge solve of λ on a Gram matrix G, C already computed (*used: the λ that
 * solved); the backend's copy of the parameters is not updated. */
int ridge_readout_from_gram(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                            const double *gram, const double *cross, double *solution,
                            double lambda, double *used, struct ddm_error *err) {
    const int n = model->n, k = model->k;
    int code = ridge_solve(backend, ctx, gram, n + 1, n, cross, k, lambda, solution, used, err);
    for (int i = 0; !code && i < n; i++)
        for (int c = 0; c < k; c++)
            model->Ws[(size_t)c * n + i] = (float)solution[(size_t)i * k + c];
    return code;
}

/* Ŵ_s by ridge least squares on the current hidden layer: Ŵ_sᵀ = (HHᵀ + λ̄I)⁻¹ H Yᵀ. */
int ridge_readout(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                  double ridge, double *gram, double *cross, double *solution, double *ridge_used,
                  struct ddm_error *err) {
    int code = backend->train_gram(ctx, NULL, model->k, gram, cross, err);
    if (!code)
        code = ridge_readout_from_gram(backend, ctx, model, gram, cross, solution, ridge,
                                       ridge_used, err);
    return code ? code : backend->train_params(ctx, model, 1, err);
}

/* The evidence-maximising ridge λ (relative to mean diag G) of the Bayesian linear model
 * y_c = Hᵀw_c + noise of precision β, w_c ~ N(0, I/α), by MacKay's fixed point (Neural Comput. 4,
 * 415 (1992); Bishop, PRML §3.5.2): with G = V diag(d) Vᵀ and p_i = Σ_c (VᵀC)_ic²,
 * γ = Σ βd_i/(α + βd_i), α = kγ/Σ‖m_c‖², β = k(M − γ)/Σ‖y_c − Hᵀm_c‖², λ̄ = α/β. */
int ridge_evidence(const double *gram, const double *cross, int n, int k, int M, double yy,
                   double *lambda, struct ddm_error *err) {
    double *V = ddm_alloc(sizeof(double) * n * n, "evidence", err),
           *d = ddm_alloc(sizeof(double) * n, "evidence", err),
           *p = ddm_calloc(n, sizeof(double), "evidence", err);
    int code = V && d && p ? DDM_OK : DDM_ERUNTIME;
    double mean_diag = 0;
    for (int i = 0; !code && i < n; i++) {
        memcpy(V + (size_t)i * n, gram + (size_t)i * (n + 1), sizeof(double) * n);
        mean_diag += gram[(size_t)i * (n + 1) + i] / n;
    }
    if (!code && LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', n, V, n, d))
        code = ddm_fail(err, DDM_ERUNTIME, "the evidence of the ridge did not converge");
    for (int i = 0; !code && i < n; i++) /* eigenvector i is column i of V */
        for (int c = 0; c < k; c++) {
            double proj = 0;
            for (int j = 0; j < n; j++) proj += V[(size_t)j * n + i] * cross[(size_t)j * k + c];
            p[i] += proj * proj;
        }
    double alpha = mean_diag * 1e-6, beta = k * (double)M / fmax(yy, 1e-300);
    for (int iteration = 0; !code && iteration < 200; iteration++) {
        double gamma = 0, m2 = 0, fit = 0;
        for (int i = 0; i < n; i++) {
            const double di = fmax(d[i], 0), w = beta / (alpha + beta * di);
            gamma += beta * di / (alpha + beta * di);
            m2 += w * w * p[i];
            fit += (2 * w - di * w * w) * p[i]; /* 2mᵀC − mᵀGm */
        }
        const double next_alpha = k * gamma / fmax(m2, 1e-300),
                     next_beta = k * (M - gamma) / fmax(yy - fit, 1e-300 * yy);
        const int settled = fabs(next_alpha / next_beta - alpha / beta) <= 1e-6 * alpha / beta;
        alpha = next_alpha, beta = next_beta;
        if (settled) break;
    }
    *lambda = alpha / beta / mean_diag;
    free(V);
    free(d);
    free(p);
    return code;
}
