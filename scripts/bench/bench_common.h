/* bench_common.h — what both benchmark programs measure, once: a random network, the
 * simulation rate in neuron-steps/s, and the time of one Adam epoch. Header-only (static). */
#ifndef DDM_BENCH_COMMON_H
#define DDM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "ddm/backend.h"
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
        fprintf(stderr, "bench: %s\n", err.message);
        exit(1);
    }
    int steps = 10;
    uint64_t step0 = 0;
    struct ddm_sim_block warm = {step0, 1, steps, NULL, latent, NULL, -1, 0, NULL, NULL};
    if (be->sim_advance(ctx, &warm, &err)) exit(1);
    step0 += steps;
    double elapsed = 0, done = 0;
    while (elapsed < seconds) {
        struct ddm_sim_block block = {step0, 1, steps, NULL, latent, NULL, -1, 0, NULL, NULL};
        double t0 = now_seconds();
        if (be->sim_advance(ctx, &block, &err)) {
            fprintf(stderr, "bench: %s\n", err.message);
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
        fprintf(stderr, "bench: %s\n", err.message);
        exit(1);
    }
    struct ddm_adam adam = {0.9, 0.999, 1e-8, 0, 0, 0};
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

#endif
