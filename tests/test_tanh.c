/* test_tanh.c — the vector tanh of the fast CPU paths (host/cpu/simd.h) against libm.
 *
 * The promise (docs/performance.md): relative error ≤ 1e-6 for every float, tanh(0) = 0 with its
 * sign, NaN in gives NaN out, ±inf give ±1 within that error, odd symmetry exact. Every float of
 * [−10, 10] and every other float is checked by scripts/bench/tanh_check.c (`make tanh-check`,
 * minutes); here a prime stride through the bit patterns of [−10, 10] (about 5·10⁵ floats, every
 * exponent), the floats of [−2⁻¹⁰, 2⁻¹⁰] near the cancellation-prone origin in a second stride,
 * the tails, denormals and the special values, so that each test stays well under a second.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../host/cpu/tanh_fast.h"

static int cpu_has(const char *feature) {
    __builtin_cpu_init();
    return !strcmp(feature, "avx512f")
               ? __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static float from_bits(uint32_t bits) {
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* Bit patterns lo, lo+stride, ... ≤ hi of both signs into xs; returns the count. */
static long fill(float *xs, long at, uint32_t lo, uint32_t hi, uint32_t stride) {
    for (uint64_t bits = lo; bits <= hi; bits += stride) {
        xs[at++] = from_bits((uint32_t)bits);
        xs[at++] = -from_bits((uint32_t)bits);
    }
    return at;
}

/* Max relative error against tanh in double over xs; asserts the exact cases on the way. */
static double worst_error(tanh_array_fn tanh_fn, const float *xs, long count, float *where) {
    float *ys = malloc(sizeof(float) * count);
    cr_assert(ys);
    tanh_fn(count, xs, ys);
    double worst = 0;
    for (long i = 0; i < count; i++) {
        const double exact = tanh((double)xs[i]);
        if (exact == 0) {
            cr_assert(ys[i] == 0 && signbit(ys[i]) == signbit(xs[i]), "tanh(%a) = %a", xs[i],
                      ys[i]);
            continue;
        }
        const double error = fabs(ys[i] - exact) / fabs(exact);
        if (!(error <= worst)) { /* also catches a NaN */
            worst = isnan(error) ? INFINITY : error;
            *where = xs[i];
        }
    }
    free(ys);
    return worst;
}

static void check(tanh_array_fn tanh_fn, const char *feature) {
    if (!cpu_has(feature)) cr_skip_test("this CPU has no %s", feature);
    const uint32_t ten = 0x41200000u, small = 0x3a800000u; /* 10.0f, 2^-10 */
    const long cap = 2 * ((ten / 4093 + 2) + (small / 8191 + 2) + (0x7f7fffffu - ten) / 65521 + 2);
    float *xs = malloc(sizeof(float) * cap);
    cr_assert(xs);
    long count = fill(xs, 0, 0, ten, 4093);  /* [−10, 10]: 0, denormals, every exponent */
    count = fill(xs, count, 1, small, 8191); /* near 0, where x P/Q must stay relative */
    count = fill(xs, count, ten, 0x7f7fffffu, 65521); /* the tails up to FLT_MAX */
    cr_assert(count <= cap);
    float where = 0;
    double worst = worst_error(tanh_fn, xs, count, &where);
    cr_assert(worst <= 1e-6, "%s: max relative error %.3g at x = %.9g over %ld floats", feature,
              worst, where, count);
    /* odd symmetry, exactly, on the same points */
    float *ys = malloc(sizeof(float) * count);
    tanh_fn(count, xs, ys);
    for (long i = 0; i + 1 < count; i += 2)
        cr_assert(ys[i + 1] == -ys[i], "tanh(-x) = %a, tanh(x) = %a at x = %a", ys[i + 1], ys[i],
                  xs[i]);
    free(ys);
    free(xs);
    const float special[] = {0.0f, -0.0f,   INFINITY, -INFINITY, NAN,
                             -NAN, FLT_MAX, -FLT_MAX, FLT_MIN,   FLT_TRUE_MIN};
    float out[10];
    tanh_fn(10, special, out);
    cr_assert(out[0] == 0 && !signbit(out[0]) && out[1] == 0 && signbit(out[1]), "±0");
    cr_assert(fabsf(out[2] - 1) <= 1e-6f && fabsf(out[3] + 1) <= 1e-6f, "±inf: %a %a", out[2],
              out[3]);
    cr_assert(isnan(out[4]) && isnan(out[5]), "NaN in, NaN out: %a %a", out[4], out[5]);
    cr_assert(fabsf(out[6] - 1) <= 1e-6f && fabsf(out[7] + 1) <= 1e-6f, "±FLT_MAX");
    cr_assert(out[8] == FLT_MIN && out[9] == FLT_TRUE_MIN, "tanh x = x below 2^-12");
}

Test(tanh, rational_avx512_within_1e6_of_libm) {
    check(tanh_array_avx512, "avx512f");
}
Test(tanh, rational_avx2_within_1e6_of_libm) {
    check(tanh_array_avx2, "avx2");
}
/* SLEEF's, kept as DDM_CPU_TANH=sleef, under the same test */
Test(tanh, sleef_avx512_within_1e6_of_libm) {
    check(tanh_array_avx512_sleef, "avx512f");
}
