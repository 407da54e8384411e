/* test_from_data.c — a network learnt from recorded trajectories of a known process, measured
 * against the exact process (docs/from_data.md).
 *
 * The data: a rotating Ornstein–Uhlenbeck process dz = A z dt + σ dB, A = [[−1, −ω], [ω, −1]],
 * ω = 2, σ = 1, sampled with its exact transition every Δ = 0.01 (50 trajectories × 20000
 * samples, as scripts/data/make_ou.py writes them). Exact: D = ½I, stationary Σ = ½I, entropy
 * production Φ = 2ω² = 8. The network (n = 16, ridge only) is trained from the file, and its drift
 * is compared with A z over the stationary distribution, its D̂ with ½I; its linearisation gives
 * the stationary covariance (Lyapunov equation) and Φ = tr(A_irrᵀ D⁻¹ A_irr Σ), A_irr = A + DΣ⁻¹.
 * Sampling error of the drift: 2·17/(5·8000 time units) ≈ 3 % (rel.), Kramers–Moyal bias
 * (Δ/2)|A| ≈ 1 %.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ddm/backend.h"
#include "ddm/train.h"
#include "test_util.h"

#define OMEGA 2.0
#define DT    0.01

/* Exact OU samples (B,T,2) every dt, stationary start; measurement noise of std `noise` added. */
static void write_ou_every(const char *path, int B, long T, double dt, double noise,
                           uint64_t seed) {
    double *z = malloc(sizeof(double) * B * T * 2);
    const double decay = exp(-dt), c = cos(OMEGA * dt), s = sin(OMEGA * dt);
    const double kick = sqrt(0.5 * (1 - exp(-2 * dt)));
    for (int b = 0; b < B; b++) {
        double x = sqrt(0.5) * philox_gaussian(seed, b, 0),
               y = sqrt(0.5) * philox_gaussian(seed, b, 1);
        for (long t = 0; t < T; t++) {
            uint64_t q = ((uint64_t)b * T + t) * 4;
            z[(b * T + t) * 2] = x + noise * philox_gaussian(seed, 1u << 20, q + 2);
            z[(b * T + t) * 2 + 1] = y + noise * philox_gaussian(seed, 1u << 20, q + 3);
            double xn = decay * (c * x - s * y) + kick * philox_gaussian(seed, 1u << 21, q);
            double yn = decay * (s * x + c * y) + kick * philox_gaussian(seed, 1u << 21, q + 1);
            x = xn, y = yn;
        }
    }
    hsize_t dims[3] = {(hsize_t)B, (hsize_t)T, 2};
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t set = H5Dcreate2(file, "trajectories", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, z);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(set, "dt", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_DOUBLE, &dt);
    H5Aclose(attr);
    H5Sclose(scalar);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
    free(z);
}

static void write_ou(const char *path, int B, long T, double noise, uint64_t seed) {
    write_ou_every(path, B, T, DT, noise, seed);
}

/* Trains the network of `extra` INI lines on the file; fills sys, model, report. */
static void train_from(const char *path, const char *extra, struct ddm_system *sys,
                       struct ddm_model *model, struct ddm_train_report *report) {
    char text[1024];
    snprintf(text, sizeof text,
             "[system]\nname = ou_data\nvars = x, y\ndata = %s\n%s\n"
             "[network]\nneurons = 8\ninit_gain = 0.25\ninit_bias = 1\n"
             "[train]\nsamples = 800000\nepochs = 0\nridge = 1e-8\n[run]\nbackend = cpu\n",
             path, extra);
    struct ddm_config cfg;
    struct ddm_error err = {0};
    config_from_text(&cfg, text);
    cr_assert_eq(system_build(sys, &cfg, &err), 0, "%s", err.message);
    const struct ddm_backend *backend = backend_select(BACKEND_CPU, 0, 1, 1, &err);
    cr_assert_not_null(backend, "%s", err.message);
    cr_assert_eq(train_model(backend, sys, &cfg, model, report, 1, &err), 0, "%s", err.message);
    config_free(&cfg);
}

/* D = σσᵀ/2 of the network, in original coordinates. */
static void network_D(const struct ddm_model *model, double *D) {
    double sigma[4], origin[2] = {0, 0};
    model_latent_diffusion(model, origin, sigma);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            D[i * 2 + j] =
                0.5 * (sigma[i * 2] * sigma[j * 2] + sigma[i * 2 + 1] * sigma[j * 2 + 1]);
}

/* Solves J Σ + Σ Jᵀ = −2D for Σ (2×2) via the Kronecker form. */
static void lyapunov(const double *J, const double *D, double *Sigma) {
    double M[16] = {0}, rhs[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            for (int l = 0; l < 2; l++) {
                M[(i * 2 + j) * 4 + l * 2 + j] += J[i * 2 + l]; /* (JΣ)_ij */
                M[(i * 2 + j) * 4 + i * 2 + l] += J[j * 2 + l]; /* (ΣJᵀ)_ij */
            }
            rhs[i * 2 + j] = -2 * D[i * 2 + j];
        }
    lapack_int pivots[4];
    cr_assert_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, 4, 1, M, 4, pivots, rhs, 1), 0);
    for (int q = 0; q < 4; q++) Sigma[q] = rhs[q];
}

Test(from_data, ou_drift_diffusion_covariance_and_phi, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_%d.h5", (int)getpid());
    write_ou(path, 40, 20000, 0, 11);
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    train_from(path, "", &sys, &model, &report);
    unlink(path);

    /* ε_f against the true drift A z over the stationary N(0, ½I); the linearisation J by least
     * squares on the same points */
    const double A[4] = {-1, -OMEGA, OMEGA, -1};
    double diff = 0, norm = 0, XtX[4] = {0}, XtF[4] = {0};
    enum { POINTS = 20000 };
    for (int p = 0; p < POINTS; p++) {
        double z[2] = {sqrt(0.5) * philox_gaussian(99, p, 0),
                       sqrt(0.5) * philox_gaussian(99, p, 1)};
        double f[2];
        model_latent_drift(&model, z, f, NULL);
        for (int c = 0; c < 2; c++) {
            double exact = A[c * 2] * z[0] + A[c * 2 + 1] * z[1];
            diff += (f[c] - exact) * (f[c] - exact);
            norm += exact * exact;
            for (int j = 0; j < 2; j++)
                XtX[c * 2 + j] += z[c] * z[j], XtF[j * 2 + c] += z[j] * f[c];
        }
    }
    const double eps = sqrt(diff / norm);
    cr_log_info("from data: ε_f vs A z %.4f, raw held-out ε_f %.4f, noise floor %.4f", eps,
                report.drift_rel_err, report.data_noise_floor);
    cr_expect_lt(eps, 0.05, "learnt drift %.3f off the true A z (within 5 %%)", eps);
    /* the held-out increments' estimate of that error: at floor 0.99 it is noise (it read 0.7,
     * unflagged, for a drift 0.03 off); its 2σ bound must hold the true error, and a value
     * called resolved must lie within the bound */
    cr_log_info("from data: excess %.4f, bound %.4f, resolved %d", report.data_drift_excess,
                report.data_drift_excess_bound, report.data_drift_excess_resolved);
    cr_expect_geq(report.data_drift_excess_bound, eps, "2σ bound %.3f below the true error %.3f",
                  report.data_drift_excess_bound, eps);
    cr_expect(!report.data_drift_excess_resolved,
              "excess %.3f called resolved (bound %.3f) while the true error is %.3f",
              report.data_drift_excess, report.data_drift_excess_bound, eps);

    double D[4], J[4], Sigma[4];
    network_D(&model, D);
    const double D_err = hypot(hypot(D[0] - 0.5, D[3] - 0.5), hypot(D[1], D[2])) / (0.5 * sqrt(2));
    cr_expect_lt(D_err, 0.05, "learnt D (%.4f %.4f; %.4f %.4f) off ½I by %.3f", D[0], D[1], D[2],
                 D[3], D_err);
    /* J = (Σ z fᵀ)ᵀ (Σ z zᵀ)⁻¹, 2×2 */
    const double det = XtX[0] * XtX[3] - XtX[1] * XtX[2];
    const double inv[4] = {XtX[3] / det, -XtX[1] / det, -XtX[2] / det, XtX[0] / det};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            J[i * 2 + j] = XtF[0 * 2 + i] * inv[0 * 2 + j] + XtF[1 * 2 + i] * inv[1 * 2 + j];
    lyapunov(J, D, Sigma);
    const double S_err =
        hypot(hypot(Sigma[0] - 0.5, Sigma[3] - 0.5), hypot(Sigma[1], Sigma[2])) / (0.5 * sqrt(2));
    cr_expect_lt(S_err, 0.05, "stationary Σ of the network's linearisation off ½I by %.3f", S_err);
    /* Φ = tr(A_irrᵀ D⁻¹ A_irr Σ), A_irr = J + D Σ⁻¹ */
    const double dS = Sigma[0] * Sigma[3] - Sigma[1] * Sigma[2];
    const double Si[4] = {Sigma[3] / dS, -Sigma[1] / dS, -Sigma[2] / dS, Sigma[0] / dS};
    const double dD = D[0] * D[3] - D[1] * D[2];
    const double Di[4] = {D[3] / dD, -D[1] / dD, -D[2] / dD, D[0] / dD};
    double Airr[4], phi = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            Airr[i * 2 + j] = J[i * 2 + j] + D[i * 2] * Si[j] + D[i * 2 + 1] * Si[2 + j];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                for (int d = 0; d < 2; d++)
                    phi += Airr[a * 2 + b] * Di[a * 2 + c] * Airr[c * 2 + d] * Sigma[d * 2 + b];
    cr_log_info("from data: D err %.4f, Σ err %.4f, Φ %.4f (exact 8)", D_err, S_err, phi);
    cr_expect_lt(fabs(phi - 2 * OMEGA * OMEGA) / (2 * OMEGA * OMEGA), 0.10,
                 "Φ of the network's linearisation %.3f, exact %.3f", phi, 2 * OMEGA * OMEGA);
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
}

/* Measurement noise σ_obs = 0.05 biases the increments' covariance by 2σ_obs² = 0.005 against
 * 2DΔ = 0.01 (+50 % on D); data_noise = estimate removes it (lag-1 covariance of the residuals). */
Test(from_data, measurement_noise_correction, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_noise_%d.h5", (int)getpid());
    write_ou(path, 8, 10000, 0.05, 12);
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    double D[4];
    train_from(path, "data_noise = 0", &sys, &model, &report);
    network_D(&model, D);
    const double biased = (D[0] + D[3]) / 2;
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
    train_from(path, "data_noise = estimate", &sys, &model, &report);
    unlink(path);
    network_D(&model, D);
    const double corrected = (D[0] + D[3]) / 2;
    cr_log_info("D with noise: uncorrected %.4f, corrected %.4f (exact 0.5), σ_obs² %.5f %.5f",
                biased, corrected, report.data_noise_var[0], report.data_noise_var[1]);
    cr_expect_gt(biased, 0.65, "the uncorrected D (%.4f) shows the +50 %% bias", biased);
    cr_expect_lt(fabs(corrected - 0.5) / 0.5, 0.05, "corrected D %.4f, exact 0.5", corrected);
    cr_expect_lt(fabs(report.data_noise_var[0] - 0.0025) / 0.0025, 0.2, "σ_obs² %.5f, exact 0.0025",
                 report.data_noise_var[0]);
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
}

/* The linearisation J of the learnt drift (least squares over N(0, ½I)), 2×2 row-major. */
static void network_linearisation(const struct ddm_model *model, double *J) {
    double XtX[4] = {0}, XtF[4] = {0};
    for (int p = 0; p < 20000; p++) {
        double z[2] = {sqrt(0.5) * philox_gaussian(98, p, 0),
                       sqrt(0.5) * philox_gaussian(98, p, 1)};
        double f[2];
        model_latent_drift(model, z, f, NULL);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                XtX[i * 2 + j] += z[i] * z[j], XtF[j * 2 + i] += z[j] * f[i];
    }
    const double det = XtX[0] * XtX[3] - XtX[1] * XtX[2];
    const double inv[4] = {XtX[3] / det, -XtX[1] / det, -XtX[2] / det, XtX[0] / det};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            J[i * 2 + j] = XtF[0 * 2 + i] * inv[0 * 2 + j] + XtF[1 * 2 + i] * inv[1 * 2 + j];
}

/* The increments' covariance given z is 2DΔ + Δ²(J D + D Jᵀ): for the rotating OU (J + Jᵀ = −2I)
 * C₀/(2Δ) = D(1 − Δ), −3 % at Δ = 0.03 (exact: D(1 − e^{−2Δ})/(2Δ) = 0.4853). D̂ takes the term
 * off with the learnt drift's mean Jacobian; what is left is O(Δ²) (+0.06 %) and the sampling
 * error √(2/M) ≈ 0.4 % of 80 000 increments per coordinate. */
Test(from_data, diffusion_order_delta_term, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_jd_%d.h5", (int)getpid());
    write_ou_every(path, 20, 5000, 0.03, 0, 17);
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    train_from(path, "", &sys, &model, &report);
    unlink(path);
    for (int c = 0; c < 2; c++) {
        const double rel = report.data_D[c * 3] / 0.5 - 1;
        cr_log_info("from data, Δ = 0.03: D̂_%d%d %.4f (exact 0.5), relative %.4f", c, c,
                    report.data_D[c * 3], rel);
        cr_expect_lt(fabs(rel), 0.012, "D̂_%d%d %.4f off the exact 0.5 by %.4f", c, c,
                     report.data_D[c * 3], rel);
    }
    cr_expect_lt(fabs(report.data_D[1]) / 0.5, 0.012, "D̂_01 %.4f, exact 0", report.data_D[1]);
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
}

/* data_noise = estimate on data without measurement noise: R̂ = −sym⟨r_t r_{t+1}ᵀ⟩ is sampling
 * noise about 0, and about half the time negative; a variance is reported (and corrected for) as
 * its positive semi-definite part, never below 0 (it printed σ_obs² = −7.5·10⁻¹⁰). */
Test(from_data, noise_estimate_without_noise_is_not_negative, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_nonoise_%d.h5", (int)getpid());
    write_ou(path, 6, 4000, 0, 5);
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    train_from(path, "data_noise = estimate", &sys, &model, &report);
    unlink(path);
    for (int c = 0; c < 2; c++) {
        cr_log_info("no noise, estimate: σ_obs² %.3g, D̂_%d%d %.4f (exact 0.5)",
                    report.data_noise_var[c], c, c, report.data_D[c * 3]);
        cr_expect_geq(report.data_noise_var[c], 0, "σ_obs² %.3g < 0", report.data_noise_var[c]);
        cr_expect_lt(fabs(report.data_D[c * 3] / 0.5 - 1), 0.03, "D̂_%d%d %.4f, exact 0.5", c, c,
                     report.data_D[c * 3]);
    }
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
}

/* The drift bias of measurement noise η (variance R = σ_obs² I, σ_obs = 0.05) and its correction.
 * A target Σ a_j y(t+jΔ)/Δ holds a_0 η(t)/Δ, and E[η | y] = R Σ_y⁻¹ y (Σ_y = (½ + R) I), so the
 * uncorrected learnt drift is J = A(1 − ρ) + a_0 ρ/Δ I with ρ = R/(½ + R) = 0.004975: a decay of
 * −1.49 (first_order, a_0 = −1) or −1.74 (second_order, a_0 = −3/2) instead of −1. With
 * data_noise = estimate (R from lag-1 residuals, the score by score matching) the decay is
 * −(1 − ρ) = −0.995 and the rotation 2(1 − ρ). Sampling error of J's entries about 0.05. */
Test(from_data, measurement_noise_drift_bias, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_drift_%d.h5", (int)getpid());
    write_ou(path, 12, 20000, 0.05, 13);
    const double rho = 0.0025 / 0.5025;
    const char *settings[3] = {"data_noise = 0\ndata_drift = first_order",
                               "data_noise = 0\ndata_drift = second_order",
                               "data_noise = estimate\ndata_drift = second_order"};
    const char *label[3] = {"first_order, uncorrected", "second_order, uncorrected",
                            "second_order, data_noise = estimate"};
    const double decay[3] = {-(1 - rho) - rho / DT, -(1 - rho) - 1.5 * rho / DT, -(1 - rho)};
    for (int s = 0; s < 3; s++) {
        struct ddm_system sys;
        struct ddm_model model;
        struct ddm_train_report report;
        double J[4];
        train_from(path, settings[s], &sys, &model, &report);
        network_linearisation(&model, J);
        const double measured = (J[0] + J[3]) / 2, rotation = (J[2] - J[1]) / 2;
        cr_log_info("noise drift bias, %s: decay %.4f (formula %.4f), rotation %.4f (formula %.4f)",
                    label[s], measured, decay[s], rotation, OMEGA * (1 - rho));
        cr_expect_lt(fabs(measured - decay[s]), 0.1, "%s: decay %.4f, formula %.4f", label[s],
                     measured, decay[s]);
        cr_expect_lt(fabs(rotation - OMEGA * (1 - rho)), 0.1, "%s: rotation %.4f", label[s],
                     rotation);
        model_free(&model);
        train_report_free(&report);
        system_free(&sys);
    }
    unlink(path);
}

/* Few noisy increments ([train] samples = 2000, the README check's setting): at λ = 1e-8 the
 * readout weights reached 2·10³, cancelling on the points, and the learnt flow pointed outwards
 * beyond |z| ≈ 2 (3 data std), so every start escaped the trained region. The evidence-maximising
 * λ keeps the flow contracting everywhere, as the true z·Az = −|z|² is. */
Test(from_data, few_increments_give_a_contracting_flow, .timeout = 60) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_few_%d.h5", (int)getpid());
    write_ou(path, 20, 20000, 0, 14);
    snprintf(text, sizeof text,
             "[system]\nname = ou_data\nvars = x, y\ndata = %s\n"
             "[network]\nneurons = 16\ninit_gain = 0.25\ninit_bias = 2\n"
             "[train]\nsamples = 2000\nepochs = 0\nridge = 1e-8\n[run]\nbackend = cpu\n",
             path);
    struct ddm_config cfg;
    struct ddm_error err = {0};
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    config_from_text(&cfg, text);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    const struct ddm_backend *backend = backend_select(BACKEND_CPU, 0, 1, 1, &err);
    cr_assert_eq(train_model(backend, &sys, &cfg, &model, &report, 1, &err), 0, "%s", err.message);
    unlink(path);
    double outward = -INFINITY; /* beyond 2 data std, where a start must be drawn back */
    for (double radius = 1.4; radius <= 20; radius *= 1.25)
        for (int a = 0; a < 64; a++) {
            double z[2] = {radius * cos(a * M_PI / 32), radius * sin(a * M_PI / 32)}, f[2];
            model_latent_drift(&model, z, f, NULL);
            outward = fmax(outward, (z[0] * f[0] + z[1] * f[1]) / (radius * radius));
        }
    cr_log_info("few increments: ridge λ %.3g, largest z·f/|z|² %.3f (exact −1)", report.ridge_used,
                outward);
    cr_expect_gt(report.ridge_used, 1e-3, "λ %.3g: the noise needs a strong ridge",
                 report.ridge_used);
    cr_expect_lt(outward, 0, "the learnt flow points outwards somewhere (z·f/|z|² = %.3f)",
                 outward);
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
    config_free(&cfg);
}

/* The stencils' drift bias, exactly: for OU sampled every Δ, E[z(t+jΔ) | z] = e^{jAΔ} z, so the
 * first-order target has the matrix (e^{AΔ} − I)/Δ = A + ΔA²/2 + … and the second-order one
 * (−3I + 4e^{AΔ} − e^{2AΔ})/2Δ = A + O(Δ²). At Δ = 0.05 (e^{AΔ} = e^{−Δ} R(ωΔ)) the first is
 * 5.5 % off A and the second 0.4 %; the learnt linearisations must match each formula (sampling
 * error about 0.5 % of |A| with 12 × 20000 samples). */
Test(from_data, drift_stencil_bias, .timeout = 60) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/ddm_from_data_stencil_%d.h5", (int)getpid());
    const double dt = 0.05, A[4] = {-1, -OMEGA, OMEGA, -1};
    write_ou_every(path, 12, 20000, dt, 0, 15);
    double expected[2][4], propagator[2][4]; /* e^{jAΔ}, j = 1, 2 */
    for (int j = 0; j < 2; j++) {
        const double r = exp(-(j + 1) * dt), angle = OMEGA * (j + 1) * dt;
        const double P[4] = {r * cos(angle), -r * sin(angle), r * sin(angle), r * cos(angle)};
        for (int q = 0; q < 4; q++) propagator[j][q] = P[q];
    }
    for (int q = 0; q < 4; q++) {
        const double identity = q == 0 || q == 3;
        expected[0][q] = (propagator[0][q] - identity) / dt;
        expected[1][q] = (-3 * identity + 4 * propagator[0][q] - propagator[1][q]) / (2 * dt);
    }
    const char *settings[2] = {"data_drift = first_order", "data_drift = second_order"};
    for (int s = 0; s < 2; s++) {
        struct ddm_system sys;
        struct ddm_model model;
        struct ddm_train_report report;
        double J[4], off_formula = 0, off_A = 0;
        train_from(path, settings[s], &sys, &model, &report);
        network_linearisation(&model, J);
        for (int q = 0; q < 4; q++) {
            off_formula += pow(J[q] - expected[s][q], 2) / (2 * (1 + OMEGA * OMEGA));
            off_A += pow(J[q] - A[q], 2) / (2 * (1 + OMEGA * OMEGA));
        }
        cr_log_info("stencil bias, %s: ‖J − formula‖/‖A‖ %.4f, ‖J − A‖/‖A‖ %.4f", settings[s],
                    sqrt(off_formula), sqrt(off_A));
        cr_expect_lt(sqrt(off_formula), 0.015, "%s: J off its formula by %.4f", settings[s],
                     sqrt(off_formula));
        if (s == 0)
            cr_expect_gt(sqrt(off_A), 0.04, "first_order: J off A by only %.4f", sqrt(off_A));
        if (s == 1) cr_expect_lt(sqrt(off_A), 0.015, "second_order: J off A by %.4f", sqrt(off_A));
        model_free(&model);
        train_report_free(&report);
        system_free(&sys);
    }
    unlink(path);
}
