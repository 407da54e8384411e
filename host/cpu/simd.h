/* simd.h — private to the CPU backend: one vector vocabulary over AVX-512 and AVX2, so each fast
 * path is written once and compiled once per instruction set (the Makefile defines
 * DDM_SIMD_AVX512 or DDM_SIMD_AVX2); tanh is SLEEF's vector tanhf (3.5 ulp).
 */
#ifndef DDM_SIMD_H
#define DDM_SIMD_H

#include <immintrin.h>
#include <sleef.h>

#if defined(DDM_SIMD_AVX512)
#define LANES 16
typedef __m512 vec;
#define vec_zero()       _mm512_setzero_ps()
#define vec_set1(v)      _mm512_set1_ps(v)
#define vec_load(p)      _mm512_load_ps(p)
#define vec_store(p, v)  _mm512_store_ps(p, v)
#define vec_fma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vec_add(a, b)    _mm512_add_ps(a, b)
#define vec_mul(a, b)    _mm512_mul_ps(a, b)
#define vec_tanh(v)      Sleef_tanhf16_u35avx512f(v)
#define vec_sum(v)       _mm512_reduce_add_ps(v)
#elif defined(DDM_SIMD_AVX2)
#define LANES            8
typedef __m256 vec;
#define vec_zero()       _mm256_setzero_ps()
#define vec_set1(v)      _mm256_set1_ps(v)
#define vec_load(p)      _mm256_load_ps(p)
#define vec_store(p, v)  _mm256_store_ps(p, v)
#define vec_fma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vec_add(a, b)    _mm256_add_ps(a, b)
#define vec_mul(a, b)    _mm256_mul_ps(a, b)
#define vec_tanh(v)      Sleef_tanhf8_u35avx2(v)
static inline float vec_sum(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}
#else
#error "compile with -DDDM_SIMD_AVX512 or -DDDM_SIMD_AVX2 (see the Makefile)"
#endif

#endif
