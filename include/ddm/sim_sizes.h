/* sim_sizes.h — every size of a simulation derived from the configuration, in one place: the
 * recorded times per block, the steps of the longest block, a shard's trajectories, and the
 * floats of the model, block and input buffers. host/sim/simulate.c cuts and allocates by them,
 * host/run/memory_need.c estimates a run's peak from them, kernels/backend_cuda_sim.cu sizes its
 * device and pinned buffers with them, host/run/run.c cuts its shard with them: a change here is a
 * change everywhere at once. Plain C, usable from CUDA host code too.
 */
#ifndef DDM_SIM_SIZES_H
#define DDM_SIM_SIZES_H

#include <stddef.h>

/* The burn-in runs in chunks of at most this many steps (one backend block each, nothing kept). */
enum { SIM_BURN_IN_CHUNK = 10000 };

/* Recorded times per block: about 4 MB (2²⁰ floats) of latent read-out of the whole ensemble,
 * at least 1, at most T − 1 (all but t = 0, which the run records from the states). Sized by
 * the whole ensemble's B_total, so that a shard and a resumed run cut their blocks at the same
 * steps as the whole, uninterrupted run. */
static inline long sim_records_per_block(long B_total, int k, long T) {
    const long values = B_total * k;
    long per_block = values > 0 ? (1L << 20) / values : T; /* no values: as if unbounded */
    if (per_block < 1) per_block = 1;
    if (per_block > T - 1) per_block = T - 1 > 0 ? T - 1 : 1;
    return per_block;
}

/* Steps of the longest block: a recorded block (records × record_every steps) or a burn-in
 * chunk; the per-step input buffers hold this many rows. */
static inline long sim_block_steps(long records_per_block, int record_every) {
    const long recorded = records_per_block * record_every;
    return recorded > SIM_BURN_IN_CHUNK ? recorded : (long)SIM_BURN_IN_CHUNK;
}

/* Shard `index` of `count` of B_total trajectories: global ones [*first, *end), floor(i·B/N) …
 * floor((i+1)·B/N) − 1, so the sizes differ by at most one and the shards tile the ensemble. */
static inline void sim_shard_range(long B_total, int index, int count, long *first, long *end) {
    *first = B_total * index / count;
    *end = B_total * (index + 1) / count;
}

/* Floats of the model a simulation holds: Γ̂, Ŵ_s, Γ̂⁺ (n,k) each, b (n), and the diffusion:
 * the constant Ŝ (k,m), or the state-dependent read-out V (km,n) with its offset c (km). */
static inline size_t sim_model_floats(int n, int k, int m, int state_dependent) {
    const size_t nk = (size_t)n * k, km = (size_t)k * m;
    return 3 * nk + n + (state_dependent ? km * n + km : km);
}

/* Floats of one block's outputs and input: the latent read-out (B, records, k), the traces
 * (trace_B, records, trace_n), the per-step input (steps, k). */
static inline size_t sim_latent_floats(long B, long records, int k) {
    return (size_t)B * records * k;
}
static inline size_t sim_trace_floats(long trace_B, long records, int trace_n) {
    return (size_t)trace_B * records * trace_n;
}
static inline size_t sim_input_floats(long steps, int k) {
    return (size_t)steps * k;
}

#endif
