/* backend_cuda_sim.cu — the CUDA backend's simulation: B trajectories on the device (docs/design.md
 * §4).
 *
 * The model's arrays and the states x (B,n) live on the device for the whole run; each block of
 * steps is one launch of the persistent kernel (rnn_step_cuda_block) followed by copies of its
 * read-outs, traces and death steps into pinned host buffers, all on one stream. Two slots of
 * buffers make recording double-buffered: sim_launch queues block i+1 while the host still writes
 * block i (sim_collect waits on block i's event only), so HDF5 output overlaps the next steps.
 */
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backend_cuda.h"
#include "cuda_check.h"
#include "ddm/kernel_math.h"
#include "ddm/sim_sizes.h"

namespace {

struct slot {
    float *d_latent, *d_traces, *d_input; /* (B,records,k), (trace_B,records,trace_n), (steps,k) */
    float *h_latent, *h_traces, *h_input; /* pinned twins */
    uint64_t *h_dead;                     /* (B) pinned copy of the death steps */
    size_t latent_cap, traces_cap, input_cap;
    cudaEvent_t start, done;
    uint64_t step0;
    int records, record_every, traced;
};

struct cuda_sim {
    int B, n, k, m, trace_B, trace_n;
    sim_params base; /* device pointers and constants; per block: steps, outputs, input */
    cudaStream_t stream;
    float *d_model;   /* Γ̂, Ŵ_s, b, Ŝ or V and c, Γ̂⁺ in one allocation */
    float *d_x;       /* (B,n) */
    uint64_t *d_dead; /* (B) */
    int *d_trace_neurons;
    slot slots[2];
    long launched, collected;
};

void sim_free(cuda_sim *sim) {
    if (!sim) return;
    if (sim->stream) cudaStreamSynchronize(sim->stream);
    for (slot &s : sim->slots) {
        cudaFree(s.d_latent), cudaFree(s.d_traces), cudaFree(s.d_input);
        cudaFreeHost(s.h_latent), cudaFreeHost(s.h_traces), cudaFreeHost(s.h_input);
        cudaFreeHost(s.h_dead);
        if (s.start) cudaEventDestroy(s.start);
        if (s.done) cudaEventDestroy(s.done);
    }
    cudaFree(sim->d_model), cudaFree(sim->d_x), cudaFree(sim->d_dead);
    cudaFree(sim->d_trace_neurons);
    if (sim->stream) cudaStreamDestroy(sim->stream);
    free(sim);
}

/* A copy ordered on the simulation's stream (after the kernels queued before it, before those
 * queued after it), waited for, so that the host memory may change on return. Copies on the
 * legacy stream would not be ordered with the kernels of the non-blocking stream. */
int copy_on_stream(cuda_sim *sim, void *to, const void *from, size_t bytes, cudaMemcpyKind kind) {
    CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, kind, sim->stream));
    CUDA_CHECK(cudaStreamSynchronize(sim->stream));
    return 0;
}

/* Copies `count` floats of a model array to the device at *at, returns its device address. */
int upload(cuda_sim *sim, float **at, const float *host, size_t count, const float **device) {
    *device = host ? *at : nullptr;
    if (!host) return 0;
    if (copy_on_stream(sim, *at, host, sizeof(float) * count, cudaMemcpyHostToDevice)) return -1;
    *at += count;
    return 0;
}

int setup(cuda_sim *sim, const ddm_sim_setup *st) {
    const ddm_model *model = st->model;
    const int B = st->B, n = model->n, k = model->k, m = model->m;
    sim->B = B, sim->n = n, sim->k = k, sim->m = m;
    sim->trace_B = st->trace_B < B ? st->trace_B : B;
    sim->trace_n = st->trace_n;
    CUDA_CHECK(cudaStreamCreateWithFlags(&sim->stream, cudaStreamNonBlocking));
    for (slot &s : sim->slots) {
        CUDA_CHECK(cudaEventCreate(&s.start));
        CUDA_CHECK(cudaEventCreate(&s.done));
        CUDA_CHECK(cudaMallocHost(&s.h_dead, sizeof(uint64_t) * (B > 0 ? B : 1)));
    }
    const size_t nk = (size_t)n * k, km = (size_t)k * m;
    const size_t floats = sim_model_floats(n, k, m, model->V != nullptr);
    CUDA_CHECK(cudaMalloc(&sim->d_model, sizeof(float) * floats));
    CUDA_CHECK(cudaMalloc(&sim->d_x, sizeof(float) * ((size_t)B * n + 1)));
    CUDA_CHECK(cudaMalloc(&sim->d_dead, sizeof(uint64_t) * (B > 0 ? B : 1)));
    CUDA_CHECK(cudaMalloc(&sim->d_trace_neurons, sizeof(int) * (sim->trace_n + 1)));
    /* UINT64_MAX: alive */
    CUDA_CHECK(cudaMemsetAsync(sim->d_dead, 0xFF, sizeof(uint64_t) * B, sim->stream));
    if (copy_on_stream(sim, sim->d_x, st->x0, sizeof(float) * B * n, cudaMemcpyHostToDevice) ||
        (sim->trace_n && copy_on_stream(sim, sim->d_trace_neurons, st->trace_neurons,
                                        sizeof(int) * sim->trace_n, cudaMemcpyHostToDevice)))
        return -1;
    sim_params &p = sim->base;
    memset(&p, 0, sizeof p);
    float *at = sim->d_model;
    if (upload(sim, &at, model->Gamma, nk, &p.Gamma) || upload(sim, &at, model->Ws, nk, &p.Ws) ||
        upload(sim, &at, model->b, n, &p.b) ||
        upload(sim, &at, model->S, model->S ? km : 0, &p.S) ||
        upload(sim, &at, model->V, model->V ? km * n : 0, &p.V) ||
        upload(sim, &at, model->c, model->V ? km : 0, &p.c) ||
        upload(sim, &at, model->Gamma_pinv, nk, &p.pinv))
        return -1;
    p.B = B, p.n = n, p.k = k, p.m = m;
    /* the constants exactly as the CPU backend forms them (host/cpu/backend_cpu.c) */
    p.dt_over_tau = (float)(st->dt / model->tau);
    p.decay = 1.0f - p.dt_over_tau;
    p.sqrt_dt = (float)sqrt(st->dt);
    p.neuron_kick = (float)(st->neuron_noise * sqrt(st->dt));
    for (int c = 0; c < k; c++) {
        p.latent_mean[c] = model->latent_mean[c];
        p.latent_scale[c] = model->latent_scale[c];
    }
    p.x = sim->d_x;
    p.noise_seed = st->noise_seed, p.neuron_seed = st->neuron_seed;
    p.first_trajectory = st->first_trajectory;
    p.trace_B = sim->trace_B, p.trace_n = sim->trace_n;
    p.trace_neurons = sim->d_trace_neurons;
    p.dead = sim->d_dead;
    return 0;
}

/* Grows a device buffer and its pinned twin to `count` floats (the slot is idle). */
int reserve(float **device, float **host, size_t *cap, size_t count) {
    if (count <= *cap) return 0;
    CUDA_CHECK(cudaFree(*device));
    CUDA_CHECK(cudaFreeHost(*host));
    *device = nullptr, *host = nullptr;
    CUDA_CHECK(cudaMalloc(device, sizeof(float) * count));
    CUDA_CHECK(cudaMallocHost(host, sizeof(float) * count));
    *cap = count;
    return 0;
}

int launch(cuda_sim *sim, const ddm_sim_block *block) {
    if (sim->launched - sim->collected >= 2)
        return cuda_check_fail("ddm", "sim_launch", "two blocks are in flight: collect one first",
                               __FILE__, __LINE__);
    slot &s = sim->slots[sim->launched % 2];
    const size_t steps = (size_t)block->records * block->record_every;
    const int traced = block->traces && sim->trace_B > 0 && sim->trace_n > 0;
    /* the slot's floats, as host/run/memory_need.c counts them (ddm/sim_sizes.h) */
    const size_t latent = sim_latent_floats(sim->B, block->records, sim->k);
    const size_t traces = sim_trace_floats(sim->trace_B, block->records, sim->trace_n);
    const size_t input = sim_input_floats((long)steps, sim->k);
    if (reserve(&s.d_latent, &s.h_latent, &s.latent_cap, latent) ||
        (traced && reserve(&s.d_traces, &s.h_traces, &s.traces_cap, traces)) ||
        (block->input && reserve(&s.d_input, &s.h_input, &s.input_cap, input)))
        return -1;
    sim_params p = sim->base;
    p.step0 = block->step0;
    p.steps = (int)steps, p.record_every = block->record_every, p.records = block->records;
    p.latent = s.d_latent;
    p.traces = traced ? s.d_traces : nullptr;
    p.input = nullptr;
    if (block->input) {
        memcpy(s.h_input, block->input, sizeof(float) * input);
        CUDA_CHECK(cudaMemcpyAsync(s.d_input, s.h_input, sizeof(float) * input,
                                   cudaMemcpyHostToDevice, sim->stream));
        p.input = s.d_input;
    }
    CUDA_CHECK(cudaEventRecord(s.start, sim->stream));
    if (sim->B > 0 && rnn_step_cuda_block(&p, sim->stream)) return -1;
    CUDA_CHECK(cudaMemcpyAsync(s.h_latent, s.d_latent, sizeof(float) * latent,
                               cudaMemcpyDeviceToHost, sim->stream));
    if (traced)
        CUDA_CHECK(cudaMemcpyAsync(s.h_traces, s.d_traces, sizeof(float) * traces,
                                   cudaMemcpyDeviceToHost, sim->stream));
    CUDA_CHECK(cudaMemcpyAsync(s.h_dead, sim->d_dead, sizeof(uint64_t) * sim->B,
                               cudaMemcpyDeviceToHost, sim->stream));
    CUDA_CHECK(cudaEventRecord(s.done, sim->stream));
    s.step0 = block->step0, s.records = block->records, s.record_every = block->record_every;
    s.traced = traced;
    sim->launched++;
    return 0;
}

int collect(cuda_sim *sim, ddm_sim_block *block, double *device_seconds) {
    if (sim->collected == sim->launched)
        return cuda_check_fail("ddm", "sim_collect", "no block was launched", __FILE__, __LINE__);
    slot &s = sim->slots[sim->collected % 2];
    CUDA_CHECK(cudaEventSynchronize(s.done));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, s.start, s.done));
    *device_seconds = ms / 1e3;
    memcpy(block->latent, s.h_latent, sizeof(float) * sim_latent_floats(sim->B, s.records, sim->k));
    if (s.traced && block->traces)
        memcpy(block->traces, s.h_traces,
               sizeof(float) * sim_trace_floats(sim->trace_B, s.records, sim->trace_n));
    /* the first trajectory that died within this block: earliest step, then lowest index */
    const uint64_t end = s.step0 + (uint64_t)s.records * s.record_every;
    block->nonfinite_trajectory = -1;
    block->nonfinite_step = UINT64_MAX;
    for (int t = 0; t < sim->B; t++) {
        uint64_t step = s.h_dead[t];
        const bool died_here = step >= s.step0 && step < end;
        if (block->died) block->died[t] = died_here ? step : UINT64_MAX;
        if (died_here && step < block->nonfinite_step) {
            block->nonfinite_trajectory = t;
            block->nonfinite_step = step;
        }
    }
    sim->collected++;
    return 0;
}

int state(cuda_sim *sim, float *x) {
    return copy_on_stream(sim, x, sim->d_x, sizeof(float) * sim->B * sim->n,
                          cudaMemcpyDeviceToHost);
}

} // namespace

int cuda_sim_create(const ddm_sim_setup *setup_in, void **out, ddm_error *err) {
    cuda_sim *sim = (cuda_sim *)ddm_calloc(1, sizeof *sim, "simulation context", err);
    if (!sim) return DDM_ERUNTIME;
    if (setup(sim, setup_in)) {
        int code = cuda_backend_fail(err, "simulation set-up");
        sim_free(sim);
        return code;
    }
    *out = sim;
    return DDM_OK;
}

int cuda_sim_launch(void *ctx, const ddm_sim_block *block, ddm_error *err) {
    if (block->noise_input) /* run.c refuses it before: a last guard, never a silent drop */
        return ddm_fail(err, DDM_EUSAGE,
                        "the CUDA simulation does not take a diffusion that uses t (its Ŝ is fixed "
                        "over a block); set [run] backend = cpu");
    return launch((cuda_sim *)ctx, block) ? cuda_backend_fail(err, "simulation") : DDM_OK;
}

int cuda_sim_collect(void *ctx, ddm_sim_block *block, double *device_seconds, ddm_error *err) {
    return collect((cuda_sim *)ctx, block, device_seconds) ? cuda_backend_fail(err, "simulation")
                                                           : DDM_OK;
}

int cuda_sim_advance(void *ctx, ddm_sim_block *block, ddm_error *err) {
    double device_seconds;
    int code = cuda_sim_launch(ctx, block, err);
    return code ? code : cuda_sim_collect(ctx, block, &device_seconds, err);
}

int cuda_sim_state(void *ctx, float *x, ddm_error *err) {
    return state((cuda_sim *)ctx, x) ? cuda_backend_fail(err, "simulation state") : DDM_OK;
}

void cuda_sim_destroy(void *ctx) {
    sim_free((cuda_sim *)ctx);
}
