/* threads.h — CPU threads that fit a shared machine (docs/performance.md).
 *
 * libgomp's default wait is to spin ~300 000 times at every barrier before sleeping: with one
 * other busy process on the machine a spinning thread burns the time slice its partner needs,
 * and a run becomes 6–100× slower. ddm_gpu therefore waits passively (threads sleep at once)
 * unless the user chose a policy, and uses as many threads as the CPUs it may run on.
 */
#ifndef DDM_THREADS_H
#define DDM_THREADS_H

/* libgomp reads OMP_WAIT_POLICY once, in its own constructor, before main() and before any
 * constructor of the program (and a setenv from .preinit_array is undone by libc's start-up), so
 * the only way to choose the policy is to start again with it set. When neither OMP_WAIT_POLICY
 * nor GOMP_SPINCOUNT is set (and not under valgrind, which would not follow the exec), sets
 * OMP_WAIT_POLICY=passive and re-executes /proc/self/exe with the same argv; returns only when it
 * does not (policy already chosen, or the exec failed: the run goes on with libgomp's default). */
void threads_wait_policy_reexec(char **argv);

/* Whether a re-exec is needed for these values of OMP_WAIT_POLICY, GOMP_SPINCOUNT and LD_PRELOAD
 * (NULL: unset). */
int threads_need_passive(const char *wait_policy, const char *spin_count, const char *preload);

/* The default thread count: the CPUs in this process's affinity mask (what SLURM's
 * --cpus-per-task, taskset and cpuset cgroups give), capped by a cgroup v2 CPU quota
 * (cpu.max, e.g. docker --cpus) rounded up; at least 1. */
int threads_default(void);

/* The quota of a cgroup v2 cpu.max text ("max 100000" or "QUOTA PERIOD"): CPUs, rounded up,
 * or 0 when there is none or the text is not understood. */
int threads_quota_cpus(const char *cpu_max);

/* The process's CPU use so far: wall clock, CPU time of all its threads, and the time its
 * threads were ready to run but waited for a CPU that another process held (run-queue delay,
 * /proc/self/task/ * /schedstat; negative when the kernel does not report it). */
struct cpu_clock {
    double wall, cpu, waited;
};
void cpu_clock_now(struct cpu_clock *clock);

/* One line (no newline) when the run from `start` to `end` on `threads` threads was much slower
 * than the machine's quiet rate would give, because other processes held the CPUs; "" else.
 * Criterion: run-queue delay > 30 % of the time its threads were ready to run, or, without
 * schedstat, CPU time < 40 % of wall time × threads over a run of at least a second. */
void cpu_clock_warning(const struct cpu_clock *start, const struct cpu_clock *end, int threads,
                       char *line, int size);

#endif
