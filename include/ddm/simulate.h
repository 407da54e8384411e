/* simulate.h — noisy network trajectories and the coupled target paths (DESIGN §4).
 *
 * B trajectories start on the target's attractor (or at [simulate] start), on the manifold
 * x₀ = Γ̂ẑ₀ + b or displaced off it; the backend runs Euler–Maruyama in neuron space, and the
 * target SDE is integrated beside it with the same ξ, so network and target can be compared point
 * by point. Results leave in chunks of recorded times through a sink (the HDF5 writer, or memory
 * in tests) as the run goes.
 */
#ifndef DDM_SIMULATE_H
#define DDM_SIMULATE_H

#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/model.h"
#include "ddm/system.h"

/* A chunk of recorded times [first, first + count) of all B trajectories. */
struct sim_chunk {
    long first;
    int count;
    int B, k, trace_B, trace_n;
    const double *t;     /* (count) times after the burn-in */
    const float *latent; /* (B,count,k) network read-out z */
    const float *target; /* (B,count,k) coupled target z */
    const float *traces; /* (trace_B,count,trace_n) x of the traced neurons */
    const float *input;  /* (count,k) the input u at the recorded times, or NULL (no cues) */
};

typedef int (*sim_sink_fn)(void *user, const struct sim_chunk *chunk, struct ddm_error *err);

struct ddm_sim_layout {
    int B, k, T; /* T recorded times, t = 0 included */
    int trace_B, trace_n;
    int *trace_neurons; /* (trace_n) */
};

struct ddm_sim_report {
    long steps_done; /* steps after the burn-in */
    double seconds, network_seconds, target_seconds, output_seconds;
    double neuron_steps_per_second; /* B·n·steps / time inside the backend */
    long nonfinite;                 /* 1 when the network blew up (the run stops) */
    long nonfinite_trajectory;
    uint64_t nonfinite_step;
    long target_nonfinite; /* target paths that left the finite range (kept as NaN) */
    double latent_mean[DDM_MAX_K], latent_var[DDM_MAX_K]; /* over all recorded (B,T) */
    double target_mean[DDM_MAX_K], target_var[DDM_MAX_K];
};

/* Checks the [simulate] keys that depend on the system (k) before any work is done. */
int simulate_check(const struct ddm_config *cfg, int k, struct ddm_error *err);

/* Fills the layout from the configuration (trace neurons evenly spaced). */
int simulate_layout(const struct ddm_config *cfg, const struct ddm_model *model,
                    struct ddm_sim_layout *layout, struct ddm_error *err);
void simulate_layout_free(struct ddm_sim_layout *layout);

/* Latent starting points (B,k): [simulate] start, or points of the target's attractor reached
 * from N(μ, diag s²) after [train] path_burn_in; keyed per trajectory (shards agree). */
int simulate_starts(const struct ddm_system *sys, const struct ddm_model *model,
                    const struct ddm_config *cfg, int B, double *z0, struct ddm_error *err);

int simulate_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                 struct ddm_sim_report *report, int quiet, struct ddm_error *err);

/* The coupled target: B paths z (B,k) advanced by Euler–Maruyama with the network's noise. */
struct target_paths {
    int B;
    double *z; /* (B,k) */
    int *dead; /* (B) left the finite range */
    uint64_t noise_seed, first_trajectory;
};

/* Advances all paths by records × record_every steps from global step `step0`, recording z after
 * each record_every steps into out (B,records,k). input: (records*record_every, k) latent u per
 * step in the target's units, or NULL. Returns the number of paths that died in this call. */
long target_advance(const struct ddm_system *sys, struct target_paths *paths, uint64_t step0,
                    int records, int record_every, double dt, const float *input, float *out);

#endif
