/* backend_cpu.c — the CPU backend: training through the twins, simulation through the fast path.
 *
 * Training runs the twins mlp_grad_cpu and adam_step_cpu over mini-batches, and hidden_gram_cpu
 * for the ridge start. Simulation gives each OpenMP thread whole trajectories for a whole block
 * of steps (as a GPU block would), through the vectorised path chosen for this CPU at run time
 * (AVX-512 or AVX2, rnn_step_simd.c; rational tanh, or SLEEF's with DDM_CPU_TANH=sleef), or
 * through the twin for the "cpu-reference" backend.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/backend.h"
#include "ddm/ops.h"
#include "ddm/progress.h"
#include "ddm/threads.h"
#include "mlp_fast.h"
#include "rnn_fast.h"

/* ---------------------------------------------------------------------------- training */

struct cpu_train {
    int n, k, M;
    float *Z, *Y;                   /* (M,k) copies */
    float *Gamma, *b, *Ws;          /* parameters: (n,k), (n), (k,n) */
    float *grad;                    /* (n*k + n + k*n) gradients, same layout */
    float *m1, *m2;                 /* Adam moments, same layout */
    float *residual;                /* (M,k) */
    mlp_grad_fn grad_fast;          /* vectorised gradient, or NULL for the twin */
    struct mlp_workspace workspace; /* of grad_fast */
};

static void cpu_train_destroy(void *ctx) {
    struct cpu_train *tr = ctx;
    if (!tr) return;
    free(tr->Z);
    free(tr->Y);
    free(tr->Gamma); /* b and Ws live in the same allocation */
    free(tr->grad);
    free(tr->m1);
    free(tr->m2);
    free(tr->residual);
    mlp_workspace_free(&tr->workspace);
    free(tr);
}

/* The widest instruction set this CPU has, unless DDM_CPU_SIMD (avx512, avx2, none) caps it —
 * for tests of each version, and for clusters whose nodes differ from the build machine. */
enum simd_level { SIMD_NONE, SIMD_AVX2, SIMD_AVX512 };

static enum simd_level simd_level(void) {
    enum simd_level level = SIMD_NONE;
#ifdef DDM_HAVE_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = SIMD_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        level = SIMD_AVX512;
#endif
    const char *cap = getenv("DDM_CPU_SIMD");
    if (cap && !strcmp(cap, "none")) level = SIMD_NONE;
    if (cap && !strcmp(cap, "avx2") && level > SIMD_AVX2) level = SIMD_AVX2;
    return level;
}

/* The vector tanh: the rational one of simd.h (faster, max relative error < 1e-6), unless
 * DDM_CPU_TANH=sleef asks for SLEEF's tanhf (3.5 ulp), to compare the two on one run. */
static int tanh_sleef(void) {
    const char *choice = getenv("DDM_CPU_TANH");
    return choice && !strcmp(choice, "sleef");
}

static mlp_grad_fn fastest_grad(void) {
#ifdef DDM_HAVE_SIMD
    switch (simd_level()) {
    case SIMD_AVX512:
        return tanh_sleef() ? mlp_grad_avx512_sleef : mlp_grad_avx512;
    case SIMD_AVX2:
        return tanh_sleef() ? mlp_grad_avx2_sleef : mlp_grad_avx2;
    default:
        break;
    }
#endif
    return NULL;
}

static int train_create(const struct ddm_model *model, const struct ddm_train_data *data,
                        mlp_grad_fn grad_fast, void **out, struct ddm_error *err) {
    struct cpu_train *tr = ddm_calloc(1, sizeof *tr, "training context", err);
    if (!tr) return DDM_ERUNTIME;
    int n = model->n, k = model->k, M = data->M;
    size_t params = (size_t)n * k * 2 + n;
    tr->n = n;
    tr->k = k;
    tr->M = M;
    tr->Z = ddm_alloc(sizeof(float) * M * k, "training inputs", err);
    tr->Y = ddm_alloc(sizeof(float) * M * k, "training targets", err);
    tr->Gamma = ddm_calloc(params, sizeof(float), "parameters", err);
    tr->grad = ddm_calloc(params, sizeof(float), "gradients", err);
    tr->m1 = ddm_calloc(params, sizeof(float), "Adam moments", err);
    tr->m2 = ddm_calloc(params, sizeof(float), "Adam moments", err);
    tr->residual = ddm_alloc(sizeof(float) * M * k, "residuals", err);
    if (!tr->Z || !tr->Y || !tr->Gamma || !tr->grad || !tr->m1 || !tr->m2 || !tr->residual) {
        cpu_train_destroy(tr);
        return DDM_ERUNTIME;
    }
    tr->b = tr->Gamma + (size_t)n * k;
    tr->Ws = tr->b + n;
    tr->grad_fast = grad_fast;
    if (grad_fast && mlp_workspace_alloc(&tr->workspace, n, k)) {
        cpu_train_destroy(tr);
        return ddm_fail(err, DDM_ERUNTIME, "out of memory for the gradient workspace");
    }
    memcpy(tr->Z, data->Z, sizeof(float) * M * k);
    memcpy(tr->Y, data->Y, sizeof(float) * M * k);
    *out = tr;
    return DDM_OK;
}

static int cpu_train_create(const struct ddm_model *model, const struct ddm_train_data *data,
                            void **out, struct ddm_error *err) {
    return train_create(model, data, fastest_grad(), out, err);
}

static int cpu_reference_train_create(const struct ddm_model *model,
                                      const struct ddm_train_data *data, void **out,
                                      struct ddm_error *err) {
    return train_create(model, data, NULL, out, err);
}

static int cpu_train_params(void *ctx, struct ddm_model *model, int to_ctx, struct ddm_error *err) {
    (void)err;
    struct cpu_train *tr = ctx;
    size_t nk = (size_t)tr->n * tr->k;
    if (to_ctx) {
        memcpy(tr->Gamma, model->Gamma, sizeof(float) * nk);
        memcpy(tr->b, model->b, sizeof(float) * tr->n);
        memcpy(tr->Ws, model->Ws, sizeof(float) * nk);
    } else {
        memcpy(model->Gamma, tr->Gamma, sizeof(float) * nk);
        memcpy(model->b, tr->b, sizeof(float) * tr->n);
        memcpy(model->Ws, tr->Ws, sizeof(float) * nk);
    }
    return DDM_OK;
}

static int cpu_train_gram(void *ctx, const float *targets, int width, double *gram, double *cross,
                          struct ddm_error *err) {
    struct cpu_train *tr = ctx;
    if (hidden_gram_cpu(tr->n, tr->k, tr->M, tr->Gamma, tr->b, tr->Z, targets ? targets : tr->Y,
                        targets ? width : tr->k, gram, cross))
        return ddm_fail(err, DDM_ERUNTIME, "out of memory forming the Gram matrix");
    return DDM_OK;
}

static int cpu_train_epoch(void *ctx, const int *order, int batch, double lr, struct ddm_adam *adam,
                           double *mean_loss, struct ddm_error *err) {
    (void)err;
    struct cpu_train *tr = ctx;
    /* the readout Ŵ_s comes last: a fixed readout is the leading nk + n parameters */
    int count = tr->n * tr->k * (adam->readout_fixed ? 1 : 2) + tr->n;
    double loss_sum = 0;
    for (int start = 0; start < tr->M; start += batch) {
        int size = tr->M - start < batch ? tr->M - start : batch;
        double loss;
        float *grad_b = tr->grad + (size_t)tr->n * tr->k, *grad_ws = grad_b + tr->n;
        if (tr->grad_fast)
            tr->grad_fast(&tr->workspace, size, tr->Gamma, tr->b, tr->Ws, tr->Z, tr->Y,
                          order + start, tr->residual, tr->grad, grad_b, grad_ws, &loss);
        else
            mlp_grad_cpu(tr->n, tr->k, size, tr->Gamma, tr->b, tr->Ws, tr->Z, tr->Y, order + start,
                         tr->residual, tr->grad, grad_b, grad_ws, &loss);
        adam->step++;
        adam_step_cpu(count, tr->Gamma, tr->grad, tr->m1, tr->m2, (float)lr, (float)adam->beta1,
                      (float)adam->beta2, (float)adam->epsilon, (float)adam->weight_decay,
                      adam->step);
        loss_sum += loss * size;
    }
    *mean_loss = loss_sum / tr->M;
    return DDM_OK;
}

static int cpu_train_moments(void *ctx, float *m1, float *m2, int to_ctx, struct ddm_error *err) {
    (void)err;
    struct cpu_train *tr = ctx;
    size_t bytes = sizeof(float) * ((size_t)tr->n * tr->k * 2 + tr->n);
    memcpy(to_ctx ? tr->m1 : m1, to_ctx ? m1 : tr->m1, bytes);
    memcpy(to_ctx ? tr->m2 : m2, to_ctx ? m2 : tr->m2, bytes);
    return DDM_OK;
}

/* -------------------------------------------------------------------------- simulation */

struct cpu_sim {
    struct rnn_plan plan;
    int B;
    float *arena;                 /* all padded arrays of the plan and the trajectories */
    struct rnn_trajectory *trajs; /* (B) */
    rnn_advance_fn advance;
    /* the outcome of the block sim_launch ran, for sim_collect */
    long launched_trajectory;
    uint64_t launched_step;
    double launched_seconds;
};

static void cpu_sim_destroy(void *ctx) {
    struct cpu_sim *sim = ctx;
    if (!sim) return;
    free(sim->arena);
    free(sim->trajs);
    free(sim);
}

/* The reduction that matches a version of the step (see rnn_fast.h). */
static rnn_reduce_fn reduce_for(rnn_advance_fn advance) {
#ifdef DDM_HAVE_SIMD
    if (advance == rnn_advance_avx512) return rnn_reduce_avx512;
    if (advance == rnn_advance_avx2) return rnn_reduce_avx2;
    if (advance == rnn_advance_avx512_sleef) return rnn_reduce_avx512_sleef;
    if (advance == rnn_advance_avx2_sleef) return rnn_reduce_avx2_sleef;
#endif
    (void)advance;
    return rnn_reduce_state;
}

static int create_sim(const struct ddm_sim_setup *setup, rnn_advance_fn advance, void **out,
                      struct ddm_error *err) {
    const struct ddm_model *model = setup->model;
    const int n = model->n, k = model->k, m = model->m, B = setup->B;
    const int n_pad = (n + 15) / 16 * 16;
    struct cpu_sim *sim = ddm_calloc(1, sizeof *sim, "simulation context", err);
    if (!sim) return DDM_ERUNTIME;
    /* plan rows: Γ̂ᵀ k, Ŵ_s k, V km, (Δt/τ)b, b, Γ̂⁺ k; per trajectory: x, hidden, kick */
    size_t plan_rows = 3 * (size_t)k + (model->V ? (size_t)k * m : 0) + 2;
    size_t rows = plan_rows + 3 * (size_t)B;
    sim->arena = aligned_alloc(64, sizeof(float) * n_pad * rows);
    sim->trajs = calloc(B, sizeof *sim->trajs);
    if (!sim->arena || !sim->trajs) {
        cpu_sim_destroy(sim);
        return ddm_fail(err, DDM_ERUNTIME,
                        "out of memory for the states of %d trajectories × %d neurons (%.3g MB)", B,
                        n, sizeof(float) * n_pad * rows / 1e6);
    }
    memset(sim->arena, 0, sizeof(float) * n_pad * rows);
    struct rnn_plan *p = &sim->plan;
    float *next = sim->arena;
    p->model = model;
    p->n = n;
    p->n_pad = n_pad;
    p->k = k;
    p->m = m;
    p->dt = (float)setup->dt;
    p->dt_over_tau = (float)(setup->dt / model->tau);
    p->decay = 1.0f - p->dt_over_tau;
    p->sqrt_dt = (float)sqrt(setup->dt);
    p->neuron_noise = (float)setup->neuron_noise;
    p->neuron_kick = (float)(setup->neuron_noise * sqrt(setup->dt));
    p->S = model->S;
    p->c = model->c;
    p->gamma_t = next, next += (size_t)k * n_pad;
    p->ws = next, next += (size_t)k * n_pad;
    p->pinv = next, next += (size_t)k * n_pad;
    if (model->V) p->v = next, next += (size_t)k * m * n_pad;
    p->bias_term = next, next += n_pad;
    p->bias = next, next += n_pad;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < k; c++) {
            p->gamma_t[(size_t)c * n_pad + i] = model->Gamma[(size_t)i * k + c];
            p->ws[(size_t)c * n_pad + i] = model->Ws[(size_t)c * n + i];
            p->pinv[(size_t)c * n_pad + i] = model->Gamma_pinv[(size_t)c * n + i];
        }
        if (model->V)
            for (int q = 0; q < k * m; q++)
                p->v[(size_t)q * n_pad + i] = model->V[(size_t)q * n + i];
        p->bias_term[i] = p->dt_over_tau * model->b[i];
        p->bias[i] = model->b[i];
    }
    for (int c = 0; c < k; c++) {
        p->latent_mean[c] = model->latent_mean[c];
        p->latent_scale[c] = model->latent_scale[c];
    }
    p->first_trajectory = setup->first_trajectory;
    p->noise_seed = setup->noise_seed;
    p->neuron_seed = setup->neuron_seed;
    p->trace_B = setup->trace_B < B ? setup->trace_B : B;
    p->trace_n = setup->trace_n;
    p->trace_neurons = setup->trace_neurons;
    sim->B = B;
    sim->advance = advance;
    for (int t = 0; t < B; t++) {
        struct rnn_trajectory *traj = &sim->trajs[t];
        traj->x = next, next += n_pad;
        traj->hidden = next, next += n_pad;
        traj->kick = next, next += n_pad;
        memcpy(traj->x, setup->x0 + (size_t)t * n, sizeof(float) * n);
    }
    const rnn_reduce_fn reduce = reduce_for(advance);
#pragma omp parallel for schedule(static)
    for (int t = 0; t < B; t++) reduce(p, &sim->trajs[t]);
    *out = sim;
    return DDM_OK;
}

static rnn_advance_fn fastest_advance(void) {
#ifdef DDM_HAVE_SIMD
    switch (simd_level()) {
    case SIMD_AVX512:
        return tanh_sleef() ? rnn_advance_avx512_sleef : rnn_advance_avx512;
    case SIMD_AVX2:
        return tanh_sleef() ? rnn_advance_avx2_sleef : rnn_advance_avx2;
    default:
        break;
    }
#endif
    return rnn_advance_reference;
}

static int cpu_sim_create(const struct ddm_sim_setup *setup, void **out, struct ddm_error *err) {
    return create_sim(setup, fastest_advance(), out, err);
}

static int cpu_reference_sim_create(const struct ddm_sim_setup *setup, void **out,
                                    struct ddm_error *err) {
    return create_sim(setup, rnn_advance_reference, out, err);
}

static int cpu_sim_advance(void *ctx, struct ddm_sim_block *block, struct ddm_error *err) {
    (void)err;
    struct cpu_sim *sim = ctx;
    long first_bad = -1;
    uint64_t bad_step = UINT64_MAX;
    /* trajectories in chunks of 8 taken as threads come free: on a shared machine a thread that
     * lost its CPU for a while does not hold up the block (each trajectory is independent, so
     * the result is the same in any order) */
#pragma omp parallel for schedule(dynamic, 8)
    for (int t = 0; t < sim->B; t++) {
        uint64_t step = sim->advance(&sim->plan, &sim->trajs[t], t, block);
        if (block->died) block->died[t] = step;
        if (step != UINT64_MAX) {
#pragma omp critical(ddm_nonfinite)
            if (first_bad < 0 || step < bad_step || (step == bad_step && t < first_bad)) {
                first_bad = t;
                bad_step = step;
            }
        }
    }
    block->nonfinite_trajectory = first_bad;
    block->nonfinite_step = bad_step;
    return DDM_OK;
}

static int cpu_sim_state(void *ctx, float *x, struct ddm_error *err) {
    (void)err;
    struct cpu_sim *sim = ctx;
    for (int t = 0; t < sim->B; t++)
        memcpy(x + (size_t)t * sim->plan.n, sim->trajs[t].x, sizeof(float) * sim->plan.n);
    return DDM_OK;
}

/* The driver's pair without a queue (sim_queue = 1): the launch runs the block at once into its
 * own arrays, the collect hands over where it blew up and how long it took. */
static int cpu_sim_launch(void *ctx, const struct ddm_sim_block *block, struct ddm_error *err) {
    struct cpu_sim *sim = ctx;
    struct ddm_sim_block run = *block;
    const double t0 = now_seconds();
    int code = cpu_sim_advance(ctx, &run, err);
    sim->launched_seconds = now_seconds() - t0;
    sim->launched_trajectory = run.nonfinite_trajectory;
    sim->launched_step = run.nonfinite_step;
    return code;
}

static int cpu_sim_collect(void *ctx, struct ddm_sim_block *block, double *device_seconds,
                           struct ddm_error *err) {
    (void)err;
    struct cpu_sim *sim = ctx;
    block->nonfinite_trajectory = sim->launched_trajectory;
    block->nonfinite_step = sim->launched_step;
    *device_seconds = sim->launched_seconds;
    return DDM_OK;
}

/* ---------------------------------------------------------------------------- tables */

static struct ddm_backend cpu_fast = {
    .name = "cpu",
    .train_create = cpu_train_create,
    .train_params = cpu_train_params,
    .train_gram = cpu_train_gram,
    .train_epoch = cpu_train_epoch,
    .train_moments = cpu_train_moments,
    .train_destroy = cpu_train_destroy,
    .sim_create = cpu_sim_create,
    .sim_advance = cpu_sim_advance,
    .sim_state = cpu_sim_state,
    .sim_destroy = cpu_sim_destroy,
    .sim_queue = 1,
    .sim_launch = cpu_sim_launch,
    .sim_collect = cpu_sim_collect,
};

/* The table of backend_cpu_reference: cpu_fast's with the plain-loop twins' contexts. */
static struct ddm_backend cpu_reference;

static const char *advance_name(rnn_advance_fn advance) {
#ifdef DDM_HAVE_SIMD
    if (advance == rnn_advance_avx512) return "AVX-512 + rational tanh";
    if (advance == rnn_advance_avx2) return "AVX2 + rational tanh";
    if (advance == rnn_advance_avx512_sleef) return "AVX-512 + SLEEF tanh";
    if (advance == rnn_advance_avx2_sleef) return "AVX2 + SLEEF tanh";
#endif
    return advance == rnn_advance_reference ? "reference twin (plain loops)" : "?";
}

/* threads = 0: OMP_NUM_THREADS when the user set it, else the CPUs this process may use. */
static void describe(struct ddm_backend *backend, int threads, rnn_advance_fn advance) {
    if (threads <= 0 && !getenv("OMP_NUM_THREADS")) threads = threads_default();
    if (threads > 0) omp_set_num_threads(threads);
    const char *policy = getenv("OMP_WAIT_POLICY");
    snprintf(backend->device, sizeof backend->device, "CPU, %d OpenMP threads (%s wait), %s",
             omp_get_max_threads(),
             policy                     ? policy
             : getenv("GOMP_SPINCOUNT") ? "spin"
                                        : "default",
             advance_name(advance));
}

const struct ddm_backend *backend_cpu(int threads) {
    describe(&cpu_fast, threads, fastest_advance());
    return &cpu_fast;
}

const struct ddm_backend *backend_cpu_reference(int threads) {
    cpu_reference = cpu_fast;
    cpu_reference.name = "cpu-reference";
    cpu_reference.train_create = cpu_reference_train_create;
    cpu_reference.sim_create = cpu_reference_sim_create;
    describe(&cpu_reference, threads, rnn_advance_reference);
    return &cpu_reference;
}
