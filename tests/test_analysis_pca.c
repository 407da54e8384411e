/* test_analysis_pca.c — PCA of neuron states and the recovery of the latent coordinates
 * (host/analysis/analysis_pca.c, docs/design.md §5, the paper's Fig 4).
 *
 * Exact answers: four states x̄ ± 3a, x̄ ± 2b (a ⟂ b unit vectors) have covariance
 * (18 aaᵀ + 8 bbᵀ)/3, through the Gram matrix (N < n) and, doubled, (36 aaᵀ + 16 bbᵀ)/7 through
 * the covariance (N ≥ n); principal angles between known subspaces, small ones included; and a
 * noise-free low-rank network simulated on its manifold has exactly k non-zero components along
 * range Γ̂ with the latent coordinates recovered exactly, while per-neuron noise breaks all three.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_pca.h"
#include "ddm/plan.h"
#include "test_util.h"

enum { n = 6 };

static void pattern_states(float *X, int copies, const double *a, const double *b) {
    const double mean[n] = {1, -2, 0.5, 3, 0, -1}, sign[4][2] = {{3, 0}, {-3, 0}, {0, 2}, {0, -2}};
    for (int r = 0; r < 4 * copies; r++)
        for (int i = 0; i < n; i++)
            X[r * n + i] = (float)(mean[i] + sign[r % 4][0] * a[i] + sign[r % 4][1] * b[i]);
}

static void check_components(long N, double first, double second) {
    double a[n] = {0.5, 0.5, 0.5, 0.5, 0, 0}, b[n] = {0.5, -0.5, 0, 0, 0.5, -0.5};
    float X[8 * n];
    pattern_states(X, (int)N / 4, a, b);
    double mean[n], values[2], total, U[n * 2];
    struct ddm_error err = {0};
    cr_assert_eq(pca_of_states(X, N, n, 2, mean, values, &total, U, &err), 0, "%s", err.message);
    cr_assert_float_eq(values[0], first, 1e-6, "λ₁ %.9g, exact %.9g (N = %ld)", values[0], first,
                       N);
    cr_assert_float_eq(values[1], second, 1e-6, "λ₂ %.9g, exact %.9g", values[1], second);
    cr_assert_float_eq(total, first + second, 1e-6, "total variance %.9g", total);
    double dot_a = 0, dot_b = 0;
    for (int i = 0; i < n; i++) {
        dot_a += U[i * 2] * a[i];
        dot_b += U[i * 2 + 1] * b[i];
    }
    cr_assert_float_eq(fabs(dot_a), 1, 1e-6, "first component · a = %.9g", dot_a);
    cr_assert_float_eq(fabs(dot_b), 1, 1e-6, "second component · b = %.9g", dot_b);
    cr_assert_float_eq(mean[3], 3, 1e-6);
}

Test(pca, eigenpairs_through_gram_and_covariance) {
    check_components(4, 18.0 / 3, 8.0 / 3);  /* N = 4 < n: the Gram matrix */
    check_components(8, 36.0 / 7, 16.0 / 7); /* N = 8 ≥ n: the covariance */
}

Test(pca, principal_angles_of_known_subspaces) {
    struct ddm_error err = {0};
    for (int t = 0; t < 3; t++) {
        const double theta = (double[]){1e-6, 0.3, 1.2}[t]; /* radians */
        /* range Γ = span(e0 + e1, e1) = span(e0, e1); U = [e0, cos θ e1 + sin θ e2] */
        const float Gamma[n * 2] = {1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        double U[n * 2] = {0};
        U[0 * 2 + 0] = 1;
        U[1 * 2 + 1] = cos(theta);
        U[2 * 2 + 1] = sin(theta);
        double angles[2];
        cr_assert_eq(pca_principal_angles(U, Gamma, n, 2, angles, &err), 0, "%s", err.message);
        cr_assert(fabs(angles[0]) < 1e-9, "first angle %.3g°, exact 0", angles[0]);
        cr_assert(fabs(angles[1] / (theta * 180 / M_PI) - 1) < 1e-6,
                  "second angle %.9g°, exact %.9g°", angles[1], theta * 180 / M_PI);
    }
}

/* The PCA stage on a random network (not trained: the subspace is what matters) beside vdp. */
static void pca_of_network(double neuron_noise, struct pca_result *out) {
    struct ddm_config cfg;
    char text[512];
    snprintf(text, sizeof text,
             "[system]\nname = vdp\n[simulate]\ndt = 0.01\nneuron_noise = %g\n"
             "[train]\npath_burn_in = 2\n"
             "[analysis]\npca = 6\npca_trajectories = 6\npca_samples = 50\npca_every = 10\n",
             neuron_noise);
    config_from_text(&cfg, text);
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_error err = {0};
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    random_model(&model, 48, 2, 2, 0, 13);
    cr_assert_eq(analysis_pca(backend_cpu(0), &sys, &model, &cfg, NULL, out, &err), 0, "%s",
                 err.message);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

Test(pca, noise_free_network_has_exactly_k_components_along_range_gamma) {
    struct pca_result r;
    pca_of_network(0, &r);
    cr_assert_eq(r.states, 300);
    cr_assert_eq(r.kept, 6);
    cr_assert_eq(r.significant, 2, "%d components above 1e-6 of the variance", r.significant);
    cr_assert(r.explained[0] + r.explained[1] > 1 - 1e-9, "top two explain %.12f",
              r.explained[0] + r.explained[1]);
    cr_assert(r.explained[2] < 1e-10, "third component %.3g of the variance", r.explained[2]);
    cr_assert(r.angles_deg[1] < 1e-3, "largest principal angle %.3g°", r.angles_deg[1]);
    for (int c = 0; c < 2; c++) cr_assert(r.r2[c] > 1 - 1e-9, "R² of z%d %.12f", c, r.r2[c]);
    pca_result_free(&r);
}

Test(pca, neuron_noise_tilts_the_components_off_range_gamma) {
    struct pca_result r;
    pca_of_network(0.3, &r);
    cr_assert_eq(r.significant, 6, "per-neuron noise fills every direction: %d", r.significant);
    cr_assert(r.angles_deg[1] > 0.1, "largest principal angle %.3g°", r.angles_deg[1]);
    cr_assert(r.r2[0] < 1 - 1e-4 && r.r2[0] > 0.5, "R² of z0 %.6f", r.r2[0]);
    pca_result_free(&r);
}
