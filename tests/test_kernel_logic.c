/* test_kernel_logic.c — the CUDA kernels' per-thread and per-warp logic, run on the CPU.
 *
 * Everything a GPU thread computes is a DDM_HD function of include/ddm/kernel_math.h; here a block
 * is emulated thread by thread (warp shuffles become reads of the partner lane's values, barriers
 * become phase boundaries) in exactly the kernel's order (kernels/rnn_step.cu), and compared with
 * the CPU twins: the simulation over hundreds of steps against the reference backend, the warp
 * transpose reduction against exact sums, the noise against philox_step_normals, the gradient
 * tiles against mlp_grad_cpu, the AdamW element against adam_step_cpu, the Gram features.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* sim_tanh's relative errors of ex2.approx and rcp.approx, played on the host (0: none) */
static float tanh_ex2_error, tanh_rcp_error;
#define SIM_TANH_EX2_ERROR tanh_ex2_error
#define SIM_TANH_RCP_ERROR tanh_rcp_error

#include "ddm/backend.h"
#include "ddm/kernel_math.h"
#include "ddm/ops.h"
#include "test_util.h"

/* ------------------------------------------------------------------ warp reduction */

/* One warp's transpose reduction of `count` values per lane, lanes (32, padded): the kernel's
 * levels (kernels/warp_reduce.cuh) with __shfl_xor_sync replaced by reading lane ^ d. Writes
 * out[index · stride] for the lanes that tr_result_index names. */
static void warp_reduce_emulated(float *lanes, int count, float *out, int stride) {
    const int padded = tr_padded(count), chunk_size = tr_chunk(padded);
    float send[SIM_WARP][SIM_WARP];
    for (int chunk = 0; chunk < padded / chunk_size; chunk++) {
        int held = chunk_size;
        for (int d = SIM_WARP / 2; d >= 1; d /= 2) {
            const int pairs = tr_pairs(held), half = held > 1 ? held / 2 : 0;
            for (int lane = 0; lane < SIM_WARP; lane++)
                for (int j = 0; j < pairs; j++)
                    send[lane][j] = tr_send(lanes + lane * padded + chunk * chunk_size, j, half,
                                            tr_upper(lane, d));
            for (int lane = 0; lane < SIM_WARP; lane++) {
                float *w = lanes + lane * padded + chunk * chunk_size;
                for (int j = 0; j < pairs; j++)
                    w[j] = tr_keep(w, j, half, tr_upper(lane, d)) + send[lane ^ d][j];
            }
            held = pairs;
        }
        for (int lane = 0; lane < SIM_WARP; lane++) {
            int index = tr_result_index(lane, chunk, padded, count);
            if (index >= 0) out[index * stride] = lanes[lane * padded + chunk * chunk_size];
        }
    }
}

Test(kernel_logic, warp_transpose_reduction_sums_every_value_once) {
    for (int count = 1; count <= 64; count++) {
        const int padded = tr_padded(count);
        cr_assert(padded >= count &&
                  (padded <= 32 ? (padded & (padded - 1)) == 0 : padded % 32 == 0));
        float lanes[SIM_WARP * 64], out[64], expected[64];
        for (int v = 0; v < count; v++) out[v] = NAN, expected[v] = 0;
        for (int lane = 0; lane < SIM_WARP; lane++)
            for (int v = 0; v < padded; v++) {
                /* integers: every sum is exact, so any missing or doubled term shows */
                float value = v < count ? (float)((lane * 37 + v * 11) % 97) : 0.0f;
                lanes[lane * padded + v] = value;
                if (v < count) expected[v] += value;
            }
        warp_reduce_emulated(lanes, count, out, 1);
        for (int v = 0; v < count; v++)
            cr_assert_eq(out[v], expected[v], "count %d value %d: %g, expected %g", count, v,
                         out[v], expected[v]);
    }
}

Test(kernel_logic, warp_reduction_of_random_values_is_deterministic_and_accurate) {
    enum { COUNT = 24 };
    float a[SIM_WARP * 32], b[SIM_WARP * 32], out_a[COUNT], out_b[COUNT];
    fill_uniform(a, SIM_WARP * 32, -1, 1, 3);
    memcpy(b, a, sizeof a);
    double exact[COUNT] = {0};
    for (int lane = 0; lane < SIM_WARP; lane++)
        for (int v = 0; v < COUNT; v++) exact[v] += a[lane * 32 + v];
    for (int lane = 0; lane < SIM_WARP; lane++)
        for (int v = COUNT; v < 32; v++) a[lane * 32 + v] = b[lane * 32 + v] = 0;
    warp_reduce_emulated(a, COUNT, out_a, 1);
    warp_reduce_emulated(b, COUNT, out_b, 1);
    for (int v = 0; v < COUNT; v++) {
        cr_assert_eq(out_a[v], out_b[v]);
        cr_assert(fabs(out_a[v] - exact[v]) < 1e-5, "value %d: %g vs %g", v, out_a[v], exact[v]);
    }
}

/* ------------------------------------------------------------------------- geometry */

Test(kernel_logic, every_neuron_and_trajectory_has_one_owner) {
    const int ns[] = {1, 17, 33, 64, 65, 512, 1000, 1024, 2048, 2049, 4096};
    const int Bs[] = {1, 37, 1007, 4096};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t c = 0; c < sizeof Bs / sizeof *Bs; c++)
            for (int k = 1; k <= SIM_MAX_K; k++) {
                int n = ns[a], B = Bs[c];
                struct sim_geometry g = sim_geometry_choose(B, n, k, 132);
                cr_assert(g.threads > 0 && g.threads <= SIM_MAX_THREADS, "n %d: %d threads", n,
                          g.threads);
                cr_assert_eq(g.threads % SIM_WARP, 0);
                cr_assert(g.n_pad >= n && g.blocks * g.R >= B && (g.blocks - 1) * g.R < B);
                cr_assert(g.R * k <= SIM_WARP || g.R == 1, "R %d k %d", g.R, k);
                int *owners = calloc(g.n_pad, sizeof(int));
                for (int tid = 0; tid < g.threads; tid++)
                    for (int j = 0; j < g.npt; j++) owners[sim_neuron(tid, j, g.npt)]++;
                for (int i = 0; i < g.n_pad; i++) cr_assert_eq(owners[i], 1, "neuron %d", i);
                free(owners);
                struct sim_smem s = sim_smem_layout(g, k, 3, 1, 1);
                int offsets[] = {s.gamma,      s.ws,     s.bias, s.partial, s.partial_z,
                                 s.partial_sv, s.hidden, s.kick, s.coef,    s.noise,
                                 s.input,      s.dead,   s.zdead};
                for (size_t q = 0; q < sizeof offsets / sizeof *offsets; q++) {
                    cr_assert_eq(offsets[q] % 16, 0);
                    cr_assert(offsets[q] <= s.bytes);
                    if (q) cr_assert(offsets[q] >= offsets[q - 1]);
                }
            }
    cr_assert_eq(sim_geometry_choose(10, 4097, 3, 132).threads, 0, "n > 4096 is refused");
    cr_assert_eq(sim_geometry_choose(4096, 1024, 3, 132).shape, SIM_SHAPE_N4_R4);
    cr_assert_eq(sim_geometry_choose(256, 1024, 3, 132).shape, SIM_SHAPE_N2_R2);
}

/* Bank conflicts of one vector load of every thread of a block from a weight plane at byte
 * offset `base` (16-byte aligned) with positions pos(tid, v·W): a shared load of W floats per
 * lane is served 32/W lanes at a time; within such a group no two different 4-byte words may fall
 * in the same one of the 32 banks. Returns the number of groups that conflict. */
static int plane_conflicts(struct sim_geometry g, int base, int identity, int *misaligned) {
    const int W = sim_vector_width(g.npt), lanes_per_group = SIM_WARP / W;
    int conflicts = 0;
    for (int v = 0; v < g.npt / W; v++)
        for (int group = 0; group < g.threads / lanes_per_group; group++) {
            int word_in_bank[SIM_WARP];
            for (int b = 0; b < SIM_WARP; b++) word_in_bank[b] = -1;
            int clash = 0;
            for (int l = 0; l < lanes_per_group; l++) {
                int tid = group * lanes_per_group + l;
                int pos = identity ? sim_neuron(tid, v * W, g.npt)
                                   : sim_weight_pos(tid, v * W, g.npt, g.threads);
                if ((base + 4 * pos) % (4 * W)) ++*misaligned;
                for (int e = 0; e < W; e++) {
                    int word = base / 4 + pos + e, bank = word % SIM_WARP;
                    if (word_in_bank[bank] >= 0 && word_in_bank[bank] != word) clash = 1;
                    word_in_bank[bank] = word;
                }
            }
            conflicts += clash;
        }
    return conflicts;
}

Test(kernel_logic, weight_planes_give_aligned_conflict_free_vector_loads) {
    const int ns[] = {1, 33, 64, 65, 1000, 1024, 2048, 2049, 4096};
    for (int shape = 0; shape < SIM_SHAPES; shape++)
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
            struct sim_geometry g = sim_geometry_forced(shape, 100, ns[a], 3);
            if (!g.threads) continue;
            const int W = sim_vector_width(g.npt);
            cr_assert(W > 1 && g.npt % W == 0 && W <= 4, "npt %d: width %d", g.npt, W);
            /* a bijection of [0, n_pad), a vector's W slots consecutive */
            int *seen = calloc(g.n_pad, sizeof(int));
            for (int tid = 0; tid < g.threads; tid++)
                for (int j = 0; j < g.npt; j++) {
                    int pos = sim_weight_pos(tid, j, g.npt, g.threads);
                    cr_assert(pos >= 0 && pos < g.n_pad);
                    seen[pos]++;
                    cr_assert_eq(pos, sim_weight_pos(tid, j / W * W, g.npt, g.threads) + j % W);
                }
            for (int q = 0; q < g.n_pad; q++) cr_assert_eq(seen[q], 1, "position %d", q);
            free(seen);
            /* every plane (each c of Γ̂ᵀ, Ŵ_s; b) aligned and conflict-free */
            struct sim_smem lay = sim_smem_layout(g, 3, 3, 0, 0);
            for (int c = 0; c < 3; c++) {
                const int planes[] = {lay.gamma + 4 * c * g.n_pad, lay.ws + 4 * c * g.n_pad,
                                      lay.bias};
                for (int q = 0; q < 3; q++) {
                    int misaligned = 0;
                    cr_assert_eq(plane_conflicts(g, planes[q], 0, &misaligned), 0,
                                 "shape %d n %d plane %d: bank conflicts", shape, ns[a], q);
                    cr_assert_eq(misaligned, 0, "shape %d n %d plane %d", shape, ns[a], q);
                }
            }
        }
    /* the check can fail: npt = 8 with the neuron index as position is 2-way conflicted */
    int misaligned = 0;
    struct sim_geometry g8 = sim_geometry_forced(SIM_SHAPE_N8_R2, 100, 1000, 3);
    cr_assert_gt(plane_conflicts(g8, 0, 1, &misaligned), 0);
    cr_assert_eq(sim_weight_pos(5, 6, 8, 128), 1 * 128 * 4 + 5 * 4 + 2);
}

Test(kernel_logic, plain_variant_serves_only_launches_without_its_paths) {
    struct sim_params p = {0};
    float V = 0.0f;
    for (int with_v = 0; with_v < 2; with_v++)
        for (int with_kick = 0; with_kick < 2; with_kick++) {
            p.V = with_v ? &V : NULL;
            p.neuron_kick = with_kick ? 0.25f : 0.0f;
            int features = sim_features(&p), variant = sim_variant(features);
            cr_assert_eq(features,
                         (with_v ? SIM_FEATURE_DIFFUSION : 0) | (with_kick ? SIM_FEATURE_KICK : 0));
            cr_assert_eq(features & ~variant, 0, "a path the variant does not compile");
            cr_assert_eq(variant == 0, !with_v && !with_kick);
        }
}

/* ---------------------------------------------------------------------------- noise */

Test(kernel_logic, noise_chunk_and_neuron_kicks_are_the_keyed_streams) {
    struct sim_params p = {0};
    p.B = 10, p.n = 37, p.k = 3, p.m = 5, p.noise_seed = 99, p.neuron_seed = 7;
    p.first_trajectory = 1234, p.step0 = 50, p.neuron_kick = 0.5f;
    const int R = 4, groups = 2, m4 = 8, chunk_steps = 7;
    float noise[SIM_NOISE_STEPS * 4 * 8];
    for (int block = 0; block < 3; block++) {
        for (int item = 0; item < SIM_NOISE_STEPS * R * groups; item++)
            sim_noise_item(&p, R, block, 3, chunk_steps, item, noise);
        for (int s = 0; s < chunk_steps; s++)
            for (int r = 0; r < R; r++) {
                int traj = block * R + r;
                float xi[5];
                philox_step_normals(99, 1234 + (uint64_t)traj, 50 + 3 + (uint64_t)s, 5, xi);
                for (int j = 0; j < 5; j++)
                    cr_assert_eq(noise[(s * R + r) * m4 + j], traj < p.B ? xi[j] : 0.0f);
            }
    }
    float eta[37];
    philox_step_normals(7, 1234 + 3, 61, 37, eta);
    for (int npt = 2; npt <= 8; npt *= 2)
        for (int tid = 0; tid * npt < 40; tid++) {
            float four[4] = {0};
            for (int j = 0; j < npt; j++) {
                int i = sim_neuron(tid, j, npt);
                float kick = sim_neuron_kick(&p, 3, 61, i, j == 0, four);
                cr_assert_eq(kick, i < 37 ? 0.5f * eta[i] : 0.0f, "npt %d neuron %d", npt, i);
            }
        }
}

Test(kernel_logic, coefficient_is_the_twins) {
    enum { K = 3, M = 2 };
    float S[K * M], xi[M], a[K], input[K], coef[K];
    fill_uniform(S, K * M, -1, 1, 1);
    fill_uniform(xi, M, -2, 2, 2);
    fill_uniform(a, K, -1, 1, 3);
    fill_uniform(input, K, -1, 1, 4);
    rnn_coefficients(K, M, a, input, S, xi, 0.02f, 0.1f, coef);
    struct sim_params p = {0};
    p.k = K, p.m = M, p.S = S, p.dt_over_tau = 0.02f, p.sqrt_dt = 0.1f;
    for (int c = 0; c < K; c++)
        cr_assert_eq(sim_coefficient(&p, 0, c, a[c], input, NULL, 0, 0, xi), coef[c]);
}

/* ----------------------------------------------------------- one block, thread by thread */

struct emu {
    const struct sim_params *p;
    struct sim_geometry g;
    struct sim_smem lay;
    unsigned char *smem;
    float *x; /* (threads, R, npt) the registers */
    int block, P;
};

static float *sm(struct emu *e, int offset) {
    return (float *)(e->smem + offset);
}
static uint64_t *dead(struct emu *e) {
    return (uint64_t *)(e->smem + e->lay.dead);
}
static uint64_t *zdead(struct emu *e) {
    return (uint64_t *)(e->smem + e->lay.zdead);
}
static float *xr(struct emu *e, int tid, int r) {
    return e->x + ((size_t)tid * e->g.R + r) * e->g.npt;
}
/* Weight c (or b, plane = lay.bias) of slot j of thread tid: planes in sim_weight_pos order. */
static float weight(struct emu *e, int plane, int c, int tid, int j) {
    return sm(e, plane)[c * e->g.n_pad + sim_weight_pos(tid, j, e->g.npt, e->g.threads)];
}

/* Each warp reduces its lanes' `count` values (per-thread acc (threads, P)) into out. */
static void reduce_warps(struct emu *e, float *acc, int count, float *out, int warp_stride,
                         int stride) {
    int padded = tr_padded(count);
    float *lanes = malloc(sizeof(float) * SIM_WARP * padded);
    for (int w = 0; w < e->g.warps; w++) {
        memcpy(lanes, acc + (size_t)w * SIM_WARP * padded, sizeof(float) * SIM_WARP * padded);
        warp_reduce_emulated(lanes, count, out + w * warp_stride, stride);
    }
    free(lanes);
}

static void reduce_hidden(struct emu *e, int keep_hidden) {
    const struct sim_params *p = e->p;
    const int K = p->k, R = e->g.R, N = R * K, P = e->P, n_pad = e->g.n_pad;
    float *acc = calloc((size_t)e->g.threads * P, sizeof(float));
    for (int tid = 0; tid < e->g.threads; tid++)
        for (int j = 0; j < e->g.npt; j++) {
            int i = sim_neuron(tid, j, e->g.npt);
            for (int r = 0; r < R; r++) {
                float h = sim_tanh(xr(e, tid, r)[j]);
                for (int c = 0; c < K; c++)
                    acc[tid * P + r * K + c] += weight(e, e->lay.ws, c, tid, j) * h;
                if (keep_hidden) sm(e, e->lay.hidden)[r * n_pad + i] = h;
            }
        }
    reduce_warps(e, acc, N, sm(e, e->lay.partial), P, 1);
    free(acc);
}

static void reduce_diffusion(struct emu *e) {
    const struct sim_params *p = e->p;
    const int R = e->g.R, km = p->k * p->m, PR = tr_padded(R), n_pad = e->g.n_pad;
    float *t = malloc(sizeof(float) * e->g.threads * PR);
    for (int q = 0; q < km; q++) {
        memset(t, 0, sizeof(float) * e->g.threads * PR);
        for (int tid = 0; tid < e->g.threads; tid++)
            for (int j = 0; j < e->g.npt; j++) {
                int i = sim_neuron(tid, j, e->g.npt);
                float vq = i < p->n ? p->V[(size_t)q * p->n + i] : 0.0f;
                for (int r = 0; r < R; r++)
                    t[tid * PR + r] += vq * sm(e, e->lay.hidden)[r * n_pad + i];
            }
        reduce_warps(e, t, R, sm(e, e->lay.partial_sv) + q, R * km, km);
    }
    free(t);
}

static void emulate_block(struct emu *e) {
    const struct sim_params *p = e->p;
    const int K = p->k, R = e->g.R, N = R * K, P = e->P, n = p->n, n_pad = e->g.n_pad;
    const int warps = e->g.warps, traj0 = e->block * R, km = K * p->m, m4 = (p->m + 3) / 4 * 4;
    memset(e->smem, 0, e->lay.bytes);
    const int npt = e->g.npt, threads = e->g.threads;
    for (int q = 0; q < K * n_pad; q++) {
        int c = q / n_pad, i = q % n_pad;
        int at = c * n_pad + sim_weight_pos(i / npt, i % npt, npt, threads);
        sm(e, e->lay.gamma)[at] = i < n ? p->Gamma[(size_t)i * K + c] : 0.0f;
        sm(e, e->lay.ws)[at] = i < n ? p->Ws[(size_t)c * n + i] : 0.0f;
    }
    for (int i = 0; i < n_pad; i++)
        sm(e, e->lay.bias)[sim_weight_pos(i / npt, i % npt, npt, threads)] = i < n ? p->b[i] : 0.0f;
    for (int r = 0; r < R; r++) {
        dead(e)[r] = traj0 + r >= p->B ? 0 : p->dead[traj0 + r];
        zdead(e)[r] = UINT64_MAX;
    }
    for (int tid = 0; tid < e->g.threads; tid++)
        for (int r = 0; r < R; r++)
            for (int j = 0; j < e->g.npt; j++) {
                int traj = traj0 + r, i = sim_neuron(tid, j, e->g.npt);
                xr(e, tid, r)[j] = traj < p->B && i < n ? p->x[(size_t)traj * n + i] : 0.0f;
            }
    reduce_hidden(e, p->V != NULL);
    if (p->V) reduce_diffusion(e);
    float *acc = malloc(sizeof(float) * e->g.threads * P);
    int record = 0;
    for (int s = 0;; s++) {
        const int last = s == p->steps;
        const int record_due = p->records > 0 && s > 0 && s % p->record_every == 0;
        if (!last && s % SIM_NOISE_STEPS == 0) {
            int chunk_steps = p->steps - s < SIM_NOISE_STEPS ? p->steps - s : SIM_NOISE_STEPS;
            for (int item = 0; item < SIM_NOISE_STEPS * R * ((p->m + 3) / 4); item++)
                sim_noise_item(p, R, e->block, s, chunk_steps, item, sm(e, e->lay.noise));
            for (int q = 0; q < chunk_steps * K; q++)
                sm(e, e->lay.input)[q] = p->input ? p->input[(size_t)s * K + q] : 0.0f;
        }
        for (int v = 0; v < N; v++) { /* phase A */
            const int r = v / K, c = v % K;
            float a = sim_sum_warps(sm(e, e->lay.partial), warps, P, v);
            if (c == 0 && zdead(e)[r] < dead(e)[r]) dead(e)[r] = zdead(e)[r];
            if (s > 0 && !isfinite(a) && p->step0 + s - 1 < dead(e)[r])
                dead(e)[r] = p->step0 + s - 1;
            if (!last) {
                const int cs = s % SIM_NOISE_STEPS;
                sm(e, e->lay.coef)[v] =
                    sim_coefficient(p, r, c, a, sm(e, e->lay.input) + cs * K,
                                    p->V ? sm(e, e->lay.partial_sv) : NULL, warps, R * km,
                                    sm(e, e->lay.noise) + (cs * R + r) * m4);
            }
        }
        if (record_due) { /* phase R */
            const uint64_t rec_last = p->step0 + s - 1;
            const float *zbuf = sm(e, e->lay.partial_z) + (record % 2) * warps * P;
            for (int v = 0; v < N; v++) {
                const int r = v / K, c = v % K, traj = traj0 + r;
                if (traj >= p->B) continue;
                float z = sim_readout(p, c, sim_sum_warps(zbuf, warps, P, v));
                int is_dead = dead(e)[r] <= rec_last;
                p->latent[((size_t)traj * p->records + record) * K + c] = is_dead ? NAN : z;
                if (!is_dead && !isfinite(z)) zdead(e)[r] = rec_last;
            }
            if (p->traces && traj0 < p->trace_B)
                for (int tid = 0; tid < e->g.threads; tid++)
                    for (int jt = 0; jt < p->trace_n; jt++)
                        for (int r = 0; r < R; r++) {
                            float value;
                            int traj = traj0 + r, first = sim_neuron(tid, 0, e->g.npt);
                            if (traj < p->trace_B && traj < p->B &&
                                sim_held_value(xr(e, tid, r), e->g.npt, first, p->trace_neurons[jt],
                                               &value))
                                p->traces[((size_t)traj * p->records + record) * p->trace_n + jt] =
                                    dead(e)[r] <= rec_last ? NAN : value;
                        }
            record++;
        }
        if (last) break;
        const uint64_t step = p->step0 + s;
        memset(acc, 0, sizeof(float) * e->g.threads * P);
        for (int tid = 0; tid < e->g.threads; tid++) { /* the fused pass */
            const int first = sim_neuron(tid, 0, e->g.npt);
            if (p->neuron_kick > 0)
                for (int r = 0; r < R; r++) {
                    float four[4] = {0};
                    for (int j = 0; j < e->g.npt; j++)
                        sm(e, e->lay.kick)[r * n_pad + first + j] =
                            traj0 + r < p->B
                                ? sim_neuron_kick(p, traj0 + r, step, first + j, j == 0, four)
                                : 0.0f;
                }
            for (int j = 0; j < e->g.npt; j++) {
                const int i = first + j;
                float gamma[SIM_MAX_K], ws[SIM_MAX_K];
                for (int c = 0; c < K; c++) {
                    gamma[c] = weight(e, e->lay.gamma, c, tid, j);
                    ws[c] = weight(e, e->lay.ws, c, tid, j);
                }
                for (int r = 0; r < R; r++) {
                    float next = xr(e, tid, r)[j];
                    float kick = p->neuron_kick > 0 ? sm(e, e->lay.kick)[r * n_pad + i] : -0.0f;
                    float h = sim_neuron_step(K, &next, weight(e, e->lay.bias, 0, tid, j), gamma,
                                              ws, sm(e, e->lay.coef) + r * K, p->decay,
                                              p->dt_over_tau, kick, acc + tid * P + r * K);
                    if (dead(e)[r] == UINT64_MAX) xr(e, tid, r)[j] = next;
                    if (p->V) sm(e, e->lay.hidden)[r * n_pad + i] = h;
                }
            }
        }
        reduce_warps(e, acc, N, sm(e, e->lay.partial), P, 1);
        if (p->V) reduce_diffusion(e);
        if (p->records > 0 && (s + 1) % p->record_every == 0) {
            memset(acc, 0, sizeof(float) * e->g.threads * P);
            for (int tid = 0; tid < e->g.threads; tid++)
                for (int j = 0; j < e->g.npt; j++) {
                    int i = sim_neuron(tid, j, e->g.npt);
                    for (int r = 0; r < R; r++) {
                        float centred = xr(e, tid, r)[j] - weight(e, e->lay.bias, 0, tid, j);
                        for (int c = 0; c < K; c++)
                            acc[tid * P + r * K + c] +=
                                (i < n ? p->pinv[(size_t)c * n + i] : 0.0f) * centred;
                    }
                }
            reduce_warps(e, acc, N, sm(e, e->lay.partial_z) + (record % 2) * warps * P, P, 1);
        }
    }
    free(acc);
    for (int tid = 0; tid < e->g.threads; tid++)
        for (int r = 0; r < R; r++)
            for (int j = 0; j < e->g.npt; j++) {
                int traj = traj0 + r, i = sim_neuron(tid, j, e->g.npt);
                if (traj < p->B && i < n) p->x[(size_t)traj * n + i] = xr(e, tid, r)[j];
            }
    for (int r = 0; r < R; r++)
        if (traj0 + r < p->B)
            p->dead[traj0 + r] = dead(e)[r] < zdead(e)[r] ? dead(e)[r] : zdead(e)[r];
}

/* One launch of the kernel, every block emulated in turn, with the given shape. */
static void emulate_launch(const struct sim_params *p, int shape) {
    struct emu e = {.p = p};
    e.g = sim_geometry_for(shape, p->B, p->n, p->k);
    e.lay = sim_smem_layout(e.g, p->k, p->m, p->V != NULL, p->neuron_kick > 0);
    e.smem = aligned_alloc(16, e.lay.bytes);
    e.x = malloc(sizeof(float) * e.g.threads * e.g.R * e.g.npt);
    e.P = tr_padded(e.g.R * p->k);
    for (e.block = 0; e.block < e.g.blocks; e.block++) emulate_block(&e);
    free(e.smem);
    free(e.x);
}

/* The emulated kernel against the reference backend (the twin rnn_step_cpu, step by step):
 * B trajectories, `records` × `every` steps, the same keyed noise, states, read-out and traces.
 * Returns the largest error of the three over the parity tolerance 1e-4 abs + rel (≤ 1: within). */
static double twin_ratio(int shape, int B, int n, int k, int m, int state_dependent,
                         double neuron_noise, int with_input) {
    enum { RECORDS = 20, EVERY = 10 };
    struct ddm_model model;
    random_model(&model, n, k, m, state_dependent, 5 + n);
    float *x0 = malloc(sizeof(float) * B * n), *x_emu = malloc(sizeof(float) * B * n);
    float *x_ref = malloc(sizeof(float) * B * n), *input = NULL;
    fill_uniform(x0, (size_t)B * n, -1, 1, 99);
    memcpy(x_emu, x0, sizeof(float) * B * n);
    if (with_input) {
        input = malloc(sizeof(float) * RECORDS * EVERY * k);
        fill_uniform(input, (size_t)RECORDS * EVERY * k, -1, 1, 6);
    }
    int trace_neurons[3] = {0, n / 2, n - 1};
    size_t latent_size = (size_t)B * RECORDS * k, trace_size = 2 * RECORDS * 3;
    float *lat_emu = malloc(sizeof(float) * latent_size),
          *lat_ref = malloc(sizeof(float) * latent_size);
    float tr_emu[2 * RECORDS * 3], tr_ref[2 * RECORDS * 3];
    uint64_t *dead_steps = malloc(sizeof(uint64_t) * B);
    for (int t = 0; t < B; t++) dead_steps[t] = UINT64_MAX;

    const struct ddm_backend *ref = backend_cpu_reference(0);
    struct ddm_sim_setup setup = {&model, B, 1000,          77, 78, 0.01, neuron_noise,
                                  2,      3, trace_neurons, x0};
    void *ctx = NULL;
    struct ddm_error err = {0};
    cr_assert_eq(ref->sim_create(&setup, &ctx, &err), 0, "%s", err.message);
    struct ddm_sim_block block = {5, RECORDS, EVERY, input, lat_ref, tr_ref, -1, 0, NULL, NULL};
    cr_assert_eq(ref->sim_advance(ctx, &block, &err), 0, "%s", err.message);
    cr_assert_eq(ref->sim_state(ctx, x_ref, &err), 0);
    ref->sim_destroy(ctx);

    struct sim_params p = {0};
    p.B = B, p.n = n, p.k = k, p.m = m;
    p.Gamma = model.Gamma, p.Ws = model.Ws, p.b = model.b, p.S = model.S, p.V = model.V;
    p.c = model.c, p.pinv = model.Gamma_pinv;
    p.dt_over_tau = (float)(0.01 / model.tau), p.decay = 1.0f - p.dt_over_tau;
    p.sqrt_dt = (float)sqrt(0.01), p.neuron_kick = (float)(neuron_noise * sqrt(0.01));
    for (int c = 0; c < k; c++)
        p.latent_mean[c] = model.latent_mean[c], p.latent_scale[c] = model.latent_scale[c];
    p.x = x_emu, p.noise_seed = 77, p.neuron_seed = 78, p.first_trajectory = 1000, p.step0 = 5;
    p.steps = RECORDS * EVERY, p.record_every = EVERY, p.records = RECORDS, p.input = input;
    p.latent = lat_emu, p.traces = tr_emu, p.trace_B = 2, p.trace_n = 3;
    p.trace_neurons = trace_neurons, p.dead = dead_steps;
    emulate_launch(&p, shape);

    double r_lat = tolerance_ratio(lat_emu, lat_ref, latent_size, 1e-4, 1e-4);
    double r_x = tolerance_ratio(x_emu, x_ref, (size_t)B * n, 1e-4, 1e-4);
    double r_tr = tolerance_ratio(tr_emu, tr_ref, trace_size, 1e-4, 1e-4);
    for (int t = 0; t < B; t++) cr_expect_eq(dead_steps[t], UINT64_MAX);
    cr_assert(fabs(x_ref[0] - x0[0]) > 1e-3, "the states moved");
    free(x0), free(x_emu), free(x_ref), free(input), free(lat_emu), free(lat_ref), free(dead_steps);
    model_free(&model);
    return fmax(r_lat, fmax(r_x, r_tr));
}

static void compare_with_twin(int shape, int B, int n, int k, int m, int state_dependent,
                              double neuron_noise, int with_input) {
    double ratio = twin_ratio(shape, B, n, k, m, state_dependent, neuron_noise, with_input);
    cr_expect(ratio <= 1, "shape %d n %d k %d: latent, states or traces off by %.3g tolerances",
              shape, n, k, ratio);
}

Test(kernel_logic, emulated_block_matches_twin_every_shape) {
    compare_with_twin(SIM_SHAPE_N2_R8, 13, 33, 3, 2, 0, 0, 0);
    compare_with_twin(SIM_SHAPE_N4_R4, 11, 100, 3, 3, 0, 0, 0);
    compare_with_twin(SIM_SHAPE_N8_R2, 5, 70, 2, 2, 0, 0, 0);
    compare_with_twin(SIM_SHAPE_N2_R2, 7, 33, 5, 1, 0, 0, 0);
}

Test(kernel_logic, emulated_block_with_state_dependent_noise_neuron_noise_input) {
    compare_with_twin(SIM_SHAPE_N4_R4, 9, 67, 2, 3, 1, 0.2, 1);
    compare_with_twin(SIM_SHAPE_N2_R8, 10, 40, 8, 2, 0, 0.1, 1);
}

/* sim_tanh against tanh in double over [−12, 12] (and tiny x): the host formula within 2e-7
 * (measured 1.8e-7); with PTX's bounds for the device's ex2.approx (2 ulp: relative 2⁻²²) and
 * rcp.approx (1 ulp: 2⁻²³), of either sign, within 5.5e-7 (4.8e-7). ±1 beyond, NaN kept. */
Test(kernel_logic, fast_tanh_is_within_its_error_bound) {
    for (int worst = 0; worst < 2; worst++)
        for (int signs = 0; signs < 4; signs++) {
            tanh_ex2_error = worst ? (signs & 1 ? 0x1p-22f : -0x1p-22f) : 0.0f;
            tanh_rcp_error = worst ? (signs & 2 ? 0x1p-23f : -0x1p-23f) : 0.0f;
            double largest = 0;
            for (int i = -240000; i <= 240000; i++) {
                const float x = i == 0 ? 1e-30f : (float)i * 5e-5f;
                largest = fmax(largest, fabs((double)sim_tanh(x) - tanh((double)x)));
            }
            cr_expect(largest <= (worst ? 5.5e-7 : 2e-7) && largest > 1e-8,
                      "worst case %d, signs %d: |sim_tanh − tanh| up to %.3g", worst, signs,
                      largest);
        }
    tanh_ex2_error = tanh_rcp_error = 0.0f;
    cr_expect_eq(sim_tanh(100.0f), 1.0f);
    cr_expect_eq(sim_tanh(-INFINITY), -1.0f);
    cr_expect(isnan(sim_tanh(NAN)));
}

/* The device's worst case of sim_tanh, with twice PTX's bounds and one sign at every call (biased:
 * the worst for the sums over neurons), keeps the emulated kernel within the parity tolerance of
 * the twin (accurate tanhf) over 200 steps; the 2⁻¹¹ of tanh.approx does not, so this can fail. */
Test(kernel_logic, fast_tanh_worst_case_keeps_parity_with_the_twin) {
    tanh_ex2_error = 0x1p-21f, tanh_rcp_error = 0x1p-22f;
    double fast = twin_ratio(SIM_SHAPE_N4_R4, 11, 100, 3, 3, 0, 0.1, 1);
    tanh_ex2_error = tanh_rcp_error = 0x1p-11f;
    double approx = twin_ratio(SIM_SHAPE_N4_R4, 11, 100, 3, 3, 0, 0.1, 1);
    tanh_ex2_error = tanh_rcp_error = 0.0f;
    cr_expect(fast <= 1, "ex2 and rcp at twice their bounds: %.3g tolerances", fast);
    cr_expect(approx > 1, "errors of 2^-11 should break parity, gave %.3g tolerances", approx);
}

/* dt = 10 τ blows up: the emulated kernel must report what the fast CPU path reports (both check
 * a = Ŵ_s tanh x every step and the read-out at every record), and NaN records after it. */
Test(kernel_logic, emulated_blow_up_matches_the_fast_path) {
    enum { B = 4, N = 20, RECORDS = 50 };
    struct ddm_model model;
    random_model(&model, N, 2, 2, 0, 3);
    model.tau = 0.001;
    float x0[B * N], x[B * N], lat_cpu[B * RECORDS * 2], lat_emu[B * RECORDS * 2];
    fill_uniform(x0, B * N, -1, 1, 4);
    memcpy(x, x0, sizeof x);
    const struct ddm_backend *fast = backend_cpu(0);
    struct ddm_sim_setup setup = {&model, B, 0, 1, 2, 0.01, 0, 0, 0, NULL, x0};
    void *ctx;
    struct ddm_error err;
    cr_assert_eq(fast->sim_create(&setup, &ctx, &err), 0);
    struct ddm_sim_block block = {0, RECORDS, 10, NULL, lat_cpu, NULL, -1, 0, NULL, NULL};
    cr_assert_eq(fast->sim_advance(ctx, &block, &err), 0);
    fast->sim_destroy(ctx);
    uint64_t dead_steps[B] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    struct sim_params p = {0};
    p.B = B, p.n = N, p.k = 2, p.m = 2, p.Gamma = model.Gamma, p.Ws = model.Ws, p.b = model.b;
    p.S = model.S, p.pinv = model.Gamma_pinv, p.dt_over_tau = (float)(0.01 / model.tau);
    p.decay = 1.0f - p.dt_over_tau, p.sqrt_dt = (float)sqrt(0.01);
    for (int c = 0; c < 2; c++)
        p.latent_mean[c] = model.latent_mean[c], p.latent_scale[c] = model.latent_scale[c];
    p.x = x, p.noise_seed = 1, p.neuron_seed = 2, p.steps = RECORDS * 10, p.record_every = 10;
    p.records = RECORDS, p.latent = lat_emu, p.dead = dead_steps;
    emulate_launch(&p, SIM_SHAPE_N2_R8);
    long first = -1;
    uint64_t step = UINT64_MAX;
    for (int t = 0; t < B; t++)
        if (dead_steps[t] < step) first = t, step = dead_steps[t];
    cr_assert_eq(first, block.nonfinite_trajectory);
    cr_assert_eq(step, block.nonfinite_step, "emulated %llu, fast path %llu",
                 (unsigned long long)step, (unsigned long long)block.nonfinite_step);
    for (int q = 0; q < B * RECORDS * 2; q++)
        cr_assert(isnan(lat_cpu[q]) == isnan(lat_emu[q]), "record entry %d", q);
    model_free(&model);
}

/* ------------------------------------------------------------------------- training */

/* mlp_grad's device decomposition on the CPU: forward tiles of mlp_points_per_block points with
 * per-thread sums over strided neurons and warp reductions (in double), backward chunks of points
 * per neuron (mlp_backward_point), chunks added in order; against the twin. */
Test(kernel_logic, gradient_tiles_match_twin) {
    enum { N = 45, K = 3, M = 301, POINTS = 400, THREADS = 64 };
    float Gamma[N * K], b[N], Ws[K * N], Z[POINTS * K], Y[POINTS * K], res_twin[M * K];
    float g_twin[2 * N * K + N], res[M * K];
    int index[M];
    fill_uniform(Gamma, N * K, -1.5f, 1.5f, 1);
    fill_uniform(b, N, -1, 1, 2);
    fill_uniform(Ws, K * N, -0.3f, 0.3f, 3);
    fill_uniform(Z, POINTS * K, -2, 2, 4);
    fill_uniform(Y, POINTS * K, -1, 1, 5);
    for (int s = 0; s < M; s++) index[s] = (s * 7919) % POINTS;
    double loss_twin;
    mlp_grad_cpu(N, K, M, Gamma, b, Ws, Z, Y, index, res_twin, g_twin, g_twin + N * K,
                 g_twin + N * K + N, &loss_twin);

    const int TP = mlp_points_per_block(K), NV = TP * K, P = tr_padded(NV), warps = THREADS / 32;
    double loss = 0;
    double *acc = malloc(sizeof(double) * THREADS * P),
           *partial = malloc(sizeof(double) * warps * P);
    for (int first = 0; first < M; first += TP) {
        memset(acc, 0, sizeof(double) * THREADS * P);
        for (int tid = 0; tid < THREADS; tid++)
            for (int i = tid; i < N; i += THREADS)
                for (int t = 0; t < TP && first + t < M; t++) {
                    float h = mlp_hidden(K, Gamma + i * K, b[i], Z + index[first + t] * K);
                    for (int c = 0; c < K; c++)
                        acc[tid * P + t * K + c] += (double)Ws[c * N + i] * h;
                }
        /* the kernel sums the lanes by the transpose reduction (tested above in float); in double
         * any fixed order agrees to rounding, so here lanes are added in lane order */
        for (int w = 0; w < warps; w++)
            for (int v = 0; v < NV; v++) {
                partial[w * P + v] = 0;
                for (int lane = 0; lane < SIM_WARP; lane++)
                    partial[w * P + v] += acc[(w * SIM_WARP + lane) * P + v];
            }
        for (int v = 0; v < NV && first + v / K < M; v++) {
            int s = first + v / K, c = v % K;
            res[s * K + c] = (float)(sum_warps_d(partial, warps, P, v) - Y[index[s] * K + c]);
            loss += (double)res[s * K + c] * res[s * K + c];
        }
    }
    free(acc), free(partial);
    cr_assert(tolerance_ratio(res, res_twin, M * K, 1e-6, 1e-6) <= 1, "residuals");
    cr_assert(fabs(loss / M - loss_twin) < 1e-9 * loss_twin);

    const int chunks = mlp_chunks(M, N, 132);
    double *g_chunks = calloc((size_t)chunks * (2 * K + 1) * N, sizeof(double));
    for (int chunk = 0; chunk < chunks; chunk++)
        for (int i = 0; i < N; i++) {
            double *g = g_chunks + ((size_t)chunk * N + i) * (2 * K + 1);
            for (int s = mlp_chunk_start(chunk, chunks, M);
                 s < mlp_chunk_start(chunk + 1, chunks, M); s++) {
                const float *z = Z + index[s] * K;
                mlp_backward_point(K, Ws + i, N, res + s * K, z,
                                   mlp_hidden(K, Gamma + i * K, b[i], z), g);
            }
        }
    float grad[2 * N * K + N];
    for (int i = 0; i < N; i++)
        for (int q = 0; q < 2 * K + 1; q++) {
            double sum = 0;
            for (int chunk = 0; chunk < chunks; chunk++)
                sum += g_chunks[((size_t)chunk * N + i) * (2 * K + 1) + q];
            float value = (float)(2.0 / M * sum);
            if (q < K)
                grad[i * K + q] = value;
            else if (q == K)
                grad[N * K + i] = value;
            else
                grad[N * K + N + (q - K - 1) * N + i] = value;
        }
    free(g_chunks);
    double rel = relative_l2(grad, g_twin, 2 * N * K + N);
    cr_assert(rel < 1e-6, "gradient relative error %.3g over %d chunks", rel, chunks);
}

Test(kernel_logic, adam_element_is_the_twin_bit_for_bit) {
    enum { COUNT = 257 };
    float p_twin[COUNT], g[COUNT], m1_twin[COUNT] = {0}, m2_twin[COUNT] = {0};
    float p_el[COUNT], m1_el[COUNT] = {0}, m2_el[COUNT] = {0};
    fill_uniform(p_twin, COUNT, -1, 1, 1);
    memcpy(p_el, p_twin, sizeof p_el);
    for (long t = 1; t <= 5; t++) {
        fill_uniform(g, COUNT, -1, 1, 10 + t);
        adam_step_cpu(COUNT, p_twin, g, m1_twin, m2_twin, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f, t);
        float c1 = 1.0f - powf(0.9f, (float)t), c2 = 1.0f - powf(0.999f, (float)t);
        for (int i = 0; i < COUNT; i++)
            adam_element(&p_el[i], g[i], &m1_el[i], &m2_el[i], 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f,
                         c1, c2);
    }
    cr_assert_eq(memcmp(p_el, p_twin, sizeof p_el), 0);
    cr_assert_eq(memcmp(m2_el, m2_twin, sizeof m2_el), 0);
}

Test(kernel_logic, gram_features_are_the_twins) {
    enum { N = 9, K = 2, M = 5 };
    float Gamma[N * K], b[N], Z[M * K], T[M];
    fill_uniform(Gamma, N * K, -1, 1, 1);
    fill_uniform(b, N, -1, 1, 2);
    fill_uniform(Z, M * K, -2, 2, 3);
    fill_uniform(T, M, -1, 1, 4);
    double gram[(N + 1) * (N + 1)], cross[N + 1];
    cr_assert_eq(hidden_gram_cpu(N, K, M, Gamma, b, Z, T, 1, gram, cross), 0);
    for (int i = 0; i < N; i++) {
        double sum = 0, sum_t = 0;
        for (int s = 0; s < M; s++) {
            double f = gram_feature(K, Gamma + i * K, b[i], Z + s * K);
            sum += f * f, sum_t += f * T[s];
        }
        cr_assert(fabs(gram[i * (N + 1) + i] - sum) < 1e-12 && fabs(cross[i] - sum_t) < 1e-12);
    }
}
