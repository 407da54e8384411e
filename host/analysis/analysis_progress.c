/* analysis_progress.c — the analyze stage's progress bar, shared out among its parts. */
#include "ddm/analysis_tick.h"

void analysis_tick(const struct analysis_tick *tick, double fraction) {
    if (tick && tick->bar)
        progress_update(tick->bar, 100 * (tick->from + tick->span * fraction), tick->part);
}
