/* mlp_grad_simd.c — the vectorised perceptron forward/backward (docs/design.md §3), twin of
 * mlp_grad_cpu.
 *
 * Per tile of MLP_TILE points: forward h = tanh(Γ̂ẑ + b) across neurons (16 or 8 lanes, the
 * tanh of simd.h), out = Ŵ_s h, r = out − y; backward with the tile's h kept (MLP_TILE × n floats,
 * never the whole n×M matrix): ∂Ŵ_s += r hᵀ, g = (Ŵ_sᵀ r)(1 − h²), ∂Γ̂ += g ẑᵀ, ∂b += g. One tanh
 * per point and neuron (the twin computes it twice). Compiled once per instruction set and tanh.
 */
#include <string.h>

#include "mlp_fast.h"
#include "simd.h"

#define MLP_GRAD SIMD_NAME(mlp_grad)

/* Forward and backward of one tile into the slot's partial sums; k constant after inlining. */
static inline __attribute__((always_inline)) double
tile_pass(const struct mlp_workspace *ws, int slot, int first, int count, const float *Z,
          const float *Y, const int *index, float *residual, const int k) {
    const int n_pad = ws->n_pad;
    float *hidden = ws->hidden + (size_t)slot * MLP_TILE * n_pad;
    float *partial = ws->partial + (size_t)slot * (2 * k + 1) * n_pad;
    float r[MLP_TILE][8], z[MLP_TILE][8];
    /* the forward leaves each point's k output sums as vectors across neurons; their lanes are
     * added LANES points at a time afterwards (vec_sum_each), off the forward's critical path */
    vec out[8][MLP_TILE];
    for (int s = 0; s < MLP_TILE; s++) {
        for (int c = 0; c < k; c++) out[c][s] = vec_zero();
        if (s >= count) continue;
        const int p = index ? index[first + s] : first + s;
        vec zv[8];
        for (int c = 0; c < k; c++) {
            z[s][c] = Z[(size_t)p * k + c];
            zv[c] = vec_set1(z[s][c]);
        }
        float *h_row = hidden + (size_t)s * n_pad;
        for (int i = 0; i < n_pad; i += LANES) {
            vec pre = vec_load(ws->bias + i);
            for (int c = 0; c < k; c++)
                pre = vec_fma(vec_load(ws->gamma_t + (size_t)c * n_pad + i), zv[c], pre);
            vec h = vec_tanh(pre);
            vec_store(h_row + i, h);
            for (int c = 0; c < k; c++)
                out[c][s] = vec_fma(vec_load(ws->ws + (size_t)c * n_pad + i), h, out[c][s]);
        }
    }
    float sum[8][MLP_TILE] __attribute__((aligned(64)));
    for (int c = 0; c < k; c++)
        for (int s = 0; s < count; s += LANES) vec_store(&sum[c][s], vec_sum_each(&out[c][s]));
    double loss = 0;
    for (int s = 0; s < count; s++) {
        const int p = index ? index[first + s] : first + s;
        for (int c = 0; c < k; c++) {
            r[s][c] = sum[c][s] - Y[(size_t)p * k + c];
            residual[(size_t)(first + s) * k + c] = r[s][c];
            loss += (double)r[s][c] * r[s][c];
        }
    }
    /* padded neurons have h = tanh(0) = 0 and Ŵ_s = 0: their sums stay 0 and are never read */
    const vec one = vec_set1(1.0f);
    for (int i = 0; i < n_pad; i += LANES) {
        vec w[8], g_ws[8], g_gamma[8];
        for (int c = 0; c < k; c++) {
            w[c] = vec_load(ws->ws + (size_t)c * n_pad + i);
            g_ws[c] = vec_load(partial + (size_t)c * n_pad + i);
            g_gamma[c] = vec_load(partial + (size_t)(k + c) * n_pad + i);
        }
        vec g_b = vec_load(partial + (size_t)2 * k * n_pad + i);
        for (int s = 0; s < count; s++) {
            vec h = vec_load(hidden + (size_t)s * n_pad + i);
            vec back = vec_zero();
            for (int c = 0; c < k; c++) {
                vec rc = vec_set1(r[s][c]);
                g_ws[c] = vec_fma(rc, h, g_ws[c]);
                back = vec_fma(w[c], rc, back);
            }
            vec slope = vec_fnma(h, h, one);
            vec g_pre = vec_mul(back, slope);
            for (int c = 0; c < k; c++) g_gamma[c] = vec_fma(g_pre, vec_set1(z[s][c]), g_gamma[c]);
            g_b = vec_add(g_b, g_pre);
        }
        for (int c = 0; c < k; c++) {
            vec_store(partial + (size_t)c * n_pad + i, g_ws[c]);
            vec_store(partial + (size_t)(k + c) * n_pad + i, g_gamma[c]);
        }
        vec_store(partial + (size_t)2 * k * n_pad + i, g_b);
    }
    return loss;
}

static double tile_pass_any(const struct mlp_workspace *ws, int slot, int first, int count,
                            const float *Z, const float *Y, const int *index, float *residual) {
    switch (ws->k) {
    case 1:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 1);
    case 2:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 2);
    case 3:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 3);
    case 4:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 4);
    case 5:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 5);
    case 6:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 6);
    case 7:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 7);
    default:
        return tile_pass(ws, slot, first, count, Z, Y, index, residual, 8);
    }
}

void MLP_GRAD(struct mlp_workspace *ws, int M, const float *Gamma, const float *b, const float *Ws,
              const float *Z, const float *Y, const int *index, float *residual, float *grad_Gamma,
              float *grad_b, float *grad_Ws, double *loss) {
    const int n = ws->n, n_pad = ws->n_pad, k = ws->k, rows = 2 * k + 1;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < k; c++) {
            ws->gamma_t[(size_t)c * n_pad + i] = Gamma[(size_t)i * k + c];
            ws->ws[(size_t)c * n_pad + i] = Ws[(size_t)c * n + i];
        }
        ws->bias[i] = b[i];
    }
    const int tiles = (M + MLP_TILE - 1) / MLP_TILE;
    /* a mini-batch too small to share is one slot: one thread's sums, nothing to add up after.
     * The choice depends on M and n only, so the result still does not depend on the threads. */
    const int parallel = (size_t)M * n_pad >= MLP_PARALLEL_MIN;
    const int stride = parallel ? MLP_SLOTS : 1;
    const int slots = tiles < stride ? tiles : stride;
    const size_t slot_floats = (size_t)rows * n_pad;
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(dynamic, 1)
        for (int slot = 0; slot < slots; slot++) {
            memset(ws->partial + slot * slot_floats, 0, sizeof(float) * slot_floats);
            ws->loss[slot] = 0;
            for (int tile = slot; tile < tiles; tile += stride) {
                int first = tile * MLP_TILE, count = M - first < MLP_TILE ? M - first : MLP_TILE;
                ws->loss[slot] += tile_pass_any(ws, slot, first, count, Z, Y, index, residual);
            }
        }
        /* slot 0 takes the sum of the slots, in slot order for every entry (the same additions
         * in the same order whatever the threads), 16 or 8 entries per instruction; the threads
         * share the entries */
#pragma omp for schedule(static)
        for (size_t q = 0; q < slot_floats; q += LANES) {
            vec sum = vec_load(ws->partial + q);
            for (int slot = 1; slot < slots; slot++)
                sum = vec_add(sum, vec_load(ws->partial + slot * slot_floats + q));
            vec_store(ws->partial + q, sum);
        }
    }
    /* scale: ∂L/∂θ = (2/M) Σ */
    double total = 0;
    for (int slot = 0; slot < slots; slot++) total += ws->loss[slot];
    *loss = total / M;
    const float scale = 2.0f / M;
    for (int row = 0; row < rows; row++) {
        const float *sum = ws->partial + (size_t)row * n_pad;
        for (int i = 0; i < n; i++) {
            const float grad = sum[i] * scale;
            if (row < k)
                grad_Ws[(size_t)row * n + i] = grad;
            else if (row < 2 * k)
                grad_Gamma[(size_t)i * k + (row - k)] = grad;
            else
                grad_b[i] = grad;
        }
    }
}
