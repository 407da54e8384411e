/* limits.h — how much memory the machine lets a run take, and the up-front check of each stage's
 * estimated peak (ddm/memory_need.h) against it: a run that would not fit is refused before its
 * output file is created and before its training, with one line that gives the estimate, what it
 * is made of, the limit and where the limit comes from — not by a failed allocation hours in, or
 * by the kernel's OOM killer.
 *
 * The host limit is the smallest of: MemAvailable (/proc/meminfo); the cgroup's limit less its
 * usage (v2 memory.max − memory.current, v1 memory.limit_in_bytes − memory.usage_in_bytes, over
 * the process' cgroup and its ancestors: a SLURM job's --mem); RLIMIT_AS less the address space
 * in use and an allowance for what threads and OpenBLAS add (ulimit -v); RLIMIT_DATA likewise
 * (ulimit -d); and [run] memory_limit less the resident size.
 * On the GPU, the device's free memory as the backend reports it (cudaMemGetInfo).
 */
#ifndef DDM_LIMITS_H
#define DDM_LIMITS_H

#include "ddm/backend.h"
#include "ddm/config.h"
#include "ddm/memory_need.h"

struct memory_limit {
    double bytes;    /* what the process may still take; INFINITY when nothing says */
    char source[96]; /* the limit that binds: "MemAvailable", "cgroup memory.max", ... */
};

/* The host limit; memory_limit_gib: [run] memory_limit (0: none); threads: the run's threads. */
void limits_host(double memory_limit_gib, int threads, struct memory_limit *limit);

/* Refuses (DDM_EUSAGE) a stage whose need is above the limit; `memory` is "host" or "GPU". The
 * message names the key of the largest part with its file and line, the need and its parts, the
 * limit and its source, and what to lower. */
int limits_check(const struct ddm_config *cfg, const struct memory_run *run,
                 const struct memory_need *need, const struct memory_limit *limit,
                 const char *memory, struct ddm_error *err);

/* The stages the run will go through (train, simulate, analyze: 0 or 1), on the host and, for a
 * backend that can tell its free memory, on the device. */
int limits_check_run(const struct ddm_config *cfg, const struct memory_run *run,
                     const struct ddm_backend *backend, int train, int simulate, int analyze,
                     struct ddm_error *err);

#endif
