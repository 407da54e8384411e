/* analysis_lyapunov.h — Lyapunov spectra of the noise-free latent flow dz/dt = f(z) (DESIGN §5).
 *
 * Benettin's method: the flow and its variational equation dQ/dt = J(z)Q (J the exact Jacobian
 * of f) are integrated together by RK4; Q (k,k) is re-orthonormalised by modified Gram–Schmidt
 * after every step, Q = Q'R, and λᵢ = (1/T) Σ ln Rᵢᵢ over the averaged steps. The Kaplan–Yorke
 * dimension D_KY = j + (λ₁ + … + λⱼ)/|λⱼ₊₁|, j the largest index with λ₁ + … + λⱼ ≥ 0.
 */
#ifndef DDM_ANALYSIS_LYAPUNOV_H
#define DDM_ANALYSIS_LYAPUNOV_H

#include "ddm/analysis.h"
#include "ddm/latent_process.h"

/* Advances the state z (k) and the orthonormal frame Q (k,k) by `steps` RK4 steps of size dt;
 * adds ln Rᵢᵢ of every step to log_growth (k) when it is not NULL. Returns 0, or -1 when the
 * flow left the finite range. */
int lyapunov_advance(const struct latent_process *p, double *z, double *Q, double dt, long steps,
                     double *log_growth);

/* The spectrum λ (k, descending) from z0 (k): `transient` steps, then `steps` steps averaged.
 * Returns 0, or -1 when the flow left the finite range. */
int lyapunov_spectrum(const struct latent_process *p, const double *z0, double dt, long transient,
                      long steps, double *lambda);

/* D_KY of a spectrum sorted descending (k when every partial sum is ≥ 0, 0 when λ₁ < 0). */
double kaplan_yorke_dimension(const double *lambda, int k);

struct lyapunov_result {
    int k;
    int starts, finite; /* starts, and those whose flow stayed finite */
    double *per_start;  /* (starts,k) spectra; NaN rows for the starts that left */
    double mean[DDM_MAX_K], error[DDM_MAX_K]; /* over the finite starts; error std/√finite */
    double kaplan_yorke;                      /* D_KY of the mean spectrum */
};

/* Spectra of `starts` starts z0 (starts,k), in parallel over the starts. */
int analysis_lyapunov(const struct latent_process *p, const double *z0, int starts, double dt,
                      long transient, long steps, const struct analysis_tick *tick,
                      struct lyapunov_result *out, struct ddm_error *err);
void lyapunov_result_free(struct lyapunov_result *out);

#endif
