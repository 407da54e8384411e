/* test_mlp_grad.c — the training operations: the perceptron gradient (twin against finite
 * differences, vectorised paths against the twin, independence of the thread count), AdamW,
 * and the hidden-layer Gram matrix of the ridge start.
 */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../host/cpu/mlp_fast.h"
#include "ddm/ops.h"
#include "test_util.h"

/* L = (1/M) Σ ‖Ws tanh(Γz + b) − y‖², in double, written independently of the code under test */
static double loss_double(int n, int k, int M, const double *Gamma, const double *b,
                          const double *Ws, const float *Z, const float *Y) {
    double total = 0;
    for (int s = 0; s < M; s++)
        for (int c = 0; c < k; c++) {
            double out = 0;
            for (int i = 0; i < n; i++) {
                double pre = b[i];
                for (int d = 0; d < k; d++) pre += Gamma[i * k + d] * Z[s * k + d];
                out += Ws[c * n + i] * tanh(pre);
            }
            total += (out - Y[s * k + c]) * (out - Y[s * k + c]);
        }
    return total / M;
}

Test(mlp_grad, twin_matches_finite_differences) {
    enum { N = 9, K = 2, M = 13, P = N * K * 2 + N };
    float Gamma[N * K], b[N], Ws[K * N], Z[M * K], Y[M * K], residual[M * K];
    float g_Gamma[N * K], g_b[N], g_Ws[K * N];
    fill_uniform(Gamma, N * K, -1, 1, 1);
    fill_uniform(b, N, -1, 1, 2);
    fill_uniform(Ws, K * N, -1, 1, 3);
    fill_uniform(Z, M * K, -2, 2, 4);
    fill_uniform(Y, M * K, -1, 1, 5);
    double loss;
    mlp_grad_cpu(N, K, M, Gamma, b, Ws, Z, Y, NULL, residual, g_Gamma, g_b, g_Ws, &loss);
    /* parameters as one double vector θ = (Γ, b, Ws) for central differences */
    double theta[P], analytic[P];
    for (int i = 0; i < N * K; i++) theta[i] = Gamma[i], analytic[i] = g_Gamma[i];
    for (int i = 0; i < N; i++) theta[N * K + i] = b[i], analytic[N * K + i] = g_b[i];
    for (int i = 0; i < K * N; i++) theta[N * K + N + i] = Ws[i], analytic[N * K + N + i] = g_Ws[i];
    cr_assert_float_eq(loss, loss_double(N, K, M, theta, theta + N * K, theta + N * K + N, Z, Y),
                       1e-5);
    double max_err = 0, max_grad = 0;
    for (int p = 0; p < P; p++) {
        const double h = 1e-6;
        double saved = theta[p];
        theta[p] = saved + h;
        double up = loss_double(N, K, M, theta, theta + N * K, theta + N * K + N, Z, Y);
        theta[p] = saved - h;
        double down = loss_double(N, K, M, theta, theta + N * K, theta + N * K + N, Z, Y);
        theta[p] = saved;
        double numeric = (up - down) / (2 * h);
        max_err = fmax(max_err, fabs(numeric - analytic[p]));
        max_grad = fmax(max_grad, fabs(numeric));
    }
    cr_assert(max_err < 1e-5 * max_grad, "max gradient error %.3g of max %.3g", max_err, max_grad);
}

struct grad_case {
    float *Gamma, *b, *Ws, *Z, *Y, *residual, *grad; /* grad = (Γ, b, Ws) */
    int *index;
    double loss;
};

static void grad_case_init(struct grad_case *g, int n, int k, int M, int points) {
    g->Gamma = malloc(sizeof(float) * n * k);
    g->b = malloc(sizeof(float) * n);
    g->Ws = malloc(sizeof(float) * k * n);
    g->Z = malloc(sizeof(float) * points * k);
    g->Y = malloc(sizeof(float) * points * k);
    g->residual = malloc(sizeof(float) * M * k);
    g->grad = malloc(sizeof(float) * (2 * n * k + n));
    g->index = malloc(sizeof(int) * M);
    fill_uniform(g->Gamma, (size_t)n * k, -1.5f, 1.5f, 10);
    fill_uniform(g->b, n, -1, 1, 11);
    fill_uniform(g->Ws, (size_t)k * n, -0.3f, 0.3f, 12);
    fill_uniform(g->Z, (size_t)points * k, -2, 2, 13);
    fill_uniform(g->Y, (size_t)points * k, -1, 1, 14);
    for (int s = 0; s < M; s++) g->index[s] = (s * 7919) % points; /* a scattered subset */
}

static void grad_case_free(struct grad_case *g) {
    free(g->Gamma), free(g->b), free(g->Ws), free(g->Z), free(g->Y);
    free(g->residual), free(g->grad), free(g->index);
}

static void run_fast(mlp_grad_fn fn, struct grad_case *g, int n, int k, int M) {
    struct mlp_workspace ws;
    cr_assert_eq(mlp_workspace_alloc(&ws, n, k), 0);
    fn(&ws, M, g->Gamma, g->b, g->Ws, g->Z, g->Y, g->index, g->residual, g->grad, g->grad + n * k,
       g->grad + n * k + n, &g->loss);
    mlp_workspace_free(&ws);
}

static int cpu_has(const char *feature) {
    __builtin_cpu_init();
    return !strcmp(feature, "avx512f") ? __builtin_cpu_supports("avx512f")
                                       : __builtin_cpu_supports("avx2");
}

static void compare_fast(mlp_grad_fn fn, const char *feature, int n, int k, int M) {
    if (!cpu_has(feature)) cr_skip_test("this CPU has no %s", feature);
    const int points = 2 * M + 3, params = 2 * n * k + n;
    struct grad_case twin, fast;
    grad_case_init(&twin, n, k, M, points);
    grad_case_init(&fast, n, k, M, points);
    mlp_grad_cpu(n, k, M, twin.Gamma, twin.b, twin.Ws, twin.Z, twin.Y, twin.index, twin.residual,
                 twin.grad, twin.grad + n * k, twin.grad + n * k + n, &twin.loss);
    run_fast(fn, &fast, n, k, M);
    double rel = relative_l2(fast.grad, twin.grad, params);
    cr_expect(rel < 1e-5, "%s n=%d k=%d M=%d: gradient relative error %.3g", feature, n, k, M, rel);
    cr_expect(tolerance_ratio(fast.residual, twin.residual, (size_t)M * k, 1e-5, 1e-5) <= 1,
              "residuals differ");
    cr_expect(fabs(fast.loss - twin.loss) < 1e-5 * twin.loss, "loss %.9g vs %.9g", fast.loss,
              twin.loss);
    grad_case_free(&twin);
    grad_case_free(&fast);
}

#ifdef DDM_HAVE_SIMD
Test(mlp_grad, avx512_matches_twin) {
    compare_fast(mlp_grad_avx512, "avx512f", 33, 3, 101);
    compare_fast(mlp_grad_avx512, "avx512f", 100, 1, 1000); /* one slot: below the threshold */
    compare_fast(mlp_grad_avx512, "avx512f", 100, 1, 1400); /* shared, more tiles than slots */
    compare_fast(mlp_grad_avx512, "avx512f", 17, 8, 64);
}

Test(mlp_grad, avx2_matches_twin) {
    compare_fast(mlp_grad_avx2, "avx2", 33, 3, 101);
    compare_fast(mlp_grad_avx2, "avx2", 70, 5, 1500);
    compare_fast(mlp_grad_avx2, "avx2", 70, 5, 1700); /* shared: M·n_pad ≥ MLP_PARALLEL_MIN */
}

Test(mlp_grad, fast_path_independent_of_thread_count) {
    if (!cpu_has("avx2")) cr_skip_test("no AVX2");
    enum { N = 64, K = 3, M = 2100 }; /* M·n ≥ MLP_PARALLEL_MIN: the threads share the batch */
    _Static_assert(M * N >= MLP_PARALLEL_MIN, "the case must be shared between threads");
    struct grad_case one, two;
    grad_case_init(&one, N, K, M, M);
    grad_case_init(&two, N, K, M, M);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    run_fast(mlp_grad_avx2, &one, N, K, M);
    omp_set_num_threads(threads > 1 ? threads : 2);
    run_fast(mlp_grad_avx2, &two, N, K, M);
    cr_assert_eq(memcmp(one.grad, two.grad, sizeof(float) * (2 * N * K + N)), 0,
                 "gradients must be bit-identical whatever the thread count");
    cr_assert_eq(one.loss, two.loss);
    grad_case_free(&one);
    grad_case_free(&two);
}
#endif

Test(adam, two_steps_match_the_formula) {
    float param[2] = {1.0f, -2.0f}, m1[2] = {0}, m2[2] = {0};
    const float g1[2] = {0.5f, -1.0f}, g2[2] = {0.25f, 2.0f};
    const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    adam_step_cpu(2, param, g1, m1, m2, lr, b1, b2, eps, wd, 1);
    adam_step_cpu(2, param, g2, m1, m2, lr, b1, b2, eps, wd, 2);
    double p[2] = {1.0, -2.0}, a[2] = {0}, v[2] = {0};
    const float *grads[2] = {g1, g2};
    for (int t = 1; t <= 2; t++)
        for (int i = 0; i < 2; i++) {
            double g = grads[t - 1][i];
            a[i] = b1 * a[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double step = a[i] / (1 - pow(b1, t)) / (sqrt(v[i] / (1 - pow(b2, t))) + eps);
            p[i] -= lr * (step + wd * p[i]);
        }
    for (int i = 0; i < 2; i++)
        cr_assert_float_eq(param[i], p[i], 1e-6, "%g vs %g", param[i], p[i]);
}

/* feature i of point s: tanh(Γ_i·z_s + b_i), or the constant 1 for i = n */
static double feature(int n, int k, const float *Gamma, const float *b, const float *z, int i) {
    if (i == n) return 1;
    double pre = b[i];
    for (int c = 0; c < k; c++) pre += (double)Gamma[i * k + c] * z[c];
    return tanh(pre);
}

Test(hidden_gram, matches_direct_sums) {
    enum { N = 21, K = 3, M = 600, W = 2 }; /* M spans several tiles of the blocked code */
    float Gamma[N * K], b[N], Z[M * K], T[M * W];
    fill_uniform(Gamma, N * K, -1, 1, 1);
    fill_uniform(b, N, -1, 1, 2);
    fill_uniform(Z, M * K, -2, 2, 3);
    fill_uniform(T, M * W, -1, 1, 4);
    static double gram[(N + 1) * (N + 1)], cross[(N + 1) * W];
    cr_assert_eq(hidden_gram_cpu(N, K, M, Gamma, b, Z, T, W, gram, cross), 0);
    double max_err = 0;
    for (int i = 0; i <= N; i++) {
        for (int j = 0; j <= N; j++) {
            double sum = 0;
            for (int s = 0; s < M; s++)
                sum +=
                    feature(N, K, Gamma, b, Z + s * K, i) * feature(N, K, Gamma, b, Z + s * K, j);
            max_err = fmax(max_err, fabs(gram[i * (N + 1) + j] - sum));
        }
        for (int w = 0; w < W; w++) {
            double sum = 0;
            for (int s = 0; s < M; s++) sum += feature(N, K, Gamma, b, Z + s * K, i) * T[s * W + w];
            max_err = fmax(max_err, fabs(cross[i * W + w] - sum));
        }
    }
    cr_assert(max_err < 1e-9, "max error %.3g", max_err);
    cr_assert_float_eq(gram[N * (N + 1) + N], M, 1e-12, "the constant feature counts the points");
}
