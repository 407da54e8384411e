/* ridge_solve.cu — the closed-form readout of the ridge start, solved on the device (docs/design.md
 * §3).
 *
 * (G + λ̄I) X = C by Cholesky (cuSOLVER dpotrf + dpotrs) in double, G the Gram matrix left by
 * hidden_gram_cuda. The row-major upper triangle of G is the column-major lower one, so rows are
 * copied as columns and the factorisation uses the lower triangle. Twin: LAPACKE_dposv in
 * host/model/train.c, which also drives the escalation of λ when the factorisation fails (info >
 * 0).
 */
#include <cstdlib>
#include <cstring>

#include "cuda_check.h"

namespace {

/* A (features × features, column-major) = leading block of G with shift on the diagonal;
 * Bc (features × width, column-major) = leading rows of C (row-major, stride width). */
__global__ void ridge_system_kernel(int features, int stride, const double *gram,
                                    const double *cross, int width, double shift, double *A,
                                    double *Bc) {
    const size_t total = (size_t)features * features, step = (size_t)gridDim.x * blockDim.x;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += step) {
        int col = (int)(e / features), row = (int)(e % features);
        A[e] = gram[(size_t)col * stride + row] + (row == col ? shift : 0.0);
    }
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < (size_t)features * width;
         e += step) {
        int w = (int)(e / features), row = (int)(e % features);
        Bc[e] = cross[(size_t)row * width + w];
    }
}

/* X (features, width) row-major from Bc column-major */
__global__ void transpose_kernel(int features, int width, const double *Bc, double *X) {
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < (size_t)features * width;
         e += (size_t)gridDim.x * blockDim.x) {
        int row = (int)(e / width), w = (int)(e % width);
        X[e] = Bc[(size_t)w * features + row];
    }
}

size_t align256(size_t bytes) {
    return (bytes + 255) / 256 * 256;
}

} // namespace

extern "C" size_t ridge_solve_cuda_workspace(int features, int width, void *cusolver) {
    int lwork = 0;
    if (cusolverDnDpotrf_bufferSize((cusolverDnHandle_t)cusolver, CUBLAS_FILL_MODE_LOWER, features,
                                    nullptr, features, &lwork) != CUSOLVER_STATUS_SUCCESS)
        return 0;
    return align256(sizeof(double) * features * features) +
           2 * align256(sizeof(double) * features * width) + align256(sizeof(double) * lwork) +
           align256(sizeof(int));
}

extern "C" int ridge_solve_cuda(int features, int stride, const double *d_gram,
                                const double *d_cross, int width, double shift, double *h_solution,
                                int *info, void *d_workspace, size_t workspace_bytes,
                                void *cusolver, void *stream) {
    cusolverDnHandle_t handle = (cusolverDnHandle_t)cusolver;
    cudaStream_t s = (cudaStream_t)stream;
    int lwork = 0;
    CUSOLVER_CHECK(cusolverDnDpotrf_bufferSize(handle, CUBLAS_FILL_MODE_LOWER, features, nullptr,
                                               features, &lwork));
    char *at = (char *)d_workspace;
    double *A = (double *)at;
    at += align256(sizeof(double) * features * features);
    double *Bc = (double *)at;
    at += align256(sizeof(double) * features * width);
    double *X = (double *)at;
    at += align256(sizeof(double) * features * width);
    double *work = (double *)at;
    at += align256(sizeof(double) * lwork);
    int *d_info = (int *)at;
    if ((size_t)(at + sizeof(int) - (char *)d_workspace) > workspace_bytes)
        return cuda_check_fail("ddm", "ridge_solve_cuda", "workspace too small", __FILE__,
                               __LINE__);
    ridge_system_kernel<<<1024, 256, 0, s>>>(features, stride, d_gram, d_cross, width, shift, A,
                                             Bc);
    CUDA_LAUNCH_CHECK(s);
    CUSOLVER_CHECK(cusolverDnDpotrf(handle, CUBLAS_FILL_MODE_LOWER, features, A, features, work,
                                    lwork, d_info));
    CUDA_CHECK(cudaMemcpyAsync(info, d_info, sizeof(int), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    if (*info != 0) return 0;
    CUSOLVER_CHECK(cusolverDnDpotrs(handle, CUBLAS_FILL_MODE_LOWER, features, width, A, features,
                                    Bc, features, d_info));
    transpose_kernel<<<256, 256, 0, s>>>(features, width, Bc, X);
    CUDA_LAUNCH_CHECK(s);
    CUDA_CHECK(cudaMemcpyAsync(h_solution, X, sizeof(double) * features * width,
                               cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    return 0;
}
