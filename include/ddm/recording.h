/* Recorded latent trajectories: the target of a system known only from data ([system] data).
 *
 * B trajectories of varying length, each sampled every dt; sample s of trajectory b is
 * z + (offset[b] + s)·k, for s < offset[b + 1] − offset[b]. Values are doubles in the units of the
 * file; the coordinate names are those of [system] vars. */
#ifndef DDM_RECORDING_H
#define DDM_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "ddm/config.h"
#include "ddm/error.h"

struct recording {
    int k;            /* coordinates per sample (1 ≤ k ≤ DDM_MAX_K) */
    int trajectories; /* B */
    long *offset;     /* B + 1 sample offsets: trajectory b is [offset[b], offset[b + 1]) */
    double *z;        /* offset[B] × k samples, row-major */
    double dt;        /* the sampling interval Δ */
    /* where it came from, for messages and for /system/data of the HDF5 file */
    char path[1024];      /* [system] data as given */
    char dataset[256];    /* HDF5: the dataset read; empty for .npy and .csv */
    long long file_bytes; /* size of the file */
    uint64_t hash;        /* FNV-1a 64 of the samples as doubles (equal data, equal hash) */
};

/* Fewest samples a recording may have in all (and each part of a split). */
#define RECORDING_MIN_SAMPLES 100

/* Samples in trajectory b. */
static inline long recording_length(const struct recording *r, int b) {
    return r->offset[b + 1] - r->offset[b];
}

/* Loads [system] data (with data_dataset, data_dt and vars) into `out`: HDF5 (B,T,k) or (T,k),
 * .npy (T,k) or (B,T,k) float32/float64, .csv (a column per variable, optional header matching
 * vars, optional first column t/time; rows of NaN split trajectories). A time vector (HDF5: a
 * dataset 't' or 'time' beside the data; .csv: the t/time column) must be uniform and agree with
 * the sampling interval. Bad data is one line naming the file and what is wrong, DDM_EUSAGE. */
int recording_load(const struct ddm_config *cfg, struct recording *out, struct ddm_error *err);

/* Splits into a fit part and a held-out part of about `holdout` of the data: whole trajectories
 * (evenly spread over the file order) when there are several, the last contiguous block of
 * samples when there is one; never single points. Both parts are allocated here. */
int recording_split(const struct recording *all, double holdout, struct recording *fit,
                    struct recording *held_out, struct ddm_error *err);

/* Samples in all trajectories. */
static inline long recording_samples(const struct recording *r) {
    return r->offset[r->trajectories];
}

void recording_free(struct recording *r);

#endif
