/* plan.h — the configuration resolved once: every structured string of the INI file (a start
 * point, ranges, variable names, the cue schedule) as the typed values the stages use.
 *
 * struct ddm_config keeps each key as written (its text goes into the HDF5 file and into
 * messages); config_resolve reads those strings once, after loading, --set and the [sweep] point,
 * when the system is known (a start has k numbers, a cue may name a pattern of the wells), and
 * stores the result in cfg->plan. Every error it gives names the key's file:line (or the --set
 * argument). The stages (training points, simulation, starts, analysis) read cfg->plan and never
 * parse the strings again nor look up where a key was written: the plan carries, for the one
 * message given later at run time (a start point that escapes), the resolved "file:line: [section]
 * key" text.
 */
#ifndef DDM_PLAN_H
#define DDM_PLAN_H

#include "ddm/config.h"
#include "ddm/input.h"
#include "ddm/latent_grid.h"
#include "ddm/system.h"

/* Which stages a run has: config_resolve refuses a malformed key only when a stage uses it. */
enum plan_uses { PLAN_TRAIN = 1, PLAN_SIMULATE = 2, PLAN_ANALYZE = 4, PLAN_ALL = 7 };

/* Where target paths start ([train] path_start, else [simulate] start, else N(0, I)). */
struct plan_origin {
    enum { ORIGIN_NORMAL, ORIGIN_POINT, ORIGIN_BOX } kind;
    double lo[DDM_MAX_K], hi[DDM_MAX_K]; /* the box; lo is the point */
    char where[1200];                    /* "file:line: [train] path_start" for messages */
};

struct ddm_plan {
    int k;
    /* [simulate] start: one latent point for every trajectory (has_start = 0: the attractor) */
    int has_start;
    double start[DDM_MAX_K];
    /* [train] target paths: their origin, and [simulate] start as an origin of its own when both
     * keys are given (training checks that both stay bounded); kind NORMAL when the key is empty */
    struct plan_origin path_origin, start_origin;
    /* [train] box "lo:hi, ..." (has_box = 0: the padded range of the path points) */
    int has_box;
    double box_lo[DDM_MAX_K], box_hi[DDM_MAX_K];
    /* [analysis] bounds (has_bounds = 0: the visited region) */
    int has_bounds;
    double bounds_lo[DDM_MAX_K], bounds_hi[DDM_MAX_K];
    /* [analysis] decomposition_axes: the d latent coordinates spanning the split's grid */
    int decomposition_d, decomposition_axis[DDM_GRID_MAX_D];
    /* [analysis] decomposition_at: values of the other coordinates (has_at = 0: the mean) */
    int has_decomposition_at;
    double decomposition_at[DDM_MAX_K];
    /* [input] cues with their strength, and the forcing of a system that uses t */
    struct ddm_input cues;
};

/* Resolves the structured keys of cfg for the system sys into a new cfg->plan (freed by
 * config_free; a plan already there is replaced). Keys that the stages in `uses` (enum
 * plan_uses) read are checked, in the order the run used to meet them; the others are resolved
 * where they parse and left empty where not. */
int config_resolve(struct ddm_config *cfg, const struct ddm_system *sys, int uses,
                   struct ddm_error *err);

#endif
