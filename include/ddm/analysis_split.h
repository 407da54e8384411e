/* analysis_split.h — the symmetric/asymmetric split of the connectivity and the Hopfield energy
 * of its symmetric part (docs/design.md §5, the paper's Fig 3).
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

/* The energy's slope on the manifold at one latent point. */
struct energy_point {
    double grad[DDM_MAX_K];      /* ∇_z E of E(Γ̂ẑ + b) */
    double direction[DDM_MAX_K]; /* ∇_z E / max φ′ᵢ: its direction where φ′ underflows */
    double f_sym_metric[DDM_MAX_K]; /* s ⊙ (Γ̂ᵀΦ′Γ̂)⁻¹Γ̂ᵀΦ′F_S */
};

/* At latent z (k, original coordinates), on the manifold: f_sym as in split_latent and the
 * energy's slope, with f_sym_metric, Φ′ = diag φ′(x) and F_S the symmetric flow in neuron
 * space: the projection of F_S weighted by φ′, i.e. the gradient flow of E in the metric the
 * manifold inherits, which never climbs E (f_sym_metric · ∇_z E ≤ 0); f_sym, the Euclidean
 * projection Γ̂⁺F_S, can (docs/starts_and_energy.md). */
void split_energy_field(const struct ddm_model *model, const double *z, double *f_sym,
                        struct energy_point *out);

/* Points, and those where f_sym · ∇_z E ≤ 0 and f_sym_metric · ∇_z E ≤ 0 (E does not increase;
 * the sign is read from the direction, so a flat E counts as not increasing). */
struct energy_descent {
    long points, descent, descent_metric;
};
void energy_descent_add(struct energy_descent *d, const double *f_sym,
                        const struct energy_point *at, int k);
/* descent/points, NaN when there are no points */
double energy_descent_share(long descent, long points);

struct split_grid {
    struct latent_grid grid;
    float *f;                      /* (P,k) f_RNN */
    float *f_sym;                  /* (P,k) */
    float *f_asym;                 /* (P,k) */
    float *energy;                 /* (P) */
    float *f_sym_metric;           /* (P,k) the φ′-weighted projection (split_energy_field) */
    float *energy_gradient;        /* (P,k) ∇_z E */
    struct energy_descent descent; /* over the grid points */
    double residual; /* max |f_sym + f_asym − f| / max |f|, f from model_latent_drift at every
                        97th point */
};

/* Evaluates the split at every point of the grid (P = grid_points). */
int split_on_grid(const struct ddm_model *model, const struct latent_grid *grid,
                  struct split_grid *out, struct ddm_error *err);
void split_grid_free(struct split_grid *out);

#endif
