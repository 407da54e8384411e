/* test_plan.c — config_resolve: the structured strings become typed values once, and a malformed
 * one is refused with the key's file:line, for the stages that use it only. */
#include <criterion/criterion.h>
#include <string.h>

#include "ddm/plan.h"
#include "test_util.h"

static const char *const lorenz =
    "[system]\nname = lorenz\n"
    "[train]\nbox = -20:20, -30:30, 0:50\n"
    "[simulate]\nstart = 1, 1/2, 20\n"
    "[analysis]\nbounds = -25:25, -35:35, -1:55\ndecomposition_axes = z, x\n"
    "decomposition_at = 0, 2^-1, 3\n"
    "[input]\ncues = 1:2 vector 1, 0, 0; 3:4 vector 0, 0, -1 strength 2\nstrength = 5\n";

Test(plan, every_structured_key_becomes_typed_values) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, lorenz);
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    const struct ddm_plan *plan = cfg.plan;
    cr_assert(plan->has_start && plan->start[1] == 0.5 && plan->start[2] == 20);
    cr_assert_eq(plan->start_origin.kind, ORIGIN_POINT);
    cr_assert_eq(plan->path_origin.kind, ORIGIN_NORMAL, "no [train] path_start");
    cr_assert(plan->has_box && plan->box_lo[1] == -30 && plan->box_hi[2] == 50);
    cr_assert(plan->has_bounds && plan->bounds_lo[2] == -1 && plan->bounds_hi[0] == 25);
    cr_assert_eq(plan->decomposition_d, 2);
    cr_assert(plan->decomposition_axis[0] == 2 && plan->decomposition_axis[1] == 0);
    cr_assert(plan->has_decomposition_at && plan->decomposition_at[1] == 0.5);
    cr_assert_eq(plan->cues.count, 2);
    cr_assert(plan->cues.cues[0].u[0] == 5 && plan->cues.cues[1].u[2] == -2,
              "the default strength 5, and the cue's own 2");
    config_free(&cfg);
    system_free(&sys);
}

/* A bad [analysis] bounds names its line, but only a run that analyses refuses it. */
Test(plan, a_malformed_key_is_refused_for_the_stages_that_use_it) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, "[system]\nname = vdp\n[analysis]\nbounds = -3:3\n");
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_TRAIN | PLAN_SIMULATE, &err), 0, "%s",
                 err.message);
    cr_assert_eq(cfg.plan->has_bounds, 0);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "test.ini:4: [analysis] bounds: expected 2 ranges 'lo:hi' separated by ',', "
                     "got 1");
    config_free(&cfg);
    system_free(&sys);
}
