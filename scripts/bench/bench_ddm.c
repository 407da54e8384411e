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

#include "ddm/backend.h"
#include "ddm/ops_cuda.h"
#include "ddm/philox.h"
#include "ddm/progress.h"

static void random_model(struct ddm_model *model, int n, int k) {
    struct ddm_error err;
    if (model_alloc(model, n, k, k, 0, &err)) exit(1);
    model->tau = 1;
    for (int q = 0; q < n * k; q++) {
        model->Gamma[q] = (float)philox_gaussian(1, 0, q);
        model->Ws[q] = (float)(philox_gaussian(1, 1, q) / n);
    }
    for (int i = 0; i < n; i++) model->b[i] = (float)(2 * philox_uniform(1, 2, i) - 1);
    for (int q = 0; q < k * k; q++) model->S[q] = q % (k + 1) == 0 ? 0.1f : 0;
    for (int c = 0; c < k; c++) model->latent_scale[c] = 1;
    if (model_update_pinv(model, &err)) exit(1);
}

/* neuron-steps/s: a warm-up block, then blocks of doubling length for about `seconds` */
static double sim_rate(const struct ddm_backend *be, const struct ddm_model *model, int B,
                       double seconds) {
    float *x0 = calloc((size_t)B * model->n, sizeof(float));
    float *latent = malloc(sizeof(float) * B * model->k);
    struct ddm_sim_setup setup = {model, B, 0, 1, 2, 1e-3, 0, 0, 0, NULL, x0};
    void *ctx;
    struct ddm_error err;
    if (be->sim_create(&setup, &ctx, &err)) {
        fprintf(stderr, "bench_ddm: %s\n", err.message);
        exit(1);
    }
    int steps = 10;
    uint64_t step0 = 0;
    struct ddm_sim_block warm = {step0, 1, steps, NULL, latent, NULL, -1, 0};
    if (be->sim_advance(ctx, &warm, &err)) exit(1);
    step0 += steps;
    double elapsed = 0, done = 0;
    while (elapsed < seconds) {
        struct ddm_sim_block block = {step0, 1, steps, NULL, latent, NULL, -1, 0};
        double t0 = now_seconds();
        if (be->sim_advance(ctx, &block, &err)) {
            fprintf(stderr, "bench_ddm: %s\n", err.message);
            exit(1);
        }
        double dt = now_seconds() - t0;
        elapsed += dt, done += steps, step0 += (uint64_t)steps;
        if (dt < 0.1 * seconds) steps *= 2;
    }
    be->sim_destroy(ctx);
    free(x0), free(latent);
    return done * B * model->n / elapsed;
}

/* seconds per Adam epoch over M points (batches of 1024): the fastest of the epochs run within
 * about `seconds` (at least three) after one warm-up epoch, robust to a busy machine */
static double epoch_seconds(const struct ddm_backend *be, const struct ddm_model *model, int M,
                            double seconds) {
    const int k = model->k;
    float *Z = malloc(sizeof(float) * M * k), *Y = malloc(sizeof(float) * M * k);
    int *order = malloc(sizeof(int) * M);
    for (int q = 0; q < M * k; q++) Z[q] = (float)philox_gaussian(3, 0, q), Y[q] = Z[q];
    for (int s = 0; s < M; s++) order[s] = s;
    struct ddm_train_data data = {M, Z, Y};
    void *ctx;
    struct ddm_error err;
    struct ddm_model copy = *model;
    if (be->train_create(model, &data, &ctx, &err) || be->train_params(ctx, &copy, 1, &err)) {
        fprintf(stderr, "bench_ddm: %s\n", err.message);
        exit(1);
    }
    struct ddm_adam adam = {0.9, 0.999, 1e-8, 0, 0};
    double loss, best = 1e30, start = now_seconds();
    for (int e = 0; e < 4 || now_seconds() - start < seconds; e++) {
        double t0 = now_seconds();
        if (be->train_epoch(ctx, order, 1024, 1e-4, &adam, &loss, &err)) exit(1);
        if (e > 0 && now_seconds() - t0 < best) best = now_seconds() - t0;
    }
    be->train_destroy(ctx);
    free(Z), free(Y), free(order);
    return best;
}

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
