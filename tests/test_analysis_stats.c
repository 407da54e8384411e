/* test_analysis_stats.c — stationary statistics (host/analysis/analysis_stats.c): moments,
 * marginals and the 1-D Wasserstein distance against closed forms. W₁ between N(0, 1) and N(0.5, 1)
 * is the shift, 0.5; between N(0, 1) and N(0, 4) it is E|Z|·(2 − 1) = √(2/π). With 2·10⁵ samples
 * each the sampling error is about 0.3 %.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ddm/analysis_stats.h"
#include "test_util.h"

enum { COUNT = 200000 };

static double wasserstein_of(double shift, double scale) {
    float *a = malloc(sizeof(float) * COUNT), *b = malloc(sizeof(float) * COUNT);
    for (int i = 0; i < COUNT; i++) {
        a[i] = (float)philox_gaussian(5, 1, i);
        b[i] = (float)(shift + scale * philox_gaussian(5, 2, i));
    }
    double lo = -12, hi = 12;
    struct stats_marginals ma, mb;
    struct ddm_error err = {0};
    cr_assert_eq(stats_marginals_init(&ma, 1, &lo, &hi, 100, &err), 0);
    cr_assert_eq(stats_marginals_init(&mb, 1, &lo, &hi, 100, &err), 0);
    stats_marginals_add(&ma, a, COUNT);
    stats_marginals_add(&mb, b, COUNT);
    double w = stats_wasserstein(&ma, &mb, 0);
    double density[100], area = 0;
    stats_marginals_density(&ma, density);
    for (int q = 0; q < 100; q++) area += density[q] * 0.24;
    cr_assert_float_eq(area, 1, 1e-9, "marginal area %.12f", area);
    stats_marginals_free(&ma);
    stats_marginals_free(&mb);
    free(a);
    free(b);
    return w;
}

Test(stats, wasserstein_of_known_distributions) {
    double shifted = wasserstein_of(0.5, 1), wider = wasserstein_of(0, 2),
           same = wasserstein_of(0, 1);
    cr_assert(fabs(shifted / 0.5 - 1) < 0.01, "W₁(N(0,1), N(0.5,1)) = %.5f, exact 0.5", shifted);
    cr_assert(fabs(wider / sqrt(2 / M_PI) - 1) < 0.015, "W₁(N(0,1), N(0,4)) = %.5f, exact %.5f",
              wider, sqrt(2 / M_PI));
    cr_assert(same < 0.01, "W₁ of two samples of one law %.5f", same);
}

Test(stats, moments_skip_non_finite_samples) {
    const float z[] = {1, 2, 3, 6, NAN, 0, 5, 10, 1e30f * 1e30f, 1};
    struct stats_moments mo;
    stats_moments_init(&mo, 2);
    stats_moments_add(&mo, z, 5);
    double mean[2], cov[4];
    stats_moments_result(&mo, mean, cov);
    cr_assert_eq(mo.count, 3);
    cr_assert_float_eq(mean[0], 3, 1e-12);
    cr_assert_float_eq(mean[1], 6, 1e-12);
    cr_assert_float_eq(cov[0], 4, 1e-12);  /* var(1, 3, 5) */
    cr_assert_float_eq(cov[3], 16, 1e-12); /* var(2, 6, 10) */
    cr_assert_float_eq(cov[1], 8, 1e-12);
    cr_assert_float_eq(mo.min[1], 2, 0);
    cr_assert_float_eq(mo.max[0], 5, 0);
}
