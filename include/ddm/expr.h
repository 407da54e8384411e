/* expr.h — user-written expressions compiled once into a flat instruction tape.
 *
 * A target system can be written in the INI file as k drift expressions in the variables (e.g.
 * `x, y, z`) and named parameters. They are parsed once (recursive descent, with column-exact
 * error messages), parameters and constants are folded, and the result is a tape of simple
 * register instructions evaluated in double precision. The Jacobian comes from forward-mode
 * differentiation of the same tape, so it is exact to rounding (needed by the Lyapunov spectra).
 *
 * Grammar (docs/design.md §7): + - * / ^ (right associative, binds tighter than unary minus: -x^2 =
 * -(x^2)), unary -, parentheses, numbers (1, 2.5, 1e-3), `pi`, variables, parameters, and the
 * functions sin cos tan exp log sqrt tanh abs sign (one argument), pow min max (two arguments).
 */
#ifndef DDM_EXPR_H
#define DDM_EXPR_H

#include <stdbool.h>
#include <stddef.h>

/* Upper bounds that keep evaluation allocation-free and re-entrant (scratch on the stack). */
#define EXPR_MAX_VARS      8
#define EXPR_MAX_REGISTERS 512

/* A helper written once and used in many expressions ([system] define): a function of its
 * arguments, S(u) = 1/(1+exp(-u)), or with no arguments an intermediate variable, r = sqrt(x^2 +
 * y^2). A use is expanded in place: the body is compiled with each argument bound to the value of
 * the call's argument, so Jacobians stay exact. A body may use the variables, the parameters, pi
 * and the definitions before it (never itself or a later one: no recursion). */
#define EXPR_MAX_DEFINE_ARGS 4
struct expr_define {
    const char *name;
    int nargs;               /* 0..EXPR_MAX_DEFINE_ARGS; 0 is an intermediate variable */
    const char *const *args; /* (nargs) argument names */
    const char *body;
};

struct expr_symbols {
    int nvars;
    const char *const *vars; /* (nvars) variable names, the inputs of the program */
    int nparams;
    const char *const *param_names; /* (nparams) */
    const double *param_values;     /* (nparams) folded in as constants at compile time */
    int ndefines;
    const struct expr_define *defines; /* (ndefines), in order of definition */
};

struct expr_error {
    int index;  /* which of the sources (0-based) */
    int column; /* 1-based column in that source; 0 when not about a position */
    char message[256];
};

struct expr_program;

/* Compiles `count` expressions (one output each) over the symbols. Returns NULL and fills err on
 * a syntax error, an unknown name (with the nearest known name suggested), a wrong number of
 * function arguments, or a tape longer than EXPR_MAX_REGISTERS. err is left untouched on success;
 * an error about no source in particular (count, nvars > EXPR_MAX_VARS, memory) has index 0 and
 * column 0. A name is looked up as a variable, then a parameter, then `pi`; followed by '(' it
 * is a function. x^n with a constant integer |n| <= 4 is computed by multiplications (within a
 * few ulp of pow; x^0 = 1 for every x, as pow has it). min and max propagate a NaN argument. */
struct expr_program *expr_compile(const char *const *sources, int count,
                                  const struct expr_symbols *symbols, struct expr_error *err);
void expr_free(struct expr_program *program);

int expr_outputs(const struct expr_program *program);
int expr_inputs(const struct expr_program *program);

/* True when output `index` depends on at least one variable (false: a constant). */
bool expr_depends_on_vars(const struct expr_program *program, int index);

/* out (outputs) = the expressions at vars (inputs). Thread-safe. */
void expr_eval(const struct expr_program *program, const double *vars, double *out);

/* out (outputs) and jac (outputs, inputs), row-major: jac[i*inputs + j] = d out_i / d var_j. */
void expr_eval_jacobian(const struct expr_program *program, const double *vars, double *out,
                        double *jac);

/* Evaluates one constant expression (no variables; parameters allowed), e.g. "8/3" or "2*pi".
 * Returns 0 on success, -1 with err filled otherwise: a variable is an error at its column, and
 * so is a value that is not finite ("1/0"). symbols may be NULL (numbers and pi only). */
int expr_constant(const char *source, const struct expr_symbols *symbols, double *value,
                  struct expr_error *err);

/* Checks the body of definition `index` of symbols->defines (syntax, names: it may use only the
 * definitions before it); 0, or -1 with err filled (column in the body). */
int expr_check_define(const struct expr_symbols *symbols, int index, struct expr_error *err);

/* True when `name` is a function of the expression language (sin, exp, ...). */
bool expr_is_function(const char *name);

/* Splits `text` at top-level occurrences of `separator` (not inside parentheses) into at most
 * max_parts parts, trimmed of white space, written as NUL-terminated strings into storage
 * (capacity storage_size). Returns the number of parts, or -1 when there are more than max_parts
 * or storage is too small. Empty parts are kept (so "a;;b" has 3 parts, one empty, and "" has one
 * empty part). A ')' with no '(' open is kept in its part and opens nothing. */
int expr_split(const char *text, char separator, char **parts, int max_parts, char *storage,
               int storage_size);

/* Whether output `index` depends on input `input`, read numerically: its exact derivative is
 * non-zero at one of five points with positive inputs from 0.4 to 30 (host/config/expr_eval.c). */
int expr_depends_on_input(const struct expr_program *program, int index, int input);

/* Splits `text` into its top-level terms: signs[i] is '+' or '-', terms[i] the term without its
 * sign (written into storage of `size` bytes). Returns the count, or -1 when there are more than
 * max_terms or storage is too small. */
int expr_split_terms(const char *text, char *storage, size_t size, char **terms, char *signs,
                     int max_terms);

/* Index of the name in `names` nearest to `word` (Levenshtein distance, case-insensitive), or -1
 * when none is within a distance that makes a useful suggestion: at most max(1, strlen(word)/3)
 * edits, and fewer than the longer of the two lengths (one letter for another is no hint); the
 * first of equally near names wins. */
int nearest_name(const char *word, const char *const *names, int count);

#endif
