/* simd.h — private to the CPU backend: one vector vocabulary over AVX-512 and AVX2, so each fast
 * path is written once and compiled once per instruction set and tanh (the Makefile defines
 * DDM_SIMD_AVX512 or DDM_SIMD_AVX2, and DDM_TANH_SLEEF for the SLEEF versions). tanh is the
 * rational vec_tanh_rational below (max relative error < 1e-6 over all floats, tests/test_tanh.c),
 * or SLEEF's vector tanhf (3.5 ulp) with DDM_TANH_SLEEF. SIMD_NAME(f) names f's version.
 */
#ifndef DDM_SIMD_H
#define DDM_SIMD_H

#include <immintrin.h>
#include <sleef.h>

#if defined(DDM_SIMD_AVX512)
#define LANES 16
typedef __m512 vec;
#define vec_zero()        _mm512_setzero_ps()
#define vec_set1(v)       _mm512_set1_ps(v)
#define vec_load(p)       _mm512_load_ps(p)
#define vec_store(p, v)   _mm512_store_ps(p, v)
#define vec_fma(a, b, c)  _mm512_fmadd_ps(a, b, c)
#define vec_add(a, b)     _mm512_add_ps(a, b)
#define vec_mul(a, b)     _mm512_mul_ps(a, b)
#define vec_tanh_sleef(v) Sleef_tanhf16_u35avx512f(v)
#define vec_min(a, b)     _mm512_min_ps(a, b)
#define vec_max(a, b)     _mm512_max_ps(a, b)
#define vec_rcp(v)        _mm512_rcp14_ps(v) /* relative error < 2^-14 */
#define vec_fnma(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define SIMD_SUFFIX       avx512
#define vec_sum(v)        _mm512_reduce_add_ps(v)
/* Lane j of the result is the sum of v[j]'s 16 lanes: a transpose folded into the additions,
 * 45 operations for 16 sums where 16 vec_sum take about 130. Pairs are added within 128-bit
 * quarters (unpack, then 2-of-4 shuffles), then the quarters across vectors (f32x4 shuffles). */
static inline __m512 vec_sum_each(const __m512 *v) {
    __m512 pair[8], quad[4], half[2];
    for (int j = 0; j < 8; j++)
        pair[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]),
                                _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
    for (int j = 0; j < 4; j++)
        quad[j] = _mm512_add_ps(_mm512_shuffle_ps(pair[2 * j], pair[2 * j + 1], 0x44),
                                _mm512_shuffle_ps(pair[2 * j], pair[2 * j + 1], 0xEE));
    for (int j = 0; j < 2; j++)
        half[j] = _mm512_add_ps(_mm512_shuffle_f32x4(quad[2 * j], quad[2 * j + 1], 0x44),
                                _mm512_shuffle_f32x4(quad[2 * j], quad[2 * j + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(half[0], half[1], 0x88),
                         _mm512_shuffle_f32x4(half[0], half[1], 0xDD));
}
#elif defined(DDM_SIMD_AVX2)
#define LANES             8
typedef __m256 vec;
#define vec_zero()        _mm256_setzero_ps()
#define vec_set1(v)       _mm256_set1_ps(v)
#define vec_load(p)       _mm256_load_ps(p)
#define vec_store(p, v)   _mm256_store_ps(p, v)
#define vec_fma(a, b, c)  _mm256_fmadd_ps(a, b, c)
#define vec_add(a, b)     _mm256_add_ps(a, b)
#define vec_mul(a, b)     _mm256_mul_ps(a, b)
#define vec_tanh_sleef(v) Sleef_tanhf8_u35avx2(v)
#define vec_min(a, b)     _mm256_min_ps(a, b)
#define vec_max(a, b)     _mm256_max_ps(a, b)
#define vec_rcp(v)        _mm256_rcp_ps(v) /* relative error < 1.5 · 2^-12 */
#define vec_fnma(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define SIMD_SUFFIX       avx2
static inline float vec_sum(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}
/* Lane j of the result is the sum of v[j]'s 8 lanes (see the AVX-512 version): 21 operations. */
static inline __m256 vec_sum_each(const __m256 *v) {
    __m256 pair[4], quad[2];
    for (int j = 0; j < 4; j++)
        pair[j] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * j], v[2 * j + 1]),
                                _mm256_unpackhi_ps(v[2 * j], v[2 * j + 1]));
    for (int j = 0; j < 2; j++)
        quad[j] = _mm256_add_ps(_mm256_shuffle_ps(pair[2 * j], pair[2 * j + 1], 0x44),
                                _mm256_shuffle_ps(pair[2 * j], pair[2 * j + 1], 0xEE));
    return _mm256_add_ps(_mm256_permute2f128_ps(quad[0], quad[1], 0x20),
                         _mm256_permute2f128_ps(quad[0], quad[1], 0x31));
}
#else
#error "compile with -DDDM_SIMD_AVX512 or -DDDM_SIMD_AVX2 (see the Makefile)"
#endif

#define SIMD_GLUE(f, isa, tail)    f##_##isa##tail
#define SIMD_NAME_OF(f, isa, tail) SIMD_GLUE(f, isa, tail)
#ifdef DDM_TANH_SLEEF
#define SIMD_NAME(f) SIMD_NAME_OF(f, SIMD_SUFFIX, _sleef)
#define vec_tanh(v)  vec_tanh_sleef(v)
#else
#define SIMD_NAME(f) SIMD_NAME_OF(f, SIMD_SUFFIX, )
#define vec_tanh(v)  vec_tanh_rational(v)
#endif

/* tanh x ≈ x P(x²) / Q(x²) on |x| ≤ 9, P of degree 5 and Q of degree 3 with Q(0) = 1: the
 * minimax fit of the relative error on [0, 9] (7.96e-8 in exact arithmetic; 1 − tanh 9 =
 * 3.05e-8 beyond). x is clamped to ±9 first, with x as the second operand of max/min so a NaN
 * passes through (±inf give ±tanh 9 = ±0.99999994); P(0) ≈ 1 keeps denormals exact. 1/Q is one
 * Newton step from the hardware estimate. 14 vector operations against SLEEF's ~40. */
static inline vec vec_tanh_rational(vec x) {
    x = vec_min(vec_set1(9.0f), vec_max(vec_set1(-9.0f), x));
    const vec s = vec_mul(x, x);
    vec p = vec_fma(vec_set1(1.883197995e-11f), s, vec_set1(-1.304113896e-08f));
    p = vec_fma(p, s, vec_set1(9.366427147e-06f));
    p = vec_fma(p, s, vec_set1(2.932658311e-03f));
    p = vec_fma(p, s, vec_set1(1.293073073e-01f));
    p = vec_fma(p, s, vec_set1(9.999999332e-01f));
    vec q = vec_fma(vec_set1(2.296801430e-04f), s, vec_set1(2.381315762e-02f));
    q = vec_fma(q, s, vec_set1(4.626404602e-01f));
    q = vec_fma(q, s, vec_set1(1.0f));
    vec r = vec_rcp(q);
    r = vec_fma(r, vec_fnma(q, r, vec_set1(1.0f)), r); /* r (2 − q r) */
    return vec_mul(vec_mul(x, p), r);
}

#endif
