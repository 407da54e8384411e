/* train.h — drift–diffusion matching: the training points and the fit of the network (DESIGN §3).
 *
 * Points z are taken along simulated target paths (with jitter, so the drift is right near the
 * attractor too) and/or uniformly in a box; f(z) is evaluated there. In normalised coordinates
 * ẑ = (z − μ) ⊘ s the perceptron F̂(ẑ) = Ŵ_s tanh(Γ̂ẑ + b) is fitted to τ f̂ + ẑ: first Ŵ_s in
 * closed form (ridge), then all of (Γ̂, b, Ŵ_s) with Adam. The diffusion is set exactly when σ is
 * constant, and fitted as a second readout of the hidden layer when it depends on z.
 */
#ifndef DDM_TRAIN_H
#define DDM_TRAIN_H

#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/model.h"
#include "ddm/progress.h"
#include "ddm/system.h"

struct ddm_points {
    int M, k;
    double *z; /* (M,k) original coordinates */
    double *f; /* (M,k) drift f(z) */
    int paths_used, paths_dropped;
    double path_dt; /* the step the paths were integrated with */
};

/* Checks the sampling keys ([train] box, path_start) before any work is done, and that a start
 * point given by the user ([train] path_start, [simulate] start) does not escape without noise. */
int sample_check(const struct ddm_system *sys, const struct ddm_config *cfg, struct ddm_error *err);

/* The Euler–Maruyama step of the target paths: [train] path_dt, or for auto min(1e-3,
 * [simulate] dt, 0.05/ρ), ρ the largest |eigenvalue| of the drift's Jacobian on the first points
 * (path starts and a short noise-free probe). Deterministic: simulation starts use it too. */
double sample_path_dt(const struct ddm_system *sys, const struct ddm_config *cfg);

/* Samples the M = [train] samples points of the configuration. */
int sample_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                  struct ddm_points *points, struct ddm_error *err);
void points_free(struct ddm_points *points);

struct ddm_train_report {
    int M_train, M_test;
    int paths_used, paths_dropped;
    double ridge_rel_err;     /* ε_f on the held-out points after the ridge start */
    double drift_rel_err;     /* ε_f on the held-out points at the end */
    double diffusion_rel_err; /* ‖σ_RNN − σ‖/‖σ‖ on held-out points (0 for constant σ) */
    double final_loss;        /* training loss of the final network */
    double ridge_used;        /* λ of the last ridge solve (raised when ill-conditioned) */
    double path_dt;           /* the step of the target paths ([train] path_dt or auto) */
    double init_gain, init_bias; /* used (chosen when auto) */
    int neurons;                 /* n used (chosen when auto) */
    /* how the auto keys were chosen, by the held-out ridge ε_f of the candidates: "g/g_b ε_f, ..."
     * at the chosen n, and "n ε_f, ..." (empty when not auto) */
    char gain_choice[256], neurons_choice[256];
    double ridge_loss;                    /* training loss of the ridge start */
    int rounds_accepted, rounds_rejected; /* fine-tuning rounds kept / undone */
    int stopped_early;                    /* fine-tuning stopped: 3 rounds in a row gained < 2% */
    int gn_rounds_kept, gn_rounds_undone; /* Gauss–Newton rounds kept / undone */
    double gn_rel_err;                    /* held-out ε_f after the Gauss–Newton rounds */
    double gn_seconds;                    /* time of the Gauss–Newton rounds */
    int epochs_run;
    double *loss; /* (epochs_run) training loss per epoch */
    double seconds, sampling_seconds, ridge_seconds, adam_seconds;
    double point_neurons_per_second; /* Adam throughput: points × neurons per second */
};

/* neurons = auto: n = 64, 128, ... up to this, until the held-out ridge ε_f meets the target. */
#define TRAIN_NEURONS_AUTO_MIN 64
#define TRAIN_NEURONS_AUTO_MAX 1024

/* Trains `model` (allocated here) for the system; fills the report. */
int train_model(const struct ddm_backend *backend, const struct ddm_system *sys,
                const struct ddm_config *cfg, struct ddm_model *model,
                struct ddm_train_report *report, int quiet, struct ddm_error *err);
void train_report_free(struct ddm_train_report *report);

/* Where Adam stands after `epochs_done` epochs: what a checkpoint keeps to continue training bit
 * for bit (the points, the split and each epoch's order are recomputed from the seed). */
struct ddm_train_state {
    int n, k;
    int epochs_done;
    long adam_step;                   /* updates so far (the bias correction) */
    float *params;                    /* (2nk + n) Γ̂ (n,k), b (n), Ŵ_s (k,n) */
    float *m1, *m2;                   /* (2nk + n) Adam moments, laid out as params */
    double *loss;                     /* (epochs_done) training loss per epoch */
    double ridge_rel_err, ridge_used; /* of the ridge start */
    double lr_scale;                  /* of the fine-tuning: lr factor after its rejected rounds */
    int stalls;                       /* rounds in a row that gained < 2% */
};

int train_state_alloc(struct ddm_train_state *state, int n, int k, int epochs,
                      struct ddm_error *err);
void train_state_free(struct ddm_train_state *state);

/* One round of Levenberg–Marquardt steps (at most `iterations`) on the hidden layer (Γ̂, b) of
 * `model`, the readout eliminated by ridge λ (relative), on a subsample of the M training points
 * (ẑ in Z, y in Y) drawn from `seed` and `round` (host/train_gn.c). Ŵ_s is left as it was. */
int train_gauss_newton_round(struct ddm_model *model, const float *Z, const float *Y, int M,
                             double ridge, uint64_t seed, int round, int iterations,
                             struct ddm_error *err);

/* train_model that can stop and go on: from `from` (a checkpoint) when not NULL, skipping the
 * initialisation and the ridge start; when `stopped` is not NULL, a stop_requested() seen after
 * an epoch (other than the last) fills `stopped` (allocated here) and returns DDM_EINTERRUPTED. */
int train_model_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                     const struct ddm_config *cfg, const struct ddm_train_state *from,
                     struct ddm_train_state *stopped, struct ddm_model *model,
                     struct ddm_train_report *report, int quiet, struct ddm_error *err);

/* ε_f = ‖f_RNN − f‖ / ‖f‖ over points (aggregate L2, original coordinates). */
double drift_relative_error(const struct ddm_model *model, const double *z, const double *f,
                            int count);

#endif
