/* blowup.c — marking the network trajectories that blow up (see blowup.h). */
#include "ddm/blowup.h"

#include <math.h>

/* The first record of trajectory t in the block whose read-out leaves the bound, or `records`. */
static int record_past_bound(const struct blowup_watch *watch, const struct ddm_sim_block *block,
                             int t) {
    const int k = watch->k;
    const double *mean = watch->model->latent_mean, *scale = watch->model->latent_scale;
    for (int r = 0; r < block->records; r++) {
        const float *z = block->latent + ((size_t)t * block->records + r) * k;
        for (int c = 0; c < k; c++)
            if (fabs(((double)z[c] - mean[c]) / scale[c]) > watch->bound) return r;
    }
    return block->records;
}

static void set_nan(const struct blowup_watch *watch, struct ddm_sim_block *block, int t,
                    int from_record) {
    for (int r = from_record; r < block->records; r++) {
        float *z = block->latent + ((size_t)t * block->records + r) * watch->k;
        for (int c = 0; c < watch->k; c++) z[c] = NAN;
        if (!block->traces || t >= watch->trace_B) continue;
        float *trace = block->traces + ((size_t)t * block->records + r) * watch->trace_n;
        for (int j = 0; j < watch->trace_n; j++) trace[j] = NAN;
    }
}

static void keep_first(struct blowup_first *first, long t, uint64_t step, int bound) {
    if (first->trajectory >= 0 &&
        (first->step < step || (first->step == step && first->trajectory < t)))
        return;
    first->trajectory = t;
    first->step = step;
    first->bound = bound;
}

long blowup_mark(const struct blowup_watch *watch, struct ddm_sim_block *block, int64_t *steps,
                 struct blowup_first *first) {
    const uint64_t re = (uint64_t)block->record_every;
    long count = 0;
    for (int t = 0; t < watch->B; t++) {
        if (steps[t] >= 0) { /* blew up before this block */
            set_nan(watch, block, t, 0);
            continue;
        }
        const uint64_t died = block->died ? block->died[t] : UINT64_MAX;
        /* a dead state's read-out is NaN, which no comparison with the bound catches */
        const int past = watch->bound > 0 ? record_past_bound(watch, block, t) : block->records;
        const uint64_t past_step =
            past < block->records ? block->step0 + (uint64_t)(past + 1) * re - 1 : UINT64_MAX;
        if (died == UINT64_MAX && past_step == UINT64_MAX) continue;
        const int bound = past_step < died;
        const uint64_t step = bound ? past_step : died;
        steps[t] = (int64_t)step;
        count++;
        keep_first(first, t, step, bound);
        set_nan(watch, block, t, (int)((step - block->step0) / re));
    }
    return count;
}

void blowup_first_of(const int64_t *steps, int B, struct blowup_first *first) {
    first->trajectory = -1;
    first->step = UINT64_MAX;
    first->bound = 0;
    for (int t = 0; t < B; t++)
        if (steps[t] >= 0) keep_first(first, t, (uint64_t)steps[t], 0);
}

long blowup_count(const int64_t *steps, int B) {
    long count = 0;
    for (int t = 0; t < B; t++) count += steps[t] >= 0;
    return count;
}

const char *blowup_policy_name(int policy) {
    static const char *const names[] = {"stop", "drop", "keep"};
    return policy >= 0 && policy < 3 ? names[policy] : "stop";
}
