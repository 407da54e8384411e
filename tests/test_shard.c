/* test_shard.c — --shard i/N (host/sim/simulate.c, host/run/run_setup.c): the ranges of the shards,
 * and every shard bit for bit equal to its rows of the whole run with the same seed — starts on the
 * attractor, off-manifold displacements, per-neuron noise, burn-in, traces of the global
 * trajectories 0..Bt-1 — plus the combinations the command line refuses.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_util.h"
#include "ddm/simulate.h"
#include "ddm/plan.h"
#include "test_util.h"

Test(shard, ranges_cover_the_ensemble_with_sizes_within_one) {
    for (int total = 1; total <= 40; total += 3)
        for (int count = 1; count <= total && count <= 9; count++) {
            long next = 0;
            for (int i = 0; i < count; i++) {
                struct ddm_sim_layout layout = {.B = total, .B_total = total, .trace_B = 5};
                simulate_layout_shard(&layout, i, count);
                cr_assert_eq((long)layout.first, next, "shard %d/%d of %d starts after the last", i,
                             count, total);
                cr_assert(layout.B == total / count || layout.B == total / count + 1);
                long traced = 5 - (long)layout.first;
                traced = traced < 0 ? 0 : traced > layout.B ? layout.B : traced;
                cr_assert_eq(layout.trace_B, traced, "the traced global trajectories it holds");
                next += layout.B;
            }
            cr_assert_eq(next, total);
        }
}

/* Everything the sink receives, rows of B trajectories per chunk put in place: (B,T,k) etc. */
struct rows {
    int B, T, k, trace_B, trace_n;
    float *latent, *target, *traces;
};

static int keep_rows(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    struct rows *r = user;
    for (int j = 0; j < chunk->B; j++)
        for (int q = 0; q < chunk->count; q++) {
            size_t from = ((size_t)j * chunk->count + q) * chunk->k;
            size_t to = ((size_t)j * r->T + chunk->first + q) * r->k;
            memcpy(r->latent + to, chunk->latent + from, sizeof(float) * chunk->k);
            memcpy(r->target + to, chunk->target + from, sizeof(float) * chunk->k);
        }
    for (int j = 0; j < chunk->trace_B; j++)
        for (int q = 0; q < chunk->count; q++)
            memcpy(r->traces + ((size_t)j * r->T + chunk->first + q) * r->trace_n,
                   chunk->traces + ((size_t)j * chunk->count + q) * chunk->trace_n,
                   sizeof(float) * chunk->trace_n);
    return DDM_OK;
}

static void simulate_rows(const struct ddm_backend *backend, const struct ddm_system *sys,
                          const struct ddm_model *model, const struct ddm_config *cfg, int index,
                          int count, struct rows *out, struct ddm_sim_layout *layout) {
    struct ddm_error err = {0};
    cr_assert_eq(simulate_layout(cfg, model, layout, &err), 0, "%s", err.message);
    if (count) simulate_layout_shard(layout, index, count);
    *out = (struct rows){.B = layout->B,
                         .T = layout->T,
                         .k = layout->k,
                         .trace_B = layout->trace_B,
                         .trace_n = layout->trace_n};
    size_t values = (size_t)layout->B * layout->T * layout->k;
    out->latent = malloc(sizeof(float) * values);
    out->target = malloc(sizeof(float) * values);
    out->traces =
        malloc(sizeof(float) * ((size_t)layout->trace_B * layout->T * layout->trace_n + 1));
    struct ddm_sim_report report;
    cr_assert_eq(simulate_run(backend, sys, model, cfg, layout, keep_rows, out, &report, 1, &err),
                 0, "%s", err.message);
    sim_report_free(&report);
}

static void check_union(const struct ddm_backend *backend, const char *extra) {
    char text[1024];
    snprintf(text, sizeof text,
             "[system]\nname = vdp\n[network]\nseed = 11\n[train]\npath_burn_in = 0.5\n"
             "[simulate]\ntrajectories = 11\nsteps = 300\nrecord_every = 3\nburn_in = 40\n"
             "trace_trajectories = 5\ntrace_neurons = 4\n%s",
             extra);
    struct ddm_config cfg;
    config_from_text(&cfg, text);
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_model model;
    random_model(&model, 24, 2, 2, 0, 3);
    struct ddm_sim_layout whole_layout, layout;
    struct rows whole, part;
    simulate_rows(backend, &sys, &model, &cfg, 0, 0, &whole, &whole_layout);
    const int count = 4;
    for (int i = 0; i < count; i++) {
        simulate_rows(backend, &sys, &model, &cfg, i, count, &part, &layout);
        const size_t first = layout.first, per = (size_t)whole.T * whole.k;
        cr_assert_eq(memcmp(part.latent, whole.latent + first * per, sizeof(float) * part.B * per),
                     0, "%s: latent of shard %d/%d differs from rows %zu.. of the whole run",
                     backend->name, i, count, first);
        cr_assert_eq(memcmp(part.target, whole.target + first * per, sizeof(float) * part.B * per),
                     0, "%s: target of shard %d/%d differs", backend->name, i, count);
        const size_t per_trace = (size_t)whole.T * whole.trace_n;
        cr_assert_eq(memcmp(part.traces, whole.traces + first * per_trace,
                            sizeof(float) * part.trace_B * per_trace),
                     0, "%s: traces of shard %d/%d differ", backend->name, i, count);
        free(part.latent), free(part.target), free(part.traces);
        simulate_layout_free(&layout);
    }
    free(whole.latent), free(whole.target), free(whole.traces);
    simulate_layout_free(&whole_layout);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

Test(shard, union_is_the_whole_run_bit_for_bit) {
    check_union(backend_cpu(0), "");
    check_union(backend_cpu_reference(0), "");
}

Test(shard, off_manifold_starts_and_neuron_noise_too) {
    check_union(backend_cpu(0), "init = off_manifold\ninit_offset = 0.3\nneuron_noise = 0.2\n");
    check_union(backend_cpu(0), "start = 0.5, -1\n");
}

Test(shard, command_line_refuses_what_cannot_work) {
    make_test_dir("shard");
    write_text("s.ini", "[system]\nname = ou\n[simulate]\ntrajectories = 3\n");
    cr_assert_eq(run_ddm("@s.ini --shard 1/2"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message, "--shard needs --model FILE.h5 (a run file with /model)");
    cr_assert_eq(run_ddm("@s.ini --shard 1/2 --stages train,simulate"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message,
                     "--shard does not train (every shard needs the same model): train once with "
                     "--stages train, then run the shards with --stages simulate --model FILE.h5");
    cr_assert_eq(run_ddm("@s.ini --shard 1/2 --stages simulate,analyze --model m.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message,
                     "--shard runs the simulate stage only: merge the shards (ddm_gpu merge) and "
                     "analyze the merged file (--stages analyze --model merged.h5)");
    cr_assert_eq(run_ddm("@s.ini --shard 2/2 --model m.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message, "--shard '2/2': expected i/N with 0 <= i < N (e.g. --shard "
                                      "0/4, the first of 4 shards)");
    cr_assert_eq(run_ddm("@s.ini --shard 1/x --model m.h5"), DDM_EUSAGE);
    cr_assert_eq(run_ddm("@s.ini --shard 1/4 --model m.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message, "--shard 1/4: 4 shards of [simulate] trajectories = 3 would "
                                      "leave some empty; use at most 3 shards");
}
