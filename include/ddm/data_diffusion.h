/* A state-dependent diffusion learnt from recorded trajectories ([system] diffusion =
 * estimate_state, docs/from_data.md).
 *
 * With the drift f̂ known, the residual increments r = z(t+Δ) − z(t) − f̂(z(t))Δ have
 * E[r rᵀ | z] = 2D(z)Δ + 2R + O(Δ²) (R = σ_obs²I, white measurement noise). Each entry of the
 * symmetric Q = r rᵀ/Δ is regressed on the monomials of u = (z − μ)/s up to a total degree chosen
 * by the held-out part (0 to 4), weighted by 1/Var Q and corrected for the Kramers–Moyal O(Δ) term
 * (a first fit gives both); 2R/Δ is taken off the constant term; the fitted 2D̂(z) is made
 * positive definite by raising its eigenvalues to a floor, and σ̂(z) = chol(2D̂(z)).
 */
#ifndef DDM_DATA_DIFFUSION_H
#define DDM_DATA_DIFFUSION_H

#include <stddef.h>

#include "ddm/error.h"
#include "ddm/recording.h"
#include "ddm/system.h"

#define DIFFUSION_FIT_MAX_DEGREE  4
#define DIFFUSION_FIT_MAX_TERMS   70 /* monomials; C(k+d, d) ≤ this bounds the degree for large k */
#define DIFFUSION_FIT_MAX_ENTRIES (DDM_MAX_K * (DDM_MAX_K + 1) / 2)

struct diffusion_fit {
    int k;      /* 0: not fitted yet */
    int degree; /* chosen total degree */
    int terms;  /* monomials of that degree or less */
    int exponents[DIFFUSION_FIT_MAX_TERMS][DDM_MAX_K];
    double mean[DDM_MAX_K], scale[DDM_MAX_K]; /* u = (z − mean)/scale */
    double dt;                                /* Δ of the data */
    /* coefficients of 2D̂ (noise-corrected): entry e = (i ≤ j) in row order, [term][e] */
    double coef[DIFFUSION_FIT_MAX_TERMS * DIFFUSION_FIT_MAX_ENTRIES];
    double floor; /* eigenvalue floor of 2D̂(z) in u = (z − μ)/s (of S⁻¹2D̂S⁻¹, S = diag s):
                     1e-3 of the mean of its trace / k */
    double floored_share; /* share of the fit points where the floor was used */
    int degrees_tried;    /* degrees 0 .. degrees_tried − 1 */
    /* held-out mean squared error of Q per degree, relative to that of the constant fit */
    double heldout_score[DIFFUSION_FIT_MAX_DEGREE + 1];
    double noise_var[DDM_MAX_K * DDM_MAX_K]; /* R that was corrected for (k,k) */
    long fit_increments, heldout_increments;
    char *text; /* diffusion_fit_text in the system's variables (owned; NULL before the fit) */
};

/* The drift whose residuals are used: f (k) at z (k), and its Jacobian (k,k) when jac is not
 * NULL (for the O(Δ) correction). */
typedef void (*diffusion_fit_drift)(const void *ctx, const double *z, double *f, double *jac);

/* Fits 2D̂(z) on `fit`, chooses the degree on `held`; sigma_obs < 0 estimates R from the lag-one
 * covariance of the residuals (C₁ = −R). Fails (DDM_EUSAGE) when the data are too few for even a
 * constant, or when the noise correction leaves no positive diffusion anywhere. */
int diffusion_fit_state(const struct recording *fit, const struct recording *held,
                        diffusion_fit_drift drift, const void *ctx, double sigma_obs,
                        struct diffusion_fit *out, struct ddm_error *err);

/* 2D̂(z) (k,k) as fitted (no floor). */
void diffusion_fit_two_D(const struct diffusion_fit *fit, const double *z, double *two_D);
/* σ̂(z) (k,k), lower triangular, σ̂σ̂ᵀ = 2D̂(z) with its eigenvalues raised to the floor; returns
 * 1 when the floor was used. */
int diffusion_fit_sigma(const struct diffusion_fit *fit, const double *z, double *sigma);

/* The fitted 2D̂(z) as text of the expression language, entries (i ≤ j) in row order separated by
 * "; ", in the variables `names`: e.g. "0.5 + 0.5*((z - 0.01)/0.58)^2". Returns the length that
 * was needed (as snprintf). */
int diffusion_fit_text(const struct diffusion_fit *fit, const char (*names)[32], char *buf,
                       size_t size);

struct ddm_config;
struct ddm_model;
struct ddm_train_report;

/* The training's step for [system] diffusion = estimate_state: after the drift is trained, fits
 * σ̂(z) from the residuals of the network's drift into sys->diffusion_fit (which system_diffusion
 * then evaluates, so the diffusion readout is fitted to it) and points the report at it. */
int data_diffusion_state(const struct ddm_system *sys, const struct ddm_config *cfg,
                         const struct ddm_model *model, struct ddm_train_report *report,
                         struct ddm_error *err);

#endif
