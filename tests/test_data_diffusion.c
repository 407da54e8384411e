/* test_data_diffusion.c — σ(z) learnt from recorded trajectories ([system] diffusion =
 * estimate_state, host/model/data_diffusion.c), against the exact D(z) of the process that made
 * the data.
 *
 * 1-D: dz = −z dt + sqrt(2 s (1 + z²)) dB, s = 1/4 (experiments/from_data_multiplicative.ini):
 * D(z) = s(1 + z²) varies threefold over the visited range, so a constant estimate misses it by
 * up to ~50 %. Expected error of the fit: the Kramers–Moyal O(Δ) bias
 * Δ(f' + f D'/(2D) + D''/2) ≈ −0.75 % … −1.75 % at Δ = 0.01, plus sampling noise ≈ 0.5 %.
 * k = 2: a diagonal σ_i(z) = a_i + b_i z_i², so D_ii is of degree 4 (the held-out choice must
 * find it), with a coupled drift.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/backend.h"
#include "ddm/data_diffusion.h"
#include "ddm/expr.h"
#include "ddm/h5io.h"
#include "ddm/model.h"
#include "ddm/polynomial.h"
#include "ddm/signals.h"
#include "ddm/train.h"
#include "test_util.h"

#define DELTA 0.01
#define FINE  10 /* Euler–Maruyama steps per sample */

struct process {
    int k;
    void (*drift)(const double *z, double *f);
    void (*jacobian)(const double *z, double *jac);
    void (*sigma)(const double *z, double *s); /* diagonal σ (k) */
};

static void drift_1d(const double *z, double *f) {
    f[0] = -z[0];
}
static void jacobian_1d(const double *z, double *jac) {
    (void)z, jac[0] = -1;
}
static void sigma_1d(const double *z, double *s) {
    s[0] = sqrt(0.5 * (1 + z[0] * z[0]));
}
static void drift_2d(const double *z, double *f) {
    f[0] = -z[0] - 0.3 * z[0] * z[0] * z[0] + 0.5 * z[1];
    f[1] = -z[1] - 0.3 * z[1] * z[1] * z[1] - 0.5 * z[0];
}
static void jacobian_2d(const double *z, double *jac) {
    jac[0] = -1 - 0.9 * z[0] * z[0], jac[1] = 0.5, jac[2] = -0.5, jac[3] = -1 - 0.9 * z[1] * z[1];
}
static const double a2[2] = {0.5, 0.4}, b2[2] = {0.5, 0.4};
static void sigma_2d(const double *z, double *s) {
    for (int c = 0; c < 2; c++) s[c] = a2[c] + b2[c] * z[c] * z[c];
}

static void process_drift(const void *ctx, const double *z, double *f, double *jac) {
    ((const struct process *)ctx)->drift(z, f);
    if (jac) ((const struct process *)ctx)->jacobian(z, jac);
}

/* B trajectories of T samples every fine·DELTA/FINE (Euler–Maruyama at DELTA/FINE), after a
 * burn-in of 5 time units, observed with white noise of std `noise`. */
static void simulate_every(const struct process *p, int B, long T, double noise, uint64_t seed,
                           int fine, struct recording *r) {
    const int k = p->k;
    const double h = DELTA / FINE;
    r->k = k, r->trajectories = B, r->dt = h * fine;
    r->offset = malloc(sizeof(long) * (B + 1));
    r->z = malloc(sizeof(double) * B * T * k);
    for (int b = 0; b <= B; b++) r->offset[b] = b * T;
    for (int b = 0; b < B; b++) {
        double z[2] = {0, 0}, f[2], s[2];
        uint64_t draw = 0;
        const long burn = (long)(5 / h);
        for (long step = 0; step < burn + T * fine; step++) {
            if (step >= burn && (step - burn) % fine == 0)
                for (int c = 0; c < k; c++)
                    r->z[((long)b * T + (step - burn) / fine) * k + c] =
                        z[c] + noise * philox_gaussian(seed + 1, b, draw++);
            p->drift(z, f);
            p->sigma(z, s);
            for (int c = 0; c < k; c++)
                z[c] += f[c] * h + s[c] * sqrt(h) * philox_gaussian(seed, b, draw++);
        }
    }
}

static void simulate(const struct process *p, int B, long T, double noise, uint64_t seed,
                     struct recording *r) {
    simulate_every(p, B, T, noise, seed, FINE, r);
}

/* Largest |D̂_ii(z) − D_ii(z)| / D_ii(z) on a grid of ±range per axis (D = σσᵀ/2 from the fit's
 * σ̂), for k = 2 within the ellipse Σ(z_c/range)² ≤ 1 (the box's corners are not visited); and the
 * largest |D̂_12| / sqrt(D_11 D_22) when k = 2. */
static double worst_error(const struct diffusion_fit *fit, const struct process *p, double range,
                          double *off_diagonal) {
    double worst = 0;
    *off_diagonal = 0;
    const int grid = p->k == 1 ? 61 : 21;
    for (int i = 0; i < grid; i++)
        for (int j = 0; j < (p->k == 1 ? 1 : grid); j++) {
            double z[2] = {-range + 2 * range * i / (grid - 1),
                           -range + 2 * range * j / (grid - 1)};
            if (p->k == 2 && z[0] * z[0] + z[1] * z[1] > range * range * (1 + 1e-9)) continue;
            double sigma[4], s[2];
            diffusion_fit_sigma(fit, z, sigma);
            p->sigma(z, s);
            const int k = p->k;
            for (int c = 0; c < k; c++) {
                double D_hat = 0;
                for (int l = 0; l < k; l++) D_hat += 0.5 * sigma[c * k + l] * sigma[c * k + l];
                worst = fmax(worst, fabs(D_hat / (0.5 * s[c] * s[c]) - 1));
            }
            if (k == 2)
                *off_diagonal =
                    fmax(*off_diagonal, fabs(0.5 * sigma[2] * sigma[0]) / (0.5 * s[0] * s[1]));
        }
    return worst;
}

static void split_in_two(const struct recording *all, struct recording *fit,
                         struct recording *held) {
    struct ddm_error err = {0};
    cr_assert_eq(recording_split(all, 0.2, fit, held, &err), 0, "%s", err.message);
}

Test(data_diffusion, one_dimensional_D_of_z_within_a_few_percent, .timeout = 30) {
    const struct process p = {1, drift_1d, jacobian_1d, sigma_1d};
    struct recording all, fit, held;
    simulate(&p, 40, 5000, 0, 3, &all);
    split_in_two(&all, &fit, &held);
    struct diffusion_fit out = {0};
    struct ddm_error err = {0};
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, 0, &out, &err), 0, "%s",
                 err.message);
    double off, worst = worst_error(&out, &p, 1.5, &off); /* ±2.6 std: 98 % of the data */
    cr_log_info("1-D: degree %d, held-out scores %.4f %.4f %.4f; max |D̂/D − 1| on [−1.5, 1.5] "
                "%.4f; floored %.3g",
                out.degree, out.heldout_score[0], out.heldout_score[1], out.heldout_score[2], worst,
                out.floored_share);
    cr_expect_geq(out.degree, 2, "D(z) = s(1 + z²) needs degree 2, chose %d", out.degree);
    cr_expect_lt(worst, 0.04, "D(z) off by %.3f", worst);
    cr_expect_lt(out.heldout_score[2], 0.99, "the quadratic fits the held-out data better");
    cr_expect_eq(out.floored_share, 0);

    /* the text in the file is the function: compiled by the expression language, it agrees */
    char text[4096];
    const char names[1][32] = {"z"};
    diffusion_fit_text(&out, names, text, sizeof text);
    const char *sources[1] = {text}, *vars[1] = {"z"};
    struct expr_symbols symbols = {.nvars = 1, .vars = vars};
    struct expr_error expr_err = {0};
    struct expr_program *program = expr_compile(sources, 1, &symbols, &expr_err);
    cr_assert_not_null(program, "%s: %s", text, expr_err.message);
    for (double z = -2; z <= 2; z += 0.5) {
        double from_text, from_fit;
        expr_eval(program, &z, &from_text);
        diffusion_fit_two_D(&out, &z, &from_fit);
        cr_expect_float_eq(from_text, from_fit, 1e-5 * from_fit, "at z = %g: %s", z, text);
    }
    expr_free(program);
    recording_free(&all), recording_free(&fit), recording_free(&held);
}

/* Δ = 0.05: the Kramers–Moyal O(Δ) term Δ(f′ + f D′/(2D) + D″/2) is −3.75 % at z = 0 and −6.25 %
 * at |z| = 1 (−8.75 % far out); with it taken off, what is left is O(Δ²) and noise. */
Test(data_diffusion, coarse_sampling_bias_corrected, .timeout = 30) {
    const struct process p = {1, drift_1d, jacobian_1d, sigma_1d};
    struct recording all, fit, held;
    simulate_every(&p, 40, 2000, 0, 17, 50, &all);
    split_in_two(&all, &fit, &held);
    struct diffusion_fit out = {0};
    struct ddm_error err = {0};
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, 0, &out, &err), 0, "%s",
                 err.message);
    double off, worst = worst_error(&out, &p, 1.5, &off), at_zero = 0, two_D;
    diffusion_fit_two_D(&out, &at_zero, &two_D);
    cr_log_info("Δ = 0.05: degree %d; max |D̂/D − 1| on [−1.5, 1.5] %.4f; 2D̂(0) = %.4f (exact 0.5)",
                out.degree, worst, two_D);
    cr_expect_lt(worst, 0.03, "D(z) off by %.3f", worst);
    cr_expect_float_eq(two_D, 0.5, 0.01);
    recording_free(&all), recording_free(&fit), recording_free(&held);
}

Test(data_diffusion, measurement_noise_corrected, .timeout = 30) {
    const struct process p = {1, drift_1d, jacobian_1d, sigma_1d};
    struct recording all, fit, held;
    simulate(&p, 40, 5000, 0.02, 5, &all); /* 2σ_obs²/Δ = 0.08: 8 to 16 % of 2D */
    split_in_two(&all, &fit, &held);
    struct diffusion_fit plain = {0}, corrected = {0};
    struct ddm_error err = {0};
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, 0, &plain, &err), 0);
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, -1, &corrected, &err), 0);
    double off, worst_plain = worst_error(&plain, &p, 1.5, &off),
                worst_corrected = worst_error(&corrected, &p, 1.5, &off);
    cr_log_info("noise: σ_obs² estimated %.3g (exact 4e-4); max |D̂/D − 1| uncorrected %.4f, "
                "corrected %.4f",
                corrected.noise_var[0], worst_plain, worst_corrected);
    cr_expect_gt(worst_plain, 0.06);
    cr_expect_lt(worst_corrected, 0.05);
    cr_expect_float_eq(corrected.noise_var[0], 4e-4, 1e-4);
    recording_free(&all), recording_free(&fit), recording_free(&held);
}

static void drift_linear(const double *z, double *f) {
    f[0] = -z[0], f[1] = -z[1];
}
static void jacobian_linear(const double *z, double *jac) {
    (void)z, jac[0] = jac[3] = -1, jac[1] = jac[2] = 0;
}
static void sigma_anisotropic(const double *z, double *s) {
    (void)z, s[0] = 1, s[1] = 1000;
}

/* Coordinates of scales 1 : 1000 (2D = diag(1, 10⁶), constant): the eigenvalue floor of 2D̂ was
 * 10⁻³ of its mean trace, 500, so the small coordinate's 2D̂_xx = 1 was raised to 500 at every
 * point (σ̂_x 22 times too large). The floor acts in u = (z − μ)/s now. */
Test(data_diffusion, anisotropic_scales_are_not_floored, .timeout = 30) {
    const struct process p = {2, drift_linear, jacobian_linear, sigma_anisotropic};
    struct recording all, fit, held;
    simulate(&p, 8, 2000, 0, 21, &all);
    split_in_two(&all, &fit, &held);
    struct diffusion_fit out = {0};
    struct ddm_error err = {0};
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, 0, &out, &err), 0, "%s",
                 err.message);
    double origin[2] = {0, 0}, sigma[4];
    diffusion_fit_sigma(&out, origin, sigma);
    const double two_D[2] = {sigma[0] * sigma[0], sigma[2] * sigma[2] + sigma[3] * sigma[3]};
    cr_log_info("anisotropic: floored share %.3f, 2D̂ at 0: %.4g %.4g (exact 1, 1e6)",
                out.floored_share, two_D[0], two_D[1]);
    cr_expect_eq(out.floored_share, 0, "the floor was used at %.3f of the points",
                 out.floored_share);
    cr_expect_lt(fabs(two_D[0] - 1), 0.05, "2D̂_xx %.4g, exact 1", two_D[0]);
    cr_expect_lt(fabs(two_D[1] / 1e6 - 1), 0.05, "2D̂_yy %.4g, exact 1e6", two_D[1]);
    recording_free(&all), recording_free(&fit), recording_free(&held);
}

Test(data_diffusion, two_dimensional_diagonal_sigma_of_degree_four, .timeout = 30) {
    const struct process p = {2, drift_2d, jacobian_2d, sigma_2d};
    struct recording all, fit, held;
    simulate(&p, 40, 5000, 0, 7, &all);
    split_in_two(&all, &fit, &held);
    struct diffusion_fit out = {0};
    struct ddm_error err = {0};
    cr_assert_eq(diffusion_fit_state(&fit, &held, process_drift, &p, 0, &out, &err), 0, "%s",
                 err.message);
    double off, worst = worst_error(&out, &p, 0.7, &off); /* |z| ≤ 0.7: about 2 std (0.37, 0.30) */
    cr_log_info("k = 2: degree %d (scores %.4f %.4f %.4f %.4f %.4f); max |D̂_ii/D_ii − 1| on "
                "|z| ≤ 0.7 %.4f, max |D̂_12|/√(D_11 D_22) %.4f",
                out.degree, out.heldout_score[0], out.heldout_score[1], out.heldout_score[2],
                out.heldout_score[3], out.heldout_score[4], worst, off);
    cr_expect_eq(out.degree, 4, "D_ii = (a + b z²)²/2 is of degree 4, chose %d", out.degree);
    /* sampling noise of 15 × 3 coefficients from 1.6·10⁵ increments, plus the O(Δ) bias */
    cr_expect_lt(worst, 0.07, "D(z) off by %.3f", worst);
    cr_expect_lt(off, 0.05);
    recording_free(&all), recording_free(&fit), recording_free(&held);
}

static void write_h5(const char *path, const struct recording *r, long T) {
    hsize_t dims[3] = {(hsize_t)r->trajectories, (hsize_t)T, (hsize_t)r->k};
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t set = H5Dcreate2(file, "trajectories", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->z);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(set, "dt", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_DOUBLE, &r->dt);
    H5Aclose(attr), H5Sclose(scalar), H5Dclose(set), H5Sclose(space), H5Fclose(file);
}

/* Through the training: the drift is the network's, σ̂(z) is fitted from its residuals, the
 * diffusion readout σ_RNN(z) learns σ̂, and once the network is in use the system's σ is σ_RNN
 * (what --model and --resume read back). */
Test(data_diffusion, trained_network_carries_the_learnt_sigma, .timeout = 30) {
    const struct process p = {1, drift_1d, jacobian_1d, sigma_1d};
    struct recording all;
    simulate(&p, 40, 5000, 0, 9, &all);
    char path[64], text[1024];
    snprintf(path, sizeof path, "/tmp/ddm_data_diffusion_%d.h5", (int)getpid());
    write_h5(path, &all, 5000);
    recording_free(&all);
    snprintf(text, sizeof text,
             "[system]\nname = mult\nvars = z\ndata = %s\ndiffusion = estimate_state\n"
             "[network]\nneurons = 16\ninit_gain = 0.25\ninit_bias = 1\n"
             "[train]\nsamples = 200000\nepochs = 0\nridge = 1e-8\n[run]\nbackend = cpu\n",
             path);
    struct ddm_config cfg;
    struct ddm_error err = {0};
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report report;
    config_from_text(&cfg, text);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert(!sys.diffusion_constant);
    const struct ddm_backend *backend = backend_select(BACKEND_CPU, 0, 1, 1, &err);
    cr_assert_not_null(backend, "%s", err.message);
    cr_assert_eq(train_model(backend, &sys, &cfg, &model, &report, 1, &err), 0, "%s", err.message);
    unlink(path);
    cr_assert_not_null(report.data_diffusion_fit);
    cr_assert_not_null(model.V, "a state-dependent diffusion readout");
    double worst_fit = 0, worst_network = 0;
    for (double z = -1.2; z <= 1.2; z += 0.1) {
        double exact, fitted, network;
        sigma_1d(&z, &exact);
        diffusion_fit_sigma(report.data_diffusion_fit, &z, &fitted);
        model_latent_diffusion(&model, &z, &network);
        worst_fit = fmax(worst_fit, fabs(fitted * fitted / (exact * exact) - 1));
        worst_network = fmax(worst_network, fabs(network * network / (exact * exact) - 1));
    }
    cr_log_info("trained: D̂ of the fit off by ≤ %.4f, the network's σ_RNN²/2 by ≤ %.4f on ±1.2 "
                "(ε_σ %.2e); %s",
                worst_fit, worst_network, report.diffusion_rel_err,
                report.data_diffusion_fit->text);
    cr_expect_lt(worst_fit, 0.05);
    cr_expect_lt(worst_network, 0.05);
    system_use_model(&sys, &model);
    double z = 0.7, from_system, from_network;
    system_diffusion(&sys, &z, &from_system);
    model_latent_diffusion(&model, &z, &from_network);
    cr_expect_eq(from_system, from_network, "after training σ is the network's own");
    model_free(&model);
    train_report_free(&report);
    system_free(&sys);
    config_free(&cfg);
}

/* A run with estimate_state stopped at every check and resumed equals the straight run: the
 * target's σ after training is the network's σ_RNN, which the file holds (the fitted polynomial is
 * not needed to go on), and the fit is recorded under /train. */
Test(data_diffusion, run_stops_and_resumes_bit_for_bit, .timeout = 60) {
    make_test_dir("data_diffusion_run");
    const struct process p = {1, drift_1d, jacobian_1d, sigma_1d};
    struct recording all;
    simulate(&p, 2, 3000, 0, 13, &all);
    char *csv = malloc(1 << 20), ini[1024];
    size_t used = (size_t)sprintf(csv, "z\n");
    for (int b = 0; b < 2; b++) {
        for (long t = 0; t < 3000; t++)
            used += (size_t)sprintf(csv + used, "%.9g\n", all.z[b * 3000 + t]);
        used += (size_t)sprintf(csv + used, "nan\n");
    }
    write_text("m.csv", csv);
    free(csv);
    recording_free(&all);
    snprintf(ini, sizeof ini,
             "[system]\nname = mult\nvars = z\ndata = %s\ndata_dt = 0.01\n"
             "diffusion = estimate_state\n"
             "[network]\nneurons = 8\nseed = 5\ninit_gain = 0.25\ninit_bias = 1\n"
             "[train]\nsamples = 4000\nepochs = 3\n"
             "[simulate]\ntrajectories = 4\nsteps = 40\nrecord_every = 2\nburn_in = 10001\n"
             "[analysis]\npca = 0\nlyapunov_steps = 100\nhhd_grid = 8\ndecomposition_grid = 5\n"
             "fixed_point_seeds = 8\n[run]\nthreads = 1\n",
             in_dir("m.csv"));
    write_text("d.ini", ini);
    const char *same[] = {"/model/V", "/model/c", "/simulate/latent", "/simulate/target_latent",
                          "/analysis/lyapunov/rnn"};
    assert_resumed_run_equals_straight("@d.ini --stages train,simulate,analyze", same, 5);
    hid_t file = open_file("stopped.h5"), train = H5Gopen2(file, "train", H5P_DEFAULT);
    struct ddm_error err;
    char text[4096];
    double degree;
    cr_assert_eq(h5_read_attr_string(train, "data_diffusion_two_D", text, sizeof text, &err), 0,
                 "%s", err.message);
    cr_assert_eq(h5_read_attr_double(train, "data_diffusion_degree", &degree, &err), 0);
    cr_log_info("resumed run: degree %g, 2D(z) = %s", degree, text);
    cr_expect(strstr(text, "*((z ") != NULL, "%s", text);
    H5Gclose(train), H5Fclose(file);
}

/* The shared polynomial basis: C(k + d, d) distinct monomials, graded (count_upto), and −1 past
 * the capacity. */
Test(data_diffusion, monomials_are_graded_distinct_and_complete) {
    static int e[495][DDM_MAX_K];
    for (int k = 1; k <= DDM_MAX_K; k++)
        for (int d = 0; d <= 4; d++) {
            int upto[5], expect = 1;
            for (int j = 1; j <= d; j++) expect = expect * (k + j) / j; /* C(k + d, d) */
            const int count = monomials_graded(k, d, e, 495, upto);
            cr_assert_eq(count, expect, "k %d, degree %d: %d monomials", k, d, count);
            cr_assert_eq(upto[d], count);
            for (int a = 0; a < count; a++) {
                int total = 0;
                for (int c = 0; c < k; c++) total += e[a][c];
                cr_assert(total <= d && (a < upto[0] ? total == 0 : total > 0));
                for (int t = 1; t <= d; t++) /* graded: the first upto[t] have degree ≤ t */
                    cr_assert((a < upto[t]) == (total <= t));
                for (int b = 0; b < a; b++)
                    cr_assert(memcmp(e[a], e[b], sizeof(int) * k) != 0, "repeated monomial");
            }
        }
    cr_assert_eq(monomials_graded(8, 4, e, 494, NULL), -1);
}
