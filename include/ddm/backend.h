/* backend.h — the one small interface behind which the CPU and CUDA backends sit (STYLE rule 3).
 *
 * Everything above it (configuration, training loop, simulation driver, HDF5, analysis) is
 * backend-agnostic. A backend keeps its data where it computes (host memory or the GPU) inside
 * an opaque context, and exchanges plain host arrays at the boundary:
 *   training   — the fused perceptron forward/backward + Adam over mini-batches, and the hidden-
 *                layer Gram matrix for the closed-form ridge start (docs/design.md §3);
 *   simulation — Euler–Maruyama of B trajectories for many steps, recording the latent read-out
 *                and a few neuron traces, with noise keyed by (seed, trajectory, step) (§4).
 * Letters: B trajectories, T recorded times, n neurons, k latent dims, m noise dims, M points.
 */
#ifndef DDM_BACKEND_H
#define DDM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ddm/error.h"
#include "ddm/model.h"

/* Training points in normalised coordinates (the train split only). */
struct ddm_train_data {
    int M;
    const float *Z; /* (M,k) inputs ẑ */
    const float *Y; /* (M,k) targets τ f̂(ẑ) + ẑ */
};

/* Adam with decoupled weight decay (AdamW); `step` counts updates for the bias correction.
 * readout_fixed: only Γ̂ and b move, Ŵ_s (and its moments) stay as they are. */
struct ddm_adam {
    double beta1, beta2, epsilon, weight_decay;
    long step;
    int readout_fixed;
};

struct ddm_sim_setup {
    const struct ddm_model *model;
    int B;                     /* trajectories in this context */
    uint64_t first_trajectory; /* global index of trajectory 0, which keys its noise (shards) */
    uint64_t noise_seed;       /* stream seed of ξ, shared with the coupled target */
    uint64_t neuron_seed;      /* stream seed of the per-neuron noise η */
    double dt;
    double neuron_noise; /* σ_n, 0 for none */
    int trace_B;         /* trajectories 0..trace_B-1 are traced */
    int trace_n;
    const int *trace_neurons; /* (trace_n) neuron indices */
    const float *x0;          /* (B,n) initial states */
};

/* One block of steps: `records` × `record_every` steps starting at global step `step0`. */
struct ddm_sim_block {
    uint64_t step0;
    int records;
    int record_every;
    const float *input; /* (records*record_every, k) normalised input û per step, or NULL */
    float *latent; /* (B, records, k) out: z = μ + s ⊙ Γ̂⁺(x − b) after each record_every steps */
    float *traces; /* (trace_B, records, trace_n) out: x of the traced neurons, or NULL */
    /* out: the first trajectory (index within this context) whose state became non-finite in
     * this block and the global step at which it was detected; -1 when none. */
    long nonfinite_trajectory;
    uint64_t nonfinite_step;
    /* out, optional (NULL: not wanted): (B) the global step at which each trajectory became
     * non-finite in this block, UINT64_MAX for one that did not (alive, or dead before it). */
    uint64_t *died;
    /* (records*record_every, k*m) the diffusion's terms with t, ŝ(t), per step, added to Ŝ(x)
     * (a diffusion that uses t); NULL for none */
    const float *noise_input;
};

struct ddm_backend {
    const char *name; /* "cpu" or "cuda" */
    char device[256]; /* what runs it, for the summary and the HDF5 file */

    int (*train_create)(const struct ddm_model *model, const struct ddm_train_data *data,
                        void **ctx, struct ddm_error *err);
    /* Copies Γ̂, b, Ŵ_s into the context (to_ctx = 1) or out of it into model (to_ctx = 0). */
    int (*train_params)(void *ctx, struct ddm_model *model, int to_ctx, struct ddm_error *err);
    /* Over the M training points with features φ = (tanh(Γ̂ẑ + b), 1) (n+1):
     * gram (n+1,n+1) = Σ φφᵀ and cross (n+1,width) = Σ φ targetᵀ, in double.
     * targets: (M,width), or NULL for the Y given at creation (width = k). */
    int (*train_gram)(void *ctx, const float *targets, int width, double *gram, double *cross,
                      struct ddm_error *err);
    /* One epoch of Adam: mini-batches of `batch` points in the given order (M indices);
     * returns the mean loss over the epoch's batches, L = mean ‖Ŵ_s tanh(Γ̂ẑ+b) − y‖². */
    int (*train_epoch)(void *ctx, const int *order, int batch, double lr, struct ddm_adam *adam,
                       double *mean_loss, struct ddm_error *err);
    /* Copies the Adam moments m1, m2 (2nk + n each, laid out as the parameters: Γ̂ (n,k), b (n),
     * Ŵ_s (k,n)) into the context (to_ctx = 1) or out of it (to_ctx = 0): training checkpoints. */
    int (*train_moments)(void *ctx, float *m1, float *m2, int to_ctx, struct ddm_error *err);
    void (*train_destroy)(void *ctx);

    int (*sim_create)(const struct ddm_sim_setup *setup, void **ctx, struct ddm_error *err);
    int (*sim_advance)(void *ctx, struct ddm_sim_block *block, struct ddm_error *err);
    /* Copies the current states (B,n) out, for checkpoints and tests. */
    int (*sim_state)(void *ctx, float *x, struct ddm_error *err);
    void (*sim_destroy)(void *ctx);

    /* The simulation driver's pair (host/sim/simulate.c), launch + collect = advance: sim_launch
     * starts the steps of a block (input is copied at once) and sim_collect writes its latent,
     * traces and nonfinite_* into `block` (the same block description) and the backend's own
     * time for it into *device_seconds. sim_queue says how they run: 2 (the GPU) queues the steps
     * and returns, at most two blocks in flight, no output written before the collect of the
     * oldest, so the driver launches block i+1 before it writes block i (double-buffered
     * recording); 1 (the CPU) runs the steps in sim_launch into the block's own arrays and
     * sim_collect only hands over the outcome, so the driver collects each block before the
     * next launch. */
    int sim_queue;
    int (*sim_launch)(void *ctx, const struct ddm_sim_block *block, struct ddm_error *err);
    int (*sim_collect)(void *ctx, struct ddm_sim_block *block, double *device_seconds,
                       struct ddm_error *err);
    /* Optional members: NULL where a backend has none (the CPU backend has none). */
    /* Solves (G + shift I) X = C where the backend keeps G, C of its last train_gram: the leading
     * `features` rows and columns of G, the first `features` rows of C; solution (features,width)
     * row-major; *info = 0, or > 0 when G + shift I is not positive definite (as LAPACK's). */
    int (*train_solve)(void *ctx, int features, double shift, double *solution, int *info,
                       struct ddm_error *err);
    /* The device's free and total memory now (cudaMemGetInfo), for the up-front check of a run's
     * sizes (host/run/limits.c). */
    int (*memory_free)(size_t *free_bytes, size_t *total_bytes, struct ddm_error *err);
};

/* The CPU backend: always built. `threads` = 0 uses all cores. */
const struct ddm_backend *backend_cpu(int threads);
/* The same with the simulation through the plain-loop twin (tests and benchmarks). */
const struct ddm_backend *backend_cpu_reference(int threads);

/* The CUDA backend, or NULL (with err filled) when it was not built or no device is present. */
const struct ddm_backend *backend_cuda(int device, struct ddm_error *err);

/* The reason given in "backend auto: CPU (...)" for what backend_cuda said. */
const char *backend_cpu_reason(const char *cuda_message);

/* Chooses per [run] backend = auto|cpu|cuda (enum backend_choice); auto says which once. */
const struct ddm_backend *backend_select(int choice, int device, int threads, int quiet,
                                         struct ddm_error *err);

#endif
