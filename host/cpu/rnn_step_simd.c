/* rnn_step_simd.c — the fast CPU simulation path: one fused pass over the neurons per step.
 *
 * For each step of one trajectory (docs/design.md §4, §8): x ← x(1 − Δt/τ) + (Δt/τ)b + Γ̂ coef (+
 * η), h = tanh(x), a ← Ŵ_s h — update, tanh and the next step's k-vector reduction in the same
 * pass, with x (n floats) resident in L1 and the vector tanh of simd.h. The body is written once
 * and compiled once per instruction set and tanh (Makefile: _avx512.o, _avx2.o, _avx512_sleef.o,
 * _avx2_sleef.o); the backend picks one at run time. It is always_inline'd with k constant so the k
 * accumulators stay in registers. The reduction half alone (rnn_reduce_*) gives a context created
 * from saved states the very a the pass would have carried, so a resumed run continues bit for bit.
 */
#include <math.h>
#include <stdint.h>

#include "rnn_fast.h"

#include "simd.h"

#define RNN_ADVANCE SIMD_NAME(rnn_advance)
#define RNN_REDUCE  SIMD_NAME(rnn_reduce)

/* One fused pass; k is a compile-time constant after inlining into the switch below. */
static inline __attribute__((always_inline)) void fused_pass(const struct rnn_plan *p,
                                                             struct rnn_trajectory *traj,
                                                             const float *coef, int with_kick,
                                                             int keep_hidden, const int k) {
    vec coef_v[8], acc[8];
    for (int c = 0; c < k; c++) {
        coef_v[c] = vec_set1(coef[c]);
        acc[c] = vec_zero();
    }
    const vec decay = vec_set1(p->decay);
    float *x = traj->x;
    for (int i = 0; i < p->n_pad; i += LANES) {
        vec xi = vec_fma(vec_load(x + i), decay, vec_load(p->bias_term + i));
        for (int c = 0; c < k; c++)
            xi = vec_fma(vec_load(p->gamma_t + (size_t)c * p->n_pad + i), coef_v[c], xi);
        if (with_kick) xi = vec_add(xi, vec_load(traj->kick + i));
        vec_store(x + i, xi);
        vec h = vec_tanh(xi);
        if (keep_hidden) vec_store(traj->hidden + i, h);
        for (int c = 0; c < k; c++)
            acc[c] = vec_fma(vec_load(p->ws + (size_t)c * p->n_pad + i), h, acc[c]);
    }
    for (int c = 0; c < k; c++) traj->a[c] = vec_sum(acc[c]);
}

/* The reduction half of the fused pass alone, a = Ŵ_s tanh(x) of the current x, with the same
 * operations in the same order: the a a trajectory starts from (or resumes from, after a
 * checkpoint) is bit for bit the a the pass would have carried over. */
static inline __attribute__((always_inline)) void
reduce_pass(const struct rnn_plan *p, struct rnn_trajectory *traj, int keep_hidden, const int k) {
    vec acc[8];
    for (int c = 0; c < k; c++) acc[c] = vec_zero();
    for (int i = 0; i < p->n_pad; i += LANES) {
        vec h = vec_tanh(vec_load(traj->x + i));
        if (keep_hidden) vec_store(traj->hidden + i, h);
        for (int c = 0; c < k; c++)
            acc[c] = vec_fma(vec_load(p->ws + (size_t)c * p->n_pad + i), h, acc[c]);
    }
    for (int c = 0; c < k; c++) traj->a[c] = vec_sum(acc[c]);
}

static void fused_pass_any(const struct rnn_plan *p, struct rnn_trajectory *traj, const float *coef,
                           int with_kick, int keep_hidden) {
    switch (p->k) {
    case 1:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 1);
        break;
    case 2:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 2);
        break;
    case 3:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 3);
        break;
    case 4:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 4);
        break;
    case 5:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 5);
        break;
    case 6:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 6);
        break;
    case 7:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 7);
        break;
    default:
        fused_pass(p, traj, coef, with_kick, keep_hidden, 8);
        break;
    }
}

/* sv = V h for the state-dependent diffusion, from the hidden layer kept by the pass. */
static void diffusion_readout(const struct rnn_plan *p, struct rnn_trajectory *traj) {
    for (int q = 0; q < p->k * p->m; q++) {
        vec acc = vec_zero();
        const float *row = p->v + (size_t)q * p->n_pad;
        for (int i = 0; i < p->n_pad; i += LANES)
            acc = vec_fma(vec_load(row + i), vec_load(traj->hidden + i), acc);
        traj->sv[q] = vec_sum(acc);
    }
}

void RNN_REDUCE(const struct rnn_plan *plan, struct rnn_trajectory *traj) {
    const int keep_hidden = plan->v != NULL;
    switch (plan->k) {
    case 1:
        reduce_pass(plan, traj, keep_hidden, 1);
        break;
    case 2:
        reduce_pass(plan, traj, keep_hidden, 2);
        break;
    case 3:
        reduce_pass(plan, traj, keep_hidden, 3);
        break;
    case 4:
        reduce_pass(plan, traj, keep_hidden, 4);
        break;
    case 5:
        reduce_pass(plan, traj, keep_hidden, 5);
        break;
    case 6:
        reduce_pass(plan, traj, keep_hidden, 6);
        break;
    case 7:
        reduce_pass(plan, traj, keep_hidden, 7);
        break;
    default:
        reduce_pass(plan, traj, keep_hidden, 8);
        break;
    }
    if (keep_hidden) diffusion_readout(plan, traj);
}

uint64_t RNN_ADVANCE(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                     const struct ddm_sim_block *block) {
    const int with_kick = plan->neuron_kick > 0, keep_hidden = plan->v != NULL;
    for (int r = 0; r < block->records; r++) {
        if (traj->dead) {
            rnn_record_dead(plan, t, block, r);
            return UINT64_MAX;
        }
        for (int s = 0; s < block->record_every; s++) {
            uint64_t step = block->step0 + (uint64_t)r * block->record_every + (uint64_t)s;
            const float *input =
                block->input ? block->input + ((size_t)r * block->record_every + s) * plan->k
                             : NULL;
            const float *noise_input =
                block->noise_input
                    ? block->noise_input + ((size_t)r * block->record_every + s) * plan->k * plan->m
                    : NULL;
            float coef[8];
            rnn_step_coefficients(plan, traj, t, step, input, noise_input, coef);
            if (with_kick) rnn_neuron_kicks(plan, traj, t, step);
            fused_pass_any(plan, traj, coef, with_kick, keep_hidden);
            if (keep_hidden) diffusion_readout(plan, traj);
            float check = 0;
            for (int c = 0; c < plan->k; c++) check += traj->a[c];
            if (!isfinite(check)) {
                traj->dead = 1;
                rnn_record_dead(plan, t, block, r);
                return step;
            }
        }
        if (rnn_record(plan, traj, t, block, r)) {
            traj->dead = 1;
            rnn_record_dead(plan, t, block, r + 1);
            return block->step0 + (uint64_t)(r + 1) * block->record_every - 1;
        }
    }
    return UINT64_MAX;
}
