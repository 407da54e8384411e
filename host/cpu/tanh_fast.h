/* tanh_fast.h — private to the CPU backend: the vector tanh of the fast paths (simd.h) applied to
 * an array, one version per instruction set and tanh (tanh_simd.c). */
#ifndef DDM_TANH_FAST_H
#define DDM_TANH_FAST_H

typedef void (*tanh_array_fn)(long count, const float *in, float *out);
void tanh_array_avx512(long count, const float *in, float *out);
void tanh_array_avx2(long count, const float *in, float *out);
void tanh_array_avx512_sleef(long count, const float *in, float *out);
void tanh_array_avx2_sleef(long count, const float *in, float *out);

#endif
