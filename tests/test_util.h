/* test_util.h — small helpers shared by the tests: seeded random arrays, error norms, and a
 * configuration built from INI text. Header-only, static functions. */
#ifndef DDM_TEST_UTIL_H
#define DDM_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ddm/config.h"
#include "ddm/philox.h"
#include "ddm/system.h"

/* Uniform numbers in [lo, hi), reproducible for a given seed. */
static inline void fill_uniform(float *a, size_t count, float lo, float hi, uint64_t seed) {
    for (size_t i = 0; i < count; i++) a[i] = lo + (hi - lo) * (float)philox_uniform(seed, 7, i);
}

/* max |a − b| / (atol + rtol |b|): ≤ 1 means within tolerance everywhere. */
static inline double tolerance_ratio(const float *a, const float *b, size_t count, double atol,
                                     double rtol) {
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(r <= worst)) worst = r; /* NaN propagates as failure */
    }
    return worst;
}

/* ‖a − b‖₂ / ‖b‖₂ */
static inline double relative_l2(const float *a, const float *b, size_t count) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        norm += (double)b[i] * b[i];
    }
    return sqrt(diff / norm);
}

/* Defaults overlaid with INI text; aborts the test on an error. */
static inline void config_from_text(struct ddm_config *cfg, const char *text) {
    struct ddm_error err = {0};
    if (config_defaults(cfg, &err) || config_load_text(cfg, text, "test.ini", &err)) {
        fprintf(stderr, "config: %s\n", err.message);
        abort();
    }
}

/* A system built from INI text (the configuration freed); a DDM_ status, err says why. */
static inline int system_from_text(struct ddm_system *sys, const char *text,
                                   struct ddm_error *err) {
    struct ddm_config cfg;
    int code = config_defaults(&cfg, err);
    if (!code) code = config_load_text(&cfg, text, "t.ini", err);
    if (!code) code = system_build(sys, &cfg, err);
    config_free(&cfg);
    return code;
}

#endif

#include "ddm/model.h"

/* A random network (n,k,m) with O(1) activity: Γ̂ ~ U(±1), Ŵ_s ~ U(±2/√n), b ~ U(±0.5), Ŝ or V, c
 * small; μ = 0.5, s = 2 so the read-out's affine map is exercised. Aborts on failure. */
static inline void random_model(struct ddm_model *model, int n, int k, int m, int state_dependent,
                                uint64_t seed) {
    struct ddm_error err = {0};
    if (model_alloc(model, n, k, m, state_dependent, &err)) abort();
    model->tau = 0.5;
    fill_uniform(model->Gamma, (size_t)n * k, -1, 1, seed);
    fill_uniform(model->Ws, (size_t)k * n, -2 / sqrtf(n), 2 / sqrtf(n), seed + 1);
    fill_uniform(model->b, n, -0.5f, 0.5f, seed + 2);
    if (state_dependent) {
        fill_uniform(model->V, (size_t)k * m * n, -0.2f / n, 0.2f / n, seed + 3);
        fill_uniform(model->c, (size_t)k * m, 0.1f, 0.3f, seed + 4);
    } else {
        fill_uniform(model->S, (size_t)k * m, -0.3f, 0.3f, seed + 3);
    }
    for (int c = 0; c < k; c++) {
        model->latent_mean[c] = 0.5;
        model->latent_scale[c] = 2;
    }
    if (model_update_pinv(model, &err)) abort();
}
