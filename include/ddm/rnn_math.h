/* rnn_math.h — the per-trajectory arithmetic of one Euler–Maruyama step, shared by the CPU twin,
 * the vectorised CPU path and the CUDA kernel (DDM_HD: __host__ __device__ under nvcc), so that
 * the logic each GPU thread runs is tested on the CPU.
 *
 * Step (docs/design.md §4), with h = tanh(x), a = Ŵ_s h and Ŝ(x) the diffusion:
 *   x ← x + (Δt/τ)(−x + b) + Γ̂ coef + σ_n √Δt η,   coef = (Δt/τ)(a + û) + √Δt Ŝ(x) ξ.
 * Γ̂ coef is the only coupling: O(nk) work per step, W = Γ̂Ŵ_s is never formed.
 */
#ifndef DDM_RNN_MATH_H
#define DDM_RNN_MATH_H

#include "ddm/philox.h"

/* coef (k) = (Δt/τ)(a + û) + √Δt Ŝ ξ, with Ŝ (k,m) row-major and input û (k) or NULL. */
DDM_HD void rnn_coefficients(int k, int m, const float *a, const float *input, const float *S,
                             const float *xi, float dt_over_tau, float sqrt_dt, float *coef) {
    for (int c = 0; c < k; c++) {
        float noise = 0.0f;
        for (int j = 0; j < m; j++) noise += S[c * m + j] * xi[j];
        coef[c] = dt_over_tau * (a[c] + (input ? input[c] : 0.0f)) + sqrt_dt * noise;
    }
}

/* State-dependent diffusion Ŝ (k*m) = V tanh(x) + c, from the reduction sv = V tanh(x). */
DDM_HD void rnn_state_diffusion(int km, const float *sv, const float *c, float *S) {
    for (int q = 0; q < km; q++) S[q] = sv[q] + c[q];
}

/* The update of one neuron: x_i (1 − Δt/τ) + (Δt/τ) b_i + Γ̂_i·coef + σ_n √Δt η_i. */
DDM_HD float rnn_neuron_update(int k, float x, float bias, const float *gamma_row,
                               const float *coef, float decay, float dt_over_tau,
                               float neuron_kick) {
    float next = x * decay + dt_over_tau * bias;
    for (int c = 0; c < k; c++) next += gamma_row[c] * coef[c];
    return next + neuron_kick;
}

#endif
