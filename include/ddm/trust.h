/* trust.h — when a figure the engine prints is not to be trusted as it stands (docs/trust.md).
 *
 * Three checks whose verdicts go into the summary (as warnings) and into the run file:
 *   fit         ε_f, the held-out relative drift error, above DDM_FIT_WARN
 *   statistics  a W₁ of the stationary marginals, network vs target, above DDM_STATS_WARN target
 *               standard deviations
 *   Φ           the sample identity and the grid estimate more than DDM_PHI_SIGMAS combined error
 *               bars apart
 */
#ifndef DDM_TRUST_H
#define DDM_TRUST_H

#define DDM_FIT_WARN   0.01 /* ε_f above which the fit is called poor */
#define DDM_STATS_WARN 0.05 /* W₁ / target std above which the statistics are called far */
#define DDM_PHI_SIGMAS 3.0  /* combined error bars between two Φ estimates that agree */
/* A W₁ within this many times the W₁ between two halves of the target's own trajectories is
 * sampling noise, not a difference (each half carries √2 times the noise of the whole). */
#define DDM_STATS_FLOOR_FACTOR 1.5

/* "good" or "poor: ..." for ε_f. */
const char *trust_fit_verdict(double drift_rel_err);
/* What usually helps a poor fit, one sentence. */
const char *trust_fit_advice(void);

/* W₁ (k) in units of the target's std (k) into w_std (k); returns the index of the largest
 * (−1 when none is finite). */
int trust_wasserstein_in_std(int k, const double *wasserstein, const double *target_std,
                             double *w_std);

/* Whether the statistics are far: W₁ above DDM_STATS_WARN target std and above
 * DDM_STATS_FLOOR_FACTOR times the sampling floor floor_std (a NaN floor does not excuse). */
int trust_statistics_far(double w_std, double floor_std);

/* |a − b| / √(ea² + eb²) when all four are finite (and the bars not both zero), else NaN. */
double trust_phi_sigmas(double a, double ea, double b, double eb);

#endif
