/* analysis_split.h — the symmetric/asymmetric split of the connectivity and the Hopfield energy
 * of its symmetric part (DESIGN §5, the paper's Fig 3).
 *
 * W = Γ̂Ŵ_s = W_S + W_A with W_S = ½(W + Wᵀ), W_A = ½(W − Wᵀ), applied through the factors only:
 *   W_S φ = ½(Γ̂(Ŵ_s φ) + Ŵ_sᵀ(Γ̂ᵀφ)),   W_A φ = ½(Γ̂(Ŵ_s φ) − Ŵ_sᵀ(Γ̂ᵀφ))       (O(nk) each)
 * On the manifold x = Γ̂ẑ + b the latent parts are
 *   f_S = s ⊙ Γ̂⁺(−x + W_S φ + b)/τ,   f_A = s ⊙ Γ̂⁺ W_A φ/τ,   f_S + f_A = f_RNN,
 * and E(x) = −½ φᵀW_Sφ − bᵀφ + Σᵢ G(φᵢ), G(r) = r atanh r + ½ ln(1 − r²), never increases along
 * the symmetric flow τ dx/dt = −x + W_S φ(x) + b. Letters: n neurons, k latent dims, P points.
 */
#ifndef DDM_ANALYSIS_SPLIT_H
#define DDM_ANALYSIS_SPLIT_H

#include "ddm/error.h"
#include "ddm/latent_grid.h"
#include "ddm/model.h"

/* The symmetric network's drift dxdt (n) = (−x + W_S φ(x) + b)/τ at any state x (n). */
void split_symmetric_flow(const struct ddm_model *model, const double *x, double *dxdt);

/* E(x) at any state x (n). */
double split_energy(const struct ddm_model *model, const double *x);

/* At latent z (k, original coordinates), on the manifold: f = f_RNN (model_latent_drift), f_sym
 * and f_asym (k) from the split, and the energy of x = Γ̂ẑ + b. */
void split_latent(const struct ddm_model *model, const double *z, double *f, double *f_sym,
                  double *f_asym, double *energy);

struct split_grid {
    struct latent_grid grid;
    float *f;        /* (P,k) f_RNN */
    float *f_sym;    /* (P,k) */
    float *f_asym;   /* (P,k) */
    float *energy;   /* (P) */
    double residual; /* max |f_sym + f_asym − f| / max |f|, f from model_latent_drift at every
                        97th point */
};

/* Evaluates the split at every point of the grid (P = grid_points). */
int split_on_grid(const struct ddm_model *model, const struct latent_grid *grid,
                  struct split_grid *out, struct ddm_error *err);
void split_grid_free(struct split_grid *out);

#endif
