/* test_analysis_hhd.c — the Helmholtz–Hodge split and entropy production
 * (host/analysis/analysis_hhd.c) against the Ornstein–Uhlenbeck process dz = −Az dt + √(2D) dB, A =
 * [[1, −ω], [ω, 1]], D = ½I.
 *
 * Analytic answers (docs/design.md §5): Σ = D (AΣ + ΣAᵀ = 2D), f_irr = −(A − DΣ⁻¹)z = ω(y, −x), Φ =
 * 2ω². The estimators only see stationary samples, so the grid fields are checked on 2²⁰
 * independent draws from the exact stationary law N(0, Σ): the kernel of std h ≈ 0.17σ then biases
 * f_irr by h²/(σ² + h²) ≈ 3 % and the grid Φ by only that squared. The sample identity Φ = ⟨fᵀD⁻¹f
 * + ∇·f⟩ is checked on those draws and on Euler–Maruyama paths of the coupled-target integrator (dt
 * = 0.002, whose stationary variance is (1 + ω²)dt/2 ≈ 0.2 % high).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_hhd.h"
#include "ddm/simulate.h"
#include "test_util.h"

enum { B = 256, T = 16384 }; /* 2²² samples as B "trajectories" of T */

struct ou {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct latent_process process;
};

static void ou_build(struct ou *ou, double omega) {
    char text[256];
    snprintf(text, sizeof text,
             "[system]\nname = ou\nparams = a11=1, a12=%.17g, a21=%.17g, a22=1\ndiffusion = 1\n",
             -omega, omega);
    struct ddm_error err = {0};
    config_from_text(&ou->cfg, text);
    cr_assert_eq(system_build(&ou->sys, &ou->cfg, &err), 0, "%s", err.message);
    ou->process = latent_process_target(&ou->sys);
}

static void ou_free(struct ou *ou) {
    system_free(&ou->sys);
    config_free(&ou->cfg);
}

/* (paths,T,2) independent draws from N(0, ½I) */
static float *stationary_draws(int paths) {
    float *z = malloc(sizeof(float) * paths * T * 2);
    for (size_t q = 0; q < (size_t)paths * T * 2; q++)
        z[q] = (float)(sqrt(0.5) * philox_gaussian(3, 9, q));
    return z;
}

/* Runs the accumulator over samples (B,times,2), in slabs as the HDF5 reader hands them over,
 * with a 64 × 64 grid over ±4.5 std (or none). */
static void hhd_of(struct ou *ou, const float *samples, int paths, int times, int with_grid,
                   struct hhd_result *r) {
    struct latent_grid grid = {.k = 2, .d = 2, .axis = {0, 1}, .size = {64, 64}};
    for (int c = 0; c < 2; c++) {
        grid.lo[c] = -4.5 * sqrt(0.5);
        grid.hi[c] = 4.5 * sqrt(0.5);
    }
    struct hhd_accumulator acc;
    struct ddm_error err = {0};
    cr_assert_eq(hhd_init(&acc, &ou->process, with_grid ? &grid : NULL, paths, 8, 1, &err), 0, "%s",
                 err.message);
    enum { SLAB = 256 };
    float *slab = malloc(sizeof(float) * paths * SLAB * 2);
    for (int t = 0; t < times; t += SLAB) {
        int count = times - t < SLAB ? times - t : SLAB;
        for (int b = 0; b < paths; b++)
            memcpy(slab + (size_t)b * count * 2, samples + ((size_t)b * times + t) * 2,
                   sizeof(float) * count * 2);
        hhd_add(&acc, slab, count, t);
    }
    double std[2] = {sqrt(0.5), sqrt(0.5)};
    cr_assert_eq(hhd_finish(&acc, std, 0, 1e-3, r, &err), 0, "%s", err.message);
    free(slab);
    hhd_free(&acc);
}

/* ‖f_irr − ω(y, −x)‖ / ‖ω(y, −x)‖ over the cells with p > 1 % of its maximum */
static double f_irr_error(const struct hhd_result *r, double omega) {
    double top = 0, diff = 0, norm = 0;
    const long P = grid_points(&r->grid);
    for (long q = 0; q < P; q++) top = fmax(top, r->density[q]);
    for (long q = 0; q < P; q++) {
        if (r->density[q] <= 0.01 * top) continue;
        double z[2];
        grid_point(&r->grid, q, z, NULL);
        double exact[2] = {omega * z[1], -omega * z[0]};
        for (int c = 0; c < 2; c++) {
            diff += pow(r->f_irr[q * 2 + c] - exact[c], 2);
            norm += exact[c] * exact[c];
        }
    }
    return sqrt(diff / norm);
}

Test(hhd, ou_rotating_grid_split_and_entropy_production) {
    struct ou ou;
    ou_build(&ou, 1.0);
    float *z = stationary_draws(B);
    struct hhd_result r;
    hhd_of(&ou, z, B, T, 1, &r);
    double err_irr = f_irr_error(&r, 1.0);
    cr_assert(err_irr < 0.05, "f_irr relative L2 error %.4f", err_irr);
    cr_assert(fabs(r.phi_grid / 2 - 1) < 0.05, "grid Φ %.4f ± %.4f, analytic 2ω² = 2", r.phi_grid,
              r.phi_grid_err);
    cr_assert(fabs(r.phi / 2 - 1) < 0.05, "Φ %.4f ± %.4f, analytic 2", r.phi, r.phi_err);
    cr_assert(fabs(r.phi - 2) < 3 * r.phi_err + 0.01, "Φ %.4f ± %.4f: error bar too small", r.phi,
              r.phi_err);
    cr_assert(r.mass > 0.99, "the cells used hold %.4f of the probability", r.mass);
    free(z);
    hhd_result_free(&r);
    ou_free(&ou);
}

Test(hhd, ou_detailed_balance_grid_split) {
    struct ou ou;
    ou_build(&ou, 0.0);
    float *z = stationary_draws(B);
    struct hhd_result r;
    hhd_of(&ou, z, B, T, 1, &r);
    cr_assert(fabs(r.phi) < 2.5 * r.phi_err, "Φ %.5f ± %.5f, analytic 0", r.phi, r.phi_err);
    cr_assert(r.phi_grid < 0.01, "grid Φ %.5f, analytic 0 (the kernel adds 2h⁴/σ⁴ ≈ 0.002)",
              r.phi_grid);
    free(z);
    hhd_result_free(&r);
    ou_free(&ou);
}

/* Φ from Euler–Maruyama paths: 200 paths × 60 time units after a burn-in of 6, every 0.05. */
static void ou_paths_phi(double omega, struct hhd_result *r) {
    enum { PATHS = 200, RECORDS = 1200, EVERY = 25 };
    struct ou ou;
    ou_build(&ou, omega);
    double *z = calloc(PATHS * 2, sizeof(double));
    int *dead = calloc(PATHS, sizeof(int));
    float *samples = malloc(sizeof(float) * PATHS * RECORDS * 2);
    struct target_paths paths = {PATHS, z, dead, 41, 0};
    target_advance(&ou.sys, &paths, 0, 1, 3000, 0.002, NULL, NULL, NULL);
    target_advance(&ou.sys, &paths, 3000, RECORDS, EVERY, 0.002, NULL, NULL, samples);
    hhd_of(&ou, samples, PATHS, RECORDS, 0, r);
    free(z);
    free(dead);
    free(samples);
    ou_free(&ou);
}

Test(hhd, ou_paths_entropy_production) {
    struct hhd_result r;
    ou_paths_phi(1.0, &r);
    cr_assert(fabs(r.phi / 2 - 1) < 0.05, "Φ %.4f ± %.4f, analytic 2", r.phi, r.phi_err);
    cr_assert_eq(r.grid_on, 0);
    ou_paths_phi(0.0, &r);
    cr_assert(fabs(r.phi) < 2.5 * r.phi_err, "Φ %.4f ± %.4f, analytic 0", r.phi, r.phi_err);
}

/* The grid Φ's smoothing bias (docs/trust.md): the density on the grid is p̂ = N(0, (s + η)I),
 * s = ½, η = h² + Δ²/6, so weighting by p̂ gives 2ω²(1 + η/s) + 2η²/(s(s + η)) — about +2.5 %
 * at the default bandwidth — and the first-order deconvolved weight p̂ − ½η∆p̂ removes the
 * first term. The cut p ≥ c·max p keeps r² < 2(s + η)ln(1/c), the share 1 − c(1 + ln(1/c)) of
 * ∫ r² p: −0.8 % at c = 10⁻³. ω = 0.7: exact Φ = 0.98. 2²⁰ draws. */
Test(hhd, ou_grid_entropy_production_without_the_smoothing_bias) {
    const double omega = 0.7, exact = 2 * omega * omega, s = 0.5, cut = 1e-3;
    const double kept = 1 - cut * (1 + log(1 / cut));
    struct ou ou;
    ou_build(&ou, omega);
    float *z = stationary_draws(B / 4);
    struct hhd_result r;
    hhd_of(&ou, z, B / 4, T, 1, &r);
    const double eta = r.smoothing_variance[0];
    cr_assert(eta > 0 && fabs(r.smoothing_variance[1] - eta) < 1e-12 * eta);
    const double biased = (exact * (1 + eta / s) + 2 * eta * eta / (s * (s + eta))) * kept;
    cr_assert(fabs(r.phi_grid_uncorrected / biased - 1) < 0.004,
              "uncorrected grid Φ %.5f vs the smoothed-OU formula %.5f (η = %.4g)",
              r.phi_grid_uncorrected, biased, eta);
    cr_assert(r.phi_grid_uncorrected / exact - 1 > 0.01, "the bias is there: %.5f vs %.3f",
              r.phi_grid_uncorrected, exact);
    cr_assert(fabs(r.phi_grid / exact - 1) < 0.008,
              "corrected grid Φ %.5f ± %.2g vs exact %.3f (%.4f within the cut)", r.phi_grid,
              r.phi_grid_err, exact, exact * kept);
    free(z);
    hhd_result_free(&r);
    ou_free(&ou);
}

/* (paths,times,2) exact OU paths sampled every `step`: z ← e^{−step} R z + √(s(1 − e^{−2 step})) ξ,
 * R the rotation by ω step (the flow of ω(y, −x)), s = ½, started in the stationary law. */
static float *ou_exact_paths(double omega, int paths, int times, double step, uint64_t seed) {
    float *z = malloc(sizeof(float) * paths * times * 2);
    const double decay = exp(-step), c = cos(omega * step), s = sin(omega * step);
    const double kick = sqrt(0.5 * (1 - exp(-2 * step)));
    for (int b = 0; b < paths; b++) {
        double x = sqrt(0.5) * philox_gaussian(seed, b, 0),
               y = sqrt(0.5) * philox_gaussian(seed, b, 1);
        for (int t = 0; t < times; t++) {
            float *v = z + ((size_t)b * times + t) * 2;
            v[0] = (float)x;
            v[1] = (float)y;
            const double nx = decay * (c * x + s * y), ny = decay * (-s * x + c * y);
            x = nx + kick * philox_gaussian(seed, b, 2 + 2 * (uint64_t)t);
            y = ny + kick * philox_gaussian(seed, b, 3 + 2 * (uint64_t)t);
        }
    }
    return z;
}

/* The grid Φ's noise bias (docs/trust.md): from 64 exact OU paths of 256 time units (about 8000
 * independent samples) the plug-in grid Φ of a reversible OU is ≈ 0.07 (the kernel's noise enters
 * f_irr squared), while the spread of its per-batch values suggests ± 0.005: the old error bar
 * excluded the truth. The jackknife over the batches removes that bias, and its error bar must
 * cover the exact Φ — 0 for ω = 0, 2ω² for ω = 0.7 (less the cut's −0.8 %) — within 3 error bars
 * on most seeds (measured: 9 of 10 seeds for ω = 0, 10 of 10 for ω = 0.7). */
Test(hhd, grid_entropy_production_error_bar_covers_the_exact_value_on_paths) {
    enum { PATHS = 64, TIMES = 1024, SEEDS = 3 };
    static const double omegas[] = {0, 0.7};
    for (int w = 0; w < 2; w++) {
        const double omega = omegas[w], exact = 2 * omega * omega * (1 - 1e-3 * (1 + log(1e3)));
        struct ou ou;
        ou_build(&ou, omega);
        int covered = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            float *z = ou_exact_paths(omega, PATHS, TIMES, 0.25, 20 + seed);
            struct hhd_result r;
            hhd_of(&ou, z, PATHS, TIMES, 1, &r);
            const double sigmas = fabs(r.phi_grid - exact) / r.phi_grid_err;
            covered += sigmas <= 3;
            cr_log_info("ω %.1f seed %d: grid Φ %.5f ± %.5f, exact %.4f", omega, seed, r.phi_grid,
                        r.phi_grid_err, exact);
            cr_assert(r.phi_grid_err > 0 && r.phi_grid_err < 0.03, "error bar %.4g",
                      r.phi_grid_err);
            cr_assert(sigmas < 6, "ω %.1f seed %d: grid Φ %.5f ± %.5f vs exact %.4f", omega, seed,
                      r.phi_grid, r.phi_grid_err, exact);
            free(z);
            hhd_result_free(&r);
        }
        cr_assert(covered >= SEEDS - 1, "ω %.1f: the exact Φ within 3 error bars on %d of %d seeds",
                  omega, covered, SEEDS);
        ou_free(&ou);
    }
}
