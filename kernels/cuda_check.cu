/* cuda_check.cu — the one check function behind CUDA_CHECK and its siblings (cuda_check.h).
 *
 * A failure is recorded per host thread as one line, "file:line: call: message (hint)", which the
 * backend copies into its struct ddm_error; the hint says what to do for the failures a user can
 * act on (out of memory, no device or driver, a kernel fault to be located with DDM_CUDA_SYNC=1).
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda_check.h"

static thread_local char last_error[1024] = "no CUDA error recorded";

static const char *hint(const char *message) {
    if (strstr(message, "out of memory") || strstr(message, "ALLOC_FAILED"))
        return "the device memory is too small for this size: lower [simulate] trajectories or "
               "[network] neurons, or use [run] backend = cpu";
    if (strstr(message, "driver") || strstr(message, "no CUDA-capable"))
        return "no usable GPU or driver: use [run] backend = cpu";
    if (strstr(message, "illegal") || strstr(message, "launch"))
        return "a kernel failed: rerun with DDM_CUDA_SYNC=1 to stop at the launch that caused it";
    return "see the CUDA documentation for this status";
}

int cuda_check_fail(const char *library, const char *call, const char *message, const char *file,
                    int line) {
    snprintf(last_error, sizeof last_error, "%s:%d: %s: %s error: %s (%s)", file, line, call,
             library, message, hint(message));
    return -1;
}

extern "C" const char *cuda_last_error(void) {
    return last_error;
}

int cuda_sync_each_launch(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *value = getenv("DDM_CUDA_SYNC");
        cached = value && !strcmp(value, "1");
    }
    return cached;
}

int cuda_current_device(cuda_device_figures *out) {
    enum { MAX_DEVICES = 64 };
    static thread_local cuda_device_figures known[MAX_DEVICES]; /* sms = 0: not queried yet */
    int device;
    CUDA_CHECK(cudaGetDevice(&device)); /* a thread-local read in the runtime, no driver call */
    if (device < 0 || device >= MAX_DEVICES)
        return cuda_check_fail("CUDA", "cudaGetDevice", "device ordinal beyond 63", __FILE__,
                               __LINE__);
    cuda_device_figures &f = known[device];
    if (f.sms == 0) {
        CUDA_CHECK(
            cudaDeviceGetAttribute(&f.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
        CUDA_CHECK(cudaDeviceGetAttribute(&f.sms, cudaDevAttrMultiProcessorCount, device));
        f.device = device;
    }
    *out = f;
    return 0;
}

const char *cusolver_status_text(cusolverStatus_t status) {
    switch (status) {
    case CUSOLVER_STATUS_NOT_INITIALIZED:
        return "cuSOLVER not initialised";
    case CUSOLVER_STATUS_ALLOC_FAILED:
        return "resource allocation failed (ALLOC_FAILED)";
    case CUSOLVER_STATUS_INVALID_VALUE:
        return "invalid value";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
        return "architecture mismatch";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
        return "execution failed on the device";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
        return "internal error";
    default:
        return "unknown cuSOLVER status";
    }
}

const char *curand_status_text(curandStatus_t status) {
    switch (status) {
    case CURAND_STATUS_NOT_INITIALIZED:
        return "generator not initialised";
    case CURAND_STATUS_ALLOCATION_FAILED:
        return "memory allocation failed (out of memory)";
    case CURAND_STATUS_TYPE_ERROR:
        return "wrong generator type";
    case CURAND_STATUS_OUT_OF_RANGE:
        return "argument out of range";
    case CURAND_STATUS_LAUNCH_FAILURE:
        return "kernel launch failure";
    case CURAND_STATUS_INITIALIZATION_FAILED:
        return "initialisation failed (no driver?)";
    default:
        return "unknown cuRAND status";
    }
}
