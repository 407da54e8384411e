/* analysis_memory.c — occupancy, core-set transitions, recall and cycling (analysis_memory.h). */
#include "ddm/analysis_memory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double memory_radius(const struct wells *w, double radius) {
    if (radius > 0) return radius;
    double closest = INFINITY;
    for (int i = 0; i < w->K; i++)
        for (int j = 0; j < i; j++) {
            double d2 = 0;
            for (int c = 0; c < w->k; c++)
                d2 += (w->patterns[i][c] - w->patterns[j][c]) *
                      (w->patterns[i][c] - w->patterns[j][c]);
            closest = fmin(closest, sqrt(d2));
        }
    return isfinite(closest) ? closest / 3 : INFINITY;
}

void memory_occupancy(const struct wells *w, double radius, const float *z, long B, long count,
                      signed char *occupancy) {
    const int k = w->k;
    for (long q = 0; q < B * count; q++) {
        double point[8], distance;
        for (int c = 0; c < k; c++) point[c] = z[q * k + c];
        int j = wells_nearest(w, point, &distance);
        occupancy[q] = distance < radius ? (signed char)j : -1; /* NaN distance: in transit */
    }
}

void memory_result_free(struct memory_result *result) {
    free(result->transitions);
    free(result->dwell);
    memset(result, 0, sizeof *result);
}

/* Whether time t lies in a cue window or the recall delay after it. */
static int cued(const struct ddm_input *input, double recall_delay, double t) {
    for (int q = 0; input && q < input->count; q++)
        if (t >= input->cues[q].start && t < input->cues[q].end + recall_delay) return 1;
    return 0;
}

/* Appends one dwell time, doubling the array when it is full. */
static int add_dwell(struct memory_result *result, long *capacity, double dwell,
                     struct ddm_error *err) {
    if (result->dwell_count == *capacity) {
        double *grown = realloc(result->dwell, sizeof(double) * 2 * *capacity);
        if (!grown) return ddm_fail(err, DDM_ERUNTIME, "out of memory for dwell times");
        result->dwell = grown;
        *capacity *= 2;
    }
    result->dwell[result->dwell_count++] = dwell;
    return DDM_OK;
}

/* Each path in turn: its core-set state and the time it entered it, giving the transition counts
 * j → j′, the spontaneous ones (outside every cue window and recall delay), the dwell times
 * between two transitions (the first stay, entered before the record began, is not one) and the
 * fraction of states inside a core set. */
static int count_transitions(const signed char *occupancy, const double *t, long B, long T, int K,
                             const struct ddm_input *input, double recall_delay,
                             struct memory_result *result, struct ddm_error *err) {
    long dwell_capacity = 1024, occupied = 0;
    result->dwell = ddm_alloc(sizeof(double) * dwell_capacity, "dwell times", err);
    if (!result->dwell) return DDM_ERUNTIME;
    for (long b = 0; b < B; b++) {
        const signed char *path = occupancy + b * T;
        int last = -1, first_dwell = 1;
        double entered = 0;
        for (long i = 0; i < T; i++) {
            occupied += path[i] >= 0;
            if (path[i] < 0 || path[i] == last) continue;
            if (last >= 0) {
                result->transitions[last * K + path[i]]++;
                if (!cued(input, recall_delay, t[i])) {
                    result->spontaneous++;
                    /* around the cycle, spontaneous only: cues in pattern order would count */
                    result->forward += K >= 3 && path[i] == (last + 1) % K;
                    result->backward += K >= 3 && path[i] == (last + K - 1) % K;
                }
                if (!first_dwell && add_dwell(result, &dwell_capacity, t[i] - entered, err))
                    return DDM_ERUNTIME;
                first_dwell = 0;
            }
            last = path[i];
            entered = t[i];
        }
    }
    result->occupied = (double)occupied / (double)(B * T);
    return DDM_OK;
}

/* Recall: the core-set state recall_delay after each pattern cue (the last one held at or before
 * that time), the fraction of paths in the cued pattern's set. */
static void recall(const signed char *occupancy, const double *t, long B, long T,
                   const struct ddm_input *input, double recall_delay,
                   struct memory_result *result) {
    double recall_sum = 0;
    for (int q = 0; input && q < input->count; q++) {
        const struct ddm_cue *cue = &input->cues[q];
        double when = cue->end + recall_delay;
        if (cue->pattern < 0 || T == 0 || when > t[T - 1]) continue;
        long at = 0;
        while (at < T - 1 && t[at] < when) at++;
        long right = 0;
        for (long b = 0; b < B; b++) {
            int last = -1;
            for (long i = at; i >= 0 && last < 0; i--) last = occupancy[b * T + i];
            right += last == cue->pattern;
        }
        result->cue_pattern[result->cues] = cue->pattern;
        result->recall_per_cue[result->cues] = (double)right / B;
        recall_sum += result->recall_per_cue[result->cues++];
    }
    result->recall_accuracy = result->cues ? recall_sum / result->cues : NAN;
}

/* Cycling: spontaneous forward j → j+1 against backward j → j−1 transitions (K ≥ 3, counted by
 * count_transitions outside every cue window and recall delay: cues given in pattern order drive
 * forward transitions, and a reversible landscape cued 0, 1, 2, 3 read 7.0 ± 0.3 where its own
 * ratio is 1), their ratio with the Poisson error of the two counts, √(1/forward + 1/backward)
 * relative. */
static void cycling(int K, struct memory_result *result) {
    if (K >= 3 && result->backward > 0 && result->forward > 0) {
        result->forward_backward = (double)result->forward / result->backward;
        result->forward_backward_err =
            result->forward_backward * sqrt(1.0 / result->forward + 1.0 / result->backward);
    } else {
        result->forward_backward = K >= 3 && result->forward > 0 ? INFINITY : NAN;
        result->forward_backward_err = NAN;
    }
}

int memory_metrics(const signed char *occupancy, const double *t, long B, long T, int K,
                   const struct ddm_input *input, double recall_delay, struct memory_result *result,
                   struct ddm_error *err) {
    memset(result, 0, sizeof *result);
    result->K = K;
    result->transitions = ddm_calloc((size_t)K * K, sizeof(long), "transition counts", err);
    int code = result->transitions ? DDM_OK : DDM_ERUNTIME;
    if (!code) code = count_transitions(occupancy, t, B, T, K, input, recall_delay, result, err);
    if (code) {
        memory_result_free(result);
        return code;
    }
    /* time outside the cue windows, by the recorded spacing */
    for (long i = 0; i + 1 < T; i++)
        if (!cued(input, recall_delay, t[i])) result->free_time += t[i + 1] - t[i];
    result->spontaneous_rate =
        result->free_time > 0 ? (double)result->spontaneous / ((double)B * result->free_time) : NAN;
    recall(occupancy, t, B, T, input, recall_delay, result);
    cycling(K, result);
    return DDM_OK;
}
