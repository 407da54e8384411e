/* blowup.h — network trajectories that blow up during a simulation ([simulate] on_nonfinite).
 *
 * A trajectory blows up when its state becomes non-finite (NaN/Inf: the backend sees it, stops
 * advancing it and records NaN from then on) or when its recorded read-out leaves the bound
 * |z_c − μ_c| / s_c <= [simulate] blowup_bound (the host sees it in the block; the backend keeps
 * advancing it, but it is recorded as NaN from the record that left the bound on). Either way it
 * is marked once, with the global step at which it blew up (for a bound, the last step of the
 * recorded interval in which it left), and from then on it is NaN in every block.
 *
 * on_nonfinite = stop ends the run after the block that saw the first blow-up; drop and keep go
 * on with the others: /simulate/nonfinite_step (B) keeps the marks, and the analysis leaves the
 * marked trajectories out altogether (drop) or keeps their finite part (keep).
 */
#ifndef DDM_BLOWUP_H
#define DDM_BLOWUP_H

#include <stdint.h>

#include "ddm/backend.h"
#include "ddm/model.h"

/* The first blow-up of a run: earliest step, then lowest trajectory index. */
struct blowup_first {
    long trajectory; /* index within the run (not global); -1: none yet */
    uint64_t step;
    int bound; /* 1: it left the bound; 0: it became non-finite */
};

/* What the watch needs to know of the run. */
struct blowup_watch {
    const struct ddm_model *model; /* μ, s of the read-out */
    double bound;                  /* blowup_bound; 0: NaN/Inf only */
    int B, k, trace_B, trace_n;
};

/* Marks the trajectories that blew up in `block` (its latent, traces and died as written by the
 * backend) in steps (B; -1 for one that has not blown up), sets their rows of the block from the
 * blow-up on to NaN, updates *first and returns how many blew up in this block. */
long blowup_mark(const struct blowup_watch *watch, struct ddm_sim_block *block, int64_t *steps,
                 struct blowup_first *first);

/* The first blow-up recorded in steps (B), for a run that goes on from a checkpoint. */
void blowup_first_of(const int64_t *steps, int B, struct blowup_first *first);

/* "stop", "drop" or "keep" for an enum nonfinite_policy. */
const char *blowup_policy_name(int policy);

/* How many of steps (B) are marked. */
long blowup_count(const int64_t *steps, int B);

#endif
