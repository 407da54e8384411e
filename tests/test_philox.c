/* test_philox.c — the keyed Philox4x32-10 noise (include/ddm/philox.h).
 *
 * The bijection is checked word for word against cuRAND's own host generator (loaded at run time,
 * so the test needs no CUDA link; skipped where libcurand is absent), the normals against their
 * moments, and the keying: streams of different trajectories or seeds must not coincide.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>

#include "ddm/philox.h"

typedef int (*create_fn)(void **, int);
typedef int (*seed_fn)(void *, unsigned long long);
typedef int (*generate_fn)(void *, unsigned int *, size_t);
typedef int (*normal_fn)(void *, float *, size_t, float, float);
typedef int (*destroy_fn)(void *);
enum { CURAND_PHILOX4_32_10 = 161 }; /* CURAND_RNG_PSEUDO_PHILOX4_32_10 in curand.h */

static void *open_curand(void) {
    const char *names[] = {"libcurand.so", "libcurand.so.10", "/usr/local/cuda/lib64/libcurand.so"};
    for (int i = 0; i < 3; i++) {
        void *lib = dlopen(names[i], RTLD_NOW);
        if (lib) return lib;
    }
    return NULL;
}

Test(philox, matches_curand_host_generator) {
    void *lib = open_curand();
    if (!lib) cr_skip_test("libcurand not found: cannot compare with cuRAND");
    create_fn create = (create_fn)dlsym(lib, "curandCreateGeneratorHost");
    seed_fn set_seed = (seed_fn)dlsym(lib, "curandSetPseudoRandomGeneratorSeed");
    generate_fn generate = (generate_fn)dlsym(lib, "curandGenerate");
    destroy_fn destroy = (destroy_fn)dlsym(lib, "curandDestroyGenerator");
    cr_assert(create && set_seed && generate && destroy);
    const unsigned long long seeds[] = {0, 1234, 0xDEADBEEFCAFEF00Dull};
    for (int s = 0; s < 3; s++) {
        void *gen = NULL;
        cr_assert_eq(create(&gen, CURAND_PHILOX4_32_10), 0);
        cr_assert_eq(set_seed(gen, seeds[s]), 0);
        enum { WORDS = 4096 };
        static unsigned int words[WORDS];
        cr_assert_eq(generate(gen, words, WORDS), 0);
        /* the host generator emulates many GPU threads, thread i = subsequence i: its first
         * four words are group 0 of subsequence i, i.e. counter (0, 0, i_lo, i_hi) — which checks
         * both the bijection and where the trajectory index sits in the counter */
        for (int i = 0; i < WORDS / 4; i++) {
            struct philox_words r = philox_block(seeds[s], (uint64_t)i, 0);
            for (int w = 0; w < 4; w++)
                cr_assert_eq(r.w[w], words[4 * i + w], "seed %llu word %d: %u vs cuRAND %u",
                             seeds[s], 4 * i + w, r.w[w], words[4 * i + w]);
        }
        destroy(gen);
    }
    /* no dlclose: libcurand pulls in libstdc++, whose start-up allocation would look leaked to
     * LeakSanitizer once the library is unmapped */
}

Test(philox, normals_have_unit_moments) {
    enum { COUNT = 400000 };
    double sum = 0, sum2 = 0, sum4 = 0;
    for (int i = 0; i < COUNT / 4; i++) {
        float four[4];
        philox_normal4(42, 3, (uint64_t)i, four);
        for (int j = 0; j < 4; j++) {
            sum += four[j];
            sum2 += (double)four[j] * four[j];
            sum4 += pow(four[j], 4);
        }
    }
    double mean = sum / COUNT, var = sum2 / COUNT - mean * mean, kurt = sum4 / COUNT;
    /* standard errors: mean 1/√N = 0.0016, variance √(2/N) = 0.0022, 4th moment √(96/N) = 0.015 */
    cr_expect(fabs(mean) < 0.008, "mean %g", mean);
    cr_expect(fabs(var - 1) < 0.011, "variance %g", var);
    cr_expect(fabs(kurt - 3) < 0.08, "fourth moment %g", kurt);
}

Test(philox, step_normals_are_keyed_by_trajectory_and_step) {
    float a[5], b[5], c[5], again[5];
    philox_step_normals(7, 10, 100, 5, a);
    philox_step_normals(7, 11, 100, 5, b); /* next trajectory */
    philox_step_normals(7, 10, 101, 5, c); /* next step */
    philox_step_normals(7, 10, 100, 5, again);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(a[i], again[i], "the same key must give the same numbers");
        cr_assert_neq(a[i], b[i]);
        cr_assert_neq(a[i], c[i]);
    }
    /* 5 normals use 2 groups per step: step 100 uses groups 200, 201 of stream 10 */
    float group[4];
    philox_normal4(7, 10, 201, group);
    cr_assert_eq(a[4], group[0]);
}

Test(philox, stream_seeds_differ_per_use) {
    uint64_t latent = ddm_stream_seed(1, DDM_STREAM_LATENT_NOISE);
    uint64_t neuron = ddm_stream_seed(1, DDM_STREAM_NEURON_NOISE);
    uint64_t other_seed = ddm_stream_seed(2, DDM_STREAM_LATENT_NOISE);
    cr_assert_neq(latent, neuron);
    cr_assert_neq(latent, other_seed);
    cr_assert_eq(latent, ddm_stream_seed(1, DDM_STREAM_LATENT_NOISE));
}

Test(philox, uniforms_cover_the_unit_interval) {
    enum { COUNT = 100000, BINS = 10 };
    int hist[BINS] = {0};
    for (int i = 0; i < COUNT; i++) {
        double u = philox_uniform(5, 0, (uint64_t)i);
        cr_assert(u >= 0 && u < 1);
        hist[(int)(u * BINS)]++;
    }
    for (int b = 0; b < BINS; b++) /* expected 10000 ± 95 */
        cr_expect(abs(hist[b] - COUNT / BINS) < 500, "bin %d has %d", b, hist[b]);
}
