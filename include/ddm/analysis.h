/* analysis.h — the analyze stage (docs/design.md §5): how the trained network carries the dynamics.
 *
 *   PCA        neuron-space states → explained variance, principal angles to range Γ̂, recovery
 *   split      W = W_S + W_A on a latent grid → f, f_sym, f_asym and the Hopfield energy
 *   HHD        stationary density of /simulate → f_rev, f_irr, entropy production Φ ± error
 *   Lyapunov   Benettin spectra of the noise-free latent flows of network and target
 *   stats      means, covariances, marginals, Wasserstein distances network vs target
 *   memory     (wells systems) occupancy, transitions, recall, cycling, dwell times
 *   fixed      fixed points of both flows by Newton's method, matched; spurious ones counted
 *   data       ([system] data) the network against held-out data: W₁, D_H, D_stsp, Φ by SFI
 * It reads /simulate back from the run file and writes /analysis into it (docs/design.md §7); it
 * runs on the host except the PCA's short simulation, which goes through the backend.
 */
#ifndef DDM_ANALYSIS_H
#define DDM_ANALYSIS_H

#include <hdf5.h>

#include "ddm/analysis_data.h"
#include "ddm/analysis_fixed.h"
#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/model.h"
#include "ddm/analysis_tick.h"
#include "ddm/progress.h"
#include "ddm/system.h"

/* What the closing summary prints; [0] the network, [1] the target. */
struct ddm_analysis_report {
    int k;
    int pca_done, split_done, hhd_done, lyapunov_done, stats_done, memory_done;
    /* PCA */
    long pca_states;
    int pca_significant;
    double pca_angle_deg; /* largest principal angle */
    double pca_r2;        /* smallest recovery R² over the coordinates */
    /* split */
    double split_residual;
    /* shares of grid points and stationary samples where f_sym (and f_sym_metric) descend E */
    double descent_grid, descent_grid_metric, descent_samples, descent_samples_metric;
    long descent_sample_count;
    /* HHD: the sample identity and the grid estimate */
    double phi[2], phi_err[2], phi_grid[2], phi_grid_err[2];
    int phi_grid_on;       /* the grid estimate ran (k ≤ 3 and hhd_grid > 0) */
    double phi_sigmas[2];  /* |identity − grid| in combined error bars (NaN: not compared) */
    long stationary_times; /* recorded times the stationary parts used */
    long recorded_times;   /* of these many after the burn-in fraction */
    /* Lyapunov */
    double lyapunov[2][DDM_MAX_K], lyapunov_err[2][DDM_MAX_K], kaplan_yorke[2];
    int lyapunov_starts[2];          /* starts averaged (on the target's attractor,
                                        docs/starts_and_energy.md) */
    int lyapunov_total;              /* starts tried */
    char lyapunov_elsewhere[2][320]; /* the starts that ended elsewhere, or "" */
    /* stats */
    long samples[2];
    double stationary_mean[2][DDM_MAX_K], stationary_var[2][DDM_MAX_K]; /* of those samples */
    double wasserstein[DDM_MAX_K];
    double wasserstein_std[DDM_MAX_K]; /* W₁ in units of the target's std */
    int stats_worst;                   /* coordinate of the largest, −1 when none is finite */
    double wasserstein_floor_std[DDM_MAX_K]; /* W₁ between the target's even and odd trajectories,
                                                in target std: the sampling floor (NaN: B < 2) */
    /* memory (wells systems) */
    int memory_cues;
    double recall[2], switch_rate[2], forward_backward[2], forward_backward_err[2];
    /* fixed points (ddm/analysis_fixed.h) */
    int fixed_done;
    struct fixed_point_summary fixed;
    double fixed_seconds;
    /* the network against held-out recorded data ([system] data; ddm/analysis_data.h) */
    struct data_report data;
    double seconds, pca_seconds, split_seconds, hhd_seconds, lyapunov_seconds, memory_seconds;
    char notes[1024]; /* parts left out and why, "; "-separated */
};

/* Checks the [analysis] keys that depend on the system (bounds, axes, slice) before any work. */
int analysis_check(const struct ddm_config *cfg, const struct ddm_system *sys,
                   struct ddm_error *err);

/* Runs every part the configuration enables on the run file `file` (open read-write, with
 * /model written, and /simulate when the stage ran or the file has one), replacing any older
 * /analysis group. */
int analysis_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg, hid_t file,
                 struct ddm_analysis_report *report, int quiet, struct ddm_error *err);

#endif
