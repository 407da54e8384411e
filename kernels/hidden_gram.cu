/* hidden_gram.cu — the hidden-layer Gram matrix of the ridge start on the device (docs/design.md
 * §3).
 *
 * Features φ_s = (tanh(Γ̂ẑ_s + b), 1) of a tile of points are formed in double by a kernel
 * (gram_feature, the CPU test's code); cuBLAS adds the tile into G = Σ φφᵀ (dsyrk) and
 * C = Σ φ tᵀ (dgemm), tile after tile in a fixed order, so the result is reproducible. Twin:
 * host/cpu/hidden_gram_cpu.c (OpenBLAS, the same blocking).
 */
#include "cuda_check.h"
#include "ddm/kernel_math.h"

namespace {

constexpr int GRAM_TILE = 2048; /* points per tile: 16.8 MB of features for n = 1024 */

/* phi (count, n+1) and tgt (count, width), row-major, for points start … start+count−1 */
__global__ void gram_features_kernel(int n, int k, int start, int count, const float *Gamma,
                                     const float *b, const float *Z, const float *targets,
                                     int width, double *phi, double *tgt) {
    const int features = n + 1;
    const size_t total = (size_t)count * features, stride = (size_t)gridDim.x * blockDim.x;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += stride) {
        int s = (int)(e / features), i = (int)(e % features);
        phi[e] =
            i < n ? gram_feature(k, Gamma + (size_t)i * k, b[i], Z + (size_t)(start + s) * k) : 1.0;
    }
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < (size_t)count * width;
         e += stride)
        tgt[e] = targets[(size_t)start * width + e];
}

} // namespace

extern "C" size_t hidden_gram_cuda_workspace(int n, int width) {
    return sizeof(double) * (size_t)GRAM_TILE * (n + 1 + width);
}

extern "C" int hidden_gram_cuda(int n, int k, int M, const float *d_Gamma, const float *d_b,
                                const float *d_Z, const float *d_targets, int width, double *d_gram,
                                double *d_cross, void *d_workspace, void *cublas, void *stream) {
    const int features = n + 1;
    cudaStream_t s = (cudaStream_t)stream;
    cublasHandle_t handle = (cublasHandle_t)cublas;
    double *phi = (double *)d_workspace, *tgt = phi + (size_t)GRAM_TILE * features;
    CUDA_CHECK(cudaMemsetAsync(d_gram, 0, sizeof(double) * features * features, s));
    CUDA_CHECK(cudaMemsetAsync(d_cross, 0, sizeof(double) * features * width, s));
    const double one = 1.0;
    for (int start = 0; start < M; start += GRAM_TILE) {
        const int count = M - start < GRAM_TILE ? M - start : GRAM_TILE;
        size_t elements = (size_t)count * features;
        int blocks = (int)((elements + 255) / 256 < 4096 ? (elements + 255) / 256 : 4096);
        gram_features_kernel<<<blocks, 256, 0, s>>>(n, k, start, count, d_Gamma, d_b, d_Z,
                                                    d_targets, width, phi, tgt);
        CUDA_LAUNCH_CHECK(s);
        /* column-major views: φ is (features × count), so G = φφᵀ fills the column-major lower
         * triangle = the row-major upper one; C (width × features) = T φᵀ is C row-major. */
        CUBLAS_CHECK(cublasDsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, features, count, &one,
                                 phi, features, &one, d_gram, features));
        CUBLAS_CHECK(cublasDgemm(handle, CUBLAS_OP_N, CUBLAS_OP_T, width, features, count, &one,
                                 tgt, width, phi, features, &one, d_cross, width));
    }
    return 0;
}
