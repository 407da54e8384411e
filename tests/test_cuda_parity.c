/* test_cuda_parity.c — the CUDA backend against the CPU (STYLE rules 6 and 10).
 *
 * Each check takes a `const struct ddm_backend *` and compares it with the plain-loop reference
 * backend on fixed-seed random input of odd sizes (B = 1007, n = 33): short simulations with the
 * same keyed noise (1000 steps of a contracting network, |Δ| ≤ atol + rtol|ref| with 1e-4), the
 * stationary statistics of a long run (within sampling error), the Gram matrix, the ridge solve
 * and Adam epochs. Each runs on the CPU backend here and on the CUDA one where a device answers
 * (cr_skip_test otherwise); the launchers are also compared op by op with their twins.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/ops.h"
#include "ddm/kernel_math.h"
#include "ddm/ops_cuda.h"
#include "test_util.h"

/* The CUDA backend, or a skipped test where no device answers; with DDM_REQUIRE_GPU=1 in the
 * environment (scripts/gpu/first_run.sh) a missing or broken device fails the test instead, so a
 * GPU machine whose driver is too old for the runtime cannot pass as green. */
static const struct ddm_backend *cuda_or_skip(void) {
    struct ddm_error err = {0};
    const struct ddm_backend *be = backend_cuda(0, &err);
    const char *require = getenv("DDM_REQUIRE_GPU");
    if (!be && require && !strcmp(require, "1"))
        cr_assert_fail("DDM_REQUIRE_GPU=1 but the CUDA backend is unavailable: %s", err.message);
    if (!be) cr_skip_test("%s", err.message);
    return be;
}

/* |got − want| ≤ atol + rtol |want| everywhere; otherwise prints the worst errors and the first
 * mismatches. Returns 1 when within tolerance. */
static int close_enough(const char *what, const float *got, const float *want, size_t count,
                        double atol, double rtol) {
    double max_abs = 0, max_rel = 0;
    int shown = 0, ok = 1;
    for (size_t i = 0; i < count; i++) {
        double diff = fabs((double)got[i] - want[i]), rel = diff / (fabs((double)want[i]) + 1e-30);
        if (isnan(got[i]) && isnan(want[i])) continue;
        if (!(diff <= atol + rtol * fabs((double)want[i]))) {
            ok = 0;
            if (shown++ < 5)
                fprintf(stderr, "%s[%zu]: %.9g, expected %.9g\n", what, i, got[i], want[i]);
        }
        max_abs = fmax(max_abs, diff), max_rel = fmax(max_rel, rel);
    }
    if (!ok)
        fprintf(stderr, "%s: max abs error %.3g, max rel error %.3g\n", what, max_abs, max_rel);
    return ok;
}

/* ------------------------------------------------------------------------- simulation */

struct sim_run {
    float *latent, *traces, *x;
};

static void simulate(const struct ddm_backend *be, const struct ddm_model *model, int B,
                     double neuron_noise, const float *input, int records, int every,
                     struct sim_run *out) {
    const int n = model->n;
    float *x0 = malloc(sizeof(float) * B * n);
    fill_uniform(x0, (size_t)B * n, -1, 1, 99);
    int trace_neurons[3] = {0, n / 2, n - 1};
    struct ddm_sim_setup setup = {model, B, 7, 77, 78, 0.01, neuron_noise, 3, 3, trace_neurons, x0};
    out->latent = malloc(sizeof(float) * B * records * model->k);
    out->traces = malloc(sizeof(float) * 3 * records * 3);
    out->x = malloc(sizeof(float) * B * n);
    void *ctx = NULL;
    struct ddm_error err = {0};
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0, "%s: %s", be->name, err.message);
    struct ddm_sim_block block = {0,           records, every, input, out->latent,
                                  out->traces, -1,      0,     NULL,  NULL};
    cr_assert_eq(be->sim_advance(ctx, &block, &err), 0, "%s: %s", be->name, err.message);
    cr_assert_eq(block.nonfinite_trajectory, -1);
    cr_assert_eq(be->sim_state(ctx, out->x, &err), 0);
    be->sim_destroy(ctx);
    free(x0);
}

static void sim_run_free(struct sim_run *run) {
    free(run->latent), free(run->traces), free(run->x);
}

/* 1000 steps of a contracting (non-chaotic) network with the same noise as the reference twin */
static void check_short_simulation(const struct ddm_backend *be, int B, int n, int k, int m,
                                   int state_dependent, double neuron_noise, int with_input) {
    enum { EVERY = 10 };
    /* 1000 steps; 200 for the large cases, whose reference runs on one core */
    const int RECORDS = (double)B * n > 1e6 ? 20 : 100;
    struct ddm_model model;
    random_model(&model, n, k, m, state_dependent, 21);
    float *input = NULL;
    if (with_input) {
        input = malloc(sizeof(float) * RECORDS * EVERY * k);
        fill_uniform(input, (size_t)RECORDS * EVERY * k, -1, 1, 6);
    }
    struct sim_run got, want;
    simulate(be, &model, B, neuron_noise, input, RECORDS, EVERY, &got);
    simulate(backend_cpu_reference(0), &model, B, neuron_noise, input, RECORDS, EVERY, &want);
    cr_expect(close_enough("latent", got.latent, want.latent, (size_t)B * RECORDS * k, 1e-4, 1e-4),
              "%s: latent read-out differs from the twin", be->device);
    cr_expect(close_enough("traces", got.traces, want.traces, 3 * RECORDS * 3, 1e-4, 1e-4),
              "%s: traces differ", be->device);
    cr_expect(close_enough("x", got.x, want.x, (size_t)B * n, 1e-4, 1e-4), "%s: states differ",
              be->device);
    sim_run_free(&got), sim_run_free(&want), free(input);
    model_free(&model);
}

/* Long run: the stationary mean and variance of the read-out agree within sampling error
 * (4 standard errors of the mean over independent trajectories). */
static void check_stationary_statistics(const struct ddm_backend *be) {
    enum { B = 257, N = 33, K = 2, RECORDS = 100, EVERY = 50 };
    struct ddm_model model;
    random_model(&model, N, K, K, 0, 8);
    for (int q = 0; q < K * K; q++) model.S[q] = q % (K + 1) == 0 ? 0.5f : 0.0f;
    struct sim_run got, want;
    simulate(be, &model, B, 0, NULL, RECORDS, EVERY, &got);
    simulate(backend_cpu_reference(0), &model, B, 0, NULL, RECORDS, EVERY, &want);
    for (int c = 0; c < K; c++) {
        double mean[2] = {0}, var[2] = {0}, spread = 0;
        const float *runs[2] = {got.latent, want.latent};
        for (int w = 0; w < 2; w++) {
            for (int t = 0; t < B; t++) {
                double traj_mean = 0;
                for (int r = RECORDS / 2; r < RECORDS; r++) {
                    double z = runs[w][((size_t)t * RECORDS + r) * K + c];
                    traj_mean += z / (RECORDS / 2), var[w] += z * z;
                }
                mean[w] += traj_mean / B;
                if (w == 1) spread += traj_mean * traj_mean / B;
            }
            var[w] = var[w] / (B * (RECORDS / 2)) - mean[w] * mean[w];
        }
        double se = sqrt(fmax(spread - mean[1] * mean[1], 1e-12) / B);
        cr_expect(fabs(mean[0] - mean[1]) < 4 * se, "%s: z%d mean %.5g vs %.5g (SE %.2g)",
                  be->device, c, mean[0], mean[1], se);
        cr_expect(fabs(var[0] - var[1]) < 0.05 * var[1], "%s: z%d variance %.5g vs %.5g",
                  be->device, c, var[0], var[1]);
    }
    sim_run_free(&got), sim_run_free(&want);
    model_free(&model);
}

Test(cuda_parity, short_simulation_cpu) {
    check_short_simulation(backend_cpu(0), 1007, 33, 3, 2, 0, 0, 0);
}
Test(cuda_parity, short_simulation_cuda) {
    const struct ddm_backend *be = cuda_or_skip();
    check_short_simulation(be, 1007, 33, 3, 2, 0, 0, 0);
    check_short_simulation(be, 1007, 1000, 3, 3, 0, 0, 0); /* the n ≤ 2048 shape */
    check_short_simulation(be, 31, 2500, 2, 2, 0, 0, 0);   /* the n ≤ 4096 shape */
}
Test(cuda_parity, simulation_with_everything_cpu) {
    check_short_simulation(backend_cpu(0), 101, 67, 2, 3, 1, 0.2, 1);
}
Test(cuda_parity, simulation_with_everything_cuda) {
    check_short_simulation(cuda_or_skip(), 101, 67, 2, 3, 1, 0.2, 1);
}
#ifdef DDM_WITH_CUDA
/* Every kernel shape against the twin with records, traces, neuron noise, a state-dependent Ŝ
 * (V) and inputs. The automatic choice gives the large shapes only when B leaves ≥ 2 blocks per
 * multiprocessor (B = 1063, 4103 at n = 1000 and B = 2119 at n = 33 on 132 SMs), so each shape is
 * also forced (rnn_step_cuda_force_shape) whatever the device. */
struct shape_case {
    int shape, B, n, k, m;
};
static void check_shape_cases(const struct shape_case *cases, int count) {
    const struct ddm_backend *be = cuda_or_skip();
    for (int q = 0; q < count; q++) {
        int previous = rnn_step_cuda_force_shape(cases[q].shape);
        check_short_simulation(be, cases[q].B, cases[q].n, cases[q].k, cases[q].m, 1, 0.2, 1);
        rnn_step_cuda_force_shape(previous);
    }
}
Test(cuda_parity, natural_large_shapes_cuda, .timeout = 300) {
    const struct shape_case cases[] = {
        {-1, 1063, 1000, 3, 3}, {-1, 4103, 1000, 3, 2}, {-1, 2119, 33, 3, 3}};
    check_shape_cases(cases, 3);
}
Test(cuda_parity, forced_shapes_cuda, .timeout = 300) {
    const struct shape_case cases[] = {{SIM_SHAPE_N2_R8, 131, 1000, 3, 3},
                                       {SIM_SHAPE_N4_R4, 67, 1000, 2, 2},
                                       {SIM_SHAPE_N8_R2, 37, 1000, 3, 3},
                                       {SIM_SHAPE_N2_R2, 2119, 33, 3, 3},
                                       {SIM_SHAPE_N8_R2, 45, 2500, 1, 1}};
    check_shape_cases(cases, 5);
}
#endif

Test(cuda_parity, stationary_statistics_cpu) {
    check_stationary_statistics(backend_cpu(0));
}
Test(cuda_parity, stationary_statistics_cuda) {
    check_stationary_statistics(cuda_or_skip());
}

/* --------------------------------------------------------------------------- training */

/* Gram matrix against the twin; a few Adam epochs against the reference backend; the optional
 * device ridge solve against the normal equations. */
static void check_training(const struct ddm_backend *be) {
    enum { N = 33, K = 3, M = 1007, F = N + 1 };
    struct ddm_model model;
    random_model(&model, N, K, K, 0, 31);
    float *Z = malloc(sizeof(float) * M * K), *Y = malloc(sizeof(float) * M * K);
    fill_uniform(Z, (size_t)M * K, -2, 2, 1);
    fill_uniform(Y, (size_t)M * K, -1, 1, 2);
    struct ddm_train_data data = {M, Z, Y};
    static double gram[F * F], cross[F * K], gram_twin[F * F], cross_twin[F * K];
    cr_assert_eq(hidden_gram_cpu(N, K, M, model.Gamma, model.b, Z, Y, K, gram_twin, cross_twin), 0);
    const struct ddm_backend *ref = backend_cpu_reference(0);
    void *ctx, *ref_ctx;
    struct ddm_error err = {0};
    cr_assert_eq(be->train_create(&model, &data, &ctx, &err), 0, "%s", err.message);
    cr_assert_eq(ref->train_create(&model, &data, &ref_ctx, &err), 0);
    cr_assert_eq(be->train_params(ctx, &model, 1, &err), 0, "%s", err.message);
    cr_assert_eq(ref->train_params(ref_ctx, &model, 1, &err), 0);
    cr_assert_eq(be->train_gram(ctx, NULL, K, gram, cross, &err), 0, "%s", err.message);
    double worst = 0;
    for (int q = 0; q < F * F; q++) worst = fmax(worst, fabs(gram[q] - gram_twin[q]) / M);
    for (int q = 0; q < F * K; q++) worst = fmax(worst, fabs(cross[q] - cross_twin[q]) / M);
    cr_expect(worst < 1e-12, "%s: Gram matrix off by %.3g (per point)", be->device, worst);
    if (be->train_solve) {
        double solution[N * K], shift = 1e-3 * gram[0];
        int info = -1;
        cr_assert_eq(be->train_solve(ctx, N, shift, solution, &info, &err), 0, "%s", err.message);
        cr_assert_eq(info, 0);
        double residual = 0, scale = 0; /* (G + shift I) X − C over the leading N features */
        for (int i = 0; i < N; i++)
            for (int w = 0; w < K; w++) {
                double sum = shift * solution[i * K + w] - cross[i * K + w];
                for (int j = 0; j < N; j++) sum += gram[i * F + j] * solution[j * K + w];
                residual = fmax(residual, fabs(sum)), scale = fmax(scale, fabs(cross[i * K + w]));
            }
        cr_expect(residual < 1e-9 * scale, "%s: ridge residual %.3g", be->device, residual);
    }
    int *order = malloc(sizeof(int) * M);
    for (int s = 0; s < M; s++) order[s] = (s * 389) % M;
    struct ddm_adam adam = {0.9, 0.999, 1e-8, 1e-4, 0, 0}, ref_adam = adam;
    for (int epoch = 0; epoch < 3; epoch++) {
        double loss, ref_loss;
        cr_assert_eq(be->train_epoch(ctx, order, 128, 1e-3, &adam, &loss, &err), 0, "%s",
                     err.message);
        cr_assert_eq(ref->train_epoch(ref_ctx, order, 128, 1e-3, &ref_adam, &ref_loss, &err), 0);
        cr_expect(fabs(loss - ref_loss) < 1e-5 * ref_loss, "%s: epoch %d loss %.9g vs %.9g",
                  be->device, epoch, loss, ref_loss);
        cr_assert_eq(adam.step, ref_adam.step);
    }
    struct ddm_model after, ref_after;
    random_model(&after, N, K, K, 0, 31);
    random_model(&ref_after, N, K, K, 0, 31);
    cr_assert_eq(be->train_params(ctx, &after, 0, &err), 0);
    cr_assert_eq(ref->train_params(ref_ctx, &ref_after, 0, &err), 0);
    cr_expect(close_enough("Gamma", after.Gamma, ref_after.Gamma, N * K, 1e-5, 1e-4));
    cr_expect(close_enough("Ws", after.Ws, ref_after.Ws, N * K, 1e-5, 1e-4));
    be->train_destroy(ctx), ref->train_destroy(ref_ctx);
    model_free(&model), model_free(&after), model_free(&ref_after);
    free(Z), free(Y), free(order);
}

Test(cuda_parity, training_cpu) {
    check_training(backend_cpu(0));
}
Test(cuda_parity, training_cuda) {
    check_training(cuda_or_skip());
}

/* ------------------------------------------------- the launchers against their twins */

#ifdef DDM_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

static void *to_device(const void *host, size_t bytes) {
    void *device = NULL;
    cr_assert_eq(cudaMalloc(&device, bytes ? bytes : 1), cudaSuccess);
    if (host) cr_assert_eq(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return device;
}

static void to_host(void *host, const void *device, size_t bytes) {
    cr_assert_eq(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
}

/* rnn_step_cuda against rnn_step_cpu: 1000 steps, the same explicit ξ, η and input each step */
Test(cuda_parity, rnn_step_launcher_matches_twin) {
    cuda_or_skip();
    enum { B = 1007, N = 33, K = 3, M = 2, STEPS = 1000 };
    struct ddm_model model;
    random_model(&model, N, K, M, 0, 41);
    float *x = malloc(sizeof(float) * B * N), *x_gpu = malloc(sizeof(float) * B * N);
    float *xi = malloc(sizeof(float) * B * M), *eta = malloc(sizeof(float) * B * N), input[K];
    fill_uniform(x, (size_t)B * N, -1, 1, 1);
    float *d_Gamma = to_device(model.Gamma, sizeof(float) * N * K);
    float *d_Ws = to_device(model.Ws, sizeof(float) * N * K);
    float *d_b = to_device(model.b, sizeof(float) * N),
          *d_S = to_device(model.S, sizeof(float) * K * M);
    float *d_x = to_device(x, sizeof(float) * B * N),
          *d_xi = to_device(NULL, sizeof(float) * B * M);
    float *d_eta = to_device(NULL, sizeof(float) * B * N), *d_input = to_device(NULL, sizeof input);
    for (int step = 0; step < STEPS; step++) {
        fill_uniform(xi, (size_t)B * M, -2, 2, 100 + step);
        if (step % 100 == 0) fill_uniform(eta, (size_t)B * N, -2, 2, 5000 + step);
        fill_uniform(input, K, -1, 1, 9000 + step);
        cudaMemcpy(d_xi, xi, sizeof(float) * B * M, cudaMemcpyHostToDevice);
        cudaMemcpy(d_eta, eta, sizeof(float) * B * N, cudaMemcpyHostToDevice);
        cudaMemcpy(d_input, input, sizeof input, cudaMemcpyHostToDevice);
        rnn_step_cpu(B, N, K, M, model.Gamma, model.Ws, model.b, model.S, NULL, NULL, 0.5f, 0.01f,
                     input, xi, 0.1f, eta, x);
        cr_assert_eq(rnn_step_cuda(B, N, K, M, d_Gamma, d_Ws, d_b, d_S, NULL, NULL, 0.5f, 0.01f,
                                   d_input, d_xi, 0.1f, d_eta, d_x, NULL),
                     0, "%s", cuda_last_error());
    }
    to_host(x_gpu, d_x, sizeof(float) * B * N);
    cr_expect(close_enough("x", x_gpu, x, (size_t)B * N, 1e-4, 1e-4));
    void *buffers[] = {d_Gamma, d_Ws, d_b, d_S, d_x, d_xi, d_eta, d_input};
    for (int i = 0; i < 8; i++) cudaFree(buffers[i]);
    free(x), free(x_gpu), free(xi), free(eta);
    model_free(&model);
}

/* mlp_grad_cuda against mlp_grad_cpu: gradients to relative error < 1e-5 (FP32) */
Test(cuda_parity, mlp_grad_launcher_matches_twin) {
    cuda_or_skip();
    enum { N = 33, K = 3, M = 1007, POINTS = 1500, P = 2 * N * K + N };
    float Gamma[N * K], b[N], Ws[K * N], *Z = malloc(sizeof(float) * POINTS * K);
    float *Y = malloc(sizeof(float) * POINTS * K), *residual = malloc(sizeof(float) * M * K);
    float grad[P], grad_gpu[P];
    int *index = malloc(sizeof(int) * M);
    fill_uniform(Gamma, N * K, -1.5f, 1.5f, 1), fill_uniform(b, N, -1, 1, 2);
    fill_uniform(Ws, K * N, -0.3f, 0.3f, 3), fill_uniform(Z, POINTS * K, -2, 2, 4);
    fill_uniform(Y, POINTS * K, -1, 1, 5);
    for (int s = 0; s < M; s++) index[s] = (s * 7919) % POINTS;
    double loss, loss_gpu;
    mlp_grad_cpu(N, K, M, Gamma, b, Ws, Z, Y, index, residual, grad, grad + N * K, grad + N * K + N,
                 &loss);
    float *d_Gamma = to_device(Gamma, sizeof Gamma), *d_b = to_device(b, sizeof b);
    float *d_Ws = to_device(Ws, sizeof Ws), *d_Z = to_device(Z, sizeof(float) * POINTS * K);
    float *d_Y = to_device(Y, sizeof(float) * POINTS * K);
    int *d_index = to_device(index, sizeof(int) * M);
    float *d_residual = to_device(NULL, sizeof(float) * M * K),
          *d_grad = to_device(NULL, sizeof grad);
    double *d_loss = to_device(NULL, sizeof(double));
    void *d_work = to_device(NULL, mlp_grad_cuda_workspace(N, K, M));
    cr_assert_eq(mlp_grad_cuda(N, K, M, d_Gamma, d_b, d_Ws, d_Z, d_Y, d_index, d_residual, d_grad,
                               d_grad + N * K, d_grad + N * K + N, d_loss, d_work, NULL),
                 0, "%s", cuda_last_error());
    to_host(grad_gpu, d_grad, sizeof grad);
    to_host(&loss_gpu, d_loss, sizeof loss_gpu);
    double rel = relative_l2(grad_gpu, grad, P);
    cr_expect(rel < 1e-5, "gradient relative error %.3g", rel);
    cr_expect(fabs(loss_gpu - loss) < 1e-6 * loss, "loss %.9g vs %.9g", loss_gpu, loss);
    void *buffers[] = {d_Gamma, d_b, d_Ws, d_Z, d_Y, d_index, d_residual, d_grad, d_loss, d_work};
    for (int i = 0; i < 10; i++) cudaFree(buffers[i]);
    free(Z), free(Y), free(residual), free(index);
}

Test(cuda_parity, adam_and_gram_launchers_match_twins) {
    cuda_or_skip();
    enum { COUNT = 1007, N = 33, K = 3, M = 3001, F = N + 1 };
    float param[COUNT], grad[COUNT], m1[COUNT] = {0}, m2[COUNT] = {0}, param_gpu[COUNT];
    fill_uniform(param, COUNT, -1, 1, 1), fill_uniform(grad, COUNT, -1, 1, 2);
    float *d_param = to_device(param, sizeof param), *d_grad = to_device(grad, sizeof grad);
    float *d_m1 = to_device(m1, sizeof m1), *d_m2 = to_device(m2, sizeof m2);
    for (long t = 1; t <= 3; t++) {
        adam_step_cpu(COUNT, param, grad, m1, m2, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f, t);
        cr_assert_eq(adam_step_cuda(COUNT, d_param, d_grad, d_m1, d_m2, 1e-2f, 0.9f, 0.999f, 1e-8f,
                                    1e-3f, t, NULL),
                     0, "%s", cuda_last_error());
    }
    to_host(param_gpu, d_param, sizeof param);
    cr_expect(close_enough("Adam", param_gpu, param, COUNT, 1e-7, 1e-6));
    float Gamma[N * K], b[N], *Z = malloc(sizeof(float) * M * K),
                              *T = malloc(sizeof(float) * M * 2);
    fill_uniform(Gamma, N * K, -1, 1, 3), fill_uniform(b, N, -1, 1, 4);
    fill_uniform(Z, (size_t)M * K, -2, 2, 5), fill_uniform(T, (size_t)M * 2, -1, 1, 6);
    static double gram[F * F], cross[F * 2], gram_gpu[F * F], cross_gpu[F * 2];
    cr_assert_eq(hidden_gram_cpu(N, K, M, Gamma, b, Z, T, 2, gram, cross), 0);
    cublasHandle_t cublas;
    cr_assert_eq(cublasCreate(&cublas), CUBLAS_STATUS_SUCCESS);
    float *d_Gamma = to_device(Gamma, sizeof Gamma), *d_b = to_device(b, sizeof b);
    float *d_Z = to_device(Z, sizeof(float) * M * K), *d_T = to_device(T, sizeof(float) * M * 2);
    double *d_gram = to_device(NULL, sizeof gram), *d_cross = to_device(NULL, sizeof cross);
    void *d_work = to_device(NULL, hidden_gram_cuda_workspace(N, 2));
    cr_assert_eq(
        hidden_gram_cuda(N, K, M, d_Gamma, d_b, d_Z, d_T, 2, d_gram, d_cross, d_work, cublas, NULL),
        0, "%s", cuda_last_error());
    to_host(gram_gpu, d_gram, sizeof gram), to_host(cross_gpu, d_cross, sizeof cross);
    double worst = 0;
    for (int i = 0; i < F; i++)
        for (int j = i; j < F; j++)
            worst = fmax(worst, fabs(gram_gpu[i * F + j] - gram[i * F + j]));
    for (int q = 0; q < F * 2; q++) worst = fmax(worst, fabs(cross_gpu[q] - cross[q]));
    cr_expect(worst < 1e-9 * M, "Gram matrix off by %.3g", worst);
    cublasDestroy(cublas);
    void *buffers[] = {d_param, d_grad, d_m1,   d_m2,    d_Gamma, d_b,
                       d_Z,     d_T,    d_gram, d_cross, d_work};
    for (int i = 0; i < 11; i++) cudaFree(buffers[i]);
    free(Z), free(T);
}
#endif
