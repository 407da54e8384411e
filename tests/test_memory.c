/* test_memory.c — the memory metrics (host/analysis/analysis_memory.c) on synthetic occupancy
 * sequences with known answers: core-set transitions, dwell times, recall after cues, the
 * spontaneous switch rate, the forward/backward ratio of a cycle, and occupancy from latent states.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ddm/analysis_memory.h"
#include "ddm/plan.h"
#include "test_util.h"

/* times 0, 1, 2, ... */
static void unit_times(double *t, long T) {
    for (long i = 0; i < T; i++) t[i] = (double)i;
}

Test(memory, core_set_transitions_and_dwell_times) {
    /* one path: 0 0 -1 0 -1 1 1 -1 -1 2 2 1: the excursions to -1 that come back are not
     * transitions; 0 → 1 at t = 5, 1 → 2 at t = 9, 2 → 1 at t = 11 */
    const signed char occ[12] = {0, 0, -1, 0, -1, 1, 1, -1, -1, 2, 2, 1};
    double t[12];
    unit_times(t, 12);
    struct memory_result r;
    struct ddm_error err;
    cr_assert_eq(memory_metrics(occ, t, 1, 12, 3, NULL, 0, &r, &err), 0);
    cr_assert_eq(r.transitions[0 * 3 + 1], 1);
    cr_assert_eq(r.transitions[1 * 3 + 2], 1);
    cr_assert_eq(r.transitions[2 * 3 + 1], 1);
    long total = 0;
    for (int q = 0; q < 9; q++) total += r.transitions[q];
    cr_assert_eq(total, 3);
    /* the first dwell (in 0 from t = 0) has no observed start: dwells are 9 − 5 and 11 − 9 */
    cr_assert_eq(r.dwell_count, 2);
    cr_assert_float_eq(r.dwell[0], 4, 1e-12);
    cr_assert_float_eq(r.dwell[1], 2, 1e-12);
    cr_assert_float_eq(r.occupied, 8.0 / 12, 1e-12);
    /* no cues: every transition is spontaneous; free time is the recorded span 11 */
    cr_assert_eq(r.spontaneous, 3);
    cr_assert_float_eq(r.spontaneous_rate, 3.0 / 11, 1e-12);
    cr_assert(isnan(r.recall_accuracy));
    /* forward 0→1, 1→2 (2); backward 2→1 (1) */
    cr_assert_eq(r.forward, 2);
    cr_assert_eq(r.backward, 1);
    cr_assert_float_eq(r.forward_backward, 2, 1e-12);
    cr_assert_float_eq(r.forward_backward_err, 2 * sqrt(1.0 / 2 + 1.0), 1e-12);
    memory_result_free(&r);
}

Test(memory, cycle_ratio_of_a_directed_sequence) {
    /* 4 paths, K = 4: each runs 0→1→2→3→0… (forward) except path 3, which runs backward */
    enum { B = 4, T = 400, K = 4 };
    static signed char occ[B * T];
    double t[T];
    unit_times(t, T);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            int step = i / 10; /* dwell 10 in each well, with one transit sample between */
            int well = b < 3 ? step % K : (K - step % K) % K;
            occ[b * T + i] = i % 10 == 9 ? -1 : (signed char)well;
        }
    struct memory_result r;
    struct ddm_error err;
    cr_assert_eq(memory_metrics(occ, t, B, T, K, NULL, 0, &r, &err), 0);
    /* 39 transitions per path: 117 forward, 39 backward */
    cr_assert_eq(r.forward, 117);
    cr_assert_eq(r.backward, 39);
    cr_assert_float_eq(r.forward_backward, 3, 1e-12);
    for (long d = 0; d < r.dwell_count; d++) cr_assert_float_eq(r.dwell[d], 10, 1e-12);
    cr_assert_eq(r.dwell_count, B * 38);
    memory_result_free(&r);
}

Test(memory, recall_after_cues_and_spontaneous_rate) {
    /* wells system with 2 patterns; cue pattern 1 during [10, 15), scored at 15 + 2 = 17 */
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, "[system]\nname = wells\nparams = count=2\n");
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_input input;
    cr_assert_eq(input_parse("10:15 pattern 1", 1, &sys, "test", &input, &err), 0, "%s",
                 err.message);
    enum { B = 5, T = 40 };
    static signed char occ[B * T];
    double t[T];
    unit_times(t, T);
    /* paths 0-2 go 0 → 1 during the cue and stay; path 3 stays in 0 (fails recall); path 4 is in
     * transit at t = 17 but was last in 1 (recall counts the core set); path 0 also switches
     * back to 0 at t = 30, outside the cue windows: one spontaneous transition */
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            int well = i < 12 ? 0 : 1;
            if (b == 3) well = 0;
            if (b == 4 && i >= 16 && i <= 18) well = -1;
            if (b == 0 && i >= 30) well = 0;
            occ[b * T + i] = (signed char)well;
        }
    struct memory_result r;
    cr_assert_eq(memory_metrics(occ, t, B, T, 2, &input, 2, &r, &err), 0);
    cr_assert_eq(r.cues, 1);
    cr_assert_eq(r.cue_pattern[0], 1);
    cr_assert_float_eq(r.recall_per_cue[0], 4.0 / 5, 1e-12);
    cr_assert_float_eq(r.recall_accuracy, 0.8, 1e-12);
    cr_assert_eq(r.spontaneous, 1, "the cued transitions at t = 12 are not spontaneous");
    /* free time: the recorded span 39 minus the window [10, 17) */
    cr_assert_float_eq(r.free_time, 39 - 7, 1e-12);
    cr_assert_float_eq(r.spontaneous_rate, 1.0 / (B * 32.0), 1e-12);
    cr_assert(isnan(r.forward_backward), "no cycle with K = 2");
    memory_result_free(&r);
    system_free(&sys);
    config_free(&cfg);
}

/* Cues given in pattern order (0, 1, 2, 3) drive forward transitions; the cycle ratio must count
 * only the spontaneous ones. Each of 4 paths is cued 0 → 1 → 2 → 3 (three cued forward steps) and,
 * outside the windows, goes 3 → 2 and back 2 → 3 once (one backward, one forward): a reversible
 * landscape's ratio, 1 ± √2. Counting the cued steps too gave (3 + 1) / 1 = 4 (the associative
 * recall run, whose own ratio is 1: 7.0 ± 0.3). */
Test(memory, cycle_ratio_counts_only_spontaneous_transitions) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, "[system]\nname = wells\nparams = count=4\n");
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_input input;
    cr_assert_eq(input_parse("10:12 pattern 1; 20:22 pattern 2; 30:32 pattern 3", 1, &sys, "test",
                             &input, &err),
                 0, "%s", err.message);
    enum { B = 4, T = 60 };
    static signed char occ[B * T];
    double t[T];
    unit_times(t, T);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) /* cued steps at 11, 21, 31; free 3 → 2 at 40, 2 → 3 at 50 */
            occ[b * T + i] = (signed char)(i < 11   ? 0
                                           : i < 21 ? 1
                                           : i < 31 ? 2
                                           : i < 40 ? 3
                                           : i < 50 ? 2
                                                    : 3);
    struct memory_result r;
    cr_assert_eq(memory_metrics(occ, t, B, T, 4, &input, 1, &r, &err), 0);
    cr_assert_eq(r.spontaneous, 2 * B);
    cr_assert_eq(r.forward, B, "forward %ld: the cued steps counted", r.forward);
    cr_assert_eq(r.backward, B);
    cr_assert_float_eq(r.forward_backward, 1, 1e-12);
    cr_assert_float_eq(r.forward_backward_err, sqrt(2.0 / B), 1e-12);
    cr_assert_eq(r.transitions[0 * 4 + 1] + r.transitions[1 * 4 + 2] + r.transitions[2 * 4 + 3],
                 4 * B, "the transition matrix keeps every transition");
    memory_result_free(&r);
    system_free(&sys);
    config_free(&cfg);
}

Test(memory, occupancy_from_latent_states) {
    struct wells w = {.K = 3, .k = 2, .width = 0.3, .depth = 1};
    const double p[3][2] = {{1, 0}, {-0.5, 0.8}, {-0.5, -0.8}};
    for (int j = 0; j < 3; j++) w.patterns[j][0] = p[j][0], w.patterns[j][1] = p[j][1];
    /* automatic radius: a third of the closest distance, 1.6 between patterns 1 and 2 */
    double radius = memory_radius(&w, 0);
    cr_assert_float_eq(radius, 1.6 / 3, 1e-12);
    cr_assert_float_eq(memory_radius(&w, 0.2), 0.2, 0);
    const float z[5 * 2] = {1.1f, 0.1f, -0.5f, 0.5f, 0, 0, -0.6f, -0.8f, NAN, 0};
    signed char occ[5];
    memory_occupancy(&w, radius, z, 1, 5, occ);
    const signed char expect[5] = {0, 1, -1, 2, -1};
    cr_assert_eq(memcmp(occ, expect, 5), 0, "%d %d %d %d %d", occ[0], occ[1], occ[2], occ[3],
                 occ[4]);
}
