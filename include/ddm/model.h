/* model.h — the trained low-rank network, stored in normalised latent coordinates.
 *
 * dx = (1/τ)(−x + Γ̂ Ŵ_s tanh(x) + b + Γ̂û) dt + Γ̂ Ŝ(x) dB          (docs/design.md §2)
 *
 * On the manifold x = Γ̂ẑ + b the normalised latent ẑ follows dẑ = (1/τ)(−ẑ + Ŵ_s tanh(Γ̂ẑ + b)
 * + û) dt + Ŝ dB, and the original coordinates are z = μ + s ⊙ ẑ = μ + s ⊙ Γ̂⁺(x − b).
 * The diffusion Ŝ is a constant (k,m) matrix, or the state-dependent readout
 * Ŝ(x) = reshape(V tanh(x) + c) of the same hidden layer when σ depends on z.
 */
#ifndef DDM_MODEL_H
#define DDM_MODEL_H

#include "ddm/error.h"
#include "ddm/system.h"

struct ddm_model {
    int n;             /* neurons */
    int k;             /* latent dimension */
    int m;             /* noise dimension */
    double tau;        /* time constant */
    float *Gamma;      /* (n,k) Γ̂ */
    float *Ws;         /* (k,n) Ŵ_s */
    float *b;          /* (n) bias */
    float *S;          /* (k,m) constant Ŝ, or NULL when state-dependent */
    float *V;          /* (k*m, n) state-dependent diffusion readout, or NULL */
    float *c;          /* (k*m) its bias, or NULL */
    float *Gamma_pinv; /* (k,n) Γ̂⁺ = (Γ̂ᵀΓ̂)⁻¹Γ̂ᵀ, derived by model_update_pinv */
    double latent_mean[DDM_MAX_K];  /* μ */
    double latent_scale[DDM_MAX_K]; /* s */
};

/* Allocates the arrays (zeroed); `state_dependent` chooses V, c over S. */
int model_alloc(struct ddm_model *model, int n, int k, int m, int state_dependent,
                struct ddm_error *err);
void model_free(struct ddm_model *model);

/* Recomputes Γ̂⁺ after Γ̂ changed; fails when Γ̂ is (numerically) rank deficient. */
int model_update_pinv(struct ddm_model *model, struct ddm_error *err);

/* F̂(ẑ) = Ŵ_s tanh(Γ̂ẑ + b), the perceptron of drift matching, in double precision. */
void model_perceptron(const struct ddm_model *model, const double *z_hat, double *out);

/* The network's latent drift in original coordinates, f_RNN(z) = s ⊙ (F̂(ẑ) − ẑ)/τ (no input);
 * with jac non-NULL also its Jacobian (k,k), row-major. */
void model_latent_drift(const struct ddm_model *model, const double *z, double *f, double *jac);

/* The network's diffusion in original coordinates at z: σ_RNN = diag(s) Ŝ(Γ̂ẑ + b), (k,m). */
void model_latent_diffusion(const struct ddm_model *model, const double *z, double *sigma);

/* z (k) = μ + s ⊙ Γ̂⁺(x − b) for one neuron state x (n). */
void model_readout(const struct ddm_model *model, const float *x, double *z);

/* x (n) = Γ̂ẑ + b with ẑ = (z − μ) ⊘ s: the point of the manifold at latent z. */
void model_embed(const struct ddm_model *model, const double *z, float *x);

#endif
