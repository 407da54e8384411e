/* adam_step_cpu.c — the CPU twin of the AdamW update (Loshchilov & Hutter's decoupled decay).
 *
 *   m1 ← β1 m1 + (1−β1) g,  m2 ← β2 m2 + (1−β2) g²,
 *   p  ← p − lr (m1/(1−β1ᵗ)) / (√(m2/(1−β2ᵗ)) + ε) − lr·wd·p
 */
#include <math.h>

#include "ddm/ops.h"

void adam_step_cpu(int count, float *param, const float *grad, float *m1, float *m2, float lr,
                   float beta1, float beta2, float epsilon, float weight_decay, long t) {
    const float correction1 = 1.0f - powf(beta1, (float)t);
    const float correction2 = 1.0f - powf(beta2, (float)t);
    for (int i = 0; i < count; i++) {
        m1[i] = beta1 * m1[i] + (1.0f - beta1) * grad[i];
        m2[i] = beta2 * m2[i] + (1.0f - beta2) * grad[i] * grad[i];
        float step = (m1[i] / correction1) / (sqrtf(m2[i] / correction2) + epsilon);
        param[i] -= lr * (step + weight_decay * param[i]);
    }
}
