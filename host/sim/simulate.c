/* simulate.c — the simulation stage: starts, burn-in, blocks of steps, the coupled target,
 * statistics and the hand-over of each recorded chunk to the sink (docs/design.md §4).
 *
 * Time runs in blocks of recorded times; for each block the backend advances all network
 * trajectories, the host advances the target paths with the same noise, and the chunk goes to
 * the sink (the HDF5 writer appends and flushes it). A network blow-up (NaN/Inf, or the read-out
 * past [simulate] blowup_bound) stops the run after the block that saw it and is reported with its
 * trajectory and step, or, with on_nonfinite = drop | keep, freezes that trajectory as NaN and
 * the run goes on (ddm/blowup.h). A shard runs global
 * trajectories first … first+B−1 (starts and noise keyed by the global index); a stop request
 * between blocks hands back the state a checkpoint needs, and a run can start from one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/blowup.h"
#include "ddm/input.h"
#include "ddm/philox.h"
#include "ddm/progress.h"
#include "ddm/signals.h"
#include "ddm/sim_sizes.h"
#include "ddm/simulate.h"
#include "ddm/starts.h"
#include "ddm/train.h"

/* The number of recorded times must fit the file's int; config_resolve has checked steps against
 * record_every, and [simulate] start. */
static int check_steps(const struct ddm_config *cfg, struct ddm_error *err) {
    if ((cfg->steps / cfg->record_every + 1) > (1L << 31) - 1)
        return ddm_fail(err, DDM_EUSAGE,
                        "[simulate] steps/record_every = %ld recorded times is "
                        "too many; raise record_every",
                        cfg->steps / cfg->record_every);
    return DDM_OK;
}

int simulate_check(const struct ddm_config *cfg, int k, struct ddm_error *err) {
    (void)k;
    return check_steps(cfg, err);
}

int simulate_layout(const struct ddm_config *cfg, const struct ddm_model *model,
                    struct ddm_sim_layout *layout, struct ddm_error *err) {
    memset(layout, 0, sizeof *layout);
    int code = check_steps(cfg, err);
    if (!code && cfg->plan->has_start) { /* the run's starts come from the layout */
        memcpy(layout->start, cfg->plan->start, sizeof(double) * model->k);
        layout->has_start = 1;
    }
    if (code) return code;
    layout->B = layout->B_total = cfg->trajectories;
    layout->first = 0;
    layout->k = model->k;
    layout->T = (int)(cfg->steps / cfg->record_every + 1); /* check_steps bounds it */
    layout->trace_B =
        cfg->trace_trajectories < cfg->trajectories ? cfg->trace_trajectories : cfg->trajectories;
    layout->trace_n = cfg->trace_neurons < model->n ? cfg->trace_neurons : model->n;
    if (layout->trace_B == 0) layout->trace_n = 0;
    layout->trace_neurons = ddm_calloc(layout->trace_n, sizeof(int), "trace neurons", err);
    if (!layout->trace_neurons) return DDM_ERUNTIME;
    for (int j = 0; j < layout->trace_n; j++)
        layout->trace_neurons[j] = (int)(((long)j * model->n + model->n / 2) / layout->trace_n);
    return DDM_OK;
}

void simulate_layout_shard(struct ddm_sim_layout *layout, int index, int count) {
    long first, end;
    sim_shard_range(layout->B_total, index, count, &first, &end);
    const long traced_end = layout->trace_B < end ? layout->trace_B : end;
    layout->first = (uint64_t)first;
    layout->B = (int)(end - first);
    layout->trace_B = traced_end > first ? (int)(traced_end - first) : 0;
}

void simulate_layout_free(struct ddm_sim_layout *layout) {
    free(layout->trace_neurons);
    layout->trace_neurons = NULL;
}

int simulate_starts(const struct ddm_system *sys, const struct ddm_model *model,
                    const struct ddm_config *cfg, int B, double *z0, struct ddm_error *err) {
    return simulate_starts_from(sys, model, cfg, 0, B, z0, NULL, err);
}

int simulate_starts_from(const struct ddm_system *sys, const struct ddm_model *model,
                         const struct ddm_config *cfg, uint64_t first, int B, double *z0,
                         struct start_report *report, struct ddm_error *err) {
    const int k = sys->k;
    if (cfg->plan->has_start) {
        for (int j = 0; j < B; j++)
            memcpy(z0 + (size_t)j * k, cfg->plan->start, sizeof(double) * k);
        return DDM_OK;
    }
    return attractor_starts(sys, model, cfg, first, B, z0, report, err);
}

/* Initial neuron states (B,n): on the manifold, or displaced by Pη, P = I − Γ̂Γ̂⁺ (so the
 * latent read-out is still z₀ and only the off-manifold distance is set). */
static void initial_states(const struct ddm_model *model, const struct ddm_config *cfg,
                           uint64_t first, int B, const double *z0, float *x0) {
    const int n = model->n, k = model->k;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_SIM_START);
#pragma omp parallel for schedule(static)
    for (int j = 0; j < B; j++) {
        float *x = x0 + (size_t)j * n;
        model_embed(model, z0 + (size_t)j * k, x);
        if (cfg->init != INIT_OFF_MANIFOLD) continue;
        double proj[DDM_MAX_K] = {0};
        double *eta = malloc(sizeof(double) * n);
        if (!eta) continue;
        for (int i = 0; i < n; i++)
            eta[i] =
                cfg->init_offset * philox_gaussian(seed, (1ull << 48) + first + j, (uint64_t)i);
        for (int c = 0; c < k; c++)
            for (int i = 0; i < n; i++)
                proj[c] += (double)model->Gamma_pinv[(size_t)c * n + i] * eta[i];
        for (int i = 0; i < n; i++) {
            double along = 0;
            for (int c = 0; c < k; c++) along += (double)model->Gamma[(size_t)i * k + c] * proj[c];
            x[i] += (float)(eta[i] - along);
        }
        free(eta);
    }
}

static void moments_add(struct sim_moments *mo, const float *values, size_t rows, int k) {
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < k; c++) {
            double v = values[r * k + c];
            if (!isfinite(v)) continue;
            mo->sum[c] += v;
            mo->sum2[c] += v * v;
            mo->count[c]++;
        }
}

static void moments_final(const struct sim_moments *mo, int k, double *mean, double *var) {
    for (int c = 0; c < k; c++) {
        long count = mo->count[c] ? mo->count[c] : 1;
        mean[c] = mo->sum[c] / count;
        var[c] = mo->sum2[c] / count - mean[c] * mean[c];
    }
}

struct sim_buffers {
    float *x, *latent, *target, *traces;
    float *u, *u_hat, *u_recorded; /* inputs of a block: (steps,k) target, network; (records,k) */
    float *s_t, *s_t_hat;          /* the diffusion's terms with t: (steps,k*m) target, network */
    double *z0, *t;
    int *dead;
    uint64_t *died; /* (B) the backend's blow-up steps of a block */
};

static void buffers_free(struct sim_buffers *b) {
    free(b->u);
    free(b->u_hat);
    free(b->u_recorded);
    free(b->s_t);
    free(b->s_t_hat);
    free(b->x);
    free(b->latent);
    free(b->target);
    free(b->traces);
    free(b->z0);
    free(b->t);
    free(b->dead);
    free(b->died);
}

static void input_at_floats(const struct ddm_input *input, double t, int k, float *out) {
    double here[DDM_MAX_K];
    input_at(input, t, here);
    for (int c = 0; c < k; c++) out[c] = (float)here[c];
}

int sim_state_alloc(struct ddm_sim_state *state, int B, int n, int k, struct ddm_error *err) {
    memset(state, 0, sizeof *state);
    state->B = B, state->n = n, state->k = k;
    state->x = ddm_alloc(sizeof(float) * ((size_t)B * n + 1), "checkpoint states", err);
    state->target_z = ddm_alloc(sizeof(double) * ((size_t)B * k + 1), "checkpoint paths", err);
    state->target_dead = ddm_calloc((size_t)B + 1, sizeof(int), "checkpoint flags", err);
    state->nonfinite_step = ddm_alloc(sizeof(int64_t) * ((size_t)B + 1), "checkpoint marks", err);
    if (state->x && state->target_z && state->target_dead && state->nonfinite_step) return DDM_OK;
    sim_state_free(state);
    return DDM_ERUNTIME;
}

void sim_state_free(struct ddm_sim_state *state) {
    free(state->x);
    free(state->target_z);
    free(state->target_dead);
    free(state->nonfinite_step);
    state->x = NULL, state->target_z = NULL, state->target_dead = NULL;
    state->nonfinite_step = NULL;
}

void sim_report_free(struct ddm_sim_report *report) {
    free(report->nonfinite_steps);
    report->nonfinite_steps = NULL;
}

/* The state the run starts from: a checkpoint's, or the starts of its trajectories (the
 * layout's [simulate] start, parsed once, or the target's attractor). */
static int starting_state(const struct sim_request *req, struct sim_buffers *buf,
                          struct start_report *report, struct ddm_error *err) {
    const struct ddm_sim_layout *layout = req->layout;
    const struct ddm_sim_state *from = req->from;
    const int B = layout->B, n = req->model->n, k = req->model->k;
    if (!from) {
        int code = DDM_OK;
        if (layout->has_start)
            for (int j = 0; j < B; j++)
                memcpy(buf->z0 + (size_t)j * k, layout->start, sizeof(double) * k);
        else
            code = simulate_starts_from(req->sys, req->model, req->cfg, layout->first, B, buf->z0,
                                        report, err);
        if (!code) initial_states(req->model, req->cfg, layout->first, B, buf->z0, buf->x);
        return code;
    }
    if (from->B != B || from->n != n || from->k != k)
        return ddm_fail(err, DDM_EUSAGE,
                        "the checkpoint holds %d trajectories × %d neurons (k = %d), this run "
                        "%d × %d (k = %d)",
                        from->B, from->n, from->k, B, n, k);
    memcpy(buf->x, from->x, sizeof(float) * B * n);
    memcpy(buf->z0, from->target_z, sizeof(double) * B * k);
    memcpy(buf->dead, from->target_dead, sizeof(int) * B);
    return DDM_OK;
}

/* The marks of the blow-ups so far: none, or the checkpoint's. */
static void starting_marks(const struct ddm_sim_state *from, int B, int64_t *steps) {
    for (int t = 0; t < B; t++)
        steps[t] = from && from->nonfinite_step ? from->nonfinite_step[t] : -1;
}

/* Where the recorded chunks go: the sink, and the sums of the stationary statistics. */
struct sim_recorder {
    sim_sink_fn sink; /* NULL: statistics only */
    void *user;
    struct sim_moments network, target;
    double *output_seconds; /* time spent in the sink, summed */
};

/* The parts of a run: the burn-in, the record of t = 0 (the state after it), the recorded
 * blocks. */
enum sim_phase { SIM_BURN_IN, SIM_START, SIM_RECORD };

/* A simulation in progress: what sim_open set up and sim_block advances. */
struct sim {
    struct sim_request req;
    void *ctx; /* the backend's */
    struct sim_buffers buf;
    struct ddm_input input; /* the cue schedule */
    struct target_paths target;
    struct sim_recorder rec;
    struct blowup_watch watch;
    struct blowup_first first_blowup;
    struct ddm_progress progress;
    enum sim_phase phase;
    long per_block;      /* recorded times per block (sim_records_per_block) */
    uint64_t step;       /* global steps done, the burn-in included */
    uint64_t step_start; /* where this run started (a checkpoint's step, or 0) */
    long recorded;       /* recorded times handed to the sink */
    double t_start;      /* now_seconds() at sim_open */
    int look_ahead;      /* the backend queues two blocks: launch block i+1 before collecting i */
    int ahead;           /* the next block is launched already */
    int stopping;        /* a stop was requested with a block in flight: collect it, then stop */
    int blown;           /* a blow-up ends the run (on_nonfinite = stop) */
};

/* Hands recorded times [first, first + records) of the buffers (rows (B, records, ·)) on. */
static int record_chunk(struct sim *sim, long first, int records, struct ddm_error *err) {
    const struct ddm_sim_layout *layout = sim->req.layout;
    const struct sim_buffers *buf = &sim->buf;
    struct sim_recorder *rec = &sim->rec;
    const int B = layout->B, k = layout->k;
    moments_add(&rec->network, buf->latent, (size_t)B * records, k);
    moments_add(&rec->target, buf->target, (size_t)B * records, k);
    if (!rec->sink) return DDM_OK;
    const struct sim_chunk chunk = {
        .first = first,
        .count = records,
        .B = B,
        .k = k,
        .trace_B = layout->trace_B,
        .trace_n = layout->trace_n,
        .t = buf->t,
        .latent = buf->latent,
        .target = buf->target,
        .traces = buf->traces,
        .input = input_active(&sim->input) ? buf->u_recorded : NULL,
    };
    const double t0 = now_seconds();
    int code = rec->sink(rec->user, &chunk, err);
    *rec->output_seconds += now_seconds() - t0;
    return code;
}

/* Keeps where the run stands for a checkpoint (no block in flight). */
static int stop_here(struct sim *sim, struct ddm_error *err) {
    const int B = sim->req.layout->B, n = sim->req.model->n, k = sim->req.layout->k;
    const struct ddm_sim_report *report = sim->req.report;
    struct ddm_sim_state *stopped = sim->req.stopped;
    int code = sim_state_alloc(stopped, B, n, k, err);
    if (!code) code = sim->req.backend->sim_state(sim->ctx, stopped->x, err);
    if (code) return code;
    stopped->step = sim->step;
    stopped->recorded = sim->recorded;
    memcpy(stopped->target_z, sim->buf.z0, sizeof(double) * B * k);
    memcpy(stopped->target_dead, sim->buf.dead, sizeof(int) * B);
    memcpy(stopped->nonfinite_step, report->nonfinite_steps, sizeof(int64_t) * B);
    stopped->target_nonfinite = report->target_nonfinite;
    stopped->network = sim->rec.network;
    stopped->target = sim->rec.target;
    return ddm_fail(err, DDM_EINTERRUPTED, "stopped by %s at step %llu (%ld recorded times)",
                    stop_signal_name(stop_requested()), (unsigned long long)sim->step,
                    sim->recorded);
}

/* The block buffers: one block of per_block recorded times, the starts and flags of B
 * trajectories. */
static int buffers_alloc(struct sim *sim, struct ddm_error *err) {
    const struct ddm_sim_layout *layout = sim->req.layout;
    const int B = layout->B, n = sim->req.model->n, k = layout->k;
    const long per_block = sim->per_block;
    struct sim_buffers *buf = &sim->buf;
    const size_t latent = sim_latent_floats(B, per_block, k);
    buf->x = ddm_alloc(sizeof(float) * B * n + 1, "initial states", err);
    buf->z0 = ddm_alloc(sizeof(double) * B * k + 1, "starting points", err);
    buf->latent = ddm_alloc(sizeof(float) * latent + 1, "latent block", err);
    buf->target = ddm_alloc(sizeof(float) * latent + 1, "target block", err);
    buf->traces = ddm_calloc(sim_trace_floats(layout->trace_B, per_block, layout->trace_n) + 1,
                             sizeof(float), "trace block", err);
    buf->t = ddm_alloc(sizeof(double) * per_block, "times", err);
    buf->dead = ddm_calloc(B + 1, sizeof(int), "target flags", err);
    buf->died = ddm_alloc(sizeof(uint64_t) * (B + 1), "blow-up steps", err);
    return buf->x && buf->z0 && buf->latent && buf->target && buf->traces && buf->t && buf->dead &&
                   buf->died
               ? DDM_OK
               : DDM_ERUNTIME;
}

/* With cues, the per-step inputs of the longest block (target and network) and of a block's
 * recorded times. */
static int input_buffers_alloc(struct sim *sim, struct ddm_error *err) {
    if (!input_active(&sim->input)) return DDM_OK;
    const int k = sim->req.layout->k;
    const long per_block = sim->per_block;
    struct sim_buffers *buf = &sim->buf;
    const size_t inputs =
        sim_input_floats(sim_block_steps(per_block, sim->req.cfg->record_every), k);
    buf->u = ddm_alloc(sizeof(float) * inputs, "inputs", err);
    buf->u_hat = ddm_alloc(sizeof(float) * inputs, "inputs", err);
    buf->u_recorded = ddm_alloc(sizeof(float) * sim_input_floats(per_block, k), "inputs", err);
    return buf->u && buf->u_hat && buf->u_recorded ? DDM_OK : DDM_ERUNTIME;
}

/* With a diffusion that uses t, its terms s(t) per step of the longest block (target and
 * network). */
static int noise_buffers_alloc(struct sim *sim, struct ddm_error *err) {
    if (!input_noise_active(&sim->input)) return DDM_OK;
    const int km = sim->req.sys->k * sim->req.sys->m;
    const size_t floats =
        sim_input_floats(sim_block_steps(sim->per_block, sim->req.cfg->record_every), km);
    sim->buf.s_t = ddm_alloc(sizeof(float) * floats, "noise inputs", err);
    sim->buf.s_t_hat = ddm_alloc(sizeof(float) * floats, "noise inputs", err);
    return sim->buf.s_t && sim->buf.s_t_hat ? DDM_OK : DDM_ERUNTIME;
}

/* The backend's context over the starting states; the coupled target paths beside it share its
 * noise stream ξ. */
static int backend_open(struct sim *sim, struct ddm_error *err) {
    const struct ddm_sim_layout *layout = sim->req.layout;
    const struct ddm_config *cfg = sim->req.cfg;
    const struct ddm_sim_setup setup = {
        .model = sim->req.model,
        .B = layout->B,
        .first_trajectory = layout->first,
        .noise_seed = ddm_stream_seed(cfg->seed, DDM_STREAM_LATENT_NOISE),
        .neuron_seed = ddm_stream_seed(cfg->seed, DDM_STREAM_NEURON_NOISE),
        .dt = cfg->dt,
        .neuron_noise = cfg->neuron_noise,
        .trace_B = layout->trace_B,
        .trace_n = layout->trace_n,
        .trace_neurons = layout->trace_neurons,
        .x0 = sim->buf.x,
    };
    sim->target = (struct target_paths){
        .B = layout->B,
        .z = sim->buf.z0,
        .dead = sim->buf.dead,
        .noise_seed = setup.noise_seed,
        .first_trajectory = layout->first,
    };
    return sim->req.backend->sim_create(&setup, &sim->ctx, err);
}

/* Where the run stands at its start: nothing done, or a checkpoint's step, records, sums and
 * blow-up marks; and the progress line. */
static void bookkeeping_open(struct sim *sim) {
    const struct ddm_sim_state *from = sim->req.from;
    struct ddm_sim_report *report = sim->req.report;
    const struct ddm_config *cfg = sim->req.cfg;
    const int B = sim->req.layout->B;
    sim->rec = (struct sim_recorder){
        .sink = sim->req.sink,
        .user = sim->req.sink_user,
        .output_seconds = &report->output_seconds,
    };
    if (from) {
        sim->rec.network = from->network, sim->rec.target = from->target;
        sim->step = from->step, sim->recorded = from->recorded;
        report->target_nonfinite = from->target_nonfinite;
    }
    sim->step_start = sim->step;
    /* blow-ups: marked per trajectory; `stop` ends the run after the block that saw the first */
    sim->watch = (struct blowup_watch){
        .model = sim->req.model,
        .bound = cfg->blowup_bound,
        .B = B,
        .k = sim->req.layout->k,
        .trace_B = sim->req.layout->trace_B,
        .trace_n = sim->req.layout->trace_n,
    };
    starting_marks(from, B, report->nonfinite_steps);
    blowup_first_of(report->nonfinite_steps, B, &sim->first_blowup);
    report->nonfinite = blowup_count(report->nonfinite_steps, B);
    progress_begin(&sim->progress, "simulate", "steps", (double)(cfg->burn_in + cfg->steps),
                   sim->req.quiet);
    progress_update(&sim->progress, (double)sim->step, from ? "resumed" : NULL);
}

static void sim_free(struct sim *sim) {
    buffers_free(&sim->buf);
    free(sim);
}

int sim_open(const struct sim_request *req, struct sim **out, struct ddm_error *err) {
    const double t_start = now_seconds();
    const struct ddm_sim_layout *layout = req->layout;
    const struct ddm_config *cfg = req->cfg;
    struct ddm_sim_report *report = req->report;
    memset(report, 0, sizeof *report);
    report->trajectories = layout->B;
    *out = NULL;
    struct sim *sim = ddm_calloc(1, sizeof *sim, "simulation", err);
    if (!sim) return DDM_ERUNTIME;
    sim->req = *req;
    sim->t_start = t_start;
    sim->per_block = sim_records_per_block(layout->B_total > 0 ? layout->B_total : layout->B,
                                           layout->k, layout->T);
    report->nonfinite_steps = ddm_alloc(sizeof(int64_t) * (layout->B + 1), "blow-up marks", err);
    /* the cue schedule: per-step inputs of each block, for the target and the network */
    sim->input = cfg->plan->cues;
    int code = report->nonfinite_steps ? DDM_OK : DDM_ERUNTIME;
    if (!code) code = buffers_alloc(sim, err);
    if (!code) code = input_buffers_alloc(sim, err);
    if (!code) code = noise_buffers_alloc(sim, err);
    if (!code) code = starting_state(req, &sim->buf, &report->starts, err);
    if (!code) code = backend_open(sim, err);
    if (code) {
        sim_free(sim);
        return code;
    }
    bookkeeping_open(sim);
    sim->look_ahead = req->backend->sim_queue > 1;
    *out = sim;
    return DDM_OK;
}

/* Inputs of `count` steps from global step `step`: u (target units) or û (network) into `out`;
 * NULL when no cue touches these steps, so the backends take their input-free path. */
static const float *block_inputs(const struct sim *sim, uint64_t step, long count, float *u,
                                 float *u_hat) {
    if (!input_active(&sim->input)) return NULL;
    const struct ddm_config *cfg = sim->req.cfg;
    double t0 = ((double)step - (double)cfg->burn_in) * cfg->dt;
    int any = input_fill(&sim->input, sim->req.model, t0, cfg->dt, (int)count, u, u_hat);
    return any ? (u ? u : u_hat) : NULL;
}

/* The diffusion's terms with t over `count` steps from global step `step`: s(t) (target units)
 * or ŝ(t) (network) into `out`; NULL when the diffusion does not use t. The time is that of the
 * step, as for the inputs, so a resumed run or a shard goes on with the same noise. */
static const float *block_noise(const struct sim *sim, uint64_t step, long count, float *s_t,
                                float *s_t_hat) {
    if (!input_noise_active(&sim->input)) return NULL;
    const struct ddm_config *cfg = sim->req.cfg;
    double t0 = ((double)step - (double)cfg->burn_in) * cfg->dt;
    input_noise_fill(&sim->input, sim->req.model, t0, cfg->dt, (int)count, s_t, s_t_hat);
    return s_t ? s_t : s_t_hat;
}

/* The block that starts at global step `step` with `recorded` times recorded: in the burn-in a
 * chunk of at most SIM_BURN_IN_CHUNK steps read out once and kept nowhere, after it up to
 * per_block recorded times. */
static struct ddm_sim_block block_at(struct sim *sim, uint64_t step, long recorded) {
    const struct ddm_config *cfg = sim->req.cfg;
    const struct ddm_sim_layout *layout = sim->req.layout;
    struct ddm_sim_block block = {
        .step0 = step,
        .records = 1,
        .record_every = cfg->record_every,
        .latent = sim->buf.latent,
        .nonfinite_trajectory = -1,
        .died = sim->buf.died,
    };
    if (step < (uint64_t)cfg->burn_in) {
        const long left = cfg->burn_in - (long)step;
        block.record_every = (int)(left < SIM_BURN_IN_CHUNK ? left : SIM_BURN_IN_CHUNK);
    } else {
        const long left = layout->T - recorded;
        block.records = (int)(left < sim->per_block ? left : sim->per_block);
        block.traces = layout->trace_B > 0 ? sim->buf.traces : NULL;
    }
    return block;
}

/* Queues `block` on the backend with its network input û (a launch copies it at once). */
static int launch(struct sim *sim, struct ddm_sim_block *block, struct ddm_error *err) {
    const long steps = (long)block->records * block->record_every;
    block->input = block_inputs(sim, block->step0, steps, NULL, sim->buf.u_hat);
    block->noise_input = block_noise(sim, block->step0, steps, NULL, sim->buf.s_t_hat);
    return sim->req.backend->sim_launch(sim->ctx, block, err);
}

/* On a backend that queues two blocks (the GPU), the recorded block after `block` is launched
 * before `block` is collected, so that it runs while the host writes `block`. */
static int launch_ahead(struct sim *sim, const struct ddm_sim_block *block, struct ddm_error *err) {
    const long after = sim->recorded + block->records;
    sim->ahead = 0;
    if (!sim->look_ahead || sim->phase != SIM_RECORD || sim->stopping ||
        after >= sim->req.layout->T)
        return DDM_OK;
    struct ddm_sim_block next =
        block_at(sim, block->step0 + (uint64_t)block->records * block->record_every, after);
    int code = launch(sim, &next, err);
    sim->ahead = !code;
    return code;
}

/* The network's steps of `block` (launched, or already in flight) and the target's beside
 * them with the same noise; the block's read-outs, traces and blow-up steps are then in the
 * buffers. */
static int advance_block(struct sim *sim, struct ddm_sim_block *block, struct ddm_error *err) {
    const struct ddm_backend *backend = sim->req.backend;
    const struct ddm_config *cfg = sim->req.cfg;
    struct ddm_sim_report *report = sim->req.report;
    int code = sim->ahead ? DDM_OK : launch(sim, block, err);
    if (!code) code = launch_ahead(sim, block, err);
    if (code) return code;
    const double t0 = now_seconds();
    const long steps = (long)block->records * block->record_every;
    const float *u = block_inputs(sim, block->step0, steps, sim->buf.u, NULL);
    const float *s_t = block_noise(sim, block->step0, steps, sim->buf.s_t, NULL);
    float *out = sim->phase == SIM_RECORD ? sim->buf.target : NULL;
    report->target_nonfinite +=
        target_advance(sim->req.sys, &sim->target, block->step0, block->records,
                       block->record_every, cfg->dt, u, s_t, out);
    report->target_seconds += now_seconds() - t0;
    double device_seconds = 0;
    code = backend->sim_collect(sim->ctx, block, &device_seconds, err);
    report->network_seconds += device_seconds;
    return code;
}

/* The times of a recorded block's records, t = (recorded + r)·record_every·dt, and the input u
 * at each. */
static void block_times(struct sim *sim, int records) {
    const struct ddm_config *cfg = sim->req.cfg;
    const int k = sim->req.layout->k;
    for (int r = 0; r < records; r++) {
        sim->buf.t[r] = (double)(sim->recorded + r) * cfg->record_every * cfg->dt;
        if (input_active(&sim->input))
            input_at_floats(&sim->input, sim->buf.t[r], k, sim->buf.u_recorded + (size_t)r * k);
    }
}

/* One block of the burn-in or of the recorded part: the network and the target advance, the
 * blow-ups are marked, a recorded block goes to the sink; then a stop request is answered (after
 * the block in flight, if any). */
static int run_block(struct sim *sim, struct ddm_error *err) {
    struct ddm_sim_report *report = sim->req.report;
    const struct ddm_config *cfg = sim->req.cfg;
    const int recording = sim->phase == SIM_RECORD;
    struct ddm_sim_block block = block_at(sim, sim->step, sim->recorded);
    int code = advance_block(sim, &block, err);
    if (code) return code;
    const long blew_up =
        blowup_mark(&sim->watch, &block, report->nonfinite_steps, &sim->first_blowup);
    report->nonfinite += blew_up;
    sim->blown = blew_up && sim->req.cfg->on_nonfinite == NONFINITE_STOP;
    if (recording) {
        block_times(sim, block.records);
        code = record_chunk(sim, sim->recorded, block.records, err);
        sim->recorded += block.records;
    }
    sim->step += (uint64_t)block.records * block.record_every;
    if (recording) report->steps_done = (long)sim->step - cfg->burn_in;
    progress_update(&sim->progress, (double)sim->step, recording ? NULL : "burn-in");
    if (!code && !sim->blown && sim->req.stopped && stop_requested() &&
        sim->recorded < sim->req.layout->T) {
        if (sim->ahead)
            sim->stopping = 1; /* collect and write the block in flight first */
        else
            code = stop_here(sim, err);
    }
    return code;
}

/* t = 0: the read-out of the states after the burn-in (NaN for a trajectory that blew up in
 * it), the target's starting points, the traced neurons. */
static int record_start(struct sim *sim, struct ddm_error *err) {
    const struct ddm_sim_layout *layout = sim->req.layout;
    const struct ddm_model *model = sim->req.model;
    const int64_t *marks = sim->req.report->nonfinite_steps;
    struct sim_buffers *buf = &sim->buf;
    const int n = model->n, k = model->k;
    int code = sim->req.backend->sim_state(sim->ctx, buf->x, err);
    if (code) return code;
    for (int j = 0; j < layout->B; j++) {
        double z[DDM_MAX_K];
        model_readout(model, buf->x + (size_t)j * n, z);
        const int marked = marks[j] >= 0; /* in the burn-in */
        for (int c = 0; c < k; c++) {
            buf->latent[(size_t)j * k + c] = marked ? NAN : (float)z[c];
            buf->target[(size_t)j * k + c] = (float)buf->z0[(size_t)j * k + c];
        }
        if (j < layout->trace_B)
            for (int q = 0; q < layout->trace_n; q++)
                buf->traces[(size_t)j * layout->trace_n + q] =
                    marked ? NAN : buf->x[(size_t)j * n + layout->trace_neurons[q]];
    }
    block_times(sim, 1);
    code = record_chunk(sim, 0, 1, err);
    sim->recorded = 1;
    return code;
}

int sim_done(const struct sim *sim) {
    return sim->blown || (sim->phase == SIM_RECORD && sim->recorded >= sim->req.layout->T);
}

int sim_block(struct sim *sim, struct ddm_error *err) {
    if (sim->phase == SIM_BURN_IN && sim->step >= (uint64_t)sim->req.cfg->burn_in)
        sim->phase = SIM_START;
    if (sim->phase == SIM_START) { /* once, between the burn-in and the recorded blocks */
        sim->phase = SIM_RECORD;
        sim->blown = sim->req.cfg->on_nonfinite == NONFINITE_STOP && sim->req.report->nonfinite;
        if (!sim->blown && sim->recorded == 0) return record_start(sim, err);
    }
    return sim_done(sim) ? DDM_OK : run_block(sim, err);
}

/* The message of a run stopped by a blow-up (on_nonfinite = stop). */
static int blowup_failure(const struct sim *sim, struct ddm_error *err) {
    const struct ddm_config *cfg = sim->req.cfg;
    const struct ddm_sim_report *report = sim->req.report;
    char how[96];
    if (sim->first_blowup.bound)
        snprintf(how, sizeof how, "left [simulate] blowup_bound = %g latent scales",
                 cfg->blowup_bound);
    else
        snprintf(how, sizeof how, "became non-finite (NaN/Inf)");
    return ddm_fail(
        err, DDM_ERUNTIME,
        "the network state %s in trajectory %ld at step %llu (t = %g)%s; the file "
        "keeps everything recorded before it ([simulate] on_nonfinite = drop or "
        "keep goes on without such trajectories)",
        how, report->nonfinite_trajectory, (unsigned long long)report->nonfinite_step,
        ((double)report->nonfinite_step + 1 - cfg->burn_in) * cfg->dt,
        cfg->dt >= 2 * sim->req.model->tau ? ": [simulate] dt must be below 2τ for stability" : "");
}

int sim_close(struct sim *sim, int code, struct ddm_error *err) {
    struct ddm_sim_report *report = sim->req.report;
    const int B = sim->req.layout->B, k = sim->req.layout->k;
    progress_end(&sim->progress);
    sim->req.backend->sim_destroy(sim->ctx);
    moments_final(&sim->rec.network, k, report->latent_mean, report->latent_var);
    moments_final(&sim->rec.target, k, report->target_mean, report->target_var);
    report->seconds = now_seconds() - sim->t_start;
    const double steps_run = (double)(sim->step - sim->step_start);
    report->neuron_steps_per_second =
        report->network_seconds > 0
            ? (double)B * sim->req.model->n * steps_run / report->network_seconds
            : 0;
    report->nonfinite_bound = sim->first_blowup.bound;
    if (sim->first_blowup.trajectory >= 0) {
        report->nonfinite_trajectory = (long)sim->req.layout->first + sim->first_blowup.trajectory;
        report->nonfinite_step = sim->first_blowup.step;
    }
    if (!code && report->nonfinite && sim->req.cfg->on_nonfinite == NONFINITE_STOP)
        code = blowup_failure(sim, err);
    sim_free(sim);
    return code;
}

int simulate_run_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                      const struct ddm_model *model, const struct ddm_config *cfg,
                      const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                      const struct ddm_sim_state *from, struct ddm_sim_state *stopped,
                      struct ddm_sim_report *report, int quiet, struct ddm_error *err) {
    const struct sim_request req = {
        .backend = backend,
        .sys = sys,
        .model = model,
        .cfg = cfg,
        .layout = layout,
        .sink = sink,
        .sink_user = sink_user,
        .from = from,
        .stopped = stopped,
        .report = report,
        .quiet = quiet,
    };
    struct sim *sim;
    int code = sim_open(&req, &sim, err);
    if (code) return code;
    while (!code && !sim_done(sim)) code = sim_block(sim, err);
    return sim_close(sim, code, err);
}

int simulate_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                 struct ddm_sim_report *report, int quiet, struct ddm_error *err) {
    return simulate_run_from(backend, sys, model, cfg, layout, sink, sink_user, NULL, NULL, report,
                             quiet, err);
}
