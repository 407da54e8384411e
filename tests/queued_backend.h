/* queued_backend.h — the asynchronous pair sim_launch / sim_collect over a CPU backend, as the
 * CUDA backend has it: a launch advances the wrapped backend into a slot of its own (two, as the
 * GPU's), a collect copies the oldest slot out. It lets host/sim/simulate.c's double-buffered block
 * loop run without a GPU (tests/test_cuda_async.c, tests/test_resume.c). Header-only.
 */
#ifndef DDM_QUEUED_BACKEND_H
#define DDM_QUEUED_BACKEND_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"

enum { QUEUED_MAX_RECORDS = 20000 }; /* recorded times per block a slot holds */

static const struct ddm_backend *queued_inner; /* the backend the queued one wraps */

struct queued {
    void *inner;
    struct {
        struct ddm_sim_block block;
        float *latent, *traces;
        uint64_t *died;
    } slots[2];
    size_t latent_per_record, traces_per_record; /* floats of all trajectories */
    int B;
    long launched, collected;
};

static int queued_create(const struct ddm_sim_setup *setup, void **ctx, struct ddm_error *err) {
    struct queued *q = calloc(1, sizeof *q);
    q->B = setup->B;
    q->latent_per_record = (size_t)setup->B * setup->model->k;
    q->traces_per_record = (size_t)setup->trace_B * setup->trace_n;
    for (int s = 0; s < 2; s++) {
        q->slots[s].latent = malloc(sizeof(float) * q->latent_per_record * QUEUED_MAX_RECORDS);
        q->slots[s].traces =
            malloc(sizeof(float) * (q->traces_per_record * QUEUED_MAX_RECORDS + 1));
        q->slots[s].died = malloc(sizeof(uint64_t) * (size_t)(setup->B + 1));
    }
    *ctx = q;
    return queued_inner->sim_create(setup, &q->inner, err);
}

static int queued_launch(void *ctx, const struct ddm_sim_block *block, struct ddm_error *err) {
    struct queued *q = ctx;
    cr_assert(q->launched - q->collected < 2, "at most two blocks in flight");
    cr_assert(block->records <= QUEUED_MAX_RECORDS, "a block of %d records", block->records);
    int s = q->launched++ % 2;
    q->slots[s].block = *block;
    q->slots[s].block.latent = q->slots[s].latent;
    q->slots[s].block.traces = block->traces ? q->slots[s].traces : NULL;
    q->slots[s].block.died = block->died ? q->slots[s].died : NULL;
    return queued_inner->sim_advance(q->inner, &q->slots[s].block, err);
}

static int queued_collect(void *ctx, struct ddm_sim_block *block, double *device_seconds,
                          struct ddm_error *err) {
    (void)err;
    struct queued *q = ctx;
    cr_assert(q->collected < q->launched, "collect without launch");
    int s = q->collected++ % 2;
    const struct ddm_sim_block *done = &q->slots[s].block;
    cr_assert(done->step0 == block->step0 && done->records == block->records,
              "collected block %llu (%d records) for %llu (%d records)",
              (unsigned long long)done->step0, done->records, (unsigned long long)block->step0,
              block->records);
    memcpy(block->latent, done->latent, sizeof(float) * q->latent_per_record * done->records);
    if (block->traces)
        memcpy(block->traces, done->traces, sizeof(float) * q->traces_per_record * done->records);
    block->nonfinite_trajectory = done->nonfinite_trajectory;
    block->nonfinite_step = done->nonfinite_step;
    if (block->died) memcpy(block->died, done->died, sizeof(uint64_t) * (size_t)q->B);
    *device_seconds = 1e-3;
    return DDM_OK;
}

static int queued_advance(void *ctx, struct ddm_sim_block *block, struct ddm_error *err) {
    double seconds;
    int code = queued_launch(ctx, block, err);
    return code ? code : queued_collect(ctx, block, &seconds, err);
}

static int queued_state(void *ctx, float *x, struct ddm_error *err) {
    struct queued *q = ctx;
    cr_assert_eq(q->launched, q->collected, "the states are read with no block in flight");
    return queued_inner->sim_state(q->inner, x, err);
}

static void queued_destroy(void *ctx) {
    struct queued *q = ctx;
    queued_inner->sim_destroy(q->inner);
    for (int s = 0; s < 2; s++)
        free(q->slots[s].latent), free(q->slots[s].traces), free(q->slots[s].died);
    free(q);
}

/* `inner` with its simulation queued. */
static inline struct ddm_backend queued_backend(const struct ddm_backend *inner) {
    queued_inner = inner;
    struct ddm_backend queued = *inner;
    queued.name = "queued";
    queued.sim_create = queued_create, queued.sim_advance = queued_advance;
    queued.sim_state = queued_state, queued.sim_destroy = queued_destroy;
    queued.sim_queue = 2, queued.sim_launch = queued_launch, queued.sim_collect = queued_collect;
    return queued;
}

#endif
