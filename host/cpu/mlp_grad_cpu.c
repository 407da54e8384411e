/* mlp_grad_cpu.c — the CPU twin of the fused perceptron forward/backward pass (docs/design.md §3).
 *
 * L = (1/M) Σ_s ‖r_s‖², r_s = Ŵ_s h_s − y_s, h_s = tanh(Γ̂ẑ_s + b). The n×M hidden matrix is never
 * stored: pass 1 (parallel over points) forms the residuals r (M,k); pass 2 (parallel over
 * neurons) recomputes h and accumulates, with g_pre = (Ŵ_sᵀ r) ⊙ (1 − h²),
 *   ∂L/∂Ŵ_s = (2/M) Σ r hᵀ,  ∂L/∂Γ̂ = (2/M) Σ g_pre ẑᵀ,  ∂L/∂b = (2/M) Σ g_pre.
 * Each gradient entry is summed by one thread in point order, so results do not depend on the
 * number of threads (STYLE rule 7).
 */
#include <math.h>

#include "ddm/ops.h"
#include "ddm/system.h"

static float hidden_unit(int k, const float *gamma_row, float bias, const float *z) {
    float pre = bias;
    for (int c = 0; c < k; c++) pre += gamma_row[c] * z[c];
    return tanhf(pre);
}

void mlp_grad_cpu(int n, int k, int M, const float *Gamma, const float *b, const float *Ws,
                  const float *Z, const float *Y, const int *index, float *residual,
                  float *grad_Gamma, float *grad_b, float *grad_Ws, double *loss) {
#pragma omp parallel for schedule(static)
    for (int s = 0; s < M; s++) {
        const int p = index ? index[s] : s;
        const float *z = Z + (size_t)p * k;
        double out[DDM_MAX_K] = {0};
        for (int i = 0; i < n; i++) {
            float h = hidden_unit(k, Gamma + (size_t)i * k, b[i], z);
            for (int c = 0; c < k; c++) out[c] += (double)Ws[(size_t)c * n + i] * h;
        }
        for (int c = 0; c < k; c++)
            residual[(size_t)s * k + c] = (float)(out[c] - Y[(size_t)p * k + c]);
    }
    double total = 0;
    for (size_t q = 0; q < (size_t)M * k; q++) total += (double)residual[q] * residual[q];
    *loss = total / M;

    const double scale = 2.0 / M;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double g_ws[DDM_MAX_K] = {0}, g_gamma[DDM_MAX_K] = {0}, g_bias = 0;
        for (int s = 0; s < M; s++) {
            const int p = index ? index[s] : s;
            const float *z = Z + (size_t)p * k, *r = residual + (size_t)s * k;
            float h = hidden_unit(k, Gamma + (size_t)i * k, b[i], z);
            double back = 0;
            for (int c = 0; c < k; c++) {
                g_ws[c] += (double)r[c] * h;
                back += (double)Ws[(size_t)c * n + i] * r[c];
            }
            double g_pre = back * (1.0 - (double)h * h);
            for (int c = 0; c < k; c++) g_gamma[c] += g_pre * z[c];
            g_bias += g_pre;
        }
        for (int c = 0; c < k; c++) {
            grad_Ws[(size_t)c * n + i] = (float)(scale * g_ws[c]);
            grad_Gamma[(size_t)i * k + c] = (float)(scale * g_gamma[c]);
        }
        grad_b[i] = (float)(scale * g_bias);
    }
}
