/* tanh_simd.c — the vector tanh of the fast paths over an array, for its tests (tests/test_tanh.c)
 * and the exhaustive check (scripts/bench/tanh_check.c). Compiled per instruction set and tanh
 * like the other *_simd.c: tanh_array_avx512, _avx2, _avx512_sleef, _avx2_sleef. */
#include <string.h>

#include "simd.h"
#include "tanh_fast.h"

void SIMD_NAME(tanh_array)(long count, const float *in, float *out) {
    long i = 0;
    for (; i + LANES <= count; i += LANES) {
        float lane[LANES] __attribute__((aligned(64)));
        memcpy(lane, in + i, sizeof lane);
        vec_store(lane, vec_tanh(vec_load(lane)));
        memcpy(out + i, lane, sizeof lane);
    }
    if (i < count) { /* the tail through a padded vector */
        float lane[LANES] __attribute__((aligned(64))) = {0};
        memcpy(lane, in + i, sizeof(float) * (count - i));
        vec_store(lane, vec_tanh(vec_load(lane)));
        memcpy(out + i, lane, sizeof(float) * (count - i));
    }
}
