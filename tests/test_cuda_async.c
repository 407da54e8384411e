/* test_cuda_async.c — the asynchronous pair sim_launch / sim_collect that the CUDA backend uses
 * for double-buffered recording, and host/sim/simulate.c's block loop over it.
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
#include "ddm/plan.h"
#include "queued_backend.h"
#include "test_util.h"

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
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    const struct ddm_backend *inner = backend_cpu(0);
    cr_assert_eq(train_model(inner, &sys, &cfg, &model, &train, 1, &err), 0, "%s", err.message);
    cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0);
    struct ddm_backend queued = queued_backend(inner);
    const size_t values = (size_t)layout.B * layout.T * layout.k;
    const size_t traced = (size_t)layout.trace_B * layout.T * layout.trace_n;
    struct capture runs[2];
    const struct ddm_backend *backends[2] = {inner, &queued};
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
