/* warp_reduce.cuh — the warp transpose reduction (include/ddm/kernel_math.h, tr_*) on the device.
 *
 * P values per lane (P = tr_padded(N), compile time) are summed over the 32 lanes of a warp with
 * P − 1 shuffles per chunk of 32: at each xor-level a lane keeps half its values and trades the
 * other half. The order of every addition is fixed, so the result is deterministic and equals
 * the host emulation in tests/test_kernel_logic.c bit for bit (up to FMA contraction, none here).
 */
#ifndef DDM_WARP_REDUCE_CUH
#define DDM_WARP_REDUCE_CUH

#include "ddm/kernel_math.h"

__device__ __forceinline__ float tr_send_any(const float *v, int j, int half, int upper) {
    return tr_send(v, j, half, upper);
}
__device__ __forceinline__ float tr_keep_any(const float *v, int j, int half, int upper) {
    return tr_keep(v, j, half, upper);
}
__device__ __forceinline__ double tr_send_any(const double *v, int j, int half, int upper) {
    return tr_send_d(v, j, half, upper);
}
__device__ __forceinline__ double tr_keep_any(const double *v, int j, int half, int upper) {
    return tr_keep_d(v, j, half, upper);
}

/* The levels from xor-offset D down to 1, a lane holding COUNT values of w. */
template <int COUNT, int D, typename T> __device__ __forceinline__ void tr_levels(T *w, int lane) {
    if constexpr (D >= 1) {
        constexpr int PAIRS = tr_pairs(COUNT), HALF = COUNT > 1 ? COUNT / 2 : 0;
        const int upper = tr_upper(lane, D);
        T send[PAIRS];
#pragma unroll
        for (int j = 0; j < PAIRS; j++) send[j] = tr_send_any(w, j, HALF, upper);
#pragma unroll
        for (int j = 0; j < PAIRS; j++)
            w[j] = tr_keep_any(w, j, HALF, upper) + __shfl_xor_sync(0xffffffffu, send[j], D);
        tr_levels<PAIRS, D / 2>(w, lane);
    }
}

/* Reduces v (P values per lane) over the warp and stores each total of the N real values into
 * out[index · stride] (index < N) from the one lane that tr_result_index names. */
template <int N, typename T>
__device__ __forceinline__ void warp_reduce_store(T *v, int lane, T *out, int stride = 1) {
    constexpr int P = tr_padded(N), CHUNK = tr_chunk(P);
#pragma unroll
    for (int chunk = 0; chunk < P / CHUNK; chunk++) {
        tr_levels<CHUNK, SIM_WARP / 2>(v + chunk * CHUNK, lane);
        int index = tr_result_index(lane, chunk, P, N);
        if (index >= 0) out[index * stride] = v[chunk * CHUNK];
    }
}

#endif
