/* progress.h — progress of a long stage: a bar with rate and ETA on a terminal, a plain line
 * every few seconds otherwise (batch logs), nothing with --quiet.
 */
#ifndef DDM_PROGRESS_H
#define DDM_PROGRESS_H

struct ddm_progress {
    const char *stage; /* "train", "simulate" */
    const char *unit;  /* what `done` counts, for the rate: "epochs", "steps" */
    double total;
    double start, last_print;
    int tty, quiet, printed;
};

void progress_begin(struct ddm_progress *p, const char *stage, const char *unit, double total,
                    int quiet);
/* Reports `done` of `total`; `note` (may be NULL) adds a short figure such as the loss. */
void progress_update(struct ddm_progress *p, double done, const char *note);
/* Ends the bar (a newline on a terminal). */
void progress_end(struct ddm_progress *p);

/* Seconds on a monotonic clock. */
double now_seconds(void);

#endif
