/* latent_process.c — network and target as latent SDEs for the analysis, and the small dense
 * algebra (k ≤ 8) of D = ½σσᵀ that the entropy production needs.
 */
#include "ddm/latent_process.h"

#include <math.h>

static void network_drift(const void *ctx, const double *z, double *f, double *jac) {
    model_latent_drift(ctx, z, f, jac);
}

static void network_diffusion(const void *ctx, const double *z, double *sigma) {
    model_latent_diffusion(ctx, z, sigma);
}

static void target_drift(const void *ctx, const double *z, double *f, double *jac) {
    if (jac)
        system_drift_jacobian(ctx, z, f, jac);
    else
        system_drift(ctx, z, f);
}

static void target_diffusion(const void *ctx, const double *z, double *sigma) {
    system_diffusion(ctx, z, sigma);
}

struct latent_process latent_process_network(const struct ddm_model *model) {
    struct latent_process p = {"rnn",         model->k,          model->m, model->V == NULL,
                               network_drift, network_diffusion, model};
    return p;
}

struct latent_process latent_process_target(const struct ddm_system *sys) {
    struct latent_process p = {"target",     sys->k,           sys->m, sys->diffusion_constant,
                               target_drift, target_diffusion, sys};
    return p;
}

void latent_process_D(const struct latent_process *p, const double *z, double *D) {
    const int k = p->k, m = p->m;
    double sigma[DDM_MAX_K * DDM_MAX_M];
    p->diffusion(p->ctx, z, sigma);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double sum = 0;
            for (int q = 0; q < m; q++) sum += sigma[i * m + q] * sigma[j * m + q];
            D[i * k + j] = 0.5 * sum;
        }
}

int spd_cholesky(int k, const double *A, double *L) {
    for (int i = 0; i < k * k; i++) L[i] = 0;
    for (int j = 0; j < k; j++) {
        double diag = A[j * k + j];
        for (int q = 0; q < j; q++) diag -= L[j * k + q] * L[j * k + q];
        /* relative test: a D with a zero direction has no inverse (Φ is then infinite) */
        if (!(diag > 1e-14 * fabs(A[j * k + j]))) return -1;
        L[j * k + j] = sqrt(diag);
        for (int i = j + 1; i < k; i++) {
            double sum = A[i * k + j];
            for (int q = 0; q < j; q++) sum -= L[i * k + q] * L[j * k + q];
            L[i * k + j] = sum / L[j * k + j];
        }
    }
    return 0;
}

void spd_solve(int k, const double *L, const double *v, double *x) {
    double y[DDM_MAX_K];
    for (int i = 0; i < k; i++) { /* L y = v */
        double sum = v[i];
        for (int q = 0; q < i; q++) sum -= L[i * k + q] * y[q];
        y[i] = sum / L[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) { /* Lᵀ x = y */
        double sum = y[i];
        for (int q = i + 1; q < k; q++) sum -= L[q * k + i] * x[q];
        x[i] = sum / L[i * k + i];
    }
}
