/* train.h — drift–diffusion matching: the training points and the fit of the network
 * (docs/design.md §3).
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
#include "ddm/plan.h"
#include "ddm/progress.h"
#include "ddm/recording.h"
#include "ddm/system.h"

struct ddm_points {
    int M, k;
    double *z; /* (M,k) original coordinates */
    double *f; /* (M,k) drift f(z) */
    int paths_used, paths_dropped;
    double path_dt; /* the step the paths were integrated with */
    int held_out;   /* data systems: the last held_out points are the held-out increments (0: a
                     * random test_fraction of the points is held out) */
};

/* Checks, before any work is done, that a start point given by the user ([train] path_start,
 * [simulate] start) does not escape without noise (config_resolve has parsed the keys). */
int sample_check(const struct ddm_system *sys, const struct ddm_config *cfg, struct ddm_error *err);

/* The Euler–Maruyama step of the target paths: [train] path_dt, or for auto min(1e-3,
 * [simulate] dt, 0.05/ρ), ρ the largest |eigenvalue| of the drift's Jacobian on the first points
 * (path starts and a short noise-free probe). Deterministic: simulation starts use it too. */
double sample_path_dt(const struct ddm_system *sys, const struct ddm_config *cfg);
/* The same rule for paths from `origin` (the attractor starts: [train] path_start alone). */
double sample_path_dt_from(const struct ddm_system *sys, const struct ddm_config *cfg,
                           const struct plan_origin *origin);

/* Samples the M = [train] samples points of the configuration. */
int sample_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                  struct ddm_points *points, struct ddm_error *err);
void points_free(struct ddm_points *points);

struct ddm_train_report {
    int M_train, M_test;
    /* the fit's margin points (train_margin_factor): each training point taken again at
     * μ + margin·(z − μ) with the drift there; M_margin of them were fitted (1, 0: none) */
    double margin;
    int M_margin;
    /* margin = auto: the held-out ε_f of the ridge start with and without the margin points
     * (train_choose_margin, host/model/train_choice.c); the smaller chose. 0, 0 when nothing was
     * chosen. */
    double margin_trial_with, margin_trial_without;
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
    int gn_stalled;                       /* Gauss–Newton stopped: rounds in a row gained < 2% */
    int gn_rounds_overfit; /* undone rounds whose training loss fell while held-out ε_f rose */
    int gn_skipped;        /* gauss_newton = auto left a ridge start already well within target */
    double gn_rel_err;     /* held-out ε_f after the Gauss–Newton rounds */
    /* ε_f on the points of fresh target paths (their own seed, not trained on): after the ridge
     * start, after the Gauss–Newton rounds, at the end; NaN for a system learnt from data */
    double ridge_fresh_rel_err, gn_fresh_rel_err, fresh_rel_err;
    int M_fresh;              /* points of the fresh paths (0: none) */
    double fresh_worst_share; /* share of the final fresh ε_f² that the worst 1 % of points carry */
    /* why the fresh or choice paths could not be drawn (empty: drawn, or not wanted) */
    char fresh_failed[256], choice_failed[256];
    double gn_seconds; /* time of the Gauss–Newton rounds */
    int epochs_run;
    double *loss; /* (epochs_run) training loss per epoch */
    double seconds, sampling_seconds, ridge_seconds, adam_seconds;
    double point_neurons_per_second; /* Adam throughput: points × neurons per second */
    /* a system learnt from data (docs/from_data.md); zero otherwise */
    int from_data, data_k;   /* 1 and k for a system learnt from data */
    double data_noise_floor; /* the held-out ε_f of the true drift: √(N / mean‖f̂‖²), N the
                                variance tr(C₀)/Δ² of the increments' noise */
    double data_drift_excess; /* √((ε_f² − floor²)/(1 − floor²)): ε_f against f with the noise
                                 taken out (NaN when the noise dominates) */
    double data_drift_excess_bound;       /* its 2-standard-error upper bound (docs/from_data.md) */
    int data_drift_excess_resolved;       /* 1: the excess is more than 2 standard errors above 0 */
    double data_D[DDM_MAX_K * DDM_MAX_K]; /* D̂ (k,k) = σ̂σ̂ᵀ/2, corrected for measurement noise */
    double data_noise_var[DDM_MAX_K]; /* σ_obs² per coordinate that was corrected for */
    long data_fit_increments, data_heldout_increments;
    /* [system] diffusion = estimate_state: the fitted σ̂(z) (the system's; NULL otherwise) */
    const struct diffusion_fit *data_diffusion_fit;
};

/* The larger of the held-out and fresh-path ε_f (the held-out one when there are no fresh paths):
 * what the fit verdict judges. */
static inline double train_worst_drift_error(const struct ddm_train_report *report) {
    return report->fresh_rel_err > report->drift_rel_err ? report->fresh_rel_err
                                                         : report->drift_rel_err;
}

/* margin = auto: the factor of the margin points for a system written as expressions. */
#define TRAIN_MARGIN_AUTO 1.5
/* The factor of the fit's margin points: [train] margin, or for auto TRAIN_MARGIN_AUTO for path
 * points of a system written as expressions and 1 (none) for data or box points. */
double train_margin_factor(const struct ddm_config *cfg);

/* neurons = auto: n = 64, 128, ... up to this, until the held-out ridge ε_f meets the target. */
#define TRAIN_NEURONS_AUTO_MIN 64
#define TRAIN_NEURONS_AUTO_MAX 1024
/* gauss_newton = auto: at most this many rounds (fewer when 2 in a row gain < 2%). */
#define GN_AUTO_ROUNDS 8
/* gauss_newton = auto runs whatever the ridge ε_f while n(k+1) is at most this (rounds of ~0.1 s)
 */
#define GN_AUTO_CHEAP_COLUMNS 256

/* Trains `model` (allocated here) for the system; fills the report. */
int train_model(const struct ddm_backend *backend, const struct ddm_system *sys,
                const struct ddm_config *cfg, struct ddm_model *model,
                struct ddm_train_report *report, int quiet, struct ddm_error *err);
void train_report_free(struct ddm_train_report *report);

/* Where Adam stands after `epochs_done` epochs: what a checkpoint keeps to continue training bit
 * for bit (the points, the split and each epoch's order are recomputed from the seed). */
#define TRAIN_STAGE_REPORT 11
struct ddm_train_state {
    int n, k;
    int epochs_done;
    long adam_step;       /* updates so far (the bias correction) */
    float *params;        /* (2nk + n) Γ̂ (n,k), b (n), Ŵ_s (k,n) */
    float *m1, *m2;       /* (2nk + n) Adam moments, laid out as params */
    double *loss;         /* (epochs_done) training loss per epoch */
    double ridge_rel_err; /* of the ridge start */
    double ridge_used;    /* λ the fine-tuning solves with (data: the ridge start's evidence λ) */
    double lr_scale;      /* of the fine-tuning: lr factor after its rejected rounds */
    int stalls;           /* rounds in a row that gained < 2% */
    /* a stop between Gauss–Newton rounds (epochs_done = 0): the rounds run so far, those in a
     * row that gained < 2%, and the training loss and judging ε_f of the network kept (params);
     * gn_rounds_done = -1 when the stage had ended */
    int gn_rounds_done, gn_stalls;
    double gn_best_loss, gn_best_eps;
    /* the report of the stages before the stop, for the summary and /train of the resumed run:
     * Gauss–Newton ε_f, seconds, rounds kept, undone, overfit, stalled, skipped; Adam rounds
     * kept, undone (all 0 in a checkpoint written before they were kept); ε_f on fresh paths
     * after the ridge start and after Gauss–Newton (NaN in a checkpoint written before) */
    double stage_report[TRAIN_STAGE_REPORT];
};

int train_state_alloc(struct ddm_train_state *state, int n, int k, int epochs,
                      struct ddm_error *err);
void train_state_free(struct ddm_train_state *state);

/* Bytes of one Gauss–Newton round's workspace (train_gauss_newton_round) for n neurons, dimension
 * k and at most M rows of the fit: what [run] memory_limit must allow beside the training's own
 * buffers (the most any row count up to M needs). */
double train_gauss_newton_bytes(int n, int k, double M);

/* One round of Levenberg–Marquardt steps (at most `iterations`) on the hidden layer (Γ̂, b) of
 * `model`, the readout eliminated by ridge λ (relative), on the M rows of the fit (ẑ in Z, y in Y;
 * above 131 072 rows a draw from `seed` and `round`) (host/model/train_gn.c). Ŵ_s is left as it
 * was. */
int train_gauss_newton_round(struct ddm_model *model, const float *Z, const float *Y, int M,
                             double ridge, uint64_t seed, int round, int iterations,
                             struct ddm_error *err);

/* train_model that can stop and go on: from `from` (a checkpoint) when not NULL, skipping the
 * initialisation and the ridge start; when `stopped` is not NULL, a stop_requested() seen after
 * an epoch (other than the last) fills `stopped` (allocated here) and returns DDM_EINTERRUPTED.
 * A stop seen while the target's paths are sampled returns DDM_EINTERRUPTED too (also when
 * `stopped` is NULL), with `stopped` a copy of `from`, or holding no network (n = 0) when there
 * is no `from`. */
int train_model_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                     const struct ddm_config *cfg, const struct ddm_train_state *from,
                     struct ddm_train_state *stopped, struct ddm_model *model,
                     struct ddm_train_report *report, int quiet, struct ddm_error *err);

/* Data systems (host/model/data_train.c). The training points: pairs (z(t), f̂) of the fit part of
 * the recording, f̂ the forward stencil of [system] data_drift (first_order: (z(t+Δ) − z(t))/Δ)
 * corrected for measurement noise when data_noise is set (at most [train] samples, evenly
 * strided), then those of the held-out part (points->held_out of them). */
int data_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                struct ddm_points *points, struct ddm_error *err);
/* Checks [system] data_noise: 0, a non-negative number, or estimate (*sigma_obs < 0). */
int data_noise_parse(const struct ddm_config *cfg, double *sigma_obs, struct ddm_error *err);
/* After the drift is trained: D̂ from the residual increments z(t+Δ) − φ_Δ(z(t)) of the fit part
 * (φ_Δ the learnt flow: an Euler step for first_order, else one RK4 step; measurement noise
 * corrected), σ̂ into model->S when [system] diffusion = estimate, and
 * the held-out noise floor of ε_f, into the report. */
int data_diffusion(const struct ddm_system *sys, const struct ddm_config *cfg,
                   struct ddm_model *model, struct ddm_train_report *report, struct ddm_error *err);

/* The drift bias of measurement noise (host/model/data_noise.c): the noise covariance R and a
 * polynomial score ∇ln p_y of the observed samples (score matching on monomials of degree ≤ 3 for
 * k ≤ 4, else ≤ 2), so that a drift target with a_0 η(t)/Δ in it is corrected by a_0 R ∇ln p_y/Δ
 * (Tweedie's formula). active = 0 (data_noise = 0): no correction. */
#define DATA_NOISE_MAX_TERMS 45
struct data_noise_model {
    int active, k, terms;
    double R[DDM_MAX_K * DDM_MAX_K]; /* σ_obs² I, or estimated from lag-1 residuals */
    double mean[DDM_MAX_K], scale[DDM_MAX_K];
    int exponent[DATA_NOISE_MAX_TERMS][DDM_MAX_K];
    double *coef; /* (k, terms): ∂ln p̂/∂ŷ_i = Σ_a coef[i·terms + a] b_a(ŷ), ŷ = (y − μ)/s */
};
/* Fits the model to the fit part; sigma_obs < 0: R estimated, 0: inactive, > 0: R = σ_obs² I. */
int data_noise_model_fit(const struct recording *fit, double sigma_obs, struct data_noise_model *m,
                         struct ddm_error *err);
/* ∇ln p_y at y (original coordinates). */
void data_noise_score(const struct data_noise_model *m, const double *y, double *score);
void data_noise_model_free(struct data_noise_model *m);
/* R (k,k) symmetric made positive semi-definite: negative eigenvalues (an estimate's sampling
 * noise where there is no measurement noise) set to 0. */
int data_noise_psd(double *R, int k, struct ddm_error *err);

/* ε_f = ‖f_RNN − f‖ / ‖f‖ over points (aggregate L2, original coordinates). */
double drift_relative_error(const struct ddm_model *model, const double *z, const double *f,
                            int count);

#endif
