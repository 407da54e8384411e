/* progress.c — progress bars with rate and ETA (terminal) or periodic plain lines (logs). */
#include "ddm/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void progress_begin(struct ddm_progress *p, const char *stage, const char *unit, double total,
                    int quiet) {
    p->stage = stage;
    p->unit = unit;
    p->total = total;
    p->start = p->last_print = now_seconds();
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->printed = 0;
}

static void format_duration(double seconds, char *buf, size_t len) {
    if (seconds < 0 || seconds != seconds) seconds = 0;
    if (seconds < 60)
        snprintf(buf, len, "%.0fs", seconds);
    else if (seconds < 3600)
        snprintf(buf, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
    else
        snprintf(buf, len, "%dh%02dm", (int)seconds / 3600, (int)seconds % 3600 / 60);
}

void progress_update(struct ddm_progress *p, double done, const char *note) {
    if (p->quiet) return;
    double now = now_seconds();
    /* a terminal redraws at most 10 times a second; a log gets a line every 10 s */
    double interval = p->tty ? 0.1 : 10.0;
    if (now - p->last_print < interval && done < p->total) return;
    if (!p->tty && done >= p->total && !p->printed) return; /* short stage: summary says it all */
    p->last_print = now;
    p->printed = 1;
    double elapsed = now - p->start, fraction = p->total > 0 ? done / p->total : 1;
    double rate = elapsed > 0 ? done / elapsed : 0;
    char eta[32], spent[32];
    format_duration(rate > 0 ? (p->total - done) / rate : 0, eta, sizeof eta);
    format_duration(elapsed, spent, sizeof spent);
    if (p->tty) {
        char bar[31];
        int filled = (int)(30 * fraction + 0.5);
        for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%-8s [%s] %5.1f%%  %.3g %s/s  ETA %s  %s   ", p->stage, bar,
                100 * fraction, rate, p->unit, eta, note ? note : "");
    } else {
        fprintf(stderr, "%s: %.1f%% (%.0f/%.0f %s) after %s, %.3g %s/s, ETA %s %s\n", p->stage,
                100 * fraction, done, p->total, p->unit, spent, rate, p->unit, eta,
                note ? note : "");
    }
    fflush(stderr);
}

void progress_end(struct ddm_progress *p) {
    if (!p->quiet && p->tty && p->printed) fputc('\n', stderr);
}
