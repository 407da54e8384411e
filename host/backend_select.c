/* backend_select.c — choosing the backend per [run] backend = auto|cpu|cuda (STYLE rule 3).
 *
 * auto takes CUDA when the build has it and a device answers, and says which it took, once;
 * cuda without a usable device is an error, never a silent fallback to the CPU.
 */
#include <stdio.h>

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
    if (!quiet) fprintf(stderr, "backend auto: CPU (%s)\n", why.message);
    return cpu;
}
