/* test_manifold.c — the invariant manifold of docs/design.md §2: off the manifold x = Γ̂ẑ + b the
 * distance e = P(x − b), P = I − Γ̂Γ̂⁺, obeys de = −e/τ dt exactly (noise and recurrence both live
 * in range Γ̂), so it decays as e^(−t/τ) whatever the nonlinearity; on the manifold the read-out
 * is unaffected by the displacement.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/simulate.h"
#include "ddm/plan.h"
#include "test_util.h"

/* ‖P(x − b)‖ for one state */
static double off_manifold_distance(const struct ddm_model *model, const float *x) {
    const int n = model->n, k = model->k;
    double proj[DDM_MAX_K] = {0}, sum = 0;
    for (int c = 0; c < k; c++)
        for (int i = 0; i < n; i++)
            proj[c] += (double)model->Gamma_pinv[c * n + i] * ((double)x[i] - model->b[i]);
    for (int i = 0; i < n; i++) {
        double along = 0;
        for (int c = 0; c < k; c++) along += (double)model->Gamma[i * k + c] * proj[c];
        double e = (double)x[i] - model->b[i] - along;
        sum += e * e;
    }
    return sqrt(sum);
}

static void check_decay(const struct ddm_backend *be) {
    enum { B = 8, N = 50, K = 2, BLOCKS = 15, EVERY = 100 };
    struct ddm_model model;
    random_model(&model, N, K, K, 0, 21);
    const double dt = 0.001; /* dt/τ = 0.002: Euler's (1 − dt/τ)^s is e^(−t/τ) to 0.3% at t = 3τ */
    float x[B * N], latent[B * K];
    fill_uniform(x, B * N, -2, 2, 5); /* arbitrary states: mostly off the manifold */
    double start[B];
    for (int t = 0; t < B; t++) start[t] = off_manifold_distance(&model, x + t * N);
    struct ddm_sim_setup setup = {&model, B, 0, 9, 10, dt, 0, 0, 0, NULL, x};
    void *ctx;
    struct ddm_error err;
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0);
    double worst = 0;
    for (int block = 1; block <= BLOCKS; block++) {
        struct ddm_sim_block blk = {
            (uint64_t)(block - 1) * EVERY, 1, EVERY, NULL, latent, NULL, -1, 0, NULL, NULL};
        cr_assert_eq(be->sim_advance(ctx, &blk, &err), 0);
        cr_assert_eq(be->sim_state(ctx, x, &err), 0);
        double t = block * EVERY * dt, expected = exp(-t / model.tau);
        for (int j = 0; j < B; j++) {
            double ratio = off_manifold_distance(&model, x + j * N) / start[j];
            worst = fmax(worst, fabs(ratio / expected - 1));
        }
    }
    cr_assert(worst < 0.01, "%s: off-manifold distance departs from e^(-t/τ) by %.3g%%", be->name,
              100 * worst);
    be->sim_destroy(ctx);
    model_free(&model);
}

Test(manifold, off_manifold_distance_decays_exponentially) {
    check_decay(backend_cpu(0));
    check_decay(backend_cpu_reference(0));
}

struct first_chunk {
    float latent[64 * 2];
};

static int keep_first(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    if (chunk->first == 0) memcpy(user, chunk->latent, sizeof(float) * chunk->B * chunk->k);
    return 0;
}

/* Starting off the manifold (init = off_manifold) displaces x orthogonally to range Γ̂: the
 * latent read-out at t = 0 must be the same as for the start on the manifold. */
Test(manifold, off_manifold_start_keeps_the_readout) {
    struct ddm_model model;
    random_model(&model, 40, 2, 2, 0, 4);
    struct ddm_system sys;
    struct ddm_error err = {0};
    struct first_chunk on, off;
    for (int pass = 0; pass < 2; pass++) {
        struct ddm_config cfg;
        config_from_text(&cfg, pass ? "[system]\nname = vdp\n[simulate]\ntrajectories = 64\n"
                                      "steps = 20\nrecord_every = 10\ninit = off_manifold\n"
                                      "init_offset = 3\nstart = 0.3, -0.2\n"
                                    : "[system]\nname = vdp\n[simulate]\ntrajectories = 64\n"
                                      "steps = 20\nrecord_every = 10\nstart = 0.3, -0.2\n");
        cr_assert_eq(system_build(&sys, &cfg, &err), 0);
        cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
        struct ddm_sim_layout layout;
        struct ddm_sim_report report;
        cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0);
        cr_assert_eq(simulate_run(backend_cpu(0), &sys, &model, &cfg, &layout, keep_first,
                                  pass ? &off : &on, &report, 1, &err),
                     0, "%s", err.message);
        sim_report_free(&report);
        simulate_layout_free(&layout);
        system_free(&sys);
        config_free(&cfg);
    }
    for (int q = 0; q < 64 * 2; q++) {
        cr_assert_float_eq(on.latent[q], q % 2 ? -0.2f : 0.3f, 2e-5, "on-manifold read-out");
        cr_assert_float_eq(off.latent[q], on.latent[q], 2e-4, "read-out %d moved: %g vs %g", q,
                           off.latent[q], on.latent[q]);
    }
    model_free(&model);
}
