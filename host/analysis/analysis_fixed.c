/* analysis_fixed.c — fixed points of the latent flows by Newton's method, their eigenvalues and
 * type, and the matching of the network's to the target's (docs/design.md §5,
 * ddm/analysis_fixed.h).
 *
 * Newton's step solves J Δ = −f (LAPACKE dgesv; k ≤ 8). A full step can overshoot far from a
 * root, so it is capped at MAX_STEP scales and halved until the scaled residual ‖f ⊘ s‖ decreases
 * (a damped Newton method: it converges to whichever zero the seed leads to, saddles included,
 * unlike integrating the flow, which finds attractors only). Near the root the full step is taken
 * and convergence is quadratic; the residual then reaches rounding level, far below the test.
 */
#include "ddm/analysis_fixed.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"

#define MAX_STEP       4.0   /* scales: the largest Newton step taken at once */
#define MAX_ITERATIONS 100   /* Newton steps per seed */
#define MAX_HALVINGS   40    /* step halvings per Newton step */
#define CONVERGED      1e-10 /* max_c |f_c|/s_c relative to the region's typical rate */
#define ZERO_REAL      1e-8  /* |Re λ| ≤ this · max|λ|: on the imaginary axis */
#define WEAK_ROTATION  0.1 /* |Im λ| ≤ this · |Re λ|: a rotation too slow to tell from a node */

static const char *const type_names[FP_TYPES] = {
    "stable node", "stable focus", "unstable node",  "unstable focus",
    "saddle",      "saddle-focus", "non-hyperbolic",
};

const char *fixed_point_type_name(int type) {
    return type >= 0 && type < FP_TYPES ? type_names[type] : "unknown";
}

const char *fixed_point_type_legend(void) {
    return "0 stable node, 1 stable focus, 2 unstable node, 3 unstable focus, 4 saddle, "
           "5 saddle-focus, 6 non-hyperbolic";
}

void fixed_point_set_free(struct fixed_point_set *set) {
    free(set->points);
    set->points = NULL;
    set->count = set->capacity = 0;
}

/* ‖(a − b) ⊘ s‖, or ‖a ⊘ s‖ when b is NULL */
static double scaled_distance(int k, const double *a, const double *b, const double *scale) {
    double sum = 0;
    for (int c = 0; c < k; c++) {
        double d = (a[c] - (b ? b[c] : 0)) / scale[c];
        sum += d * d;
    }
    return sqrt(sum);
}

/* max_c |f_c| / s_c */
static double scaled_residual(int k, const double *f, const double *scale) {
    double worst = 0;
    for (int c = 0; c < k; c++) worst = fmax(worst, fabs(f[c]) / scale[c]);
    return isfinite(worst) ? worst : INFINITY;
}

int fixed_point_classify(int k, const double *jac, double *re, double *im) {
    double A[DDM_MAX_K * DDM_MAX_K];
    memcpy(A, jac, sizeof(double) * k * k);
    if (LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', k, A, k, re, im, NULL, 1, NULL, 1)) {
        for (int c = 0; c < k; c++) re[c] = im[c] = NAN;
        return FP_NONHYPERBOLIC;
    }
    for (int i = 1; i < k; i++) /* insertion sort by decreasing real part, pairs kept together */
        for (int j = i; j > 0 && (re[j] > re[j - 1] || (re[j] == re[j - 1] && im[j] > im[j - 1]));
             j--) {
            double r = re[j], m = im[j];
            re[j] = re[j - 1], im[j] = im[j - 1];
            re[j - 1] = r, im[j - 1] = m;
        }
    double largest = 0;
    for (int c = 0; c < k; c++) largest = fmax(largest, hypot(re[c], im[c]));
    const double zero = ZERO_REAL * largest;
    int positive = 0, negative = 0, oscillating = 0;
    for (int c = 0; c < k; c++) {
        positive += re[c] > zero;
        negative += re[c] < -zero;
        oscillating |= fabs(im[c]) > zero;
    }
    if (positive + negative < k) return FP_NONHYPERBOLIC;
    if (!positive) return oscillating ? FP_STABLE_FOCUS : FP_STABLE_NODE;
    if (!negative) return oscillating ? FP_UNSTABLE_FOCUS : FP_UNSTABLE_NODE;
    return oscillating ? FP_SADDLE_FOCUS : FP_SADDLE;
}

/* Δ (k) = −J⁻¹f; -1 when J is singular */
static int newton_direction(int k, const double *jac, const double *f, double *step) {
    double A[DDM_MAX_K * DDM_MAX_K];
    lapack_int pivots[DDM_MAX_K];
    memcpy(A, jac, sizeof(double) * k * k);
    for (int c = 0; c < k; c++) step[c] = -f[c];
    if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, k, 1, A, k, pivots, step, 1)) return -1;
    for (int c = 0; c < k; c++)
        if (!isfinite(step[c])) return -1;
    return 0;
}

/* Two more full Newton steps once converged, each kept when it does not raise the residual:
 * quadratic convergence takes the point from the test's 1e-10 to rounding level. */
static void polish(const struct latent_process *p, const double *scale, double *z) {
    const int k = p->k;
    double f[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K], step[DDM_MAX_K], trial[DDM_MAX_K];
    for (int round = 0; round < 2; round++) {
        p->drift(p->ctx, z, f, jac);
        const double residual = scaled_residual(k, f, scale);
        if (residual == 0 || newton_direction(k, jac, f, step)) return;
        for (int c = 0; c < k; c++) trial[c] = z[c] + step[c];
        p->drift(p->ctx, trial, f, NULL);
        if (!(scaled_residual(k, f, scale) <= residual)) return;
        memcpy(z, trial, sizeof(double) * k);
    }
}

int fixed_point_newton(const struct latent_process *p, const double *scale, double rate,
                       double *z) {
    const int k = p->k;
    const double enough = CONVERGED * rate;
    double f[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K], step[DDM_MAX_K], trial[DDM_MAX_K];
    p->drift(p->ctx, z, f, jac);
    double residual = scaled_residual(k, f, scale), norm = scaled_distance(k, f, NULL, scale);
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
        if (residual <= enough) {
            polish(p, scale, z);
            return 0;
        }
        if (!isfinite(norm) || newton_direction(k, jac, f, step)) return -1;
        const double length = scaled_distance(k, step, NULL, scale);
        double lambda = length > MAX_STEP ? MAX_STEP / length : 1, trial_norm = INFINITY;
        for (int halving = 0; halving < MAX_HALVINGS; halving++, lambda *= 0.5) {
            for (int c = 0; c < k; c++) trial[c] = z[c] + lambda * step[c];
            p->drift(p->ctx, trial, f, NULL);
            trial_norm = scaled_distance(k, f, NULL, scale);
            if (trial_norm < norm) break;
        }
        if (!(trial_norm < norm)) return -1; /* no decrease: a local minimum of ‖f‖, not a zero */
        memcpy(z, trial, sizeof(double) * k);
        p->drift(p->ctx, z, f, jac);
        residual = scaled_residual(k, f, scale);
        norm = scaled_distance(k, f, NULL, scale);
    }
    if (residual > enough) return -1;
    polish(p, scale, z);
    return 0;
}

/* Every how many trajectory ends one is a seed: at most `seeds` of them (all when fewer). */
static long end_stride(const struct fixed_point_search *s) {
    if (!s->ends || s->end_count <= 0) return 0;
    const long most = s->seeds > 0 ? s->seeds : 1;
    return (s->end_count + most - 1) / most;
}

static long seed_count(const struct fixed_point_search *s) {
    const long stride = end_stride(s);
    return s->seeds + (stride ? (s->end_count + stride - 1) / stride : 0);
}

/* Seed i: uniform in the box for i < seeds, else a trajectory end; 0 when usable. */
static int seed_point(const struct fixed_point_search *s, long i, double *z) {
    const int k = s->k;
    const long end = (i - s->seeds) * end_stride(s);
    for (int c = 0; c < k; c++)
        z[c] = i < s->seeds ? s->lo[c] + (s->hi[c] - s->lo[c]) * philox_uniform(s->seed, i, c)
                            : s->ends[end * k + c];
    for (int c = 0; c < k; c++)
        if (!isfinite(z[c])) return -1;
    return 0;
}

/* A typical max_c |f_c|/s_c over the uniform seeds (their mean), the scale of "converged". */
static double typical_rate(const struct latent_process *p, const struct fixed_point_search *s) {
    double sum = 0, f[DDM_MAX_K], z[DDM_MAX_K];
    long used = 0, total = seed_count(s);
    for (long i = 0; i < total && used < 256; i++) {
        if (seed_point(s, i, z)) continue;
        p->drift(p->ctx, z, f, NULL);
        double r = scaled_residual(p->k, f, s->scale);
        if (isfinite(r)) sum += r, used++;
    }
    return used && sum > 0 ? sum / used : 1;
}

static int inside_box(const struct fixed_point_search *s, const double *z) {
    for (int c = 0; c < s->k; c++)
        if (!(z[c] >= s->lo[c] && z[c] <= s->hi[c])) return 0;
    return 1;
}

/* Appends z unless a point within FIXED_POINT_SAME is there already. */
static int add_unique(const struct latent_process *p, const double *scale, const double *z,
                      struct fixed_point_set *set, struct ddm_error *err) {
    const int k = p->k;
    for (int i = 0; i < set->count; i++)
        if (scaled_distance(k, set->points[i].z, z, scale) < FIXED_POINT_SAME) return DDM_OK;
    if (set->count == set->capacity) {
        int capacity = set->capacity ? 2 * set->capacity : 16;
        struct fixed_point *grown = realloc(set->points, sizeof *grown * capacity);
        if (!grown)
            return ddm_fail(err, DDM_ERUNTIME, "out of memory for %d fixed points", capacity);
        set->points = grown;
        set->capacity = capacity;
    }
    struct fixed_point *point = &set->points[set->count++];
    double f[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K];
    memset(point, 0, sizeof *point);
    memcpy(point->z, z, sizeof(double) * k);
    p->drift(p->ctx, z, f, jac);
    point->residual = scaled_residual(k, f, scale);
    point->type = fixed_point_classify(k, jac, point->eig_re, point->eig_im);
    point->match = point->nearest = -1;
    point->distance = INFINITY;
    return DDM_OK;
}

static int by_coordinates(const void *a, const void *b) {
    const struct fixed_point *x = a, *y = b;
    for (int c = 0; c < DDM_MAX_K; c++)
        if (x->z[c] != y->z[c]) return x->z[c] < y->z[c] ? -1 : 1;
    return 0;
}

int fixed_points_find(const struct latent_process *p, const struct fixed_point_search *search,
                      struct fixed_point_set *out, struct ddm_error *err) {
    const int k = p->k;
    const long total = seed_count(search);
    memset(out, 0, sizeof *out);
    out->k = k;
    double *limits = ddm_alloc(sizeof(double) * (total ? total : 1) * k, "Newton limits", err);
    char *kept = ddm_calloc(total ? total : 1, 1, "Newton outcomes", err);
    int code = limits && kept ? DDM_OK : DDM_ERUNTIME;
    const double rate = code ? 1 : typical_rate(p, search);
#pragma omp parallel for schedule(dynamic, 4) if (!code)
    for (long i = 0; i < total; i++) {
        double *z = limits + i * k, start[DDM_MAX_K];
        if (seed_point(search, i, z)) continue;
        memcpy(start, z, sizeof(double) * k);
        if (fixed_point_newton(p, search->scale, rate, z)) continue;
        kept[i] = inside_box(search, z) ||
                  (i >= search->seeds &&
                   scaled_distance(k, z, start, search->scale) <= FIXED_POINT_CAPTURE);
    }
    for (long i = 0; !code && i < total; i++)
        if (kept[i]) code = add_unique(p, search->scale, limits + i * k, out, err);
    if (!code && out->count) qsort(out->points, out->count, sizeof *out->points, by_coordinates);
    free(limits);
    free(kept);
    if (code) fixed_point_set_free(out);
    return code;
}

/* Eigenvalues with a positive real part (the dimension of the unstable manifold). */
static int unstable_count(int k, const struct fixed_point *a) {
    int count = 0;
    for (int c = 0; c < k; c++) count += a->eig_re[c] > 0;
    return count;
}

/* Every complex pair turns by less than WEAK_ROTATION radians per e-fold of its decay or growth. */
static int weak_rotation(int k, const struct fixed_point *a) {
    for (int c = 0; c < k; c++)
        if (fabs(a->eig_im[c]) > WEAK_ROTATION * fabs(a->eig_re[c])) return 0;
    return 1;
}

/* Same type; or a node and a focus of the same stability whose rotation is weak: two nearly
 * equal real eigenvalues (a symmetric well) become a slowly turning pair under any small error,
 * which changes the name of the type but not the dynamics. */
int fixed_point_types_agree(int k, const struct fixed_point *a, const struct fixed_point *b) {
    if (a->type == b->type) return 1;
    if (a->type == FP_NONHYPERBOLIC || b->type == FP_NONHYPERBOLIC) return 0;
    return unstable_count(k, a) == unstable_count(k, b) && weak_rotation(k, a) &&
           weak_rotation(k, b);
}

/* nearest and distance of every point of `from` among the points of `to` */
static void nearest_points(struct fixed_point_set *from, const struct fixed_point_set *to,
                           const double *scale) {
    for (int i = 0; i < from->count; i++) {
        struct fixed_point *a = &from->points[i];
        a->nearest = -1;
        a->distance = INFINITY;
        a->match = -1;
        for (int j = 0; j < to->count; j++) {
            double d = scaled_distance(from->k, a->z, to->points[j].z, scale);
            if (d < a->distance) a->distance = d, a->nearest = j;
        }
    }
}

void fixed_points_match(struct fixed_point_set *network, struct fixed_point_set *target,
                        const double *scale, double tolerance) {
    nearest_points(network, target, scale);
    nearest_points(target, network, scale);
    for (;;) { /* the closest unmatched pair of the same type within the tolerance, until none */
        int best_i = -1, best_j = -1;
        double best = tolerance;
        for (int i = 0; i < network->count; i++)
            for (int j = 0; j < target->count; j++) {
                const struct fixed_point *a = &network->points[i], *b = &target->points[j];
                if (a->match >= 0 || b->match >= 0 || !fixed_point_types_agree(network->k, a, b))
                    continue;
                double d = scaled_distance(network->k, a->z, b->z, scale);
                if (d <= best) best = d, best_i = i, best_j = j;
            }
        if (best_i < 0) return;
        network->points[best_i].match = best_j;
        target->points[best_j].match = best_i;
    }
}

void fixed_points_trap(struct fixed_point_set *set, const double *ends, long count,
                       const double *scale) {
    const int k = set->k;
    for (long e = 0; e < count; e++) {
        const double *z = ends + e * k;
        int finite = 1, nearest = -1;
        for (int c = 0; c < k; c++) finite &= isfinite(z[c]) != 0;
        double best = FIXED_POINT_CAPTURE;
        for (int i = 0; finite && i < set->count; i++) {
            double d = scaled_distance(k, z, set->points[i].z, scale);
            if (d <= best) best = d, nearest = i;
        }
        if (nearest >= 0) set->points[nearest].ends_near++;
    }
}

void fixed_points_summarise(const struct fixed_point_set *network,
                            const struct fixed_point_set *target, long trajectories,
                            struct fixed_point_summary *out) {
    memset(out, 0, sizeof *out);
    out->network = network->count;
    out->target = target->count;
    out->trajectories = trajectories;
    for (int i = 0; i < network->count; i++) {
        const struct fixed_point *a = &network->points[i];
        if (a->match >= 0) {
            out->matched++;
            continue;
        }
        out->spurious++;
        out->ends_at_spurious += a->ends_near;
        if (a->type == FP_STABLE_NODE || a->type == FP_STABLE_FOCUS) {
            out->spurious_attractors++;
            out->held_by_spurious += a->ends_near;
        }
    }
    out->missed = target->count - out->matched;
}
