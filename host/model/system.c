/* system.c — building the target SDE from [system]: built-ins and user expressions.
 *
 * The built-ins are written in the same expression language a user would use, so there is one
 * path for both: parameters are parsed ("a=1, b=8/3", later ones may use earlier ones), the k
 * drift expressions and the diffusion are compiled over the variables, and every problem is
 * reported with the file, line, expression number and column.
 */
#include "ddm/system.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/data_diffusion.h"
#include "ddm/model.h"
#include "ddm/recording.h"
#include "ddm/train.h"

struct builtin {
    const char *name, *vars, *drift, *params, *diffusion, *about;
    int native_wells; /* the drift is wells.c's, and vars may choose k */
};

/* dz = f(z) dt + σ dB; diffusion is the default σ (one scalar: σI). */
static const struct builtin builtins[] = {
    {"vdp", "x, y", "y; mu*(1 - x^2)*y - x", "mu=1", "0.2", "van der Pol oscillator", 0},
    {"lorenz", "x, y, z", "sigma*(y - x); x*(rho - z) - y; x*y - beta*z",
     "sigma=10, rho=28, beta=8/3", "1", "Lorenz attractor", 0},
    {"dadras", "x, y, z", "y - a*x + b*y*z; c*y - x*z + z; d*x*y - e*z",
     "a=3, b=2.7, c=1.7, d=2, e=9", "0.5", "Dadras attractor", 0},
    {"double_well", "x, y", "a*x - x^3; -y", "a=1", "0.5", "double well in x, OU in y", 0},
    {"ou", "x, y", "-(a11*x + a12*y); -(a21*x + a22*y)", "a11=1, a12=-1, a21=1, a22=1", "1",
     "Ornstein–Uhlenbeck dz = -Az dt + σ dB", 0},
    {"wells", "x, y",
     "-(I + alpha*R) grad V, V = -depth*log(sum_j exp(-|z - p_j|^2/(2*width^2))) + wall/2*max(0, "
     "|z - c| - rho)^2, p_j = count patterns clockwise on a circle of the given radius in the "
     "first two coordinates (or [system] patterns), c their centroid, rho their largest distance "
     "from it",
     "width=0.4, depth=1, alpha=0, count=4, radius=1, wall=0", "0.5", "multi-well memory landscape",
     1},
};
static const int builtin_count = sizeof builtins / sizeof builtins[0];

const char *system_builtin_list(void) {
    return "vdp (mu), lorenz (sigma, rho, beta), dadras (a..e), double_well (a), "
           "ou (a11, a12, a21, a22: dz = -Az dt + σ dB), wells (width, depth, alpha, count, "
           "radius, wall; vars may set k)";
}

/* "vdp, lorenz, ..." for messages */
static void builtin_names(char *buf, size_t len) {
    buf[0] = 0;
    for (int i = 0; i < builtin_count; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", builtins[i].name);
}

static char *text_copy(const char *s) {
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy) memcpy(copy, s, len + 1);
    return copy;
}

static int is_identifier(const char *s) {
    if (!isalpha((unsigned char)*s) && *s != '_') return 0;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* Names the expressions already give a meaning: a variable or parameter called 'pi' would
 * silently shadow the constant (the compiler takes the variable), and one called 'sin' reads as
 * the function in 'sin(x)' but as the variable elsewhere. */
static const char *reserved(const char *name) {
    if (!strcmp(name, "pi")) return "the constant pi";
    if (expr_is_function(name)) return "a function";
    return NULL;
}

/* Message prefix "file:line: [system] key" for a value checked after loading. */
static void where(const struct ddm_config *cfg, const char *key, int from_builtin, char *buf,
                  size_t len) {
    if (from_builtin)
        snprintf(buf, len, "[system] %s of built-in '%s'", key, cfg->system_name);
    else
        config_where(cfg, "system", key, buf, len);
}

static int parse_vars(struct ddm_system *sys, const char *text, const char *at,
                      struct ddm_error *err) {
    char storage[512], *parts[DDM_MAX_K + 1];
    int count = expr_split(text, ',', parts, DDM_MAX_K + 1, storage, sizeof storage);
    if (count < 1 || count > DDM_MAX_K)
        return ddm_fail(err, DDM_EUSAGE, "%s: expected 1 to %d variable names separated by ','", at,
                        DDM_MAX_K);
    for (int i = 0; i < count; i++) {
        if (!is_identifier(parts[i]) || strlen(parts[i]) >= sizeof sys->var_names[i])
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: '%s' is not a valid variable name (letters, digits, '_'; not "
                            "starting with a digit)",
                            at, parts[i]);
        if (reserved(parts[i]))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: '%s' cannot be a variable name: it is %s in expressions", at,
                            parts[i], reserved(parts[i]));
        for (int j = 0; j < i; j++)
            if (!strcmp(parts[j], parts[i]))
                return ddm_fail(err, DDM_EUSAGE, "%s: variable '%s' is named twice", at, parts[i]);
        strcpy(sys->var_names[i], parts[i]);
    }
    sys->k = count;
    return DDM_OK;
}

/* The symbols of the expressions; while sys->with_time is set, the time `t` is one more input
 * after the k variables (var_ptrs must hold DDM_MAX_K + 1). */
static void symbols_of(const struct ddm_system *sys, struct expr_symbols *symbols,
                       const char **var_ptrs, const char **param_ptrs) {
    for (int i = 0; i < sys->k; i++) var_ptrs[i] = sys->var_names[i];
    if (sys->with_time) var_ptrs[sys->k] = "t";
    for (int i = 0; i < sys->nparams; i++) param_ptrs[i] = sys->param_names[i];
    symbols->nvars = sys->k + (sys->with_time ? 1 : 0);
    symbols->vars = var_ptrs;
    symbols->nparams = sys->nparams;
    symbols->param_names = param_ptrs;
    symbols->param_values = sys->param_values;
    symbols->ndefines = sys->ndefines;
    symbols->defines = sys->defines;
}

#define MAX_DEFINES 32

/* [system] define, split into definitions that point into `text`. */
struct defines {
    int count;
    struct expr_define list[MAX_DEFINES];
    const char *args[MAX_DEFINES][EXPR_MAX_DEFINE_ARGS];
    char text[8192];
};

/* "S(u, v) = body" or "r = body" (in place: the head is cut into NUL-terminated names). */
static int parse_define_head(const struct ddm_system *sys, struct defines *defs, char *part,
                             const char *at, struct ddm_error *err) {
    struct expr_define *def = &defs->list[defs->count];
    char *eq = strchr(part, '=');
    if (!eq || !eq[1])
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: '%s' should be name = expression or name(u) = expression, e.g. "
                        "'S(u) = 1/(1+exp(-u))'",
                        at, part);
    *eq = 0;
    def->body = eq + 1;
    while (isspace((unsigned char)*def->body)) def->body++;
    char *open = strchr(part, '('), *close = open ? strchr(open, ')') : NULL;
    if (open && (!close || close[1 + strspn(close + 1, " \t")]))
        return ddm_fail(err, DDM_EUSAGE, "%s: '%s' should be name(u, v) with ')' before '='", at,
                        part);
    char *names[EXPR_MAX_DEFINE_ARGS + 1];
    int nargs = 0;
    if (open) {
        *open = *close = 0;
        nargs = expr_split(open + 1, ',', names, EXPR_MAX_DEFINE_ARGS + 1, close + 1,
                           (int)(strlen(open + 1) + 1));
        if (nargs < 0 || nargs > EXPR_MAX_DEFINE_ARGS)
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' has more than %d arguments", at, part,
                            EXPR_MAX_DEFINE_ARGS);
    }
    for (char *e = part + strlen(part); e > part && isspace((unsigned char)e[-1]);) *--e = 0;
    while (isspace((unsigned char)*part)) part++;
    def->name = part;
    if (!is_identifier(part) || reserved(part))
        return ddm_fail(err, DDM_EUSAGE, "%s: '%s' cannot be defined (%s)", at, part,
                        reserved(part) ? reserved(part) : "not a name");
    for (int i = 0; i < sys->k; i++)
        if (!strcmp(sys->var_names[i], part))
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is a variable already", at, part);
    for (int i = 0; i < sys->nparams; i++)
        if (!strcmp(sys->param_names[i], part))
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is a parameter already", at, part);
    for (int i = 0; i < defs->count; i++)
        if (!strcmp(defs->list[i].name, part))
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is defined twice", at, part);
    for (int a = 0; a < nargs; a++) {
        if (!is_identifier(names[a]) || reserved(names[a]))
            return ddm_fail(err, DDM_EUSAGE, "%s: argument '%s' of '%s' is not a valid name", at,
                            names[a], part);
        for (int b = 0; b < a; b++)
            if (!strcmp(names[a], names[b]))
                return ddm_fail(err, DDM_EUSAGE, "%s: argument '%s' of '%s' is named twice", at,
                                names[a], part);
        defs->args[defs->count][a] = names[a];
    }
    def->nargs = nargs;
    def->args = defs->args[defs->count];
    return DDM_OK;
}

/* Parses [system] define (definitions separated by ';') and checks each body alone; on success
 * sys->defines points into `defs` until system_build ends. */
static int parse_defines(struct ddm_system *sys, const char *text, struct defines *defs,
                         const char *at, struct ddm_error *err) {
    char *parts[MAX_DEFINES + 1];
    memset(defs, 0, sizeof *defs);
    int count = expr_split(text, ';', parts, MAX_DEFINES + 1, defs->text, sizeof defs->text);
    if (count < 0 || count > MAX_DEFINES)
        return ddm_fail(err, DDM_EUSAGE, "%s: more than %d definitions, or too long", at,
                        MAX_DEFINES);
    if (count == 1 && !parts[0][0]) return DDM_OK;
    sys->defines = defs->list;
    for (int d = 0; d < count; d++) {
        char shown[160];
        snprintf(shown, sizeof shown, "%.150s", parts[d]);
        int code = parse_define_head(sys, defs, parts[d], at, err);
        if (code) return code;
        sys->ndefines = ++defs->count;
        struct expr_symbols symbols;
        const char *var_ptrs[DDM_MAX_K + 1], *param_ptrs[DDM_MAX_PARAMS];
        symbols_of(sys, &symbols, var_ptrs, param_ptrs);
        struct expr_error e = {0};
        if (expr_check_define(&symbols, d, &e))
            return ddm_fail(err, DDM_EUSAGE, "%s: definition %d '%s', column %d of '%s': %s", at,
                            d + 1, shown, e.column, defs->list[d].body, e.message);
    }
    return DDM_OK;
}

/* Parses "a=1, b=8/3" into (name, value) pairs; a name already present is overwritten (a user
 * overriding a built-in's parameter), unless `must_exist` requires it to be known already. A
 * name given twice in the same text is an error: which value was meant cannot be known. */
static int parse_params(struct ddm_system *sys, const char *text, const char *at, int must_exist,
                        struct ddm_error *err) {
    char storage[4096], *parts[DDM_MAX_PARAMS];
    int count = expr_split(text, ',', parts, DDM_MAX_PARAMS, storage, sizeof storage);
    if (count < 0)
        return ddm_fail(err, DDM_EUSAGE, "%s: too many parameters (at most %d)", at,
                        DDM_MAX_PARAMS);
    if (count == 1 && !parts[0][0]) return DDM_OK; /* empty */
    char seen[DDM_MAX_PARAMS][32];
    for (int p = 0; p < count; p++) {
        char *eq = strchr(parts[p], '=');
        if (!eq)
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' should be name=value, e.g. 'mu=1.5'", at,
                            parts[p]);
        *eq = 0;
        char *name = parts[p], *value_text = eq + 1;
        for (char *e = name + strlen(name); e > name && isspace((unsigned char)e[-1]);) *--e = 0;
        while (isspace((unsigned char)*value_text)) value_text++; /* columns count from here */
        if (!is_identifier(name) || strlen(name) >= sizeof sys->param_names[0])
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is not a valid parameter name", at, name);
        if (reserved(name))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: '%s' cannot be a parameter name: it is %s in expressions", at,
                            name, reserved(name));
        for (int q = 0; q < p; q++)
            if (!strcmp(seen[q], name))
                return ddm_fail(err, DDM_EUSAGE, "%s: parameter '%s' is given twice", at, name);
        strcpy(seen[p], name);
        for (int v = 0; v < sys->k; v++)
            if (!strcmp(sys->var_names[v], name))
                return ddm_fail(err, DDM_EUSAGE, "%s: parameter '%s' has the name of a variable",
                                at, name);
        struct expr_symbols symbols;
        const char *var_ptrs[DDM_MAX_K + 1], *param_ptrs[DDM_MAX_PARAMS];
        symbols_of(sys, &symbols, var_ptrs, param_ptrs);
        struct expr_error e = {0};
        double value;
        if (expr_constant(value_text, &symbols, &value, &e))
            return ddm_fail(err, DDM_EUSAGE, "%s: parameter '%s' = '%s', column %d: %s", at, name,
                            value_text, e.column, e.message);
        int slot = -1;
        for (int i = 0; i < sys->nparams; i++)
            if (!strcmp(sys->param_names[i], name)) slot = i;
        if (slot < 0 && must_exist) {
            int near = nearest_name(name, param_ptrs, sys->nparams);
            char known[512] = "";
            for (int i = 0; i < sys->nparams; i++) {
                strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, sys->param_names[i], sizeof known - strlen(known) - 1);
            }
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: '%s' is not a parameter of '%s'%s%s%s (its parameters: %s)", at,
                            name, sys->name, near >= 0 ? " (did you mean '" : "",
                            near >= 0 ? sys->param_names[near] : "", near >= 0 ? "'?)" : "", known);
        }
        if (slot < 0) {
            if (sys->nparams == DDM_MAX_PARAMS)
                return ddm_fail(err, DDM_EUSAGE, "%s: too many parameters", at);
            slot = sys->nparams++;
            strcpy(sys->param_names[slot], name);
        }
        sys->param_values[slot] = value;
    }
    return DDM_OK;
}

/* Compiles `count` expressions of `parts` into *program, with errors placed at `at`. */
static int compile(struct ddm_system *sys, char **parts, int count, const char *at,
                   struct expr_program **program, struct ddm_error *err) {
    struct expr_symbols symbols;
    const char *var_ptrs[DDM_MAX_K + 1], *param_ptrs[DDM_MAX_PARAMS];
    symbols_of(sys, &symbols, var_ptrs, param_ptrs);
    struct expr_error e = {0};
    *program = expr_compile((const char *const *)parts, count, &symbols, &e);
    if (!*program) {
        const char *hint = !sys->with_time && !strncmp(e.message, "unknown name 't';", 17)
                               ? "; the time t is known in the drift and diffusion of a system of "
                                 "equations of at most 7 variables and in a built-in's own "
                                 "diffusion"
                               : "";
        if (count == 1)
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s', column %d: %s%s", at, parts[0], e.column,
                            e.message, hint);
        return ddm_fail(err, DDM_EUSAGE, "%s: expression %d '%s', column %d: %s%s", at, e.index + 1,
                        parts[e.index], e.column, e.message, hint);
    }
    return DDM_OK;
}

/* Appends " ± (term)" to buf. */
static void append_term(char *buf, size_t size, char sign, const char *term) {
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, " %c (%s)", sign, term);
}

/* Expressions that use t: each of the `count` parts is split into its terms; those with t go to
 * *timed (compiled over (z, t)), which must not depend on the variables, the others to
 * *autonomous (compiled over z alone). is_drift chooses the message: the drift's g(t) is a
 * forcing the network receives as an input along Γ̂ (input.c); the diffusion's terms with t, s(t),
 * are added to the network's Ŝ at each step (so its noise is Γ̂(Ŝ(x) + ŝ(t)) dB). */
static int split_time(struct ddm_system *sys, char **parts, int count, int is_drift, const char *at,
                      struct expr_program **autonomous_out, struct expr_program **timed_out,
                      struct ddm_error *err) {
    enum { TERMS = 64, TEXT = 4096 };
    const int k = sys->k;
    char *autonomous[DDM_MAX_K * DDM_MAX_M], *timed[DDM_MAX_K * DDM_MAX_M];
    char *space = calloc((size_t)2 * count + 1, TEXT);
    if (!space) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    int code = DDM_OK;
    for (int i = 0; i < count && !code; i++) {
        autonomous[i] = space + (size_t)(2 * i) * TEXT, timed[i] = autonomous[i] + TEXT;
        strcpy(autonomous[i], "0"), strcpy(timed[i], "0");
        char *terms[TERMS], signs[TERMS], *storage = space + (size_t)(2 * count) * TEXT;
        int terms_count = expr_split_terms(parts[i], storage, TEXT, terms, signs, TERMS);
        if (terms_count < 0) {
            code = ddm_fail(err, DDM_EUSAGE, "%s: expression %d is too long to split into terms",
                            at, i + 1);
            break;
        }
        for (int q = 0; q < terms_count && !code; q++) {
            struct expr_program *term;
            if ((code = compile(sys, &terms[q], 1, at, &term, err))) break;
            int with_t = expr_depends_on_input(term, 0, k), with_z = 0;
            for (int j = 0; j < k; j++) with_z |= expr_depends_on_input(term, 0, j);
            expr_free(term);
            const char *shown = terms[q] + strspn(terms[q], " \t");
            if (with_t && with_z && is_drift)
                code = ddm_fail(err, DDM_EUSAGE,
                                "%s: expression %d, term '%s' depends on both t and the variables; "
                                "only a forcing g(t) added to the drift can drive the network "
                                "(write f(z) + g(t))",
                                at, i + 1, shown);
            else if (with_t && with_z)
                code = ddm_fail(err, DDM_EUSAGE,
                                "%s: '%s', term '%s' depends on both t and the variables; the "
                                "network carries a noise σ(z) + s(t) (write each entry as a sum "
                                "of terms of z alone and of t alone)",
                                at, parts[i] + strspn(parts[i], " \t"), shown);
            else
                append_term(with_t ? timed[i] : autonomous[i], TEXT, signs[q], terms[q]);
        }
    }
    if (!code) code = compile(sys, timed, count, at, timed_out, err);
    sys->with_time = false;
    if (!code) code = compile(sys, autonomous, count, at, autonomous_out, err);
    sys->with_time = true;
    free(space);
    return code;
}

/* Compiles `count` expressions into *program; when t is an input and some part uses it, splits
 * them (split_time) into *program over z and *timed over (z, t); else *timed stays NULL. */
static int compile_with_time(struct ddm_system *sys, char **parts, int count, int is_drift,
                             const char *at, struct expr_program **program,
                             struct expr_program **timed, struct ddm_error *err) {
    *timed = NULL;
    int code = compile(sys, parts, count, at, program, err);
    if (code || !sys->with_time) return code;
    int uses_t = 0;
    for (int i = 0; i < count; i++) uses_t |= expr_depends_on_input(*program, i, sys->k);
    expr_free(*program);
    *program = NULL;
    if (uses_t) return split_time(sys, parts, count, is_drift, at, program, timed, err);
    sys->with_time = false; /* autonomous: compiled over z alone, as always */
    code = compile(sys, parts, count, at, program, err);
    sys->with_time = true;
    return code;
}

static int build_drift(struct ddm_system *sys, const char *text, const char *at,
                       struct ddm_error *err) {
    char storage[16384], *parts[DDM_MAX_K + 1];
    int count = expr_split(text, ';', parts, DDM_MAX_K + 1, storage, sizeof storage);
    if (count != sys->k)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: %s%d expression%s for %d variable%s (write one per variable, "
                        "separated by ';')",
                        at, count < 0 ? "more than " : "", count < 0 ? DDM_MAX_K : count,
                        count == 1 ? "" : "s", sys->k, sys->k == 1 ? "" : "s");
    return compile_with_time(sys, parts, count, 1, at, &sys->drift, &sys->forcing, err);
}

/* Diffusion: "s" (σ = sI), "s1; ...; sk" (diagonal), or a matrix "a, b; c, d" (k rows of m). */
static int build_diffusion(struct ddm_system *sys, const char *text, int matrix, const char *at,
                           struct ddm_error *err) {
    char row_storage[16384], *rows[DDM_MAX_K + 1];
    int nrows = expr_split(text, ';', rows, DDM_MAX_K + 1, row_storage, sizeof row_storage);
    char *entries[DDM_MAX_K * DDM_MAX_M];
    char entry_storage[DDM_MAX_K][4096];
    if (matrix) {
        if (nrows != sys->k)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: %s%d rows for k = %d variables (rows are separated by ';')", at,
                            nrows < 0 ? "more than " : "", nrows < 0 ? DDM_MAX_K : nrows, sys->k);
        sys->m = -1;
        for (int r = 0; r < nrows; r++) {
            char *cols[DDM_MAX_M + 1];
            int ncols = expr_split(rows[r], ',', cols, DDM_MAX_M + 1, entry_storage[r],
                                   sizeof entry_storage[r]);
            if (ncols < 1 || ncols > DDM_MAX_M)
                return ddm_fail(err, DDM_EUSAGE, "%s: row %d must have 1 to %d entries", at, r + 1,
                                DDM_MAX_M);
            if (sys->m >= 0 && ncols != sys->m)
                return ddm_fail(err, DDM_EUSAGE,
                                "%s: row %d has %d entries but row 1 has %d (every row needs m "
                                "entries separated by ',')",
                                at, r + 1, ncols, sys->m);
            sys->m = ncols;
            for (int c = 0; c < ncols; c++) entries[r * ncols + c] = cols[c];
        }
    } else {
        if (nrows != 1 && nrows != sys->k)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: %s%d expressions; give one (σ = s·I) or k = %d (diagonal σ), "
                            "separated by ';'",
                            at, nrows < 0 ? "more than " : "", nrows < 0 ? DDM_MAX_K : nrows,
                            sys->k);
        sys->m = sys->k;
        static char zero[] = "0";
        for (int r = 0; r < sys->k; r++)
            for (int c = 0; c < sys->k; c++)
                entries[r * sys->k + c] = r == c ? rows[nrows == 1 ? 0 : r] : zero;
    }
    int count = sys->k * sys->m;
    struct expr_program *program;
    int code = compile_with_time(sys, entries, count, 0, at, &program, &sys->diffusion_time, err);
    if (code) return code;
    sys->diffusion_constant = true;
    for (int i = 0; i < count; i++)
        if (expr_depends_on_vars(program, i)) sys->diffusion_constant = false;
    if (sys->diffusion_constant) {
        double origin[DDM_MAX_K] = {0};
        expr_eval(program, origin, sys->sigma_const);
        expr_free(program);
    } else {
        sys->diffusion = program;
    }
    return DDM_OK;
}

static const struct builtin *find_builtin(const char *name) {
    for (int i = 0; i < builtin_count; i++)
        if (!strcmp(builtins[i].name, name)) return &builtins[i];
    return NULL;
}

/* [system] patterns: K rows of k numbers separated by ';' → the well centres. */
static int parse_patterns(struct ddm_system *sys, const struct ddm_config *cfg,
                          struct ddm_error *err) {
    char at[1200], rows_storage[8192], *rows[DDM_MAX_WELLS + 1];
    config_where(cfg, "system", "patterns", at, sizeof at);
    int count =
        expr_split(cfg->patterns, ';', rows, DDM_MAX_WELLS + 1, rows_storage, sizeof rows_storage);
    if (count < 1 || count > DDM_MAX_WELLS)
        return ddm_fail(err, DDM_EUSAGE, "%s: give 1 to %d patterns separated by ';'", at,
                        DDM_MAX_WELLS);
    for (int j = 0; j < count; j++) {
        char storage[1024], *parts[DDM_MAX_K + 1];
        int entries = expr_split(rows[j], ',', parts, DDM_MAX_K + 1, storage, sizeof storage);
        if (entries != sys->k)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: pattern %d '%s' has %d entries; each needs k = %d numbers "
                            "separated by ','",
                            at, j, rows[j], entries < 0 ? DDM_MAX_K + 1 : entries, sys->k);
        for (int c = 0; c < sys->k; c++) {
            struct expr_error e = {0};
            if (expr_constant(parts[c], NULL, &sys->wells.patterns[j][c], &e))
                return ddm_fail(err, DDM_EUSAGE, "%s: pattern %d, entry %d '%s': %s", at, j, c + 1,
                                parts[c], e.message);
        }
    }
    sys->wells.K = count;
    return DDM_OK;
}

/* The wells built-in: parameters → struct wells; the patterns from [system] patterns, or
 * `count` of them on a circle of `radius` in the plane of the first two coordinates. */
static int build_wells(struct ddm_system *sys, const struct ddm_config *cfg, const char *at,
                       struct ddm_error *err) {
    double width = 0, depth = 0, alpha = 0, count = 0, radius = 0, wall = 0;
    for (int p = 0; p < sys->nparams; p++) {
        const char *name = sys->param_names[p];
        double value = sys->param_values[p];
        if (!strcmp(name, "width")) width = value;
        if (!strcmp(name, "depth")) depth = value;
        if (!strcmp(name, "alpha")) alpha = value;
        if (!strcmp(name, "count")) count = value;
        if (!strcmp(name, "radius")) radius = value;
        if (!strcmp(name, "wall")) wall = value;
    }
    if (!(width > 0) || !(depth > 0) || !(radius >= 0))
        return ddm_fail(err, DDM_EUSAGE, "%s: wells need width > 0, depth > 0 and radius >= 0", at);
    if (count != floor(count) || count < 1 || count > DDM_MAX_WELLS)
        return ddm_fail(err, DDM_EUSAGE, "%s: count = %g wells; give a whole number 1 to %d", at,
                        count, DDM_MAX_WELLS);
    if (sys->k < 2 && alpha != 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: alpha = %g rotates the plane of the first two coordinates, which "
                        "needs at least 2 variables",
                        at, alpha);
    struct wells *w = &sys->wells;
    w->K = (int)count;
    w->k = sys->k;
    w->width = width;
    w->depth = depth;
    w->alpha = alpha;
    w->wall = wall;
    sys->native_wells = true;
    if (cfg->patterns[0]) {
        int code = parse_patterns(sys, cfg, err);
        if (code) return code;
    } else {
        /* clockwise, so that α > 0 carries the state from pattern j to pattern j + 1 */
        for (int j = 0; j < w->K; j++) {
            double angle = -2 * M_PI * j / w->K;
            for (int c = 0; c < w->k; c++) w->patterns[j][c] = 0;
            w->patterns[j][0] = radius * cos(angle);
            if (w->k > 1) w->patterns[j][1] = radius * sin(angle);
        }
    }
    /* the wall sits at the patterns' largest distance from their centroid */
    for (int c = 0; c < w->k; c++) {
        w->centre[c] = 0;
        for (int j = 0; j < w->K; j++) w->centre[c] += w->patterns[j][c] / w->K;
    }
    w->wall_radius = 0;
    for (int j = 0; j < w->K; j++) {
        double r2 = 0;
        for (int c = 0; c < w->k; c++)
            r2 += (w->patterns[j][c] - w->centre[c]) * (w->patterns[j][c] - w->centre[c]);
        if (sqrt(r2) > w->wall_radius) w->wall_radius = sqrt(r2);
    }
    return DDM_OK;
}

/* The drift (or the wells), the diffusion and the texts kept for the file, with sys->defines in
 * reach of every expression. */
static int build_expressions(struct ddm_system *sys, const struct ddm_config *cfg,
                             const struct builtin *builtin, const char *vars, const char *drift,
                             struct ddm_error *err) {
    char at[1200];
    int code;
    where(cfg, builtin && builtin->native_wells ? "params" : "drift", builtin != NULL, at,
          sizeof at);
    code = builtin && builtin->native_wells ? build_wells(sys, cfg, at, err)
                                            : build_drift(sys, drift, at, err);
    if (code) return code;
    if (cfg->patterns[0] && !sys->native_wells) {
        where(cfg, "patterns", 0, at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE, "%s: only the wells system has patterns (name = wells)",
                        at);
    }

    if (cfg->diffusion[0] && cfg->diffusion_matrix[0]) {
        where(cfg, "diffusion_matrix", 0, at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE, "%s: give either diffusion or diffusion_matrix, not both",
                        at);
    }
    const char *diffusion = cfg->diffusion_matrix[0] ? cfg->diffusion_matrix
                            : cfg->diffusion[0]      ? cfg->diffusion
                            : builtin                ? builtin->diffusion
                                                     : "0";
    int from_builtin = !cfg->diffusion_matrix[0] && !cfg->diffusion[0];
    where(cfg, cfg->diffusion_matrix[0] ? "diffusion_matrix" : "diffusion", from_builtin, at,
          sizeof at);
    if (!strcmp(diffusion, "estimate") || !strcmp(diffusion, "estimate_state"))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = %s: σ is estimated from recorded trajectories, so it needs [system] "
                        "data; with equations give σ as expressions",
                        at, diffusion);
    if ((code = build_diffusion(sys, diffusion, cfg->diffusion_matrix[0] != 0, at, err)))
        return code;

    sys->vars_text = text_copy(vars);
    sys->drift_text = text_copy(drift);
    sys->diffusion_text = text_copy(diffusion);
    if (!sys->vars_text || !sys->drift_text || !sys->diffusion_text)
        return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    return DDM_OK;
}

/* A system known from data: the names, the recording and the diffusion (estimate, the default;
 * or expressions as for equations). */
static int build_from_data(struct ddm_system *sys, const struct ddm_config *cfg,
                           struct ddm_error *err) {
    char at[1200];
    if (cfg->drift[0] || cfg->diffusion_matrix[0]) {
        where(cfg, cfg->drift[0] ? "drift" : "diffusion_matrix", 0, at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: given together with [system] data; a system learnt from data has no "
                        "drift (and a diffusion given as 'estimate' or expressions)",
                        at);
    }
    if (cfg->margin != DDM_AUTO && cfg->margin > 1) {
        config_where(cfg, "train", "margin", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = %g with [system] data; the drift of a recording is known only "
                        "at its own points, so there are no margin points (valid: 1 or auto)",
                        at, cfg->margin);
    }
    snprintf(sys->name, sizeof sys->name, "%s", cfg->system_name[0] ? cfg->system_name : "data");
    where(cfg, "vars", 0, at, sizeof at);
    if (!cfg->vars[0])
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: [system] data needs vars, the names of the recorded coordinates", at);
    double sigma_obs;
    int code = parse_vars(sys, cfg->vars, at, err);
    if (!code) code = data_noise_parse(cfg, &sigma_obs, err);
    sys->recording = code ? NULL : calloc(1, sizeof *sys->recording);
    if (!code && !sys->recording) code = ddm_fail(err, DDM_ERUNTIME, "out of memory");
    if (!code) code = recording_load(cfg, sys->recording, err);
    const char *diffusion = cfg->diffusion[0] ? cfg->diffusion : "estimate";
    if (!code && !strcmp(diffusion, "estimate_state")) {
        sys->m = sys->k, sys->diffusion_constant = false;
        sys->diffusion_fit = calloc(1, sizeof *sys->diffusion_fit);
        if (!sys->diffusion_fit) code = ddm_fail(err, DDM_ERUNTIME, "out of memory");
    } else if (!code && !strcmp(diffusion, "estimate")) {
        sys->m = sys->k, sys->diffusion_constant = sys->diffusion_estimated = true;
    } else if (!code) {
        where(cfg, "diffusion", 0, at, sizeof at);
        code = build_diffusion(sys, diffusion, 0, at, err);
    }
    sys->vars_text = text_copy(cfg->vars);
    sys->drift_text = text_copy("learnt from data");
    sys->diffusion_text = text_copy(diffusion);
    if (!code && (!sys->vars_text || !sys->drift_text || !sys->diffusion_text))
        code = ddm_fail(err, DDM_ERUNTIME, "out of memory");
    return code;
}

void system_use_model(struct ddm_system *sys, const struct ddm_model *model) {
    sys->learnt = model;
    if (sys->diffusion_estimated && model->S)
        for (int c = 0; c < sys->k; c++)
            for (int j = 0; j < sys->m; j++)
                sys->sigma_const[c * sys->m + j] =
                    model->latent_scale[c] * model->S[c * model->m + j];
}

int system_build(struct ddm_system *sys, const struct ddm_config *cfg, struct ddm_error *err) {
    memset(sys, 0, sizeof *sys);
    if (cfg->data_path[0]) return build_from_data(sys, cfg, err);
    const struct builtin *builtin = find_builtin(cfg->system_name);
    char at[1200], names[256];
    builtin_names(names, sizeof names);
    int own = cfg->drift[0] || (cfg->vars[0] && !(builtin && builtin->native_wells));
    if (builtin && own) {
        where(cfg, cfg->drift[0] ? "drift" : "vars", 0, at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: given together with the built-in name = %s; to change a built-in "
                        "set its params, to write your own system choose another name",
                        at, builtin->name);
    }
    if (!builtin && !own) {
        where(cfg, "name", 0, at, sizeof at);
        const char *list[16];
        for (int i = 0; i < builtin_count; i++) list[i] = builtins[i].name;
        int near = nearest_name(cfg->system_name, list, builtin_count);
        if (!cfg->system_name[0])
            return ddm_fail(err, DDM_EUSAGE,
                            "no target system: set [system] name to a built-in (%s) or give vars "
                            "and drift",
                            names);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: '%s' is not a built-in%s%s%s (built-ins: %s); to define your own "
                        "system give vars and drift",
                        at, cfg->system_name, near >= 0 ? " (did you mean '" : "",
                        near >= 0 ? builtins[near].name : "", near >= 0 ? "'?)" : "", names);
    }
    if (!builtin && !(cfg->drift[0] && cfg->vars[0])) {
        where(cfg, cfg->drift[0] ? "drift" : "vars", 0, at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE, "%s: a system of your own needs both vars and drift", at);
    }
    snprintf(sys->name, sizeof sys->name, "%s", cfg->system_name[0] ? cfg->system_name : "custom");
    const char *vars =
        builtin && !(builtin->native_wells && cfg->vars[0]) ? builtin->vars : cfg->vars;
    const char *drift = builtin ? builtin->drift : cfg->drift;
    int code;
    where(cfg, "vars", vars != cfg->vars, at, sizeof at);
    if ((code = parse_vars(sys, vars, at, err))) return code;
    if (builtin) {
        where(cfg, "params", 1, at, sizeof at);
        if ((code = parse_params(sys, builtin->params, at, 0, err))) return code;
    }
    where(cfg, "params", 0, at, sizeof at);
    if ((code = parse_params(sys, cfg->params, at, builtin != NULL, err))) return code;
    struct defines *defs = malloc(sizeof *defs);
    if (!defs) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    /* the time t is one more input of the expressions unless a variable or parameter is called t:
     * of a system's own, and of a built-in's diffusion when one is given (a built-in's drift has
     * no t; the native wells have no drift expressions) */
    const int own_diffusion = cfg->diffusion[0] || cfg->diffusion_matrix[0];
    sys->with_time = (!builtin || own_diffusion) && sys->k < EXPR_MAX_VARS;
    for (int i = 0; i < sys->k; i++) sys->with_time &= strcmp(sys->var_names[i], "t") != 0;
    for (int i = 0; i < sys->nparams; i++) sys->with_time &= strcmp(sys->param_names[i], "t") != 0;
    where(cfg, "define", 0, at, sizeof at);
    code = parse_defines(sys, cfg->define, defs, at, err);
    if (!code) code = build_expressions(sys, cfg, builtin, vars, drift, err);
    sys->with_time = false;
    sys->defines = NULL; /* they live in defs, which goes now */
    sys->ndefines = 0;
    free(defs);
    return code;
}

void system_free(struct ddm_system *sys) {
    if (sys->recording) recording_free(sys->recording);
    free(sys->recording);
    if (sys->diffusion_fit) free(sys->diffusion_fit->text);
    free(sys->diffusion_fit);
    expr_free(sys->drift);
    expr_free(sys->forcing);
    expr_free(sys->diffusion);
    expr_free(sys->diffusion_time);
    free(sys->vars_text);
    free(sys->drift_text);
    free(sys->diffusion_text);
    memset(sys, 0, sizeof *sys);
}
