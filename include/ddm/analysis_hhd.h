/* analysis_hhd.h — Helmholtz–Hodge (time-irreversibility) split of a latent SDE and its entropy
 * production (docs/design.md §5).
 *
 * With stationary density p and D = ½σσᵀ: J = fp − ∇·(Dp), f = f_rev + f_irr,
 *   f_rev = D∇log p + ∇·D,   f_irr = J/p = f − f_rev,   Φ = ∫ f_irrᵀD⁻¹f_irr p dz  (nats / time).
 * p is a Gaussian kernel density estimate on a grid (k ≤ 3): samples are binned linearly (cloud in
 * cell) onto the grid points, then smoothed by a separable Gaussian; ∇log p by central differences.
 * Φ is estimated twice:
 *   grid:     Σ over the cells with p ≥ cut·max p of f_irrᵀD⁻¹f_irr p ΔV;
 *   samples:  for constant D, ∫∇log p · J dz = 0 and integration by parts give the exact identity
 *             Φ = ⟨fᵀD⁻¹f + ∇·f⟩_p, a plain average over the stationary samples (f and the trace of
 *             its exact Jacobian), free of the kernel's smoothing bias and valid for any k.
 * Error bars: the identity's over G batches of whole trajectories, std/√G; the grid Φ's by the
 * jackknife over the same batches, which also removes its noise bias (analysis_hhd.c).
 * Letters: P grid points, B trajectories, k latent dims, G batches.
 */
#ifndef DDM_ANALYSIS_HHD_H
#define DDM_ANALYSIS_HHD_H

#include "ddm/error.h"
#include "ddm/latent_grid.h"
#include "ddm/latent_process.h"

struct hhd_accumulator {
    const struct latent_process *process;
    int k, B, batches;
    int *batch_of; /* (B) batch of each trajectory: contiguous groups */
    /* density on the grid (grid.d == k), or grid_on = 0 */
    int grid_on;
    struct latent_grid grid;
    double *counts; /* (G,P) linearly binned samples */
    long *binned;   /* (G) samples inside the grid */
    /* the sample identity; identity_on = 0 when D depends on z or is singular */
    int identity_on;
    double D_chol[DDM_MAX_K * DDM_MAX_K]; /* Cholesky factor of the constant D */
    long stride;                          /* evaluated at every stride-th recorded time */
    double *partial;                      /* (B) scratch: per-trajectory sums of one slab */
    long *partial_count;                  /* (B) */
    double *identity_sum;                 /* (G) Σ fᵀD⁻¹f + ∇·f */
    long *identity_count;                 /* (G) */
};

/* grid: the density grid (spanning all k coordinates), or NULL for the sample identity only;
 * B trajectories in G batches (fewer when B < G); the identity at every stride-th time. */
int hhd_init(struct hhd_accumulator *acc, const struct latent_process *process,
             const struct latent_grid *grid, int B, int batches, long stride,
             struct ddm_error *err);
void hhd_free(struct hhd_accumulator *acc);

/* Adds the recorded times [t, t + count) of all B trajectories, z (B,count,k); t counts from the
 * first time used (after the burn-in), for the stride. */
void hhd_add(struct hhd_accumulator *acc, const float *z, int count, long t);

struct hhd_result {
    int grid_on;
    struct latent_grid grid;
    float *density;              /* (P) p, Σ p ΔV = 1 */
    float *f_rev, *f_irr;        /* (P,k), NaN outside the cells used */
    double bandwidth[DDM_MAX_K]; /* kernel std per coordinate */
    double bandwidth_fraction;   /* the same as a fraction of each coordinate's std */
    double mass;                 /* Σ p ΔV over the cells used */
    double phi_grid,
        phi_grid_err;            /* grid quadrature (NaN without a grid) with the first-order
                                    smoothing correction, less its jackknife noise bias ± the
                                    jackknife error and that bias in quadrature (analysis_hhd.c) */
    double phi_grid_noise_bias;  /* the jackknife estimate of the sampling noise's bias, removed */
    double phi_grid_uncorrected; /* weighted by the smoothed p̂ itself, neither bias removed */
    double smoothing_variance[DDM_MAX_K]; /* η = h² + Δ²/6 per grid coordinate (0 elsewhere) */
    double phi, phi_err;                  /* sample identity ± std/√G (NaN when not available) */
    long samples, identity_samples;       /* binned samples; samples in the identity */
    int batches;
    char note[256]; /* why an estimate is missing, or "" */
};

/* Smooths, differentiates and sums. std (k): the process' stationary std per coordinate (for
 * the bandwidth); bandwidth: kernel std as a fraction of it, or 0 to choose it by held-out score
 * matching among fractions 1 … 1/11 of the normal-reference rule of a density gradient,
 * (4/((d+4)N))^(1/(d+6)) with N the binned samples; cut: the cells used have p ≥ cut · max p. */
int hhd_finish(const struct hhd_accumulator *acc, const double *std, double bandwidth, double cut,
               struct hhd_result *result, struct ddm_error *err);
void hhd_result_free(struct hhd_result *result);

/* Cells whose drift and diffusion terms hhd_finish evaluates at once (in parallel), then sums in
 * order: bounds that scratch whatever the grid. */
#define HHD_TERMS_TILE 16384

/* The most bytes hhd_init and hhd_finish hold at once for a grid of P points (0: no grid), B
 * trajectories in G batches, k coordinates, the result included (host/run/memory_need.c). */
double hhd_peak_bytes(long P, int B, int G, int k);

#endif
