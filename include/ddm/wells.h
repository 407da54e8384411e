/* wells.h — the multi-well "memory" landscape of docs/design.md §6, with its non-equilibrium
 * rotation.
 *
 *   V(z) = −depth · log Σ_j exp(−‖z − p_j‖² / (2 width²))        (K wells at the patterns p_j)
 *          + (wall/2) · max(0, ‖z − c‖ − ρ)²                      (an outer wall, optional)
 *   f(z) = −(I + αR) ∇V(z),   ∇V = (depth/width²)(z − m(z)) + wall-term,   m = Σ_j π_j(z) p_j
 * with π = softmax_j(−‖z − p_j‖²/(2 width²)) and R the antisymmetric rotation in the plane of the
 * first two coordinates; c is the patterns' centroid and ρ their largest distance from it.
 * α = 0 is the equilibrium (Hopfield-like) case: the stationary density is e^(−V/D) for any α
 * with isotropic noise D, and the current J = −αpR∇V runs along level sets of V. The wall makes
 * the outside of the ring of wells steep, so excursions between wells happen on the inner side,
 * where the current runs one way: the state then visits the wells in a fixed cyclic order.
 * Evaluated natively (stable log-sum-exp) with the exact Jacobian.
 */
#ifndef DDM_WELLS_H
#define DDM_WELLS_H

#define DDM_MAX_WELLS 32

struct wells {
    int K, k;
    double width, depth, alpha;
    double wall;                       /* stiffness of the outer wall, 0 for none */
    double wall_radius;                /* ρ */
    double centre[8];                  /* c */
    double patterns[DDM_MAX_WELLS][8]; /* (K,k) */
};

/* f (k) and, when jac is not NULL, ∂f/∂z (k,k) row-major. */
void wells_drift(const struct wells *w, const double *z, double *f, double *jac);

/* V(z), up to a constant. */
double wells_potential(const struct wells *w, const double *z);

/* Index of the pattern nearest to z, and its distance. */
int wells_nearest(const struct wells *w, const double *z, double *distance);

#endif
