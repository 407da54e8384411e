/* backend_cuda.cu — the CUDA backend: device selection, the backend table, and training.
 *
 * backend_cuda() answers NULL with a reason when no device or driver is present (backend = auto
 * then falls back to the CPU). Training keeps the points, parameters, gradients and Adam moments
 * on the device: an epoch is mlp_grad_cuda + adam_step_cuda per mini-batch with one copy of the
 * batch losses at its end; the ridge start forms the Gram matrix with cuBLAS (hidden_gram_cuda)
 * and solves it with cuSOLVER (ridge_solve_cuda, the optional train_solve). docs/design.md §3, §8.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backend_cuda.h"
#include "cuda_check.h"

#ifndef DDM_CUDA_ARCH
#define DDM_CUDA_ARCH 90
#endif

int cuda_backend_fail(struct ddm_error *err, const char *stage) {
    return ddm_fail(err, DDM_ERUNTIME, "CUDA backend, %s: %s", stage, cuda_last_error());
}

namespace {

struct cuda_train {
    int n, k, M, count; /* count = 2nk + n parameters: Γ̂ (n,k), b (n), Ŵ_s (k,n) */
    cudaStream_t stream;
    cublasHandle_t cublas;
    cusolverDnHandle_t cusolver;
    float *d_Z, *d_Y;         /* (M,k) */
    float *d_params, *d_grad; /* (count) */
    float *d_m1, *d_m2;       /* (count) */
    float *d_residual;        /* (M,k) */
    int *d_order;             /* (M) */
    double *d_batch_loss;     /* (M) one per mini-batch */
    double *h_batch_loss;     /* (M) */
    void *d_mlp_work;         /* mlp_grad_cuda workspace for M points */
    float *d_targets;         /* (M, width) of the last train_gram, when given */
    int targets_width, gram_width;
    double *d_gram, *d_cross; /* (n+1,n+1), (n+1,gram_width) */
    void *d_gram_work, *d_solve_work;
    size_t solve_bytes;
};

void train_free(cuda_train *tr) {
    if (!tr) return;
    cudaStreamSynchronize(tr->stream);
    void *device[] = {tr->d_Z,          tr->d_Y,         tr->d_params,    tr->d_grad,
                      tr->d_m1,         tr->d_m2,        tr->d_residual,  tr->d_order,
                      tr->d_batch_loss, tr->d_mlp_work,  tr->d_targets,   tr->d_gram,
                      tr->d_cross,      tr->d_gram_work, tr->d_solve_work};
    for (void *p : device) cudaFree(p);
    free(tr->h_batch_loss);
    if (tr->cusolver) cusolverDnDestroy(tr->cusolver);
    if (tr->cublas) cublasDestroy(tr->cublas);
    if (tr->stream) cudaStreamDestroy(tr->stream);
    free(tr);
}

/* A copy ordered on the context's stream (after the kernels queued before it, before those queued
 * after it), waited for, so that the host memory may change on return. Copies on the legacy
 * stream would not be ordered with the kernels of the non-blocking stream. */
int copy_on_stream(cuda_train *tr, void *to, const void *from, size_t bytes, cudaMemcpyKind kind) {
    CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, kind, tr->stream));
    CUDA_CHECK(cudaStreamSynchronize(tr->stream));
    return 0;
}

int train_setup(cuda_train *tr, const ddm_model *model, const ddm_train_data *data) {
    const int n = model->n, k = model->k, M = data->M;
    tr->n = n, tr->k = k, tr->M = M, tr->count = 2 * n * k + n;
    CUDA_CHECK(cudaStreamCreateWithFlags(&tr->stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&tr->cublas));
    CUBLAS_CHECK(cublasSetStream(tr->cublas, tr->stream));
    CUSOLVER_CHECK(cusolverDnCreate(&tr->cusolver));
    CUSOLVER_CHECK(cusolverDnSetStream(tr->cusolver, tr->stream));
    const size_t points = sizeof(float) * M * k, params = sizeof(float) * tr->count;
    CUDA_CHECK(cudaMalloc(&tr->d_Z, points));
    CUDA_CHECK(cudaMalloc(&tr->d_Y, points));
    CUDA_CHECK(cudaMalloc(&tr->d_residual, points));
    CUDA_CHECK(cudaMalloc(&tr->d_params, params));
    CUDA_CHECK(cudaMalloc(&tr->d_grad, params));
    CUDA_CHECK(cudaMalloc(&tr->d_m1, params));
    CUDA_CHECK(cudaMalloc(&tr->d_m2, params));
    CUDA_CHECK(cudaMemsetAsync(tr->d_m1, 0, params, tr->stream));
    CUDA_CHECK(cudaMemsetAsync(tr->d_m2, 0, params, tr->stream));
    CUDA_CHECK(cudaMalloc(&tr->d_order, sizeof(int) * M));
    CUDA_CHECK(cudaMalloc(&tr->d_batch_loss, sizeof(double) * M));
    CUDA_CHECK(cudaMalloc(&tr->d_mlp_work, mlp_grad_cuda_workspace(n, k, M)));
    CUDA_CHECK(cudaMalloc(&tr->d_gram, sizeof(double) * (n + 1) * (n + 1)));
    CUDA_CHECK(cudaMalloc(&tr->d_gram_work, hidden_gram_cuda_workspace(n, k * DDM_MAX_M)));
    if (copy_on_stream(tr, tr->d_Z, data->Z, points, cudaMemcpyHostToDevice) ||
        copy_on_stream(tr, tr->d_Y, data->Y, points, cudaMemcpyHostToDevice))
        return -1;
    return 0;
}

int cuda_train_create(const ddm_model *model, const ddm_train_data *data, void **out,
                      ddm_error *err) {
    cuda_train *tr = (cuda_train *)ddm_calloc(1, sizeof *tr, "training context", err);
    if (!tr) return DDM_ERUNTIME;
    tr->h_batch_loss = (double *)ddm_alloc(sizeof(double) * data->M, "batch losses", err);
    if (!tr->h_batch_loss) {
        train_free(tr);
        return DDM_ERUNTIME;
    }
    if (train_setup(tr, model, data)) {
        int code = cuda_backend_fail(err, "training set-up");
        train_free(tr);
        return code;
    }
    *out = tr;
    return DDM_OK;
}

void cuda_train_destroy(void *ctx) {
    train_free((cuda_train *)ctx);
}

int params_copy(cuda_train *tr, ddm_model *model, int to_ctx) {
    const size_t nk = sizeof(float) * tr->n * tr->k, nb = sizeof(float) * tr->n;
    float *d_Gamma = tr->d_params, *d_b = d_Gamma + tr->n * tr->k, *d_Ws = d_b + tr->n;
    if (to_ctx)
        return copy_on_stream(tr, d_Gamma, model->Gamma, nk, cudaMemcpyHostToDevice) ||
               copy_on_stream(tr, d_b, model->b, nb, cudaMemcpyHostToDevice) ||
               copy_on_stream(tr, d_Ws, model->Ws, nk, cudaMemcpyHostToDevice);
    return copy_on_stream(tr, model->Gamma, d_Gamma, nk, cudaMemcpyDeviceToHost) ||
           copy_on_stream(tr, model->b, d_b, nb, cudaMemcpyDeviceToHost) ||
           copy_on_stream(tr, model->Ws, d_Ws, nk, cudaMemcpyDeviceToHost);
}

int cuda_train_params(void *ctx, ddm_model *model, int to_ctx, ddm_error *err) {
    return params_copy((cuda_train *)ctx, model, to_ctx) ? cuda_backend_fail(err, "parameters")
                                                         : DDM_OK;
}

int moments_copy(cuda_train *tr, float *m1, float *m2, int to_ctx) {
    const size_t bytes = sizeof(float) * tr->count;
    if (to_ctx)
        return copy_on_stream(tr, tr->d_m1, m1, bytes, cudaMemcpyHostToDevice) ||
               copy_on_stream(tr, tr->d_m2, m2, bytes, cudaMemcpyHostToDevice);
    return copy_on_stream(tr, m1, tr->d_m1, bytes, cudaMemcpyDeviceToHost) ||
           copy_on_stream(tr, m2, tr->d_m2, bytes, cudaMemcpyDeviceToHost);
}

int cuda_train_moments(void *ctx, float *m1, float *m2, int to_ctx, ddm_error *err) {
    return moments_copy((cuda_train *)ctx, m1, m2, to_ctx) ? cuda_backend_fail(err, "Adam moments")
                                                           : DDM_OK;
}

int gram(cuda_train *tr, const float *targets, int width, double *h_gram, double *h_cross) {
    const int n = tr->n, features = n + 1;
    const float *d_targets = tr->d_Y;
    if (targets) {
        if (width > tr->targets_width) {
            CUDA_CHECK(cudaFree(tr->d_targets));
            tr->d_targets = nullptr;
            CUDA_CHECK(cudaMalloc(&tr->d_targets, sizeof(float) * tr->M * width));
            tr->targets_width = width;
        }
        CUDA_CHECK(cudaMemcpyAsync(tr->d_targets, targets, sizeof(float) * tr->M * width,
                                   cudaMemcpyHostToDevice, tr->stream));
        d_targets = tr->d_targets;
    }
    if (width > tr->gram_width) {
        CUDA_CHECK(cudaStreamSynchronize(tr->stream));
        CUDA_CHECK(cudaFree(tr->d_cross));
        tr->d_cross = nullptr;
        CUDA_CHECK(cudaMalloc(&tr->d_cross, sizeof(double) * features * width));
    }
    tr->gram_width = width;
    const float *d_Gamma = tr->d_params, *d_b = d_Gamma + n * tr->k;
    if (hidden_gram_cuda(n, tr->k, tr->M, d_Gamma, d_b, tr->d_Z, d_targets, width, tr->d_gram,
                         tr->d_cross, tr->d_gram_work, tr->cublas, tr->stream))
        return -1;
    CUDA_CHECK(cudaMemcpyAsync(h_gram, tr->d_gram, sizeof(double) * features * features,
                               cudaMemcpyDeviceToHost, tr->stream));
    CUDA_CHECK(cudaMemcpyAsync(h_cross, tr->d_cross, sizeof(double) * features * width,
                               cudaMemcpyDeviceToHost, tr->stream));
    CUDA_CHECK(cudaStreamSynchronize(tr->stream));
    for (int i = 0; i < features; i++) /* mirror the upper triangle, as the twin does */
        for (int j = 0; j < i; j++)
            h_gram[(size_t)i * features + j] = h_gram[(size_t)j * features + i];
    return 0;
}

int cuda_train_gram(void *ctx, const float *targets, int width, double *h_gram, double *h_cross,
                    ddm_error *err) {
    cuda_train *tr = (cuda_train *)ctx;
    return gram(tr, targets, targets ? width : tr->k, h_gram, h_cross)
               ? cuda_backend_fail(err, "Gram matrix")
               : DDM_OK;
}

int solve(cuda_train *tr, int features, double shift, double *solution, int *info) {
    size_t need = ridge_solve_cuda_workspace(features, tr->gram_width, tr->cusolver);
    if (need == 0)
        return cuda_check_fail("cuSOLVER", "cusolverDnDpotrf_bufferSize", "failed", __FILE__,
                               __LINE__);
    if (need > tr->solve_bytes) {
        CUDA_CHECK(cudaStreamSynchronize(tr->stream));
        CUDA_CHECK(cudaFree(tr->d_solve_work));
        tr->d_solve_work = nullptr;
        CUDA_CHECK(cudaMalloc(&tr->d_solve_work, need));
        tr->solve_bytes = need;
    }
    return ridge_solve_cuda(features, tr->n + 1, tr->d_gram, tr->d_cross, tr->gram_width, shift,
                            solution, info, tr->d_solve_work, tr->solve_bytes, tr->cusolver,
                            tr->stream);
}

int cuda_train_solve(void *ctx, int features, double shift, double *solution, int *info,
                     ddm_error *err) {
    return solve((cuda_train *)ctx, features, shift, solution, info)
               ? cuda_backend_fail(err, "ridge solve")
               : DDM_OK;
}

int epoch(cuda_train *tr, const int *order, int batch, double lr, ddm_adam *adam,
          double *mean_loss) {
    const int n = tr->n, k = tr->k, M = tr->M;
    float *d_Gamma = tr->d_params, *d_b = d_Gamma + n * k, *d_Ws = d_b + n;
    float *g_Gamma = tr->d_grad, *g_b = g_Gamma + n * k, *g_Ws = g_b + n;
    CUDA_CHECK(
        cudaMemcpyAsync(tr->d_order, order, sizeof(int) * M, cudaMemcpyHostToDevice, tr->stream));
    int batches = 0;
    for (int start = 0; start < M; start += batch, batches++) {
        int size = M - start < batch ? M - start : batch;
        if (mlp_grad_cuda(n, k, size, d_Gamma, d_b, d_Ws, tr->d_Z, tr->d_Y, tr->d_order + start,
                          tr->d_residual, g_Gamma, g_b, g_Ws, tr->d_batch_loss + batches,
                          tr->d_mlp_work, tr->stream))
            return -1;
        adam->step++;
        /* the readout Ŵ_s comes last: a fixed readout is the leading nk + n parameters */
        if (adam_step_cuda(adam->readout_fixed ? n * k + n : tr->count, tr->d_params, tr->d_grad,
                           tr->d_m1, tr->d_m2, (float)lr, (float)adam->beta1, (float)adam->beta2,
                           (float)adam->epsilon, (float)adam->weight_decay, adam->step, tr->stream))
            return -1;
    }
    CUDA_CHECK(cudaMemcpyAsync(tr->h_batch_loss, tr->d_batch_loss, sizeof(double) * batches,
                               cudaMemcpyDeviceToHost, tr->stream));
    CUDA_CHECK(cudaStreamSynchronize(tr->stream));
    double loss_sum = 0; /* as the CPU backend: Σ loss_b · size_b / M, in batch order */
    for (int b = 0; b < batches; b++) {
        int size = M - b * batch < batch ? M - b * batch : batch;
        loss_sum += tr->h_batch_loss[b] * size;
    }
    *mean_loss = loss_sum / M;
    return 0;
}

int cuda_train_epoch(void *ctx, const int *order, int batch, double lr, ddm_adam *adam,
                     double *mean_loss, ddm_error *err) {
    return epoch((cuda_train *)ctx, order, batch, lr, adam, mean_loss)
               ? cuda_backend_fail(err, "training epoch")
               : DDM_OK;
}

/* Free and total memory of the current device, for the up-front check of a run (host/run/limits.c).
 */
int cuda_memory_free(size_t *free_bytes, size_t *total_bytes, ddm_error *err) {
    cudaError_t status = cudaMemGetInfo(free_bytes, total_bytes);
    if (status == cudaSuccess) return DDM_OK;
    cudaGetLastError(); /* not sticky: the run can go on without the check */
    return ddm_fail(err, DDM_ERUNTIME, "cudaMemGetInfo failed: %s", cudaGetErrorString(status));
}

ddm_backend cuda_backend;

} // namespace

extern "C" int cuda_device_info(int device, struct cuda_device_info *info) {
    cudaDeviceProp prop;
    int clock_khz = 0, memory_khz = 0, bus_bits = 0;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&memory_khz, cudaDevAttrMemoryClockRate, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device));
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->major = prop.major, info->minor = prop.minor, info->sms = prop.multiProcessorCount;
    info->clock_hz = clock_khz * 1e3;
    /* FP32 lanes per SM: 128 from Ampere consumer parts (8.6) and Hopper on, 64 on 8.0 and 7.x */
    int lanes = prop.major > 8 || (prop.major == 8 && prop.minor >= 6) ? 128 : 64;
    info->fp32_flops = 2.0 * lanes * info->sms * info->clock_hz;
    info->tanh_rate = 16.0 * info->sms * info->clock_hz;
    info->bytes_per_second = 2.0 * memory_khz * 1e3 * bus_bits / 8;
    return 0;
}

extern "C" const struct ddm_backend *backend_cuda(int device, struct ddm_error *err) {
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        ddm_fail(err, DDM_ERUNTIME, "no CUDA device (%s)",
                 status != cudaSuccess ? cudaGetErrorString(status) : "none found");
        cudaGetLastError(); /* clear the sticky status of the failed query */
        return nullptr;
    }
    if (device < 0 || device >= count) {
        ddm_fail(err, DDM_EUSAGE, "[run] device = %d but this machine has %d CUDA device%s (0..%d)",
                 device, count, count == 1 ? "" : "s", count - 1);
        return nullptr;
    }
    cudaDeviceProp prop;
    if (cudaSetDevice(device) != cudaSuccess ||
        cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
        ddm_fail(err, DDM_ERUNTIME, "CUDA device %d cannot be used: %s", device,
                 cudaGetErrorString(cudaGetLastError()));
        return nullptr;
    }
    if (prop.major * 10 + prop.minor < DDM_CUDA_ARCH) {
        ddm_fail(err, DDM_ERUNTIME,
                 "CUDA device %d (%s) is sm_%d%d, older than this build's sm_%d: rebuild with "
                 "make CUDA_ARCH=sm_%d%d",
                 device, prop.name, prop.major, prop.minor, DDM_CUDA_ARCH, prop.major, prop.minor);
        return nullptr;
    }
    ddm_backend *be = &cuda_backend;
    be->name = "cuda";
    snprintf(be->device, sizeof be->device, "%.200s (sm_%d%d, %d SMs)", prop.name, prop.major % 100,
             prop.minor % 10, prop.multiProcessorCount % 100000);
    be->train_create = cuda_train_create;
    be->train_params = cuda_train_params;
    be->train_gram = cuda_train_gram;
    be->train_epoch = cuda_train_epoch;
    be->train_moments = cuda_train_moments;
    be->train_destroy = cuda_train_destroy;
    be->sim_create = cuda_sim_create;
    be->sim_advance = cuda_sim_advance;
    be->sim_state = cuda_sim_state;
    be->sim_destroy = cuda_sim_destroy;
    be->sim_queue = 2; /* two slots: the driver launches a block ahead */
    be->sim_launch = cuda_sim_launch;
    be->sim_collect = cuda_sim_collect;
    be->train_solve = cuda_train_solve;
    be->memory_free = cuda_memory_free;
    return be;
}
