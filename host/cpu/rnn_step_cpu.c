/* rnn_step_cpu.c — the CPU twin of one Euler–Maruyama step of the network (docs/design.md §4).
 *
 * Plain loops in a fixed order with explicit noise: the specification against which the
 * vectorised CPU path and the CUDA kernel are tested. Reductions accumulate in double.
 */
#include <math.h>
#include <stdlib.h>

#include "ddm/ops.h"
#include "ddm/rnn_math.h"
#include "ddm/system.h"

void rnn_step_cpu(int B, int n, int k, int m, const float *Gamma, const float *Ws, const float *b,
                  const float *S, const float *V, const float *c, float tau, float dt,
                  const float *input, const float *xi, float neuron_noise, const float *eta,
                  float *x) {
    const float dt_over_tau = dt / tau, decay = 1.0f - dt_over_tau, sqrt_dt = sqrtf(dt);
    const int km = k * m;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < B; t++) {
        float *xt = x + (size_t)t * n;
        double a_acc[DDM_MAX_K] = {0}, sv_acc[DDM_MAX_K * DDM_MAX_M] = {0};
        for (int i = 0; i < n; i++) {
            double h = tanh((double)xt[i]);
            for (int q = 0; q < k; q++) a_acc[q] += (double)Ws[(size_t)q * n + i] * h;
            if (!S)
                for (int q = 0; q < km; q++) sv_acc[q] += (double)V[(size_t)q * n + i] * h;
        }
        float a[DDM_MAX_K], sv[DDM_MAX_K * DDM_MAX_M], S_here[DDM_MAX_K * DDM_MAX_M],
            coef[DDM_MAX_K];
        for (int q = 0; q < k; q++) a[q] = (float)a_acc[q];
        const float *S_used = S;
        if (!S) {
            for (int q = 0; q < km; q++) sv[q] = (float)sv_acc[q];
            rnn_state_diffusion(km, sv, c, S_here);
            S_used = S_here;
        }
        rnn_coefficients(k, m, a, input, S_used, xi + (size_t)t * m, dt_over_tau, sqrt_dt, coef);
        for (int i = 0; i < n; i++) {
            float kick = eta ? neuron_noise * sqrt_dt * eta[(size_t)t * n + i] : 0.0f;
            xt[i] = rnn_neuron_update(k, xt[i], b[i], Gamma + (size_t)i * k, coef, decay,
                                      dt_over_tau, kick);
        }
    }
}
