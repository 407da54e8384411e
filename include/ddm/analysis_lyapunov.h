/* analysis_lyapunov.h — Lyapunov spectra of the noise-free latent flow dz/dt = f(z) (docs/design.md
 * §5).
 *
 * Benettin's method: the flow and its variational equation dQ/dt = J(z)Q (J the exact Jacobian
 * of f) are integrated together by RK4; Q (k,k) is re-orthonormalised by modified Gram–Schmidt
 * after every step, Q = Q'R, and λᵢ = (1/T) Σ ln Rᵢᵢ over the averaged steps. The Kaplan–Yorke
 * dimension D_KY = j + (λ₁ + … + λⱼ)/|λⱼ₊₁|, j the largest index with λ₁ + … + λⱼ ≥ 0.
 */
#ifndef DDM_ANALYSIS_LYAPUNOV_H
#define DDM_ANALYSIS_LYAPUNOV_H

#include "ddm/analysis_tick.h"
#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/error.h"
#include "ddm/model.h"
#include "ddm/system.h"
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

/* Which attractor a start's spectrum says it ended on, λ read with the finite-time tolerance
 * tol (lyapunov_zero_tolerance): chaotic λ₁ > tol; torus |λ₁|, |λ₂| ≤ tol; periodic orbit
 * |λ₁| ≤ tol, λ₂ < −tol; fixed point λ₁ < −tol; left: the flow left the finite range. */
enum lyapunov_attractor {
    LYAPUNOV_CHAOTIC,
    LYAPUNOV_TORUS,
    LYAPUNOV_PERIODIC,
    LYAPUNOV_FIXED_POINT,
    LYAPUNOV_LEFT,
};
#define LYAPUNOV_ATTRACTORS 5
#define LYAPUNOV_LEGEND                                                                            \
    "0 chaotic attractor (lambda_1 > tol), 1 torus (|lambda_1|, |lambda_2| <= tol), 2 periodic "   \
    "orbit (|lambda_1| <= tol, lambda_2 < -tol), 3 fixed point (lambda_1 < -tol), 4 left the "     \
    "finite range"
#define LYAPUNOV_FAR                                                                               \
    1.0 /* an end farther than this from the target's path (in units of its std                    \
         * per coordinate) is on another attractor */
const char *lyapunov_attractor_name(int attractor);
int lyapunov_attractor_of(const double *lambda, int k, double tol);
/* 5/T, T = steps·dt: a zero exponent's finite-time estimate stays well inside it. */
double lyapunov_zero_tolerance(long steps, double dt);

struct lyapunov_result {
    int k;
    int starts, finite;   /* starts, and those whose flow stayed finite */
    int kept;             /* those averaged: finite, on the reference attractor, near its path */
    double *per_start;    /* (starts,k) spectra; NaN rows for the starts that left */
    double *end;          /* (starts,k) where each start's flow was at the end */
    int *attractor;       /* (starts) enum lyapunov_attractor of each spectrum */
    int *kept_start;      /* (starts) 1: averaged, 0: ended elsewhere (reported, not averaged) */
    double *end_distance; /* (starts) from the target's path in units of its std; NaN: unknown */
    double tolerance;     /* tol of the classification */
    long steps;           /* steps averaged per start (more than asked when the run was extended) */
    double mean[DDM_MAX_K], error[DDM_MAX_K]; /* over the kept starts; error std/√kept, NaN
                                               * when fewer than 2 or the starts coincide */
    double kaplan_yorke;                      /* D_KY of the mean spectrum */
};

/* Spectra of `starts` starts z0 (starts,k), in parallel over the starts; every finite start is
 * kept until lyapunov_average says otherwise. */
int analysis_lyapunov(const struct latent_process *p, const double *z0, int starts, double dt,
                      long transient, long steps, const struct analysis_tick *tick,
                      struct lyapunov_result *out, struct ddm_error *err);

/* The longest run lyapunov_precision may ask for, in multiples of lyapunov_steps. */
#define LYAPUNOV_LONGEST 16
/* As analysis_lyapunov, but the averaged run is doubled (continuing every start) while the
 * standard error of λ₁ over the kept starts exceeds precision·max(|λ₁|, tol) and the run is
 * shorter than max_steps. The finite-time estimate's spread falls as 1/√T, so a slowly mixing
 * or weakly chaotic flow gets the longer run it needs and a fast one stops at `steps`. */
int analysis_lyapunov_until(const struct latent_process *p, const double *z0, int starts, double dt,
                            long transient, long steps, long max_steps, double precision,
                            const struct analysis_tick *tick, struct lyapunov_result *out,
                            struct ddm_error *err);
void lyapunov_result_free(struct lyapunov_result *out);

/* The attractor most finite starts ended on (ties: the lower code); LYAPUNOV_LEFT when none. */
int lyapunov_majority(const struct lyapunov_result *r);

/* Keeps the finite starts that ended on `reference` and within LYAPUNOV_FAR of the target's path
 * (distance (starts), NaN or NULL: not known), and averages them: mean, error, D_KY. The error is
 * NaN when fewer than 2 are kept or `distinct` is 0 (identical starts give no error bar). */
void lyapunov_average(struct lyapunov_result *r, int reference, const double *distance,
                      int distinct);

#endif
