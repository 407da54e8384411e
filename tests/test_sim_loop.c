/* test_sim_loop.c — the simulation as sim_open / sim_block / sim_close (host/sim/simulate.c) and
 * the sizes it takes from ddm/sim_sizes.h: the CPU backend's launch/collect pair is its advance,
 * every call of sim_block is one block (a burn-in chunk, t = 0, or per_block recorded times), and
 * the loop driven by hand gives the chunks of simulate_run bit for bit.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/plan.h"
#include "ddm/backend.h"
#include "ddm/sim_sizes.h"
#include "ddm/simulate.h"
#include "test_util.h"

Test(sim_loop, cpu_launch_then_collect_is_advance) {
    const int n = 24, k = 2, m = 2, B = 8, trace_n = 3;
    struct ddm_model model;
    random_model(&model, n, k, m, 0, 11);
    float *x0 = malloc(sizeof(float) * B * n);
    fill_uniform(x0, (size_t)B * n, -1, 1, 12);
    const int trace_neurons[3] = {0, 5, 9};
    const struct ddm_sim_setup setup = {.model = &model,
                                        .B = B,
                                        .noise_seed = 3,
                                        .neuron_seed = 4,
                                        .dt = 0.01,
                                        .neuron_noise = 0.1,
                                        .trace_B = 2,
                                        .trace_n = trace_n,
                                        .trace_neurons = trace_neurons,
                                        .x0 = x0};
    const struct ddm_backend *backends[2] = {backend_cpu(0), backend_cpu_reference(0)};
    for (int e = 0; e < 2; e++) {
        const struct ddm_backend *be = backends[e];
        cr_assert_eq(be->sim_queue, 1, "the CPU runs a block in sim_launch");
        float latent[2][8 * 5 * 2], traces[2][2 * 5 * 3];
        uint64_t died[2][8];
        struct ddm_sim_block blocks[2];
        struct ddm_error err = {0};
        for (int way = 0; way < 2; way++) {
            void *ctx;
            cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0, "%s", err.message);
            blocks[way] = (struct ddm_sim_block){.step0 = 40,
                                                 .records = 5,
                                                 .record_every = 4,
                                                 .latent = latent[way],
                                                 .traces = traces[way],
                                                 .nonfinite_trajectory = 99,
                                                 .nonfinite_step = 99,
                                                 .died = died[way]};
            if (way == 0) {
                cr_assert_eq(be->sim_advance(ctx, &blocks[0], &err), 0);
            } else {
                double seconds = -1;
                cr_assert_eq(be->sim_launch(ctx, &blocks[1], &err), 0);
                cr_assert_eq(be->sim_collect(ctx, &blocks[1], &seconds, &err), 0);
                cr_assert(seconds >= 0, "the block's own time");
            }
            be->sim_destroy(ctx);
        }
        cr_assert_eq(memcmp(latent[0], latent[1], sizeof latent[0]), 0, "%s", be->name);
        cr_assert_eq(memcmp(traces[0], traces[1], sizeof traces[0]), 0);
        cr_assert_eq(memcmp(died[0], died[1], sizeof died[0]), 0);
        cr_assert_eq(blocks[0].nonfinite_trajectory, blocks[1].nonfinite_trajectory);
        cr_assert_eq(blocks[0].nonfinite_step, blocks[1].nonfinite_step);
        cr_assert_eq(blocks[1].nonfinite_trajectory, -1, "a finite run: none blew up");
    }
    free(x0);
    model_free(&model);
}

/* Every chunk's (first, count) and its latent values, in order. */
struct chunks {
    long first[64];
    int count[64];
    int n;
    float *latent;
    size_t used;
};

static int keep_chunks(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    struct chunks *c = user;
    cr_assert(c->n < 64);
    c->first[c->n] = chunk->first, c->count[c->n++] = chunk->count;
    const size_t values = (size_t)chunk->B * chunk->count * chunk->k;
    memcpy(c->latent + c->used, chunk->latent, sizeof(float) * values);
    c->used += values;
    return DDM_OK;
}

Test(sim_loop, each_sim_block_is_one_block_cut_by_sim_sizes) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = ou\n[simulate]\ntrajectories = 6\nsteps = 30\n"
                           "record_every = 3\nburn_in = 25000\ntrace_trajectories = 0\n"
                           "start = 0.5, -1\n");
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_model model;
    random_model(&model, 24, sys.k, sys.m, 0, 5);
    struct ddm_sim_layout layout;
    cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0, "%s", err.message);
    cr_assert(layout.has_start, "[simulate] start is parsed into the layout");
    layout.B_total = 1 << 18; /* shard 0 of a huge ensemble: blocks of 2 recorded times */
    const long per_block = sim_records_per_block(layout.B_total, layout.k, layout.T);
    cr_assert_eq(per_block, 2, "2²⁰ values / (2¹⁸ trajectories × k = 2)");
    const size_t values = (size_t)layout.B * layout.T * layout.k;
    struct chunks straight = {.latent = calloc(values, sizeof(float))};
    struct chunks by_hand = {.latent = calloc(values, sizeof(float))};
    struct ddm_sim_report report;
    const struct ddm_backend *cpu = backend_cpu(0);
    cr_assert_eq(
        simulate_run(cpu, &sys, &model, &cfg, &layout, keep_chunks, &straight, &report, 1, &err), 0,
        "%s", err.message);
    sim_report_free(&report);

    const struct sim_request req = {.backend = cpu,
                                    .sys = &sys,
                                    .model = &model,
                                    .cfg = &cfg,
                                    .layout = &layout,
                                    .sink = keep_chunks,
                                    .sink_user = &by_hand,
                                    .report = &report,
                                    .quiet = 1};
    struct sim *sim;
    cr_assert_eq(sim_open(&req, &sim, &err), 0, "%s", err.message);
    int calls = 0;
    while (!sim_done(sim)) {
        cr_assert_eq(sim_block(sim, &err), 0, "%s", err.message);
        calls++;
    }
    cr_assert_eq(sim_close(sim, 0, &err), 0, "%s", err.message);
    cr_assert_eq(report.steps_done, 30);
    sim_report_free(&report);
    /* burn-in chunks of SIM_BURN_IN_CHUNK: 10000, 10000, 5000; t = 0; (T − 1)/per_block blocks */
    cr_assert_eq(calls, 3 + 1 + 5, "%d calls of sim_block", calls);
    cr_assert_eq(by_hand.n, 6);
    for (int c = 0; c < by_hand.n; c++) {
        cr_assert_eq(by_hand.first[c], c ? 1 + 2 * (c - 1) : 0);
        cr_assert_eq(by_hand.count[c], c ? per_block : 1, "chunk %d", c);
    }
    cr_assert_eq(straight.n, by_hand.n);
    cr_assert_eq(memcmp(straight.latent, by_hand.latent, sizeof(float) * values), 0);
    for (size_t v = 0; v < values; v++) cr_assert(isfinite(by_hand.latent[v]), "value %zu", v);
    free(straight.latent), free(by_hand.latent);
    simulate_layout_free(&layout);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}
