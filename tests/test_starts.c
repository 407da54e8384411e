/* test_starts.c — starts on the attractor and where Lyapunov starts end (host/sim/starts.c,
 * host/analysis/analysis_lyapunov.c; docs/starts_and_energy.md).
 *
 * An escaping but finite candidate must be refused, not only a NaN one; Lyapunov starts taken
 * from [simulate] start must still be distinct points of one target path, so the spectra get a
 * real error bar (Lorenz: λ₁ = 0.9056, Sprott); and a start that ends on another attractor (a
 * stable fixed point beside a limit cycle) is reported and kept out of the mean.
 */
#include <criterion/criterion.h>

#include "ddm/analysis_lyapunov.h"
#include "ddm/starts.h"
#include "ddm/plan.h"
#include "test_util.h"

static void build(struct ddm_system *sys, struct ddm_config *cfg, const char *text) {
    struct ddm_error err = {0};
    config_from_text(cfg, text);
    cr_assert_eq(system_build(sys, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(cfg, sys, PLAN_ALL, &err), 0, "%s", err.message);
}

/* A model whose only role here is the trained region μ ± 20 s. */
static void region_model(struct ddm_model *model, int k, const double *mean, const double *scale) {
    random_model(model, 8, k, k, 0, 5);
    for (int c = 0; c < k; c++) {
        model->latent_mean[c] = mean[c];
        model->latent_scale[c] = scale[c];
    }
}

/* dz = z·tanh(|z| − 1): 0 attracts |z| < 1, beyond it paths grow like eᵗ and stay finite for
 * the whole burn-in. From N(0, 1) about a third of the candidates escape that way. */
Test(starts, escaping_but_finite_candidates_are_refused) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    build(&sys, &cfg,
          "[system]\nvars = z\ndrift = z*tanh(abs(z) - 1)\ndiffusion = 0\n"
          "[train]\npath_bound = 100\npath_burn_in = 10\npath_dt = 0.01\n");
    double zero = 0, one = 1;
    region_model(&model, 1, &zero, &one);
    enum { B = 64 };
    double z0[B];
    struct start_report report = {0};
    struct ddm_error err = {0};
    cr_assert_eq(attractor_starts(&sys, &model, &cfg, 0, B, z0, &report, &err), 0, "%s",
                 err.message);
    for (int j = 0; j < B; j++)
        cr_assert(fabs(z0[j]) < 1, "start %d at z = %g is escaping, not on the attractor", j,
                  z0[j]);
    cr_assert(report.past_bound > 5, "%ld refused past the bound", report.past_bound);
    cr_assert_eq(report.candidates, B + start_report_refused(&report));
    cr_assert_eq(report.nonfinite, 0);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

/* The double well dz = z − z³ (wells at ±1), but a network trained on μ = 0, s = 0.01: every
 * settled point lies outside μ ± 20 s, and the failure names that reason. */
Test(starts, points_outside_the_trained_region_are_refused) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    build(&sys, &cfg, "[system]\nvars = z\ndrift = z - z^3\ndiffusion = 0\n");
    double zero = 0, small = 0.01, z0[4];
    region_model(&model, 1, &zero, &small);
    struct start_report report = {0};
    struct ddm_error err = {0};
    cr_assert_eq(attractor_starts(&sys, &model, &cfg, 0, 4, z0, &report, &err), DDM_ERUNTIME);
    cr_assert(strstr(err.message, "outside the trained region"), "%s", err.message);
    cr_assert_eq(report.outside_region, start_report_refused(&report));
    cr_assert(report.outside_region >= 4 * 7, "%ld", report.outside_region);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

/* [simulate] start set: four distinct starts along one Lorenz path, each spectrum near
 * λ₁ = 0.9056, and an error bar that is neither zero nor NaN and covers the reference. */
Test(starts, lyapunov_starts_from_a_fixed_start_are_distinct_and_give_an_error_bar) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    build(&sys, &cfg,
          "[system]\nname = lorenz\n[simulate]\nstart = 1, 1, 20\n"
          "[analysis]\nlyapunov_starts = 4\nlyapunov_transient = 1000\nlyapunov_precision = 0\n");
    const double mean[3] = {0, 0, 23.5}, scale[3] = {8, 9, 8.5};
    region_model(&model, 3, mean, scale);
    struct lyapunov_starts starts;
    struct ddm_error err = {0};
    cr_assert_eq(lyapunov_starts_find(&sys, &model, &cfg, 4, &starts, &err), 0, "%s", err.message);
    cr_assert(starts.min_separation > 0.05, "starts %g std apart", starts.min_separation);
    cr_assert_eq(starts.report.candidates, 1);
    struct latent_process p = latent_process_target(&sys);
    struct lyapunov_result r;
    cr_assert_eq(analysis_lyapunov(&p, starts.z0, 4, 0.01, 0, 25000, NULL, &r, &err), 0);
    double distance[4];
    for (int s = 0; s < 4; s++) distance[s] = lyapunov_starts_distance(&starts, r.end + 3 * s);
    lyapunov_average(&r, lyapunov_majority(&r), distance, starts.min_separation > 1e-6);
    cr_assert_eq(r.kept, 4);
    for (int s = 0; s < 4; s++) {
        cr_assert_eq(r.attractor[s], LYAPUNOV_CHAOTIC);
        cr_assert(distance[s] < LYAPUNOV_FAR, "start %d ended %g std from the path", s,
                  distance[s]);
    }
    cr_assert(r.error[0] > 1e-4 && r.error[0] < 0.05, "error bar %g", r.error[0]);
    cr_assert(fabs(r.mean[0] - 0.9056) < 3 * r.error[0] + 0.01, "λ₁ %.4f ± %.4f vs 0.9056",
              r.mean[0], r.error[0]);
    /* the same spectra from coinciding starts: no error bar */
    lyapunov_average(&r, LYAPUNOV_CHAOTIC, distance, 0);
    cr_assert(isnan(r.error[0]));
    lyapunov_result_free(&r);
    lyapunov_starts_free(&starts);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

/* A target path that settles on its fixed point has a std near 0: a network whose fixed point lies
 * 1e-4 from the target's (an OU with s = 0.4) is still on the target's attractor, not "2 std
 * away"; a point one trained std away is elsewhere. */
Test(starts, an_end_near_the_targets_fixed_point_is_on_its_attractor) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    build(&sys, &cfg,
          "[system]\nvars = z\ndrift = -z\ndiffusion = 0.5\n"
          "[analysis]\nlyapunov_starts = 4\nlyapunov_transient = 1000\n");
    const double mean[1] = {0}, scale[1] = {0.4};
    region_model(&model, 1, mean, scale);
    struct lyapunov_starts starts;
    struct ddm_error err = {0};
    cr_assert_eq(lyapunov_starts_find(&sys, &model, &cfg, 4, &starts, &err), 0, "%s", err.message);
    const double near = 1e-4, far = 0.4;
    const double d_near = lyapunov_starts_distance(&starts, &near);
    const double d_far = lyapunov_starts_distance(&starts, &far);
    cr_assert(d_near < LYAPUNOV_FAR, "1e-4 from the fixed point: %g std", d_near);
    cr_assert(d_far > LYAPUNOV_FAR, "one trained std away: %g std", d_far);
    lyapunov_starts_free(&starts);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

/* ρ = x² + y²: dx = x g − y, dy = y g + x, g = −(ρ − 1)(ρ − 4): the origin is a stable focus
 * (λ = −4, −4), r = 2 a stable limit cycle (λ = 0, −24), r = 1 the unstable cycle between them.
 * One start inside r = 1 falls onto the point; the other three settle on the cycle. */
Test(starts, a_start_that_ends_on_another_attractor_is_reported_not_averaged) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg,
          "[system]\nvars = x, y\n"
          "drift = -x*(x^2 + y^2 - 1)*(x^2 + y^2 - 4) - y; -y*(x^2 + y^2 - 1)*(x^2 + y^2 - 4) + x\n"
          "diffusion = 0\n");
    struct latent_process p = latent_process_target(&sys);
    const double z0[8] = {0.5, 0, 1.5, 0, 0, 1.8, -2.5, 0};
    struct lyapunov_result r;
    struct ddm_error err = {0};
    cr_assert_eq(analysis_lyapunov(&p, z0, 4, 0.01, 500, 2000, NULL, &r, &err), 0);
    cr_assert_eq(r.attractor[0], LYAPUNOV_FIXED_POINT, "λ₁ %g", r.per_start[0]);
    for (int s = 1; s < 4; s++)
        cr_assert_eq(r.attractor[s], LYAPUNOV_PERIODIC, "start %d: λ = (%g, %g)", s,
                     r.per_start[2 * s], r.per_start[2 * s + 1]);
    cr_assert_eq(lyapunov_majority(&r), LYAPUNOV_PERIODIC);
    cr_assert_eq(r.kept, 3);
    cr_assert_eq(r.kept_start[0], 0);
    cr_assert(fabs(r.per_start[0] + 4) < 0.05, "the point's λ₁ %g, exact −4", r.per_start[0]);
    cr_assert(fabs(r.mean[0]) < 0.02,
              "λ₁ %g of the cycle, exact 0 (the point would pull it "
              "to −1)",
              r.mean[0]);
    cr_assert(fabs(r.mean[1] / -24 - 1) < 0.02, "λ₂ %g, exact −24", r.mean[1]);
    lyapunov_result_free(&r);
    system_free(&sys);
    config_free(&cfg);
}

/* lyapunov_precision: each target start begins where the previous one's longest run ends, so the
 * target's starts follow disjoint pieces of one Lorenz orbit and their spread is a real error
 * bar; the averaged run is doubled from 300 steps until λ₁'s standard error is at most 2 % of
 * |λ₁| (or 16 × 300 steps), and λ₁ then agrees with 0.9056 within that error. */
Test(starts, lyapunov_runs_extend_to_the_precision_on_disjoint_pieces_of_the_orbit) {
    struct ddm_config cfg;
    struct ddm_system sys;
    struct ddm_model model;
    build(&sys, &cfg,
          "[system]\nname = lorenz\n[simulate]\nstart = 1, 1, 20\n"
          "[analysis]\nlyapunov_starts = 4\nlyapunov_transient = 100\nlyapunov_steps = 300\n"
          "lyapunov_precision = 0.02\n");
    const double mean[3] = {0, 0, 23.5}, scale[3] = {8, 9, 8.5};
    region_model(&model, 3, mean, scale);
    cr_assert_eq(lyapunov_longest_steps(&cfg), LYAPUNOV_LONGEST * 300);
    struct lyapunov_starts starts;
    struct ddm_error err = {0};
    cr_assert_eq(lyapunov_starts_find(&sys, &model, &cfg, 4, &starts, &err), 0, "%s", err.message);
    /* the path runs through all four disjoint pieces: 4 × (100 + 16 × 300) steps, all kept */
    cr_assert_eq(starts.path_points, 4 * (100 + LYAPUNOV_LONGEST * 300));
    struct latent_process p = latent_process_target(&sys);
    struct lyapunov_result r;
    cr_assert_eq(analysis_lyapunov_until(&p, starts.z0, 4, 0.01, 100, 300,
                                         lyapunov_longest_steps(&cfg), 0.02, NULL, &r, &err),
                 0);
    cr_assert(r.steps > 300 && r.steps <= LYAPUNOV_LONGEST * 300, "steps %ld", r.steps);
    cr_assert(r.error[0] <= 0.02 * r.mean[0] || r.steps == LYAPUNOV_LONGEST * 300,
              "error %g at %ld steps", r.error[0], r.steps);
    cr_assert(r.error[0] > 1e-3, "error bar %g: the starts overlap", r.error[0]);
    cr_assert(fabs(r.mean[0] - 0.9056) < 3 * r.error[0], "λ₁ %.4f ± %.4f vs 0.9056", r.mean[0],
              r.error[0]);
    const long extended = r.steps;
    lyapunov_result_free(&r);
    /* precision 0: exactly the steps asked for */
    cr_assert_eq(analysis_lyapunov_until(&p, starts.z0, 4, 0.01, 100, 300, 4800, 0, NULL, &r, &err),
                 0);
    cr_assert_eq(r.steps, 300);
    cr_assert(extended > r.steps);
    lyapunov_result_free(&r);
    lyapunov_starts_free(&starts);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}
