/* test_analysis_split.c — the symmetric/asymmetric split and the Hopfield energy
 * (host/analysis/analysis_split.c, docs/design.md §5).
 *
 * The low-rank formulas are checked against the dense n×n matrices W_S = ½(W + Wᵀ) and
 * W_A = ½(W − Wᵀ) of a small network; f_sym + f_asym must give model_latent_drift; the energy's
 * directional derivative along the symmetric flow must be −τ Σ φ'(xᵢ) ẋᵢ² (its gradient is
 * exactly the flow's), and E must never increase along a simulated symmetric flow while the full,
 * asymmetric network's flow is free to climb it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_split.h"
#include "test_util.h"

enum { N = 40, K = 3 };

/* a network with strong recurrence: Ŵ_s scaled up so that the flows are far from −x + b */
static void strong_model(struct ddm_model *model, uint64_t seed) {
    random_model(model, N, K, K, 0, seed);
    for (int q = 0; q < N * K; q++) model->Ws[q] *= 6;
}

/* dense W (N,N) = Γ̂Ŵ_s */
static void dense_W(const struct ddm_model *model, double *W) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            W[i * N + j] = 0;
            for (int c = 0; c < K; c++)
                W[i * N + j] += (double)model->Gamma[i * K + c] * model->Ws[c * N + j];
        }
}

Test(split, low_rank_formulas_match_the_dense_matrices) {
    struct ddm_model model;
    strong_model(&model, 3);
    double W[N * N];
    dense_W(&model, W);
    for (int trial = 0; trial < 5; trial++) {
        double z[K], z_hat[K], x[N], phi[N], f[K], fs[K], fa[K], e, f_ref[K];
        for (int c = 0; c < K; c++) {
            z[c] = 0.5 + 2 * (philox_uniform(1, 2, trial * K + c) - 0.5) * 3;
            z_hat[c] = (z[c] - model.latent_mean[c]) / model.latent_scale[c];
        }
        split_latent(&model, z, f, fs, fa, &e);
        model_latent_drift(&model, z, f_ref, NULL);
        for (int i = 0; i < N; i++) {
            x[i] = model.b[i];
            for (int c = 0; c < K; c++) x[i] += (double)model.Gamma[i * K + c] * z_hat[c];
            phi[i] = tanh(x[i]);
        }
        double sym_term[N], asym_term[N], energy = 0; /* −x + W_Sφ + b and W_Aφ */
        for (int i = 0; i < N; i++) {
            double s = 0, a = 0;
            for (int j = 0; j < N; j++) {
                s += 0.5 * (W[i * N + j] + W[j * N + i]) * phi[j];
                a += 0.5 * (W[i * N + j] - W[j * N + i]) * phi[j];
            }
            sym_term[i] = -x[i] + s + model.b[i];
            asym_term[i] = a;
            energy += -0.5 * phi[i] * s - model.b[i] * phi[i] + phi[i] * atanh(phi[i]) +
                      0.5 * log(1 - phi[i] * phi[i]);
        }
        for (int c = 0; c < K; c++) {
            double ps = 0, pa = 0; /* s ⊙ Γ̂⁺(·)/τ */
            for (int i = 0; i < N; i++) {
                ps += (double)model.Gamma_pinv[c * N + i] * sym_term[i];
                pa += (double)model.Gamma_pinv[c * N + i] * asym_term[i];
            }
            ps *= model.latent_scale[c] / model.tau;
            pa *= model.latent_scale[c] / model.tau;
            cr_assert(fabs(fs[c] - ps) < 1e-5 * (1 + fabs(ps)), "f_sym[%d] %.9g vs dense %.9g", c,
                      fs[c], ps);
            cr_assert(fabs(fa[c] - pa) < 1e-5 * (1 + fabs(pa)), "f_asym[%d] %.9g vs dense %.9g", c,
                      fa[c], pa);
            cr_assert(fabs(fs[c] + fa[c] - f_ref[c]) < 1e-12 * (1 + fabs(f_ref[c])),
                      "f_sym + f_asym = %.15g, f_RNN = %.15g", fs[c] + fa[c], f_ref[c]);
        }
        cr_assert(fabs(e - energy) < 1e-9 * (1 + fabs(energy)), "E %.12g vs dense %.12g", e,
                  energy);
    }
    model_free(&model);
}

Test(split, energy_gradient_is_the_symmetric_flow) {
    struct ddm_model model;
    strong_model(&model, 5);
    double x[N], v[N], xp[N], xm[N];
    for (int i = 0; i < N; i++) x[i] = 3 * (philox_uniform(4, 4, i) - 0.5);
    split_symmetric_flow(&model, x, v);
    double expected = 0; /* dE/dt = −τ Σ φ'(xᵢ) ẋᵢ² */
    for (int i = 0; i < N; i++) expected -= model.tau * (1 - pow(tanh(x[i]), 2)) * v[i] * v[i];
    const double h = 1e-5;
    for (int i = 0; i < N; i++) {
        xp[i] = x[i] + h * v[i];
        xm[i] = x[i] - h * v[i];
    }
    double derivative = (split_energy(&model, xp) - split_energy(&model, xm)) / (2 * h);
    cr_assert(expected < -1e-3, "the flow should move: dE/dt = %g", expected);
    cr_assert(fabs(derivative / expected - 1) < 1e-6, "dE/dt %.10g, −τΣφ'ẋ² = %.10g", derivative,
              expected);
    model_free(&model);
}

/* max over RK4 steps of E(t+dt) − E(t), relative to the total drop; `symmetric` picks the flow */
static double largest_rise(const struct ddm_model *model, int symmetric, double *drop) {
    double W[N * N], x[N], k1[N], k2[N], k3[N], k4[N], tmp[N];
    dense_W(model, W);
    for (int i = 0; i < N; i++) x[i] = 4 * (philox_uniform(8, symmetric, i) - 0.5);
    const double dt = 0.01;
    double e = split_energy(model, x), start = e, rise = 0;
    for (int step = 0; step < 1000; step++) {
        double *stages[4] = {k1, k2, k3, k4};
        for (int s = 0; s < 4; s++) {
            const double *from = s ? stages[s - 1] : NULL;
            for (int i = 0; i < N; i++) tmp[i] = x[i] + (s ? (s == 3 ? 1 : 0.5) * dt * from[i] : 0);
            if (symmetric) {
                split_symmetric_flow(model, tmp, stages[s]);
            } else { /* the full network, τẋ = −x + Wφ(x) + b */
                for (int i = 0; i < N; i++) {
                    double sum = 0;
                    for (int j = 0; j < N; j++) sum += W[i * N + j] * tanh(tmp[j]);
                    stages[s][i] = (-tmp[i] + sum + model->b[i]) / model->tau;
                }
            }
        }
        for (int i = 0; i < N; i++) x[i] += dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        double next = split_energy(model, x);
        rise = fmax(rise, next - e);
        e = next;
    }
    *drop = start - e;
    return rise;
}

Test(split, energy_never_increases_along_the_symmetric_flow) {
    struct ddm_model model;
    strong_model(&model, 7);
    double drop;
    double rise = largest_rise(&model, 1, &drop);
    cr_assert(drop > 1, "E should fall along the symmetric flow: drop %g", drop);
    cr_assert(rise <= 1e-12 * drop, "E rose by %.3g in one step (total drop %.3g)", rise, drop);
    /* the same function is no Lyapunov function of the asymmetric network (sanity of the test) */
    rise = largest_rise(&model, 0, &drop);
    cr_assert(rise > 1e-6, "E never rose along the full asymmetric flow (largest step %.3g)", rise);
    model_free(&model);
}

Test(split, grid_matches_pointwise_split) {
    struct ddm_model model;
    strong_model(&model, 9);
    struct latent_grid grid = {.k = K, .d = 2, .axis = {0, 2}, .size = {7, 5}};
    for (int c = 0; c < K; c++) {
        grid.lo[c] = -2;
        grid.hi[c] = 3;
        grid.at[c] = 0.25;
    }
    struct split_grid out;
    struct ddm_error err = {0};
    cr_assert_eq(split_on_grid(&model, &grid, &out, &err), 0, "%s", err.message);
    cr_assert(out.residual < 1e-12, "residual %g", out.residual);
    double z[K] = {-2 + 5.0 * 3 / 6, 0.25, -2 + 5.0 * 4 / 4}, f[K], fs[K], fa[K], e;
    split_latent(&model, z, f, fs, fa, &e);
    const long p = 3 * 5 + 4; /* row-major, last axis fastest */
    for (int c = 0; c < K; c++) {
        cr_assert_float_eq(out.f_sym[p * K + c], fs[c], 1e-5 * (1 + fabs(fs[c])));
        cr_assert_float_eq(out.f_asym[p * K + c], fa[c], 1e-5 * (1 + fabs(fa[c])));
        cr_assert_float_eq(out.f[p * K + c], f[c], 1e-5 * (1 + fabs(f[c])));
    }
    cr_assert_float_eq(out.energy[p], e, 1e-5 * (1 + fabs(e)));
    split_grid_free(&out);
    model_free(&model);
}

/* x (N) = Γ̂ẑ + b in double, ẑ = (z − μ) ⊘ s */
static void embed(const struct ddm_model *model, const double *z, double *x) {
    for (int i = 0; i < N; i++) {
        x[i] = model->b[i];
        for (int c = 0; c < K; c++)
            x[i] += (double)model->Gamma[i * K + c] * (z[c] - model->latent_mean[c]) /
                    model->latent_scale[c];
    }
}

static void random_point(double *z, uint64_t seed, int trial, double half_width) {
    for (int c = 0; c < K; c++)
        z[c] = 0.5 + 2 * half_width * (philox_uniform(seed, trial, c) - 0.5);
}

/* ∇_z E against central differences of E(Γ̂ẑ + b) along each latent axis */
Test(split, energy_gradient_on_the_manifold_matches_finite_differences) {
    struct ddm_model model;
    strong_model(&model, 11);
    for (int trial = 0; trial < 4; trial++) {
        double z[K], fs[K], zp[K], zm[K], xp[N], xm[N];
        struct energy_point at;
        random_point(z, 12, trial, 4);
        split_energy_field(&model, z, fs, &at);
        for (int c = 0; c < K; c++) {
            const double h = 1e-5 * model.latent_scale[c];
            for (int d = 0; d < K; d++) zp[d] = zm[d] = z[d];
            zp[c] += h;
            zm[c] -= h;
            embed(&model, zp, xp);
            embed(&model, zm, xm);
            double numeric = (split_energy(&model, xp) - split_energy(&model, xm)) / (2 * h);
            cr_assert(fabs(at.grad[c] - numeric) < 1e-6 * (1 + fabs(numeric)),
                      "∂E/∂z%d %.10g vs finite difference %.10g", c, at.grad[c], numeric);
        }
    }
    model_free(&model);
}

/* f_sym_metric = s ⊙ v, v the φ′-weighted least-squares fit of Γ̂v to the symmetric flow F_S:
 * solved here from the dense normal equations by Gaussian elimination */
Test(split, metric_projection_is_the_phi_prime_weighted_least_squares_fit) {
    struct ddm_model model;
    strong_model(&model, 13);
    for (int trial = 0; trial < 4; trial++) {
        double z[K], fs[K], x[N], flow[N], A[K][K + 1] = {{0}};
        struct energy_point at;
        random_point(z, 14, trial, 3);
        split_energy_field(&model, z, fs, &at);
        embed(&model, z, x);
        split_symmetric_flow(&model, x, flow);
        for (int i = 0; i < N; i++) {
            const double w = 1 - pow(tanh(x[i]), 2);
            for (int c = 0; c < K; c++) {
                for (int d = 0; d < K; d++)
                    A[c][d] += w * model.Gamma[i * K + c] * model.Gamma[i * K + d];
                A[c][K] += w * model.Gamma[i * K + c] * flow[i];
            }
        }
        for (int c = 0; c < K; c++) /* elimination without pivoting: A is positive definite */
            for (int r = 0; r < K; r++)
                if (r != c)
                    for (int q = K; q >= c; q--) A[r][q] -= A[r][c] / A[c][c] * A[c][q];
        for (int c = 0; c < K; c++) {
            const double expected = model.latent_scale[c] * A[c][K] / A[c][c];
            cr_assert(fabs(at.f_sym_metric[c] - expected) < 1e-9 * (1 + fabs(expected)),
                      "f_sym_metric[%d] %.12g, weighted least squares %.12g", c, at.f_sym_metric[c],
                      expected);
        }
    }
    model_free(&model);
}

/* On random networks the φ′-weighted projection descends E at every point, while the Euclidean
 * f_sym = s ⊙ Γ̂⁺F_S climbs it at some: the share test can fail, and does for the wrong weights. */
Test(split, only_the_metric_projection_descends_the_energy_everywhere) {
    struct energy_descent total = {0};
    for (uint64_t seed = 20; seed < 24; seed++) {
        struct ddm_model model; /* stronger still, with biases spread over ±4: φ′ varies widely */
        strong_model(&model, seed);
        for (int q = 0; q < N * K; q++) model.Ws[q] *= 2;
        for (int i = 0; i < N; i++) model.b[i] *= 8;
        for (int trial = 0; trial < 200; trial++) {
            double z[K], fs[K];
            struct energy_point at;
            random_point(z, seed, trial, 8);
            split_energy_field(&model, z, fs, &at);
            energy_descent_add(&total, fs, &at, K);
        }
        model_free(&model);
    }
    cr_assert_eq(total.descent_metric, total.points, "f_sym_metric climbs E at %ld of %ld points",
                 total.points - total.descent_metric, total.points);
    cr_assert(total.descent < 0.97 * total.points,
              "f_sym descends E at %ld of %ld points: the test would not see a wrong weighting",
              total.descent, total.points);
}
