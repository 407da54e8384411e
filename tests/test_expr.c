/* test_expr.c — the expression compiler (include/ddm/expr.h): values, Jacobians, errors, helpers.
 *
 * Values are checked against the same formula written in C at random points, Jacobians against
 * the analytic Lorenz Jacobian and against Richardson-extrapolated central differences, every
 * error message for its column and wording, and a few thousand random inputs for robustness (the
 * parser will face user typos and fuzzers). The private tape header is read only to check that
 * folding and the integer-power rewrite really happen.
 */
#include <criterion/criterion.h>

#include "ddm/expr.h"
#include "../host/config/expr_tape.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const xyz[] = {"x", "y", "z"};
static const char *const lorenz_param_names[] = {"sigma", "rho", "beta"};
static const double lorenz_param_values[] = {10, 28, 8.0 / 3};
static const struct expr_symbols lorenz_symbols = {
    3, xyz, 3, lorenz_param_names, lorenz_param_values, 0, NULL};
static const char *const lorenz_drift[] = {"sigma*(y - x)", "x*(rho - z) - y", "x*y - beta*z"};

/* Parameters a and b of the value tests, with the same names in C. */
static const double a = 1.5, b = -0.25;
static const char *const ab_names[] = {"a", "b"};
static const double ab_values[] = {1.5, -0.25};
static const struct expr_symbols ab_symbols = {3, xyz, 2, ab_names, ab_values, 0, NULL};

/* xorshift64*: a fixed, platform-independent stream of test points. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double uniform(double lo, double hi) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return lo + (hi - lo) * (double)((rng_state * 2685821657736338717u) >> 11) * 0x1.0p-53;
}

static struct expr_program *compile(const char *const *sources, int count,
                                    const struct expr_symbols *symbols) {
    struct expr_error err = {0};
    struct expr_program *program = expr_compile(sources, count, symbols, &err);
    cr_assert(program, "'%s' did not compile: column %d: %s", sources[err.index], err.column,
              err.message);
    return program;
}

static double eval1(const char *source, const struct expr_symbols *symbols, const double *vars) {
    struct expr_program *program = compile(&source, 1, symbols);
    double value;
    expr_eval(program, vars, &value);
    expr_free(program);
    return value;
}

/* ---- values ---------------------------------------------------------------------------------- */

/* (name, expression source, the same in C); x in [0.3, 2], y in [-1.5, 1.5], z in [0.5, 2.5]. */
#define VALUE_CASES(X)                                                                             \
    X(add, "x + y", x + y)                                                                         \
    X(sub_left_assoc, "x - y - z", (x - y) - z)                                                    \
    X(div_left_assoc, "x / y / z", (x / y) / z)                                                    \
    X(mul, "x * y * z", x *y *z)                                                                   \
    X(precedence, "x + y * z - x / z", x + y * z - x / z)                                          \
    X(parentheses, "(x + y) * (z - x)", (x + y) * (z - x))                                         \
    X(neg_square, "-x^2", -(x * x))                                                                \
    X(neg_neg, "- -x - -y", x + y)                                                                 \
    X(neg_operand, "x*-y + -(z)", x * -y + -z)                                                     \
    X(right_assoc_power, "2^3^2 * x", 512 * x)                                                     \
    X(negative_exponent, "2^-1 * y", 0.5 * y)                                                      \
    X(var_exponent, "x^y", pow(x, y))                                                              \
    X(var_exponent_base_const, "2^y + z^-y", pow(2, y) + pow(z, -y))                               \
    X(real_exponent, "x^2.5 + z^-0.5", pow(x, 2.5) + pow(z, -0.5))                                 \
    X(cube, "x^3", pow(x, 3))                                                                      \
    X(int_powers, "y^4 + z^-2 + x^-1 + z^(1+1)", pow(y, 4) + pow(z, -2) + 1 / x + z * z)           \
    X(pow_function, "pow(x, 3) + pow(y, 2) + pow(x, 0.5)", pow(x, 3) + y * y + pow(x, 0.5))        \
    X(sin_cos_tan, "sin(y) + cos(y) * tan(y)", sin(y) + cos(y) * tan(y))                           \
    X(exp_log, "exp(y) - log(x)", exp(y) - log(x))                                                 \
    X(sqrt_tanh, "sqrt(x) * tanh(y)", sqrt(x) * tanh(y))                                           \
    X(abs_, "abs(y) + abs(-z)", fabs(y) + fabs(-z))                                                \
    X(min_max, "min(x, y) + max(y, z) * min(z, x)", fmin(x, y) + fmax(y, z) * fmin(z, x))          \
    X(params, "a*x + b", a *x + b)                                                                 \
    X(param_fold, "(a + b) * x / (2 * a)", ((a + b) * x) / (2 * a))                                \
    X(pi, "2*pi*x + sin(pi/6)*y", 2 * M_PI * x + sin(M_PI / 6) * y)                                \
    X(nested, "sin(x*y) + cos(exp(-z)) * tanh(x - y)", sin(x *y) + cos(exp(-z)) * tanh(x - y))     \
    X(white_space, " \t x\n*  ( y+ z ) ", x *(y + z))                                              \
    X(numbers, ".5*x + 1e-3 + 2.5E+4*y - 1.*z", .5 * x + 1e-3 + 2.5E+4 * y - 1. * z)

#define DEFINE_REFERENCE(id, source, c_expression)                                                 \
    static double reference_##id(double x, double y, double z) {                                   \
        (void)x, (void)y, (void)z;                                                                 \
        return c_expression;                                                                       \
    }
VALUE_CASES(DEFINE_REFERENCE)

static const struct {
    const char *source;
    double (*reference)(double x, double y, double z);
} value_cases[] = {
#define VALUE_ROW(id, source, c_expression) {source, reference_##id},
    VALUE_CASES(VALUE_ROW)};

Test(expr, values_match_c_formulas) {
    for (size_t c = 0; c < sizeof value_cases / sizeof value_cases[0]; c++) {
        struct expr_program *program = compile(&value_cases[c].source, 1, &ab_symbols);
        for (int trial = 0; trial < 20; trial++) {
            double v[3] = {uniform(0.3, 2), uniform(-1.5, 1.5), uniform(0.5, 2.5)}, got;
            expr_eval(program, v, &got);
            double want = value_cases[c].reference(v[0], v[1], v[2]);
            cr_assert(fabs(got - want) <= 1e-14 * fabs(want),
                      "'%s' at (%g, %g, %g): %.17g, C %.17g", value_cases[c].source, v[0], v[1],
                      v[2], got, want);
        }
        expr_free(program);
    }
}

Test(expr, lorenz_program_has_three_outputs) {
    struct expr_program *program = compile(lorenz_drift, 3, &lorenz_symbols);
    cr_assert_eq(expr_outputs(program), 3);
    cr_assert_eq(expr_inputs(program), 3);
    double v[3] = {1.5, -2, 20}, out[3];
    expr_eval(program, v, out);
    cr_assert_eq(out[0], 10 * (-2 - 1.5));
    cr_assert_eq(out[1], 1.5 * (28 - 20) - -2);
    cr_assert_eq(out[2], 1.5 * -2 - (8.0 / 3) * 20);
    expr_free(program);
}

Test(expr, outputs_may_be_bare_variables_or_constants) {
    const char *sources[] = {"z", "rho", "x"};
    struct expr_program *program = compile(sources, 3, &lorenz_symbols);
    double v[3] = {1, 2, 3}, out[3];
    expr_eval(program, v, out);
    cr_assert(out[0] == 3 && out[1] == 28 && out[2] == 1);
    expr_free(program);
}

/* Parameters and pi fold away: only the instructions that touch a variable remain. */
Test(expr, constants_are_folded) {
    const char *source = "x * (sigma * rho / beta - 2*pi) + sin(pi/4)^2";
    struct expr_program *program = compile(&source, 1, &lorenz_symbols);
    cr_assert_eq(program->ninstr, 2, "tape has %d instructions", program->ninstr);
    double v[3] = {0.7, 0, 0}, got;
    expr_eval(program, v, &got);
    double want = 0.7 * (10 * 28 / (8.0 / 3) - 2 * M_PI) + pow(sin(M_PI / 4), 2);
    cr_assert(fabs(got - want) <= 1e-15 * fabs(want));
    expr_free(program);
}

static int count_op(const struct expr_program *program, enum expr_op op) {
    int n = 0;
    for (int i = 0; i < program->ninstr; i++) n += program->code[i].op == op;
    return n;
}

Test(expr, small_integer_powers_become_multiplications) {
    const char *powers[] = {"x^0",  "x^1",  "x^2",  "x^3",       "x^4",    "x^-1",
                            "x^-2", "x^-3", "x^-4", "pow(x, 3)", "x^(6/2)"};
    const int exponents[] = {0, 1, 2, 3, 4, -1, -2, -3, -4, 3, 3};
    for (int p = 0; p < (int)(sizeof powers / sizeof powers[0]); p++) {
        struct expr_program *program = compile(&powers[p], 1, &lorenz_symbols);
        cr_assert_eq(count_op(program, EXPR_POW) + count_op(program, EXPR_POW_CONST), 0,
                     "'%s' still calls pow", powers[p]);
        cr_assert_leq(program->ninstr, 3, "'%s' takes %d instructions", powers[p], program->ninstr);
        for (int trial = 0; trial < 50; trial++) {
            double v[3] = {uniform(-3, 3), 0, 0}, got;
            expr_eval(program, v, &got);
            double want = pow(v[0], exponents[p]);
            cr_assert(fabs(got - want) <= 1e-15 * fabs(want), "'%s' at %.17g: %.17g, pow %.17g",
                      powers[p], v[0], got, want);
            if (exponents[p] == 2) cr_assert_eq(got, v[0] * v[0]); /* one rounding, like pow */
            if (exponents[p] == -1) cr_assert_eq(got, 1 / v[0]);
        }
        expr_free(program);
    }
    double nan_input[3] = {NAN, 0, 0};
    cr_assert_eq(eval1("x^0", &lorenz_symbols, nan_input), pow(NAN, 0)); /* 1, as pow says */
}

Test(expr, other_exponents_keep_pow) {
    const char *cases[] = {"x^5", "x^2.5", "x^-0.5", "x^y"};
    const enum expr_op ops[] = {EXPR_POW_CONST, EXPR_POW_CONST, EXPR_POW_CONST, EXPR_POW};
    for (int c = 0; c < 4; c++) {
        struct expr_program *program = compile(&cases[c], 1, &lorenz_symbols);
        cr_assert_eq(program->ninstr, 1);
        cr_assert_eq(program->code[0].op, ops[c], "'%s'", cases[c]);
        expr_free(program);
    }
}

Test(expr, min_max_propagate_nan) {
    double v[3] = {NAN, 1, 0};
    cr_assert(isnan(eval1("min(x, y)", &lorenz_symbols, v)));
    cr_assert(isnan(eval1("max(y, x)", &lorenz_symbols, v)));
}

/* ---- Jacobians ------------------------------------------------------------------------------- */

/* d out / d var_j by Richardson-extrapolated central differences: error O(h^4). */
static void finite_difference_jacobian(const struct expr_program *program, const double *v,
                                       double *jac) {
    int n = expr_inputs(program), m = expr_outputs(program);
    for (int j = 0; j < n; j++) {
        double h = 1e-3 * fmax(1, fabs(v[j])), estimate[2][EXPR_MAX_VARS];
        for (int level = 0; level < 2; level++) {
            double step = level ? h / 2 : h, plus[EXPR_MAX_VARS], minus[EXPR_MAX_VARS];
            double w[EXPR_MAX_VARS];
            memcpy(w, v, sizeof(double) * n);
            w[j] = v[j] + step;
            expr_eval(program, w, plus);
            w[j] = v[j] - step;
            expr_eval(program, w, minus);
            for (int i = 0; i < m; i++) estimate[level][i] = (plus[i] - minus[i]) / (2 * step);
        }
        for (int i = 0; i < m; i++) jac[i * n + j] = (4 * estimate[1][i] - estimate[0][i]) / 3;
    }
}

static void check_jacobian(const char *const *sources, int count,
                           const struct expr_symbols *symbols, const double *lo, const double *hi) {
    struct expr_program *program = compile(sources, count, symbols);
    int n = expr_inputs(program);
    for (int trial = 0; trial < 20; trial++) {
        double v[EXPR_MAX_VARS], out[8], values[8], jac[64], fd[64];
        for (int j = 0; j < n; j++) v[j] = uniform(lo[j], hi[j]);
        expr_eval_jacobian(program, v, out, jac);
        expr_eval(program, v, values);
        finite_difference_jacobian(program, v, fd);
        for (int i = 0; i < count; i++) {
            cr_assert_eq(out[i], values[i], "the Jacobian pass changed output %d", i);
            for (int j = 0; j < n; j++) {
                double err = fabs(jac[i * n + j] - fd[i * n + j]);
                cr_assert(err <= 1e-7 * fmax(fabs(jac[i * n + j]), 1e-3),
                          "d('%s')/d%s: %.12g, finite differences %.12g", sources[i],
                          symbols->vars[j], jac[i * n + j], fd[i * n + j]);
            }
        }
    }
    expr_free(program);
}

Test(expr, lorenz_jacobian_is_exact) {
    struct expr_program *program = compile(lorenz_drift, 3, &lorenz_symbols);
    double s = 10, r = 28, be = 8.0 / 3;
    for (int trial = 0; trial < 20; trial++) {
        double x = uniform(-20, 20), y = uniform(-20, 20), z = uniform(0, 50);
        double v[3] = {x, y, z}, out[3], jac[9];
        double want[9] = {-s, s, 0, r - z, -1, -x, y, x, -be};
        expr_eval_jacobian(program, v, out, jac);
        for (int k = 0; k < 9; k++) cr_assert_eq(jac[k], want[k], "entry %d: %.17g", k, jac[k]);
    }
    expr_free(program);
}

Test(expr, lorenz_jacobian_matches_finite_differences) {
    const double lo[] = {-20, -20, 0}, hi[] = {20, 20, 50};
    check_jacobian(lorenz_drift, 3, &lorenz_symbols, lo, hi);
}

Test(expr, van_der_pol_jacobian_matches_finite_differences) {
    const char *names[] = {"mu"}, *vars[] = {"x", "y"};
    const double values[] = {1.5}, lo[] = {-3, -3}, hi[] = {3, 3};
    const struct expr_symbols symbols = {2, vars, 1, names, values, 0, NULL};
    const char *drift[] = {"y", "mu*(1 - x^2)*y - x"};
    check_jacobian(drift, 2, &symbols, lo, hi);
}

Test(expr, every_function_jacobian_matches_finite_differences) {
    const char *messy[] = {
        "sin(x*y) + cos(z)^2 - tan(0.3*y) + exp(-x^2) * log(1 + z^2) + sqrt(x^2 + 1) * tanh(y)",
        "abs(y - 3) + abs(z - 1.5) + pow(x, z) + x^y + 2^z + pow(z, 1.7) + x/y^3",
        "x^4*z^-4 - 1/z^-2 - x^-3*y",
        "min(x, z - 2) * max(y, x - 1) + min(x*y, 1.5) - max(z, 1.5) / abs(-y)"};
    const double lo[] = {0.5, 0.5, 0.5}, hi[] = {2, 1.5, 3};
    check_jacobian(messy, 4, &lorenz_symbols, lo, hi);
}

Test(expr, piecewise_derivatives_follow_the_selected_branch) {
    const char *sources[] = {"min(x, y)", "max(x, y)", "abs(x)"};
    struct expr_program *program = compile(sources, 3, &lorenz_symbols);
    double out[3], jac[9];
    expr_eval_jacobian(program, (double[]){1, 2, 0}, out, jac);
    cr_assert(jac[0] == 1 && jac[1] == 0 && jac[3] == 0 && jac[4] == 1 && jac[6] == 1);
    expr_eval_jacobian(program, (double[]){3, 2, 0}, out, jac);
    cr_assert(jac[0] == 0 && jac[1] == 1 && jac[3] == 1 && jac[4] == 0 && jac[6] == 1);
    expr_eval_jacobian(program, (double[]){0, 2, 0}, out, jac);
    cr_assert_eq(jac[6], 0, "abs has slope 0 at its kink");
    expr_free(program);
}

Test(expr, power_of_zero_has_the_limit_derivative) {
    const char *source = "y^x"; /* d/dx 0^x = 0 for x > 0, though log 0 = -inf */
    struct expr_program *program = compile(&source, 1, &lorenz_symbols);
    double out, jac[3];
    expr_eval_jacobian(program, (double[]){2, 0, 0}, &out, jac);
    cr_assert(out == 0 && jac[0] == 0 && jac[1] == 0 && jac[2] == 0);
    expr_free(program);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void check_error(const char *source, int column, const char *expected) {
    struct expr_error err = {0};
    struct expr_program *program = expr_compile(&source, 1, &lorenz_symbols, &err);
    cr_assert_null(program, "'%s' compiled", source);
    cr_assert_eq(err.index, 0);
    cr_assert_eq(err.column, column, "'%s': column %d (want %d): %s", source, err.column, column,
                 err.message);
    cr_assert(strstr(err.message, expected), "'%s': message \"%s\" lacks \"%s\"", source,
              err.message, expected);
}

Test(expr, syntax_errors_point_at_the_token) {
    check_error(")", 1, "unexpected ')' (expected a number, a name or '(')");
    check_error("x + )", 5, "unexpected ')' (expected a number, a name or '(')");
    check_error("x +", 4, "unexpected end of expression (expected a number, a name or '(')");
    check_error("sin(x", 6, "missing ')' to close '(' opened at column 4");
    check_error("(x + (y)  ", 11, "missing ')' to close '(' opened at column 1");
    check_error("(x y)", 4,
                "unexpected 'y' (expected an operator or ')' to close '(' opened at "
                "column 1)");
    check_error("min(x y)", 7, "expected an operator, ',' or ')' to close '(' opened at column 4");
    check_error("", 1, "empty expression");
    check_error(" \t ", 1, "empty expression");
    check_error("x y", 3,
                "unexpected text 'y' after the end of the expression (missing an "
                "operator?)");
    check_error("2 (x)", 3, "unexpected text '(' after the end");
    check_error("x)", 2, "unmatched ')'");
    check_error("x, y", 2, "unexpected ','");
    check_error("x**2", 3, "write x^2 for a power");
    check_error("x*+2", 3, "there is no unary '+'");
    check_error("x + $", 5, "unexpected character '$'");
    check_error("x \x80", 3, "unexpected character (byte 0x80)");
}

Test(expr, number_errors) {
    check_error("1.2.3 + x", 1, "invalid number '1.2.3'");
    check_error("x + 2e", 5, "invalid number '2e'");
    check_error("x*2e+", 3, "invalid number '2e+'");
    check_error("3x", 1, "invalid number '3x'");
    check_error("1e999", 1, "number '1e999' is too large for a double");
}

Test(expr, name_errors_suggest_and_list) {
    struct expr_error err;
    const char *source = "x + sigmaa*y";
    cr_assert_null(expr_compile(&source, 1, &lorenz_symbols, &err));
    cr_assert_eq(err.column, 5);
    cr_assert_str_eq(err.message, "unknown name 'sigmaa' (did you mean 'sigma'?); known: variables "
                                  "x, y, z; parameters sigma, rho, beta; constant pi");
    source = "2*sine(x)";
    cr_assert_null(expr_compile(&source, 1, &lorenz_symbols, &err));
    cr_assert_eq(err.column, 3);
    cr_assert_str_eq(err.message, "unknown function 'sine' (did you mean 'sin'?); functions: sin "
                                  "cos tan exp log sqrt tanh abs pow min max sign");
    check_error("X + 1", 1, "(did you mean 'x'?)");
    check_error("q + 1", 1, "unknown name 'q'; known: variables");
    check_error("foo(x)", 1, "unknown function 'foo'; functions: sin");
    check_error("2 * pow(x)", 5, "'pow' takes 2 arguments, got 1");
    check_error("sin(x, y)", 1, "'sin' takes 1 argument, got 2");
    check_error("max()", 1, "'max' takes 2 arguments, got 0");
    check_error("1 + x(y + 1)", 5, "'x' is a variable, not a function");
    check_error("rho (2)", 1, "'rho' is a parameter, not a function");
    check_error("sin + 1", 1, "'sin' is a function: call it as sin(...)");
}

Test(expr, limits_are_errors_not_crashes) {
    char text[4096];
    /* x*x*...: each '*' takes a register; after the 3 variables, 509 fit, the 510th does not */
    int n = 0;
    for (int k = 0; k < 600; k++) n += sprintf(text + n, "x*");
    text[n - 1] = '\0';
    check_error(text, 2 * 510, "expression too long (more than 512 registers)");
    memset(text, '(', 300);
    strcpy(text + 300, "x");
    check_error(text, 201, "nested too deeply (more than 200 levels");
    memset(text, '-', 300);
    check_error(text, 201, "nested too deeply");
    /* long but foldable: 1+1+...+1 costs no register at all */
    n = 0;
    for (int k = 0; k < 1000; k++) n += sprintf(text + n, "1+");
    strcpy(text + n, "x");
    double v[3] = {0.5, 0, 0};
    cr_assert_eq(eval1(text, &lorenz_symbols, v), 1000.5);
}

Test(expr, error_names_the_failing_source) {
    const char *sources[] = {"x", "y +", "z"};
    struct expr_error err;
    cr_assert_null(expr_compile(sources, 3, &lorenz_symbols, &err));
    cr_assert_eq(err.index, 1);
    cr_assert_eq(err.column, 4);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void check_split(const char *text, char separator, int expected_count,
                        const char *const *expected) {
    char *parts[4], storage[64];
    int count = expr_split(text, separator, parts, 4, storage, sizeof storage);
    cr_assert_eq(count, expected_count, "'%s' split into %d parts", text, count);
    for (int i = 0; i < count; i++)
        cr_assert_str_eq(parts[i], expected[i], "'%s' part %d", text, i);
}

Test(expr, split_at_top_level) {
    check_split(" a ; b*(c;d) ;  e ", ';', 3, (const char *[]){"a", "b*(c;d)", "e"});
    check_split("sigma=10, r=min(1, max(2, 3)), beta=8/3", ',', 3,
                (const char *[]){"sigma=10", "r=min(1, max(2, 3))", "beta=8/3"});
    check_split("a;;b", ';', 3, (const char *[]){"a", "", "b"});
    check_split("   ", ';', 1, (const char *[]){""});
    check_split("x);y", ';', 2, (const char *[]){"x)", "y"});
    check_split("x);(a;b)", ';', 2,
                (const char *[]){"x)", "(a;b)"}); /* a stray ')' opens nothing */
    check_split("((a;b);c", ';', 1, (const char *[]){"((a;b);c"});
    check_split("a;b;c;d;e", ';', -1, NULL); /* more than max_parts */
    char *parts[4], storage[6];
    cr_assert_eq(expr_split("ab;cd", ';', parts, 4, storage, 6), 2); /* "ab\0cd\0" fits */
    cr_assert_eq(expr_split("ab;cde", ';', parts, 4, storage, 6), -1);
}

Test(expr, nearest_name_suggests_only_close_names) {
    const char *names[] = {"x", "y", "z", "sigma", "rho", "beta"};
    cr_assert_eq(nearest_name("sigmaa", names, 6), 3);
    cr_assert_eq(nearest_name("SIGMA", names, 6), 3);
    cr_assert_eq(nearest_name("bta", names, 6), 5);
    cr_assert_eq(nearest_name("rh", names, 6), 4);
    cr_assert_eq(nearest_name("Y", names, 6), 1);
    cr_assert_eq(nearest_name("q", names, 6), -1, "one letter for another is no hint");
    cr_assert_eq(nearest_name("gamma", names, 6), -1);
    cr_assert_eq(nearest_name("sigma_rho", names, 6), -1);
}

Test(expr, depends_on_vars_tells_constant_diffusion) {
    const char *names[] = {"s"}, *sources[] = {"0.5*s", "0.1*x", "x", "x^0 + s"};
    const double values[] = {0.3};
    const struct expr_symbols symbols = {3, xyz, 1, names, values, 0, NULL};
    struct expr_program *program = compile(sources, 4, &symbols);
    cr_assert(!expr_depends_on_vars(program, 0));
    cr_assert(expr_depends_on_vars(program, 1));
    cr_assert(expr_depends_on_vars(program, 2));
    cr_assert(!expr_depends_on_vars(program, 3));
    double out[4];
    expr_eval(program, (double[]){2, 0, 0}, out);
    cr_assert(out[0] == 0.5 * 0.3 && out[3] == 1 + 0.3);
    expr_free(program);
}

Test(expr, constant_expressions) {
    struct expr_error err;
    double value;
    cr_assert_eq(expr_constant("8/3", NULL, &value, &err), 0);
    cr_assert_eq(value, 8.0 / 3);
    cr_assert_eq(expr_constant(" 2*pi ", &lorenz_symbols, &value, &err), 0);
    cr_assert_eq(value, 2 * M_PI);
    cr_assert_eq(expr_constant("sigma*rho^2", &lorenz_symbols, &value, &err), 0);
    cr_assert_eq(value, 10 * pow(28, 2));
    cr_assert_eq(expr_constant("1 + y", &lorenz_symbols, &value, &err), -1);
    cr_assert_eq(err.column, 5);
    cr_assert(strstr(err.message, "'y' is a variable; a constant may use only numbers"));
    cr_assert_eq(expr_constant("1/0", NULL, &value, &err), -1);
    cr_assert(strstr(err.message, "not a finite number"), "%s", err.message);
    cr_assert_eq(expr_constant("2*sigm", &lorenz_symbols, &value, &err), -1);
    cr_assert_str_eq(err.message, "unknown name 'sigm' (did you mean 'sigma'?); known: parameters "
                                  "sigma, rho, beta; constant pi");
}

/* ---- robustness ------------------------------------------------------------------------------ */

static void compile_anything(const char *text) {
    struct expr_error err = {.index = -1, .column = -1};
    struct expr_program *program = expr_compile(&text, 1, &lorenz_symbols, &err);
    if (program) {
        double v[3] = {0.5, -1, 2}, out, jac[3];
        expr_eval(program, v, &out);
        expr_eval_jacobian(program, v, &out, jac);
        expr_free(program);
        return;
    }
    int len = (int)strlen(text);
    cr_assert(err.message[0], "no message for '%s'", text);
    cr_assert_eq(err.index, 0);
    cr_assert(err.column >= 1 && err.column <= len + 1, "column %d for '%s' (%d bytes): %s",
              err.column, text, len, err.message);
}

Test(expr, random_inputs_never_crash) {
    static const char *const vocabulary[] = {
        "x", "y",      "sigma", "rho",  "pi",   "(", ")",   "+",     "-",    "*", "/",
        "^", ",",      "sin(",  "pow(", "min(", "1", "2.5", ".5",    "1e-3", " ", "2e",
        "$", "sigmaa", "sine(", "x(",   "0",    "4", "-2",  "tanh(", "abs(", ";", "\t"};
    const int nwords = (int)(sizeof vocabulary / sizeof vocabulary[0]);
    char text[512];
    int compiled = 0;
    for (int trial = 0; trial < 3000; trial++) {
        int len = 1 + (int)uniform(0, 64);
        for (int i = 0; i < len; i++) text[i] = (char)(1 + (int)uniform(0, 255));
        text[len] = '\0';
        compile_anything(text);
    }
    for (int trial = 0; trial < 5000; trial++) {
        int n = 0, words = 1 + (int)uniform(0, 24);
        for (int w = 0; w < words; w++)
            n += sprintf(text + n, "%s", vocabulary[(int)uniform(0, nwords)]);
        struct expr_error err;
        const char *source = text;
        struct expr_program *program = expr_compile(&source, 1, &lorenz_symbols, &err);
        compiled += program != NULL;
        expr_free(program);
        compile_anything(text);
    }
    cr_assert_gt(compiled, 50, "the token soup should sometimes be valid (%d were)", compiled);
}

/* ---- sign, e^, and definitions ([system] define) -------------------------------------------- */

Test(expr, sign_is_minus_one_zero_or_one_with_slope_zero) {
    const double at[][3] = {{-2.5, 0, 0}, {0, 0, 0}, {3e-300, 0, 0}, {-0.0, 0, 0}};
    const double want[] = {-1, 0, 1, 0};
    const char *source = "sign(x)*y + sign(-2)";
    struct expr_program *program = compile(&source, 1, &lorenz_symbols);
    for (int i = 0; i < 4; i++) {
        double v[3] = {at[i][0], 0.75, 1}, out, jac[3];
        expr_eval_jacobian(program, v, &out, jac);
        cr_assert_eq(out, want[i] * 0.75 - 1, "sign(%g)", at[i][0]);
        cr_assert_eq(jac[0], 0, "d sign(x)/dx is 0 away from (and at) the jump");
        cr_assert_eq(jac[1], want[i], "d/dy of sign(x)*y is sign(x)");
    }
    double nan_in[3] = {NAN, 1, 1}, out;
    expr_eval(program, nan_in, &out);
    cr_assert(isnan(out), "sign(NaN) stays NaN, so a blown-up state is not hidden");
    expr_free(program);
}

Test(expr, e_to_a_power_offers_exp) {
    check_error("e^(x)", 1, "write e^u as exp(u)");
    check_error("2*e ^ x", 3, "write e^u as exp(u)");
    check_error("e + x", 1, "unknown name 'e'"); /* not a power: the usual message */
}

static const char *const sigmoid_args[] = {"u"};
static const char *const hill_args[] = {"u", "n"};
static const struct expr_define lorenz_defines[] = {
    {"S", 1, sigmoid_args, "1/(1 + exp(-u))"},
    {"r2", 0, NULL, "x^2 + y^2"},
    {"H", 2, hill_args, "u^n/(1 + u^n) + S(u)*r2"}, /* uses the two before it */
};
static const struct expr_symbols defined_symbols = {
    3, xyz, 3, lorenz_param_names, lorenz_param_values, 3, lorenz_defines};

Test(expr, definitions_equal_the_expressions_written_out) {
    const char *with[] = {"S(x) - S(-y)*rho", "sqrt(r2) + H(z, 3)"};
    const char *out_longhand[] = {"1/(1 + exp(-x)) - 1/(1 + exp(-(-y)))*rho",
                                  "sqrt(x^2 + y^2) + z^3/(1 + z^3) + 1/(1 + exp(-z))*(x^2 + y^2)"};
    struct expr_program *a = compile(with, 2, &defined_symbols);
    struct expr_program *b = compile(out_longhand, 2, &lorenz_symbols);
    for (int trial = 0; trial < 50; trial++) {
        double v[3] = {uniform(-3, 3), uniform(-3, 3), uniform(0.1, 3)};
        double fa[2], fb[2], ja[6], jb[6];
        expr_eval_jacobian(a, v, fa, ja);
        expr_eval_jacobian(b, v, fb, jb);
        for (int i = 0; i < 2; i++)
            cr_assert(fabs(fa[i] - fb[i]) <= 1e-14 * fmax(1, fabs(fb[i])), "%s: %.17g vs %.17g",
                      with[i], fa[i], fb[i]);
        for (int i = 0; i < 6; i++)
            cr_assert(fabs(ja[i] - jb[i]) <= 1e-13 * fmax(1, fabs(jb[i])), "jac[%d] %.17g vs %.17g",
                      i, ja[i], jb[i]);
    }
    expr_free(a);
    expr_free(b);
    const double lo[3] = {-2, -2, 0.2}, hi[3] = {2, 2, 2};
    check_jacobian(with, 2, &defined_symbols, lo, hi);
}

static void check_define_use_error(const char *source, int column, const char *expected) {
    struct expr_error err = {0};
    struct expr_program *program = expr_compile(&source, 1, &defined_symbols, &err);
    cr_assert_null(program, "'%s' compiled", source);
    cr_assert_eq(err.column, column, "'%s': column %d: %s", source, err.column, err.message);
    cr_assert(strstr(err.message, expected), "'%s': \"%s\" lacks \"%s\"", source, err.message,
              expected);
}

Test(expr, definitions_are_used_as_defined) {
    check_define_use_error("x + S(x, y)", 5, "'S' ([system] define) takes 1 argument, got 2");
    check_define_use_error("S + 1", 1, "'S' ([system] define) is a function: call it as S(...)");
    check_define_use_error("r2(x)", 1, "unknown function 'r2'");
    check_define_use_error("u + 1", 1, "unknown name 'u'"); /* an argument stays inside its body */
}

Test(expr, a_definition_sees_only_those_before_it) {
    const struct expr_define later[] = {
        {"A", 0, NULL, "B + 1"}, {"B", 0, NULL, "x + 1"}, {"C", 0, NULL, "B*2 + x"}};
    const struct expr_symbols symbols = {3, xyz, 0, NULL, NULL, 3, later};
    struct expr_error err = {0};
    cr_assert_eq(expr_check_define(&symbols, 0, &err), -1, "A may not use the later B");
    cr_assert_eq(err.column, 1);
    cr_assert(strstr(err.message, "unknown name 'B'"), "%s", err.message);
    cr_assert_eq(expr_check_define(&symbols, 2, &err), 0, "C may use B: %s", err.message);
}

Test(expr, doubling_definitions_are_stopped) {
    /* d_i = d_{i-1} + d_{i-1}: 2^40 uses if nothing stopped the expansion */
    struct expr_define chain[41];
    char names[41][16], bodies[41][48];
    for (int i = 0; i <= 40; i++) {
        snprintf(names[i], sizeof names[i], "d%d", i);
        if (i)
            snprintf(bodies[i], sizeof bodies[i], "d%d + d%d*x", i - 1, i - 1);
        else
            snprintf(bodies[i], sizeof bodies[i], "x");
        chain[i] = (struct expr_define){names[i], 0, NULL, bodies[i]};
    }
    const struct expr_symbols symbols = {3, xyz, 0, NULL, NULL, 41, chain};
    const char *source = "d40";
    struct expr_error err = {0};
    cr_assert_null(expr_compile(&source, 1, &symbols, &err));
    cr_assert(strstr(err.message, "expand") || strstr(err.message, "too long"), "%s", err.message);
}
