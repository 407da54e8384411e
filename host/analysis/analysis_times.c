/* analysis_times.c — the recorded times the stationary parts use (see analysis_times.h). */
#include "ddm/analysis_times.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"

void stationary_times_free(struct stationary_times *st) {
    free(st->usable);
    st->usable = NULL;
}

/* 1 when time s lies in no cue window [start, end + delay). */
static int outside_cues(const struct ddm_input *input, double delay, double s, int *hit) {
    for (int c = 0; c < input->count; c++)
        if (s >= input->cues[c].start && s < input->cues[c].end + delay) {
            hit[c] = 1;
            return 0;
        }
    return 1;
}

int stationary_times_find(const double *t, long T, long first, const struct ddm_input *input,
                          double recall_delay, struct stationary_times *st, struct ddm_error *err) {
    memset(st, 0, sizeof *st);
    st->T = T;
    st->first = first;
    st->usable = ddm_calloc(T > 0 ? T : 1, 1, "stationary time mask", err);
    if (!st->usable) return DDM_ERUNTIME;
    int hit[DDM_MAX_CUES] = {0};
    for (long i = first; i < T; i++) {
        st->usable[i] = (unsigned char)outside_cues(input, recall_delay, t[i], hit);
        st->used += st->usable[i];
    }
    for (int c = 0; c < input->count; c++) st->cues += hit[c];
    int n = snprintf(st->text, sizeof st->text,
                     "%ld of %ld recorded times: t >= %.6g (burn-in "
                     "fraction)",
                     st->used, T, first < T ? t[first] : NAN);
    if (input->count)
        snprintf(st->text + n, sizeof st->text - n,
                 ", outside every cue window and recall_delay %g after it ([start, end + %g) of "
                 "%d cues, %d of them within the recording)",
                 recall_delay, recall_delay, input->count, st->cues);
    return DDM_OK;
}

/* Passes runs of usable times of each slab on to the inner function. */
struct filter {
    const struct stationary_times *st;
    runfile_slab_fn inner;
    void *user;
    int B, k, failed;
};

static void filtered(void *user, const float *z, int count, long t) {
    struct filter *f = user;
    const unsigned char *usable = f->st->usable + f->st->first + t;
    int all = 1;
    for (int s = 0; s < count; s++) all &= usable[s];
    if (all) {
        f->inner(f->user, z, count, t);
        return;
    }
    float *run = malloc(sizeof(float) * f->B * count * f->k);
    if (!run) {
        f->failed = 1;
        return;
    }
    for (int s0 = 0; s0 < count;) {
        if (!usable[s0]) {
            s0++;
            continue;
        }
        int s1 = s0;
        while (s1 < count && usable[s1]) s1++;
        const int length = s1 - s0;
        for (int b = 0; b < f->B; b++)
            memcpy(run + (size_t)b * length * f->k, z + ((size_t)b * count + s0) * f->k,
                   sizeof(float) * length * f->k);
        f->inner(f->user, run, length, t + s0);
        s0 = s1;
    }
    free(run);
}

int stationary_scan(hid_t file, const char *dataset, const struct stationary_times *st,
                    runfile_slab_fn fn, void *user, struct ddm_error *err) {
    int present = 0, B = 0, k = 0;
    long T = 0;
    int code = runfile_simulate_shape(file, &present, &B, &T, &k, err);
    if (code) return code;
    if (T != st->T)
        return ddm_fail(err, DDM_ERUNTIME, "/simulate/%s has %ld times but /simulate/t has %ld",
                        dataset, T, st->T);
    struct filter f = {st, fn, user, B, k, 0};
    code = runfile_simulate_scan(file, dataset, st->first, filtered, &f, err);
    if (!code && f.failed)
        code = ddm_fail(err, DDM_ERUNTIME, "out of memory while selecting the stationary times");
    return code;
}

int stationary_times_write(hid_t group, const struct stationary_times *st, struct ddm_error *err) {
    const hsize_t T = (hsize_t)st->T;
    int code = h5_attr_string(group, H5N_STATIONARY_TIMES, st->text, err);
    if (!code) code = h5_attr_int(group, H5N_STATIONARY_TIME_COUNT, st->used, err);
    if (!code) code = h5_attr_int(group, H5N_RECORDED_TIME_COUNT, st->T, err);
    if (!code && T)
        code = h5_write(group, H5N_STATIONARY_TIME_USED, H5T_STD_U8LE, H5T_NATIVE_UCHAR, 1, &T,
                        st->usable, "(T)", err);
    return code;
}
