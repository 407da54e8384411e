/* sampling.c — the training points of drift matching (DESIGN §3).
 *
 * Paths: the target SDE is integrated by Euler–Maruyama from starts z₀ ~ N(0, I); after a burn-in
 * points are taken at equal spacing, and jittered by N(0, (jitter·s)²) so the fit also holds
 * beside the attractor. A path that leaves |z_i| <= path_bound (noise can throw some systems off
 * to infinity) is dropped and replaced by a fresh one, up to four times the requested number.
 * Box: uniform points in [lo, hi] per coordinate. Every draw comes from a keyed Philox stream.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/train.h"

void points_free(struct ddm_points *points) {
    free(points->z);
    free(points->f);
    memset(points, 0, sizeof *points);
}

/* Integrates path `index`; writes `count` points (count,k) into out. Returns 0, or -1 when the
 * path escaped the bound or became non-finite. */
static int simulate_path(const struct ddm_system *sys, const struct ddm_config *cfg, uint64_t seed,
                         uint64_t index, int count, double *out) {
    const int k = sys->k, m = sys->m;
    const double dt = cfg->path_dt, sqrt_dt = sqrt(dt);
    const long burn_steps = (long)ceil(cfg->path_burn_in / dt);
    long stride = (long)floor(cfg->path_time / dt / count);
    if (stride < 1) stride = 1;
    const long total = burn_steps + stride * count;
    double z[DDM_MAX_K], f[DDM_MAX_K], sigma[DDM_MAX_K * DDM_MAX_M];
    float xi[DDM_MAX_M];
    for (int c = 0; c < k; c++) z[c] = philox_gaussian(seed, index, (uint64_t)c + (1ull << 62));
    int written = 0;
    for (long step = 1; step <= total; step++) {
        system_drift(sys, z, f);
        system_diffusion(sys, z, sigma);
        philox_step_normals(seed, index, (uint64_t)step, m, xi);
        int escaped = 0;
        for (int c = 0; c < k; c++) {
            double noise = 0;
            for (int j = 0; j < m; j++) noise += sigma[c * m + j] * xi[j];
            z[c] += f[c] * dt + noise * sqrt_dt;
            escaped |= !(fabs(z[c]) <= cfg->path_bound); /* also catches NaN */
        }
        if (escaped) return -1;
        if (step > burn_steps && (step - burn_steps) % stride == 0 && written < count)
            memcpy(out + (size_t)k * written++, z, sizeof(double) * k);
    }
    return 0;
}

static int sample_paths(const struct ddm_system *sys, const struct ddm_config *cfg, int count,
                        double *out, struct ddm_points *points, struct ddm_error *err) {
    const int k = sys->k, paths = cfg->paths, attempts_max = 4 * paths;
    const int per_path = (count + paths - 1) / paths;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_PATHS);
    double *buffer = ddm_alloc(sizeof(double) * k * per_path * (size_t)attempts_max, "paths", err);
    int *ok = ddm_calloc(attempts_max, sizeof(int), "paths", err);
    if (!buffer || !ok) {
        free(buffer);
        free(ok);
        return DDM_ERUNTIME;
    }
    /* Simulate in rounds of `paths` until enough have stayed bounded: reproducible whatever
     * the number of threads, since path i always uses stream i. */
    int good = 0, tried = 0;
    while (good < paths && tried < attempts_max) {
        int round = paths - good;
        if (round > attempts_max - tried) round = attempts_max - tried;
#pragma omp parallel for schedule(dynamic)
        for (int i = tried; i < tried + round; i++)
            ok[i] = simulate_path(sys, cfg, seed, (uint64_t)i, per_path,
                                  buffer + (size_t)k * per_path * i) == 0;
        tried += round;
        good = 0;
        for (int i = 0; i < tried; i++) good += ok[i];
    }
    points->paths_used = good;
    points->paths_dropped = tried - good;
    if (good < (paths + 1) / 2) {
        free(buffer);
        free(ok);
        return ddm_fail(err, DDM_ERUNTIME,
                        "only %d of %d target paths stayed within |z_i| <= %g (the noise throws "
                        "the others off to infinity): too few training points; lower the "
                        "diffusion, shorten [train] path_time, or raise [train] path_bound",
                        good, tried, cfg->path_bound);
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

/* Parses [train] box, "lo:hi, lo:hi, ..." (k pairs). */
static int parse_box(const struct ddm_config *cfg, int k, double *lo, double *hi,
                     struct ddm_error *err) {
    return config_ranges(cfg, "train", "box", cfg->box, k, lo, hi, err);
}

int sample_check(const struct ddm_config *cfg, int k, struct ddm_error *err) {
    double lo[DDM_MAX_K], hi[DDM_MAX_K];
    if (cfg->box[0]) return parse_box(cfg, k, lo, hi, err);
    if (cfg->sampling == SAMPLING_BOX) {
        char at[1200];
        config_where(cfg, "train", "sampling", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = box needs [train] box = 'lo:hi, ...' (one range per variable)", at);
    }
    return DDM_OK;
}

int sample_points(const struct ddm_system *sys, const struct ddm_config *cfg,
                  struct ddm_points *points, struct ddm_error *err) {
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
        if (cfg->box[0]) {
            if ((code = parse_box(cfg, k, lo, hi, err))) {
                points_free(points);
                return code;
            }
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
