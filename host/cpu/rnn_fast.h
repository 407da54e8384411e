/* rnn_fast.h — private to the CPU backend: the layout used by the fast simulation path.
 *
 * The weights are stored per latent coordinate as rows padded to a multiple of 16 neurons
 * (zeros in the padding keep padded neurons at x = 0, tanh = 0, so they never contribute), so
 * the fused step streams contiguous vectors. One trajectory's state is its padded x (n_pad), plus
 * the reductions a = Ŵ_s tanh(x) (k) and sv = V tanh(x) (k*m) carried over from its last step.
 */
#ifndef DDM_RNN_FAST_H
#define DDM_RNN_FAST_H

#include <stdint.h>

#include "ddm/backend.h"

struct rnn_plan {
    const struct ddm_model *model;
    int n, n_pad, k, m;
    float dt, dt_over_tau, decay, sqrt_dt;
    float neuron_noise; /* σ_n */
    float neuron_kick;  /* σ_n √Δt */
    const float *S;     /* (k,m) constant Ŝ, or NULL */
    const float *c;     /* (k*m) bias of the state-dependent diffusion */
    float *gamma_t;     /* (k, n_pad) Γ̂ transposed */
    float *ws;          /* (k, n_pad) Ŵ_s */
    float *v;           /* (k*m, n_pad) V, or NULL */
    float *bias_term;   /* (n_pad) (Δt/τ) b */
    float *bias;        /* (n_pad) b */
    float *pinv;        /* (k, n_pad) Γ̂⁺ */
    double latent_mean[8], latent_scale[8];
    uint64_t first_trajectory, noise_seed, neuron_seed;
    int trace_B, trace_n;
    const int *trace_neurons;
};

/* One trajectory: state and scratch, all of n_pad floats, 64-byte aligned. */
struct rnn_trajectory {
    float *x;      /* (n_pad) */
    float *hidden; /* (n_pad) tanh(x), kept when V needs it */
    float *kick;   /* (n_pad) σ_n √Δt η */
    float a[8];    /* Ŵ_s tanh(x) */
    float sv[64];  /* V tanh(x) */
    int dead;      /* became non-finite: no longer advanced */
};

/* Advances trajectory `t` (index within the context) through a whole block, writing its rows of
 * block->latent and block->traces; returns the global step at which it became non-finite, or
 * UINT64_MAX. One version per instruction set and tanh (rnn_step_simd.c), one portable
 * (backend_cpu.c). */
typedef uint64_t (*rnn_advance_fn)(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                                   const struct ddm_sim_block *block);

uint64_t rnn_advance_avx512(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                            const struct ddm_sim_block *block);
uint64_t rnn_advance_avx2(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                          const struct ddm_sim_block *block);
uint64_t rnn_advance_avx512_sleef(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                                  const struct ddm_sim_block *block);
uint64_t rnn_advance_avx2_sleef(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                                const struct ddm_sim_block *block);
/* The portable version: the CPU twin rnn_step_cpu, one step at a time. */
uint64_t rnn_advance_reference(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                               const struct ddm_sim_block *block);

/* The reductions a, sv of the current x, at creation (a fresh start, or a resumed one). Each
 * vectorised version has its own, computing exactly what its fused pass carries from one step to
 * the next, so a context created from the states of a checkpoint continues bit for bit. */
typedef void (*rnn_reduce_fn)(const struct rnn_plan *plan, struct rnn_trajectory *traj);
void rnn_reduce_avx512(const struct rnn_plan *plan, struct rnn_trajectory *traj);
void rnn_reduce_avx2(const struct rnn_plan *plan, struct rnn_trajectory *traj);
void rnn_reduce_avx512_sleef(const struct rnn_plan *plan, struct rnn_trajectory *traj);
void rnn_reduce_avx2_sleef(const struct rnn_plan *plan, struct rnn_trajectory *traj);
/* The portable one (the reference version recomputes a from x every step anyway). */
void rnn_reduce_state(const struct rnn_plan *plan, struct rnn_trajectory *traj);

/* Shared by all versions: the per-step coefficients (with the input û and the diffusion's terms
 * with t ŝ (k*m) added to Ŝ, either NULL) and the recording of one sample. */
void rnn_step_coefficients(const struct rnn_plan *plan, const struct rnn_trajectory *traj, int t,
                           uint64_t step, const float *input, const float *noise_input,
                           float *coef);
/* Fills traj->kick with σ_n √Δt η for the step (when σ_n > 0). */
void rnn_neuron_kicks(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                      uint64_t step);
/* Writes record `record` of trajectory t; returns 0, or -1 when the read-out is not finite. */
int rnn_record(const struct rnn_plan *plan, const struct rnn_trajectory *traj, int t,
               const struct ddm_sim_block *block, int record);
/* Marks the rest of the block (records from `record` on) as NaN for a dead trajectory. */
void rnn_record_dead(const struct rnn_plan *plan, int t, const struct ddm_sim_block *block,
                     int record);

#endif
