/* input.h — the cue schedule of [input]: inputs u(t) that tilt the landscape (docs/design.md §2,
 * §6).
 *
 * A cue is a time window [start, end) (times after the burn-in) with a latent vector u, given
 * directly or as the direction from the patterns' centroid to one pattern (a well of the wells
 * system), times a strength. It enters the target as dz = (f(z) + u) dt + …, and the network along
 * Γ̂ as û = τ u ⊘ s, so that the network's latent drift gains exactly + u. The landscape V is
 * tilted into V − u·z: the cued well becomes the global minimum while the cue lasts.
 */
#ifndef DDM_INPUT_H
#define DDM_INPUT_H

#include "ddm/model.h"
#include "ddm/system.h"

#define DDM_MAX_CUES 256

struct ddm_cue {
    double start, end; /* time window, after the burn-in */
    int pattern;       /* the cued pattern (0-based), or -1 for a plain vector */
    double u[DDM_MAX_K];
};

struct ddm_input {
    int count, k;
    struct ddm_cue cues[DDM_MAX_CUES];
    /* A system whose drift uses the time t (system.h): its forcing g(t) is added to u at every
     * time, the burn-in's included (times before 0); NULL for an autonomous system. */
    const struct ddm_system *forced;
    /* A system whose diffusion uses t: its terms with t, s(t), add to the noise of target and
     * network at every step, the burn-in's included; NULL when σ does not use t. */
    const struct ddm_system *noise_timed;
};

/* Parses "START:END pattern J [strength S]; START:END vector v1, v2 [strength S]; ..." with
 * default strength `strength`; `at` names the key for messages. A pattern needs the wells
 * system. An empty text gives no cues. */
int input_parse(const char *text, double strength, const struct ddm_system *sys, const char *at,
                struct ddm_input *input, struct ddm_error *err);

/* 1 when some time has an input: cues, or the forcing of a system that uses t. */
int input_active(const struct ddm_input *input);

/* u (k) at time t: the cues that hold at t (overlapping cues add) plus the forcing g(t). */
void input_at(const struct ddm_input *input, double t, double *u);

/* Per-step inputs of `count` steps starting at time t0 (after the burn-in): u (count,k) for the
 * target and û = τ u ⊘ s (count,k) for the network; either may be NULL. Returns 1 when some step
 * has a non-zero input, 0 when the whole stretch is free of cues. */
int input_fill(const struct ddm_input *input, const struct ddm_model *model, double t0, double dt,
               int count, float *u, float *u_hat);

/* 1 when the diffusion has terms with t (the noise changes in time). */
int input_noise_active(const struct ddm_input *input);

/* The diffusion's terms with t over `count` steps from time t0: s(t) (count,k*m) for the target
 * and ŝ(t) = diag(1/s) s(t) (count,k*m) for the network, whose noise is Γ̂(Ŝ(x) + ŝ(t)) √Δt ξ;
 * either may be NULL. */
void input_noise_fill(const struct ddm_input *input, const struct ddm_model *model, double t0,
                      double dt, int count, float *sigma, float *sigma_hat);

#endif
