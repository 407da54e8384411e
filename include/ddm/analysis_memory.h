/* analysis_memory.h — memory metrics of a multi-well run (docs/design.md §6), from the latent
 * paths.
 *
 * Occupancy: a state is in well j when it lies within `radius` of pattern p_j (and nearest to
 * it), else in transit (−1). Transitions are counted between "core sets": j → l when a path that
 * was last in well j enters well l ≠ j, so a path that grazes a boundary and falls back is not a
 * transition. From these:
 *   recall accuracy   fraction of paths whose last well is the cued one, recall_delay after each
 *                     pattern cue ends (averaged over the cues);
 *   spontaneous rate  transitions per path and unit time outside every [start, end + delay);
 *   forward/backward  Σ_j n(j → j+1) / Σ_j n(j → j−1) over the cycle of patterns (K ≥ 3) of the
 *                     spontaneous transitions (outside every [start, end + delay)), with a
 *                     Poisson error;
 *   dwell times       time from entering a well to entering the next one (first dwell of each
 *                     path, which has no observed start, left out).
 */
#ifndef DDM_ANALYSIS_MEMORY_H
#define DDM_ANALYSIS_MEMORY_H

#include "ddm/error.h"
#include "ddm/input.h"
#include "ddm/wells.h"

struct memory_result {
    int K;
    long *transitions; /* (K,K) counts j → l */
    double *dwell;     /* (dwell_count) completed dwell times */
    long dwell_count;
    int cues;                                      /* pattern cues that could be scored */
    int cue_pattern[DDM_MAX_CUES];                 /* (cues) */
    double recall_per_cue[DDM_MAX_CUES];           /* (cues) */
    double recall_accuracy;                        /* mean over cues; NaN without pattern cues */
    double spontaneous_rate, free_time;            /* per path and unit time; total cue-free time */
    long spontaneous;                              /* transitions outside the cue windows */
    double forward_backward, forward_backward_err; /* NaN for K < 3 or no backward transition */
    long forward, backward;
    double occupied; /* share of (path, time) samples inside some well */
};

/* The capture radius: `radius` when > 0, else a third of the smallest distance between two
 * patterns (the whole plane when there is one pattern). */
double memory_radius(const struct wells *w, double radius);

/* Occupancy codes (B,count) of latent states z (B,count,k). */
void memory_occupancy(const struct wells *w, double radius, const float *z, long B, long count,
                      signed char *occupancy);

/* Metrics from occupancy (B,T) at times t (T); input may be NULL (no cues). */
int memory_metrics(const signed char *occupancy, const double *t, long B, long T, int K,
                   const struct ddm_input *input, double recall_delay, struct memory_result *result,
                   struct ddm_error *err);
void memory_result_free(struct memory_result *result);

#endif
