/* tanh_check.c — the vector tanh of the fast CPU paths at EVERY float, against libm's tanh in
 * double: max relative and absolute error over [−10, 10] and over the tails |x| > 10, NaN and
 * ±inf, for the rational tanh and SLEEF's, on each instruction set this CPU has. `make tanh-check`
 * runs it (minutes on two cores, so not in CI); tests/test_tanh.c checks a stride of the same
 * floats. Usage: build/bench/tanh_check
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../host/cpu/tanh_fast.h"
#include "ddm/threads.h"

enum { CHUNK = 1 << 16, VERSIONS = 4 };

struct error {
    double rel, abs;
    float rel_at;
    long nan_wrong;
};

/* Errors of the four versions over the bit patterns [lo, hi] of one sign. */
static void scan(uint32_t lo, uint32_t hi, const tanh_array_fn *fns, const int *usable,
                 struct error *errs) {
#pragma omp parallel
    {
        struct error mine[VERSIONS];
        memset(mine, 0, sizeof mine);
        static float xs[64][CHUNK], ys[64][CHUNK];
        float *x = xs[omp_get_thread_num() % 64], *y = ys[omp_get_thread_num() % 64];
        double exact[CHUNK];
#pragma omp for schedule(dynamic)
        for (int64_t start = lo; start <= (int64_t)hi; start += CHUNK) {
            int count = (int64_t)hi - start + 1 < CHUNK ? (int)((int64_t)hi - start + 1) : CHUNK;
            for (int i = 0; i < count; i++) {
                uint32_t bits = (uint32_t)(start + i);
                memcpy(&x[i], &bits, sizeof bits);
                exact[i] = tanh((double)x[i]);
            }
            for (int v = 0; v < VERSIONS; v++) {
                if (!usable[v]) continue;
                fns[v](count, x, y);
                for (int i = 0; i < count; i++) {
                    if (isnan(x[i]) || isnan(y[i])) {
                        mine[v].nan_wrong += isnan(x[i]) != isnan(y[i]);
                        continue;
                    }
                    double abs_err = fabs(y[i] - exact[i]);
                    double rel = exact[i] ? abs_err / fabs(exact[i]) : (y[i] ? INFINITY : 0);
                    if (rel > mine[v].rel) mine[v].rel = rel, mine[v].rel_at = x[i];
                    if (abs_err > mine[v].abs) mine[v].abs = abs_err;
                }
            }
        }
#pragma omp critical
        for (int v = 0; v < VERSIONS; v++) {
            if (mine[v].rel > errs[v].rel)
                errs[v].rel = mine[v].rel, errs[v].rel_at = mine[v].rel_at;
            if (mine[v].abs > errs[v].abs) errs[v].abs = mine[v].abs;
            errs[v].nan_wrong += mine[v].nan_wrong;
        }
    }
}

int main(int argc, char **argv) {
    (void)argc;
    threads_wait_policy_reexec(argv);
    const char *names[VERSIONS] = {"rational AVX-512", "rational AVX2", "SLEEF AVX-512",
                                   "SLEEF AVX2"};
    const tanh_array_fn fns[VERSIONS] = {tanh_array_avx512, tanh_array_avx2,
                                         tanh_array_avx512_sleef, tanh_array_avx2_sleef};
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int usable[VERSIONS] = {avx512, avx2, avx512, avx2};
    const uint32_t ten = 0x41200000u;
    struct error inside[VERSIONS] = {0}, tails[VERSIONS] = {0};
    double t0 = omp_get_wtime();
    scan(0, ten, fns, usable, inside);                              /* [0, 10] */
    scan(0x80000000u, 0x80000000u | ten, fns, usable, inside);      /* [−10, −0] */
    scan(ten + 1, 0x7fffffffu, fns, usable, tails);                 /* (10, inf], NaNs */
    scan(0x80000000u | (ten + 1), 0xffffffffu, fns, usable, tails); /* [−inf, −10), NaNs */
    printf("tanh-check: every float (4294967296 bit patterns) against tanh() in double, %.1f s, "
           "%d threads\n",
           omp_get_wtime() - t0, omp_get_max_threads());
    for (int v = 0; v < VERSIONS; v++) {
        if (!usable[v]) {
            printf("tanh-check %-17s skipped: this CPU lacks the instruction set\n", names[v]);
            continue;
        }
        printf("tanh-check %-17s [-10,10]: max rel %.3g (at x = %.9g), max abs %.3g · |x|>10: "
               "max rel %.3g, max abs %.3g · NaN in/out mismatches %ld\n",
               names[v], inside[v].rel, inside[v].rel_at, inside[v].abs, tails[v].rel, tails[v].abs,
               inside[v].nan_wrong + tails[v].nan_wrong);
    }
    return 0;
}
