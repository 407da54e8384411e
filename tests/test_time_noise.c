/* test_time_noise.c — the time t in [system] diffusion: σ(z, t) = σ(z) + s(t), entry by entry;
 * s(t) adds to the noise of target and network at the time of each step. A periodically modulated
 * OU process, dz = −z dt + σ₀(1 + a sin ωt) dB, has the variance of its Euler–Maruyama steps
 * exactly (v ← (1 − Δt)² v + σ(tₙ)² Δt): the ensemble variance of target and network at each phase
 * must match it within its Monte Carlo error; a stopped and resumed run continues the time.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_util.h"
#include "ddm/backend.h"
#include "ddm/h5io.h"
#include "ddm/signals.h"
#include "ddm/system.h"
#include "test_util.h"

Test(time_noise, the_terms_with_t_form_the_time_part_of_the_diffusion) {
    struct ddm_system sys;
    struct ddm_error err = {0};
    /* a diagonal σ: a state-dependent part, a part of t, both */
    int code =
        system_from_text(&sys,
                         "[system]\nvars = x, y\nparams = w=2\ndefine = M = 1 + 0.5*sin(w*t)\n"
                         "drift = -x; -y\ndiffusion = 0.2 + 0.1*x^2; 0.3*M - 0.05*cos(t)^2\n",
                         &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert(sys.diffusion_time);
    cr_assert(!sys.diffusion_constant, "0.1*x^2 depends on x");
    for (int i = 0; i < 20; i++) {
        double z[2] = {-1.3 + 0.17 * i, 0.9 - 0.11 * i}, t = 0.37 * i - 2, sigma[4], s_t[4];
        system_diffusion(&sys, z, sigma);
        system_diffusion_time(&sys, t, s_t);
        cr_assert_float_eq(sigma[0], 0.2 + 0.1 * z[0] * z[0], 1e-14);
        cr_assert_float_eq(sigma[3], 0, 0);
        cr_assert_float_eq(s_t[0], 0, 0);
        cr_assert_float_eq(s_t[3], 0.3 * (1 + 0.5 * sin(2 * t)) - 0.05 * cos(t) * cos(t), 1e-14);
        cr_assert_float_eq(s_t[1] + s_t[2] + sigma[1] + sigma[2], 0, 0);
    }
    system_free(&sys);

    /* a matrix with t in one entry, a constant σ(z) */
    code = system_from_text(&sys,
                            "[system]\nvars = x, y\ndrift = -x; -y\n"
                            "diffusion_matrix = 0.4, 0.1*sin(t); 0, 0.2\n",
                            &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert(sys.diffusion_constant && sys.diffusion_time && sys.m == 2);
    double s_t[4], origin[2] = {0, 0}, sigma[4];
    system_diffusion_time(&sys, 0.7, s_t);
    system_diffusion(&sys, origin, sigma);
    cr_assert_float_eq(s_t[1], 0.1 * sin(0.7), 1e-15);
    cr_assert_float_eq(sigma[0], 0.4, 0);
    cr_assert_float_eq(sigma[1], 0, 0);
    system_free(&sys);

    code = system_from_text(&sys, "[system]\nname = ou\ndiffusion = 0.2; 0.1*cos(t)\n",
                            &err); /* built-in */
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert(sys.diffusion_time && !sys.forcing);
    system_diffusion_time(&sys, 0.7, s_t);
    cr_assert_float_eq(s_t[3], 0.1 * cos(0.7), 1e-15);
    cr_assert_float_eq(s_t[0], 0, 0);
    system_free(&sys);

    code = system_from_text(&sys, "[system]\nvars = x\ndrift = -x\ndiffusion = 0.1*x\n", &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert_null(sys.diffusion_time, "no t: no time part");
    system_free(&sys);
}

Test(time_noise, t_times_a_variable_in_the_diffusion_is_refused) {
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(
        system_from_text(&sys, "[system]\nvars = x\ndrift = -x\ndiffusion = 0.1 + 0.2*x*cos(t)\n",
                         &err),
        DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "t.ini:4: [system] diffusion: '0.1 + 0.2*x*cos(t)', term '0.2*x*cos(t)' "
                     "depends on both t and the variables; the network carries a noise σ(z) + "
                     "s(t) (write each entry as a sum of terms of z alone and of t alone)");
    system_free(&sys);
}

/* The run of the modulated OU process: σ(t) = s0 (1 + a sin ωt), period 2, 8 records a period. */
static const char *modulated_ou =
    "[system]\nname = modulated_ou\nvars = z\nparams = s0=0.5, a=0.8, w=3.141592653589793\n"
    "drift = -z\ndiffusion = s0*(1 + a*sin(w*t))\n"
    "[network]\nneurons = 32\nseed = 4\n[train]\nsamples = 2000\nepochs = 0\n"
    "[simulate]\ntrajectories = 1000\ndt = 0.01\nburn_in = 500\nsteps = 800\nrecord_every = 25\n"
    "start = 0\n";
enum { BURN_IN = 500, EVERY = 25, RECORDS = 33, B = 1000, PHASES = 8 };

/* The exact variance of the Euler–Maruyama steps from z = 0 at the first step (t = −5), at each
 * record: v ← (1 − Δt)² v + σ(tₙ)² Δt with tₙ the time of step n. */
static void exact_variance(double *v_record) {
    const double dt = 0.01, s0 = 0.5, a = 0.8, w = M_PI;
    double v = 0;
    for (int n = 0; n < BURN_IN + (RECORDS - 1) * EVERY; n++) {
        if (n >= BURN_IN && (n - BURN_IN) % EVERY == 0) v_record[(n - BURN_IN) / EVERY] = v;
        double sigma = s0 * (1 + a * sin(w * (n - BURN_IN) * dt));
        v = (1 - dt) * (1 - dt) * v + sigma * sigma * dt;
    }
    v_record[RECORDS - 1] = v;
}

static void read_latent(const char *file, const char *dataset, float *out) {
    hid_t f = open_file(file), ds = H5Dopen2(f, dataset, H5P_DEFAULT);
    cr_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(ds), H5Fclose(f);
}

/* The ensemble's ⟨z²⟩ at each phase (records p, p + 8, … of four periods, pooled) against the
 * exact variance: each within 4.5 Monte Carlo standard errors √(2/N) v (N = 4B, the periods
 * nearly independent: the correlation of z² over a period is e⁻⁴). Returns the worst ratio of
 * |error| to that error bar, and the measured variances. */
static double phase_check(const float *latent, const double *exact, double *measured) {
    double worst = 0;
    for (int p = 0; p < PHASES; p++) {
        double sum = 0, want = 0;
        for (int q = 0; q < 4; q++) {
            const int r = p + PHASES * q;
            for (int j = 0; j < B; j++)
                sum += (double)latent[j * RECORDS + r] * latent[j * RECORDS + r];
            want += exact[r] / 4;
        }
        measured[p] = sum / (4.0 * B);
        double bar = sqrt(2.0 / (4.0 * B)) * want;
        worst = fmax(worst, fabs(measured[p] - want) / bar);
    }
    return worst;
}

Test(time_noise, the_ensemble_variance_follows_the_exact_periodic_state, .timeout = 60) {
    make_test_dir("time_noise");
    write_text("m.ini", modulated_ou);
    cr_assert_eq(run_ddm("@m.ini --output @m.h5 --stages train,simulate"), 0, "%s",
                 run_err.message);
    static float latent[B * RECORDS], target[B * RECORDS];
    read_latent("m.h5", "/simulate/latent", latent);
    read_latent("m.h5", "/simulate/target_latent", target);
    double exact[RECORDS], net[PHASES], tgt[PHASES];
    exact_variance(exact);
    const double worst_target = phase_check(target, exact, tgt);
    const double worst_network = phase_check(latent, exact, net);
    double lo = INFINITY, hi = 0;
    for (int p = 0; p < PHASES; p++) {
        lo = fmin(lo, exact[p]), hi = fmax(hi, exact[p]);
        cr_log_info("phase %d: exact %.4f target %.4f network %.4f", p, exact[p], tgt[p], net[p]);
    }
    /* a σ without t (s0 throughout) would hold v at s0²/2 = 0.125 while the exact swings from
     * 0.070 to 0.283, tens of error bars away at both ends */
    cr_assert_gt(hi / lo, 3.5, "the exact variance swings (%g to %g)", lo, hi);
    cr_assert_lt(worst_target, 4.5, "target variance off by %.2f error bars", worst_target);
    cr_assert_lt(worst_network, 4.5, "network variance off by %.2f error bars", worst_network);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", test_dir);
    cr_assert_eq(system(cmd), 0);
}

/* B·k = 1024: blocks of 1024 recorded times (two), after a burn-in of one chunk. */
static const char *resumed_ou =
    "[system]\nname = modulated_ou\nvars = z\nparams = s0=0.5, a=0.8, w=3.141592653589793\n"
    "drift = -z\ndiffusion = s0*(1 + a*sin(w*t))\n"
    "[network]\nneurons = 12\nseed = 4\n[train]\nsamples = 300\nepochs = 0\npaths = 2\n"
    "path_time = 5\npath_burn_in = 1\n"
    "[simulate]\ntrajectories = 1024\ndt = 0.01\nburn_in = 10\nsteps = 1100\nrecord_every = 1\n"
    "start = 0.1\n"
    "[analysis]\npca = 0\nlyapunov_steps = 100\ndecomposition_grid = 5\nfixed_point_seeds = 4\n";

static float *read_all(const char *file, const char *dataset, hsize_t *count) {
    hid_t f = open_file(file), ds = H5Dopen2(f, dataset, H5P_DEFAULT), space = H5Dget_space(ds);
    *count = (hsize_t)H5Sget_simple_extent_npoints(space);
    float *out = malloc(sizeof(float) * *count);
    cr_assert(out && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Sclose(space), H5Dclose(ds), H5Fclose(f);
    return out;
}

/* A run stopped after the burn-in and the first recorded block and resumed each time writes the
 * bits of the run straight through (the time of each step, so s(t), goes on from the checkpoint's
 * step); the second shard writes the whole run's second half; the analysis says why it has no
 * density. */
Test(time_noise, resumed_runs_and_shards_continue_the_time, .timeout = 60) {
    make_test_dir("time_noise_resume");
    write_text("r.ini", resumed_ou);
    cr_assert_eq(run_ddm("@r.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    cr_assert_eq(run_ddm("@r.ini --stages simulate --model @model.h5 --output @straight.h5"), 0,
                 "%s", run_err.message);
    stop_request(SIGTERM);
    int code = run_ddm("@r.ini --stages simulate --model @model.h5 --output @stopped.h5"),
        stops = 0;
    while (code == DDM_EINTERRUPTED && stops < 10) {
        stops++;
        stop_request(SIGTERM);
        code = run_ddm("--resume @stopped.h5");
    }
    cr_assert_eq(code, 0, "%s", run_err.message);
    cr_assert_eq(stops, 2, "after the burn-in and block 1 (got %d stops)", stops);
    assert_same_dataset("straight.h5", "stopped.h5", "/simulate/latent");
    assert_same_dataset("straight.h5", "stopped.h5", "/simulate/target_latent");

    cr_assert_eq(run_ddm("@r.ini --shard 1/2 --model @model.h5 --output @half.h5 "
                         "--stages simulate"),
                 0, "%s", run_err.message);
    hsize_t whole_count, half_count;
    float *whole = read_all("straight.h5", "/simulate/target_latent", &whole_count);
    float *half = read_all("half.h5", "/simulate/target_latent", &half_count);
    cr_assert_eq(half_count * 2, whole_count);
    cr_assert(!memcmp(half, whole + half_count, sizeof(float) * half_count),
              "shard 1/2 holds the whole run's trajectories 512..1023");
    free(whole), free(half);

    cr_assert_eq(run_ddm("@r.ini --stages analyze --model @straight.h5"), 0, "%s", run_err.message);
    hid_t f = open_file("straight.h5"), group = H5Gopen2(f, "/analysis", H5P_DEFAULT);
    char notes[2048];
    struct ddm_error err;
    cr_assert_eq(h5_read_attr_string(group, "notes", notes, sizeof notes, &err), 0);
    H5Gclose(group), H5Fclose(f);
    cr_assert(strstr(notes, "the noise changes in time (the diffusion uses t): no density"), "%s",
              notes);
    cr_assert(H5Lexists(open_file("straight.h5"), "/analysis/hhd", H5P_DEFAULT) <= 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", test_dir);
    cr_assert_eq(system(cmd), 0);
}

Test(time_noise, the_cuda_simulation_refuses_a_noise_of_t) {
    make_test_dir("time_noise_cuda");
    write_text("r.ini", resumed_ou);
    cr_assert_eq(run_ddm("@r.ini --backend cuda --output @c.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message,
                     "--set run.backend = cuda: the diffusion uses t, which only the CPU "
                     "simulation takes (the CUDA kernel keeps Ŝ fixed over a block); set "
                     "backend = cpu");
    write_text("c.ini", "[system]\nvars = x\ndrift = -x\ndiffusion = 0.1*cos(t)\n"
                        "[run]\nbackend = cuda\n");
    cr_assert_eq(run_ddm("@c.ini --output @c.h5"), DDM_EUSAGE);
    cr_assert(strstr(run_err.message, "c.ini:6: [run] backend = cuda: the diffusion uses t"), "%s",
              run_err.message);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", test_dir);
    cr_assert_eq(system(cmd), 0);
}

/* B trajectories of a model through one block of RECORDS × EVERY steps with the per-step ŝ(t)
 * noise_input (or NULL); the read-out (B,RECORDS,k) and the states (B,n) come back. */
enum { CPU_B = 23, CPU_RECORDS = 10, CPU_EVERY = 10 };
static void run_cpu(const struct ddm_backend *be, const struct ddm_model *model,
                    const float *noise_input, float *latent, float *x) {
    const int n = model->n;
    float *x0 = malloc(sizeof(float) * CPU_B * n);
    fill_uniform(x0, (size_t)CPU_B * n, -1, 1, 99);
    int trace_neurons[1] = {0};
    struct ddm_sim_setup setup = {model, CPU_B, 1000, 77, 78, 0.01, 0, 0, 0, trace_neurons, x0};
    void *ctx = NULL;
    struct ddm_error err = {0};
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0, "%s", err.message);
    struct ddm_sim_block block = {5,    CPU_RECORDS, CPU_EVERY, NULL, latent,
                                  NULL, -1,          0,         NULL, noise_input};
    cr_assert_eq(be->sim_advance(ctx, &block, &err), 0, "%s", err.message);
    cr_assert_eq(be->sim_state(ctx, x, &err), 0);
    be->sim_destroy(ctx);
    free(x0);
}

/* The twin adds ŝ(t) to Ŝ (or to the offset c of Ŝ(x)): a ŝ constant in time gives the very bits
 * of a model whose Ŝ holds the sum; and the vectorised path, which adds it in the step's
 * coefficients, follows the twin within the parity tolerance for a ŝ that changes every step. */
static void check_cpu_paths(int state_dependent) {
    enum { N = 29, K = 2, M = 3, KM = K * M, STEPS = CPU_RECORDS * CPU_EVERY };
    struct ddm_model model, summed;
    random_model(&model, N, K, M, state_dependent, 8);
    random_model(&summed, N, K, M, state_dependent, 8);
    float row[KM], *constant = malloc(sizeof(float) * STEPS * KM);
    float *changing = malloc(sizeof(float) * STEPS * KM);
    fill_uniform(row, KM, -0.4f, 0.4f, 3);
    fill_uniform(changing, (size_t)STEPS * KM, -0.4f, 0.4f, 4);
    for (int s = 0; s < STEPS; s++) memcpy(constant + s * KM, row, sizeof row);
    float *offset = state_dependent ? summed.c : summed.S;
    for (int q = 0; q < KM; q++) offset[q] += row[q];
    const struct ddm_backend *twin = backend_cpu_reference(0), *fast = backend_cpu(0);
    static float lat_a[CPU_B * CPU_RECORDS * K], lat_b[CPU_B * CPU_RECORDS * K];
    static float x_a[CPU_B * N], x_b[CPU_B * N];
    run_cpu(twin, &model, constant, lat_a, x_a);
    run_cpu(twin, &summed, NULL, lat_b, x_b);
    cr_assert(!memcmp(x_a, x_b, sizeof x_a), "ŝ constant in time is Ŝ + ŝ");
    cr_assert(!memcmp(lat_a, lat_b, sizeof lat_a));
    run_cpu(twin, &model, NULL, lat_b, x_b);
    cr_assert_gt(relative_l2(x_a, x_b, CPU_B * N), 1e-3, "ŝ changes the path");
    run_cpu(twin, &model, changing, lat_a, x_a);
    run_cpu(fast, &model, changing, lat_b, x_b);
    double r_x = tolerance_ratio(x_b, x_a, CPU_B * N, 1e-4, 1e-4);
    double r_lat = tolerance_ratio(lat_b, lat_a, CPU_B * CPU_RECORDS * K, 1e-4, 1e-4);
    cr_assert(r_x <= 1 && r_lat <= 1, "%s against the twin: states %.3g, latent %.3g tolerances",
              fast->device, r_x, r_lat);
    free(constant), free(changing);
    model_free(&model), model_free(&summed);
}

Test(time_noise, cpu_paths_add_the_noise_of_t_to_a_constant_diffusion) {
    check_cpu_paths(0);
}
Test(time_noise, cpu_paths_add_the_noise_of_t_to_a_state_dependent_diffusion) {
    check_cpu_paths(1);
}

/* A 2-D linear SDE with a forcing, a cue and a noise matrix of t whose first column is off half of
 * each period: dz = (A z + g(t) + u(t)) dt + Σ(t) dB with A = [[−1, 0.5], [−0.5, −0.8]],
 * g = (0.4 cos πt, 0), u = (0.5, −0.25) on 3 ≤ t < 5 and Σ(t) = [[0.4 max(0, sin πt), 0.1],
 * [0, 0.15 + 0.1 cos πt]]. The Euler–Maruyama steps have their mean and covariance exactly,
 * m ← (I + AΔ)m + (g + u)Δ, C ← (I + AΔ)C(I + AΔ)ᵀ + ΣΣᵀΔ; target and network must follow both at
 * every record within 4.5 standard errors (√(C_ii/N) for a mean, √((C_ii C_jj + C_ij²)/N) for a
 * covariance). A Σ transposed, an s(t) left out or a time that restarts would be tens off. */
static const char *linear_2d =
    "[system]\nname = lin2\nvars = x, y\nparams = w=3.141592653589793\n"
    "drift = -x + 0.5*y + 0.4*cos(w*t); -0.5*x - 0.8*y\n"
    "diffusion_matrix = 0.4*max(0, sin(w*t)), 0.1; 0, 0.15 + 0.1*cos(w*t)\n"
    "[network]\nneurons = 24\nseed = 2\n[train]\nsamples = 1000\nepochs = 0\npaths = 4\n"
    "path_time = 20\npath_burn_in = 2\n"
    "[simulate]\ntrajectories = 1000\ndt = 0.01\nburn_in = 300\nsteps = 800\nrecord_every = 50\n"
    "start = 0, 0\n[input]\ncues = 3:5 vector 0.5, -0.25\n";
enum { LIN_B = 1000, LIN_BURN = 300, LIN_EVERY = 50, LIN_RECORDS = 17 };

static void linear_2d_exact(double mean[LIN_RECORDS][2], double cov[LIN_RECORDS][3]) {
    const double dt = 0.01, w = M_PI, A[2][2] = {{-1, 0.5}, {-0.5, -0.8}};
    double m[2] = {0, 0}, C[3] = {0, 0, 0}; /* C: xx, xy, yy */
    for (int n = 0;; n++) {
        if (n >= LIN_BURN && (n - LIN_BURN) % LIN_EVERY == 0) {
            const int r = (n - LIN_BURN) / LIN_EVERY;
            mean[r][0] = m[0], mean[r][1] = m[1];
            memcpy(cov[r], C, sizeof C);
            if (r == LIN_RECORDS - 1) return;
        }
        const double t = (n - LIN_BURN) * dt, cue = t >= 3 && t < 5;
        const double M[2][2] = {{1 + A[0][0] * dt, A[0][1] * dt}, {A[1][0] * dt, 1 + A[1][1] * dt}};
        const double S[2][2] = {{0.4 * fmax(0, sin(w * t)), 0.1}, {0, 0.15 + 0.1 * cos(w * t)}};
        const double mx = M[0][0] * m[0] + M[0][1] * m[1] + (0.4 * cos(w * t) + 0.5 * cue) * dt;
        const double my = M[1][0] * m[0] + M[1][1] * m[1] - 0.25 * cue * dt;
        const double P[2][2] = {{C[0], C[1]}, {C[1], C[2]}};
        double next[2][2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double sum = (S[i][0] * S[j][0] + S[i][1] * S[j][1]) * dt;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) sum += M[i][a] * P[a][b] * M[j][b];
                next[i][j] = sum;
            }
        m[0] = mx, m[1] = my;
        C[0] = next[0][0], C[1] = next[0][1], C[2] = next[1][1];
    }
}

/* The worst |measured − exact| / standard error over the records' means and covariances. */
static double linear_2d_worst(const float *z, double mean[LIN_RECORDS][2],
                              double cov[LIN_RECORDS][3]) {
    double worst = 0;
    for (int r = 1; r < LIN_RECORDS; r++) {
        double s[2] = {0, 0}, ss[3] = {0, 0, 0};
        for (int j = 0; j < LIN_B; j++) {
            const double x = z[((size_t)j * LIN_RECORDS + r) * 2],
                         y = z[((size_t)j * LIN_RECORDS + r) * 2 + 1];
            s[0] += x, s[1] += y, ss[0] += x * x, ss[1] += x * y, ss[2] += y * y;
        }
        const double mx = s[0] / LIN_B, my = s[1] / LIN_B, *C = cov[r];
        const double got[5] = {mx, my, ss[0] / LIN_B - mx * mx, ss[1] / LIN_B - mx * my,
                               ss[2] / LIN_B - my * my};
        const double want[5] = {mean[r][0], mean[r][1], C[0], C[1], C[2]};
        const double bar[5] = {
            sqrt(C[0] / LIN_B), sqrt(C[2] / LIN_B), sqrt(2 * C[0] * C[0] / LIN_B),
            sqrt((C[0] * C[2] + C[1] * C[1]) / LIN_B), sqrt(2 * C[2] * C[2] / LIN_B)};
        for (int q = 0; q < 5; q++) worst = fmax(worst, fabs(got[q] - want[q]) / bar[q]);
    }
    return worst;
}

Test(time_noise, a_2d_matrix_noise_of_t_with_forcing_and_cue_follows_the_exact_moments,
     .timeout = 60) {
    make_test_dir("time_noise_2d");
    write_text("l.ini", linear_2d);
    cr_assert_eq(run_ddm("@l.ini --output @l.h5 --stages train,simulate"), 0, "%s",
                 run_err.message);
    static float latent[LIN_B * LIN_RECORDS * 2], target[LIN_B * LIN_RECORDS * 2];
    read_latent("l.h5", "/simulate/latent", latent);
    read_latent("l.h5", "/simulate/target_latent", target);
    static double mean[LIN_RECORDS][2], cov[LIN_RECORDS][3];
    linear_2d_exact(mean, cov);
    const double worst_target = linear_2d_worst(target, mean, cov);
    const double worst_network = linear_2d_worst(latent, mean, cov);
    cr_log_info("worst: target %.2f, network %.2f error bars", worst_target, worst_network);
    cr_assert_lt(worst_target, 4.5, "target off by %.2f error bars", worst_target);
    cr_assert_lt(worst_network, 4.5, "network off by %.2f error bars", worst_network);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", test_dir);
    cr_assert_eq(system(cmd), 0);
}
