/* test_rnn_step.c — the Euler–Maruyama step of the network: twin against the dense formula, and
 * every vectorised CPU path (AVX-512, AVX2) against the twin on random models of odd sizes,
 * with constant and state-dependent diffusion, per-neuron noise and an input; plus the detection
 * of a numerical blow-up with its trajectory and step.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/ops.h"
#include "test_util.h"

/* The twin's low-rank step must equal the textbook step with the dense W = Γ̂Ŵ_s, in double. */
Test(rnn_step, twin_matches_dense_formula) {
    enum { B = 3, N = 7, K = 2, M = 3 };
    struct ddm_model model;
    random_model(&model, N, K, M, 0, 11);
    float x[B * N], xi[B * M], eta[B * N], input[K];
    fill_uniform(x, B * N, -2, 2, 1);
    fill_uniform(xi, B * M, -1.5f, 1.5f, 2);
    fill_uniform(eta, B * N, -1, 1, 3);
    fill_uniform(input, K, -1, 1, 4);
    const float dt = 0.01f, tau = (float)model.tau, neuron_noise = 0.3f;
    double expected[B * N];
    for (int t = 0; t < B; t++)
        for (int i = 0; i < N; i++) {
            double recurrent = 0, along_input = 0, noise = 0;
            for (int j = 0; j < N; j++) {
                double w = 0; /* W_ij = Σ_c Γ_ic Ws_cj */
                for (int c = 0; c < K; c++)
                    w += (double)model.Gamma[i * K + c] * model.Ws[c * N + j];
                recurrent += w * tanh((double)x[t * N + j]);
            }
            for (int c = 0; c < K; c++) {
                along_input += (double)model.Gamma[i * K + c] * input[c];
                for (int q = 0; q < M; q++)
                    noise += (double)model.Gamma[i * K + c] * model.S[c * M + q] * xi[t * M + q];
            }
            double xv = x[t * N + i];
            expected[t * N + i] = xv + dt / tau * (-xv + recurrent + model.b[i] + along_input) +
                                  sqrt(dt) * noise + neuron_noise * sqrt(dt) * eta[t * N + i];
        }
    rnn_step_cpu(B, N, K, M, model.Gamma, model.Ws, model.b, model.S, NULL, NULL, tau, dt, input,
                 xi, neuron_noise, eta, x);
    for (int q = 0; q < B * N; q++)
        cr_assert(fabs(x[q] - expected[q]) <= 1e-6 * (1 + fabs(expected[q])),
                  "x[%d] = %.9g, dense %.9g", q, x[q], expected[q]);
    model_free(&model);
}

/* Runs `steps` steps (records of record_every) on a backend; returns latent (B,T,k) and x (B,n). */
static void run_backend(const struct ddm_backend *be, const struct ddm_model *model, int B,
                        double neuron_noise, const float *input, int records, int record_every,
                        float *latent, float *traces, float *x_out) {
    const int n = model->n;
    float *x0 = malloc(sizeof(float) * B * n);
    fill_uniform(x0, (size_t)B * n, -1, 1, 99);
    int trace_neurons[3] = {0, n / 2, n - 1};
    struct ddm_sim_setup setup = {model, B, 1000,          77, 78, 0.01, neuron_noise,
                                  2,     3, trace_neurons, x0};
    void *ctx = NULL;
    struct ddm_error err = {0};
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0, "%s", err.message);
    struct ddm_sim_block block = {5,  records, record_every, input, latent, traces,
                                  -1, 0,       NULL,         NULL};
    cr_assert_eq(be->sim_advance(ctx, &block, &err), 0, "%s", err.message);
    cr_assert_eq(block.nonfinite_trajectory, -1);
    cr_assert_eq(be->sim_state(ctx, x_out, &err), 0);
    be->sim_destroy(ctx);
    free(x0);
}

static void compare_paths(const char *simd, int n, int k, int m, int state_dependent,
                          double neuron_noise, int with_input) {
    setenv("DDM_CPU_SIMD", simd, 1);
    const struct ddm_backend *fast = backend_cpu(0);
    unsetenv("DDM_CPU_SIMD");
    const struct ddm_backend *twin = backend_cpu_reference(0);
    if (strcmp(simd, "none") && strstr(fast->device, "reference"))
        cr_skip_test("this CPU has no %s", simd);
    enum { B = 37, RECORDS = 20, EVERY = 10 };
    struct ddm_model model;
    random_model(&model, n, k, m, state_dependent, 5 + n);
    float *input = NULL;
    if (with_input) {
        input = malloc(sizeof(float) * RECORDS * EVERY * k);
        fill_uniform(input, (size_t)RECORDS * EVERY * k, -1, 1, 6);
    }
    size_t latent_size = (size_t)B * RECORDS * k, trace_size = 2 * RECORDS * 3;
    float *lat_fast = malloc(sizeof(float) * latent_size),
          *lat_twin = malloc(sizeof(float) * latent_size);
    float tr_fast[2 * RECORDS * 3], tr_twin[2 * RECORDS * 3];
    float *x_fast = malloc(sizeof(float) * B * n), *x_twin = malloc(sizeof(float) * B * n);
    run_backend(fast, &model, B, neuron_noise, input, RECORDS, EVERY, lat_fast, tr_fast, x_fast);
    run_backend(twin, &model, B, neuron_noise, input, RECORDS, EVERY, lat_twin, tr_twin, x_twin);
    /* 200 steps of float arithmetic in another order (and SLEEF's tanh) stay within 1e-4 */
    double r_lat = tolerance_ratio(lat_fast, lat_twin, latent_size, 1e-4, 1e-4);
    double r_x = tolerance_ratio(x_fast, x_twin, (size_t)B * n, 1e-4, 1e-4);
    double r_tr = tolerance_ratio(tr_fast, tr_twin, trace_size, 1e-4, 1e-4);
    cr_expect(r_lat <= 1, "%s: latent off by %.3g tolerances (rel L2 %.3g)", fast->device, r_lat,
              relative_l2(lat_fast, lat_twin, latent_size));
    cr_expect(r_x <= 1, "%s: states off by %.3g tolerances", fast->device, r_x);
    cr_expect(r_tr <= 1, "%s: traces off by %.3g tolerances", fast->device, r_tr);
    /* and the test is not vacuous: the states moved away from the start */
    float x0[1];
    fill_uniform(x0, 1, -1, 1, 99);
    cr_assert(fabs(x_twin[0] - x0[0]) > 1e-3);
    free(lat_fast), free(lat_twin), free(x_fast), free(x_twin), free(input);
    model_free(&model);
}

Test(rnn_step, avx512_matches_twin) {
    compare_paths("avx512", 33, 3, 3, 0, 0, 0);
}
Test(rnn_step, avx2_matches_twin) {
    compare_paths("avx2", 33, 3, 3, 0, 0, 0);
}
Test(rnn_step, avx512_state_dependent_noise_input) {
    compare_paths("avx512", 67, 2, 3, 1, 0.2, 1);
}
Test(rnn_step, avx2_state_dependent_noise_input) {
    compare_paths("avx2", 67, 2, 3, 1, 0.2, 1);
}
Test(rnn_step, avx512_k1_and_k8) {
    compare_paths("avx512", 17, 1, 1, 0, 0, 1);
    compare_paths("avx512", 40, 8, 2, 0, 0, 0);
}

/* dt far above 2τ makes Euler–Maruyama unstable: the blow-up must be caught, with the first
 * trajectory and the step, and the rest of its records must be NaN. */
static void check_blow_up(const struct ddm_backend *be) {
    enum { B = 4, N = 20, RECORDS = 50 };
    struct ddm_model model;
    random_model(&model, N, 2, 2, 0, 3);
    model.tau = 0.001; /* dt = 0.01 = 10 τ: |1 − dt/τ| = 9 per step */
    float x0[B * N], latent[B * RECORDS * 2];
    fill_uniform(x0, B * N, -1, 1, 4);
    struct ddm_sim_setup setup = {&model, B, 0, 1, 2, 0.01, 0, 0, 0, NULL, x0};
    void *ctx;
    struct ddm_error err;
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0);
    uint64_t died[B];
    struct ddm_sim_block block = {0, RECORDS, 10, NULL, latent, NULL, -1, 0, died, NULL};
    cr_assert_eq(be->sim_advance(ctx, &block, &err), 0);
    /* every trajectory blows up here; the per-trajectory steps agree with the first one */
    for (int t = 0; t < B; t++)
        cr_assert(died[t] >= block.nonfinite_step && died[t] < RECORDS * 10,
                  "%s: trajectory %d: %llu", be->name, t, (unsigned long long)died[t]);
    cr_assert_eq(died[0], block.nonfinite_step);
    cr_assert_eq(block.nonfinite_trajectory, 0, "%s: first bad trajectory %ld", be->name,
                 block.nonfinite_trajectory);
    /* 9^s overflows float (3.4e38) after about 40 steps */
    cr_assert(block.nonfinite_step > 30 && block.nonfinite_step < 400, "%s: step %llu", be->name,
              (unsigned long long)block.nonfinite_step);
    cr_assert(isnan(latent[(RECORDS - 1) * 2]), "records after the blow-up must be NaN");
    be->sim_destroy(ctx);
    model_free(&model);
}

Test(rnn_step, blow_up_is_reported) {
    check_blow_up(backend_cpu(0));
    check_blow_up(backend_cpu_reference(0));
}
