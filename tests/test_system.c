/* test_system.c — building the target SDE from [system] (host/model/system.c).
 *
 * Everything downstream (training targets, the coupled target paths, the Lyapunov spectra) trusts
 * that the system built from the INI text is the one the user meant. So: each built-in's drift and
 * exact Jacobian are compared with the textbook formula written out in C, parameters and the
 * three diffusion forms are checked by value and shape, and every mistake in [system] must come
 * back as one line naming the file, line, expression and column.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ddm/config.h"
#include "ddm/system.h"

#define assert_has(message, part)                                                                  \
    cr_assert(strstr((message), (part)) != NULL, "expected \"%s\" in \"%s\"", (part), (message))

static struct ddm_config cfg;
static struct ddm_system sys;
static struct ddm_error err;

static void setup(void) {
    memset(&err, 0, sizeof err);
    memset(&sys, 0, sizeof sys);
    cr_assert_eq(config_defaults(&cfg, &err), DDM_OK, "defaults: %s", err.message);
}

static void teardown(void) {
    system_free(&sys);
    config_free(&cfg);
}

TestSuite(system, .init = setup, .fini = teardown);

/* Loads `text` as "t.ini" (which must load) and builds the system from it. */
static int build(const char *text) {
    int code = config_load_text(&cfg, text, "t.ini", &err);
    cr_assert_eq(code, DDM_OK, "the configuration itself should load: %s", err.message);
    return system_build(&sys, &cfg, &err);
}

static void build_ok(const char *text) {
    int code = build(text);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
}

/* The build must fail with a usage error whose message contains `part`. */
static void build_fails(const char *text, const char *part) {
    cr_assert_eq(build(text), DDM_EUSAGE, "built without error: %s", text);
    cr_assert_eq(err.code, DDM_EUSAGE);
    assert_has(err.message, part);
}

static double param(const char *name) {
    for (int i = 0; i < sys.nparams; i++)
        if (!strcmp(sys.param_names[i], name)) return sys.param_values[i];
    cr_assert_fail("no parameter '%s'", name);
    return NAN;
}

/* Compares f and the Jacobian at z with the expected values, to rounding. */
static void expect_drift(const double *z, const double *f_want, const double *jac_want) {
    int k = sys.k;
    double f[DDM_MAX_K], f2[DDM_MAX_K], jac[DDM_MAX_K * DDM_MAX_K];
    system_drift(&sys, z, f);
    system_drift_jacobian(&sys, z, f2, jac);
    for (int i = 0; i < k; i++) {
        double tol = 1e-12 * (1 + fabs(f_want[i]));
        cr_assert_float_eq(f[i], f_want[i], tol, "f[%d] = %.17g, want %.17g", i, f[i], f_want[i]);
        cr_assert_float_eq(f2[i], f_want[i], tol, "f[%d] with the Jacobian", i);
        for (int j = 0; j < k; j++)
            cr_assert_float_eq(
                jac[i * k + j], jac_want[i * k + j], 1e-12 * (1 + fabs(jac_want[i * k + j])),
                "J[%d][%d] = %.17g, want %.17g", i, j, jac[i * k + j], jac_want[i * k + j]);
    }
}

/* σ must be the constant s·I (k×k). */
static void expect_sigma_identity(double s) {
    cr_assert(sys.diffusion_constant);
    cr_assert_eq(sys.m, sys.k);
    double sigma[DDM_MAX_K * DDM_MAX_M], z[DDM_MAX_K] = {0.3, -2, 5};
    system_diffusion(&sys, z, sigma);
    for (int i = 0; i < sys.k; i++)
        for (int j = 0; j < sys.m; j++)
            cr_assert_float_eq(sigma[i * sys.m + j], i == j ? s : 0.0, 1e-15, "σ[%d][%d]", i, j);
}

/* ---- built-ins ----------------------------------------------------------------------------- */

Test(system, vdp) {
    build_ok("[system]\nname = vdp\n");
    cr_assert_str_eq(sys.name, "vdp");
    cr_assert_eq(sys.k, 2);
    cr_assert_str_eq(sys.var_names[0], "x");
    cr_assert_str_eq(sys.var_names[1], "y");
    cr_assert_eq(sys.nparams, 1);
    double mu = param("mu");
    cr_assert_eq(mu, 1.0);
    double x = 0.7, y = -1.3, z[2] = {x, y};
    double f[2] = {y, mu * (1 - x * x) * y - x};
    double jac[4] = {0, 1, -2 * mu * x * y - 1, mu * (1 - x * x)};
    expect_drift(z, f, jac);
    expect_sigma_identity(0.2);
    cr_assert_str_eq(sys.drift_text, "y; mu*(1 - x^2)*y - x");
}

Test(system, lorenz) {
    build_ok("[system]\nname = lorenz\n");
    cr_assert_eq(sys.k, 3);
    double s = param("sigma"), r = param("rho"), b = param("beta");
    cr_assert_eq(s, 10.0);
    cr_assert_eq(r, 28.0);
    cr_assert_float_eq(b, 8.0 / 3.0, 1e-15);
    double x = 1.5, y = -2.25, w = 20.5, z[3] = {x, y, w};
    double f[3] = {s * (y - x), x * (r - w) - y, x * y - b * w};
    double jac[9] = {-s, s, 0, r - w, -1, -x, y, x, -b};
    expect_drift(z, f, jac);
    expect_sigma_identity(1.0);
}

Test(system, dadras) {
    build_ok("[system]\nname = dadras\n");
    cr_assert_eq(sys.k, 3);
    double a = param("a"), b = param("b"), c = param("c"), d = param("d"), e = param("e");
    cr_assert_eq(a, 3.0);
    cr_assert_eq(b, 2.7);
    cr_assert_eq(c, 1.7);
    cr_assert_eq(d, 2.0);
    cr_assert_eq(e, 9.0);
    double x = 0.4, y = -1.1, w = 2.3, z[3] = {x, y, w};
    double f[3] = {y - a * x + b * y * w, c * y - x * w + w, d * x * y - e * w};
    double jac[9] = {-a, 1 + b * w, b * y, -w, c, 1 - x, d * y, d * x, -e};
    expect_drift(z, f, jac);
    expect_sigma_identity(0.5);
}

Test(system, double_well) {
    build_ok("[system]\nname = double_well\n");
    cr_assert_eq(sys.k, 2);
    double a = param("a");
    cr_assert_eq(a, 1.0);
    double x = -1.2, y = 0.6, z[2] = {x, y};
    double f[2] = {a * x - x * x * x, -y};
    double jac[4] = {a - 3 * x * x, 0, 0, -1};
    expect_drift(z, f, jac);
    expect_sigma_identity(0.5);
}

Test(system, ou) {
    build_ok("[system]\nname = ou\n");
    cr_assert_eq(sys.k, 2);
    double a11 = param("a11"), a12 = param("a12"), a21 = param("a21"), a22 = param("a22");
    cr_assert_eq(a11, 1.0);
    cr_assert_eq(a12, -1.0);
    cr_assert_eq(a21, 1.0);
    cr_assert_eq(a22, 1.0);
    double x = 2, y = -3, z[2] = {x, y};
    double f[2] = {-(a11 * x + a12 * y), -(a21 * x + a22 * y)};
    double jac[4] = {-a11, -a12, -a21, -a22};
    expect_drift(z, f, jac);
    expect_sigma_identity(1.0);
}

Test(system, builtin_params_override) {
    build_ok("[system]\nname = lorenz\nparams = rho=20\n");
    cr_assert_eq(param("rho"), 20.0);
    cr_assert_eq(param("sigma"), 10.0, "the other parameters keep their values");
    double z[3] = {1, 2, 3}, f[3];
    system_drift(&sys, z, f);
    cr_assert_float_eq(f[1], 1 * (20 - 3) - 2, 1e-14, "ẏ = x(ρ - z) - y with ρ = 20");
}

Test(system, builtin_param_may_use_another) {
    build_ok("[system]\nname = lorenz\nparams = rho = 2*sigma + 1\n");
    cr_assert_eq(param("rho"), 21.0);
}

Test(system, builtin_diffusion_override) {
    build_ok("[system]\nname = vdp\ndiffusion = 0.05\n");
    expect_sigma_identity(0.05);
}

Test(system, unknown_builtin_param) {
    build_fails("[system]\nname = lorenz\nparams = rh=20\n",
                "t.ini:3: [system] params: 'rh' is not a parameter of 'lorenz' (did you mean "
                "'rho'?) (its parameters: sigma, rho, beta)");
}

/* ---- systems of one's own ------------------------------------------------------------------ */

Test(system, own_system_with_params) {
    build_ok("[system]\nname = damped\nvars = x, v\ndrift = v; -a*x - b*v + c\n"
             "params = a=2, b=3*a, c = a/4\n");
    cr_assert_str_eq(sys.name, "damped");
    cr_assert_eq(sys.k, 2);
    cr_assert_str_eq(sys.var_names[1], "v");
    cr_assert_eq(param("a"), 2.0);
    cr_assert_eq(param("b"), 6.0, "later parameters may use earlier ones");
    cr_assert_eq(param("c"), 0.5);
    double z[2] = {1.5, -0.5}, f[2] = {-0.5, -2 * 1.5 + 6 * 0.5 + 0.5}, jac[4] = {0, 1, -2, -6};
    expect_drift(z, f, jac);
    expect_sigma_identity(0.0); /* no diffusion given: deterministic */
    cr_assert_str_eq(sys.vars_text, "x, v");
}

Test(system, own_system_without_name_is_custom) {
    build_ok("[system]\nvars = u\ndrift = -u^3\n");
    cr_assert_str_eq(sys.name, "custom");
    cr_assert_eq(sys.k, 1);
    double z[1] = {2}, f[1] = {-8}, jac[1] = {-12};
    expect_drift(z, f, jac);
}

Test(system, params_may_use_only_earlier_params) {
    build_fails("[system]\nvars = x\ndrift = -a*x\nparams = a = b, b = 1\n",
                "t.ini:4: [system] params: parameter 'a' = 'b', column 1: ");
    assert_has(err.message, "'b'");
}

/* ---- diffusion ----------------------------------------------------------------------------- */

Test(system, diffusion_one_scalar_is_s_identity) {
    build_ok("[system]\nvars = x, y, w\ndrift = -x; -y; -w\nparams = s = 0.3\ndiffusion = 2*s\n");
    cr_assert_eq(sys.m, 3);
    expect_sigma_identity(0.6);
}

Test(system, diffusion_k_expressions_are_diagonal) {
    build_ok("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 1; 2.5\n");
    cr_assert_eq(sys.m, 2);
    cr_assert(sys.diffusion_constant);
    double sigma[4], z[2] = {1, 1};
    system_diffusion(&sys, z, sigma);
    cr_assert_eq(sigma[0], 1.0);
    cr_assert_eq(sigma[1], 0.0);
    cr_assert_eq(sigma[2], 0.0);
    cr_assert_eq(sigma[3], 2.5);
}

Test(system, diffusion_matrix_square) {
    build_ok("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion_matrix = 1, 0.5; 0, 2\n");
    cr_assert_eq(sys.k, 2);
    cr_assert_eq(sys.m, 2);
    double sigma[4], z[2] = {0, 0}, want[4] = {1, 0.5, 0, 2};
    system_diffusion(&sys, z, sigma);
    for (int i = 0; i < 4; i++) cr_assert_eq(sigma[i], want[i], "σ[%d] (row-major)", i);
    cr_assert_str_eq(sys.diffusion_text, "1, 0.5; 0, 2");
}

Test(system, diffusion_matrix_two_by_three) {
    build_ok("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion_matrix = 1, 2, 3; 4, 5, 6\n");
    cr_assert_eq(sys.m, 3, "m is the number of columns");
    double sigma[6], z[2] = {0, 0};
    system_diffusion(&sys, z, sigma);
    for (int i = 0; i < 6; i++) cr_assert_eq(sigma[i], i + 1.0, "σ[%d] (row-major)", i);
}

Test(system, diffusion_depending_on_the_state) {
    build_ok("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 0.1*x\n");
    cr_assert(!sys.diffusion_constant, "0.1*x depends on x");
    cr_assert_not_null(sys.diffusion);
    double sigma[4], z[2] = {3, -7};
    system_diffusion(&sys, z, sigma);
    cr_assert_float_eq(sigma[0], 0.3, 1e-15);
    cr_assert_float_eq(sigma[3], 0.3, 1e-15, "one scalar: the same on the whole diagonal");
    cr_assert_eq(sigma[1], 0.0);
    cr_assert_eq(sigma[2], 0.0);
}

Test(system, diffusion_diagonal_depending_on_the_state) {
    build_ok("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 1; sqrt(1 + y^2)\n");
    cr_assert(!sys.diffusion_constant);
    double sigma[4], z[2] = {5, 2};
    system_diffusion(&sys, z, sigma);
    cr_assert_eq(sigma[0], 1.0);
    cr_assert_float_eq(sigma[3], sqrt(5.0), 1e-15);
}

Test(system, diffusion_with_only_params_is_constant) {
    build_ok("[system]\nvars = x\ndrift = -x\nparams = s = 0.25\ndiffusion = sqrt(s)\n");
    cr_assert(sys.diffusion_constant);
    cr_assert_null(sys.diffusion);
    double sigma[1], z[1] = {9};
    system_diffusion(&sys, z, sigma);
    cr_assert_float_eq(sigma[0], 0.5, 1e-15);
}

/* ---- errors -------------------------------------------------------------------------------- */

Test(system, drift_count_differs_from_vars) {
    build_fails("[system]\nvars = x, y\ndrift = y\n",
                "t.ini:3: [system] drift: 1 expression for 2 variables (write one per variable, "
                "separated by ';')");
}

Test(system, syntax_error_names_expression_and_column) {
    build_fails("[system]\nvars = x, y\n\ndrift = y; -x +* 2\n",
                "t.ini:4: [system] drift: expression 2 '-x +* 2', column 5: ");
}

Test(system, unclosed_parenthesis) {
    build_fails("[system]\nvars = x, y\ndrift = y; (-x\n",
                "t.ini:3: [system] drift: expression 2 '(-x', column ");
}

Test(system, unknown_variable_suggests) {
    build_fails("[system]\nvars = x, y\ndrift = y; -xx\n",
                "t.ini:3: [system] drift: expression 2 '-xx', column 2: ");
    assert_has(err.message, "'xx'");
    assert_has(err.message, "did you mean 'x'?");
}

Test(system, wrong_number_of_arguments) {
    build_fails("[system]\nvars = x, y\ndrift = y; pow(x)\n",
                "t.ini:3: [system] drift: expression 2 'pow(x)', column ");
    assert_has(err.message, "pow");
}

Test(system, builtin_name_with_drift) {
    build_fails("[system]\nname = lorenz\nvars = x\ndrift = -x\n",
                "t.ini:4: [system] drift: given together with the built-in name = lorenz; to "
                "change a built-in set its params, to write your own system choose another name");
}

Test(system, unknown_name_without_drift) {
    build_fails(
        "[system]\nname = lorenzz\n",
        "t.ini:2: [system] name: 'lorenzz' is not a built-in (did you mean 'lorenz'?) "
        "(built-ins: vdp, lorenz, dadras, double_well, ou, wells); to define your own system "
        "give vars and drift");
}

Test(system, empty_system) {
    build_fails("[network]\nneurons = 8\n", "no target system: set [system] name to a built-in");
}

Test(system, vars_without_drift) {
    build_fails("[system]\nname = mine\nvars = x\n",
                "t.ini:3: [system] vars: a system of your own needs both vars and drift");
}

Test(system, both_diffusion_forms) {
    build_fails("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 1\ndiffusion_matrix = 1, 0; 0, "
                "1\n",
                "t.ini:5: [system] diffusion_matrix: give either diffusion or diffusion_matrix, "
                "not both");
}

Test(system, matrix_rows_of_unequal_length) {
    build_fails("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion_matrix = 1, 0.5; 2\n",
                "t.ini:4: [system] diffusion_matrix: row 2 has 1 entries but row 1 has 2 (every "
                "row needs m entries separated by ',')");
}

Test(system, matrix_with_wrong_row_count) {
    build_fails("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion_matrix = 1, 0; 0, 1; 1, 1\n",
                "t.ini:4: [system] diffusion_matrix: 3 rows for k = 2 variables (rows are "
                "separated by ';')");
}

Test(system, diffusion_with_wrong_count) {
    build_fails("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 1; 2; 3\n",
                "t.ini:4: [system] diffusion: 3 expressions; give one (σ = s·I) or k = 2 (diagonal "
                "σ), separated by ';'");
}

Test(system, diffusion_syntax_error) {
    build_fails("[system]\nvars = x, y\ndrift = -x; -y\ndiffusion = 0.1*\n",
                "t.ini:4: [system] diffusion: ");
    assert_has(err.message, "'0.1*', column ");
}

Test(system, bad_variable_names) {
    build_fails("[system]\nvars = x, 1y\ndrift = -x; -y\n",
                "t.ini:2: [system] vars: '1y' is not a valid variable name (letters, digits, '_'; "
                "not starting with a digit)");
}

Test(system, empty_variable_name) {
    build_fails("[system]\nvars = x, y,\ndrift = -x; -y\n",
                "t.ini:2: [system] vars: '' is not a valid variable name");
}

Test(system, too_many_variables) {
    build_fails("[system]\nvars = a, b, c, d, e, f, g, h, i\ndrift = -a\n",
                "t.ini:2: [system] vars: expected 1 to 8 variable names separated by ','");
}

Test(system, duplicate_variable_names) {
    build_fails("[system]\nvars = x, y, x\ndrift = -x; -y; 0\n",
                "t.ini:2: [system] vars: variable 'x' is named twice");
}

Test(system, variable_named_pi) {
    build_fails("[system]\nvars = pi, y\ndrift = y; -pi\n",
                "t.ini:2: [system] vars: 'pi' cannot be a variable name: it is the constant pi in "
                "expressions");
}

Test(system, variable_named_like_a_function) {
    build_fails("[system]\nvars = x, exp\ndrift = exp; -x\n",
                "t.ini:2: [system] vars: 'exp' cannot be a variable name: it is a function in "
                "expressions");
}

Test(system, parameter_named_like_a_variable) {
    build_fails("[system]\nvars = x, y\ndrift = y; -x\nparams = y = 2\n",
                "t.ini:4: [system] params: parameter 'y' has the name of a variable");
}

Test(system, parameter_given_twice) {
    build_fails("[system]\nvars = x\ndrift = -a*x\nparams = a = 1, a = 2\n",
                "t.ini:4: [system] params: parameter 'a' is given twice");
}

Test(system, parameter_without_value) {
    build_fails("[system]\nvars = x\ndrift = -a*x\nparams = a\n",
                "t.ini:4: [system] params: 'a' should be name=value, e.g. 'mu=1.5'");
}

Test(system, parameter_using_a_variable) {
    build_fails("[system]\nvars = x\ndrift = -a*x\nparams = a = 2*x\n",
                "t.ini:4: [system] params: parameter 'a' = '2*x', column 3: ");
}

Test(system, errors_from_set_name_the_option) {
    cr_assert_eq(config_load_text(&cfg, "[system]\nvars = x\n", "t.ini", &err), DDM_OK);
    cr_assert_eq(config_set(&cfg, "system.drift=-x; -y", &err), DDM_OK, "%s", err.message);
    cr_assert_eq(system_build(&sys, &cfg, &err), DDM_EUSAGE);
    cr_assert_str_eq(err.message, "--set system.drift: 2 expressions for 1 variable (write one "
                                  "per variable, separated by ';')");
}

Test(system, builtin_list_names_every_builtin) {
    const char *list = system_builtin_list();
    const char *names[] = {"vdp", "lorenz", "dadras", "double_well", "ou"};
    for (int i = 0; i < 5; i++) {
        assert_has(list, names[i]);
        char text[64];
        snprintf(text, sizeof text, "[system]\nname = %s\n", names[i]);
        system_free(&sys);
        config_free(&cfg);
        setup();
        build_ok(text);
        cr_assert_str_eq(sys.name, names[i]);
    }
}
