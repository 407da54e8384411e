/* bench_ddm.c — throughput of every backend of this build, in machine-readable lines for
 * scripts/bench/run_bench.py, which runs the PyTorch and JAX peers beside it (docs/design.md §8).
 *
 * Simulation: neuron-steps/s of Euler–Maruyama (k = 3, m = 3, constant Ŝ, dt = 1e-3, τ = 1, one
 * read-out per block) for B × n; training: seconds per Adam epoch over M points in batches of
 * 1024. On a GPU also the device's FP32 and tanh-unit peaks, for the roofline fractions.
 * Usage: bench_ddm [--quick] [--seconds S] [--backends cpu,cuda] [--sizes B:n,...]
 *                  [--train-n n,...] [--M points]   (the peers' options: run_bench.py)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ddm/threads.h"
#include "ddm/ops_cuda.h"

enum { MAX_SIZES = 32 };

/* "B:n,B:n,..." or "n,n,..." (pair = 0) into at most MAX_SIZES entries; the count, or −1. */
static int parse_list(const char *text, int pair, int *Bs, int *ns) {
    int count = 0;
    for (const char *at = text; *at && count < MAX_SIZES; count++) {
        char *end;
        long first = strtol(at, &end, 10), second = 0;
        if (pair && *end == ':') second = strtol(end + 1, &end, 10);
        if (first < 1 || (pair && second < 1) || (*end && *end != ',')) return -1;
        if (pair)
            Bs[count] = (int)first, ns[count] = (int)second;
        else
            ns[count] = (int)first;
        at = *end ? end + 1 : end;
    }
    return count;
}

static const char *usage = "usage: bench_ddm [--quick] [--seconds S] [--backends cpu,cuda] "
                           "[--sizes B:n,...] [--train-n n,...] [--M points]\n";

int main(int argc, char **argv) {
    threads_wait_policy_reexec(argv); /* the engine's wait policy (docs/performance.md) */
    double seconds = 1.0;
    int quick = 0, M = 0, sim_B[MAX_SIZES], sim_n[MAX_SIZES], train_n[MAX_SIZES];
    int sims = -2, trains = -2; /* −2: the default grid */
    const char *wanted = "cpu,cuda";
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--seconds") && has_value)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--backends") && has_value)
            wanted = argv[++i];
        else if (!strcmp(argv[i], "--sizes") && has_value)
            sims = parse_list(argv[++i], 1, sim_B, sim_n);
        else if (!strcmp(argv[i], "--train-n") && has_value)
            trains = parse_list(argv[++i], 0, NULL, train_n);
        else if (!strcmp(argv[i], "--M") && has_value)
            M = atoi(argv[++i]);
        else {
            fprintf(stderr, "%s", usage);
            return 2;
        }
        if (sims == -1 || trains == -1 || M < 0) {
            fprintf(stderr, "bench_ddm: %s %s: expected positive integers\n%s", argv[i - 1],
                    argv[i], usage);
            return 2;
        }
    }
    const int Bs[] = {256, 4096, 16384}, ns[] = {64, 512, 1024}, k = 3;
    if (sims == -2) { /* the default grid: B × n */
        sims = 0;
        for (int i = 0; i < (quick ? 2 : 3); i++)
            for (int j = 0; j < (quick ? 2 : 3); j++) sim_B[sims] = Bs[i], sim_n[sims++] = ns[j];
    }
    if (trains == -2)
        for (trains = 0; trains < (quick ? 2 : 3); trains++) train_n[trains] = ns[trains];
    if (M == 0) M = quick ? 16384 : 65536;
    const struct ddm_backend *backends[2] = {NULL, NULL};
    if (strstr(wanted, "cpu")) backends[0] = backend_cpu(0);
    struct ddm_error err = {0};
    if (strstr(wanted, "cuda")) {
        backends[1] = backend_cuda(0, &err);
        if (!backends[1]) printf("ddm-bench skip backend=cuda reason=\"%s\"\n", err.message);
    }
    for (int b = 0; b < 2; b++) {
        const struct ddm_backend *be = backends[b];
        if (!be) continue;
        printf("ddm-bench backend name=%s device=\"%s\"\n", be->name, be->device);
#ifdef DDM_WITH_CUDA
        struct cuda_device_info info;
        if (b == 1 && !cuda_device_info(0, &info))
            printf("ddm-bench peak backend=cuda fp32_flops=%.4g tanh_rate=%.4g bytes_per_s=%.4g\n",
                   info.fp32_flops, info.tanh_rate, info.bytes_per_second);
#endif
        for (int q = 0; q < sims; q++) {
            struct ddm_model model;
            random_model(&model, sim_n[q], k);
            double rate = sim_rate(be, &model, sim_B[q], seconds);
            printf("ddm-bench sim backend=%s B=%d n=%d k=%d rate=%.4g\n", be->name, sim_B[q],
                   sim_n[q], k, rate);
            fflush(stdout);
            model_free(&model);
        }
        for (int q = 0; q < trains; q++) {
            struct ddm_model model;
            random_model(&model, train_n[q], k);
            printf("ddm-bench train backend=%s n=%d k=%d M=%d batch=1024 epoch_s=%.4g\n", be->name,
                   train_n[q], k, M, epoch_seconds(be, &model, M, seconds));
            fflush(stdout);
            model_free(&model);
        }
    }
    return 0;
}
