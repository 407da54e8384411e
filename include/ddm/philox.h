/* philox.h — counter-based Philox4x32-10 noise, keyed by (seed, trajectory, step).
 *
 * The public Philox4x32-10 bijection (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC'11) maps a 128-bit counter and a 64-bit key to 4 independent 32-bit words. Because it is
 * a pure function, the noise of trajectory j at step t can be computed anywhere, in any order:
 * a shard of trajectories reproduces exactly its part of the full ensemble, and the CPU and GPU
 * backends draw the same numbers. The layout is the one of cuRAND's device API, so that
 * curand_init(seed, j, 4*g, &s); curand_normal4(&s) gives normal group g of trajectory j:
 *     key = (seed_lo, seed_hi), counter = (g_lo, g_hi, j_lo, j_hi).
 * Normals use cuRAND's Box–Muller on the pairs (w0, w1) and (w2, w3). tests/test_philox.c checks
 * the bijection word for word against cuRAND's host generator where libcurand is available.
 */
#ifndef DDM_PHILOX_H
#define DDM_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define DDM_HD __host__ __device__ __forceinline__
#else
#define DDM_HD static inline
#endif

struct philox_words {
    uint32_t w[4];
};

/* Weyl increments of the key and round multipliers of Philox4x32 (from the paper). */
#define PHILOX_KEY_BUMP_0 0x9E3779B9u
#define PHILOX_KEY_BUMP_1 0xBB67AE85u
#define PHILOX_MULT_0     0xD2511F53u
#define PHILOX_MULT_1     0xCD9E8D57u

DDM_HD struct philox_words philox4x32_10(struct philox_words counter, uint64_t key) {
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    uint32_t c0 = counter.w[0], c1 = counter.w[1], c2 = counter.w[2], c3 = counter.w[3];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_MULT_0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_MULT_1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_KEY_BUMP_0;
        k1 += PHILOX_KEY_BUMP_1;
    }
    struct philox_words out = {{c0, c1, c2, c3}};
    return out;
}

/* The four words of group `group` in stream `subsequence` (cuRAND device-API layout). */
DDM_HD struct philox_words philox_block(uint64_t seed, uint64_t subsequence, uint64_t group) {
    struct philox_words counter = {{(uint32_t)group, (uint32_t)(group >> 32), (uint32_t)subsequence,
                                    (uint32_t)(subsequence >> 32)}};
    return philox4x32_10(counter, seed);
}

/* cuRAND's mapping of 32-bit words to (0, 1]: never 0, so log is finite. */
#define PHILOX_2POW32_INV     2.3283064e-10f
#define PHILOX_2POW32_INV_2PI 1.4629181e-09f

/* Two standard normals from two words (Box–Muller, as cuRAND's _curand_box_muller). */
DDM_HD void philox_box_muller(uint32_t a, uint32_t b, float *first, float *second) {
    float u = a * PHILOX_2POW32_INV + PHILOX_2POW32_INV / 2.0f;
    float v = b * PHILOX_2POW32_INV_2PI + PHILOX_2POW32_INV_2PI / 2.0f;
    float radius = sqrtf(-2.0f * logf(u));
    *first = sinf(v) * radius;
    *second = cosf(v) * radius;
}

/* Four standard normals: group `group` of stream `subsequence`. */
DDM_HD void philox_normal4(uint64_t seed, uint64_t subsequence, uint64_t group, float out[4]) {
    struct philox_words r = philox_block(seed, subsequence, group);
    philox_box_muller(r.w[0], r.w[1], &out[0], &out[1]);
    philox_box_muller(r.w[2], r.w[3], &out[2], &out[3]);
}

/* Fills noise (count) with the normals of step `step`, using ceil(count/4) groups per step:
 * the contract shared by both backends for the m-dimensional latent noise ξ of one trajectory. */
DDM_HD void philox_step_normals(uint64_t seed, uint64_t trajectory, uint64_t step, int count,
                                float *noise) {
    int groups = (count + 3) / 4;
    for (int g = 0; g < groups; g++) {
        float four[4];
        philox_normal4(seed, trajectory, step * (uint64_t)groups + (uint64_t)g, four);
        for (int i = 0; i < 4 && 4 * g + i < count; i++) noise[4 * g + i] = four[i];
    }
}

/* A uniform double in [0, 1) from one group (53 random bits), for initialisation and sampling. */
DDM_HD double philox_uniform(uint64_t seed, uint64_t subsequence, uint64_t index) {
    struct philox_words r = philox_block(seed, subsequence, index);
    uint64_t bits = ((uint64_t)r.w[0] << 21) ^ (uint64_t)r.w[1];
    return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* A standard normal in double precision (Box–Muller on two 53-bit uniforms). */
DDM_HD double philox_gaussian(uint64_t seed, uint64_t subsequence, uint64_t index) {
    struct philox_words r = philox_block(seed, subsequence, index);
    uint64_t a = (((uint64_t)r.w[0] << 21) ^ r.w[1]) & ((1ull << 53) - 1);
    uint64_t b = (((uint64_t)r.w[2] << 21) ^ r.w[3]) & ((1ull << 53) - 1);
    double u = (a + 0.5) * (1.0 / 9007199254740992.0);
    double v = (b + 0.5) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Independent streams for the different uses of randomness, derived from the user's seed by the
 * splitmix64 finaliser, so that e.g. the training jitter never correlates with the network noise.
 */
enum ddm_stream {
    DDM_STREAM_LATENT_NOISE = 1, /* ξ of the network and of the coupled target */
    DDM_STREAM_NEURON_NOISE = 2, /* independent per-neuron noise η */
    DDM_STREAM_INIT_WEIGHTS = 3, /* Γ̂ and b at initialisation */
    DDM_STREAM_TRAIN_PATHS = 4,  /* target paths that give the training points */
    DDM_STREAM_TRAIN_POINTS = 5, /* jitter, box points, test split, mini-batch order */
    DDM_STREAM_SIM_START = 6,    /* starting points of the simulated trajectories */
    DDM_STREAM_ANALYSIS = 7,     /* the analysis' own simulations (PCA states) */
    DDM_STREAM_FRESH_PATHS = 8,  /* independent target paths that check ε_f after training */
    DDM_STREAM_CHOICE_PATHS = 9, /* independent target paths that judge Gauss–Newton rounds */
};

DDM_HD uint64_t ddm_stream_seed(uint64_t seed, enum ddm_stream stream) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)stream;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
