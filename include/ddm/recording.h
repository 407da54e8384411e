/* Recorded latent trajectories: the target of a system known only from data ([system] data).
 *
 * B trajectories of varying length, each sampled every dt; sample s of trajectory b is
 * z + (offset[b] + s)·k, for s < offset[b + 1] − offset[b]. Values are doubles in the units of the
 * file; the coordinate names are those of [system] vars. */
#ifndef DDM_RECORDING_H
#define DDM_RECORDING_H

#include <stddef.h>

struct recording {
    int k;            /* coordinates per sample (1 ≤ k ≤ DDM_MAX_K) */
    int trajectories; /* B */
    long *offset;     /* B + 1 sample offsets: trajectory b is [offset[b], offset[b + 1]) */
    double *z;        /* offset[B] × k samples, row-major */
    double dt;        /* the sampling interval Δ */
};

/* Samples in trajectory b. */
static inline long recording_length(const struct recording *r, int b) {
    return r->offset[b + 1] - r->offset[b];
}

void recording_free(struct recording *r);

#endif
