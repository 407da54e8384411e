/* bench_ddm.c — throughput of every backend of this build, in machine-readable lines for
 * scripts/bench/run_bench.py, which runs the PyTorch and JAX peers beside it (DESIGN §8).
 *
 * Simulation: neuron-steps/s of Euler–Maruyama (k = 3, m = 3, constant Ŝ, dt = 1e-3, τ = 1, one
 * read-out per block) for B × n; training: seconds per Adam epoch over M points in batches of
 * 1024. On a GPU also the device's FP32 and tanh-unit peaks, for the roofline fractions.
 * Usage: bench_ddm [--quick] [--seconds S] [--backends cpu,cuda]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ddm/ops_cuda.h"

int main(int argc, char **argv) {
    double seconds = 1.0;
    int quick = 0;
    const char *wanted = "cpu,cuda";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--backends") && i + 1 < argc)
            wanted = argv[++i];
        else {
            fprintf(stderr, "usage: bench_ddm [--quick] [--seconds S] [--backends cpu,cuda]\n");
            return 2;
        }
    }
    const struct ddm_backend *backends[2] = {NULL, NULL};
    if (strstr(wanted, "cpu")) backends[0] = backend_cpu(0);
    struct ddm_error err = {0};
    if (strstr(wanted, "cuda")) {
        backends[1] = backend_cuda(0, &err);
        if (!backends[1]) printf("ddm-bench skip backend=cuda reason=\"%s\"\n", err.message);
    }
    const int Bs[] = {256, 4096, 16384}, ns[] = {64, 512, 1024}, k = 3;
    const int nB = quick ? 2 : 3, nn = quick ? 2 : 3, M = quick ? 16384 : 65536;
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
        for (int i = 0; i < nB; i++)
            for (int j = 0; j < nn; j++) {
                struct ddm_model model;
                random_model(&model, ns[j], k);
                double rate = sim_rate(be, &model, Bs[i], seconds);
                printf("ddm-bench sim backend=%s B=%d n=%d k=%d rate=%.4g\n", be->name, Bs[i],
                       ns[j], k, rate);
                fflush(stdout);
                model_free(&model);
            }
        for (int j = 0; j < nn; j++) {
            struct ddm_model model;
            random_model(&model, ns[j], k);
            printf("ddm-bench train backend=%s n=%d k=%d M=%d batch=1024 epoch_s=%.4g\n", be->name,
                   ns[j], k, M, epoch_seconds(be, &model, M, seconds));
            fflush(stdout);
            model_free(&model);
        }
    }
    return 0;
}
