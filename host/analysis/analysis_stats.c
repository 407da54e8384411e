/* analysis_stats.c — moments, marginal histograms and 1-D Wasserstein distances (docs/design.md
 * §5).
 *
 * W₁(a, b) = ∫ |F_a(x) − F_b(x)| dx for the marginal CDFs of one coordinate; with both CDFs linear
 * inside each fine bin the integral over a bin is exact: the trapezoid when the difference keeps
 * its sign, two triangles when it changes sign.
 */
#include "ddm/analysis_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int finite_sample(const float *z, int k) {
    for (int c = 0; c < k; c++)
        if (!isfinite(z[c])) return 0;
    return 1;
}

void stats_moments_init(struct stats_moments *mo, int k) {
    memset(mo, 0, sizeof *mo);
    mo->k = k;
    for (int c = 0; c < k; c++) {
        mo->min[c] = INFINITY;
        mo->max[c] = -INFINITY;
    }
}

void stats_moments_add(struct stats_moments *mo, const float *z, long count) {
    const int k = mo->k;
    for (long s = 0; s < count; s++) {
        const float *v = z + s * k;
        if (!finite_sample(v, k)) continue;
        if (mo->count == 0)
            for (int c = 0; c < k; c++) mo->shift[c] = v[c];
        double d[DDM_MAX_K];
        for (int c = 0; c < k; c++) {
            d[c] = v[c] - mo->shift[c];
            mo->sum[c] += d[c];
            mo->min[c] = fmin(mo->min[c], v[c]);
            mo->max[c] = fmax(mo->max[c], v[c]);
        }
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++) mo->cross[a * k + c] += d[a] * d[c];
        mo->count++;
    }
}

void stats_moments_result(const struct stats_moments *mo, double *mean, double *cov) {
    const int k = mo->k;
    const double count = (double)mo->count;
    for (int c = 0; c < k; c++) mean[c] = count > 0 ? mo->shift[c] + mo->sum[c] / count : NAN;
    for (int a = 0; a < k; a++)
        for (int c = 0; c < k; c++)
            cov[a * k + c] =
                count > 1 ? (mo->cross[a * k + c] - mo->sum[a] * mo->sum[c] / count) / (count - 1)
                          : NAN;
}

int stats_marginals_init(struct stats_marginals *ma, int k, const double *lo, const double *hi,
                         int bins, struct ddm_error *err) {
    memset(ma, 0, sizeof *ma);
    ma->k = k;
    ma->bins = bins;
    for (int c = 0; c < k; c++) {
        ma->lo[c] = lo[c];
        ma->hi[c] = hi[c] > lo[c] ? hi[c] : lo[c] + 1; /* a constant coordinate: any width */
    }
    ma->fine = ddm_calloc((size_t)k * bins * STATS_FINE, sizeof(double), "histograms", err);
    return ma->fine ? DDM_OK : DDM_ERUNTIME;
}

void stats_marginals_free(struct stats_marginals *ma) {
    free(ma->fine);
    ma->fine = NULL;
}

void stats_marginals_add(struct stats_marginals *ma, const float *z, long count) {
    const int k = ma->k, fine = ma->bins * STATS_FINE;
    for (long s = 0; s < count; s++) {
        const float *v = z + s * k;
        if (!finite_sample(v, k)) continue;
        for (int c = 0; c < k; c++) {
            double u = (v[c] - ma->lo[c]) / (ma->hi[c] - ma->lo[c]) * fine;
            int bin = u < 0 ? 0 : u >= fine ? fine - 1 : (int)u;
            ma->fine[(size_t)c * fine + bin] += 1;
        }
        ma->count++;
    }
}

void stats_marginals_density(const struct stats_marginals *ma, double *density) {
    const int k = ma->k, bins = ma->bins, fine = bins * STATS_FINE;
    for (int c = 0; c < k; c++) {
        const double width = (ma->hi[c] - ma->lo[c]) / bins;
        for (int b = 0; b < bins; b++) {
            double sum = 0;
            for (int q = 0; q < STATS_FINE; q++)
                sum += ma->fine[(size_t)c * fine + b * STATS_FINE + q];
            density[(size_t)c * bins + b] = ma->count ? sum / (ma->count * width) : 0;
        }
    }
}

/* ∫₀¹ |d0 + (d1 − d0)t| dt */
static double mean_abs_linear(double d0, double d1) {
    if ((d0 >= 0) == (d1 >= 0)) return 0.5 * fabs(d0 + d1);
    return 0.5 * (d0 * d0 + d1 * d1) / (fabs(d0) + fabs(d1));
}

double stats_wasserstein(const struct stats_marginals *a, const struct stats_marginals *b, int c) {
    const int fine = a->bins * STATS_FINE;
    if (!a->count || !b->count) return NAN;
    const double width = (a->hi[c] - a->lo[c]) / fine;
    const double *ha = a->fine + (size_t)c * fine, *hb = b->fine + (size_t)c * fine;
    double Fa = 0, Fb = 0, distance = 0;
    for (int i = 0; i < fine; i++) {
        double next_a = Fa + ha[i] / a->count, next_b = Fb + hb[i] / b->count;
        distance += width * mean_abs_linear(Fa - Fb, next_a - next_b);
        Fa = next_a;
        Fb = next_b;
    }
    return distance;
}
