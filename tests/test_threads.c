/* test_threads.c — threads that fit the machine and the warning of a shared one
 * (host/run/threads.c).
 *
 * The wait policy must be chosen only when the user did not (and never under valgrind, which
 * would not follow the re-exec); the default thread count must follow the affinity mask, as
 * SLURM's --cpus-per-task and taskset set it; the warning must appear when the run's threads
 * waited for CPUs a large part of the time, and not on a quiet run.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "ddm/cli.h"
#include "ddm/threads.h"

Test(threads, passive_wait_only_when_the_user_chose_none) {
    cr_assert_eq(threads_need_passive(NULL, NULL, NULL), 1);
    cr_assert_eq(threads_need_passive("active", NULL, NULL), 0);
    cr_assert_eq(threads_need_passive("PASSIVE", NULL, NULL), 0);
    cr_assert_eq(threads_need_passive(NULL, "1000", NULL), 0);
    cr_assert_eq(threads_need_passive(NULL, NULL,
                                      "/usr/libexec/valgrind/vgpreload_core-amd64-linux"
                                      ".so"),
                 0, "valgrind does not follow an exec: no re-exec under it");
    cr_assert_eq(threads_need_passive(NULL, NULL, "libfoo.so"), 1);
}

Test(threads, cgroup_quota_rounds_up) {
    cr_assert_eq(threads_quota_cpus("max 100000\n"), 0, "no quota");
    cr_assert_eq(threads_quota_cpus("200000 100000\n"), 2);
    cr_assert_eq(threads_quota_cpus("150000 100000\n"), 2, "1.5 CPUs: 2 threads");
    cr_assert_eq(threads_quota_cpus("50000 100000"), 1);
    cr_assert_eq(threads_quota_cpus("nonsense"), 0);
}

/* Each Criterion test runs in its own process, so the mask can be narrowed here. */
Test(threads, default_follows_the_affinity_mask) {
    cpu_set_t mask;
    cr_assert_eq(sched_getaffinity(0, sizeof mask, &mask), 0);
    const int all = CPU_COUNT(&mask);
    cr_assert(threads_default() >= 1 && threads_default() <= all, "%d of %d", threads_default(),
              all);
    int first = 0;
    while (!CPU_ISSET(first, &mask)) first++;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    cr_assert_eq(threads_default(), 1, "taskset -c %d: one thread", first);
}

Test(threads, warning_when_the_threads_waited_for_cpus) {
    char line[512];
    struct cpu_clock start = {.wall = 100, .cpu = 1, .waited = 0.5};
    struct cpu_clock shared = {.wall = 103, .cpu = 1.75, .waited = 4.5};
    cpu_clock_warning(&start, &shared, 2, line, sizeof line);
    cr_assert(strstr(line, "waited 4 s") && strstr(line, "0.75 s of CPU time"), "%s", line);
    cr_assert(strstr(line, "84%") && strstr(line, "6.3x"), "%s", line);
    struct cpu_clock quiet = {.wall = 103, .cpu = 6.9, .waited = 0.6};
    cpu_clock_warning(&start, &quiet, 2, line, sizeof line);
    cr_assert_str_eq(line, "", "a quiet run: no warning");
    /* without schedstat: CPU time against wall time × threads */
    struct cpu_clock blind = {.wall = 100, .cpu = 1, .waited = -1};
    struct cpu_clock slow = {.wall = 110, .cpu = 5, .waited = -1};
    cpu_clock_warning(&blind, &slow, 2, line, sizeof line);
    cr_assert(strstr(line, "CPU time 4 s over 10 s on 2 threads (20%"), "%s", line);
    struct cpu_clock busy = {.wall = 110, .cpu = 18, .waited = -1};
    cpu_clock_warning(&blind, &busy, 2, line, sizeof line);
    cr_assert_str_eq(line, "");
}

Test(threads, clock_reads_this_process) {
    /* OpenBLAS starts its worker threads when the library loads, and they spin for about 2^28
     * cycles before they sleep: CPU time of this process then runs at twice the wall time for the
     * first ~0.1 s. Idle past that, so that the loop below is the process' only work. */
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 400000000}, NULL);
    struct cpu_clock a, b;
    cpu_clock_now(&a);
    volatile double sink = 0;
    for (int i = 0; i < 20000000; i++) sink += i * 1e-9;
    cpu_clock_now(&b);
    cr_assert(b.wall > a.wall && b.cpu > a.cpu, "wall %g→%g, cpu %g→%g", a.wall, b.wall, a.cpu,
              b.cpu);
    cr_assert(b.cpu - a.cpu <= (b.wall - a.wall) * 1.05 + 0.01, "one thread: CPU %g ≤ wall %g",
              b.cpu - a.cpu, b.wall - a.wall);
}

static struct ddm_cli cli;
static struct ddm_error err;

static int parse_threads(const char *option, const char *value) {
    char *argv[] = {(char *)"ddm_gpu", (char *)"run.ini", (char *)option, (char *)value, NULL};
    memset(&err, 0, sizeof err);
    return cli_parse(value ? 4 : 3, argv, &cli, &err);
}

Test(threads, threads_option) {
    cr_assert_eq(parse_threads("--threads", "3"), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cli.threads, "3");
    cr_assert_eq(parse_threads("--threads=0", NULL), DDM_OK, "%s", err.message);
    cr_assert_str_eq(cli.threads, "0");
    cr_assert_eq(parse_threads("--threads", "-1"), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--threads '-1' is not valid (a whole number 0 to 4096; 0: the "
                                  "CPUs this process may use)");
    cr_assert_eq(parse_threads("--threads", "2x"), DDM_EUSAGE);
    cr_assert_eq(parse_threads("--thread", "2"), DDM_EUSAGE, "a typo is refused");
    cr_assert(strstr(err.message, "did you mean '--threads'"), "%s", err.message);
}
