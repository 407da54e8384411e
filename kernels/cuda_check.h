/* cuda_check.h — error checking of every CUDA, cuBLAS, cuSOLVER and cuRAND call (STYLE rule 5).
 *
 * Each macro turns a failed status into one call of cuda_check_fail, which records
 * "file:line: call: the library's message (what to do)" for cuda_last_error() and makes the
 * enclosing function return −1. CUDA_LAUNCH_CHECK follows every kernel launch: it checks
 * cudaGetLastError and, with DDM_CUDA_SYNC=1 in the environment, synchronises the stream so that
 * an asynchronous fault is reported at the launch that caused it.
 */
#ifndef DDM_CUDA_CHECK_H
#define DDM_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <cusolverDn.h>

#include "ddm/ops_cuda.h"

/* Records the failure (library, the call's text, the library's message, where); returns −1. */
int cuda_check_fail(const char *library, const char *call, const char *message, const char *file,
                    int line);
/* Whether DDM_CUDA_SYNC=1 asks for a synchronisation after every launch (read once). */
int cuda_sync_each_launch(void);
/* The current device's multiprocessor count and opt-in shared memory per block, queried once per
 * device and kept (the launchers need them at every launch). 0, or −1 (recorded) on failure. */
struct cuda_device_figures {
    int device, sms, smem_optin;
};
int cuda_current_device(cuda_device_figures *out);
const char *cusolver_status_text(cusolverStatus_t status);
const char *curand_status_text(curandStatus_t status);

#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t status_ = (call);                                                              \
        if (status_ != cudaSuccess)                                                                \
            return cuda_check_fail("CUDA", #call, cudaGetErrorString(status_), __FILE__,           \
                                   __LINE__);                                                      \
    } while (0)
#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t status_ = (call);                                                           \
        if (status_ != CUBLAS_STATUS_SUCCESS)                                                      \
            return cuda_check_fail("cuBLAS", #call, cublasGetStatusString(status_), __FILE__,      \
                                   __LINE__);                                                      \
    } while (0)
#define CUSOLVER_CHECK(call)                                                                       \
    do {                                                                                           \
        cusolverStatus_t status_ = (call);                                                         \
        if (status_ != CUSOLVER_STATUS_SUCCESS)                                                    \
            return cuda_check_fail("cuSOLVER", #call, cusolver_status_text(status_), __FILE__,     \
                                   __LINE__);                                                      \
    } while (0)
#define CURAND_CHECK(call)                                                                         \
    do {                                                                                           \
        curandStatus_t status_ = (call);                                                           \
        if (status_ != CURAND_STATUS_SUCCESS)                                                      \
            return cuda_check_fail("cuRAND", #call, curand_status_text(status_), __FILE__,         \
                                   __LINE__);                                                      \
    } while (0)
#define CUDA_LAUNCH_CHECK(stream)                                                                  \
    do {                                                                                           \
        CUDA_CHECK(cudaGetLastError());                                                            \
        if (cuda_sync_each_launch()) CUDA_CHECK(cudaStreamSynchronize(stream));                    \
    } while (0)

#endif
