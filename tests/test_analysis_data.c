/* test_analysis_data.c — the network against data (host/analysis/analysis_data.c), on exactly
 * sampled Ornstein–Uhlenbeck paths whose statistics are known in closed form.
 *
 * A 1-D OU dz = −θz dt + √(2θ) dB sampled every Δ is the AR(1) chain z' = φz + √(1 − φ²) ξ,
 * φ = e^{−θΔ}, of unit stationary variance; its sampled power spectrum is the aliased Lorentzian
 * S(f) ∝ (1 − φ²) / (1 − 2φ cos 2πfΔ + φ²). The rotating OU dz = −(I − ωJ)z dt + dB (D = I/2) is
 * sampled exactly by z' = e^{−Δ} R(ωΔ) z + √((1 − e^{−2Δ})/2) ξ; its stationary covariance is I/2,
 * its mean local velocity v = ωJz, so Φ = ⟨vᵀD⁻¹v⟩ = 2ω² ⟨|z|²⟩ = 2ω².
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_data.h"
#include "test_util.h"

static struct recording make_recording(int k, int B, long T, double dt) {
    struct recording r = {
        .k = k, .trajectories = B, .offset = malloc(sizeof(long) * (B + 1)), .dt = dt};
    for (int b = 0; b <= B; b++) r.offset[b] = (long)b * T;
    r.z = malloc(sizeof(double) * B * T * k);
    return r;
}

static void drop_recording(struct recording *r) {
    free(r->offset);
    free(r->z);
}

/* B AR(1) paths of T samples, unit variance, correlation φ per sample, shifted by mean. */
static struct recording ar1_paths(int B, long T, double dt, double phi, double mean,
                                  uint64_t seed) {
    struct recording r = make_recording(1, B, T, dt);
    for (int b = 0; b < B; b++) {
        double z = philox_gaussian(seed, b, 0);
        for (long s = 0; s < T; s++) {
            r.z[(long)b * T + s] = mean + z;
            z = phi * z + sqrt(1 - phi * phi) * philox_gaussian(seed, b, s + 1);
        }
    }
    return r;
}

/* The rotating OU of the header, started in its stationary law. */
static struct recording rotating_ou(int B, long T, double dt, double omega, uint64_t seed) {
    struct recording r = make_recording(2, B, T, dt);
    const double decay = exp(-dt), c = cos(omega * dt), s = sin(omega * dt);
    const double kick = sqrt((1 - exp(-2 * dt)) / 2);
    for (int b = 0; b < B; b++) {
        double x = sqrt(0.5) * philox_gaussian(seed, b, 0),
               y = sqrt(0.5) * philox_gaussian(seed, b, 1);
        for (long q = 0; q < T; q++) {
            double *z = r.z + ((long)b * T + q) * 2;
            z[0] = x, z[1] = y;
            const double nx = decay * (c * x - s * y), ny = decay * (s * x + c * y);
            x = nx + kick * philox_gaussian(seed, b, 2 * q + 2);
            y = ny + kick * philox_gaussian(seed, b, 2 * q + 3);
        }
    }
    return r;
}

/* ---- moments and W₁ ---- */

Test(analysis_data, moments_and_wasserstein_error_bars) {
    /* φ = 0.9: Var(mean) = (1 + φ)/(1 − φ)/N per unit variance (19/N); an error bar that
     * ignored the correlation would be √19 ≈ 4.4 times too small; 20 batches give the error bar
     * itself to ±16 %, hence the band [0.5, 1.5] */
    const int B = 40, T = 2500;
    struct recording net = ar1_paths(B, T, 0.1, 0.9, 0.5, 11),
                     data = ar1_paths(B, T, 0.1, 0.9, 0, 12);
    struct data_stats st;
    struct ddm_error err = {0};
    cr_assert_eq(data_stats_compare(&net, &data, 20, 100, &st, &err), 0, "%s", err.message);
    const double exact_err = sqrt(19.0 / (B * T));
    for (int p = 0; p < 2; p++) {
        cr_assert(st.mean_err[p][0] > 0.5 * exact_err && st.mean_err[p][0] < 1.5 * exact_err,
                  "mean error %.4g, exact %.4g", st.mean_err[p][0], exact_err);
        cr_assert(fabs(st.mean[p][0] - 0.5 * (p == 0)) < 3.5 * exact_err, "mean %.4f",
                  st.mean[p][0]);
        cr_assert(fabs(st.cov[p][0] - 1) < 0.05, "variance %.4f", st.cov[p][0]);
    }
    /* W₁(N(0.5, 1), N(0, 1)) = 0.5 in units of the data's std (≈ 1) */
    const double w = st.wasserstein_std[0] * st.data_std[0], w_err = st.wasserstein_std_err[0];
    cr_assert(fabs(w - 0.5) < 3 * w_err + 0.01, "W₁ %.4f ± %.4f, exact 0.5", w, w_err);
    cr_assert(w_err > 0.3 * exact_err && w_err < 3 * exact_err, "W₁ error %.4g", w_err);
    drop_recording(&net);
    drop_recording(&data);
}

/* ---- power spectra ---- */

/* D_H of the exact sampled spectra of two OU processes (rates θ, sampled every Δ) on the grid
 * j / T_seg, j = 1 … F, smoothed like the estimates. */
static double exact_hellinger(double theta_a, double dt_a, double theta_b, double dt_b,
                              double segment_time, int F, double smoothing) {
    double *p = malloc(sizeof(double) * F), *q = malloc(sizeof(double) * F);
    for (int j = 0; j < F; j++) {
        const double f = (j + 1) / segment_time, pa = exp(-theta_a * dt_a),
                     pb = exp(-theta_b * dt_b);
        p[j] = (1 - pa * pa) / (1 - 2 * pa * cos(2 * M_PI * f * dt_a) + pa * pa);
        q[j] = (1 - pb * pb) / (1 - 2 * pb * cos(2 * M_PI * f * dt_b) + pb * pb);
    }
    data_spectrum_normalise(p, F, smoothing);
    data_spectrum_normalise(q, F, smoothing);
    const double h = data_hellinger(p, q, F);
    free(p);
    free(q);
    return h;
}

static double estimated_hellinger(double theta_net, double theta_data, double *exact) {
    /* the network sampled twice as often as the data: its segments hold 512 samples */
    const double dt = 0.1, dt_net = 0.05;
    struct recording net = ar1_paths(20, 5000, dt_net, exp(-theta_net * dt_net), 0, 21),
                     data = ar1_paths(20, 2500, dt, exp(-theta_data * dt), 0, 22);
    struct data_spectra sp;
    struct ddm_error err = {0};
    cr_assert_eq(data_spectra_compare(&net, &data, 256, 2, &sp, &err), 0, "%s", err.message);
    cr_assert_eq(sp.frequencies, 128);
    cr_assert_float_eq(sp.frequency[127], 5.0, 1e-9, "highest bin %g, the data's Nyquist 5",
                       sp.frequency[127]);
    *exact = exact_hellinger(theta_net, dt_net, theta_data, dt, sp.segment_time, 128, 2);
    const double h = sp.hellinger_mean;
    data_spectra_free(&sp);
    drop_recording(&net);
    drop_recording(&data);
    return h;
}

Test(analysis_data, spectra_hellinger_matches_exact_lorentzians) {
    double exact_far, exact_same;
    const double far = estimated_hellinger(3, 1, &exact_far),
                 same = estimated_hellinger(1, 1, &exact_same);
    cr_assert(exact_far > 0.15, "exact D_H(θ = 3, θ = 1) = %.4f", exact_far);
    cr_assert(fabs(far / exact_far - 1) < 0.1, "D_H %.4f, exact %.4f", far, exact_far);
    cr_assert(fabs(same - exact_same) < 0.01, "D_H of one rate at two Δ: %.4f, exact %.4f", same,
              exact_same);
}

Test(analysis_data, hellinger_of_identical_and_disjoint) {
    double p[4] = {1, 2, 3, 4}, q[4] = {4, 3, 2, 1}, r[4] = {1, 0, 0, 0}, s[4] = {0, 0, 0, 1};
    data_spectrum_normalise(p, 4, 0);
    data_spectrum_normalise(q, 4, 0);
    cr_assert_float_eq(data_hellinger(p, p, 4), 0, 1e-7);
    cr_assert_float_eq(data_hellinger(r, s, 4), 1, 1e-12);
    /* Σ√(pq) = (2·√4 + 2·√6)/10 */
    cr_assert_float_eq(data_hellinger(p, q, 4), sqrt(1 - (4 + 2 * sqrt(6)) / 10), 1e-12);
}

/* ---- state-space divergence ---- */

/* n independent N(shift·e₀, I_k) samples in one "trajectory". */
static struct recording gaussian_cloud(int k, long n, double shift, uint64_t seed) {
    struct recording r = make_recording(k, 1, n, 1);
    for (long q = 0; q < n * k; q++) r.z[q] = philox_gaussian(seed, 0, q) + (q % k == 0) * shift;
    return r;
}

Test(analysis_data, stsp_of_one_law_is_its_bias) {
    struct recording a = gaussian_cloud(2, 50000, 0, 31), b = gaussian_cloud(2, 50000, 0, 32);
    struct data_stsp out;
    struct ddm_error err = {0};
    cr_assert_eq(data_stsp_compare(&a, &b, 30, &out, &err), 0, "%s", err.message);
    cr_assert(out.bias > 0.003 && out.bias < 0.02, "bias %.4g", out.bias);
    cr_assert(fabs(out.dstsp / out.bias - 1) < 0.35, "D_stsp %.4g against its bias %.4g", out.dstsp,
              out.bias);
    drop_recording(&a);
    drop_recording(&b);
}

Test(analysis_data, stsp_of_shifted_gaussians) {
    /* KL(N(0, I) ‖ N(μ, I)) = |μ|²/2 = 0.125; for k = 4 (pairs of 2-D histograms) 3 of the 6
     * pairs hold the shifted coordinate: the mean is 0.0625 */
    struct ddm_error err = {0};
    const int ks[2] = {2, 4};
    const double exact[2] = {0.125, 0.0625};
    for (int t = 0; t < 2; t++) {
        struct recording net = gaussian_cloud(ks[t], 50000, 0.5, 41),
                         data = gaussian_cloud(ks[t], 50000, 0, 42);
        struct data_stsp out;
        cr_assert_eq(data_stsp_compare(&net, &data, 30, &out, &err), 0, "%s", err.message);
        cr_assert_eq(out.pairs, t ? 6 : 0);
        const double kl = out.dstsp - out.bias;
        cr_assert(fabs(kl / exact[t] - 1) < 0.1, "k = %d: D_stsp − bias = %.4f, exact %.4f", ks[t],
                  kl, exact[t]);
        drop_recording(&net);
        drop_recording(&data);
    }
}

/* ---- stochastic force inference ---- */

Test(analysis_data, sfi_entropy_production_of_rotating_ou) {
    struct recording r = rotating_ou(40, 10000, 0.01, 1, 51);
    struct sfi_result sfi;
    struct ddm_error err = {0};
    cr_assert_eq(sfi_infer(&r, 2, 10, &sfi, &err), 0, "%s", err.message);
    cr_assert_eq(sfi.basis, 6);
    cr_log_info("rotating OU, degree 2: Φ %.4g ± %.2g (exact 2), noise bias %.4g", sfi.phi,
                sfi.phi_err, sfi.phi_bias);
    cr_assert(fabs(sfi.phi - 2) < 3 * sfi.phi_err, "Φ %.4f ± %.4f, exact 2", sfi.phi, sfi.phi_err);
    cr_assert(fabs(sfi.phi / 2 - 1) < 0.1, "Φ %.4f, exact 2", sfi.phi);
    cr_assert(sfi.phi_err > 0.01 && sfi.phi_err < 0.2, "error bar %.4f", sfi.phi_err);
    cr_assert(fabs(sfi.D[0] - 0.5) < 0.02 && fabs(sfi.D[1]) < 0.01, "D %.4f %.4f", sfi.D[0],
              sfi.D[1]);
    const double z[2] = {0.7, -0.3};
    double f[2];
    sfi_drift_at(&sfi, z, f); /* f = −(I − ωJ) z, Jz = (−y, x) */
    const double exact_f[2] = {-z[0] - z[1], z[0] - z[1]};
    for (int c = 0; c < 2; c++)
        cr_assert(fabs(f[c] - exact_f[c]) < 0.1, "drift %d: %.4f, exact %.4f", c, f[c], exact_f[c]);
    sfi_free(&sfi);
    drop_recording(&r);
}

/* In 1-D every basis direction is exact (b(z) dz = dB(z)): the Stratonovich velocity is a sum of
 * boundary terms, Φ = 0 and there is no noise to remove. The noise bias 2 k n_b / τ was
 * subtracted all the same: Φ̂ = −0.0202 ± 0.0022 for a 1-D network record, 9 error bars below 0. */
Test(analysis_data, sfi_entropy_production_in_one_dimension_is_zero) {
    struct recording r = ar1_paths(20, 5000, 0.01, exp(-0.01), 3, 71);
    struct sfi_result sfi;
    struct ddm_error err = {0};
    cr_assert_eq(sfi_infer(&r, 2, 10, &sfi, &err), 0, "%s", err.message);
    cr_log_info("1-D SFI: Φ %.3g ± %.3g, noise bias %.3g", sfi.phi, sfi.phi_err, sfi.phi_bias);
    cr_assert(fabs(sfi.phi) < 1e-9, "Φ %.4g ± %.2g, exact 0", sfi.phi, sfi.phi_err);
    cr_assert_eq(sfi.phi_bias, 0, "noise bias %.4g of a 1-D record", sfi.phi_bias);
    sfi_free(&sfi);
    drop_recording(&r);
}

Test(analysis_data, sfi_entropy_production_of_reversible_ou) {
    struct recording r = rotating_ou(40, 10000, 0.01, 0, 61);
    struct sfi_result sfi;
    struct ddm_error err = {0};
    cr_assert_eq(sfi_infer(&r, 3, 10, &sfi, &err), 0, "%s", err.message);
    cr_assert_eq(sfi.basis, 10);
    cr_log_info("reversible OU, degree 3: Φ %.4g ± %.2g, noise bias %.4g", sfi.phi, sfi.phi_err,
                sfi.phi_bias);
    cr_assert(fabs(sfi.phi) < 3 * sfi.phi_err, "Φ %.4f ± %.4f, exact 0", sfi.phi, sfi.phi_err);
    cr_assert(fabs(sfi.phi) < 0.05, "Φ %.4f, exact 0", sfi.phi);
    cr_assert(sfi.phi_uncorrected > sfi.phi, "the noise bias %.4g is positive", sfi.phi_bias);
    sfi_free(&sfi);
    drop_recording(&r);
}
