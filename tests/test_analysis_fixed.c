/* test_analysis_fixed.c — fixed points by Newton's method (host/analysis/analysis_fixed.c) against
 * exact answers.
 *
 * Lorenz (σ, ρ, β) = (10, 28, 8/3): the origin, a saddle with eigenvalues −β and
 * (−(σ+1) ± √((σ+1)² + 4σ(ρ−1)))/2, and C± = (±√(β(ρ−1)), ±√(β(ρ−1)), ρ−1), saddle-foci whose
 * eigenvalues are the roots of λ³ + (σ+β+1)λ² + β(σ+ρ)λ + 2σβ(ρ−1). Van der Pol (μ = 1): one
 * unstable focus at 0 with λ = (μ ± i√(4 − μ²))/2. A one-neuron network ż = (w tanh z − z)/τ has
 * 0 and ±z* with z* = w tanh z* (found here by bisection), slopes (w sech²z − 1)/τ.
 */
#include <complex.h>
#include <criterion/criterion.h>

#include "ddm/analysis_fixed.h"
#include "ddm/plan.h"
#include "test_util.h"

static void build(struct ddm_system *sys, struct ddm_config *cfg, const char *text) {
    struct ddm_error err = {0};
    config_from_text(cfg, text);
    cr_assert_eq(system_build(sys, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(cfg, sys, PLAN_ALL, &err), 0, "%s", err.message);
}

/* A box [lo, hi]^k with unit scales, 64 seeds. */
static struct fixed_point_search box_search(int k, double lo, double hi, double scale) {
    struct fixed_point_search s = {.k = k, .seeds = 64, .seed = 5};
    for (int c = 0; c < k; c++) {
        s.lo[c] = lo;
        s.hi[c] = hi;
        s.scale[c] = scale;
    }
    return s;
}

static void find(const struct latent_process *p, const struct fixed_point_search *s,
                 struct fixed_point_set *set) {
    struct ddm_error err = {0};
    cr_assert_eq(fixed_points_find(p, s, set, &err), 0, "%s", err.message);
}

Test(fixed_points, lorenz_has_its_three_exact_points_and_eigenvalues) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg, "[system]\nname = lorenz\n");
    struct latent_process p = latent_process_target(&sys);
    struct fixed_point_search s = box_search(3, -30, 30, 8);
    s.lo[2] = -10;
    s.hi[2] = 50;
    struct fixed_point_set set;
    find(&p, &s, &set);
    cr_assert_eq(set.count, 3, "%d fixed points, expected 3", set.count);
    const double sigma = 10, rho = 28, beta = 8.0 / 3, q = sqrt(beta * (rho - 1));
    const double exact[3][3] = {{-q, -q, rho - 1}, {0, 0, 0}, {q, q, rho - 1}}; /* sorted by x */
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            cr_assert_float_eq(set.points[i].z[c], exact[i][c], 1e-10, "point %d coordinate %d", i,
                               c);
    cr_assert_eq(set.points[1].type, FP_SADDLE);
    const double root = sqrt((sigma + 1) * (sigma + 1) + 4 * sigma * (rho - 1));
    const double origin[3] = {(-(sigma + 1) + root) / 2, -beta, (-(sigma + 1) - root) / 2};
    for (int c = 0; c < 3; c++)
        cr_assert_float_eq(set.points[1].eig_re[c], origin[c], 1e-10, "λ_%d at 0", c);
    for (int i = 0; i < 3; i += 2) {
        const struct fixed_point *a = &set.points[i];
        cr_assert_eq(a->type, FP_SADDLE_FOCUS, "C%c is a %s", i ? '+' : '-',
                     fixed_point_type_name(a->type));
        cr_assert(a->eig_re[0] > 0 && a->eig_im[0] != 0 && a->eig_re[2] < 0 && a->eig_im[2] == 0);
        for (int c = 0; c < 3; c++) { /* p(λ) = 0 in complex arithmetic, relative to |λ|³ */
            double complex_re = a->eig_re[c], complex_im = a->eig_im[c];
            double complex l = complex_re + complex_im * I;
            double complex value = l * l * l + (sigma + beta + 1) * l * l +
                                   beta * (sigma + rho) * l + 2 * sigma * beta * (rho - 1);
            double size = pow(sqrt(complex_re * complex_re + complex_im * complex_im), 3);
            cr_assert(cabs(value) < 1e-10 * size, "λ_%d = %g%+gi is not a root", c, complex_re,
                      complex_im);
        }
    }
    fixed_point_set_free(&set);
    system_free(&sys);
    config_free(&cfg);
}

Test(fixed_points, van_der_pol_has_one_unstable_focus) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg, "[system]\nname = vdp\nparams = mu=1\n");
    struct latent_process p = latent_process_target(&sys);
    struct fixed_point_search s = box_search(2, -3, 3, 1.5);
    struct fixed_point_set set;
    find(&p, &s, &set);
    cr_assert_eq(set.count, 1, "%d fixed points, expected 1", set.count);
    cr_assert_eq(set.points[0].type, FP_UNSTABLE_FOCUS, "%s",
                 fixed_point_type_name(set.points[0].type));
    cr_assert_float_eq(set.points[0].z[0], 0, 1e-12);
    cr_assert_float_eq(set.points[0].z[1], 0, 1e-12);
    cr_assert_float_eq(set.points[0].eig_re[0], 0.5, 1e-12);
    cr_assert_float_eq(fabs(set.points[0].eig_im[0]), sqrt(3) / 2, 1e-12);
    fixed_point_set_free(&set);
    system_free(&sys);
    config_free(&cfg);
}

Test(fixed_points, one_dimension_nodes) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg, "[system]\nvars = x\ndrift = x - x^3\ndiffusion = 0.1\n");
    struct latent_process p = latent_process_target(&sys);
    struct fixed_point_search s = box_search(1, -2, 2, 1);
    struct fixed_point_set set;
    find(&p, &s, &set);
    cr_assert_eq(set.count, 3);
    const double where[3] = {-1, 0, 1}, slope[3] = {-2, 1, -2};
    const int type[3] = {FP_STABLE_NODE, FP_UNSTABLE_NODE, FP_STABLE_NODE};
    for (int i = 0; i < 3; i++) {
        cr_assert_float_eq(set.points[i].z[0], where[i], 1e-12);
        cr_assert_float_eq(set.points[i].eig_re[0], slope[i], 1e-10);
        cr_assert_eq(set.points[i].type, type[i]);
    }
    fixed_point_set_free(&set);
    system_free(&sys);
    config_free(&cfg);
}

/* k = 5, a triangular Jacobian: a ∈ {−1, 0, 1}, b = a/5, c = 0, d = b/3, e = 0, eigenvalues the
 * diagonal (1 − 3a², −5, −1, −3, −4). */
Test(fixed_points, five_dimensions_triangular) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg,
          "[system]\nvars = a, b, c, d, e\ndrift = a - a^3; -5*b + a; -c; -3*d + b; -4*e + c*d\n"
          "diffusion = 0.1\n");
    struct latent_process p = latent_process_target(&sys);
    struct fixed_point_search s = box_search(5, -2, 2, 1);
    s.seeds = 128;
    struct fixed_point_set set;
    find(&p, &s, &set);
    cr_assert_eq(set.count, 3, "%d points", set.count);
    for (int i = 0; i < 3; i++) {
        const struct fixed_point *q = &set.points[i];
        double a = i - 1, exact[5] = {a, a / 5, 0, a / 15, 0};
        double diagonal[5] = {1 - 3 * a * a, -5, -1, -3, -4}, sorted[5];
        for (int c = 0; c < 5; c++) cr_assert_float_eq(q->z[c], exact[c], 1e-12);
        memcpy(sorted, diagonal, sizeof sorted); /* by decreasing value */
        for (int x = 1; x < 5; x++)
            for (int y = x; y > 0 && sorted[y] > sorted[y - 1]; y--) {
                double t = sorted[y];
                sorted[y] = sorted[y - 1];
                sorted[y - 1] = t;
            }
        for (int c = 0; c < 5; c++) {
            cr_assert_float_eq(q->eig_re[c], sorted[c], 1e-10, "point %d λ_%d", i, c);
            cr_assert_eq(q->eig_im[c], 0);
        }
        cr_assert_eq(q->type, i == 1 ? FP_SADDLE : FP_STABLE_NODE);
    }
    fixed_point_set_free(&set);
    system_free(&sys);
    config_free(&cfg);
}

/* ż = (w tanh z − z)/τ: one neuron, k = 1, μ = 0, s = 1. */
static void one_neuron(struct ddm_model *model, float w) {
    struct ddm_error err = {0};
    cr_assert_eq(model_alloc(model, 1, 1, 1, 0, &err), 0);
    model->tau = 0.5;
    model->Gamma[0] = 1;
    model->Ws[0] = w;
    model->b[0] = 0;
    model->S[0] = 0.1f;
    model->latent_mean[0] = 0;
    model->latent_scale[0] = 1;
    cr_assert_eq(model_update_pinv(model, &err), 0);
}

/* z* > 0 with z* = w tanh z*, by bisection */
static double tanh_root(double w) {
    double lo = 1e-3, hi = w + 1;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (w * tanh(mid) - mid > 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

Test(fixed_points, network_points_are_exact) {
    struct ddm_model model;
    one_neuron(&model, 2);
    struct latent_process p = latent_process_network(&model);
    struct fixed_point_search s = box_search(1, -4, 4, 1);
    struct fixed_point_set set;
    find(&p, &s, &set);
    cr_assert_eq(set.count, 3);
    const double root = tanh_root(2), sech2 = 1 - tanh(root) * tanh(root);
    const double where[3] = {-root, 0, root},
                 slope[3] = {(2 * sech2 - 1) / 0.5, 2, (2 * sech2 - 1) / 0.5};
    for (int i = 0; i < 3; i++) {
        cr_assert_float_eq(set.points[i].z[0], where[i], 1e-12, "point %d at %.15g", i,
                           set.points[i].z[0]);
        cr_assert_float_eq(set.points[i].eig_re[0], slope[i], 1e-10);
        cr_assert_eq(set.points[i].type, i == 1 ? FP_UNSTABLE_NODE : FP_STABLE_NODE);
    }
    fixed_point_set_free(&set);
    model_free(&model);
}

/* A point in the plane with eigenvalues of its type: node (−1, −2), focus −1 ± i, saddle (1, −1).
 */
static struct fixed_point point_at(double x, double y, int type) {
    struct fixed_point q = {.z = {x, y}, .type = type, .match = -1, .nearest = -1};
    const double re[3][2] = {{-1, -2}, {-1, -1}, {1, -1}}, im[3][2] = {{0, 0}, {1, -1}, {0, 0}};
    const int row = type == FP_STABLE_NODE ? 0 : type == FP_STABLE_FOCUS ? 1 : 2;
    for (int c = 0; c < 2; c++) q.eig_re[c] = re[row][c], q.eig_im[c] = im[row][c];
    return q;
}

Test(fixed_points, matching_is_by_distance_and_type_and_counts_ends_near_points) {
    struct fixed_point net[4] = {point_at(0.02, 0, FP_SADDLE), point_at(1, 1.03, FP_STABLE_NODE),
                                 point_at(3, 0, FP_STABLE_FOCUS), point_at(-1, -1, FP_STABLE_NODE)};
    struct fixed_point tgt[3] = {point_at(0, 0, FP_SADDLE), point_at(1, 1, FP_STABLE_FOCUS),
                                 point_at(-1.05, -1, FP_STABLE_NODE)};
    struct fixed_point_set network = {2, 4, 4, net}, target = {2, 3, 3, tgt};
    const double scale[2] = {1, 1};
    /* −1.05 is 0.05 away: within 0.1, not within 0.04 */
    fixed_points_match(&network, &target, scale, 0.04);
    cr_assert_eq(net[0].match, 0);
    cr_assert_eq(net[1].match, -1, "a stable node does not match a stable focus");
    cr_assert_eq(net[1].nearest, 1);
    cr_assert_float_eq(net[1].distance, 0.03, 1e-12);
    cr_assert_eq(net[3].match, -1);
    fixed_points_match(&network, &target, scale, 0.1);
    cr_assert_eq(net[3].match, 2);
    cr_assert_eq(tgt[2].match, 3);
    /* ends: 3 near the spurious focus at (3, 0), 2 at the matched node, 1 NaN, 1 far from all */
    const double ends[7][2] = {{3.1, 0},   {2.8, 0.2}, {3, -0.4}, {-1, -0.9},
                               {-0.9, -1}, {NAN, 0},   {10, 10}};
    fixed_points_trap(&network, &ends[0][0], 7, scale);
    cr_assert_eq(net[2].ends_near, 3);
    cr_assert_eq(net[3].ends_near, 2);
    struct fixed_point_summary sum;
    fixed_points_summarise(&network, &target, 7, &sum);
    cr_assert_eq(sum.matched, 2);
    cr_assert_eq(sum.spurious, 2);
    cr_assert_eq(sum.missed, 1);
    cr_assert_eq(sum.spurious_attractors, 2, "the unmatched stable node and stable focus");
    cr_assert_eq(sum.ends_at_spurious, 3);
    cr_assert_eq(sum.held_by_spurious, 3, "the focus at (3, 0) is stable");
    /* wider scales shrink the distances: with s = 10 the focus' ends are within 0.05 */
    const double wide[2] = {10, 10};
    fixed_points_trap(&network, &ends[0][0], 7, wide);
    cr_assert_eq(net[2].ends_near, 6);
}

static struct fixed_point with_eigenvalues(int type, double re0, double im0, double re1,
                                           double im1) {
    struct fixed_point q = point_at(0, 0, type);
    q.eig_re[0] = re0, q.eig_im[0] = im0, q.eig_re[1] = re1, q.eig_im[1] = im1;
    return q;
}

Test(fixed_points, a_node_agrees_with_a_weakly_turning_focus_only) {
    struct fixed_point node = with_eigenvalues(FP_STABLE_NODE, -7.2, 0, -7.5, 0);
    struct fixed_point weak = with_eigenvalues(FP_STABLE_FOCUS, -7.3, 0.5, -7.3, -0.5);
    struct fixed_point strong = with_eigenvalues(FP_STABLE_FOCUS, -7.3, 1, -7.3, -1);
    struct fixed_point source = with_eigenvalues(FP_UNSTABLE_FOCUS, 7.3, 0.5, 7.3, -0.5);
    cr_assert(fixed_point_types_agree(2, &node, &weak));
    cr_assert(!fixed_point_types_agree(2, &node, &strong), "|Im| = 0.137 |Re| turns too fast");
    cr_assert(!fixed_point_types_agree(2, &node, &source), "stable vs unstable");
    cr_assert(fixed_point_types_agree(2, &strong, &strong));
}

/* The network ż = (2 tanh z − z)/τ against the target ż = −z: the network's 0 is an unstable node
 * where the target has a stable node, and ±z* are stable nodes the target lacks. */
Test(fixed_points, spurious_attractors_of_a_network_are_reported) {
    struct ddm_config cfg;
    struct ddm_system sys;
    build(&sys, &cfg, "[system]\nvars = x\ndrift = -x\ndiffusion = 0.1\n");
    struct ddm_model model;
    one_neuron(&model, 2);
    struct latent_process network = latent_process_network(&model),
                          target = latent_process_target(&sys);
    struct fixed_point_search s = box_search(1, -1, 1, 1);
    const double ends[4] = {1.9, -1.95, 2.1, 0.05};
    s.ends = ends;
    s.end_count = 4;
    struct fixed_point_set net, tgt;
    find(&network, &s, &net);
    find(&target, &s, &tgt);
    cr_assert_eq(net.count, 3, "±z* lie outside the box but hold trajectory ends: kept");
    cr_assert_eq(tgt.count, 1);
    fixed_points_match(&net, &tgt, s.scale, 0.1);
    fixed_points_trap(&net, ends, 4, s.scale);
    struct fixed_point_summary sum;
    fixed_points_summarise(&net, &tgt, 4, &sum);
    cr_assert_eq(sum.matched, 0);
    cr_assert_eq(sum.spurious, 3);
    cr_assert_eq(sum.spurious_attractors, 2);
    cr_assert_eq(sum.ends_at_spurious, 4);
    cr_assert_eq(sum.held_by_spurious, 3, "the end at 0.05 is near the unstable node");
    fixed_point_set_free(&net);
    model_free(&model);
    /* w = 0.5: one stable node at 0, matched */
    one_neuron(&model, 0.5f);
    network = latent_process_network(&model);
    find(&network, &s, &net);
    fixed_points_match(&net, &tgt, s.scale, 0.1);
    fixed_points_summarise(&net, &tgt, 0, &sum);
    cr_assert_eq(net.count, 1);
    cr_assert_eq(sum.matched, 1);
    cr_assert_eq(sum.spurious, 0);
    fixed_point_set_free(&net);
    fixed_point_set_free(&tgt);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}
