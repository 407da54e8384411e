/* model.c — the network's arrays, its pseudo-inverse, and exact latent drift and read-out.
 *
 * These are the host-side, double-precision views of the trained network used by training
 * reports (ε_f), analysis and the read-out of recorded states (docs/design.md §2).
 */
#include "ddm/model.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int model_alloc(struct ddm_model *model, int n, int k, int m, int state_dependent,
                struct ddm_error *err) {
    memset(model, 0, sizeof *model);
    model->n = n;
    model->k = k;
    model->m = m;
    model->Gamma = ddm_calloc((size_t)n * k, sizeof(float), "Γ̂", err);
    model->Ws = ddm_calloc((size_t)k * n, sizeof(float), "Ŵ_s", err);
    model->b = ddm_calloc(n, sizeof(float), "b", err);
    model->Gamma_pinv = ddm_calloc((size_t)k * n, sizeof(float), "Γ̂⁺", err);
    if (state_dependent) {
        model->V = ddm_calloc((size_t)k * m * n, sizeof(float), "V", err);
        model->c = ddm_calloc((size_t)k * m, sizeof(float), "c", err);
    } else {
        model->S = ddm_calloc((size_t)k * m, sizeof(float), "Ŝ", err);
    }
    for (int i = 0; i < k; i++) model->latent_scale[i] = 1;
    if (!model->Gamma || !model->Ws || !model->b || !model->Gamma_pinv ||
        (state_dependent ? !model->V || !model->c : !model->S)) {
        model_free(model);
        return DDM_ERUNTIME;
    }
    return DDM_OK;
}

void model_free(struct ddm_model *model) {
    free(model->Gamma);
    free(model->Ws);
    free(model->b);
    free(model->S);
    free(model->V);
    free(model->c);
    free(model->Gamma_pinv);
    memset(model, 0, sizeof *model);
}

int model_update_pinv(struct ddm_model *model, struct ddm_error *err) {
    int n = model->n, k = model->k;
    /* Γ̂⁺ = (Γ̂ᵀΓ̂)⁻¹Γ̂ᵀ through a Cholesky factor of the k×k Gram matrix, in double */
    double gram[DDM_MAX_K * DDM_MAX_K] = {0};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++)
                gram[a * k + c] += (double)model->Gamma[i * k + a] * model->Gamma[i * k + c];
    double *rhs = ddm_alloc(sizeof(double) * k * n, "Γ̂ᵀ", err);
    if (!rhs) return DDM_ERUNTIME;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < k; a++) rhs[a * n + i] = model->Gamma[i * k + a];
    int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', k, n, gram, k, rhs, n);
    if (info != 0) {
        free(rhs);
        return ddm_fail(err, DDM_ERUNTIME,
                        "Γ̂ is rank deficient (Cholesky of Γ̂ᵀΓ̂ failed at %d): the network has "
                        "no %d-dimensional latent subspace",
                        info, k);
    }
    for (size_t i = 0; i < (size_t)k * n; i++) model->Gamma_pinv[i] = (float)rhs[i];
    free(rhs);
    return DDM_OK;
}

void model_perceptron(const struct ddm_model *model, const double *z_hat, double *out) {
    int n = model->n, k = model->k;
    for (int c = 0; c < k; c++) out[c] = 0;
    for (int i = 0; i < n; i++) {
        double pre = model->b[i];
        for (int c = 0; c < k; c++) pre += (double)model->Gamma[i * k + c] * z_hat[c];
        double h = tanh(pre);
        for (int c = 0; c < k; c++) out[c] += (double)model->Ws[c * n + i] * h;
    }
}

void model_latent_drift(const struct ddm_model *model, const double *z, double *f, double *jac) {
    int n = model->n, k = model->k;
    const double *mu = model->latent_mean, *s = model->latent_scale;
    double z_hat[DDM_MAX_K], out[DDM_MAX_K] = {0};
    double d_out[DDM_MAX_K * DDM_MAX_K] = {0}; /* ∂F̂_c/∂ẑ_j */
    for (int c = 0; c < k; c++) z_hat[c] = (z[c] - mu[c]) / s[c];
    for (int i = 0; i < n; i++) {
        double pre = model->b[i];
        for (int c = 0; c < k; c++) pre += (double)model->Gamma[i * k + c] * z_hat[c];
        double h = tanh(pre);
        for (int c = 0; c < k; c++) out[c] += (double)model->Ws[c * n + i] * h;
        if (!jac) continue;
        double slope = 1 - h * h;
        for (int c = 0; c < k; c++) {
            double w = (double)model->Ws[c * n + i] * slope;
            for (int j = 0; j < k; j++) d_out[c * k + j] += w * model->Gamma[i * k + j];
        }
    }
    /* f = s ⊙ (F̂ − ẑ)/τ; with ẑ_j = (z_j − μ_j)/s_j, ∂f_c/∂z_j = s_c (∂F̂_c/∂ẑ_j − δ_cj)/(τ s_j) */
    for (int c = 0; c < k; c++) {
        f[c] = s[c] * (out[c] - z_hat[c]) / model->tau;
        if (jac)
            for (int j = 0; j < k; j++)
                jac[c * k + j] = s[c] * (d_out[c * k + j] - (c == j)) / (model->tau * s[j]);
    }
}

void model_latent_diffusion(const struct ddm_model *model, const double *z, double *sigma) {
    int n = model->n, k = model->k, m = model->m;
    for (int q = 0; q < k * m; q++) sigma[q] = model->S ? model->S[q] : model->c[q];
    if (model->V) {
        double z_hat[DDM_MAX_K];
        for (int c = 0; c < k; c++)
            z_hat[c] = (z[c] - model->latent_mean[c]) / model->latent_scale[c];
        for (int i = 0; i < n; i++) {
            double pre = model->b[i];
            for (int c = 0; c < k; c++) pre += (double)model->Gamma[i * k + c] * z_hat[c];
            double h = tanh(pre);
            for (int q = 0; q < k * m; q++) sigma[q] += (double)model->V[(size_t)q * n + i] * h;
        }
    }
    for (int c = 0; c < k; c++)
        for (int j = 0; j < m; j++) sigma[c * m + j] *= model->latent_scale[c];
}

void model_readout(const struct ddm_model *model, const float *x, double *z) {
    int n = model->n, k = model->k;
    for (int c = 0; c < k; c++) {
        double acc = 0;
        for (int i = 0; i < n; i++)
            acc += (double)model->Gamma_pinv[(size_t)c * n + i] * ((double)x[i] - model->b[i]);
        z[c] = model->latent_mean[c] + model->latent_scale[c] * acc;
    }
}

void model_embed(const struct ddm_model *model, const double *z, float *x) {
    int n = model->n, k = model->k;
    double z_hat[DDM_MAX_K];
    for (int c = 0; c < k; c++) z_hat[c] = (z[c] - model->latent_mean[c]) / model->latent_scale[c];
    for (int i = 0; i < n; i++) {
        double acc = model->b[i];
        for (int c = 0; c < k; c++) acc += (double)model->Gamma[i * k + c] * z_hat[c];
        x[i] = (float)acc;
    }
}
