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

#include "bench_common.h"
#include "ddm/threads.h"

int main(int argc, char **argv) {
    threads_wait_policy_reexec(argv); /* the engine's wait policy (docs/performance.md) */
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
        double f = 16384.0 * model.n / epoch_seconds(fast, &model, 16384, seconds);
        double t = 16384.0 * model.n / epoch_seconds(twin, &model, 16384, seconds / 2);
        printf("%6d %14.3g %14.3g %7.1fx\n", ns[ni], f, t, f / t);
        model_free(&model);
    }
    return 0;
}
