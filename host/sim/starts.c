/* starts.c — starting points on the target's attractor, checked (ddm/starts.h).
 *
 * A start reached by a path that only had to stay finite can still be escaping: a path at
 * |z| = 10⁶ on an attractor of scale 0.4 is finite, and a network started there leaves its
 * bound within a few steps. So every step of the path is held to [train] path_bound, and the
 * point it reaches to the region the network was trained on.
 */
#include "ddm/starts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/analysis_lyapunov.h"
#include "ddm/philox.h"
#include "ddm/simulate.h"
#include "ddm/train.h"

#define CANDIDATES_PER_START 8
#define SDE_CHUNK            256 /* steps of a start's burn-in advanced per target_advance call */

long start_report_refused(const struct start_report *r) {
    return r->nonfinite + r->past_bound + r->outside_region;
}

void start_report_add(struct start_report *a, const struct start_report *b) {
    a->candidates += b->candidates;
    a->nonfinite += b->nonfinite;
    a->past_bound += b->past_bound;
    a->outside_region += b->outside_region;
}

static void count_verdict(struct start_report *r, enum start_verdict v) {
    r->candidates++;
    r->nonfinite += v == START_NONFINITE;
    r->past_bound += v == START_PAST_BOUND;
    r->outside_region += v == START_OUTSIDE_REGION;
}

/* The bound alone (every step of a path is held to it). */
static enum start_verdict bound_verdict(const struct ddm_config *cfg, const double *z, int k) {
    for (int c = 0; c < k; c++) {
        if (!isfinite(z[c])) return START_NONFINITE;
        if (!(fabs(z[c]) <= cfg->path_bound)) return START_PAST_BOUND;
    }
    return START_ACCEPTED;
}

enum start_verdict start_check_point(const struct ddm_model *model, const struct ddm_config *cfg,
                                     const double *z) {
    enum start_verdict v = bound_verdict(cfg, z, model->k);
    for (int c = 0; c < model->k && v == START_ACCEPTED; c++)
        if (!(fabs(z[c] - model->latent_mean[c]) <= STARTS_TRAINED_REGION * model->latent_scale[c]))
            v = START_OUTSIDE_REGION;
    return v;
}

/* Advances the path by `steps` SDE steps from global step `from`, checking every step: against
 * the bound, and from the check window on (`region`) also against the trained region. The
 * float copies of the visited points overflow to ±inf only far past any bound. */
static enum start_verdict advance_checked(const struct ddm_system *sys,
                                          const struct ddm_model *model,
                                          const struct ddm_config *cfg, struct target_paths *path,
                                          double dt, long from, long steps, int region) {
    const int k = sys->k;
    float visited[SDE_CHUNK * DDM_MAX_K];
    for (long done = 0; done < steps; done += SDE_CHUNK) {
        int chunk = steps - done < SDE_CHUNK ? (int)(steps - done) : SDE_CHUNK;
        target_advance(sys, path, (uint64_t)(from + done), chunk, 1, dt, NULL, NULL, visited);
        if (*path->dead) return START_NONFINITE;
        for (int s = 0; s < chunk; s++) {
            double at[DDM_MAX_K];
            for (int c = 0; c < k; c++)
                at[c] = isinf(visited[s * k + c]) ? HUGE_VAL : visited[s * k + c];
            enum start_verdict v =
                region ? start_check_point(model, cfg, at) : bound_verdict(cfg, at, k);
            if (v == START_NONFINITE) v = START_PAST_BOUND; /* the path itself is finite */
            if (v) return v;
        }
    }
    return START_ACCEPTED;
}

/* One candidate: z from N(μ, diag s²) on `stream`, then the target SDE for burn_steps with every
 * step held to the bound (target_advance's own check is finiteness only); z is the point
 * reached. The path then goes on for a check window of burn_steps/2 steps (at least 100) that
 * must stay within the bound and the trained region: a point that is already escaping, still
 * finite and still near, leaves within it. */
static enum start_verdict settle(const struct ddm_system *sys, const struct ddm_model *model,
                                 const struct ddm_config *cfg, uint64_t seed, uint64_t stream,
                                 double dt, long burn_steps, double *z) {
    const int k = sys->k;
    for (int c = 0; c < k; c++)
        z[c] = model->latent_mean[c] +
               model->latent_scale[c] * philox_gaussian(seed, stream, (1ull << 62) + c);
    int dead = 0;
    struct target_paths path = {1, z, &dead, seed, stream};
    enum start_verdict v = advance_checked(sys, model, cfg, &path, dt, 0, burn_steps, 0);
    if (!v) v = start_check_point(model, cfg, z);
    if (v) return v;
    double ahead[DDM_MAX_K];
    memcpy(ahead, z, sizeof(double) * k);
    path.z = ahead;
    const long window = burn_steps / 2 > 100 ? burn_steps / 2 : 100;
    return advance_checked(sys, model, cfg, &path, dt, burn_steps, window, 1);
}

int attractor_starts(const struct ddm_system *sys, const struct ddm_model *model,
                     const struct ddm_config *cfg, uint64_t first, int B, double *z0,
                     struct start_report *report, struct ddm_error *err) {
    const int k = sys->k;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_SIM_START);
    const double dt = sample_path_dt_from(sys, cfg, &cfg->plan->path_origin);
    const long burn_steps = (long)ceil(cfg->path_burn_in / dt);
    struct start_report counts = {0};
    long unsettled = 0;
#pragma omp parallel
    {
        struct start_report mine = {0};
        long mine_unsettled = 0;
#pragma omp for schedule(static)
        for (int j = 0; j < B; j++) {
            enum start_verdict v = START_NONFINITE;
            for (int attempt = 0; attempt < CANDIDATES_PER_START && v; attempt++) {
                uint64_t stream = first + (uint64_t)j + ((uint64_t)attempt << 40);
                v = settle(sys, model, cfg, seed, stream, dt, burn_steps, z0 + (size_t)j * k);
                count_verdict(&mine, v);
            }
            mine_unsettled += v != START_ACCEPTED;
        }
#pragma omp critical
        {
            start_report_add(&counts, &mine);
            unsettled += mine_unsettled;
        }
    }
    if (report) start_report_add(report, &counts);
    if (unsettled)
        return ddm_fail(err, DDM_ERUNTIME,
                        "%ld of %d starts found no point of the attractor in %d candidates each "
                        "(refused: %ld became NaN/Inf, %ld left |z_i| <= [train] path_bound = %g, "
                        "%ld ended outside the trained region μ ± %g s); set [simulate] start to "
                        "a latent point of the attractor",
                        unsettled, B, CANDIDATES_PER_START, counts.nonfinite, counts.past_bound,
                        cfg->path_bound, counts.outside_region, STARTS_TRAINED_REGION);
    return DDM_OK;
}

/* One classical RK4 step of the noise-free target flow. */
static void rk4_step(const struct ddm_system *sys, double *z, double dt) {
    const int k = sys->k;
    double rate[4][DDM_MAX_K], stage[DDM_MAX_K];
    static const double weight[3] = {0.5, 0.5, 1.0};
    system_drift(sys, z, rate[0]);
    for (int s = 0; s < 3; s++) {
        for (int c = 0; c < k; c++) stage[c] = z[c] + weight[s] * dt * rate[s][c];
        system_drift(sys, stage, rate[s + 1]);
    }
    for (int c = 0; c < k; c++)
        z[c] += dt / 6 * (rate[0][c] + 2 * rate[1][c] + 2 * rate[2][c] + rate[3][c]);
}

/* The origin of Lyapunov path `attempt`: [simulate] start first when it is set, then
 * attractor starts of their own streams (global trajectories 2⁵⁰ + attempt). */
static int lyapunov_origin(const struct ddm_system *sys, const struct ddm_model *model,
                           const struct ddm_config *cfg, int attempt, double *z,
                           struct ddm_error *err) {
    if (attempt == 0 && cfg->plan->has_start)
        return simulate_starts_from(sys, model, cfg, 0, 1, z, NULL, err);
    return attractor_starts(sys, model, cfg, (1ull << 50) + (uint64_t)attempt, 1, z, NULL, err);
}

/* Follows one noise-free path from z: `transient` steps, then `span` steps in which start j is
 * taken at step j·spacing and every stride-th point goes into path. Every step is checked. */
static enum start_verdict lyapunov_path(const struct ddm_system *sys, const struct ddm_model *model,
                                        const struct ddm_config *cfg, double *z, long transient,
                                        long spacing, long span, long stride,
                                        struct lyapunov_starts *out) {
    const int k = sys->k;
    out->path_points = 0;
    for (long step = -transient; step < span; step++) {
        if (step >= 0 && step % spacing == 0 && step / spacing < out->S)
            memcpy(out->z0 + (size_t)(step / spacing) * k, z, sizeof(double) * k);
        if (step >= 0 && step % stride == 0)
            memcpy(out->path + (size_t)k * out->path_points++, z, sizeof(double) * k);
        rk4_step(sys, z, cfg->lyapunov_dt);
        enum start_verdict v = start_check_point(model, cfg, z);
        if (v) return v;
    }
    return START_ACCEPTED;
}

/* scale (k): the path's std per coordinate, at least STARTS_SCALE_FLOOR of the trained states'
 * std (a path that settles on a fixed point has a std near 0, and a network's fixed point a
 * hair's breadth from the target's would count as "elsewhere"); min_separation between the
 * starts in those units. */
static void describe_path(struct lyapunov_starts *out, const struct ddm_model *model) {
    const int k = out->k;
    for (int c = 0; c < k; c++) {
        double sum = 0, sum2 = 0;
        for (long p = 0; p < out->path_points; p++) {
            sum += out->path[p * k + c];
            sum2 += out->path[p * k + c] * out->path[p * k + c];
        }
        const double mean = sum / out->path_points;
        const double var = fmax(0, sum2 / out->path_points - mean * mean);
        out->scale[c] = fmax(fmax(sqrt(var), STARTS_SCALE_FLOOR * model->latent_scale[c]),
                             1e-12 * (1 + fabs(mean)));
    }
    out->min_separation = INFINITY;
    for (int a = 0; a < out->S; a++)
        for (int b = 0; b < a; b++) {
            double d2 = 0;
            for (int c = 0; c < k; c++)
                d2 += pow((out->z0[a * k + c] - out->z0[b * k + c]) / out->scale[c], 2);
            out->min_separation = fmin(out->min_separation, sqrt(d2));
        }
}

long lyapunov_longest_steps(const struct ddm_config *cfg) {
    return cfg->lyapunov_steps * (cfg->lyapunov_precision > 0 ? LYAPUNOV_LONGEST : 1);
}

int lyapunov_starts_find(const struct ddm_system *sys, const struct ddm_model *model,
                         const struct ddm_config *cfg, int S, struct lyapunov_starts *out,
                         struct ddm_error *err) {
    const int k = sys->k;
    memset(out, 0, sizeof *out);
    out->S = S;
    out->k = k;
    const long transient = cfg->lyapunov_transient;
    /* each start's run (transient + the longest averaged run) ends where the next start begins:
     * the target's starts follow disjoint pieces of one orbit, so their spread is a true error.
     * A path that long may meet a rare excursion out of the trained region; then the starts are
     * taken along its first part, `transient` apart (overlapping runs: a smaller error bar). */
    const long longest = transient + lyapunov_longest_steps(cfg);
    const long spacings[2] = {longest > 100 ? longest : 100, transient > 100 ? transient : 100};
    out->z0 = ddm_alloc(sizeof(double) * S * k, "Lyapunov starts", err);
    out->path = ddm_alloc(sizeof(double) * k * 20001, "Lyapunov path", err);
    if (!out->z0 || !out->path) {
        lyapunov_starts_free(out);
        return DDM_ERUNTIME;
    }
    for (int attempt = 0; attempt < CANDIDATES_PER_START; attempt++) {
        double z[DDM_MAX_K];
        int code = lyapunov_origin(sys, model, cfg, attempt, z, err);
        if (code) {
            lyapunov_starts_free(out);
            return code;
        }
        enum start_verdict v = START_ACCEPTED;
        for (int tight = 0; tight < 2 && (tight == 0 || v != START_ACCEPTED); tight++) {
            double from[DDM_MAX_K];
            memcpy(from, z, sizeof from);
            out->spacing = spacings[tight];
            const long span = (long)S * out->spacing > 10000 ? (long)S * out->spacing : 10000;
            const long stride = (span + 19999) / 20000; /* at most 20 000 path points */
            v = lyapunov_path(sys, model, cfg, from, transient, out->spacing, span, stride, out);
        }
        count_verdict(&out->report, v);
        if (v == START_ACCEPTED) {
            describe_path(out, model);
            return DDM_OK;
        }
    }
    const struct start_report *r = &out->report;
    int code = ddm_fail(err, DDM_ERUNTIME,
                        "no noise-free target path of %d tried stayed on the attractor for the "
                        "Lyapunov starts (%ld became NaN/Inf, %ld left |z_i| <= [train] "
                        "path_bound = %g, %ld left the trained region μ ± %g s); set [simulate] "
                        "start to a point of the attractor, or [analysis] lyapunov_steps = 0",
                        CANDIDATES_PER_START, r->nonfinite, r->past_bound, cfg->path_bound,
                        r->outside_region, STARTS_TRAINED_REGION);
    lyapunov_starts_free(out);
    return code;
}

void lyapunov_starts_free(struct lyapunov_starts *out) {
    free(out->z0);
    free(out->path);
    out->z0 = out->path = NULL;
}

double lyapunov_starts_distance(const struct lyapunov_starts *starts, const double *z) {
    const int k = starts->k;
    double best = INFINITY;
    for (long p = 0; p < starts->path_points; p++) {
        double d2 = 0;
        for (int c = 0; c < k && d2 < best; c++)
            d2 += pow((z[c] - starts->path[p * k + c]) / starts->scale[c], 2);
        best = fmin(best, d2);
    }
    return sqrt(best);
}
