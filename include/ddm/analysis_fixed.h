/* analysis_fixed.h — fixed points of the noise-free latent flows of network and target, their
 * stability, and which of the network's the target does not have (docs/design.md §5).
 *
 * Newton's method on f(z) = 0 with the exact Jacobian J = ∂f/∂z (the network's from
 * model_latent_drift, f̂(z) = s ⊙ (Ŵ_s tanh(Γ̂ẑ + b) − ẑ)/τ; the target's from the expression
 * compiler or wells.c), z ← z − λ J⁻¹f with λ halved until ‖f‖ decreases, from seeds spread over
 * a box (the visited region and a margin around it) and from the last recorded state of each
 * trajectory. Distances are measured in units of the visited region's scale s_c (per coordinate
 * std): d(a, b) = ‖(a − b) ⊘ s‖. Points closer than FIXED_POINT_SAME are one point.
 *
 * Each point carries the eigenvalues of J (LAPACKE dgeev, by decreasing real part) and a type
 * from the signs of their real parts and whether a complex pair is present:
 *   all Re < 0: stable node / stable focus;   all Re > 0: unstable node / unstable focus;
 *   both signs: saddle / saddle-focus;        some Re ≈ 0 (|Re| ≤ 1e-8 max|λ|): non-hyperbolic.
 * A network point is matched to a target point of the same type (fixed_point_types_agree) within
 * `tolerance` (greedy, closest pairs first, one-to-one); network points left over are spurious,
 * target points left over are missed. A trajectory whose last state lies within FIXED_POINT_CAPTURE
 * of a network point (the nearest one) is counted as ending near it (for a stable spurious point:
 * trapped).
 */
#ifndef DDM_ANALYSIS_FIXED_H
#define DDM_ANALYSIS_FIXED_H

#include <stdint.h>

#include "ddm/error.h"
#include "ddm/latent_process.h"

#define FIXED_POINT_SAME 1e-5 /* scaled distance below which two Newton limits are one point */
#define FIXED_POINT_CAPTURE                                                                        \
    0.5 /* scaled distance within which a trajectory end is near a point                           \
         */

enum fixed_point_type {
    FP_STABLE_NODE,
    FP_STABLE_FOCUS,
    FP_UNSTABLE_NODE,
    FP_UNSTABLE_FOCUS,
    FP_SADDLE,
    FP_SADDLE_FOCUS,
    FP_NONHYPERBOLIC,
    FP_TYPES
};

/* "stable node", "saddle-focus", ... */
const char *fixed_point_type_name(int type);
/* "0 stable node, 1 stable focus, ...": the codes as stored in the file */
const char *fixed_point_type_legend(void);

struct fixed_point {
    double z[DDM_MAX_K];
    double eig_re[DDM_MAX_K], eig_im[DDM_MAX_K]; /* by decreasing real part */
    int type;                                    /* enum fixed_point_type */
    double residual;                             /* max_c |f_c(z)| / s_c at the point (1/time) */
    int match;       /* index of the matched point of the other set, -1: none */
    int nearest;     /* index of the nearest point of the other set (any type), -1: none */
    double distance; /* scaled distance to it (INFINITY when the other set is empty) */
    long ends_near;  /* trajectory ends within FIXED_POINT_CAPTURE, nearest to this point */
};

struct fixed_point_set {
    int k, count, capacity;
    struct fixed_point *points;
};

void fixed_point_set_free(struct fixed_point_set *set);

/* Eigenvalues of J (k,k) row-major into re, im (k, by decreasing real part) and the type. */
int fixed_point_classify(int k, const double *jac, double *re, double *im);

/* Newton's method from z (k, updated in place) with coordinate scales s (k). Returns 0 when it
 * converged (scaled step below 1e-10 and max_c |f_c|/s_c ≤ 1e-9 · rate, `rate` a typical
 * |f|/s of the region), -1 when it did not (singular J, no decrease, non-finite, 100 steps). */
int fixed_point_newton(const struct latent_process *p, const double *scale, double rate, double *z);

struct fixed_point_search {
    int k;
    double lo[DDM_MAX_K], hi[DDM_MAX_K]; /* seeds uniform in this box; points kept inside it */
    double scale[DDM_MAX_K];             /* s: the visited region's per-coordinate scale */
    int seeds;                           /* uniform seeds */
    uint64_t seed;                       /* of their Philox stream */
    const double *ends; /* (end_count,k) trajectory ends, or NULL; at most `seeds` of them,
                           evenly strided, are seeds too */
    long end_count;
};

/* All fixed points of p found from the search's seeds, deduplicated; a point outside the box is
 * kept only when a trajectory end lies within FIXED_POINT_CAPTURE of it. */
int fixed_points_find(const struct latent_process *p, const struct fixed_point_search *search,
                      struct fixed_point_set *out, struct ddm_error *err);

/* Whether two points' types agree: the same type, or a node and a focus with the same number of
 * unstable directions whose complex pairs all have |Im λ| ≤ 0.1 |Re λ| (a weak rotation: nearly
 * equal real eigenvalues, as in a round well, split into such a pair under any small error). */
int fixed_point_types_agree(int k, const struct fixed_point *a, const struct fixed_point *b);

/* Matches network points to target points (types agree, scaled distance ≤ tolerance) and fills
 * match, nearest and distance in both sets. */
void fixed_points_match(struct fixed_point_set *network, struct fixed_point_set *target,
                        const double *scale, double tolerance);

/* Adds to each point's `ends_near` the ends (count,k; non-finite rows skipped) nearest to it
 * within FIXED_POINT_CAPTURE. */
void fixed_points_trap(struct fixed_point_set *set, const double *ends, long count,
                       const double *scale);

struct fixed_point_summary {
    int target, network, matched, spurious, missed;
    int spurious_attractors; /* unmatched stable network points (nodes or foci) */
    long ends_at_spurious;   /* network trajectory ends at unmatched network points */
    long held_by_spurious;   /* those of them at unmatched stable points: trapped */
    long trajectories;       /* network trajectory ends looked at */
};

void fixed_points_summarise(const struct fixed_point_set *network,
                            const struct fixed_point_set *target, long trajectories,
                            struct fixed_point_summary *out);

#endif
