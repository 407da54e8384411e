/* analysis_pca.c — PCA of neuron states, principal angles to range Γ̂, and the affine recovery of
 * the latent coordinates from the PC coordinates (docs/design.md §5, the paper's Fig 4).
 *
 * The states come from a short simulation through the backend's own simulate_run (every neuron
 * traced), so starts, off-manifold displacement and per-neuron noise are exactly the run's. The
 * covariance C = XcᵀXc/(N − 1) (or the Gram matrix XcXcᵀ when N < n) is formed by cblas_dsyrk
 * and its top eigenpairs found by LAPACKE_dsyevr, in double precision.
 */
#include "ddm/analysis_pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/orthonormal.h"
#include "ddm/philox.h"
#include "ddm/simulate.h"

int pca_of_states(const float *X, long N, int n, int keep, double *mean, double *eigenvalues,
                  double *total, double *U, struct ddm_error *err) {
    const long dim = N < n ? N : n; /* size of the eigenproblem */
    if (keep < 1 || keep > dim)
        return ddm_fail(err, DDM_ERUNTIME, "PCA: %d components asked of %ld states of %d neurons",
                        keep, N, n);
    double *Xc = ddm_alloc(sizeof(double) * N * n, "centred states", err);
    double *C = ddm_alloc(sizeof(double) * dim * dim, "covariance", err);
    double *V = ddm_alloc(sizeof(double) * dim * keep, "eigenvectors", err);
    int *support = ddm_alloc(sizeof(int) * 2 * keep, "eigenvector support", err);
    /* dsyevr fills all of W (dim) even when it returns only `keep` eigenpairs */
    double *ascending = ddm_alloc(sizeof(double) * dim, "eigenvalues", err);
    if (!Xc || !C || !V || !support || !ascending) {
        free(Xc), free(C), free(V), free(support), free(ascending);
        return DDM_ERUNTIME;
    }
    for (int i = 0; i < n; i++) mean[i] = 0;
    for (long s = 0; s < N; s++)
        for (int i = 0; i < n; i++) mean[i] += X[s * n + i];
    for (int i = 0; i < n; i++) mean[i] /= N;
    *total = 0;
    for (long s = 0; s < N; s++)
        for (int i = 0; i < n; i++) {
            double v = X[s * n + i] - mean[i];
            Xc[s * n + i] = v;
            *total += v * v;
        }
    *total /= N - 1;
    const double scale = 1.0 / (N - 1);
    if (N >= n) /* C (n,n) = XcᵀXc/(N−1) */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, N, scale, Xc, n, 0, C, n);
    else /* the Gram matrix (N,N) = XcXcᵀ/(N−1) has the same non-zero eigenvalues */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, N, n, scale, Xc, n, 0, C, N);
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', dim, C, dim, 0, 0,
                                     dim - keep + 1, dim, 0, &found, ascending, V, keep, support);
    int code = DDM_OK;
    if (info != 0 || found != keep) {
        code =
            ddm_fail(err, DDM_ERUNTIME, "PCA: LAPACK dsyevr failed (info %d) on a %ld×%ld matrix",
                     (int)info, dim, dim);
    } else {
        for (int j = 0; j < keep; j++) eigenvalues[j] = ascending[keep - 1 - j];
        for (int j = 0; j < keep; j++) {
            const int col = keep - 1 - j;
            if (N >= n) {
                for (int i = 0; i < n; i++) U[(size_t)i * keep + j] = V[(size_t)i * keep + col];
            } else { /* u = Xcᵀv / ‖Xcᵀv‖ */
                double norm = 0;
                for (int i = 0; i < n; i++) {
                    double sum = 0;
                    for (long s = 0; s < N; s++) sum += Xc[s * n + i] * V[(size_t)s * keep + col];
                    U[(size_t)i * keep + j] = sum;
                    norm += sum * sum;
                }
                norm = sqrt(norm);
                for (int i = 0; i < n; i++) U[(size_t)i * keep + j] /= norm > 0 ? norm : 1;
            }
        }
    }
    free(Xc), free(C), free(V), free(support), free(ascending);
    return code;
}

/* Singular values (descending) of A (rows, cols), row-major, destroyed. */
static int singular_values(double *A, int rows, int cols, double *values) {
    double superb[DDM_MAX_K];
    return LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', rows, cols, A, cols, values, NULL, 1, NULL, 1,
                          superb);
}

int pca_principal_angles(const double *U, const float *Gamma, int n, int k, double *angles_deg,
                         struct ddm_error *err) {
    double *Q = ddm_alloc(sizeof(double) * n * k, "basis of range Γ̂", err);
    double *R = ddm_alloc(sizeof(double) * n * k, "residual", err);
    if (!Q || !R) {
        free(Q), free(R);
        return DDM_ERUNTIME;
    }
    /* Q: an orthonormal basis of range Γ̂, two Gram–Schmidt passes per column */
    for (size_t q = 0; q < (size_t)n * k; q++) Q[q] = Gamma[q];
    if (orthonormalise_columns(n, k, Q, 2, NULL)) {
        free(Q), free(R);
        return ddm_fail(err, DDM_ERUNTIME, "PCA: the columns of Γ̂ are linearly dependent");
    }
    double M[DDM_MAX_K * DDM_MAX_K] = {0}, cosines[DDM_MAX_K], sines[DDM_MAX_K];
    for (int a = 0; a < k; a++) /* M = QᵀU */
        for (int b = 0; b < k; b++)
            for (int r = 0; r < n; r++) M[a * k + b] += Q[r * k + a] * U[r * k + b];
    for (int r = 0; r < n; r++) /* R = U − QM */
        for (int b = 0; b < k; b++) {
            double along = 0;
            for (int a = 0; a < k; a++) along += Q[r * k + a] * M[a * k + b];
            R[r * k + b] = U[r * k + b] - along;
        }
    int info = singular_values(M, k, k, cosines);
    if (!info) info = singular_values(R, n, k, sines);
    free(Q), free(R);
    if (info)
        return ddm_fail(err, DDM_ERUNTIME, "PCA: LAPACK dgesvd failed (info %d) for the angles",
                        info);
    /* the largest cosine pairs with the smallest sine */
    for (int i = 0; i < k; i++) angles_deg[i] = atan2(sines[k - 1 - i], cosines[i]) * 180 / M_PI;
    return DDM_OK;
}

void pca_result_free(struct pca_result *out) {
    free(out->explained);
    free(out->pc);
    free(out->latent);
    free(out->recovered);
    out->explained = NULL;
    out->pc = out->latent = out->recovered = NULL;
}

/* Keeps every traced state of the PCA simulation: chunk traces (B,count,n) → X (B,S,n). */
struct state_sink {
    float *X;
    int S, n;
    const struct analysis_tick *tick;
};

static int keep_states(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    struct state_sink *sink = user;
    for (int b = 0; b < chunk->trace_B; b++)
        memcpy(sink->X + ((size_t)b * sink->S + chunk->first) * sink->n,
               chunk->traces + (size_t)b * chunk->count * chunk->trace_n,
               sizeof(float) * chunk->count * chunk->trace_n);
    analysis_tick(sink->tick, 0.8 * (chunk->first + chunk->count) / sink->S);
    return DDM_OK;
}

/* The states, simulated as the run would (its starts, init, dt, neuron noise), own noise. */
static int simulate_states(const struct ddm_backend *backend, const struct ddm_system *sys,
                           const struct ddm_model *model, const struct ddm_config *cfg,
                           const struct analysis_tick *tick, float *X, struct ddm_error *err) {
    const int B = cfg->pca_trajectories, S = cfg->pca_samples, n = model->n;
    struct ddm_config own = *cfg; /* shares the strings; only numbers change */
    own.seed = ddm_stream_seed(cfg->seed, DDM_STREAM_ANALYSIS);
    own.trajectories = B;
    own.record_every = cfg->pca_every;
    own.steps = (long)(S - 1) * cfg->pca_every;
    own.burn_in = 0;
    /* the covariance needs every state: a blow-up (NaN/Inf) fails the PCA whatever the run's
     * on_nonfinite, and the run's blowup_bound, a guard on the recorded read-out, does not apply */
    own.on_nonfinite = NONFINITE_STOP;
    own.blowup_bound = 0;
    struct ddm_sim_layout layout = {.B = B, .k = model->k, .T = S, .trace_B = B, .trace_n = n};
    layout.trace_neurons = ddm_alloc(sizeof(int) * n, "PCA neurons", err);
    if (!layout.trace_neurons) return DDM_ERUNTIME;
    for (int i = 0; i < n; i++) layout.trace_neurons[i] = i;
    struct state_sink sink = {X, S, n, tick};
    struct ddm_sim_report report;
    int code =
        simulate_run(backend, sys, model, &own, &layout, keep_states, &sink, &report, 1, err);
    if (code) ddm_error_prefix(err, "PCA states");
    sim_report_free(&report);
    free(layout.trace_neurons);
    return code;
}

/* Angles, affine map, coordinates and R² from the top-k eigenvectors U (n,keep). */
static void recover(const struct ddm_model *model, const float *X, const double *mean,
                    const double *U, int keep, struct pca_result *out) {
    const int n = model->n, k = model->k;
    const long N = (long)out->B * out->S;
    for (int a = 0; a < k; a++) { /* A = Γ̂⁺U_k, c = Γ̂⁺(x̄ − b) */
        out->map_c[a] = 0;
        for (int i = 0; i < n; i++)
            out->map_c[a] += (double)model->Gamma_pinv[(size_t)a * n + i] * (mean[i] - model->b[i]);
        for (int j = 0; j < k; j++) {
            double sum = 0;
            for (int i = 0; i < n; i++)
                sum += (double)model->Gamma_pinv[(size_t)a * n + i] * U[(size_t)i * keep + j];
            out->map_A[a * k + j] = sum;
        }
    }
#pragma omp parallel for schedule(static)
    for (long s = 0; s < N; s++) {
        const float *x = X + s * n;
        double y[DDM_MAX_K] = {0}, z[DDM_MAX_K];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) y[j] += U[(size_t)i * keep + j] * (x[i] - mean[i]);
        model_readout(model, x, z);
        for (int a = 0; a < k; a++) {
            double z_hat = out->map_c[a];
            for (int j = 0; j < k; j++) z_hat += out->map_A[a * k + j] * y[j];
            out->pc[s * k + a] = (float)y[a];
            out->latent[s * k + a] = (float)z[a];
            out->recovered[s * k + a] =
                (float)(model->latent_mean[a] + model->latent_scale[a] * z_hat);
        }
    }
    for (int a = 0; a < k; a++) {
        double mean_z = 0, total = 0, residual = 0;
        for (long s = 0; s < N; s++) mean_z += out->latent[s * k + a] / (double)N;
        for (long s = 0; s < N; s++) {
            total += pow(out->latent[s * k + a] - mean_z, 2);
            residual += pow((double)out->recovered[s * k + a] - out->latent[s * k + a], 2);
        }
        out->r2[a] = total > 0 ? 1 - residual / total : NAN;
    }
}

int analysis_pca(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct analysis_tick *tick, struct pca_result *out, struct ddm_error *err) {
    const double t0 = now_seconds();
    const int n = model->n, k = model->k;
    memset(out, 0, sizeof *out);
    out->B = cfg->pca_trajectories;
    out->S = cfg->pca_samples;
    const long N = (long)out->B * out->S;
    /* a very large problem uses every stride-th state for the covariance */
    const long stride =
        N > PCA_MAX_RANK && n > PCA_MAX_RANK ? (N + PCA_MAX_RANK - 1) / PCA_MAX_RANK : 1;
    out->states = (N + stride - 1) / stride;
    const long dim = out->states < n ? out->states : n;
    if (dim <= k) /* analysis_check has ruled out too few states: here too few neurons */
        return ddm_fail(err, DDM_EUSAGE, "PCA: %ld states of %d neurons cannot show %d components",
                        out->states, n, k);
    const int keep = (int)(cfg->pca > k ? (cfg->pca < dim ? cfg->pca : dim) : k);
    float *X = ddm_alloc(sizeof(float) * N * n, "PCA states", err);
    double *mean = ddm_alloc(sizeof(double) * n, "mean state", err);
    double *U = ddm_alloc(sizeof(double) * n * keep, "principal components", err);
    double *values = ddm_alloc(sizeof(double) * keep, "eigenvalues", err);
    out->explained = ddm_alloc(sizeof(double) * keep, "explained variance", err);
    out->pc = ddm_alloc(sizeof(float) * N * k, "PC coordinates", err);
    out->latent = ddm_alloc(sizeof(float) * N * k, "read-out", err);
    out->recovered = ddm_alloc(sizeof(float) * N * k, "recovered", err);
    int code =
        X && mean && U && values && out->explained && out->pc && out->latent && out->recovered
            ? DDM_OK
            : DDM_ERUNTIME;
    float *used = X; /* the states in the covariance: all, or every stride-th in a copy */
    if (!code) code = simulate_states(backend, sys, model, cfg, tick, X, err);
    if (!code && stride > 1) {
        used = ddm_alloc(sizeof(float) * out->states * n, "subsampled states", err);
        if (!used) code = DDM_ERUNTIME;
        for (long s = 0; !code && s < out->states; s++)
            memcpy(used + s * n, X + s * stride * n, sizeof(float) * n);
    }
    if (!code)
        code =
            pca_of_states(used, out->states, n, keep, mean, values, &out->total_variance, U, err);
    if (used != X) free(used);
    analysis_tick(tick, 0.9);
    double *U_k = code ? NULL : ddm_alloc(sizeof(double) * n * k, "top-k components", err);
    if (!code && !U_k) code = DDM_ERUNTIME;
    for (int i = 0; !code && i < n; i++)
        memcpy(U_k + (size_t)i * k, U + (size_t)i * keep, sizeof(double) * k);
    if (!code) code = pca_principal_angles(U_k, model->Gamma, n, k, out->angles_deg, err);
    free(U_k);
    if (!code) {
        out->kept = cfg->pca < keep ? cfg->pca : keep;
        for (int j = 0; j < keep; j++) {
            double share = out->total_variance > 0 ? values[j] / out->total_variance : 0;
            if (j < out->kept) out->explained[j] = share;
            out->significant += share > PCA_SIGNIFICANT;
        }
    }
    if (!code) recover(model, X, mean, U, keep, out);
    free(X), free(mean), free(U), free(values);
    if (code) pca_result_free(out);
    out->seconds = now_seconds() - t0;
    analysis_tick(tick, 1);
    return code;
}
