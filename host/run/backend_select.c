/* backend_select.c — choosing the backend per [run] backend = auto|cpu|cuda (STYLE rule 3).
 *
 * auto takes CUDA when the build has it and a device answers, and says which it took, once;
 * cuda without a usable device is an error, never a silent fallback to the CPU.
 */
#include <stdio.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/config.h"

#ifndef DDM_WITH_CUDA
const struct ddm_backend *backend_cuda(int device, struct ddm_error *err) {
    (void)device;
    ddm_fail(err, DDM_ERUNTIME,
             "this build has no CUDA backend (nvcc was not found when it was built; install the "
             "CUDA toolkit and rebuild with make CUDA=1)");
    return NULL;
}
#endif

/* Not an error: the CPU is the normal backend of a machine without a GPU, so the line says so
 * calmly (the driver's "CUDA driver version is insufficient ..." read as a failure); its own
 * words stay one setting away. */
const char *backend_cpu_reason(const char *cuda_message) {
    if (strstr(cuda_message, "no CUDA backend"))
        return "this build has no CUDA backend; the CPU is its backend";
    if (strstr(cuda_message, "no CUDA device"))
        return "no CUDA GPU on this machine; [run] backend = cuda says why if one was expected";
    return cuda_message; /* something else went wrong with a GPU that is there: say it */
}

const struct ddm_backend *backend_select(int choice, int device, int threads, int quiet,
                                         struct ddm_error *err) {
    if (choice == BACKEND_CPU) return backend_cpu(threads);
    struct ddm_error why = {0};
    const struct ddm_backend *cuda = backend_cuda(device, &why);
    if (cuda) {
        if (choice != BACKEND_CUDA && !quiet)
            fprintf(stderr, "backend auto: CUDA (%s)\n", cuda->device);
        return cuda;
    }
    if (choice == BACKEND_CUDA) {
        ddm_fail(err, DDM_ERUNTIME, "[run] backend = cuda: %s", why.message);
        return NULL;
    }
    const struct ddm_backend *cpu = backend_cpu(threads);
    if (!quiet) fprintf(stderr, "backend auto: CPU (%s)\n", backend_cpu_reason(why.message));
    return cpu;
}
