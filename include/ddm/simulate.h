/* simulate.h — noisy network trajectories and the coupled target paths (docs/design.md §4).
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
#include "ddm/starts.h"
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
    int B, k, T;        /* B trajectories of this run, T recorded times (t = 0 included) */
    uint64_t first;     /* global index of trajectory 0: a shard's offset, 0 for the whole run */
    int B_total;        /* B of the whole ensemble (0: B): blocks are sized by it, so shards and
                         * the whole run cut their blocks at the same steps */
    int trace_B;        /* traced trajectories of this run: the global ones 0..Bt-1 it holds */
    int trace_n;        /* traced neurons */
    int *trace_neurons; /* (trace_n) */
    int has_start;      /* [simulate] start given: every trajectory starts at `start` */
    double start[DDM_MAX_K]; /* that point, parsed once by simulate_layout (a layout built by
                              * hand leaves has_start 0 and the starts follow the config) */
};

/* Sums for the stationary statistics: Σz, Σz² and the count of finite values per coordinate. */
struct sim_moments {
    double sum[DDM_MAX_K], sum2[DDM_MAX_K];
    long count[DDM_MAX_K];
};

/* Where a simulation stands between two blocks: what a checkpoint keeps to continue it bit for
 * bit. The noise and the inputs are keyed by the global step, the CPU backend's carried sums
 * are recomputed exactly from x (host/cpu/rnn_fast.h), so nothing else is needed. A trajectory
 * that blew up (on_nonfinite = drop or keep) is carried with its mark: a non-finite x dies again
 * at once in the backend, and the mark keeps it from counting twice (ddm/blowup.h). */
struct ddm_sim_state {
    int B, n, k;
    uint64_t step;    /* global steps done, the burn-in included */
    long recorded;    /* recorded times handed to the sink (0 during the burn-in) */
    float *x;         /* (B,n) network states */
    double *target_z; /* (B,k) coupled target paths */
    int *target_dead; /* (B) target paths that left the finite range */
    long target_nonfinite;
    int64_t *nonfinite_step; /* (B) step at which each network trajectory blew up, -1: never */
    struct sim_moments network, target;
};

int sim_state_alloc(struct ddm_sim_state *state, int B, int n, int k, struct ddm_error *err);
void sim_state_free(struct ddm_sim_state *state);

struct ddm_sim_report {
    long steps_done; /* steps after the burn-in */
    double seconds, network_seconds, target_seconds, output_seconds;
    double neuron_steps_per_second; /* B·n·steps / time inside the backend */
    long nonfinite;             /* network trajectories that blew up ([simulate] on_nonfinite) */
    long nonfinite_trajectory;  /* the global index of the first one */
    uint64_t nonfinite_step;    /* and the step at which it blew up */
    int nonfinite_bound;        /* 1: it left [simulate] blowup_bound; 0: it became NaN/Inf */
    int trajectories;           /* B of this run */
    int64_t *nonfinite_steps;   /* (B) the step of each trajectory's blow-up, -1: none;
                                 * allocated by the run, freed by sim_report_free */
    long target_nonfinite;      /* target paths that left the finite range (kept as NaN) */
    struct start_report starts; /* candidate starts drawn and refused (none: [simulate] start) */
    double latent_mean[DDM_MAX_K], latent_var[DDM_MAX_K]; /* over all recorded (B,T) */
    double target_mean[DDM_MAX_K], target_var[DDM_MAX_K];
};

void sim_report_free(struct ddm_sim_report *report);

/* Checks the [simulate] keys that depend on the system (k) before any work is done. */
int simulate_check(const struct ddm_config *cfg, int k, struct ddm_error *err);

/* Fills the layout from the configuration (trace neurons evenly spaced). */
int simulate_layout(const struct ddm_config *cfg, const struct ddm_model *model,
                    struct ddm_sim_layout *layout, struct ddm_error *err);
/* Narrows the layout to shard `index` of `count`: trajectories floor(i·B/N) … floor((i+1)·B/N)−1
 * (sizes differ by at most one), and of the traced ones those that fall in that range. */
void simulate_layout_shard(struct ddm_sim_layout *layout, int index, int count);
void simulate_layout_free(struct ddm_sim_layout *layout);

/* Latent starting points (B,k): [simulate] start, or points of the target's attractor reached
 * from N(μ, diag s²) after [train] path_burn_in, checked to be there (attractor_starts in
 * ddm/starts.h, which counts the refused candidates into report, NULL: not counted); keyed per
 * global trajectory first + j, so shards agree with the whole run. simulate_starts is
 * first = 0. */
int simulate_starts_from(const struct ddm_system *sys, const struct ddm_model *model,
                         const struct ddm_config *cfg, uint64_t first, int B, double *z0,
                         struct start_report *report, struct ddm_error *err);
int simulate_starts(const struct ddm_system *sys, const struct ddm_model *model,
                    const struct ddm_config *cfg, int B, double *z0, struct ddm_error *err);

int simulate_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                 struct ddm_sim_report *report, int quiet, struct ddm_error *err);

/* simulate_run that can stop and go on: it starts from `from` (a checkpoint's state) when not
 * NULL, and when `stopped` is not NULL it looks at stop_requested() (ddm/signals.h) after each
 * burn-in chunk and recorded block: on a request it finishes the block (and, on an asynchronous
 * backend, the one in flight), fills `stopped` (allocated here) and returns DDM_EINTERRUPTED. */
int simulate_run_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                      const struct ddm_model *model, const struct ddm_config *cfg,
                      const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                      const struct ddm_sim_state *from, struct ddm_sim_state *stopped,
                      struct ddm_sim_report *report, int quiet, struct ddm_error *err);

/* The simulation as a loop the caller can drive: sim_open sets it up (buffers, the cue schedule,
 * the starts or a checkpoint's state, the backend's context), each sim_block runs the next block
 * — a burn-in chunk, the record of t = 0, or a block of recorded times — through the one path
 * launch / target / collect / blow-up marks / sink / stop request, until sim_done; sim_close
 * frees it, fills the statistics of the report and turns a blow-up under on_nonfinite = stop
 * into the run's error. simulate_run_from is that loop. */
struct sim_request {
    const struct ddm_backend *backend;
    const struct ddm_system *sys;
    const struct ddm_model *model;
    const struct ddm_config *cfg;
    const struct ddm_sim_layout *layout;
    sim_sink_fn sink; /* NULL: statistics only */
    void *sink_user;
    const struct ddm_sim_state *from; /* a checkpoint's state to go on from, or NULL */
    struct ddm_sim_state *stopped;    /* filled on a stop request; NULL: no stops */
    struct ddm_sim_report *report;    /* filled as the run goes, completed by sim_close */
    int quiet;                        /* no progress line */
};
struct sim;
int sim_open(const struct sim_request *req, struct sim **sim, struct ddm_error *err);
int sim_block(struct sim *sim, struct ddm_error *err);
int sim_done(const struct sim *sim);
/* Frees sim; returns `code`, or the blow-up's error when the run stopped at one. */
int sim_close(struct sim *sim, int code, struct ddm_error *err);
/* The coupled target: B paths z (B,k) advanced by Euler–Maruyama with the network's noise. */
struct target_paths {
    int B;
    double *z; /* (B,k) */
    int *dead; /* (B) left the finite range */
    uint64_t noise_seed, first_trajectory;
};

/* Advances all paths by records × record_every steps from global step `step0`, recording z after
 * each record_every steps into out (B,records,k). input: (records*record_every, k) latent u per
 * step in the target's units, or NULL; noise_input: (records*record_every, k*m) the diffusion's
 * terms with t, s(t), per step (added to σ(z)), or NULL. Returns the number of paths that died
 * in this call. */
long target_advance(const struct ddm_system *sys, struct target_paths *paths, uint64_t step0,
                    int records, int record_every, double dt, const float *input,
                    const float *noise_input, float *out);

#endif
