/* test_ou.c — Euler–Maruyama anchored on the Ornstein–Uhlenbeck process dz = −Az dt + σ dB.
 *
 * With A = [[1, −1], [1, 1]] (a rotating OU) and σ = 1 the stationary covariance solves
 * AΣ + ΣAᵀ = σ²I, i.e. Σ = I/2. Both the coupled-target integrator and the trained network,
 * simulated in neuron space, must reach a stationary variance within 3 % of 1/2. Sampling error
 * here is about 0.6 % and Euler's bias at dt = 0.005 about 0.5 %.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/backend.h"
#include "ddm/simulate.h"
#include "ddm/train.h"
#include "ddm/plan.h"
#include "test_util.h"

static const char *ou_config = "[system]\nname = ou\n"
                               "[network]\nneurons = 64\n"
                               "[train]\nsamples = 4000\nepochs = 10\n"
                               "[simulate]\ntrajectories = 500\ndt = 0.005\nburn_in = 1000\n"
                               "steps = 20000\nrecord_every = 200\n";

Test(ou, target_integrator_stationary_variance) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, ou_config);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    enum { B = 500, RECORDS = 100, EVERY = 200 };
    double *z = calloc(B * 2, sizeof(double));
    int *dead = calloc(B, sizeof(int));
    float *out = malloc(sizeof(float) * B * RECORDS * 2);
    struct target_paths paths = {B, z, dead, 17, 0};
    target_advance(&sys, &paths, 0, 1, 1000, 0.005, NULL, NULL,
                   NULL); /* burn-in: 5 relaxation times */
    target_advance(&sys, &paths, 1000, RECORDS, EVERY, 0.005, NULL, NULL, out);
    double sum[2] = {0}, sum2[2] = {0}, cross = 0;
    for (int q = 0; q < B * RECORDS; q++) {
        for (int c = 0; c < 2; c++) {
            sum[c] += out[q * 2 + c];
            sum2[c] += (double)out[q * 2 + c] * out[q * 2 + c];
        }
        cross += (double)out[q * 2] * out[q * 2 + 1];
    }
    const double count = B * RECORDS;
    for (int c = 0; c < 2; c++) {
        double var = sum2[c] / count - pow(sum[c] / count, 2);
        cr_assert(fabs(var / 0.5 - 1) < 0.03, "coordinate %d: variance %.4f, analytic 0.5", c, var);
    }
    cr_assert(fabs(cross / count) < 0.02, "covariance %.4f, analytic 0", cross / count);
    free(z), free(dead), free(out);
    system_free(&sys);
    config_free(&cfg);
}

Test(ou, network_stationary_variance) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report train;
    struct ddm_sim_layout layout;
    struct ddm_sim_report sim;
    struct ddm_error err = {0};
    config_from_text(&cfg, ou_config);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    cr_assert_eq(train_model(backend_cpu(0), &sys, &cfg, &model, &train, 1, &err), 0, "%s",
                 err.message);
    cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0);
    cr_assert_eq(
        simulate_run(backend_cpu(0), &sys, &model, &cfg, &layout, NULL, NULL, &sim, 1, &err), 0,
        "%s", err.message);
    sim_report_free(&sim);
    for (int c = 0; c < 2; c++) {
        cr_assert(fabs(sim.latent_var[c] / 0.5 - 1) < 0.03, "network coordinate %d: variance %.4f",
                  c, sim.latent_var[c]);
        cr_assert(fabs(sim.latent_mean[c]) < 0.02, "network mean %.4f", sim.latent_mean[c]);
    }
    cr_assert_eq(sim.nonfinite, 0);
    simulate_layout_free(&layout);
    train_report_free(&train);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}
