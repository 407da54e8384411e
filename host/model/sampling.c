/* sampling.c — the training points of drift matching (docs/design.md §3).
 *
 * Paths: the target SDE is integrated by Euler–Maruyama from starts z₀ set by [train] path_start
 * (a point, spread by 1% of its size; a box, uniform; by default [simulate] start, else
 * N(0, I)), with the step [train] path_dt (auto: from the drift's Jacobian); after a burn-in
 * points are taken at equal spacing, and jittered by N(0, (jitter·s)²) so the fit also holds
 * beside the attractor. A path that leaves |z_i| <= path_bound (noise can throw some systems off
 * to infinity) is dropped and replaced by a fresh one, up to four times the requested number.
 * Box: uniform points in [lo, hi] per coordinate. Every draw comes from a keyed Philox stream.
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/signals.h"
#include "ddm/train.h"

void points_free(struct ddm_points *points) {
    free(points->z);
    free(points->f);
    memset(points, 0, sizeof *points);
}

/* Steps per training path at most (burn-in and path_time at path_dt): 10⁹ Euler steps of a
 * 3-variable drift is about an hour of one core; more means the step is wrong, not the system. */
#define PATH_STEPS_MAX 1e9
/* A noisy path looks for a stop request (a job's SIGTERM) every this many steps: a path can take
 * an hour, longer than a scheduler waits between SIGTERM and SIGKILL. */
#define PATH_STOP_POLL 65536

/* Where training paths start: [train] path_start, else [simulate] start, else N(0, I). */
static const struct plan_origin *training_origin(const struct ddm_config *cfg) {
    const struct ddm_plan *plan = cfg->plan;
    return plan->path_origin.kind != ORIGIN_NORMAL ? &plan->path_origin : &plan->start_origin;
}

/* The start of path `index`: a point spread by N(0, (0.01 max(1, |p|∞))²) so that paths of a
 * noise-free system differ, a uniform point of the box, or N(0, I). */
static void path_start_point(const struct plan_origin *origin, int k, uint64_t seed, uint64_t index,
                             double *z) {
    double size = 1;
    for (int c = 0; c < k && origin->kind == ORIGIN_POINT; c++)
        size = fmax(size, fabs(origin->lo[c]));
    for (int c = 0; c < k; c++) {
        double g = philox_gaussian(seed, index, (uint64_t)c + (1ull << 62));
        if (origin->kind == ORIGIN_POINT) z[c] = origin->lo[c] + 0.01 * size * g;
        if (origin->kind == ORIGIN_BOX)
            z[c] = origin->lo[c] + (origin->hi[c] - origin->lo[c]) *
                                       philox_uniform(seed, index, (uint64_t)c + (1ull << 62));
        if (origin->kind == ORIGIN_NORMAL) z[c] = g;
    }
}

/* Integrates path `index` from z (k, overwritten) with step dt, with noise or without; writes
 * `count` points (count,k) into out (NULL: none). Returns 0; -1 when the path escaped the bound
 * or became non-finite, with the time of the escape in *escape_time; 1 when a noisy path saw a
 * stop request at one of its PATH_STOP_POLL-step marks, or at its first step when it has at
 * least PATH_STOP_POLL steps (the path is abandoned). */
static int simulate_path(const struct ddm_system *sys, const struct ddm_config *cfg, double dt,
                         int noisy, uint64_t seed, uint64_t index, double *z, int count,
                         double *out, double *escape_time) {
    const int k = sys->k, m = sys->m;
    const double sqrt_dt = sqrt(dt);
    const long burn_steps = (long)ceil(cfg->path_burn_in / dt);
    long stride = (long)floor(cfg->path_time / dt / (count > 0 ? count : 1));
    if (stride < 1) stride = 1;
    const long total = burn_steps + stride * (count > 0 ? count : 1);
    double f[DDM_MAX_K], sigma[DDM_MAX_K * DDM_MAX_M];
    float xi[DDM_MAX_M] = {0};
    int written = 0;
    for (long step = 1; step <= total; step++) {
        const double t = (double)(step - 1 - burn_steps) * dt; /* 0 after the burn-in */
        system_drift(sys, z, f);
        if (sys->forcing) { /* a forced system's paths feel g(t) */
            double g[DDM_MAX_K];
            system_forcing(sys, t, g);
            for (int c = 0; c < k; c++) f[c] += g[c];
        }
        if (noisy) {
            system_diffusion(sys, z, sigma);
            if (sys->diffusion_time) { /* and a diffusion that uses t its terms s(t) */
                double s_t[DDM_MAX_K * DDM_MAX_M];
                system_diffusion_time(sys, t, s_t);
                for (int q = 0; q < k * m; q++) sigma[q] += s_t[q];
            }
            philox_step_normals(seed, index, (uint64_t)step, m, xi);
        }
        int escaped = 0;
        for (int c = 0; c < k; c++) {
            double noise = 0;
            for (int j = 0; j < m && noisy; j++) noise += sigma[c * m + j] * xi[j];
            z[c] += f[c] * dt + noise * sqrt_dt;
            escaped |= !(fabs(z[c]) <= cfg->path_bound); /* also catches NaN */
        }
        if (escaped) {
            *escape_time = step * dt;
            return -1;
        }
        /* a path long enough to be polled is also polled at its first step: paths not yet begun
         * when the stop came are then not run to their first mark */
        const int poll = step % PATH_STOP_POLL == 0 || (step == 1 && total >= PATH_STOP_POLL);
        if (noisy && poll && stop_requested()) return 1;
        if (!out) continue;
        if (step > burn_steps && (step - burn_steps) % stride == 0 && written < count)
            memcpy(out + (size_t)k * written++, z, sizeof(double) * k);
    }
    return 0;
}

/* Largest |eigenvalue| of the drift's Jacobian at z. */
static double jacobian_radius(const struct ddm_system *sys, const double *z) {
    const int k = sys->k;
    double f[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K], re[DDM_MAX_K], im[DDM_MAX_K];
    system_drift_jacobian(sys, z, f, jac);
    for (int q = 0; q < k * k; q++)
        if (!isfinite(jac[q])) return INFINITY;
    if (LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', k, jac, k, re, im, NULL, 1, NULL, 1))
        return INFINITY;
    double radius = 0;
    for (int c = 0; c < k; c++) radius = fmax(radius, hypot(re[c], im[c]));
    return radius;
}

/* Euler is stable and accurate on a linearised flow when dt·ρ is small; 0.05/ρ keeps a factor
 * 40 from the edge of stability (dt·ρ < 2) for real eigenvalues and a slow growth (1 + (dtρ)²/2
 * per step) for imaginary ones. ρ is taken at the first 16 path starts and along a noise-free
 * probe of 2000 steps from the first, redone with the smaller step it gives (three rounds). */
double sample_path_dt(const struct ddm_system *sys, const struct ddm_config *cfg) {
    return sample_path_dt_from(sys, cfg, training_origin(cfg));
}

double sample_path_dt_from(const struct ddm_system *sys, const struct ddm_config *cfg,
                           const struct plan_origin *from) {
    if (cfg->path_dt != DDM_AUTO) return cfg->path_dt;
    const int k = sys->k;
    const struct plan_origin origin = *from;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_PATHS);
    double cap = fmin(1e-3, cfg->dt), radius = 0, z[DDM_MAX_K];
    for (int i = 0; i < 16; i++) { /* a start where the Jacobian is undefined says nothing */
        path_start_point(&origin, k, seed, (uint64_t)i, z);
        const double here = jacobian_radius(sys, z);
        if (isfinite(here)) radius = fmax(radius, here);
    }
    double dt = fmin(cap, 0.05 / radius);
    for (int round = 0; round < 3; round++) {
        path_start_point(&origin, k, seed, 0, z);
        for (int step = 0; step < 2000; step++) {
            double f[DDM_MAX_K];
            system_drift(sys, z, f);
            int escaped = 0;
            for (int c = 0; c < k; c++) {
                z[c] += f[c] * dt;
                escaped |= !(fabs(z[c]) <= cfg->path_bound);
            }
            if (escaped) break; /* past the bound: not where the paths will be */
            double here = jacobian_radius(sys, z);
            if (!isfinite(here)) break;
            radius = fmax(radius, here);
        }
        double next = fmin(cap, 0.05 / radius);
        if (!(next < dt)) break;
        dt = next;
    }
    return dt > 1e-12 ? dt : 1e-12;
}

/* Paths failed: is it the noise or where they start? Reruns the failed ones without noise. */
static int paths_failed(const struct ddm_system *sys, const struct ddm_config *cfg, double dt,
                        const struct plan_origin *origin, const int *ok, int good, int tried,
                        struct ddm_error *err) {
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_PATHS);
    int quiet_escapes = 0;
    double first_time = 0;
    for (int i = 0; i < tried; i++) {
        double z[DDM_MAX_K], when = 0;
        if (ok[i]) continue;
        path_start_point(origin, sys->k, seed, (uint64_t)i, z);
        if (simulate_path(sys, cfg, dt, 0, seed, (uint64_t)i, z, 0, NULL, &when)) {
            if (!quiet_escapes++) first_time = when;
        }
    }
    if (quiet_escapes * 2 >= tried - good)
        return ddm_fail(err, DDM_ERUNTIME,
                        "only %d of %d target paths stayed within |z_i| <= %g ([train] "
                        "path_bound), and %d of the %d that left also leave without noise (the "
                        "first at t = %.3g): the cause is where they start (%s), or a step too "
                        "large for the drift ([train] path_dt = %g), not the noise; set [train] "
                        "path_start (or [simulate] start) to a point near the attractor",
                        good, tried, cfg->path_bound, quiet_escapes, tried - good, first_time,
                        origin->where, dt);
    return ddm_fail(err, DDM_ERUNTIME,
                    "only %d of %d target paths stayed within |z_i| <= %g (the noise throws "
                    "the others off to infinity; without noise %d of them stay): too few "
                    "training points; lower the diffusion, shorten [train] path_time, or raise "
                    "[train] path_bound",
                    good, tried, cfg->path_bound, tried - good - quiet_escapes);
}

/* A step that makes a training path longer than PATH_STEPS_MAX is refused before any work. */
static int check_path_steps(const struct ddm_config *cfg, double dt, struct ddm_error *err) {
    const double steps = (cfg->path_burn_in + cfg->path_time) / dt;
    if (steps > PATH_STEPS_MAX)
        return ddm_fail(err, DDM_EUSAGE,
                        "[train] path_dt = %.3g%s needs %.3g steps per training path (at most "
                        "%.0e); set [train] path_dt, or shorten [train] path_time and "
                        "path_burn_in",
                        dt,
                        cfg->path_dt == DDM_AUTO ? " (auto: the drift's Jacobian near the path "
                                                   "starts is that steep)"
                                                 : "",
                        steps, PATH_STEPS_MAX);
    return DDM_OK;
}

static int sample_paths(const struct ddm_system *sys, const struct ddm_config *cfg, int count,
                        double *out, struct ddm_points *points, struct ddm_error *err) {
    const int k = sys->k, paths = cfg->paths, attempts_max = 4 * paths;
    const int per_path = (count + paths - 1) / paths;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_PATHS);
    const double dt = sample_path_dt(sys, cfg);
    const struct plan_origin origin = *training_origin(cfg);
    int code;
    if ((code = check_path_steps(cfg, dt, err))) return code;
    double *buffer = ddm_alloc(sizeof(double) * k * per_path * (size_t)attempts_max, "paths", err);
    int *ok = ddm_calloc(attempts_max, sizeof(int), "paths", err);
    if (!buffer || !ok) {
        free(buffer);
        free(ok);
        return DDM_ERUNTIME;
    }
    /* Simulate in rounds of `paths` until enough have stayed bounded: reproducible whatever
     * the number of threads, since path i always uses stream i. */
    int good = 0, tried = 0, stopped = 0;
    while (good < paths && tried < attempts_max && !stopped) {
        int round = paths - good;
        if (round > attempts_max - tried) round = attempts_max - tried;
#pragma omp parallel for schedule(dynamic) reduction(| : stopped)
        for (int i = tried; i < tried + round; i++) {
            double z[DDM_MAX_K], when;
            path_start_point(&origin, k, seed, (uint64_t)i, z);
            const int end = simulate_path(sys, cfg, dt, 1, seed, (uint64_t)i, z, per_path,
                                          buffer + (size_t)k * per_path * i, &when);
            ok[i] = end == 0;
            stopped |= end > 0;
        }
        tried += round;
        good = 0;
        for (int i = 0; i < tried; i++) good += ok[i];
    }
    points->paths_used = good;
    points->paths_dropped = tried - good;
    points->path_dt = dt;
    if (stopped || good < (paths + 1) / 2) {
        code = stopped ? ddm_fail(err, DDM_EINTERRUPTED,
                                  "stopped by %s while sampling the target's paths (%.3g steps "
                                  "each at path_dt = %.3g)",
                                  stop_signal_name(stop_requested()),
                                  (cfg->path_burn_in + cfg->path_time) / dt, dt)
                       : paths_failed(sys, cfg, dt, &origin, ok, good, tried, err);
        free(buffer);
        free(ok);
        return code;
    }
    /* take the points round-robin over the good paths, so a short count still spans all */
    int written = 0;
    for (int j = 0; j < per_path && written < count; j++)
        for (int i = 0; i < tried && written < count; i++)
            if (ok[i]) {
                memcpy(out + (size_t)k * written++, buffer + (size_t)k * (per_path * i + j),
                       sizeof(double) * k);
            }
    /* fewer good paths than asked: repeat their points in order to reach the count */
    for (int w = written; w < count; w++)
        memcpy(out + (size_t)k * w, out + (size_t)k * (w % written), sizeof(double) * k);
    free(buffer);
    free(ok);
    return DDM_OK;
}

/* A start point given by the user must stay bounded without noise for path_burn_in + path_time;
 * else training would sample an escape, or the simulation start off the attractor. */
static int check_start_point(const struct ddm_system *sys, const struct ddm_config *cfg,
                             const struct plan_origin *origin, struct ddm_error *err) {
    if (origin->kind != ORIGIN_POINT) return DDM_OK;
    double z[DDM_MAX_K], when = 0, dt = sample_path_dt_from(sys, cfg, origin);
    memcpy(z, origin->lo, sizeof(double) * sys->k);
    if (!simulate_path(sys, cfg, dt, 0, 0, 0, z, 0, NULL, &when)) return DDM_OK;
    return ddm_fail(err, DDM_EUSAGE,
                    "%s: the target started there leaves |z_i| <= %g ([train] path_bound) at "
                    "t = %.3g even without noise (step %g): give a point on or near the "
                    "attractor",
                    origin->where, cfg->path_bound, when, dt);
}

int sample_check(const struct ddm_system *sys, const struct ddm_config *cfg,
                 struct ddm_error *err) {
    if (sys->recording) return DDM_OK; /* the points are the data's */
    const struct plan_origin *origin = training_origin(cfg);
    int code = DDM_OK;
    if (cfg->sampling != SAMPLING_BOX) {
        code = check_path_steps(cfg, sample_path_dt_from(sys, cfg, origin), err);
        if (!code) code = check_start_point(sys, cfg, origin, err);
    }
    if (!code && origin == &cfg->plan->path_origin) /* both given: the simulation's too */
        code = check_start_point(sys, cfg, &cfg->plan->start_origin, err);
    return code;
}

int sample_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                  struct ddm_points *points, struct ddm_error *err) {
    if (sys->recording) return data_points(sys, cfg, points, err);
    const int k = sys->k, M = cfg->samples;
    memset(points, 0, sizeof *points);
    points->M = M;
    points->k = k;
    points->z = ddm_alloc(sizeof(double) * M * k, "training points", err);
    points->f = ddm_alloc(sizeof(double) * M * k, "training drifts", err);
    if (!points->z || !points->f) {
        points_free(points);
        return DDM_ERUNTIME;
    }
    const int from_paths = cfg->sampling == SAMPLING_PATHS  ? M
                           : cfg->sampling == SAMPLING_BOTH ? M / 2
                                                            : 0;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_POINTS);
    int code;
    if (from_paths > 0) {
        if ((code = sample_paths(sys, cfg, from_paths, points->z, points, err))) {
            points_free(points);
            return code;
        }
        /* jitter, relative to the spread of the path points */
        double mean[DDM_MAX_K] = {0}, var[DDM_MAX_K] = {0};
        for (int s = 0; s < from_paths; s++)
            for (int c = 0; c < k; c++) mean[c] += points->z[s * k + c] / from_paths;
        for (int s = 0; s < from_paths; s++)
            for (int c = 0; c < k; c++)
                var[c] += pow(points->z[s * k + c] - mean[c], 2) / from_paths;
        for (int s = 0; s < from_paths; s++)
            for (int c = 0; c < k; c++)
                points->z[s * k + c] +=
                    cfg->jitter * sqrt(var[c]) * philox_gaussian(seed, 0, (uint64_t)s * k + c);
    }
    if (from_paths < M) {
        double lo[DDM_MAX_K], hi[DDM_MAX_K];
        if (cfg->plan->has_box) {
            memcpy(lo, cfg->plan->box_lo, sizeof(double) * k);
            memcpy(hi, cfg->plan->box_hi, sizeof(double) * k);
        } else if (from_paths > 0) { /* the range of the path points, 10% wider each side */
            for (int c = 0; c < k; c++) lo[c] = INFINITY, hi[c] = -INFINITY;
            for (int s = 0; s < from_paths; s++)
                for (int c = 0; c < k; c++) {
                    lo[c] = fmin(lo[c], points->z[s * k + c]);
                    hi[c] = fmax(hi[c], points->z[s * k + c]);
                }
            for (int c = 0; c < k; c++) {
                double pad = 0.1 * (hi[c] - lo[c]);
                lo[c] -= pad;
                hi[c] += pad;
            }
        } else {
            points_free(points);
            return ddm_fail(err, DDM_EUSAGE,
                            "[train] sampling = box needs [train] box = 'lo:hi, ...' (one range "
                            "per variable)");
        }
        for (int s = from_paths; s < M; s++)
            for (int c = 0; c < k; c++)
                points->z[s * k + c] =
                    lo[c] + (hi[c] - lo[c]) * philox_uniform(seed, 1, (uint64_t)s * k + c);
    }
#pragma omp parallel for schedule(static)
    for (int s = 0; s < M; s++)
        system_drift(sys, points->z + (size_t)s * k, points->f + (size_t)s * k);
    for (size_t q = 0; q < (size_t)M * k; q++)
        if (!isfinite(points->f[q])) {
            int s = (int)(q / k);
            points_free(points);
            return ddm_fail(err, DDM_ERUNTIME,
                            "the drift is not finite at training point %d (e.g. a division by "
                            "zero or log of a negative number in [system] drift)",
                            s);
        }
    return DDM_OK;
}
