/* test_cuda_async.c — the asynchronous pair sim_launch / sim_collect that the CUDA backend uses
 * for double-buffered recording, and host/simulate.c's block loop over it.
 *
 * A CPU backend is wrapped into a queued one (two slots, as the GPU's: launch advances into the
 * slot's own buffers, collect copies them out), so the loop that queues block i+1 before it hands
 * block i to the sink runs here without a GPU. A whole simulation through it, burn-in and several
 * recorded blocks, must give bit for bit the chunks of the synchronous path.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/simulate.h"
#include "ddm/train.h"
#include "test_util.h"

struct queued {
    void *inner;
    struct {
        struct ddm_sim_block block;
        float *latent, *traces;
        uint64_t *died;
    } slots[2];
    int B;
    long launched, collected;
};

static const struct ddm_backend *inner_backend;
static size_t latent_floats, trace_floats;

static int queued_create(const struct ddm_sim_setup *setup, void **ctx, struct ddm_error *err) {
    struct queued *q = calloc(1, sizeof *q);
    latent_floats = (size_t)setup->B * setup->model->k * 20000;
    trace_floats = (size_t)setup->trace_B * setup->trace_n * 20000 + 1;
    for (int s = 0; s < 2; s++) {
        q->slots[s].latent = malloc(sizeof(float) * latent_floats);
        q->slots[s].traces = malloc(sizeof(float) * trace_floats);
        q->slots[s].died = malloc(sizeof(uint64_t) * (size_t)(setup->B + 1));
    }
    q->B = setup->B;
    *ctx = q;
    return inner_backend->sim_create(setup, &q->inner, err);
}

static int queued_launch(void *ctx, const struct ddm_sim_block *block, struct ddm_error *err) {
    struct queued *q = ctx;
    cr_assert(q->launched - q->collected < 2, "at most two blocks in flight");
    int s = q->launched++ % 2;
    q->slots[s].block = *block;
    q->slots[s].block.latent = q->slots[s].latent;
    q->slots[s].block.traces = block->traces ? q->slots[s].traces : NULL;
    q->slots[s].block.died = block->died ? q->slots[s].died : NULL;
    return inner_backend->sim_advance(q->inner, &q->slots[s].block, err);
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
    memcpy(block->latent, done->latent, sizeof(float) * latent_floats / 20000 * done->records);
    if (block->traces)
        memcpy(block->traces, done->traces,
               sizeof(float) * (trace_floats - 1) / 20000 * done->records);
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
    return inner_backend->sim_state(((struct queued *)ctx)->inner, x, err);
}

static void queued_destroy(void *ctx) {
    struct queued *q = ctx;
    inner_backend->sim_destroy(q->inner);
    for (int s = 0; s < 2; s++)
        free(q->slots[s].latent), free(q->slots[s].traces), free(q->slots[s].died);
    free(q);
}

/* every chunk the sink receives, concatenated */
struct capture {
    float *latent, *target, *traces;
    size_t latent_used, traces_used;
    long chunks;
};

static int capture_sink(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    struct capture *c = user;
    size_t values = (size_t)chunk->B * chunk->count * chunk->k;
    size_t traced = (size_t)chunk->trace_B * chunk->count * chunk->trace_n;
    memcpy(c->latent + c->latent_used, chunk->latent, sizeof(float) * values);
    memcpy(c->target + c->latent_used, chunk->target, sizeof(float) * values);
    memcpy(c->traces + c->traces_used, chunk->traces, sizeof(float) * traced);
    c->latent_used += values, c->traces_used += traced, c->chunks++;
    return DDM_OK;
}

static const char *config_text = "[system]\nname = ou\n"
                                 "[network]\nneurons = 32\n"
                                 "[train]\nsamples = 1000\nepochs = 1\n"
                                 "[simulate]\ntrajectories = 64\ndt = 0.005\nburn_in = 15000\n"
                                 "steps = 20000\nrecord_every = 1\ntrace_trajectories = 2\n"
                                 "trace_neurons = 3\n";

Test(cuda_async, queued_blocks_give_the_synchronous_chunks) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report train;
    struct ddm_sim_layout layout;
    struct ddm_error err = {0};
    config_from_text(&cfg, config_text);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    inner_backend = backend_cpu(0);
    cr_assert_eq(train_model(inner_backend, &sys, &cfg, &model, &train, 1, &err), 0, "%s",
                 err.message);
    cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0);
    struct ddm_backend queued = *inner_backend;
    queued.name = "queued";
    queued.sim_create = queued_create, queued.sim_advance = queued_advance;
    queued.sim_state = queued_state, queued.sim_destroy = queued_destroy;
    queued.sim_launch = queued_launch, queued.sim_collect = queued_collect;
    const size_t values = (size_t)layout.B * layout.T * layout.k;
    const size_t traced = (size_t)layout.trace_B * layout.T * layout.trace_n;
    struct capture runs[2];
    const struct ddm_backend *backends[2] = {inner_backend, &queued};
    for (int r = 0; r < 2; r++) {
        runs[r] = (struct capture){malloc(sizeof(float) * values),
                                   malloc(sizeof(float) * values),
                                   malloc(sizeof(float) * (traced + 1)),
                                   0,
                                   0,
                                   0};
        struct ddm_sim_report report;
        cr_assert_eq(simulate_run(backends[r], &sys, &model, &cfg, &layout, capture_sink, &runs[r],
                                  &report, 1, &err),
                     0, "%s: %s", backends[r]->name, err.message);
        cr_assert_eq(runs[r].latent_used, values);
        cr_assert_eq(report.nonfinite, 0);
        sim_report_free(&report);
    }
    cr_assert(runs[1].chunks >= 3, "several recorded blocks (%ld chunks)", runs[1].chunks);
    cr_assert_eq(runs[0].chunks, runs[1].chunks);
    cr_assert_eq(memcmp(runs[0].latent, runs[1].latent, sizeof(float) * values), 0);
    cr_assert_eq(memcmp(runs[0].target, runs[1].target, sizeof(float) * values), 0);
    cr_assert_eq(memcmp(runs[0].traces, runs[1].traces, sizeof(float) * traced), 0);
    for (int r = 0; r < 2; r++) free(runs[r].latent), free(runs[r].target), free(runs[r].traces);
    simulate_layout_free(&layout);
    train_report_free(&train);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}
