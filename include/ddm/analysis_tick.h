/* analysis_tick.h — a part of the analyze stage reports its progress as a share of the stage's
 * bar. Kept apart from analysis.h so that the parts (PCA, Lyapunov) do not depend on the
 * orchestrator that calls them. */
#ifndef DDM_ANALYSIS_TICK_H
#define DDM_ANALYSIS_TICK_H

#include "ddm/progress.h"

/* A part's share [from, from + span) of the stage's progress bar. */
struct analysis_tick {
    struct ddm_progress *bar; /* NULL: no progress */
    double from, span;
    const char *part;
};
/* Reports that the part has done `fraction` (0..1) of its work. */
void analysis_tick(const struct analysis_tick *tick, double fraction);

#endif
