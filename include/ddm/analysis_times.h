/* analysis_times.h — which recorded times the stationary parts of the analysis use.
 *
 * The density, the Helmholtz–Hodge split, Φ and the stationary statistics assume a stationary
 * process. A cue (docs/design.md §6) tilts the landscape and drives the state away from
 * stationarity for its window and the relaxation after it, so those parts use only the recorded
 * times after the burn-in fraction that lie outside every cue window [start, end + recall_delay).
 * The choice is written to /analysis (attrs stationary_times, stationary_time_count,
 * recorded_time_count and the mask stationary_time_used (T)), so files and figures say which times
 * were used.
 */
#ifndef DDM_ANALYSIS_TIMES_H
#define DDM_ANALYSIS_TIMES_H

#include <hdf5.h>

#include "ddm/analysis_h5.h"
#include "ddm/config.h"
#include "ddm/input.h"
#include "ddm/runfile.h"

struct stationary_times {
    long T, first;         /* recorded times; the first after the burn-in fraction */
    long used;             /* times used: ≥ first and outside every cue window + delay */
    int cues;              /* cue windows that removed times */
    unsigned char *usable; /* (T) 1 where the time is used */
    char text[512];        /* one line saying which times were used */
};

/* The usable times of a /simulate with T recorded times at t (T), from `first` on. */
int stationary_times_find(const double *t, long T, long first, const struct ddm_input *input,
                          double recall_delay, struct stationary_times *st, struct ddm_error *err);
void stationary_times_free(struct stationary_times *st);

/* runfile_simulate_scan of /simulate/<dataset> restricted to the usable times: fn receives runs of
 * consecutive usable times (t counted from st->first, as runfile_simulate_scan counts them). */
int stationary_scan(hid_t file, const char *dataset, const struct stationary_times *st,
                    runfile_slab_fn fn, void *user, struct ddm_error *err);

/* Writes the choice into the /analysis group. */
int stationary_times_write(hid_t group, const struct stationary_times *st, struct ddm_error *err);

#endif
