/* analysis_pca.h — PCA of neuron-space states and the recovery of the latent coordinates
 * (docs/design.md §5, the paper's Fig 4).
 *
 * A noise-free low-rank network on its manifold has exactly k non-zero principal components, and
 * their span is range Γ̂. From the top-k PCs U_k and the PC coordinates y = U_kᵀ(x − x̄) the latent
 * read-out is an affine map: ẑ = A y + c with A = Γ̂⁺U_k, c = Γ̂⁺(x̄ − b), z = μ + s ⊙ ẑ; off the
 * manifold (per-neuron noise, off-manifold starts) the PCs tilt away from range Γ̂, which the
 * principal angles and the R² of the recovery measure.
 * Letters: N states, n neurons, k latent dims, B trajectories × S states each.
 */
#ifndef DDM_ANALYSIS_PCA_H
#define DDM_ANALYSIS_PCA_H

#include "ddm/analysis_tick.h"
#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/error.h"
#include "ddm/model.h"
#include "ddm/system.h"

#define PCA_SIGNIFICANT 1e-6 /* a component "is non-zero" above this share of the variance */
#define PCA_MAX_RANK    2048 /* above this many states and neurons the states are subsampled */

/* The top `keep` eigenpairs of the covariance of the states X (N,n): mean (n), eigenvalues
 * (keep, descending), total variance (the trace), U (n,keep) orthonormal eigenvectors. Works on
 * the smaller of the n×n covariance and the N×N Gram matrix (double precision, LAPACK dsyevr). */
int pca_of_states(const float *X, long N, int n, int keep, double *mean, double *eigenvalues,
                  double *total, double *U, struct ddm_error *err);

/* Principal angles in degrees (k, ascending) between span U (n,k) with orthonormal columns and
 * range Γ̂ (n,k): θᵢ = atan2(sᵢ, cᵢ), cᵢ the singular values of QᵀU (Q an orthonormal basis of
 * range Γ̂) and sᵢ those of U − QQᵀU, accurate for small angles too. */
int pca_principal_angles(const double *U, const float *Gamma, int n, int k, double *angles_deg,
                         struct ddm_error *err);

struct pca_result {
    int kept;    /* explained-variance ratios stored */
    long states; /* states in the covariance */
    int B, S;    /* trajectories × states of the stored coordinates */
    double total_variance;
    double *explained; /* (kept) λᵢ / Σλ, descending */
    int significant;   /* components above PCA_SIGNIFICANT of the variance */
    double angles_deg[DDM_MAX_K];
    double map_A[DDM_MAX_K * DDM_MAX_K], map_c[DDM_MAX_K]; /* ẑ = A y + c */
    double r2[DDM_MAX_K];                                  /* recovery R² of each coordinate */
    float *pc;                                             /* (B,S,k) PC coordinates y */
    float *latent;    /* (B,S,k) the read-out z = μ + s ⊙ Γ̂⁺(x − b) */
    float *recovered; /* (B,S,k) μ + s ⊙ (A y + c) */
    double seconds;
};

/* Simulates [analysis] pca_trajectories × pca_samples states through the backend (with the
 * configuration's dt, init and neuron noise, an independent noise stream, no burn-in) and
 * analyses them. */
int analysis_pca(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct analysis_tick *tick, struct pca_result *out, struct ddm_error *err);
void pca_result_free(struct pca_result *out);

#endif
