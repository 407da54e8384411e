/* test_wells.c — the multi-well landscape (include/ddm/wells.h): the drift is −(I + αR)∇V for
 * the potential it reports, its Jacobian matches finite differences, the wells sit at the
 * patterns, far-away states still get a finite drift home, and the built-in's parameters work.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ddm/system.h"
#include "test_util.h"

static void build(struct ddm_system *sys, const char *text) {
    struct ddm_config cfg;
    struct ddm_error err = {0};
    config_from_text(&cfg, text);
    cr_assert_eq(system_build(sys, &cfg, &err), 0, "%s", err.message);
    config_free(&cfg);
}

Test(wells, drift_is_minus_rotated_gradient_of_the_potential) {
    struct ddm_system sys;
    build(&sys, "[system]\nname = wells\nparams = alpha=0.7, width=0.5, count=5\n");
    cr_assert(sys.native_wells);
    cr_assert_eq(sys.k, 2);
    cr_assert_eq(sys.wells.K, 5);
    for (int trial = 0; trial < 20; trial++) {
        double z[2] = {2 * philox_gaussian(1, 0, trial), 2 * philox_gaussian(1, 1, trial)};
        double f[2], grad[2];
        for (int c = 0; c < 2; c++) { /* central differences of V */
            double up[2] = {z[0], z[1]}, down[2] = {z[0], z[1]};
            up[c] += 1e-6, down[c] -= 1e-6;
            grad[c] = (wells_potential(&sys.wells, up) - wells_potential(&sys.wells, down)) / 2e-6;
        }
        system_drift(&sys, z, f);
        /* f = −(I + αR)∇V with (R v) = (−v_1, v_0) */
        double expect[2] = {-(grad[0] - 0.7 * grad[1]), -(grad[1] + 0.7 * grad[0])};
        for (int c = 0; c < 2; c++)
            cr_assert(fabs(f[c] - expect[c]) < 1e-5 * (1 + fabs(expect[c])), "f%d %g vs %g", c,
                      f[c], expect[c]);
    }
    system_free(&sys);
}

Test(wells, jacobian_matches_finite_differences_in_3d) {
    struct ddm_system sys;
    build(&sys, "[system]\nname = wells\nvars = a, b, c\nparams = alpha=1.3, width=0.6, count=3, "
                "radius=1.5\n");
    cr_assert_eq(sys.k, 3);
    for (int trial = 0; trial < 20; trial++) {
        double z[3], f[3], jac[9];
        for (int c = 0; c < 3; c++) z[c] = 1.5 * philox_gaussian(2, c, trial);
        system_drift_jacobian(&sys, z, f, jac);
        for (int d = 0; d < 3; d++) {
            double up[3] = {z[0], z[1], z[2]}, down[3] = {z[0], z[1], z[2]}, fu[3], fd[3];
            up[d] += 1e-6, down[d] -= 1e-6;
            system_drift(&sys, up, fu);
            system_drift(&sys, down, fd);
            for (int c = 0; c < 3; c++) {
                double numeric = (fu[c] - fd[c]) / 2e-6;
                cr_assert(fabs(jac[c * 3 + d] - numeric) < 1e-5 * (1 + fabs(numeric)),
                          "∂f%d/∂z%d = %g, numeric %g", c, d, jac[c * 3 + d], numeric);
            }
        }
    }
    system_free(&sys);
}

Test(wells, patterns_are_stable_points_and_far_states_come_home) {
    struct ddm_system sys;
    build(&sys, "[system]\nname = wells\nparams = width=0.3, radius=2, count=4\n");
    for (int j = 0; j < 4; j++) {
        double f[2];
        system_drift(&sys, sys.wells.patterns[j], f);
        /* at a well the neighbours' weights are e^(−8/0.18) small: the drift vanishes there */
        cr_assert(fabs(f[0]) < 1e-12 && fabs(f[1]) < 1e-12, "well %d: f = (%g, %g)", j, f[0], f[1]);
        double dist;
        cr_assert_eq(wells_nearest(&sys.wells, sys.wells.patterns[j], &dist), j);
        cr_assert_float_eq(dist, 0, 1e-12);
    }
    cr_assert_float_eq(sys.wells.patterns[1][1], -2, 1e-12,
                       "count clockwise on a circle of the radius");
    double far[2] = {300, -200}, f[2];
    system_drift(&sys, far, f); /* every exp underflows without the log-sum-exp shift */
    cr_assert(isfinite(f[0]) && isfinite(f[1]) && f[0] < 0 && f[1] > 0);
    system_free(&sys);
}

Test(wells, bad_parameters_are_reported) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_error err = {0};
    config_from_text(&cfg, "[system]\nname = wells\nparams = count=2.5\n");
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_EUSAGE);
    cr_assert(strstr(err.message, "count = 2.5 wells; give a whole number 1 to 32"), "%s",
              err.message);
    system_free(&sys);
    config_free(&cfg);
    config_from_text(&cfg, "[system]\nname = wells\nvars = q\nparams = alpha=1\n");
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_EUSAGE);
    cr_assert(strstr(err.message, "needs at least 2 variables"), "%s", err.message);
    system_free(&sys);
    config_free(&cfg);
}

/* The landscapes can also be written as expressions (docs/design.md §6): the softmax family with
 * its rotation, spelled out for three wells, must give the native drift. */
Test(wells, expressions_express_the_rotated_family) {
    struct ddm_system native, written;
    build(&native, "[system]\nname = wells\nparams = width=0.5, depth=1.3, alpha=2, count=3\n");
    char text[8192], e[3][160], sum[600] = "", mx[600] = "", my[600] = "";
    for (int j = 0; j < 3; j++) {
        snprintf(e[j], sizeof e[j], "exp(-((x - %.17g)^2 + (y - %.17g)^2)/(2*w^2))",
                 native.wells.patterns[j][0], native.wells.patterns[j][1]);
        snprintf(sum + strlen(sum), sizeof sum - strlen(sum), "%s%s", j ? " + " : "", e[j]);
        snprintf(mx + strlen(mx), sizeof mx - strlen(mx), "%s%.17g*%s", j ? " + " : "",
                 native.wells.patterns[j][0], e[j]);
        snprintf(my + strlen(my), sizeof my - strlen(my), "%s%.17g*%s", j ? " + " : "",
                 native.wells.patterns[j][1], e[j]);
    }
    /* g = (d/w²)(z − m), f = −(I + αR) g: f_x = −(g_x − α g_y), f_y = −(g_y + α g_x) */
    char gx[1400], gy[1400];
    snprintf(gx, sizeof gx, "d/w^2*(x - (%s)/(%s))", mx, sum);
    snprintf(gy, sizeof gy, "d/w^2*(y - (%s)/(%s))", my, sum);
    snprintf(text, sizeof text,
             "[system]\nname = mine\nvars = x, y\nparams = w=0.5, d=1.3, a=2\n"
             "drift = -(%s - a*%s); -(%s + a*%s)\n",
             gx, gy, gy, gx);
    build(&written, text);
    for (int trial = 0; trial < 20; trial++) {
        double z[2] = {philox_gaussian(4, 0, trial), philox_gaussian(4, 1, trial)}, a[2], b[2];
        system_drift(&native, z, a);
        system_drift(&written, z, b);
        for (int c = 0; c < 2; c++)
            cr_assert(fabs(a[c] - b[c]) < 1e-10 * (1 + fabs(a[c])), "f%d %g vs %g", c, a[c], b[c]);
    }
    system_free(&native);
    system_free(&written);
}
