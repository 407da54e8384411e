/* test_analysis_lyapunov.c — Benettin/QR spectra (host/analysis/analysis_lyapunov.c) against known
 * answers.
 *
 * Lorenz (10, 28, 8/3): λ_max = 0.9056 (Sprott's reference value) and λ₁ + λ₂ + λ₃ = −(σ + 1 + β)
 * = −13.667, the constant divergence of the flow; 4 starts × 25 000 RK4 steps of 0.01 average
 * over 1000 time units, where λ_max's finite-time spread is about 1 %. A linear flow dz/dt = Mz
 * has λ = the real parts of M's eigenvalues exactly, and a fixed point has D_KY = 0.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_lyapunov.h"
#include "ddm/simulate.h"
#include "ddm/plan.h"
#include "test_util.h"

static void build(struct ddm_system *sys, struct ddm_config *cfg, const char *text) {
    struct ddm_error err = {0};
    config_from_text(cfg, text);
    cr_assert_eq(system_build(sys, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(cfg, sys, PLAN_ALL, &err), 0, "%s", err.message);
}

Test(lyapunov, lorenz_target_spectrum) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg, "[system]\nname = lorenz\n");
    struct latent_process p = latent_process_target(&sys);
    enum { STARTS = 4 };
    double mean[3] = {0};
    for (int s = 0; s < STARTS; s++) {
        double z0[3] = {1.0 + s, 1.0 - 0.5 * s, 20.0 + s}, lambda[3];
        cr_assert_eq(lyapunov_spectrum(&p, z0, 0.01, 2000, 25000, lambda), 0);
        for (int i = 0; i < 3; i++) mean[i] += lambda[i] / STARTS;
    }
    double sum = mean[0] + mean[1] + mean[2];
    cr_assert(fabs(mean[0] / 0.9056 - 1) < 0.03, "λ_max %.4f, reference 0.9056", mean[0]);
    cr_assert(fabs(sum / (-(10 + 1 + 8.0 / 3)) - 1) < 0.01, "Σλ %.4f, divergence −13.667", sum);
    cr_assert(fabs(mean[1]) < 0.02, "λ₂ %.4f, expected 0 (the flow direction)", mean[1]);
    double dky = kaplan_yorke_dimension(mean, 3);
    cr_assert(dky > 2.05 && dky < 2.07, "Kaplan–Yorke dimension %.4f, expected 2.06", dky);
    system_free(&sys);
    config_free(&cfg);
}

Test(lyapunov, linear_flow_has_the_real_parts_of_its_eigenvalues) {
    struct ddm_config cfg;
    struct ddm_system sys;
    /* dz = −Az with A = [[0.5, −2], [2, 0.5]] rotates and decays: λ = (−0.5, −0.5) */
    build(&sys, &cfg, "[system]\nname = ou\nparams = a11=0.5, a12=-2, a21=2, a22=0.5\n");
    struct latent_process p = latent_process_target(&sys);
    double z0[2] = {1, 0}, lambda[2];
    cr_assert_eq(lyapunov_spectrum(&p, z0, 0.01, 0, 1000, lambda), 0);
    cr_assert_float_eq(lambda[0], -0.5, 1e-6, "λ₁ %.8f", lambda[0]);
    cr_assert_float_eq(lambda[1], -0.5, 1e-6, "λ₂ %.8f", lambda[1]);
    cr_assert_float_eq(kaplan_yorke_dimension(lambda, 2), 0, 1e-12);
    system_free(&sys);
    config_free(&cfg);
    /* a saddle z' = (z₁, −2z₂): λ = (1, −2), D_KY = 1 + 1/2 */
    build(&sys, &cfg, "[system]\nname = ou\nparams = a11=-1, a12=0, a21=0, a22=2\n");
    p = latent_process_target(&sys);
    cr_assert_eq(lyapunov_spectrum(&p, z0, 0.01, 0, 1000, lambda), 0);
    cr_assert_float_eq(lambda[0], 1, 1e-6, "λ₁ %.8f", lambda[0]);
    cr_assert_float_eq(lambda[1], -2, 1e-6, "λ₂ %.8f", lambda[1]);
    cr_assert_float_eq(kaplan_yorke_dimension(lambda, 2), 1.5, 1e-6);
    system_free(&sys);
    config_free(&cfg);
}

/* D_KY of a measured spectrum: the exponent along a bounded flow off a fixed point is exactly 0,
 * so a limit cycle has D_KY = 1 and Lorenz 2 + λ₁/|λ₃| whatever the sign of the finite-time
 * estimate of that exponent. Van der Pol's cycle measured λ = (−0.00073 ± 0.00049, −1.06) and
 * printed D_KY 0, a fixed point's. */
static double average_dky(int k, const double *spectrum, int attractor) {
    enum { S = 4 };
    struct lyapunov_result r = {.k = k, .starts = S};
    r.per_start = malloc(sizeof(double) * S * k);
    r.end = calloc((size_t)S * k, sizeof(double));
    r.attractor = malloc(sizeof(int) * S);
    r.kept_start = calloc(S, sizeof(int));
    r.end_distance = malloc(sizeof(double) * S);
    for (int s = 0; s < S; s++) {
        r.attractor[s] = attractor;
        r.end_distance[s] = 0;
        for (int c = 0; c < k; c++) r.per_start[s * k + c] = spectrum[c] * (1 + 1e-3 * s);
    }
    lyapunov_average(&r, attractor, NULL, 1);
    cr_assert_eq(r.kept, S);
    const double dky = r.kaplan_yorke;
    lyapunov_result_free(&r);
    return dky;
}

Test(lyapunov, kaplan_yorke_counts_the_flow_exponent_as_zero) {
    const double cycle[2] = {-0.00073, -1.06}, cycle_up[2] = {0.0004, -1.06};
    cr_assert_float_eq(average_dky(2, cycle, LYAPUNOV_PERIODIC), 1, 1e-12, "limit cycle");
    cr_assert_float_eq(average_dky(2, cycle_up, LYAPUNOV_PERIODIC), 1, 1e-12, "limit cycle");
    const double torus[3] = {0.0002, -0.0003, -2};
    cr_assert_float_eq(average_dky(3, torus, LYAPUNOV_TORUS), 2, 1e-12, "torus");
    const double lorenz[3] = {0.9056, -0.001, -14.572};
    const double expected = 2 + 0.9056 * (1 + 1.5e-3) / (14.572 * (1 + 1.5e-3));
    cr_assert_float_eq(average_dky(3, lorenz, LYAPUNOV_CHAOTIC), expected, 1e-9, "Lorenz");
    const double node[2] = {-0.5, -1};
    cr_assert_float_eq(average_dky(2, node, LYAPUNOV_FIXED_POINT), 0, 1e-12, "fixed point");
}
