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
#include "ddm/simulate.h"
#include "ddm/starts.h"
#include "ddm/train.h"

int simulate_check(const struct ddm_config *cfg, int k, struct ddm_error *err) {
    (void)k; /* config_resolve has checked steps against record_every, and [simulate] start */
    if ((cfg->steps / cfg->record_every + 1) > (1L << 31) - 1)
        return ddm_fail(err, DDM_EUSAGE,
                        "[simulate] steps/record_every = %ld recorded times is "
                        "too many; raise record_every",
                        cfg->steps / cfg->record_every);
    return DDM_OK;
}

int simulate_layout(const struct ddm_config *cfg, const struct ddm_model *model,
                    struct ddm_sim_layout *layout, struct ddm_error *err) {
    memset(layout, 0, sizeof *layout);
    int code = simulate_check(cfg, model->k, err);
    if (code) return code;
    layout->B = layout->B_total = cfg->trajectories;
    layout->first = 0;
    layout->k = model->k;
    layout->T = (int)(cfg->steps / cfg->record_every + 1); /* simulate_check bounds it */
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
    const long total = layout->B_total;
    const long first = total * index / count, end = total * (index + 1) / count;
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
    double *z0, *t;
    int *dead;
    uint64_t *died; /* (B) the backend's blow-up steps of a block */
};

static void buffers_free(struct sim_buffers *b) {
    free(b->u);
    free(b->u_hat);
    free(b->u_recorded);
    free(b->x);
    free(b->latent);
    free(b->target);
    free(b->traces);
    free(b->z0);
    free(b->t);
    free(b->dead);
    free(b->died);
}

/* Inputs of `count` steps from global step `step`: u (target units) or û (network) into `out`;
 * NULL when no cue touches these steps, so the backends take their input-free path. */
static const float *block_inputs(const struct ddm_input *input, const struct ddm_model *model,
                                 const struct ddm_config *cfg, uint64_t step, long count, float *u,
                                 float *u_hat) {
    if (!input_active(input)) return NULL;
    double t0 = ((double)step - (double)cfg->burn_in) * cfg->dt;
    int any = input_fill(input, model, t0, cfg->dt, (int)count, u, u_hat);
    return any ? (u ? u : u_hat) : NULL;
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

int simulate_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg,
                 const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                 struct ddm_sim_report *report, int quiet, struct ddm_error *err) {
    return simulate_run_from(backend, sys, model, cfg, layout, sink, sink_user, NULL, NULL, report,
                             quiet, err);
}

/* The state the run starts from: a checkpoint's, or the starts of its trajectories. */
static int starting_state(const struct ddm_system *sys, const struct ddm_model *model,
                          const struct ddm_config *cfg, const struct ddm_sim_layout *layout,
                          const struct ddm_sim_state *from, struct sim_buffers *buf,
                          struct start_report *report, struct ddm_error *err) {
    const int B = layout->B, n = model->n, k = model->k;
    if (!from) {
        int code = simulate_starts_from(sys, model, cfg, layout->first, B, buf->z0, report, err);
        if (!code) initial_states(model, cfg, layout->first, B, buf->z0, buf->x);
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

/* Hands recorded times [first, first + records) of the buffers (rows (B, records, ·)) on. */
static int record_chunk(struct sim_recorder *rec, const struct sim_buffers *buf,
                        const struct ddm_sim_layout *layout, long first, int records,
                        int with_input, struct ddm_error *err) {
    const int B = layout->B, k = layout->k;
    moments_add(&rec->network, buf->latent, (size_t)B * records, k);
    moments_add(&rec->target, buf->target, (size_t)B * records, k);
    if (!rec->sink) return DDM_OK;
    const struct sim_chunk chunk = {first,
                                    records,
                                    B,
                                    k,
                                    layout->trace_B,
                                    layout->trace_n,
                                    buf->t,
                                    buf->latent,
                                    buf->target,
                                    buf->traces,
                                    with_input ? buf->u_recorded : NULL};
    const double t0 = now_seconds();
    int code = rec->sink(rec->user, &chunk, err);
    *rec->output_seconds += now_seconds() - t0;
    return code;
}

/* Keeps where the run stands for a checkpoint (no block in flight). */
static int stop_here(const struct ddm_backend *backend, void *ctx, const struct sim_buffers *buf,
                     const struct ddm_sim_layout *layout, int n, uint64_t step, long recorded,
                     const struct ddm_sim_report *report, const struct sim_recorder *rec,
                     struct ddm_sim_state *stopped, struct ddm_error *err) {
    const int B = layout->B, k = layout->k;
    int code = sim_state_alloc(stopped, B, n, k, err);
    if (!code) code = backend->sim_state(ctx, stopped->x, err);
    if (code) return code;
    stopped->step = step;
    stopped->recorded = recorded;
    memcpy(stopped->target_z, buf->z0, sizeof(double) * B * k);
    memcpy(stopped->target_dead, buf->dead, sizeof(int) * B);
    memcpy(stopped->nonfinite_step, report->nonfinite_steps, sizeof(int64_t) * B);
    stopped->target_nonfinite = report->target_nonfinite;
    stopped->network = rec->network;
    stopped->target = rec->target;
    return ddm_fail(err, DDM_EINTERRUPTED, "stopped by %s at step %llu (%ld recorded times)",
                    stop_signal_name(stop_requested()), (unsigned long long)step, recorded);
}

int simulate_run_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                      const struct ddm_model *model, const struct ddm_config *cfg,
                      const struct ddm_sim_layout *layout, sim_sink_fn sink, void *sink_user,
                      const struct ddm_sim_state *from, struct ddm_sim_state *stopped,
                      struct ddm_sim_report *report, int quiet, struct ddm_error *err) {
    const double t_start = now_seconds();
    const int B = layout->B, n = model->n, k = model->k, re = cfg->record_every;
    memset(report, 0, sizeof *report);
    report->trajectories = B;
    /* records per block: about 4 MB of latent read-out of the whole ensemble, at least 1; a shard
     * and a resumed run cut their blocks at the same steps as the whole, uninterrupted run */
    const long B_total = layout->B_total > 0 ? layout->B_total : B;
    long per_block = (1L << 20) / (B_total * k);
    if (per_block < 1) per_block = 1;
    if (per_block > layout->T - 1) per_block = layout->T - 1 > 0 ? layout->T - 1 : 1;
    struct sim_buffers buf = {0};
    buf.x = ddm_alloc(sizeof(float) * B * n + 1, "initial states", err);
    buf.z0 = ddm_alloc(sizeof(double) * B * k + 1, "starting points", err);
    buf.latent = ddm_alloc(sizeof(float) * B * k * per_block + 1, "latent block", err);
    buf.target = ddm_alloc(sizeof(float) * B * k * per_block + 1, "target block", err);
    buf.traces = ddm_calloc((size_t)layout->trace_B * layout->trace_n * per_block + 1,
                            sizeof(float), "trace block", err);
    buf.t = ddm_alloc(sizeof(double) * per_block, "times", err);
    buf.dead = ddm_calloc(B + 1, sizeof(int), "target flags", err);
    buf.died = ddm_alloc(sizeof(uint64_t) * (B + 1), "blow-up steps", err);
    report->nonfinite_steps = ddm_alloc(sizeof(int64_t) * (B + 1), "blow-up marks", err);
    if (!buf.x || !buf.z0 || !buf.latent || !buf.target || !buf.traces || !buf.t || !buf.dead ||
        !buf.died || !report->nonfinite_steps) {
        buffers_free(&buf);
        return DDM_ERUNTIME;
    }
    /* the cue schedule: per-step inputs of each block, for the target and the network */
    struct ddm_input input = cfg->plan->cues;
    int code;
    const long block_steps = per_block * re > 10000 ? per_block * re : 10000;
    if (input_active(&input)) {
        buf.u = ddm_alloc(sizeof(float) * block_steps * k, "inputs", err);
        buf.u_hat = ddm_alloc(sizeof(float) * block_steps * k, "inputs", err);
        buf.u_recorded = ddm_alloc(sizeof(float) * per_block * k, "inputs", err);
        if (!buf.u || !buf.u_hat || !buf.u_recorded) {
            buffers_free(&buf);
            return DDM_ERUNTIME;
        }
    }
    code = starting_state(sys, model, cfg, layout, from, &buf, &report->starts, err);
    if (code) {
        buffers_free(&buf);
        return code;
    }

    struct ddm_sim_setup setup = {
        .model = model,
        .B = B,
        .first_trajectory = layout->first,
        .noise_seed = ddm_stream_seed(cfg->seed, DDM_STREAM_LATENT_NOISE),
        .neuron_seed = ddm_stream_seed(cfg->seed, DDM_STREAM_NEURON_NOISE),
        .dt = cfg->dt,
        .neuron_noise = cfg->neuron_noise,
        .trace_B = layout->trace_B,
        .trace_n = layout->trace_n,
        .trace_neurons = layout->trace_neurons,
        .x0 = buf.x,
    };
    struct target_paths target = {B, buf.z0, buf.dead, setup.noise_seed, layout->first};
    void *ctx = NULL;
    if ((code = backend->sim_create(&setup, &ctx, err))) {
        buffers_free(&buf);
        return code;
    }

    struct sim_recorder rec = {
        .sink = sink, .user = sink_user, .output_seconds = &report->output_seconds};
    uint64_t step = 0;
    long recorded = 0;
    if (from) {
        rec.network = from->network, rec.target = from->target;
        step = from->step, recorded = from->recorded;
        report->target_nonfinite = from->target_nonfinite;
    }
    /* blow-ups: marked per trajectory; `stop` ends the run after the block that saw the first */
    const struct blowup_watch watch = {model, cfg->blowup_bound, B,
                                       k,     layout->trace_B,   layout->trace_n};
    struct blowup_first first_blowup;
    starting_marks(from, B, report->nonfinite_steps);
    blowup_first_of(report->nonfinite_steps, B, &first_blowup);
    report->nonfinite = blowup_count(report->nonfinite_steps, B);
    const int stop_on_blowup = cfg->on_nonfinite == NONFINITE_STOP;
    const uint64_t step_start = step;
    struct ddm_progress progress;
    progress_begin(&progress, "simulate", "steps", (double)(cfg->burn_in + cfg->steps), quiet);
    progress_update(&progress, (double)step, from ? "resumed" : NULL);

    /* A backend with the asynchronous pair (the GPU) runs each block while the host advances the
     * target and writes the block before; its network time is then its own (device) time. */
    const int async = backend->sim_launch && backend->sim_collect;

    /* burn-in: advance without keeping anything */
    while (!code && step < (uint64_t)cfg->burn_in) {
        long chunk = cfg->burn_in - (long)step < 10000 ? cfg->burn_in - (long)step : 10000;
        struct ddm_sim_block block = {step, 1, (int)chunk, NULL, buf.latent, NULL, -1, 0, buf.died};
        block.input = block_inputs(&input, model, cfg, step, chunk, NULL, buf.u_hat); /* forcing */
        double t0 = now_seconds();
        code =
            async ? backend->sim_launch(ctx, &block, err) : backend->sim_advance(ctx, &block, err);
        if (!async) report->network_seconds += now_seconds() - t0;
        t0 = now_seconds();
        const float *u = block_inputs(&input, model, cfg, step, chunk, buf.u, NULL);
        report->target_nonfinite +=
            target_advance(sys, &target, step, 1, (int)chunk, cfg->dt, u, NULL);
        report->target_seconds += now_seconds() - t0;
        if (async && !code) {
            double device_seconds = 0;
            code = backend->sim_collect(ctx, &block, &device_seconds, err);
            report->network_seconds += device_seconds;
        }
        long blew_up =
            code ? 0 : blowup_mark(&watch, &block, report->nonfinite_steps, &first_blowup);
        report->nonfinite += blew_up;
        step += (uint64_t)chunk;
        progress_update(&progress, (double)step, "burn-in");
        if (blew_up && stop_on_blowup) break;
        if (!code && stopped && stop_requested())
            code = stop_here(backend, ctx, &buf, layout, n, step, recorded, report, &rec, stopped,
                             err);
    }

    /* t = 0: the state after the burn-in */
    const int stopped_early = stop_on_blowup && report->nonfinite;
    if (!code && !stopped_early && recorded == 0) code = backend->sim_state(ctx, buf.x, err);
    if (!code && !stopped_early && recorded == 0) {
        for (int j = 0; j < B; j++) {
            double z[DDM_MAX_K];
            model_readout(model, buf.x + (size_t)j * n, z);
            const int marked = report->nonfinite_steps[j] >= 0; /* in the burn-in */
            for (int c = 0; c < k; c++) {
                buf.latent[(size_t)j * k + c] = marked ? NAN : (float)z[c];
                buf.target[(size_t)j * k + c] = (float)buf.z0[(size_t)j * k + c];
            }
            if (j < layout->trace_B)
                for (int q = 0; q < layout->trace_n; q++)
                    buf.traces[(size_t)j * layout->trace_n + q] =
                        marked ? NAN : buf.x[(size_t)j * n + layout->trace_neurons[q]];
        }
        buf.t[0] = 0;
        if (input_active(&input)) input_at_floats(&input, 0, k, buf.u_recorded);
        code = record_chunk(&rec, &buf, layout, 0, 1, input_active(&input), err);
        recorded = 1;
    }

    /* recorded blocks; asynchronously, block i+1 is queued before block i goes to the sink.
     * Inputs are per step, at times (step − burn_in)·dt; a launch copies its û at once. On a stop
     * request the block in flight is collected and written before the checkpoint. */
    float *traces = layout->trace_B > 0 ? buf.traces : NULL;
    int stopping = 0;
    int blown = stopped_early; /* the run stops at a blow-up (on_nonfinite = stop) */
    if (async && !code && !blown && recorded < layout->T) {
        int records = (int)(layout->T - recorded < per_block ? layout->T - recorded : per_block);
        struct ddm_sim_block first = {step, records, re, NULL, buf.latent, traces, -1, 0, buf.died};
        first.input = block_inputs(&input, model, cfg, step, records * re, NULL, buf.u_hat);
        code = backend->sim_launch(ctx, &first, err);
    }
    while (!code && !blown && recorded < layout->T) {
        int records = (int)(layout->T - recorded < per_block ? layout->T - recorded : per_block);
        struct ddm_sim_block block = {step, records, re, NULL, buf.latent, traces, -1, 0, buf.died};
        int launched_next = 0;
        double t0 = now_seconds();
        if (async) {
            long after = recorded + records;
            if (after < layout->T && !stopping) {
                int next_records =
                    (int)(layout->T - after < per_block ? layout->T - after : per_block);
                struct ddm_sim_block next = block;
                next.step0 = step + (uint64_t)records * re;
                next.records = next_records;
                next.input = block_inputs(&input, model, cfg, next.step0, next_records * re, NULL,
                                          buf.u_hat);
                code = backend->sim_launch(ctx, &next, err);
                launched_next = !code;
            }
            double device_seconds = 0;
            if (!code) code = backend->sim_collect(ctx, &block, &device_seconds, err);
            report->network_seconds += device_seconds;
        } else {
            block.input = block_inputs(&input, model, cfg, step, records * re, NULL, buf.u_hat);
            code = backend->sim_advance(ctx, &block, err);
            report->network_seconds += now_seconds() - t0;
        }
        if (code) break;
        t0 = now_seconds();
        const float *u = block_inputs(&input, model, cfg, step, records * re, buf.u, NULL);
        report->target_nonfinite +=
            target_advance(sys, &target, step, records, re, cfg->dt, u, buf.target);
        report->target_seconds += now_seconds() - t0;
        for (int r = 0; r < records; r++) {
            buf.t[r] = (double)(recorded + r) * re * cfg->dt;
            if (input_active(&input))
                input_at_floats(&input, buf.t[r], k, buf.u_recorded + (size_t)r * k);
        }
        const long blew_up = blowup_mark(&watch, &block, report->nonfinite_steps, &first_blowup);
        report->nonfinite += blew_up;
        blown = blew_up && stop_on_blowup;
        code = record_chunk(&rec, &buf, layout, recorded, records, input_active(&input), err);
        recorded += records;
        step += (uint64_t)records * re;
        report->steps_done = (long)step - cfg->burn_in;
        progress_update(&progress, (double)step, NULL);
        if (!code && !blown && stopped && stop_requested() && recorded < layout->T) {
            if (launched_next)
                stopping = 1; /* collect and write the block in flight first */
            else
                code = stop_here(backend, ctx, &buf, layout, n, step, recorded, report, &rec,
                                 stopped, err);
        }
    }
    progress_end(&progress);
    backend->sim_destroy(ctx);

    moments_final(&rec.network, k, report->latent_mean, report->latent_var);
    moments_final(&rec.target, k, report->target_mean, report->target_var);
    report->seconds = now_seconds() - t_start;
    double steps_run = (double)(step - step_start);
    report->neuron_steps_per_second =
        report->network_seconds > 0 ? (double)B * n * steps_run / report->network_seconds : 0;
    buffers_free(&buf);
    report->nonfinite_bound = first_blowup.bound;
    if (first_blowup.trajectory >= 0) {
        report->nonfinite_trajectory = (long)layout->first + first_blowup.trajectory;
        report->nonfinite_step = first_blowup.step;
    }
    if (!code && report->nonfinite && stop_on_blowup) {
        char how[96];
        if (first_blowup.bound)
            snprintf(how, sizeof how, "left [simulate] blowup_bound = %g latent scales",
                     cfg->blowup_bound);
        else
            snprintf(how, sizeof how, "became non-finite (NaN/Inf)");
        code = ddm_fail(
            err, DDM_ERUNTIME,
            "the network state %s in trajectory %ld at step %llu (t = %g)%s; the file "
            "keeps everything recorded before it ([simulate] on_nonfinite = drop or "
            "keep goes on without such trajectories)",
            how, report->nonfinite_trajectory, (unsigned long long)report->nonfinite_step,
            ((double)report->nonfinite_step + 1 - cfg->burn_in) * cfg->dt,
            cfg->dt >= 2 * model->tau ? ": [simulate] dt must be below 2τ for stability" : "");
    }
    return code;
}
