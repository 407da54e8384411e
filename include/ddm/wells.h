/* wells.h — the multi-well "memory" landscape of DESIGN §6, with its non-equilibrium rotation.
 *
 *   V(z) = −depth · log Σ_j exp(−‖z − p_j‖² / (2 width²))        (K wells at the patterns p_j)
 *   f(z) = −(I + αR) ∇V(z),   ∇V = (depth/width²)(z − m(z)),   m = Σ_j π_j(z) p_j
 * with π = softmax_j(−‖z − p_j‖²/(2 width²)) and R the antisymmetric rotation in the plane of the
 * first two coordinates. α = 0 is the equilibrium (Hopfield-like) case; α > 0 adds a probability
 * current that carries the state from well to well. Evaluated natively (stable log-sum-exp) with
 * the exact Jacobian J = −(depth/width²)(I + αR)(I − C/width²), C the π-weighted covariance of p.
 */
#ifndef DDM_WELLS_H
#define DDM_WELLS_H

#define DDM_MAX_WELLS 32

struct wells {
    int K, k;
    double width, depth, alpha;
    double patterns[DDM_MAX_WELLS][8]; /* (K,k) */
};

/* f (k) and, when jac is not NULL, ∂f/∂z (k,k) row-major. */
void wells_drift(const struct wells *w, const double *z, double *f, double *jac);

/* V(z), up to a constant. */
double wells_potential(const struct wells *w, const double *z);

/* Index of the pattern nearest to z, and its distance. */
int wells_nearest(const struct wells *w, const double *z, double *distance);

#endif
