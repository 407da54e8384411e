/* analysis_h5.h — the /analysis group of the run file (docs/design.md §7), and /simulate read back.
 *
 *   /analysis                      attrs complete, seconds, created, config (the INI analysed)
 *   /analysis/pca/{explained_variance, principal_angles_deg, map_A, map_c, recovery_r2_coordinates,
 *                  pc_coordinates, latent, recovered}                attrs recovery_r2, ...
 *   /analysis/decomposition/{axis0, axis1[, axis2], energy, f, f_sym, f_asym, at}
 *   /analysis/hhd/{rnn,target}/{axis0…, density, f_rev, f_irr, bandwidth}
 *                                            attrs entropy_production(_error), ..._grid(_error)
 *   /analysis/lyapunov/{rnn, target, rnn_starts, target_starts, rnn_error, target_error}
 *   /analysis/stats/{edges, wasserstein, rnn/{mean, covariance, marginal}, target/…}
 *   /analysis/memory/{occupancy (B,T), transitions (K,K), dwell_times, recall_per_cue,
 *                     cue_pattern}  attrs recall_accuracy, spontaneous_switch_rate,
 *                     forward_backward_ratio(_error), well_radius; the same for the coupled
 *                     target in /analysis/memory/target; /analysis/memory/landscape/{patterns,
 *                     cue_u, cue_window, axis0, axis1, potential}
 *   /analysis/fixed_points/{rnn,target}/{points, eigenvalues_real, eigenvalues_imag, type,
 *                     residual, match, nearest, distance, ends_near}, {scale, box_lo, box_hi}
 *                     attrs target, network, matched, spurious, missed, spurious_attractors,
 *                     ends_at_spurious, trajectories, match_tolerance, capture_radius, seeds
 * The recorded latent samples are read in slabs of all B trajectories × a run of times, so a
 * /simulate far larger than memory streams through.
 */
#ifndef DDM_ANALYSIS_H5_H
#define DDM_ANALYSIS_H5_H

#include <hdf5.h>

#include "ddm/analysis.h"
#include "ddm/analysis_hhd.h"
#include "ddm/analysis_memory.h"
#include "ddm/analysis_lyapunov.h"
#include "ddm/analysis_pca.h"
#include "ddm/analysis_split.h"
#include "ddm/analysis_stats.h"
#include "ddm/starts.h"

/* Replaces any /analysis by a new group marked complete = 0; *group is left open. */
int analysis_h5_begin(hid_t file, const struct ddm_config *cfg, hid_t *group,
                      struct ddm_error *err);
int analysis_h5_pca(hid_t group, const struct pca_result *pca, int k, struct ddm_error *err);
/* /analysis/decomposition; samples: the energy descent over the stationary samples. */
int analysis_h5_split(hid_t group, const struct split_grid *split,
                      const struct energy_descent *samples, const struct ddm_system *sys,
                      struct ddm_error *err);
/* /analysis/hhd/<name>, for the process `name` ("rnn" or "target"). */
int analysis_h5_hhd(hid_t group, const char *name, const struct hhd_result *hhd, double cut,
                    const struct ddm_system *sys, struct ddm_error *err);
/* /analysis/lyapunov: both spectra, per start (with where each start ended), and the starts. */
int analysis_h5_lyapunov(hid_t group, const struct lyapunov_result *rnn,
                         const struct lyapunov_result *target, const struct lyapunov_starts *starts,
                         const struct ddm_config *cfg, struct ddm_error *err);
/* Moments and marginals of [0] the network and [1] the target, W₁ (k). */
/* The verdicts of include/ddm/trust.h: /analysis/stats/wasserstein_in_target_std (k) with attrs
 * stationary_verdict and stationary_warn_above; /analysis/hhd/{rnn,target} attrs
 * estimates_sigmas_apart and estimates_agree (1, 0, or −1 when not compared). */
int analysis_h5_stats_verdict(hid_t group, const struct ddm_analysis_report *report,
                              struct ddm_error *err);
int analysis_h5_stats(hid_t group, const struct stats_moments *moments,
                      const struct stats_marginals *marginals, const double *wasserstein,
                      double burn_in_fraction, long first, struct ddm_error *err);
/* /analysis/memory for [0] the network and [1] the target, with occupancy (B,T) of each. */
int analysis_h5_memory(hid_t group, const struct memory_result *result,
                       const signed char *const *occupancy, long B, long T, double radius,
                       struct ddm_error *err);
/* /analysis/memory/landscape: the patterns (K,k), the cue vectors (cues,k) with their windows,
 * and V on a 2-D grid over the first two coordinates within [lo, hi] (the others at the
 * patterns' mean), for the "tilted landscape" figure. */
int analysis_h5_landscape(hid_t group, const struct wells *wells, const struct ddm_input *input,
                          const double *lo, const double *hi, struct ddm_error *err);
/* /analysis/fixed_points: sets[0] the network's ("rnn"), sets[1] the target's, the search
 * region and scales, and the counts of the summary. */
int analysis_h5_fixed_points(hid_t group, const struct fixed_point_set *sets,
                             const struct fixed_point_search *search,
                             const struct fixed_point_summary *summary, double tolerance,
                             struct ddm_error *err);
/* Marks /analysis complete, writes the stage time, closes the group and flushes. */
int analysis_h5_end(hid_t file, hid_t group, const struct ddm_analysis_report *report,
                    struct ddm_error *err);

#endif
