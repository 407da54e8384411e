/* rnn_step.cu — the persistent fused simulation kernel (docs/design.md §4, §8) and its launchers.
 *
 * One block owns R whole trajectories for all the steps of a launch: each thread keeps x of its
 * npt consecutive neurons of the R trajectories in registers, reads each neuron's weights (Γ̂ row,
 * Ŵ_s column, b) once per step from shared memory and reuses them over the R trajectories, and
 * computes x ← x(1 − Δt/τ) + (Δt/τ)b + Γ̂ coef (+ η), h = tanh x, a += Ŵ_s h in one pass. The
 * k-vectors a (and Γ̂⁺(x − b) on record steps, V h for a state-dependent Ŝ) are reduced by warp
 * transpose reductions and a fixed-order sum over warps. ξ comes from keyed Philox (philox.h, the
 * cuRAND device stream) generated in the kernel; only read-outs, traces and x leave the chip.
 * The per-thread logic is in include/ddm/kernel_math.h, tested on the CPU. Two barriers a step.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda_check.h"
#include "ddm/kernel_math.h"
#include "warp_reduce.cuh"

namespace {

constexpr uint64_t ALIVE = UINT64_MAX;

/* W consecutive floats of a weight plane at a position sim_weight_pos gives (a multiple of W in a
 * 16-byte aligned plane): one LDS.128 (W = 4) or LDS.64 (W = 2). */
template <int W> __device__ __forceinline__ void load_vector(const float *at, float *out) {
    if constexpr (W == 4) {
        const float4 v = *reinterpret_cast<const float4 *>(at);
        out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
    } else if constexpr (W == 2) {
        const float2 v = *reinterpret_cast<const float2 *>(at);
        out[0] = v.x, out[1] = v.y;
    } else {
        out[0] = *at;
    }
}

/* FEATURES (sim_variant): the optional paths compiled in; 0 compiles neither V h nor η. */
template <int K, int SHAPE, int FEATURES>
__global__ void __launch_bounds__(SIM_MAX_THREADS)
    rnn_step_kernel(const __grid_constant__ sim_params p) {
    constexpr int NPT = sim_shape_npt(SHAPE), R = sim_shape_R(SHAPE, K), N = R * K;
    constexpr int P = tr_padded(N), PR = tr_padded(R), W = sim_vector_width(NPT);
    extern __shared__ __align__(16) unsigned char smem[];
    const struct sim_geometry geo = sim_geometry_for(SHAPE, p.B, p.n, K);
    const struct sim_smem lay = sim_smem_layout(geo, K, p.m, p.V != nullptr, p.neuron_kick > 0.0f);
    float *s_gamma = (float *)(smem + lay.gamma), *s_ws = (float *)(smem + lay.ws);
    float *s_bias = (float *)(smem + lay.bias), *s_partial = (float *)(smem + lay.partial);
    float *s_partial_z = (float *)(smem + lay.partial_z), *s_coef = (float *)(smem + lay.coef);
    float *s_sv = (float *)(smem + lay.partial_sv), *s_hidden = (float *)(smem + lay.hidden);
    float *s_kick = (float *)(smem + lay.kick);
    float *s_noise = (float *)(smem + lay.noise), *s_input = (float *)(smem + lay.input);
    uint64_t *s_dead = (uint64_t *)(smem + lay.dead), *s_zdead = (uint64_t *)(smem + lay.zdead);

    const int tid = threadIdx.x, lane = tid % SIM_WARP, warp = tid / SIM_WARP;
    const int n = p.n, n_pad = geo.n_pad, warps = geo.warps, first = sim_neuron(tid, 0, NPT);
    const int m4 = (p.m + 3) / 4 * 4, km = K * p.m, groups = (p.m + 3) / 4;
    const int traj0 = blockIdx.x * R, threads = geo.threads;
    const bool state_dependent = (FEATURES & SIM_FEATURE_DIFFUSION) && p.V != nullptr;
    const bool kicks = (FEATURES & SIM_FEATURE_KICK) && p.neuron_kick > 0.0f;

    /* the weight planes in the order of sim_weight_pos (vectors of W slots per thread) */
    for (int q = tid; q < K * n_pad; q += blockDim.x) {
        int c = q / n_pad, i = q % n_pad;
        int at = c * n_pad + sim_weight_pos(i / NPT, i % NPT, NPT, threads);
        s_gamma[at] = i < n ? p.Gamma[(size_t)i * K + c] : 0.0f;
        s_ws[at] = i < n ? p.Ws[(size_t)c * n + i] : 0.0f;
    }
    for (int i = tid; i < n_pad; i += blockDim.x)
        s_bias[sim_weight_pos(i / NPT, i % NPT, NPT, threads)] = i < n ? p.b[i] : 0.0f;
    if (tid < R) {
        int traj = traj0 + tid;
        s_dead[tid] = traj >= p.B ? 0 : p.dead ? p.dead[traj] : ALIVE;
        s_zdead[tid] = ALIVE;
    }
    float x[R][NPT];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int j = 0; j < NPT; j++) {
            int traj = traj0 + r, i = first + j;
            x[r][j] = traj < p.B && i < n ? p.x[(size_t)traj * n + i] : 0.0f;
        }
    __syncthreads();

    /* the reductions of x_0: a = Ŵ_s tanh x (and V tanh x) */
    float acc[P], zacc[P];
    auto reduce_hidden = [&](bool keep_hidden) {
#pragma unroll
        for (int v = 0; v < P; v++) acc[v] = 0.0f;
#pragma unroll
        for (int v = 0; v < NPT / W; v++) {
            float ws[K][W];
#pragma unroll
            for (int c = 0; c < K; c++)
                load_vector<W>(s_ws + c * n_pad + sim_weight_pos(tid, v * W, NPT, threads), ws[c]);
#pragma unroll
            for (int e = 0; e < W; e++)
#pragma unroll
                for (int r = 0; r < R; r++) {
                    float h = sim_tanh(x[r][v * W + e]);
#pragma unroll
                    for (int c = 0; c < K; c++) acc[r * K + c] += ws[c][e] * h;
                    if (keep_hidden) s_hidden[r * n_pad + first + v * W + e] = h;
                }
        }
    };
    /* V h from the hidden layer this thread left in shared memory (its own slots only) */
    auto reduce_diffusion = [&]() {
        for (int q = 0; q < km; q++) {
            float t[PR];
#pragma unroll
            for (int r = 0; r < PR; r++) t[r] = 0.0f;
#pragma unroll
            for (int j = 0; j < NPT; j++) {
                int i = first + j;
                float vq = i < n ? __ldg(&p.V[(size_t)q * n + i]) : 0.0f;
#pragma unroll
                for (int r = 0; r < R; r++) t[r] += vq * s_hidden[r * n_pad + i];
            }
            warp_reduce_store<R>(t, lane, s_sv + warp * R * km + q, km);
        }
    };
    reduce_hidden(state_dependent);
    warp_reduce_store<N>(acc, lane, s_partial + warp * P);
    if (state_dependent) reduce_diffusion();
    __syncthreads();

    int record = 0;
    const uint64_t step0 = p.step0;
    for (int s = 0;; s++) {
        const bool last = s == p.steps;
        const bool record_due = p.records > 0 && s > 0 && s % p.record_every == 0;
        if (!last && s % SIM_NOISE_STEPS == 0) {
            const int chunk_steps = min(SIM_NOISE_STEPS, p.steps - s);
            for (int item = tid; item < SIM_NOISE_STEPS * R * groups; item += blockDim.x)
                sim_noise_item(&p, R, blockIdx.x, s, chunk_steps, item, s_noise);
            for (int q = tid; q < chunk_steps * K; q += blockDim.x)
                s_input[q] = p.input ? p.input[(size_t)s * K + q] : 0.0f;
            __syncthreads();
        }
        /* phase A, one thread per value v = (r, c): the total of a, its finiteness (the step
         * before produced it), and the coefficient of this step */
        for (int v = tid; v < N; v += blockDim.x) {
            const int r = v / K, c = v % K;
            float a = sim_sum_warps(s_partial, warps, P, v);
            if (c == 0 && s_zdead[r] != ALIVE)
                atomicMin((unsigned long long *)&s_dead[r], s_zdead[r]);
            if (s > 0 && !isfinite(a))
                atomicMin((unsigned long long *)&s_dead[r], (unsigned long long)(step0 + s - 1));
            if (!last) {
                const int cs = s % SIM_NOISE_STEPS;
                s_coef[v] =
                    sim_coefficient(&p, r, c, a, s_input + cs * K, state_dependent ? s_sv : nullptr,
                                    warps, R * km, s_noise + (cs * R + r) * m4);
            }
        }
        __syncthreads();
        /* phase R: the record whose last step was s − 1 (latent and traces), NaN once dead */
        if (record_due) {
            const uint64_t rec_last = step0 + s - 1;
            const float *zbuf = s_partial_z + (record % 2) * warps * P;
            for (int v = tid; v < N; v += blockDim.x) {
                const int r = v / K, c = v % K, traj = traj0 + r;
                if (traj >= p.B) continue;
                float z = sim_readout(&p, c, sim_sum_warps(zbuf, warps, P, v));
                bool dead = s_dead[r] <= rec_last;
                p.latent[((size_t)traj * p.records + record) * K + c] = dead ? NAN : z;
                if (!dead && !isfinite(z)) s_zdead[r] = rec_last;
            }
            if (p.traces && traj0 < p.trace_B)
                for (int jt = 0; jt < p.trace_n; jt++) {
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        float value;
                        int traj = traj0 + r;
                        if (traj < p.trace_B && traj < p.B &&
                            sim_held_value(x[r], NPT, first, p.trace_neurons[jt], &value))
                            p.traces[((size_t)traj * p.records + record) * p.trace_n + jt] =
                                s_dead[r] <= rec_last ? NAN : value;
                    }
                }
            record++;
        }
        if (last) break;

        /* the fused pass of step s */
        const uint64_t step = step0 + s;
        bool alive[R];
        float coef[R][K];
#pragma unroll
        for (int r = 0; r < R; r++) {
            alive[r] = s_dead[r] == ALIVE;
#pragma unroll
            for (int c = 0; c < K; c++) coef[r][c] = s_coef[r * K + c];
        }
        /* η of this thread's own slots, one trajectory at a time (not unrolled: one Philox in
         * flight), staged in shared memory that only this thread reads */
        if (kicks)
#pragma unroll 1
            for (int r = 0; r < R; r++) {
                float four[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                for (int j = 0; j < NPT; j++)
                    s_kick[r * n_pad + first + j] =
                        traj0 + r < p.B
                            ? sim_neuron_kick(&p, traj0 + r, step, first + j, j == 0, four)
                            : 0.0f;
            }
#pragma unroll
        for (int v = 0; v < P; v++) acc[v] = 0.0f;
#pragma unroll
        for (int v = 0; v < NPT / W; v++) {
            /* the weights of W slots at a time by vector loads (sim_weight_pos); without neuron
             * noise the kick is −0, and x + (−0) = x for every x, so the addition compiles away */
            const int at = sim_weight_pos(tid, v * W, NPT, threads);
            float gamma[K][W], ws[K][W], bias[W];
#pragma unroll
            for (int c = 0; c < K; c++) {
                load_vector<W>(s_gamma + c * n_pad + at, gamma[c]);
                load_vector<W>(s_ws + c * n_pad + at, ws[c]);
            }
            load_vector<W>(s_bias + at, bias);
#pragma unroll
            for (int e = 0; e < W; e++) {
                const int j = v * W + e, i = first + j;
                float gamma_i[K], ws_i[K];
#pragma unroll
                for (int c = 0; c < K; c++) gamma_i[c] = gamma[c][e], ws_i[c] = ws[c][e];
#pragma unroll
                for (int r = 0; r < R; r++) {
                    float next = x[r][j], kick = kicks ? s_kick[r * n_pad + i] : -0.0f;
                    float h = sim_neuron_step(K, &next, bias[e], gamma_i, ws_i, coef[r], p.decay,
                                              p.dt_over_tau, kick, &acc[r * K]);
                    if (alive[r]) x[r][j] = next;
                    if (state_dependent) s_hidden[r * n_pad + i] = h;
                }
            }
        }
        warp_reduce_store<N>(acc, lane, s_partial + warp * P);
        if (state_dependent) reduce_diffusion();
        if (p.records > 0 && (s + 1) % p.record_every == 0) {
#pragma unroll
            for (int v = 0; v < P; v++) zacc[v] = 0.0f;
#pragma unroll
            for (int j = 0; j < NPT; j++) {
                const int i = first + j;
                float pinv[K];
#pragma unroll
                for (int c = 0; c < K; c++)
                    pinv[c] = i < n ? __ldg(&p.pinv[(size_t)c * n + i]) : 0.0f;
#pragma unroll
                for (int r = 0; r < R; r++) {
                    float centred = x[r][j] - s_bias[sim_weight_pos(tid, j, NPT, threads)];
#pragma unroll
                    for (int c = 0; c < K; c++) zacc[r * K + c] += pinv[c] * centred;
                }
            }
            warp_reduce_store<N>(zacc, lane, s_partial_z + (record % 2) * warps * P + warp * P);
        }
        __syncthreads();
    }

#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int j = 0; j < NPT; j++) {
            int traj = traj0 + r, i = first + j;
            if (traj < p.B && i < n) p.x[(size_t)traj * n + i] = x[r][j];
        }
    __syncthreads();
    if (tid < R && traj0 + tid < p.B && p.dead)
        p.dead[traj0 + tid] = s_dead[tid] < s_zdead[tid] ? s_dead[tid] : s_zdead[tid];
}

/* Launches one instance; its shared-memory opt-in is raised to the device's limit once per device
 * (not at every launch). */
template <int K, int SHAPE, int FEATURES>
int launch_variant(const sim_params &p, const sim_geometry &g, int bytes,
                   const cuda_device_figures &dev, cudaStream_t stream) {
    auto kernel = rnn_step_kernel<K, SHAPE, FEATURES>;
    static thread_local bool opted_in[64];
    if (!opted_in[dev.device]) {
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        dev.smem_optin));
        opted_in[dev.device] = true;
    }
    kernel<<<g.blocks, g.threads, bytes, stream>>>(p);
    CUDA_LAUNCH_CHECK(stream);
    return 0;
}

/* The plain variant where the launch has neither a state-dependent Ŝ nor neuron noise. */
template <int K, int SHAPE>
int launch(const sim_params &p, const sim_geometry &g, int bytes, const cuda_device_figures &dev,
           cudaStream_t stream) {
    return sim_variant(sim_features(&p)) == 0
               ? launch_variant<K, SHAPE, 0>(p, g, bytes, dev, stream)
               : launch_variant<K, SHAPE, SIM_FEATURES_ALL>(p, g, bytes, dev, stream);
}

template <int K>
int launch_shape(const sim_params &p, const sim_geometry &g, int bytes,
                 const cuda_device_figures &dev, cudaStream_t stream) {
    switch (g.shape) {
    case SIM_SHAPE_N2_R8:
        return launch<K, SIM_SHAPE_N2_R8>(p, g, bytes, dev, stream);
    case SIM_SHAPE_N4_R4:
        return launch<K, SIM_SHAPE_N4_R4>(p, g, bytes, dev, stream);
    case SIM_SHAPE_N8_R2:
        return launch<K, SIM_SHAPE_N8_R2>(p, g, bytes, dev, stream);
    default:
        return launch<K, SIM_SHAPE_N2_R2>(p, g, bytes, dev, stream);
    }
}

const char *const shape_names[SIM_SHAPES] = {"N2_R8", "N4_R4", "N8_R2", "N2_R2"};
int forced_shape = -2; /* −2: DDM_SIM_SHAPE not read yet; −1: the automatic choice */

/* The forced shape (or −1), from rnn_step_cuda_force_shape or else DDM_SIM_SHAPE. */
int shape_setting(int *shape) {
    if (forced_shape == -2) {
        const char *value = getenv("DDM_SIM_SHAPE");
        forced_shape = -1;
        for (int q = 0; value && q < SIM_SHAPES; q++)
            if (!strcmp(value, shape_names[q])) forced_shape = q;
        if (value && *value && strcmp(value, "auto") && forced_shape < 0) {
            char message[200];
            snprintf(message, sizeof message,
                     "DDM_SIM_SHAPE=%s is not a shape: use auto, N2_R8, N4_R4, N8_R2 or N2_R2",
                     value);
            forced_shape = -2;
            return cuda_check_fail("ddm", "rnn_step_cuda_block", message, __FILE__, __LINE__);
        }
    }
    *shape = forced_shape;
    return 0;
}

/* The launch geometry: the automatic choice, or the forced shape where it can hold n. */
int choose_geometry(const sim_params &p, int sms, sim_geometry *g) {
    int shape;
    if (shape_setting(&shape)) return -1;
    *g = shape < 0 ? sim_geometry_choose(p.B, p.n, p.k, sms)
                   : sim_geometry_forced(shape, p.B, p.n, p.k);
    if (shape >= 0 && g->threads == 0) {
        char message[200];
        snprintf(message, sizeof message,
                 "the forced shape %s holds at most %d neurons, n = %d (DDM_SIM_SHAPE=auto)",
                 shape_names[shape], SIM_MAX_THREADS * sim_shape_npt(shape), p.n);
        return cuda_check_fail("ddm", "rnn_step_cuda_block", message, __FILE__, __LINE__);
    }
    return 0;
}

} // namespace

extern "C" int rnn_step_cuda_force_shape(int shape) {
    int previous = forced_shape < 0 ? -1 : forced_shape;
    forced_shape = shape >= 0 && shape < SIM_SHAPES ? shape : -1;
    return previous;
}

extern "C" int rnn_step_cuda_block(const struct sim_params *params, void *stream) {
    const sim_params &p = *params;
    if (p.k < 1 || p.k > SIM_MAX_K || p.m < 1 || p.m > SIM_MAX_M)
        return cuda_check_fail("ddm", "rnn_step_cuda_block", "k and m must lie in 1..8", __FILE__,
                               __LINE__);
    if (p.B == 0 || p.steps == 0) return 0;
    cuda_device_figures dev;
    sim_geometry g;
    if (cuda_current_device(&dev) || choose_geometry(p, dev.sms, &g)) return -1;
    const sim_smem lay = sim_smem_layout(g, p.k, p.m, p.V != nullptr, p.neuron_kick > 0.0f);
    if (g.threads == 0 || lay.bytes > dev.smem_optin) {
        char message[200];
        snprintf(message, sizeof message,
                 "n = %d, k = %d needs %d bytes of shared memory per block, the device has %d "
                 "(the kernel holds Γ̂, Ŵ_s, b on chip; n ≤ 4096)",
                 p.n, p.k, lay.bytes, dev.smem_optin);
        return cuda_check_fail("ddm", "rnn_step_cuda_block", message, __FILE__, __LINE__);
    }
    cudaStream_t s = (cudaStream_t)stream;
    switch (p.k) {
    case 1:
        return launch_shape<1>(p, g, lay.bytes, dev, s);
    case 2:
        return launch_shape<2>(p, g, lay.bytes, dev, s);
    case 3:
        return launch_shape<3>(p, g, lay.bytes, dev, s);
    case 4:
        return launch_shape<4>(p, g, lay.bytes, dev, s);
    case 5:
        return launch_shape<5>(p, g, lay.bytes, dev, s);
    case 6:
        return launch_shape<6>(p, g, lay.bytes, dev, s);
    case 7:
        return launch_shape<7>(p, g, lay.bytes, dev, s);
    default:
        return launch_shape<8>(p, g, lay.bytes, dev, s);
    }
}

extern "C" int rnn_step_cuda(int B, int n, int k, int m, const float *d_Gamma, const float *d_Ws,
                             const float *d_b, const float *d_S, const float *d_V, const float *d_c,
                             float tau, float dt, const float *d_input, const float *d_xi,
                             float neuron_noise, const float *d_eta, float *d_x, void *stream) {
    sim_params p = {};
    p.B = B, p.n = n, p.k = k, p.m = m;
    p.Gamma = d_Gamma, p.Ws = d_Ws, p.b = d_b, p.S = d_S, p.V = d_V, p.c = d_c;
    p.dt_over_tau = dt / tau;
    p.decay = 1.0f - p.dt_over_tau;
    p.sqrt_dt = sqrtf(dt);
    p.neuron_kick = d_eta ? neuron_noise * p.sqrt_dt : 0.0f;
    p.x = d_x, p.xi = d_xi, p.eta = d_eta;
    p.steps = 1, p.record_every = 1, p.records = 0;
    p.input = d_input;
    return rnn_step_cuda_block(&p, stream);
}
