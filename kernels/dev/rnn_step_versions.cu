/* rnn_step_versions.cu — kernel experiment (STYLE rule 8) for the simulation step (docs/design.md
 * §8).
 *
 * Versions (each validated against the CPU twin rnn_step_cpu with the same keyed Philox noise,
 * then timed with events, median of 5, for B = 4096, n = 1024, k = 3):
 *   v0 naive      two launches per step, as an eager framework does: a reduction kernel
 *                 a = Ŵ_s tanh x (B,k) through global memory, then an update kernel per neuron.
 *   v1 warp       one warp per trajectory, x in registers, weights read through L1 (__ldg),
 *                 butterfly shuffles (5k per step), ξ generated in the kernel; one launch.
 *   v2 persistent kernels/rnn_step.cu (rnn_step_cuda_block, the winner): a block of R whole
 *                 trajectories, weights in shared memory reused over R trajectories per thread,
 *                 transpose reductions (P−1 shuffles for P values), two barriers per step.
 *   v3 approx     v1 with tanh.approx.f32 (one MUFU op instead of ex2 + rcp): the speed of
 *                 light of the tanh unit; expected to FAIL the 1e-4 validation (2^-11 rel. error).
 * Also checks that philox.h's words equal cuRAND's device Philox (curand_init(seed, j, 4g)).
 * Build: make dev (compiled, never run, by CI). Run on a GPU: build/kernels/dev/rnn_step_versions
 */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <curand_kernel.h>
#include <vector>

#include "../cuda_check.h"
#include "ddm/kernel_math.h"

extern "C" {
#include "ddm/ops.h"
}

namespace {

constexpr int B = 4096, N = 1024, K = 3, M = 3, STEPS = 200, CHECK_B = 64;
constexpr float DT_OVER_TAU = 1e-3f, SQRT_DT = 0.0316227766f;
constexpr uint64_t SEED = 77;

struct weights {
    const float *Gamma, *Ws, *b, *S; /* (n,k), (k,n), (n), (k,m) */
};

/* ------------------------------------------------------------------------------ v0 naive */

__global__ void v0_reduce(int batch, const float *x, weights w, uint64_t step, float *coef) {
    int t = blockIdx.x; /* one block per trajectory, fixed-order tree in shared memory */
    __shared__ float part[K][256];
    float acc[K] = {0, 0, 0};
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        float h = tanhf(x[(size_t)t * N + i]);
        for (int c = 0; c < K; c++) acc[c] += w.Ws[c * N + i] * h;
    }
    for (int c = 0; c < K; c++) part[c][threadIdx.x] = acc[c];
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            for (int c = 0; c < K; c++) part[c][threadIdx.x] += part[c][threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0 && t < batch) {
        float xi[4], a[K], out[K];
        philox_step_normals(SEED, t, step, M, xi);
        for (int c = 0; c < K; c++) a[c] = part[c][0];
        rnn_coefficients(K, M, a, nullptr, w.S, xi, DT_OVER_TAU, SQRT_DT, out);
        for (int c = 0; c < K; c++) coef[t * K + c] = out[c];
    }
}

__global__ void v0_update(float *x, weights w, const float *coef) {
    size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (e >= (size_t)B * N) return;
    int t = (int)(e / N), i = (int)(e % N);
    x[e] = rnn_neuron_update(K, x[e], w.b[i], w.Gamma + i * K, coef + t * K, 1.0f - DT_OVER_TAU,
                             DT_OVER_TAU, 0.0f);
}

int run_v0(float *d_x, weights w, float *d_coef, int steps) {
    for (int s = 0; s < steps; s++) {
        v0_reduce<<<B, 256>>>(B, d_x, w, s, d_coef);
        CUDA_LAUNCH_CHECK(0);
        v0_update<<<(B * N + 255) / 256, 256>>>(d_x, w, d_coef);
        CUDA_LAUNCH_CHECK(0);
    }
    return 0;
}

/* ------------------------------------------------------------------- v1 warp, v3 approx */

__device__ __forceinline__ float tanh_approx(float x) {
    float y;
    asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

template <bool APPROX> __global__ void v1_warp(float *x_all, weights w, int steps) {
    constexpr int J = N / 32;
    const int lane = threadIdx.x % 32, t = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (t >= B) return;
    float x[J];
#pragma unroll
    for (int j = 0; j < J; j++) x[j] = x_all[(size_t)t * N + lane + 32 * j];
    for (int s = 0; s < steps; s++) {
        float a[K] = {0, 0, 0};
#pragma unroll
        for (int j = 0; j < J; j++) {
            float h = APPROX ? tanh_approx(x[j]) : tanhf(x[j]);
#pragma unroll
            for (int c = 0; c < K; c++) a[c] += __ldg(&w.Ws[c * N + lane + 32 * j]) * h;
        }
#pragma unroll
        for (int c = 0; c < K; c++)
#pragma unroll
            for (int d = 16; d >= 1; d /= 2) a[c] += __shfl_xor_sync(0xffffffffu, a[c], d);
        float xi[4], coef[K];
        philox_step_normals(SEED, t, s, M, xi);
        rnn_coefficients(K, M, a, nullptr, w.S, xi, DT_OVER_TAU, SQRT_DT, coef);
#pragma unroll
        for (int j = 0; j < J; j++) {
            int i = lane + 32 * j;
            float g[K];
#pragma unroll
            for (int c = 0; c < K; c++) g[c] = __ldg(&w.Gamma[i * K + c]);
            x[j] = rnn_neuron_update(K, x[j], __ldg(&w.b[i]), g, coef, 1.0f - DT_OVER_TAU,
                                     DT_OVER_TAU, 0.0f);
        }
    }
#pragma unroll
    for (int j = 0; j < J; j++) x_all[(size_t)t * N + lane + 32 * j] = x[j];
}

template <bool APPROX> int run_v1(float *d_x, weights w, float *, int steps) {
    v1_warp<APPROX><<<B / 8, 256>>>(d_x, w, steps);
    CUDA_LAUNCH_CHECK(0);
    return 0;
}

/* ------------------------------------------------------------------------- v2 persistent */

int run_v2(float *d_x, weights w, float *, int steps) {
    sim_params p = {};
    p.B = B, p.n = N, p.k = K, p.m = M, p.Gamma = w.Gamma, p.Ws = w.Ws, p.b = w.b, p.S = w.S;
    p.dt_over_tau = DT_OVER_TAU, p.decay = 1.0f - DT_OVER_TAU, p.sqrt_dt = SQRT_DT;
    p.x = d_x, p.noise_seed = SEED, p.steps = steps, p.record_every = steps, p.records = 0;
    return rnn_step_cuda_block(&p, nullptr);
}

/* -------------------------------------------------------------------- Philox vs cuRAND */

__global__ void philox_words(int count, unsigned *ours, unsigned *curand_words) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= count) return;
    struct philox_words r = philox_block(SEED, j, 5);
    curandStatePhilox4_32_10_t state;
    curand_init(SEED, j, 4 * 5, &state);
    uint4 v = curand4(&state);
    unsigned theirs[4] = {v.x, v.y, v.z, v.w};
    for (int q = 0; q < 4; q++) ours[4 * j + q] = r.w[q], curand_words[4 * j + q] = theirs[q];
}

int check_philox() {
    const int count = 4096;
    unsigned *d_a, *d_b;
    CUDA_CHECK(cudaMalloc(&d_a, sizeof(unsigned) * 4 * count));
    CUDA_CHECK(cudaMalloc(&d_b, sizeof(unsigned) * 4 * count));
    philox_words<<<count / 256, 256>>>(count, d_a, d_b);
    CUDA_LAUNCH_CHECK(0);
    std::vector<unsigned> a(4 * count), b(4 * count);
    CUDA_CHECK(cudaMemcpy(a.data(), d_a, sizeof(unsigned) * 4 * count, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(b.data(), d_b, sizeof(unsigned) * 4 * count, cudaMemcpyDeviceToHost));
    printf("philox.h vs cuRAND device Philox4_32_10: %s\n", a == b ? "identical words" : "DIFFER");
    cudaFree(d_a), cudaFree(d_b);
    return a == b ? 0 : 1;
}

/* -------------------------------------------------------------------------------- driver */

typedef int (*version_fn)(float *d_x, weights w, float *d_coef, int steps);

/* The CPU reference: the twin, one step at a time, for the first CHECK_B trajectories. */
void reference(std::vector<float> &x, const std::vector<float> &Gamma, const std::vector<float> &Ws,
               const std::vector<float> &b, const std::vector<float> &S, int steps) {
    std::vector<float> xi(CHECK_B * M);
    for (int s = 0; s < steps; s++) {
        for (int t = 0; t < CHECK_B; t++) philox_step_normals(SEED, t, s, M, &xi[t * M]);
        rnn_step_cpu(CHECK_B, N, K, M, Gamma.data(), Ws.data(), b.data(), S.data(), nullptr,
                     nullptr, 1.0f, DT_OVER_TAU, nullptr, xi.data(), 0.0f, nullptr, x.data());
    }
}

} // namespace

int main() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("no CUDA device: nothing to measure\n");
        return 0;
    }
    std::vector<float> Gamma(N * K), Ws(K * N), b(N), S(K * M, 0.0f), x0((size_t)B * N);
    for (int q = 0; q < N * K; q++) {
        Gamma[q] = (float)philox_gaussian(1, 0, q);
        Ws[q] = (float)(philox_gaussian(1, 1, q) / N);
    }
    for (int i = 0; i < N; i++) b[i] = (float)(2 * philox_uniform(1, 2, i) - 1);
    for (int c = 0; c < K; c++) S[c * M + c] = 0.5f;
    for (size_t q = 0; q < x0.size(); q++) x0[q] = (float)(philox_uniform(4, 0, q) * 2 - 1);
    std::vector<float> want(x0.begin(), x0.begin() + (size_t)CHECK_B * N);
    reference(want, Gamma, Ws, b, S, STEPS);

    float *d_model, *d_x, *d_coef;
    CUDA_CHECK(cudaMalloc(&d_model, sizeof(float) * (2 * N * K + N + K * M)));
    CUDA_CHECK(cudaMalloc(&d_x, sizeof(float) * B * N));
    CUDA_CHECK(cudaMalloc(&d_coef, sizeof(float) * B * K));
    weights w = {d_model, d_model + N * K, d_model + 2 * N * K, d_model + 2 * N * K + N};
    CUDA_CHECK(cudaMemcpy((void *)w.Gamma, Gamma.data(), sizeof(float) * N * K, cudaMemcpyDefault));
    CUDA_CHECK(cudaMemcpy((void *)w.Ws, Ws.data(), sizeof(float) * N * K, cudaMemcpyDefault));
    CUDA_CHECK(cudaMemcpy((void *)w.b, b.data(), sizeof(float) * N, cudaMemcpyDefault));
    CUDA_CHECK(cudaMemcpy((void *)w.S, S.data(), sizeof(float) * K * M, cudaMemcpyDefault));

    const char *names[] = {"v0 naive", "v1 warp", "v2 persistent", "v3 approx"};
    version_fn versions[] = {run_v0, run_v1<false>, run_v2, run_v1<true>};
    cudaEvent_t start, stop;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    printf("B = %d, n = %d, k = %d, %d steps; validation on %d trajectories against rnn_step_cpu\n",
           B, N, K, STEPS, CHECK_B);
    printf("%-14s %10s %12s %14s\n", "version", "err/tol", "ms/step", "neuron-steps/s");
    int failures = 0;
    for (int v = 0; v < 4; v++) {
        CUDA_CHECK(cudaMemcpy(d_x, x0.data(), sizeof(float) * B * N, cudaMemcpyHostToDevice));
        if (versions[v](d_x, w, d_coef, STEPS)) {
            printf("%-14s failed: %s\n", names[v], cuda_last_error());
            return 1;
        }
        std::vector<float> got((size_t)CHECK_B * N);
        CUDA_CHECK(cudaMemcpy(got.data(), d_x, sizeof(float) * got.size(), cudaMemcpyDefault));
        double worst = 0; /* max |got − want| / (atol + rtol |want|), atol = rtol = 1e-4 */
        for (size_t q = 0; q < got.size(); q++)
            worst = std::max(worst, std::fabs((double)got[q] - want[q]) /
                                        (1e-4 * (1.0 + std::fabs(want[q]))));
        std::vector<float> times;
        for (int rep = 0; rep < 5; rep++) {
            CUDA_CHECK(cudaEventRecord(start));
            if (versions[v](d_x, w, d_coef, STEPS)) return 1;
            CUDA_CHECK(cudaEventRecord(stop));
            CUDA_CHECK(cudaEventSynchronize(stop));
            float ms;
            CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
            times.push_back(ms);
        }
        std::sort(times.begin(), times.end());
        double per_step = times[2] / STEPS;
        bool ok = worst <= 1.0;
        failures += !ok && v != 3;
        printf("%-14s %10.3g %12.4g %14.4g %s\n", names[v], worst, per_step,
               (double)B * N / (per_step * 1e-3), ok ? "" : "(outside 1e-4)");
    }
    failures += check_philox();
    cudaFree(d_model), cudaFree(d_x), cudaFree(d_coef);
    return failures ? 1 : 0;
}
