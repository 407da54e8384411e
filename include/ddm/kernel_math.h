/* kernel_math.h — the per-thread and per-warp logic of the CUDA kernels, as DDM_HD functions, so
 * that tests/test_kernel_logic.c runs exactly this code over every thread of an emulated block on
 * the CPU and compares it with the twins (STYLE rules 1, 4, 7).
 *
 * Simulation (docs/design.md §4, §8; kernels/rnn_step.cu): a block is a team of threads that owns R
 * whole trajectories; thread tid owns the npt consecutive neurons tid·npt … tid·npt + npt − 1 of
 * each. The k-vector reductions Ŵ_s tanh(x) and Γ̂⁺(x − b) go through a warp *transpose reduction*
 * (each shuffle level halves the values a lane holds) and a fixed-order sum over warps:
 * deterministic. Training (docs/design.md §3; kernels/mlp_grad.cu, adam_step.cu, hidden_gram.cu):
 * tile bookkeeping, the hidden unit, the backward update of one (point, neuron) pair, the AdamW
 * element, the features.
 */
#ifndef DDM_KERNEL_MATH_H
#define DDM_KERNEL_MATH_H

#include <stdint.h>

#include "ddm/rnn_math.h"

#ifdef __CUDA_ARCH__
#define DDM_UNROLL _Pragma("unroll")
#else
#define DDM_UNROLL
#endif
#ifdef __CUDACC__
#define DDM_HDC constexpr __host__ __device__ __forceinline__
#else
#define DDM_HDC static inline
#endif

/* ------------------------------------------------------------------ simulation geometry */

enum {
    SIM_WARP = 32,
    SIM_MAX_THREADS = 512, /* the register budget of the kernel: 128 per thread */
    SIM_NOISE_STEPS = 32,  /* steps of ξ (and û) generated together into shared memory */
    SIM_MAX_K = 8,
    SIM_MAX_M = 8,
};

/* The kernel shapes: neurons per thread × trajectories per block (template arguments). */
enum sim_shape {
    SIM_SHAPE_N2_R8, /* n ≤ 64 */
    SIM_SHAPE_N4_R4, /* n ≤ 2048 */
    SIM_SHAPE_N8_R2, /* n ≤ 4096 */
    SIM_SHAPE_N2_R2, /* few trajectories: more blocks, more threads per trajectory */
    SIM_SHAPES
};

struct sim_geometry {
    enum sim_shape shape;
    int npt;     /* neurons per thread (consecutive) */
    int R;       /* trajectories per block */
    int threads; /* block size, a multiple of 32 */
    int warps;
    int n_pad;  /* threads · npt ≥ n; the padding neurons have zero weights */
    int blocks; /* ceil(B / R) */
};

DDM_HDC int sim_shape_npt(int shape) {
    return shape == SIM_SHAPE_N4_R4 ? 4 : shape == SIM_SHAPE_N8_R2 ? 8 : 2;
}
/* Trajectories per block: the shape's, halved while R·k > 32 (the reduced values per lane). */
DDM_HDC int sim_shape_R(int shape, int k) {
    int R = shape == SIM_SHAPE_N2_R8 ? 8 : shape == SIM_SHAPE_N4_R4 ? 4 : 2;
    while (R > 1 && R * k > SIM_WARP) R /= 2;
    return R;
}

DDM_HD struct sim_geometry sim_geometry_for(int shape, int B, int n, int k) {
    struct sim_geometry g;
    g.shape = (enum sim_shape)shape;
    g.npt = sim_shape_npt(shape);
    g.R = sim_shape_R(shape, k);
    int active = (n + g.npt - 1) / g.npt;
    g.threads = (active + SIM_WARP - 1) / SIM_WARP * SIM_WARP;
    g.warps = g.threads / SIM_WARP;
    g.n_pad = g.threads * g.npt;
    g.blocks = (B + g.R - 1) / g.R;
    return g;
}

/* Chooses the shape for B trajectories of n neurons, k latent dims, on a device with `sms`
 * multiprocessors: npt from n (at most 512 threads per trajectory) and R so that a thread holds
 * npt·R = 16 states, unless that leaves fewer than two blocks per multiprocessor, when the small-B
 * shape spreads the work. threads = 0 when n is too large for the kernel (n > 4096). */
DDM_HD struct sim_geometry sim_geometry_choose(int B, int n, int k, int sms) {
    int shape = n <= 64 ? SIM_SHAPE_N2_R8 : n <= 2048 ? SIM_SHAPE_N4_R4 : SIM_SHAPE_N8_R2;
    struct sim_geometry g = sim_geometry_for(shape, B, n, k);
    if (g.blocks < 2 * sms && n <= 2 * SIM_MAX_THREADS)
        g = sim_geometry_for(SIM_SHAPE_N2_R2, B, n, k);
    if (g.threads > SIM_MAX_THREADS) g.threads = 0;
    return g;
}

/* The geometry of a shape forced by name (DDM_SIM_SHAPE, rnn_step_cuda_force_shape), so that
 * every shape can be compared with the twin on one device whatever B is; threads = 0 when the
 * shape cannot hold n neurons in SIM_MAX_THREADS threads. */
DDM_HD struct sim_geometry sim_geometry_forced(int shape, int B, int n, int k) {
    struct sim_geometry g = sim_geometry_for(shape, B, n, k);
    if (g.threads > SIM_MAX_THREADS) g.threads = 0;
    return g;
}

/* Neuron held in slot j of thread tid. */
DDM_HD int sim_neuron(int tid, int j, int npt) {
    return tid * npt + j;
}

/* Floats per shared-memory load of a thread's weights: 4 (LDS.128) when npt is a multiple of 4,
 * else npt (2: LDS.64). */
DDM_HDC int sim_vector_width(int npt) {
    return npt % 4 == 0 ? 4 : npt;
}

/* Position in a weight plane (Γ̂ᵀ row, Ŵ_s row, b: n_pad floats) of slot j of thread tid, for a
 * block of `threads`. A thread's npt slots are npt/W vectors of W = sim_vector_width(npt) floats;
 * vector v of every thread lies in segment v (threads·W floats), thread after thread. So each
 * vector starts at a multiple of W floats (aligned for LDS.128/LDS.64 in a 16-byte aligned
 * plane), and the lanes of a warp read consecutive vectors: 8 lanes × 16 bytes (or 16 × 8) cover
 * the 32 banks once, no bank conflict. For npt = 2 and 4 the position is the neuron's index. */
DDM_HD int sim_weight_pos(int tid, int j, int npt, int threads) {
    const int W = sim_vector_width(npt);
    return (j / W) * threads * W + tid * W + j % W;
}

/* ------------------------------------------------------------- warp transpose reduction */

/* Each lane holds N values (N = R·k partial sums); all 32 lanes' values must be summed. Padded to
 * P = tr_padded(N): a power of two up to 32, else a multiple of 32 reduced in chunks of 32. At
 * the level with xor-offset d (16, 8, …, 1) a lane holding c > 1 values keeps one half (the upper
 * half when its bit d is set), sends the other to lane ^ d, and adds what it receives: c/2 shuffles
 * instead of c. Once c = 1 the level is a plain butterfly. After the five levels, chunk value v
 * sits in lanes v·32/P … (v+1)·32/P − 1 (all equal), so 31 shuffles reduce 32 values. */
DDM_HDC int tr_padded(int count) {
    int p = 1;
    while (p < count) p <<= 1;
    return p <= SIM_WARP ? p : (count + SIM_WARP - 1) / SIM_WARP * SIM_WARP;
}
DDM_HDC int tr_chunk(int padded) {
    return padded < SIM_WARP ? padded : SIM_WARP;
}
/* Values exchanged at a level where a lane holds `count`: count/2, or 1 for the butterfly. */
DDM_HDC int tr_pairs(int count) {
    return count > 1 ? count / 2 : 1;
}
DDM_HD int tr_upper(int lane, int offset) {
    return (lane & offset) != 0;
}
/* What a lane sends and keeps at pair j of a level (half = count/2, 0 in the butterfly). */
DDM_HD float tr_send(const float *v, int j, int half, int upper) {
    return upper ? v[j] : v[j + half];
}
DDM_HD float tr_keep(const float *v, int j, int half, int upper) {
    return upper ? v[j + half] : v[j];
}
DDM_HD double tr_send_d(const double *v, int j, int half, int upper) {
    return upper ? v[j] : v[j + half];
}
DDM_HD double tr_keep_d(const double *v, int j, int half, int upper) {
    return upper ? v[j + half] : v[j];
}
/* Index (into the N values) of the total that lane `lane` writes after reducing chunk `chunk`,
 * or −1 when another lane of its group writes it (or it is padding). */
DDM_HD int tr_result_index(int lane, int chunk, int padded, int count) {
    int per_chunk = tr_chunk(padded), lanes_per_value = SIM_WARP / per_chunk;
    if (lane % lanes_per_value) return -1;
    int v = chunk * per_chunk + lane / lanes_per_value;
    return v < count ? v : -1;
}

/* Sum over the warps' partial totals (warps, stride) in warp order: the fixed cross-warp order. */
DDM_HD float sim_sum_warps(const float *partial, int warps, int stride, int index) {
    float total = 0.0f;
    for (int w = 0; w < warps; w++) total += partial[w * stride + index];
    return total;
}
DDM_HD double sum_warps_d(const double *partial, int warps, int stride, int index) {
    double total = 0.0;
    for (int w = 0; w < warps; w++) total += partial[w * stride + index];
    return total;
}

/* ---------------------------------------------------------------- simulation parameters */

/* Everything one launch of the simulation kernel needs (by value, as the kernel parameter). The
 * weights are the model's arrays as stored (ddm/model.h); states x (B, n) unpadded. Noise: either
 * keyed Philox (xi = eta = NULL: ξ of trajectory j at step t from (noise_seed, first + j, t), η
 * from neuron_seed, as philox_step_normals) or explicit buffers for one step (the twin's contract).
 */
struct sim_params {
    int B, n, k, m;
    const float *Gamma; /* (n,k) */
    const float *Ws;    /* (k,n) */
    const float *b;     /* (n) */
    const float *S;     /* (k,m) constant Ŝ, or NULL with V, c */
    const float *V;     /* (k*m,n) state-dependent diffusion, or NULL */
    const float *c;     /* (k*m) */
    const float *pinv;  /* (k,n) Γ̂⁺, for the read-out (records > 0) */
    float dt_over_tau, decay, sqrt_dt;
    float neuron_kick;                /* σ_n √Δt, 0 for none */
    double latent_mean[SIM_MAX_K];    /* μ */
    double latent_scale[SIM_MAX_K];   /* s */
    float *x;                         /* (B,n) in/out */
    const float *xi;                  /* (B,m) explicit ξ of one step, or NULL */
    const float *eta;                 /* (B,n) explicit η of one step, or NULL */
    uint64_t noise_seed, neuron_seed; /* Philox keys of ξ and η */
    uint64_t first_trajectory, step0; /* global index of trajectory 0 and of the first step */
    int steps, record_every, records; /* steps = records · record_every, or 1 without records */
    const float *input;               /* (steps,k) û per step, or NULL */
    float *latent;                    /* (B,records,k) out */
    float *traces;                    /* (trace_B,records,trace_n) out, or NULL */
    int trace_B, trace_n;
    const int *trace_neurons; /* (trace_n) */
    uint64_t *dead;           /* (B) step at which each died, UINT64_MAX alive; or NULL */
};

/* Variants of the simulation kernel (its template argument FEATURES): the optional paths of the
 * fused pass a variant compiles. The plain variant (0) has neither, so a run without a
 * state-dependent Ŝ and without neuron noise issues none of their loads, stores and selects; the
 * full variant tests the launch's parameters at run time (each path is costly where it is on:
 * the V h reduction, a Philox call per four neurons, so the other's test hardly shows). */
enum sim_feature {
    SIM_FEATURE_DIFFUSION = 1, /* state-dependent Ŝ: V h reduced every step */
    SIM_FEATURE_KICK = 2,      /* neuron noise σ_n √Δt η */
    SIM_FEATURES_ALL = 3,
};
DDM_HD int sim_features(const struct sim_params *p) {
    return (p->V ? SIM_FEATURE_DIFFUSION : 0) | (p->neuron_kick > 0.0f ? SIM_FEATURE_KICK : 0);
}
/* The compiled variant that serves a launch with these features. */
DDM_HD int sim_variant(int features) {
    return features ? SIM_FEATURES_ALL : 0;
}

/* Byte offsets of the kernel's dynamic shared memory (all 16-byte aligned). */
struct sim_smem {
    int gamma, ws, bias; /* (k, n_pad) Γ̂ᵀ, (k, n_pad) Ŵ_s, (n_pad) b: zero in the padding */
    int partial;         /* (warps, P) per-warp totals of Ŵ_s h, P = tr_padded(R k) */
    int partial_z;       /* (2, warps, P) per-warp totals of Γ̂⁺(x − b), two records */
    int partial_sv;      /* (warps, R k m) per-warp totals of V h */
    int hidden;          /* (R, n_pad) tanh x of the step, for V h */
    int kick;            /* (R, n_pad) σ_n √Δt η of the step, with neuron noise */
    int coef;            /* (R k) the step's coefficients */
    int noise;           /* (SIM_NOISE_STEPS, R, m4) ξ, m4 = 4 ceil(m/4) */
    int input;           /* (SIM_NOISE_STEPS, k) û */
    int dead, zdead;     /* (R) uint64 */
    int bytes;
};

DDM_HD int sim_align16(int bytes) {
    return (bytes + 15) / 16 * 16;
}

DDM_HD struct sim_smem sim_smem_layout(struct sim_geometry g, int k, int m, int state_dependent,
                                       int neuron_noise) {
    struct sim_smem s;
    int P = tr_padded(g.R * k), m4 = (m + 3) / 4 * 4, at = 0;
    s.gamma = at, at += sim_align16(4 * k * g.n_pad);
    s.ws = at, at += sim_align16(4 * k * g.n_pad);
    s.bias = at, at += sim_align16(4 * g.n_pad);
    s.partial = at, at += sim_align16(4 * g.warps * P);
    s.partial_z = at, at += sim_align16(4 * 2 * g.warps * P);
    s.partial_sv = at, at += state_dependent ? sim_align16(4 * g.warps * g.R * k * m) : 0;
    s.hidden = at, at += state_dependent ? sim_align16(4 * g.R * g.n_pad) : 0;
    s.kick = at, at += neuron_noise ? sim_align16(4 * g.R * g.n_pad) : 0;
    s.coef = at, at += sim_align16(4 * g.R * k);
    s.noise = at, at += sim_align16(4 * SIM_NOISE_STEPS * g.R * m4);
    s.input = at, at += sim_align16(4 * SIM_NOISE_STEPS * k);
    s.dead = at, at += sim_align16(8 * g.R);
    s.zdead = at, at += sim_align16(8 * g.R);
    s.bytes = at;
    return s;
}

/* ------------------------------------------------------------------- simulation phases */

/* Noise chunk: item q of R · steps · groups fills group g of ξ for trajectory r at chunk step s
 * (noise (steps, R, m4)); from the Philox stream or, in the explicit mode, from xi. */
DDM_HD void sim_noise_item(const struct sim_params *p, int R, int block, int chunk_start,
                           int chunk_steps, int item, float *noise) {
    const int groups = (p->m + 3) / 4, m4 = 4 * groups;
    const int g = item % groups, r = (item / groups) % R, s = item / (groups * R);
    if (s >= chunk_steps) return;
    const int traj = block * R + r;
    float *out = noise + ((size_t)s * R + r) * m4 + 4 * g;
    if (traj >= p->B) {
        for (int i = 0; i < 4; i++) out[i] = 0.0f;
    } else if (p->xi) {
        for (int i = 0; i < 4; i++)
            out[i] = 4 * g + i < p->m ? p->xi[(size_t)traj * p->m + 4 * g + i] : 0.0f;
    } else {
        uint64_t step = p->step0 + (uint64_t)(chunk_start + s);
        philox_normal4(p->noise_seed, p->first_trajectory + (uint64_t)traj,
                       step * (uint64_t)groups + (uint64_t)g, out);
    }
}

/* σ_n √Δt η_i for neuron i of one trajectory at one step: normal i % 4 of Philox group i / 4 of
 * the step (as philox_step_normals(neuron_seed, trajectory, step, n)), or explicit. The group is
 * drawn into four when i is the first slot or a multiple of 4, and reused for the next neurons. */
DDM_HD float sim_neuron_kick(const struct sim_params *p, int traj, uint64_t step, int i, int draw,
                             float *four) {
    if (i >= p->n) return 0.0f;
    if (p->eta) return p->neuron_kick * p->eta[(size_t)traj * p->n + i];
    if (draw || i % 4 == 0)
        philox_normal4(p->neuron_seed, p->first_trajectory + (uint64_t)traj,
                       step * (uint64_t)((p->n + 3) / 4) + (uint64_t)(i / 4), four);
    int e = i % 4; /* select, so that `four` stays in registers */
    return p->neuron_kick * (e == 0 ? four[0] : e == 1 ? four[1] : e == 2 ? four[2] : four[3]);
}

/* tanh x = 1 − 2/(1 + 2^(2x·log₂e)), the simulation kernel's tanh: on the device ex2.approx and
 * rcp.approx (2 MUFU) with an FMUL, an FADD and an FFMA, 5 issue slots against about 15 for
 * tanhf. PTX bounds the two at 2 ulp and 1 ulp, which leaves |error| ≲ 3e-7 (absolute: near 0 the
 * result is a difference with 1). x → ±∞ gives ±1, NaN stays NaN. On the host the same formula
 * with exp2f and a division; SIM_TANH_EX2_ERROR and SIM_TANH_RCP_ERROR (relative, 0 here) let
 * tests/test_kernel_logic.c play the device's worst case against the parity tolerance. */
#ifndef SIM_TANH_EX2_ERROR
#define SIM_TANH_EX2_ERROR 0.0f
#define SIM_TANH_RCP_ERROR 0.0f
#endif
DDM_HD float sim_tanh(float x) {
    const float two_log2e = 2.88539008177792681f;
#ifdef __CUDA_ARCH__
    float e, r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(e) : "f"(two_log2e * x));
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(1.0f + e));
#else
    float e = exp2f(two_log2e * x) * (1.0f + SIM_TANH_EX2_ERROR);
    float r = 1.0f / (1.0f + e) * (1.0f + SIM_TANH_RCP_ERROR);
#endif
    return fmaf(-2.0f, r, 1.0f);
}

/* The fused update of neuron slot j for trajectory r (docs/design.md §4): x ← x(1 − Δt/τ) + (Δt/τ)b
 * + Γ̂_i·coef + kick, h = tanh x (sim_tanh), acc (k) += Ŵ_s[:,i] h. Returns h. */
DDM_HD float sim_neuron_step(int k, float *x, float bias, const float *gamma, const float *ws,
                             const float *coef, float decay, float dt_over_tau, float kick,
                             float *acc) {
    *x = rnn_neuron_update(k, *x, bias, gamma, coef, decay, dt_over_tau, kick);
    float h = sim_tanh(*x);
    DDM_UNROLL
    for (int c = 0; c < k; c++) acc[c] += ws[c] * h;
    return h;
}

/* Coefficient of value v = r·k + c (docs/design.md §4): coef = (Δt/τ)(a + û_c) + √Δt Σ_j Ŝ_cj ξ_j,
 * as rnn_coefficients, with Ŝ constant or Ŝ_cj = (V h)_cj + c_cj, the totals of V h summed here
 * over the warps' partials sv (warps, stride) at r·k·m + c·m + j; sv = NULL for constant Ŝ. */
DDM_HD float sim_coefficient(const struct sim_params *p, int r, int c, float a, const float *input,
                             const float *sv, int warps, int stride, const float *xi) {
    float noise = 0.0f;
    const int row = c * p->m, base = (r * p->k + c) * p->m;
    for (int j = 0; j < p->m; j++) {
        float s = sv ? sim_sum_warps(sv, warps, stride, base + j) + p->c[row + j] : p->S[row + j];
        noise += s * xi[j];
    }
    return p->dt_over_tau * (a + (input ? input[c] : 0.0f)) + p->sqrt_dt * noise;
}

/* Latent read-out z_c = μ_c + s_c (Γ̂⁺(x − b))_c from the reduced total. */
DDM_HD float sim_readout(const struct sim_params *p, int c, float total) {
    return (float)(p->latent_mean[c] + p->latent_scale[c] * (double)total);
}

/* x of neuron `neuron` if this thread holds it (slots first … first + npt − 1), by compare-and-
 * select so that a register array is never indexed at run time. */
DDM_HD int sim_held_value(const float *x, int npt, int first, int neuron, float *value) {
    int found = 0;
    DDM_UNROLL
    for (int j = 0; j < npt; j++)
        if (neuron == first + j) {
            *value = x[j];
            found = 1;
        }
    return found;
}

/* ------------------------------------------------------------------------------ training */

enum {
    MLP_FWD_THREADS = 256, /* forward: one block per tile of points, threads over neurons */
    MLP_BWD_THREADS = 128, /* backward: one thread per neuron, blocks over (neurons, chunks) */
    MLP_BWD_STAGE = 64,    /* points staged in shared memory at a time */
    MLP_MAX_CHUNKS = 256,  /* bounds the workspace of per-chunk partial gradients */
};

/* Points per forward block: R k ≤ 32 partial sums per thread. */
DDM_HDC int mlp_points_per_block(int k) {
    return k <= 4 ? 8 : 4;
}

/* Chunks of points of the backward pass: enough blocks for two per multiprocessor, chunks of at
 * least 32 points, at most MLP_MAX_CHUNKS. Chunk c covers [c M / chunks, (c + 1) M / chunks). */
DDM_HD int mlp_chunks(int M, int n, int sms) {
    int tiles = (n + MLP_BWD_THREADS - 1) / MLP_BWD_THREADS;
    int want = (2 * sms + tiles - 1) / tiles, most = (M + 31) / 32;
    int chunks = want < most ? want : most;
    chunks = chunks < MLP_MAX_CHUNKS ? chunks : MLP_MAX_CHUNKS;
    return chunks > 0 ? chunks : 1;
}
DDM_HD int mlp_chunk_start(int chunk, int chunks, int M) {
    return (int)((long)chunk * M / chunks);
}

/* h = tanh(Γ̂_i·ẑ + b_i) in float, as the twin's hidden unit. */
DDM_HD float mlp_hidden(int k, const float *gamma_row, float bias, const float *z) {
    float pre = bias;
    DDM_UNROLL
    for (int c = 0; c < k; c++) pre += gamma_row[c] * z[c];
    return tanhf(pre);
}

/* The backward step of one (point, neuron): with ws_col[c] = Ŵ_s[c][i] (stride apart),
 * g (2k+1) = (∂Γ̂_i (k), ∂b_i, ∂Ŵ_s[:,i] (k)) += (g_pre ẑ, g_pre, r h), g_pre = (Ŵ_sᵀ r)_i (1 − h²).
 */
DDM_HD void mlp_backward_point(int k, const float *ws_col, int stride, const float *r,
                               const float *z, float h, double *g) {
    double back = 0;
    DDM_UNROLL
    for (int c = 0; c < k; c++) {
        g[k + 1 + c] += (double)r[c] * h;
        back += (double)ws_col[c * stride] * r[c];
    }
    double g_pre = back * (1.0 - (double)h * h);
    DDM_UNROLL
    for (int c = 0; c < k; c++) g[c] += g_pre * z[c];
    g[k] += g_pre;
}

/* One AdamW element, corrections c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ given (as adam_step_cpu). */
DDM_HD void adam_element(float *param, float grad, float *m1, float *m2, float lr, float beta1,
                         float beta2, float epsilon, float weight_decay, float correction1,
                         float correction2) {
    *m1 = beta1 * *m1 + (1.0f - beta1) * grad;
    *m2 = beta2 * *m2 + (1.0f - beta2) * grad * grad;
    float step = (*m1 / correction1) / (sqrtf(*m2 / correction2) + epsilon);
    *param -= lr * (step + weight_decay * *param);
}

/* Feature i of a point, tanh(b_i + Γ̂_i·ẑ) in double (the Gram matrix of the ridge start). */
DDM_HD double gram_feature(int k, const float *gamma_row, float bias, const float *z) {
    double pre = bias;
    for (int c = 0; c < k; c++) pre += (double)gamma_row[c] * z[c];
    return tanh(pre);
}

#endif
