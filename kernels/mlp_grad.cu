/* mlp_grad.cu — the fused perceptron forward/backward of docs/design.md §3 on the device, by tiles.
 *
 * L = (1/M) Σ_s ‖Ŵ_s tanh(Γ̂ẑ_s + b) − y_s‖². Forward: a block per tile of points, threads over
 * neurons, the k outputs per point summed in double by warp transpose reductions and a fixed-order
 * sum over warps → residuals r (M,k) and per-block loss sums. Backward: a thread per neuron and a
 * block per (neuron tile, chunk of points) recomputes h (the n×M hidden matrix never exists) and
 * sums (g_pre ẑ, g_pre, r h) in double over its chunk in point order; a last kernel adds the chunks
 * in chunk order. No atomics: the gradients are bit-reproducible (STYLE rule 7).
 */
#include "cuda_check.h"
#include "ddm/kernel_math.h"
#include "warp_reduce.cuh"

namespace {

constexpr int FWD_WARPS = MLP_FWD_THREADS / SIM_WARP;

template <int K>
__global__ void __launch_bounds__(MLP_FWD_THREADS)
    mlp_forward_kernel(int n, int M, const float *Gamma, const float *b, const float *Ws,
                       const float *Z, const float *Y, const int *index, float *residual,
                       double *loss_partial) {
    constexpr int TP = mlp_points_per_block(K), N = TP * K, P = tr_padded(N);
    __shared__ float s_z[N];
    __shared__ float s_r[N];
    __shared__ double s_partial[FWD_WARPS * P];
    const int tid = threadIdx.x, lane = tid % SIM_WARP, warp = tid / SIM_WARP;
    const int first = blockIdx.x * TP;
    for (int q = tid; q < N; q += blockDim.x) {
        int s = first + q / K;
        s_z[q] = s < M ? Z[(size_t)(index ? index[s] : s) * K + q % K] : 0.0f;
    }
    __syncthreads();
    double acc[P];
#pragma unroll
    for (int v = 0; v < P; v++) acc[v] = 0.0;
    for (int i = tid; i < n; i += blockDim.x) {
        float gamma[K], ws[K];
#pragma unroll
        for (int c = 0; c < K; c++) {
            gamma[c] = Gamma[(size_t)i * K + c];
            ws[c] = Ws[(size_t)c * n + i];
        }
        const float bias = b[i];
#pragma unroll
        for (int t = 0; t < TP; t++) {
            float h = mlp_hidden(K, gamma, bias, s_z + t * K);
#pragma unroll
            for (int c = 0; c < K; c++) acc[t * K + c] += (double)ws[c] * h;
        }
    }
    warp_reduce_store<N>(acc, lane, s_partial + warp * P);
    __syncthreads();
    for (int v = tid; v < N; v += blockDim.x) {
        int s = first + v / K, c = v % K;
        float r = 0.0f;
        if (s < M) {
            double out = sum_warps_d(s_partial, FWD_WARPS, P, v);
            r = (float)(out - Y[(size_t)(index ? index[s] : s) * K + c]);
            residual[(size_t)s * K + c] = r;
        }
        s_r[v] = r;
    }
    __syncthreads();
    if (tid == 0) {
        double squares = 0;
        for (int v = 0; v < N; v++) squares += (double)s_r[v] * s_r[v];
        loss_partial[blockIdx.x] = squares;
    }
}

template <int K>
__global__ void __launch_bounds__(MLP_BWD_THREADS)
    mlp_backward_kernel(int n, int M, int chunks, const float *Gamma, const float *b,
                        const float *Ws, const float *Z, const int *index, const float *residual,
                        double *partial) {
    constexpr int G = 2 * K + 1;
    __shared__ float s_z[MLP_BWD_STAGE * K];
    __shared__ float s_r[MLP_BWD_STAGE * K];
    const int tid = threadIdx.x, i = blockIdx.x * MLP_BWD_THREADS + tid, chunk = blockIdx.y;
    const int start = mlp_chunk_start(chunk, chunks, M),
              end = mlp_chunk_start(chunk + 1, chunks, M);
    float gamma[K], ws[K], bias = 0.0f;
#pragma unroll
    for (int c = 0; c < K; c++) {
        gamma[c] = i < n ? Gamma[(size_t)i * K + c] : 0.0f;
        ws[c] = i < n ? Ws[(size_t)c * n + i] : 0.0f;
    }
    if (i < n) bias = b[i];
    double g[G];
#pragma unroll
    for (int q = 0; q < G; q++) g[q] = 0.0;
    for (int base = start; base < end; base += MLP_BWD_STAGE) {
        const int count = min(MLP_BWD_STAGE, end - base);
        __syncthreads();
        for (int q = tid; q < count * K; q += blockDim.x) {
            int s = base + q / K;
            s_z[q] = Z[(size_t)(index ? index[s] : s) * K + q % K];
            s_r[q] = residual[(size_t)s * K + q % K];
        }
        __syncthreads();
        for (int t = 0; t < count; t++) {
            float h = mlp_hidden(K, gamma, bias, s_z + t * K);
            mlp_backward_point(K, ws, 1, s_r + t * K, s_z + t * K, h, g);
        }
    }
    if (i < n)
#pragma unroll
        for (int q = 0; q < G; q++) partial[((size_t)chunk * G + q) * n + i] = g[q];
}

/* Sums the chunks in chunk order, scales by 2/M, scatters to (Γ̂ (n,k), b (n), Ŵ_s (k,n)); the
 * first thread also adds the forward blocks' squared residuals in block order for the loss. */
__global__ void mlp_reduce_kernel(int n, int k, int M, int chunks, const double *partial,
                                  int loss_blocks, const double *loss_partial, float *grad_Gamma,
                                  float *grad_b, float *grad_Ws, double *loss) {
    const int G = 2 * k + 1;
    const double scale = 2.0 / M;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < G * n; e += gridDim.x * blockDim.x) {
        int q = e / n, i = e % n;
        double sum = 0;
        for (int chunk = 0; chunk < chunks; chunk++)
            sum += partial[((size_t)chunk * G + q) * n + i];
        float value = (float)(scale * sum);
        if (q < k)
            grad_Gamma[(size_t)i * k + q] = value;
        else if (q == k)
            grad_b[i] = value;
        else
            grad_Ws[(size_t)(q - k - 1) * n + i] = value;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double total = 0;
        for (int block = 0; block < loss_blocks; block++) total += loss_partial[block];
        *loss = total / M;
    }
}

int chunk_bound(int M) {
    int most = (M + 31) / 32;
    return most < MLP_MAX_CHUNKS ? (most > 0 ? most : 1) : MLP_MAX_CHUNKS;
}

template <int K>
int launch(int n, int M, const float *Gamma, const float *b, const float *Ws, const float *Z,
           const float *Y, const int *index, float *residual, float *grad_Gamma, float *grad_b,
           float *grad_Ws, double *loss, double *partial, double *loss_partial, int sms,
           cudaStream_t stream) {
    constexpr int TP = mlp_points_per_block(K);
    const int fwd_blocks = (M + TP - 1) / TP, chunks = mlp_chunks(M, n, sms);
    mlp_forward_kernel<K><<<fwd_blocks, MLP_FWD_THREADS, 0, stream>>>(
        n, M, Gamma, b, Ws, Z, Y, index, residual, loss_partial);
    CUDA_LAUNCH_CHECK(stream);
    dim3 grid((n + MLP_BWD_THREADS - 1) / MLP_BWD_THREADS, chunks);
    mlp_backward_kernel<K><<<grid, MLP_BWD_THREADS, 0, stream>>>(n, M, chunks, Gamma, b, Ws, Z,
                                                                 index, residual, partial);
    CUDA_LAUNCH_CHECK(stream);
    const int elements = (2 * K + 1) * n;
    mlp_reduce_kernel<<<(elements + 255) / 256, 256, 0, stream>>>(
        n, K, M, chunks, partial, fwd_blocks, loss_partial, grad_Gamma, grad_b, grad_Ws, loss);
    CUDA_LAUNCH_CHECK(stream);
    return 0;
}

} // namespace

extern "C" size_t mlp_grad_cuda_workspace(int n, int k, int M) {
    size_t partial = (size_t)chunk_bound(M) * (2 * k + 1) * n;
    size_t loss = (size_t)M + 1; /* forward blocks ≤ M */
    return sizeof(double) * (partial + loss);
}

extern "C" int mlp_grad_cuda(int n, int k, int M, const float *d_Gamma, const float *d_b,
                             const float *d_Ws, const float *d_Z, const float *d_Y,
                             const int *d_index, float *d_residual, float *d_grad_Gamma,
                             float *d_grad_b, float *d_grad_Ws, double *d_loss, void *d_workspace,
                             void *stream) {
    if (k < 1 || k > SIM_MAX_K || M < 1)
        return cuda_check_fail("ddm", "mlp_grad_cuda", "needs 1 ≤ k ≤ 8 and M ≥ 1", __FILE__,
                               __LINE__);
    cuda_device_figures dev;
    if (cuda_current_device(&dev)) return -1;
    const int sms = dev.sms;
    double *partial = (double *)d_workspace;
    double *loss_partial = partial + (size_t)chunk_bound(M) * (2 * k + 1) * n;
    cudaStream_t s = (cudaStream_t)stream;
#define DDM_MLP_CASE(K)                                                                            \
    case K:                                                                                        \
        return launch<K>(n, M, d_Gamma, d_b, d_Ws, d_Z, d_Y, d_index, d_residual, d_grad_Gamma,    \
                         d_grad_b, d_grad_Ws, d_loss, partial, loss_partial, sms, s);
    switch (k) {
        DDM_MLP_CASE(1)
        DDM_MLP_CASE(2)
        DDM_MLP_CASE(3)
        DDM_MLP_CASE(4)
        DDM_MLP_CASE(5)
        DDM_MLP_CASE(6)
        DDM_MLP_CASE(7)
    default:
        return launch<8>(n, M, d_Gamma, d_b, d_Ws, d_Z, d_Y, d_index, d_residual, d_grad_Gamma,
                         d_grad_b, d_grad_Ws, d_loss, partial, loss_partial, sms, s);
    }
#undef DDM_MLP_CASE
}
