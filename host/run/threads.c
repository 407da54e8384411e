/* threads.c — threads that fit the machine, a passive wait, and the warning of a shared machine
 * (ddm/threads.h, docs/performance.md).
 */
#include "ddm/threads.h"

#include <dirent.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int threads_need_passive(const char *wait_policy, const char *spin_count, const char *preload) {
    if (wait_policy || spin_count) return 0; /* the user's choice */
    if (preload && strstr(preload, "vgpreload")) return 0;
    return 1;
}

void threads_wait_policy_reexec(char **argv) {
    if (!threads_need_passive(getenv("OMP_WAIT_POLICY"), getenv("GOMP_SPINCOUNT"),
                              getenv("LD_PRELOAD")))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 0)) return;
    execv("/proc/self/exe", argv);
    /* no /proc: go on with libgomp's default (the variable set now is harmless) */
}

int threads_quota_cpus(const char *cpu_max) {
    double quota, period;
    if (sscanf(cpu_max, "%lf %lf", &quota, &period) != 2 || quota <= 0 || period <= 0) return 0;
    return (int)ceil(quota / period - 1e-9);
}

int threads_default(void) {
    cpu_set_t mask;
    int cpus = 0;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = CPU_COUNT(&mask);
    if (cpus < 1) cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char text[64] = "";
        if (fgets(text, sizeof text, f)) {
            int quota = threads_quota_cpus(text);
            if (quota > 0 && quota < cpus) cpus = quota;
        }
        fclose(f);
    }
    return cpus < 1 ? 1 : cpus;
}

/* Σ over the threads of /proc/self/task/TID/schedstat: "on-CPU ns, run-queue ns, slices". */
static double run_queue_seconds(void) {
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return -1;
    double waited = 0;
    int found = 0;
    for (struct dirent *entry; (entry = readdir(dir));) {
        if (entry->d_name[0] == '.') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", entry->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        unsigned long long on_cpu, queued;
        if (fscanf(f, "%llu %llu", &on_cpu, &queued) == 2) {
            waited += queued * 1e-9;
            found = 1;
        }
        fclose(f);
    }
    closedir(dir);
    return found ? waited : -1;
}

void cpu_clock_now(struct cpu_clock *clock) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    clock->wall = ts.tv_sec + ts.tv_nsec * 1e-9;
    struct rusage use;
    getrusage(RUSAGE_SELF, &use);
    clock->cpu = use.ru_utime.tv_sec + use.ru_utime.tv_usec * 1e-6 + use.ru_stime.tv_sec +
                 use.ru_stime.tv_usec * 1e-6;
    clock->waited = run_queue_seconds();
}

void cpu_clock_warning(const struct cpu_clock *start, const struct cpu_clock *end, int threads,
                       char *line, int size) {
    const double wall = end->wall - start->wall, cpu = end->cpu - start->cpu;
    line[0] = '\0';
    if (start->waited >= 0 && end->waited >= 0) {
        const double waited = end->waited - start->waited;
        if (waited > 0.3 * (waited + cpu) && waited > 0.05)
            snprintf(line, size,
                     "warning   the machine is shared: this run's threads waited %.3g s for CPUs "
                     "held by other processes, against %.3g s of CPU time (%.0f%% of the time "
                     "they were ready to run): the times above are about %.2gx the quiet "
                     "machine's; fewer threads (--threads) or a quiet machine",
                     waited, cpu, 100 * waited / (waited + cpu), (waited + cpu) / cpu);
        return;
    }
    if (wall >= 1 && cpu < 0.4 * wall * threads)
        snprintf(line, size,
                 "warning   CPU time %.3g s over %.3g s on %d threads (%.0f%% of wall time × "
                 "threads): the machine may be shared; fewer threads (--threads) or a quiet "
                 "machine",
                 cpu, wall, threads, 100 * cpu / (wall * threads));
}
