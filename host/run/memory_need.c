/* memory_need.c — the peak memory of each stage, from the configuration
 * (include/ddm/memory_need.h).
 *
 * Each term names the allocation it stands for. Stages free what they allocate before the next
 * one starts, so a run's peak is the largest of its stages'; within the analysis the parts run one
 * after the other too, so its peak is the largest part's.
 */
#include "ddm/memory_need.h"

#include <math.h>
#include <string.h>

#include "../cpu/mlp_fast.h"
#include "ddm/analysis_hhd.h"
#include "ddm/analysis_pca.h"
#include "ddm/kernel_math.h"
#include "ddm/sim_sizes.h"
#include "ddm/train.h"

#define FLOAT  4.0 /* bytes */
#define DOUBLE 8.0
#define MIB    1048576.0

/* What the CUDA libraries (cuBLAS, cuSOLVER, cuRAND) allocate on the device on their own. */
#define CUDA_LIBRARIES (64 * MIB)
/* HDF5's chunk caches: 1 MiB for each dataset open at once (the five /simulate streams). */
#define HDF5_CACHES (5 * MIB)

static void part(struct memory_need *need, const char *name, double bytes, const char *section,
                 const char *key, const char *lower) {
    if (!(bytes > 0) || need->count == MEMORY_PARTS) return;
    need->bytes += bytes;
    need->part[need->count++] = (struct memory_part){name, bytes, section, key, lower};
}

/* Largest part first. */
static void sort_parts(struct memory_need *need) {
    for (int i = 1; i < need->count; i++)
        for (int j = i; j > 0 && need->part[j].bytes > need->part[j - 1].bytes; j--) {
            struct memory_part swap = need->part[j];
            need->part[j] = need->part[j - 1];
            need->part[j - 1] = swap;
        }
}

static double padded(double n) {
    return ceil(n / 16) * 16;
}

void memory_need_train(const struct ddm_config *cfg, const struct memory_run *run, int device,
                       struct memory_need *need) {
    memset(need, 0, sizeof *need);
    need->stage = "training";
    const double n = run->n, k = run->k, m = run->m, features = n + 1;
    const double M = cfg->samples, M_test = ceil(cfg->test_fraction * M), M_train = M - M_test;
    /* the rows of the fit: the training points and as many margin points at most */
    const double M_fit = train_margin_factor(cfg) > 1 ? 2 * M_train : M_train;
    const double params = 2 * n * k + n, width = run->state_dependent ? k * m : k;
    const double diffusion_targets = run->state_dependent ? FLOAT * M_fit * k * m : 0;
    if (device) { /* kernels/backend_cuda.cu: its training context */
        if (!run->cuda) return;
        const double chunks = fmin(ceil(M_fit / 32), MLP_MAX_CHUNKS);
        part(need, "training points",
             3 * FLOAT * M_fit * k + sizeof(int) * M_fit + DOUBLE * M_fit + diffusion_targets,
             "train", "samples", "[train] samples");
        part(need, "Gram matrices",
             2 * DOUBLE * features * features + 3 * DOUBLE * features * width +
                 DOUBLE * 256 * (features + k * DDM_MAX_M),
             "network", "neurons", "[network] neurons");
        part(need, "Adam state",
             4 * FLOAT * params + DOUBLE * (chunks * (2 * k + 1) * n + M_fit + 1), "network",
             "neurons", "[network] neurons");
        part(need, "CUDA libraries", CUDA_LIBRARIES, "network", "neurons", "[network] neurons");
        sort_parts(need);
        return;
    }
    /* host/model/sampling.c: the points and their drifts, and while sampling a buffer for up to
     * four times the paths asked (escaped ones are replaced) */
    const double from_paths = cfg->sampling == SAMPLING_PATHS  ? M
                              : cfg->sampling == SAMPLING_BOTH ? floor(M / 2)
                                                               : 0;
    const double per_path = from_paths > 0 ? ceil(from_paths / cfg->paths) : 0;
    const double points = 2 * DOUBLE * M * k;
    const double paths = DOUBLE * k * per_path * 4 * cfg->paths;
    /* host/model/train_choice.c: orders, the rows of the fit (ẑ, y and z), the held-out points; the
     * CPU backend's copies and residuals (host/cpu/backend_cpu.c) */
    const double copies = sizeof(int) * (M + M_fit) + (2 * FLOAT + DOUBLE) * M_fit * k +
                          2 * DOUBLE * M_test * k + (run->cuda ? 0 : 3 * FLOAT * M_fit * k) +
                          diffusion_targets;
    /* the Gram matrix (n+1)², its right-hand sides, and for the ridge solve on the host the
     * factor and the transposed copy LAPACKE_dposv makes of a row-major matrix; a state-dependent
     * σ adds a second Gram matrix while the first is held */
    double gram = DOUBLE * features * features + 2 * DOUBLE * features * width;
    if (run->state_dependent) gram += DOUBLE * features * features;
    if (!run->cuda) gram += 2 * DOUBLE * features * features + DOUBLE * 256 * (features + width);
    /* parameters, gradients and Adam's moments, the vectorised gradient's workspace
     * (host/cpu/mlp_fast.c), the model, a checkpoint's copies, the loss curves */
    const double workspace =
        FLOAT * padded(n) * (2 * k + 1 + MLP_SLOTS * MLP_TILE + MLP_SLOTS * (2 * k + 1));
    const double adam = (run->cuda ? 0 : 4 * FLOAT * params + workspace) + 3 * FLOAT * params +
                        FLOAT * (params + n * k + (run->state_dependent ? k * m * n : 0)) +
                        2 * DOUBLE * cfg->epochs;
    if (points + paths > points + copies + gram + adam) {
        part(need, "training points", points, "train", "samples", "[train] samples");
        part(need, "sampled paths", paths, "train", "samples", "[train] samples");
    } else {
        part(need, "Gram matrices", gram, "network", "neurons", "[network] neurons");
        part(need, "training points", points + copies, "train", "samples", "[train] samples");
        part(need, "Adam state", adam, "network", "neurons", "[network] neurons");
        /* host/model/train_gn.c, on the host with either backend, while the above are held */
        if (cfg->gauss_newton != 0)
            part(need, "Gauss–Newton workspace", train_gauss_newton_bytes(run->n, run->k, M_fit),
                 "train", "samples", "[train] samples, or set [train] gauss_newton = 0");
    }
    sort_parts(need);
}

/* The simulation of B trajectories (of B_total); own: the run's own simulation, which writes its
 * blocks into the file and can be stopped for a checkpoint (the PCA's does neither). */
static void simulation(const struct ddm_config *cfg, const struct memory_run *run, double B,
                       double B_total, int device, int own, struct memory_need *need) {
    const double n = run->n, k = run->k, m = run->m;
    /* the block sizes as host/sim/simulate.c and the backends cut them (ddm/sim_sizes.h) */
    const long T = cfg->steps / cfg->record_every + 1;
    const long per_block = sim_records_per_block((long)B_total, run->k, T);
    const double traced_B = fmin(cfg->trace_trajectories, B);
    const double traced_n = traced_B > 0 ? fmin(cfg->trace_neurons, n) : 0;
    const long block_steps = sim_block_steps(per_block, cfg->record_every);
    const double cues = (cfg->cues && cfg->cues[0]) || run->forced ? 1 : 0;
    const double latent = FLOAT * sim_latent_floats((long)B, per_block, run->k),
                 traces = FLOAT * sim_trace_floats((long)traced_B, per_block, (int)traced_n);
    const double model = FLOAT * sim_model_floats(run->n, run->k, run->m, run->state_dependent);
    const double block_inputs = FLOAT * sim_input_floats(block_steps, run->k);
    const double recorded_inputs = FLOAT * sim_input_floats(per_block, run->k);
    const double checkpoint = own ? (FLOAT * n + DOUBLE * k + sizeof(int)) * B : 0;
    if (device) { /* kernels/backend_cuda_sim.cu: states, and two slots of block outputs */
        if (!run->cuda) return;
        part(need, "states", FLOAT * B * n + 8 * B + model, "simulate", "trajectories",
             "[simulate] trajectories or [network] neurons");
        part(need, "blocks", 2 * latent + 2 * cues * block_inputs, "simulate", "trajectories",
             "[simulate] trajectories");
        part(need, "traces", 2 * traces, "simulate", "trace_neurons",
             "[simulate] trace_trajectories or trace_neurons");
        part(need, "CUDA libraries", CUDA_LIBRARIES, "simulate", "trajectories",
             "[simulate] trajectories or [network] neurons");
        sort_parts(need);
        return;
    }
    /* host/sim/simulate.c: states, starts, flags; the CPU backend's arena: the plan's rows and
     * three padded rows per trajectory, and its trajectory records (host/cpu/backend_cpu.c) */
    double states = (FLOAT * n + DOUBLE * k + sizeof(int)) * B;
    if (!run->cuda)
        states +=
            FLOAT * padded(n) * (3 * k + (run->state_dependent ? k * m : 0) + 2 + 3 * B) + 320 * B;
    /* the block's latent and target read-outs, its times, and HDF5's caches; the CUDA backend
     * adds two pinned slots of its own */
    const double blocks =
        2 * latent + DOUBLE * per_block + (own ? HDF5_CACHES : 0) + (run->cuda ? 2 * latent : 0);
    /* the inputs of a block's steps, for the target and the network (with cues) */
    const double inputs = cues * (2 * block_inputs + recorded_inputs) * (run->cuda ? 2 : 1);
    part(need, "states", states + model, "simulate", "trajectories",
         "[simulate] trajectories or [network] neurons");
    part(need, "blocks", blocks, "simulate", "trajectories", "[simulate] trajectories");
    part(need, "traces", traces * (run->cuda ? 3 : 1), "simulate", "trace_neurons",
         "[simulate] trace_trajectories or trace_neurons");
    part(need, "cue inputs", inputs, "simulate", "record_every", "[simulate] record_every");
    if (run->time_noise) /* s(t) of a block's steps, for the target and the network (CPU only) */
        part(need, "noise inputs", 2 * FLOAT * sim_input_floats(block_steps, run->k * run->m),
             "simulate", "record_every", "[simulate] record_every");
    part(need, "checkpoint copy", checkpoint * (run->resuming ? 2 : 1), "simulate", "trajectories",
         "[simulate] trajectories or [network] neurons");
    sort_parts(need);
}

void memory_need_simulate(const struct ddm_config *cfg, const struct memory_run *run, int device,
                          struct memory_need *need) {
    memset(need, 0, sizeof *need);
    simulation(cfg, run, run->B, run->B_total, device, 1, need);
    need->stage = "simulation";
}

/* host/analysis/analysis_pca.c: the states of a short simulation with every neuron traced, then the
 * centred states, the covariance (or Gram) matrix with LAPACKE_dsyevr's transposed copy, and the
 * eigenvectors; the coordinates, read-out and recovery kept for the file. */
static double pca_bytes(const struct ddm_config *cfg, const struct memory_run *run, int device) {
    const double n = run->n, k = run->k, B = cfg->pca_trajectories;
    const double N = B * cfg->pca_samples;
    const double stride = N > PCA_MAX_RANK && n > PCA_MAX_RANK ? ceil(N / PCA_MAX_RANK) : 1;
    const double states = ceil(N / stride), dim = fmin(states, n);
    const double keep = cfg->pca > k ? fmin(cfg->pca, dim) : k;
    struct ddm_config own = *cfg; /* the PCA's simulation, as analysis_pca.c sets it up */
    own.trajectories = own.trace_trajectories = (int)B;
    own.trace_neurons = run->n;
    own.record_every = cfg->pca_every;
    own.steps = (long)(cfg->pca_samples - 1) * cfg->pca_every;
    own.cues = "";
    struct memory_need sim = {0};
    simulation(&own, run, B, B, device, 0, &sim);
    if (device) return sim.bytes;
    const double eigen = (stride > 1 ? FLOAT * states * n : 0) + DOUBLE * states * n +
                         2 * DOUBLE * dim * dim + 2 * DOUBLE * dim * keep + DOUBLE * n * keep;
    return FLOAT * N * n + fmax(sim.bytes, eigen) + 3 * FLOAT * N * k;
}

/* host/analysis/analysis_split.c: f, f_sym, f_asym and the energy on the split's grid. */
static double split_bytes(const struct ddm_config *cfg, const struct memory_run *run) {
    if (!cfg->decomposition_grid) return 0;
    int axes = run->k <= 3 ? run->k : 2;
    if (cfg->decomposition_axes && cfg->decomposition_axes[0]) {
        axes = 1;
        for (const char *c = cfg->decomposition_axes; *c; c++) axes += *c == ',';
    }
    return FLOAT * pow(cfg->decomposition_grid, axes) * (3 * run->k + 1);
}

void memory_need_analyze(const struct ddm_config *cfg, const struct memory_run *run, int device,
                         struct memory_need *need) {
    memset(need, 0, sizeof *need);
    const double k = run->k, B = run->analysis_B, T = run->analysis_T;
    struct memory_need one = {0};
    if (device) {
        if (cfg->pca)
            part(&one, "PCA", pca_bytes(cfg, run, 1), "analysis", "pca_trajectories",
                 "[analysis] pca_trajectories or pca_samples");
    } else {
        if (cfg->pca)
            part(&one, "PCA", pca_bytes(cfg, run, 0), "analysis", "pca_samples",
                 "[analysis] pca_trajectories or pca_samples");
        part(&one, "split grid", split_bytes(cfg, run), "analysis", "decomposition_grid",
             "[analysis] decomposition_grid");
        if (B > 0) {
            /* host/analysis/analysis_hhd.c for one process at a time;
             * host/analysis/analysis_stats.c's fine histograms of both */
            const double P = cfg->hhd_grid && k <= 3 ? pow(cfg->hhd_grid, k) : 0;
            const double stats = 2 * DOUBLE * k * cfg->stats_bins * 64;
            part(&one, "density grid",
                 hhd_peak_bytes((long)P, (int)B, cfg->batches, (int)k) + stats, "analysis",
                 "hhd_grid", "[analysis] hhd_grid or batches");
        }
        if (B > 0 &&
            run->wells) /* host/analysis/analysis.c: the well of every recorded state, twice */
            part(&one, "occupancy", 2 * B * T + DOUBLE * T, "simulate", "trajectories",
                 "[simulate] trajectories or steps (or raise record_every)");
    }
    sort_parts(&one);
    /* the parts run one after the other: the largest sets the peak, beside the slab buffer that
     * reads /simulate (about 4 MB in whole chunks of 256 times) and HDF5's cache */
    if (one.count)
        part(need, one.part[0].name, one.part[0].bytes, one.part[0].section, one.part[0].key,
             one.part[0].lower);
    if (B > 0 && !device) {
        const double per_slab = fmax(256, floor(1048576.0 / (B * k) / 256) * 256);
        part(need, "slabs of /simulate", FLOAT * B * per_slab * k + MIB, "simulate", "trajectories",
             "[simulate] trajectories");
    }
    need->stage = "analysis";
}
