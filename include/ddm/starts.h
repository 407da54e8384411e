/* starts.h — where the simulated trajectories and the Lyapunov spectra start: points of the
 * target's attractor, checked to be there (docs/starts_and_energy.md).
 *
 * A point counts as on the attractor when the target path that reached it stayed within
 * |z_i| ≤ [train] path_bound at every step (the bound the training paths obeyed, so an escaping
 * but still finite path is refused, not only a NaN), it lies within μ ± 20 s per coordinate,
 * the region the network was trained on (μ, s: the training points' mean and scale), and the
 * path goes on within both for a check window after it (an escaping point leaves in it).
 * Candidates that fail are counted by reason and replaced.
 */
#ifndef DDM_STARTS_H
#define DDM_STARTS_H

#include "ddm/config.h"
#include "ddm/model.h"
#include "ddm/system.h"

#define STARTS_TRAINED_REGION 20.0 /* half-width of the trained region, in units of s */
#define STARTS_SCALE_FLOOR    0.01 /* the Lyapunov path's scale: at least this share of s */

/* How many candidate starts were drawn and why the refused ones were refused. */
struct start_report {
    long candidates;     /* drawn (accepted + refused) */
    long nonfinite;      /* the path became NaN/Inf */
    long past_bound;     /* the path left |z_i| <= [train] path_bound while still finite */
    long outside_region; /* the point ended outside μ ± 20 s, where the network was not trained */
};

long start_report_refused(const struct start_report *r);
/* Adds b's counts to a. */
void start_report_add(struct start_report *a, const struct start_report *b);

/* Why a point or path is refused: 0 accepted, else the counter it goes to (1 nonfinite,
 * 2 past_bound, 3 outside_region). */
enum start_verdict { START_ACCEPTED, START_NONFINITE, START_PAST_BOUND, START_OUTSIDE_REGION };
enum start_verdict start_check_point(const struct ddm_model *model, const struct ddm_config *cfg,
                                     const double *z);

/* B simulation starts z0 (B,k): [simulate] start, or, for global trajectory first + j, the end
 * of a target SDE path of [train] path_burn_in from N(μ, diag s²), checked as above (the check
 * window: the path's next path_burn_in/2, at least 100 steps); up to 8
 * candidates per start (keyed by trajectory and attempt, so shards agree). Fails, naming the
 * reasons, when a start finds no accepted candidate. report may be NULL. */
int attractor_starts(const struct ddm_system *sys, const struct ddm_model *model,
                     const struct ddm_config *cfg, uint64_t first, int B, double *z0,
                     struct start_report *report, struct ddm_error *err);

/* S Lyapunov starts (S,k) on one long noise-free target path (RK4 at [analysis] lyapunov_dt):
 * from [simulate] start (or an attractor start), after lyapunov_transient steps, one start every
 * max(lyapunov_transient, 100) steps, the whole path checked as above (a path that leaves is
 * counted and the next origin tried, up to 8). `path` (path_points,k), allocated here, holds
 * points of that path (the attractor the starts should end on); `scale` (k) its std. */
struct lyapunov_starts {
    int S, k;
    double *z0;   /* (S,k) */
    double *path; /* (path_points,k) */
    long path_points;
    double scale[DDM_MAX_K];
    double min_separation; /* smallest distance between two starts, in units of scale */
    long spacing;          /* steps between two starts along the path */
    struct start_report report;
};
/* The longest averaged Lyapunov run: lyapunov_steps, × LYAPUNOV_LONGEST with a precision. */
long lyapunov_longest_steps(const struct ddm_config *cfg);
int lyapunov_starts_find(const struct ddm_system *sys, const struct ddm_model *model,
                         const struct ddm_config *cfg, int S, struct lyapunov_starts *out,
                         struct ddm_error *err);
void lyapunov_starts_free(struct lyapunov_starts *out);

/* Distance from z (k) to the nearest point of the path, per coordinate in units of scale. */
double lyapunov_starts_distance(const struct lyapunov_starts *starts, const double *z);

#endif
