/* latent_process.h — the latent SDE dz = f(z) dt + σ(z) dB as the analysis sees it: the network's
 * on its manifold (f_RNN, σ_RNN in original coordinates, docs/design.md §2) or the target's, behind
 * one pair of function pointers, so that the Helmholtz–Hodge split, the Lyapunov spectra and the
 * entropy production run the same code for both.
 */
#ifndef DDM_LATENT_PROCESS_H
#define DDM_LATENT_PROCESS_H

#include "ddm/model.h"
#include "ddm/system.h"

struct latent_process {
    const char *name; /* "rnn" or "target": the HDF5 group and the summary label */
    int k, m;
    int diffusion_constant; /* σ does not depend on z */
    /* f (k) at z (k); with jac non-NULL also ∂f_i/∂z_j (k,k) row-major. Thread-safe. */
    void (*drift)(const void *ctx, const double *z, double *f, double *jac);
    /* σ (k,m) at z. Thread-safe. */
    void (*diffusion)(const void *ctx, const double *z, double *sigma);
    const void *ctx;
};

/* The network's latent process: f_RNN = model_latent_drift, σ_RNN = model_latent_diffusion. */
struct latent_process latent_process_network(const struct ddm_model *model);
/* The target: system_drift(_jacobian), system_diffusion. */
struct latent_process latent_process_target(const struct ddm_system *sys);

/* D (k,k) = ½ σσᵀ at z. */
void latent_process_D(const struct latent_process *p, const double *z, double *D);

/* Cholesky factor L (k,k) of a symmetric positive definite A, lower triangle; returns -1 when A
 * is not positive definite. */
int spd_cholesky(int k, const double *A, double *L);
/* x (k) = A⁻¹ v from the Cholesky factor L of A; x may alias v. */
void spd_solve(int k, const double *L, const double *v, double *x);

#endif
