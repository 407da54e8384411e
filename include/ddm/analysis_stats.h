/* analysis_stats.h — stationary statistics of a latent process: mean, covariance, marginal
 * histograms, and the 1-D Wasserstein distance between two processes' marginals (docs/design.md
 * §5).
 *
 * Both accumulate sample by sample, so the recorded trajectories stream through once. A sample
 * with a non-finite coordinate (a target path that escaped) is skipped whole. The marginals are
 * histograms on fixed edges shared by the two processes; W₁ = ∫|F_a(x) − F_b(x)| dx comes from
 * 64-times finer histograms with the CDF linear inside each bin (error below one fine bin).
 */
#ifndef DDM_ANALYSIS_STATS_H
#define DDM_ANALYSIS_STATS_H

#include "ddm/error.h"
#include "ddm/system.h"

#define STATS_FINE 64 /* fine bins per stored bin, for W₁ */

struct stats_moments {
    int k;
    long count;
    double shift[DDM_MAX_K]; /* the first sample: sums are taken about it, against cancellation */
    double sum[DDM_MAX_K], cross[DDM_MAX_K * DDM_MAX_K];
    double min[DDM_MAX_K], max[DDM_MAX_K];
};

void stats_moments_init(struct stats_moments *mo, int k);
/* Adds `count` samples z (count,k). */
void stats_moments_add(struct stats_moments *mo, const float *z, long count);
/* mean (k) and covariance (k,k) (divided by count − 1). */
void stats_moments_result(const struct stats_moments *mo, double *mean, double *cov);

struct stats_marginals {
    int k, bins;                         /* stored bins per coordinate */
    double lo[DDM_MAX_K], hi[DDM_MAX_K]; /* edges lo … hi */
    double *fine;                        /* (k, bins·STATS_FINE) sample counts */
    long count;
};

int stats_marginals_init(struct stats_marginals *ma, int k, const double *lo, const double *hi,
                         int bins, struct ddm_error *err);
void stats_marginals_free(struct stats_marginals *ma);
/* Adds `count` samples z (count,k); values outside [lo, hi] go to the end bins. */
void stats_marginals_add(struct stats_marginals *ma, const float *z, long count);
/* density (k, bins): each coordinate's histogram normalised to unit area. */
void stats_marginals_density(const struct stats_marginals *ma, double *density);
/* W₁ between the marginals of coordinate c of a and b (same edges and bins). */
double stats_wasserstein(const struct stats_marginals *a, const struct stats_marginals *b, int c);

#endif
