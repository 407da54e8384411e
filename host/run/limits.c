/* limits.c — what the machine lets a run take, and the up-front check of each stage's estimated
 * peak against it (include/ddm/limits.h).
 */
#include "ddm/limits.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define GIB 1073741824.0
#define MIB 1048576.0

/* Address space and data a run adds beside its own arrays once it starts: OpenBLAS's buffer
 * (about 128 MiB of data), and per thread a stack and the malloc arena glibc reserves (64 MiB,
 * counted by RLIMIT_AS though never touched). Measured with Debian 12 (glibc 2.36, OpenBLAS
 * 0.3.21) from the check to the end of a small run: VmPeak +138, +265 and +475 MiB with 1, 2 and
 * 4 threads, VmData +137, +145 and +162 MiB. */
#define ADDRESS_SPACE_FIXED      (32 * MIB)
#define ADDRESS_SPACE_PER_THREAD (128 * MIB)
#define DATA_FIXED               (144 * MIB)
#define DATA_PER_THREAD          (8 * MIB)

/* Field `name` ("MemAvailable", "VmSize") of a /proc file of "Name:  123 kB" lines, in bytes;
 * NAN when absent. */
static double proc_field(const char *path, const char *name) {
    FILE *file = fopen(path, "r");
    if (!file) return NAN;
    char line[256];
    double value = NAN;
    const size_t len = strlen(name);
    while (fgets(line, sizeof line, file))
        if (!strncmp(line, name, len) && line[len] == ':') {
            value = atof(line + len + 1) * 1024;
            break;
        }
    fclose(file);
    return value;
}

/* The number in a cgroup file; NAN when absent, "max", or (v1) near 2^63: no limit. */
static double cgroup_number(const char *dir, const char *name) {
    char path[4400], text[64] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "r");
    if (!file) return NAN;
    char *read = fgets(text, sizeof text, file);
    fclose(file);
    char *end = text;
    double value = read ? strtod(text, &end) : NAN;
    return read && end != text && value < 1e18 ? value : NAN;
}

/* The path of this process' memory cgroup from /proc/self/cgroup: the v1 "memory" hierarchy's
 * line when there is one (*v1 = 1), else the v2 "0::" line. 0 when neither is found. */
static int cgroup_path(char *path, size_t len, int *v1) {
    FILE *file = fopen("/proc/self/cgroup", "r");
    if (!file) return 0;
    char line[4096];
    int found = 0;
    *v1 = 0;
    while (!*v1 && fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = 0;
        char *controllers = strchr(line, ':'),
             *where = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!where) continue;
        *where++ = 0;
        controllers++;
        int memory = 0;
        for (char *c = strtok(controllers, ","); c; c = strtok(NULL, ","))
            memory |= !strcmp(c, "memory");
        if (memory || !controllers[0]) {
            snprintf(path, len, "%s", where);
            *v1 = memory;
            found = 1;
        }
    }
    fclose(file);
    return found;
}

/* The room the cgroups of this process leave: the smallest limit − usage over its cgroup and
 * its ancestors (a limit anywhere above applies); NAN when none sets a limit. */
static double cgroup_room(char *source, size_t len) {
    char path[4096];
    int v1;
    if (!cgroup_path(path, sizeof path, &v1)) return NAN;
    const char *root = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
    const char *limit_name = v1 ? "memory.limit_in_bytes" : "memory.max";
    const char *usage_name = v1 ? "memory.usage_in_bytes" : "memory.current";
    snprintf(source, len, "cgroup %s", limit_name);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s%s", root, path);
    double room = NAN;
    for (;;) {
        double limit = cgroup_number(dir, limit_name), usage = cgroup_number(dir, usage_name);
        if (!isnan(limit) && !isnan(usage) && !(limit - usage >= room)) room = limit - usage;
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= strlen(root) || !slash) break;
        *slash = 0;
    }
    return room;
}

/* What a resource limit leaves beside what the process uses of it (a /proc/self/status field);
 * NAN when unlimited. */
static double rlimit_room(int resource, const char *used_field) {
    struct rlimit limit;
    if (getrlimit(resource, &limit) || limit.rlim_cur == RLIM_INFINITY) return NAN;
    double used = proc_field("/proc/self/status", used_field);
    return (double)limit.rlim_cur - (isnan(used) ? 0 : used);
}

static void consider(struct memory_limit *limit, double bytes, const char *source) {
    if (isnan(bytes) || bytes >= limit->bytes) return;
    limit->bytes = bytes > 0 ? bytes : 0;
    snprintf(limit->source, sizeof limit->source, "%s", source);
}

void limits_host(double memory_limit_gib, int threads, struct memory_limit *limit) {
    limit->bytes = INFINITY;
    snprintf(limit->source, sizeof limit->source, "no limit found");
    consider(limit, proc_field("/proc/meminfo", "MemAvailable"), "MemAvailable");
    char source[96];
    consider(limit, cgroup_room(source, sizeof source), source);
    double beside = ADDRESS_SPACE_FIXED + threads * ADDRESS_SPACE_PER_THREAD;
    snprintf(source, sizeof source, "RLIMIT_AS, ulimit -v, less %.0f MiB for threads and BLAS",
             beside / MIB);
    consider(limit, rlimit_room(RLIMIT_AS, "VmSize") - beside, source);
    beside = DATA_FIXED + threads * DATA_PER_THREAD;
    snprintf(source, sizeof source, "RLIMIT_DATA, ulimit -d, less %.0f MiB for threads and BLAS",
             beside / MIB);
    consider(limit, rlimit_room(RLIMIT_DATA, "VmData") - beside, source);
    if (memory_limit_gib > 0) {
        double resident = proc_field("/proc/self/status", "VmRSS");
        consider(limit, memory_limit_gib * GIB - (isnan(resident) ? 0 : resident),
                 "[run] memory_limit");
    }
}

/* "9.8 GiB", "310 MiB", "12 KiB" */
static void human(double bytes, char *out, size_t len) {
    if (bytes >= GIB)
        snprintf(out, len, "%.1f GiB", bytes / GIB);
    else if (bytes >= MIB)
        snprintf(out, len, "%.0f MiB", bytes / MIB);
    else
        snprintf(out, len, "%.0f KiB", bytes / 1024);
}

/* What else helps, by the limit that binds. */
static const char *remedy(const char *source) {
    if (!strcmp(source, "[run] memory_limit")) return "or raise [run] memory_limit";
    if (!strncmp(source, "cgroup", 6)) return "or give the job more memory (sbatch --mem)";
    if (!strncmp(source, "RLIMIT_AS", 9)) return "or raise the limit (ulimit -v)";
    if (!strncmp(source, "RLIMIT_DATA", 11)) return "or raise the limit (ulimit -d)";
    if (!strncmp(source, "free on the GPU", 15)) return "or use a GPU with more free memory";
    return "or run where more memory is free";
}

int limits_check(const struct ddm_config *cfg, const struct memory_run *run,
                 const struct memory_need *need, const struct memory_limit *limit,
                 const char *memory, struct ddm_error *err) {
    if (need->bytes <= limit->bytes || !need->count) return DDM_OK;
    const struct memory_part *top = &need->part[0];
    char where[1200], value[64] = "?", parts[512] = "", total[32], room[32];
    config_where(cfg, top->section, top->key, where, sizeof where);
    config_value_text(cfg, top->section, top->key, value, sizeof value);
    for (int i = 0; i < need->count && i < 4 && (!i || need->part[i].bytes >= need->bytes / 200);
         i++) {
        char size[32];
        human(need->part[i].bytes, size, sizeof size);
        size_t used = strlen(parts);
        snprintf(parts + used, sizeof parts - used, "%s%s %s", i ? ", " : "", need->part[i].name,
                 size);
    }
    human(need->bytes, total, sizeof total);
    human(limit->bytes, room, sizeof room);
    char with_n[48] = "";
    if (strcmp(top->key, "neurons")) snprintf(with_n, sizeof with_n, " with n = %d", run->n);
    return ddm_fail(err, DDM_EUSAGE,
                    "%s = %s%s needs about %s of %s memory for the %s (%s) but %s are available "
                    "(%s); lower %s, %s",
                    where, value, with_n, total, memory, need->stage, parts, room, limit->source,
                    top->lower, remedy(limit->source));
}

int limits_check_run(const struct ddm_config *cfg, const struct memory_run *run,
                     const struct ddm_backend *backend, int train, int simulate, int analyze,
                     struct ddm_error *err) {
    struct memory_limit host, device = {INFINITY, ""};
    limits_host(cfg->memory_limit, omp_get_max_threads(), &host);
    size_t free_bytes = 0, total_bytes = 0;
    struct ddm_error ignored;
    const int on_device =
        backend->memory_free && backend->memory_free(&free_bytes, &total_bytes, &ignored) == DDM_OK;
    if (on_device) {
        device.bytes = (double)free_bytes;
        snprintf(device.source, sizeof device.source, "free on the GPU, cudaMemGetInfo");
    }
    void (*const estimate[3])(const struct ddm_config *, const struct memory_run *, int,
                              struct memory_need *) = {memory_need_train, memory_need_simulate,
                                                       memory_need_analyze};
    const int stages[3] = {train, simulate, analyze};
    int code = DDM_OK;
    for (int s = 0; s < 3 && !code; s++) {
        if (!stages[s]) continue;
        struct memory_need need;
        estimate[s](cfg, run, 0, &need);
        code = limits_check(cfg, run, &need, &host, "host", err);
        if (!code && on_device) {
            estimate[s](cfg, run, 1, &need);
            code = limits_check(cfg, run, &need, &device, "GPU", err);
        }
    }
    return code;
}
