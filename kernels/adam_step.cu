/* adam_step.cu — AdamW on the device, one thread per parameter (twin: host/cpu/adam_step_cpu.c).
 *
 *   m1 ← β1 m1 + (1−β1) g,  m2 ← β2 m2 + (1−β2) g²,  p ← p − lr (m̂1/(√m̂2 + ε) + wd p)
 * The bias corrections 1 − βᵗ are formed on the host exactly as the twin forms them; the element
 * update is adam_element (include/ddm/kernel_math.h), the same code the CPU test runs.
 */
#include <cmath>

#include "cuda_check.h"
#include "ddm/kernel_math.h"

namespace {

__global__ void adam_step_kernel(int count, float *param, const float *grad, float *m1, float *m2,
                                 float lr, float beta1, float beta2, float epsilon,
                                 float weight_decay, float correction1, float correction2) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x)
        adam_element(&param[i], grad[i], &m1[i], &m2[i], lr, beta1, beta2, epsilon, weight_decay,
                     correction1, correction2);
}

} // namespace

extern "C" int adam_step_cuda(int count, float *d_param, const float *d_grad, float *d_m1,
                              float *d_m2, float lr, float beta1, float beta2, float epsilon,
                              float weight_decay, long t, void *stream) {
    const float correction1 = 1.0f - powf(beta1, (float)t);
    const float correction2 = 1.0f - powf(beta2, (float)t);
    cudaStream_t s = (cudaStream_t)stream;
    const int blocks = count > 0 ? (count + 255) / 256 : 1;
    adam_step_kernel<<<blocks, 256, 0, s>>>(count, d_param, d_grad, d_m1, d_m2, lr, beta1, beta2,
                                            epsilon, weight_decay, correction1, correction2);
    CUDA_LAUNCH_CHECK(s);
    return 0;
}
