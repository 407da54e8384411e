/* bench_cpu.c — CPU backend throughput, against its own plain-loop twin measured in the same run.
 *
 * Simulation: neuron-steps/s of the vectorised path and of the twin (cpu-reference) for
 * B ∈ {256, 1024}, n ∈ {64, 512, 1024}, k = 3; training: point·neurons/s of one Adam epoch.
 * Prints the machine, a table, and the speed-up of the fast path over the twin.
 * Usage: build/bench/bench_cpu [seconds per measurement, default 1]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (model_update_pinv(model, &err)) exit(1);
}

/* neuron-steps per second of `be` for B trajectories, timed over about `seconds` */
static double sim_rate(const struct ddm_backend *be, const struct ddm_model *model, int B,
                       double seconds) {
    float *x0 = calloc((size_t)B * model->n, sizeof(float));
    float *latent = malloc(sizeof(float) * B * model->k);
    struct ddm_sim_setup setup = {model, B, 0, 1, 2, 1e-3, 0, 0, 0, NULL, x0};
    void *ctx;
    struct ddm_error err;
    if (be->sim_create(&setup, &ctx, &err)) exit(1);
    int steps = 10;
    double elapsed = 0, done = 0;
    uint64_t step0 = 0;
    while (elapsed < seconds) {
        struct ddm_sim_block block = {step0, 1, steps, NULL, latent, NULL, -1, 0};
        double t0 = now_seconds();
        be->sim_advance(ctx, &block, &err);
        double dt = now_seconds() - t0;
        elapsed += dt;
        done += (double)steps;
        step0 += (uint64_t)steps;
        if (dt < 0.05) steps *= 2;
    }
    be->sim_destroy(ctx);
    free(x0);
    free(latent);
    return done * B * model->n / elapsed;
}

static double train_rate(const struct ddm_backend *be, const struct ddm_model *model, int M,
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
    if (be->train_create(model, &data, &ctx, &err) || be->train_params(ctx, &copy, 1, &err))
        exit(1);
    struct ddm_adam adam = {0.9, 0.999, 1e-8, 0, 0};
    double elapsed = 0, epochs = 0, loss;
    while (elapsed < seconds) {
        double t0 = now_seconds();
        be->train_epoch(ctx, order, 1024, 1e-4, &adam, &loss, &err);
        elapsed += now_seconds() - t0;
        epochs++;
    }
    be->train_destroy(ctx);
    free(Z), free(Y), free(order);
    return epochs * M * model->n / elapsed;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    const struct ddm_backend *fast = backend_cpu(0);
    char fast_device[256];
    snprintf(fast_device, sizeof fast_device, "%s", fast->device);
    const struct ddm_backend *twin = backend_cpu_reference(0);
    FILE *cpu = fopen("/proc/cpuinfo", "r");
    char line[256], model_name[256] = "unknown CPU";
    while (cpu && fgets(line, sizeof line, cpu))
        if (!strncmp(line, "model name", 10)) {
            snprintf(model_name, sizeof model_name, "%s", strchr(line, ':') + 2);
            model_name[strcspn(model_name, "\n")] = 0;
            break;
        }
    if (cpu) fclose(cpu);
    printf("machine: %s, %d OpenMP threads\nfast path: %s\n\n", model_name, omp_get_max_threads(),
           fast_device);
    printf("simulation (k = 3), neuron-steps/s:\n");
    printf("%6s %6s %14s %14s %8s\n", "B", "n", "fast", "twin", "ratio");
    const int Bs[] = {256, 1024}, ns[] = {64, 512, 1024};
    for (int bi = 0; bi < 2; bi++)
        for (int ni = 0; ni < 3; ni++) {
            struct ddm_model model;
            random_model(&model, ns[ni], 3);
            double f = sim_rate(fast, &model, Bs[bi], seconds);
            double t = sim_rate(twin, &model, Bs[bi], seconds / 2);
            printf("%6d %6d %14.3g %14.3g %7.1fx\n", Bs[bi], ns[ni], f, t, f / t);
            model_free(&model);
        }
    printf("\ntraining (k = 3, M = 16384, batch 1024), point·neurons/s per Adam epoch:\n");
    printf("%6s %14s %14s %8s\n", "n", "fast", "twin", "ratio");
    for (int ni = 0; ni < 3; ni++) {
        struct ddm_model model;
        random_model(&model, ns[ni], 3);
        double f = train_rate(fast, &model, 16384, seconds);
        double t = train_rate(twin, &model, 16384, seconds / 2);
        printf("%6d %14.3g %14.3g %7.1fx\n", ns[ni], f, t, f / t);
        model_free(&model);
    }
    return 0;
}
