/* expr_parse.c — compiles user-written expressions into a register tape (docs/design.md §7,
 * expr.h).
 *
 * One recursive-descent pass per source both checks the syntax and emits the tape: each parse
 * function returns an operand that is either a constant — every subexpression without a variable
 * (numbers, parameters, pi) is folded on the spot and costs nothing per evaluation — or the
 * register of a run-time value. Integer powers |n| <= 4 become multiplications, since pow costs
 * tens of multiplies. Errors give the column of the offending token and say what would have been
 * valid there; nesting is capped so that no input, however hostile, can exhaust the stack.
 */
#include "expr_tape.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH  200 /* levels of parentheses, signs and powers */
#define NAME_SHOWN 40  /* longest token quoted whole in a message; longer ones end in "..." */

/* Punctuation tokens are their own character; the rest sit above the byte range. */
enum token_kind { TOK_END = 0, TOK_NUMBER = 256, TOK_NAME };

struct token {
    int kind;
    int start; /* byte offset in the source; the column is start + 1 */
    int length;
    double number; /* value of a TOK_NUMBER */
};

/* What a parse function yields: a folded constant, or the register of a run-time value. */
struct operand {
    bool constant;
    double value;
    int reg;
};

struct parser {
    const char *src;
    int len;
    struct token tok; /* the current (next unconsumed) token */
    const struct expr_symbols *symbols;
    bool constants_only; /* expr_constant: variables are an error */
    struct expr_program *program;
    int depth;
    bool failed; /* the first error wins; later ones are ignored */
    int index;
    struct expr_error *err;
    int visible_defines; /* definitions this text may use: in a body, those before it */
    int nlocals;         /* in a definition's body: its arguments and their values */
    const char *const *local_names;
    const struct operand *local_values;
    int expansions; /* definitions expanded so far, bounded against exponential growth */
};

#define MAX_EXPANSIONS 4096

static const struct {
    const char *name;
    int nargs;
    enum expr_op op;
} functions[] = {
    {"sin", 1, EXPR_SIN}, {"cos", 1, EXPR_COS},   {"tan", 1, EXPR_TAN},   {"exp", 1, EXPR_EXP},
    {"log", 1, EXPR_LOG}, {"sqrt", 1, EXPR_SQRT}, {"tanh", 1, EXPR_TANH}, {"abs", 1, EXPR_ABS},
    {"pow", 2, EXPR_POW}, {"min", 2, EXPR_MIN},   {"max", 2, EXPR_MAX},   {"sign", 1, EXPR_SIGN},
};
#define NFUNCTIONS ((int)(sizeof functions / sizeof functions[0]))

/* ---- messages ------------------------------------------------------------------------------- */

/* A message assembled piece by piece; text that does not fit ends in "...". */
struct message {
    char *buf;
    size_t size, used;
};

__attribute__((format(printf, 2, 3))) static void message_add(struct message *m, const char *fmt,
                                                              ...) {
    if (m->used + 1 >= m->size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->used, m->size - m->used, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= m->size - m->used) {
        m->used = m->size - 1;
        if (m->size > 4) memcpy(m->buf + m->size - 4, "...", 4);
    } else {
        m->used += (size_t)n;
    }
}

__attribute__((format(printf, 3, 4))) static void fail(struct parser *p, int column,
                                                       const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    p->tok.kind = TOK_END; /* so that every parse loop stops */
    p->err->index = p->index;
    p->err->column = column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
    va_end(ap);
}

/* The token as a message shows it: quoted, and shortened when long. */
static const char *quoted(const struct parser *p, const struct token *t, char buf[64]) {
    if (t->kind == TOK_END) return "end of expression";
    int shown = t->length < NAME_SHOWN ? t->length : NAME_SHOWN;
    snprintf(buf, 64, "'%.*s%s'", shown, p->src + t->start, t->length > shown ? "..." : "");
    return buf;
}

static bool token_is(const struct parser *p, const struct token *t, const char *name) {
    return (size_t)t->length == strlen(name) && memcmp(p->src + t->start, name, t->length) == 0;
}

/* ---- tokens --------------------------------------------------------------------------------- */

/* Character classes spelled out: <ctype.h> depends on the locale and on bytes being in range. */
static bool is_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}
static bool is_name_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_name_char(int c) {
    return is_name_start(c) || is_digit(c);
}

static int skip_digits(const char *s, int i) {
    while (is_digit((unsigned char)s[i])) i++;
    return i;
}

/* A number is digits [. [digits]] | . digits, then optionally e|E [+|-] digits: the decimal
 * subset of strtod's syntax (its hex, inf and nan forms are not numbers here). Anything glued to
 * it that could continue a number or a name ("2e", "1.2.3", "3x") makes the whole run invalid,
 * rather than silently ending the number there. strtod must then stop exactly at the end (it
 * would not in a locale whose decimal point is not '.', which is then an error, not a misread). */
static void lex_number(struct parser *p, int start) {
    const char *s = p->src;
    int end = skip_digits(s, start);
    if (s[end] == '.') end = skip_digits(s, end + 1);
    bool valid = true;
    if (s[end] == 'e' || s[end] == 'E') {
        int digits = end + 1 + (s[end + 1] == '+' || s[end + 1] == '-');
        if (is_digit((unsigned char)s[digits]))
            end = skip_digits(s, digits);
        else
            valid = false;
    }
    if (is_name_char((unsigned char)s[end]) || s[end] == '.') valid = false;
    p->tok = (struct token){.kind = TOK_NUMBER, .start = start, .length = end - start};
    if (valid) {
        char *stop;
        p->tok.number = strtod(s + start, &stop);
        valid = stop == s + end;
    }
    if (!valid) {
        while (is_name_char((unsigned char)s[end]) || s[end] == '.' ||
               ((s[end] == '+' || s[end] == '-') && (s[end - 1] == 'e' || s[end - 1] == 'E')))
            end++;
        p->tok.length = end - start;
        char shown[64];
        fail(p, start + 1, "invalid number %s (numbers look like 2, 2.5, .5, 1e-3)",
             quoted(p, &p->tok, shown));
    } else if (isinf(p->tok.number)) {
        char shown[64];
        fail(p, start + 1, "number %s is too large for a double", quoted(p, &p->tok, shown));
    }
}

static void advance(struct parser *p) {
    if (p->failed) return;
    const char *s = p->src;
    int i = p->tok.start + p->tok.length;
    while (i < p->len && is_space((unsigned char)s[i])) i++;
    p->tok = (struct token){.kind = TOK_END, .start = i};
    if (i == p->len) return;
    int c = (unsigned char)s[i];
    if (is_digit(c) || (c == '.' && is_digit((unsigned char)s[i + 1]))) {
        lex_number(p, i);
    } else if (is_name_start(c)) {
        int end = i;
        while (is_name_char((unsigned char)s[end])) end++;
        p->tok = (struct token){.kind = TOK_NAME, .start = i, .length = end - i};
    } else if (strchr("+-*/^(),", c)) {
        p->tok = (struct token){.kind = c, .start = i, .length = 1};
    } else if (c > ' ' && c < 127) {
        fail(p, i + 1, "unexpected character '%c'", c);
    } else {
        fail(p, i + 1, "unexpected character (byte 0x%02x)", (unsigned)c);
    }
}

/* ---- code generation ------------------------------------------------------------------------ */

static struct operand constant(double value) {
    return (struct operand){.constant = true, .value = value};
}

static bool have_room(struct parser *p, int column) {
    const struct expr_program *prog = p->program;
    if (prog->nvars + prog->ninstr + prog->nconst < EXPR_MAX_REGISTERS) return true;
    fail(p, column, "expression too long (more than %d registers)", EXPR_MAX_REGISTERS);
    return false;
}

/* Constants are shared (compared bit for bit, so -0.0 and 0.0 stay distinct). */
static int constant_register(struct parser *p, double value, int column) {
    struct expr_program *prog = p->program;
    for (int k = 0; k < prog->nconst; k++) {
        int reg = EXPR_MAX_REGISTERS - 1 - k;
        if (memcmp(&prog->constants[reg], &value, sizeof value) == 0) return reg;
    }
    if (!have_room(p, column)) return 0;
    int reg = EXPR_MAX_REGISTERS - 1 - prog->nconst++;
    prog->constants[reg] = value;
    return reg;
}

static int to_register(struct parser *p, struct operand x, int column) {
    return x.constant ? constant_register(p, x.value, column) : x.reg;
}

/* Folds when both operands are constants, else appends one instruction. */
static struct operand emit(struct parser *p, enum expr_op op, struct operand a, struct operand b,
                           int column) {
    if (p->failed) return a;
    if (a.constant && b.constant) return constant(expr_apply(op, a.value, b.value));
    int ra = to_register(p, a, column);
    int rb = to_register(p, b, column);
    if (p->failed || !have_room(p, column)) return a;
    struct expr_program *prog = p->program;
    int dst = prog->nvars + prog->ninstr;
    prog->code[prog->ninstr++] =
        (struct expr_instr){.op = op, .dst = dst, .a = (uint16_t)ra, .b = (uint16_t)rb};
    return (struct operand){.reg = dst};
}

/* base^exponent. A constant integer exponent |n| <= 4 on a run-time base becomes at most two
 * multiplications (x^4 = (x*x)*(x*x)) and, for n < 0, one division; x^0 is 1 for every x, NaN
 * included, exactly as pow defines it. */
static struct operand power(struct parser *p, struct operand base, struct operand exponent,
                            int column) {
    double n = exponent.value;
    if (base.constant || !exponent.constant || n != floor(n) || fabs(n) > 4)
        return emit(p, exponent.constant ? EXPR_POW_CONST : EXPR_POW, base, exponent, column);
    if (n == 0) return constant(1.0);
    struct operand result = base;
    if (fabs(n) >= 2) {
        struct operand square = emit(p, EXPR_MUL, base, base, column);
        result = fabs(n) == 2   ? square
                 : fabs(n) == 3 ? emit(p, EXPR_MUL, square, base, column)
                                : emit(p, EXPR_MUL, square, square, column);
    }
    return n < 0 ? emit(p, EXPR_DIV, constant(1.0), result, column) : result;
}

/* ---- names ---------------------------------------------------------------------------------- */

static int find_function(const struct parser *p, const struct token *name) {
    for (int f = 0; f < NFUNCTIONS; f++)
        if (token_is(p, name, functions[f].name)) return f;
    return -1;
}

bool expr_is_function(const char *name) {
    for (int f = 0; f < NFUNCTIONS; f++)
        if (!strcmp(name, functions[f].name)) return true;
    return false;
}

static int find_define(const struct parser *p, const struct token *name) {
    for (int d = 0; d < p->visible_defines; d++)
        if (token_is(p, name, p->symbols->defines[d].name)) return d;
    return -1;
}

static int find_local(const struct parser *p, const struct token *name) {
    for (int i = 0; i < p->nlocals; i++)
        if (token_is(p, name, p->local_names[i])) return i;
    return -1;
}

enum name_kind { NAME_UNKNOWN, NAME_VARIABLE, NAME_PARAMETER, NAME_CONSTANT };
static const char *const name_kind_words[] = {"", "variable", "parameter", "constant"};

/* What the name denotes as a value, with its register (variable) or value (otherwise). */
static enum name_kind lookup_name(const struct parser *p, const struct token *name, int *var,
                                  double *value) {
    const struct expr_symbols *sym = p->symbols;
    for (int i = 0; i < sym->nvars; i++) {
        if (token_is(p, name, sym->vars[i])) {
            *var = i;
            return NAME_VARIABLE;
        }
    }
    for (int i = 0; i < sym->nparams; i++) {
        if (token_is(p, name, sym->param_names[i])) {
            *value = sym->param_values[i];
            return NAME_PARAMETER;
        }
    }
    if (token_is(p, name, "pi")) {
        *value = M_PI;
        return NAME_CONSTANT;
    }
    return NAME_UNKNOWN;
}

/* "(did you mean 'sigma'?)" when a candidate is close enough. */
static void suggest(struct message *m, const struct parser *p, const struct token *word,
                    const char *const *names, int count) {
    char copy[256];
    int n = word->length < (int)sizeof copy - 1 ? word->length : (int)sizeof copy - 1;
    memcpy(copy, p->src + word->start, n);
    copy[n] = '\0';
    int best = nearest_name(copy, names, count);
    if (best >= 0) message_add(m, " (did you mean '%s'?)", names[best]);
}

static void fail_unknown_name(struct parser *p, const struct token *name) {
    const struct expr_symbols *sym = p->symbols;
    int nvars = p->constants_only ? 0 : sym->nvars;
    char text[sizeof p->err->message], shown[64];
    struct message m = {text, sizeof text, 0};
    message_add(&m, "unknown name %s", quoted(p, name, shown));
    const char **names = malloc(sizeof *names * (size_t)(nvars + sym->nparams + 1));
    if (names) { /* without memory the message merely lacks its suggestion */
        int count = 0;
        for (int i = 0; i < nvars; i++) names[count++] = sym->vars[i];
        for (int i = 0; i < sym->nparams; i++) names[count++] = sym->param_names[i];
        names[count++] = "pi";
        suggest(&m, p, name, names, count);
        free(names);
    }
    message_add(&m, "; known:");
    for (int i = 0; i < nvars; i++) message_add(&m, "%s%s", i ? ", " : " variables ", sym->vars[i]);
    if (nvars) message_add(&m, ";");
    for (int i = 0; i < sym->nparams; i++)
        message_add(&m, "%s%s", i ? ", " : " parameters ", sym->param_names[i]);
    if (sym->nparams) message_add(&m, ";");
    message_add(&m, " constant pi");
    fail(p, name->start + 1, "%s", text);
}

static void fail_unknown_function(struct parser *p, const struct token *name) {
    char text[sizeof p->err->message], shown[64];
    struct message m = {text, sizeof text, 0};
    const char *names[NFUNCTIONS];
    for (int f = 0; f < NFUNCTIONS; f++) names[f] = functions[f].name;
    message_add(&m, "unknown function %s", quoted(p, name, shown));
    suggest(&m, p, name, names, NFUNCTIONS);
    message_add(&m, "; functions:");
    for (int f = 0; f < NFUNCTIONS; f++) message_add(&m, " %s", names[f]);
    fail(p, name->start + 1, "%s", text);
}

/* ---- grammar -------------------------------------------------------------------------------- */

static struct operand parse_expr(struct parser *p);
static struct operand parse_unary(struct parser *p);
static void expect_close(struct parser *p, int open_column, const char *valid);

/* The value of definition d with its arguments bound to `args`: its body is parsed in place of
 * the use, within the same program, and the outer text resumes where it was. */
static struct operand expand_define(struct parser *p, int d, const struct operand *args,
                                    int column) {
    const struct expr_define *def = &p->symbols->defines[d];
    if (++p->expansions > MAX_EXPANSIONS) {
        fail(p, column,
             "the definitions expand to more than %d uses; define less in terms of "
             "itself",
             MAX_EXPANSIONS);
        return constant(0);
    }
    const struct parser outer = *p;
    p->src = def->body;
    p->len = (int)strlen(def->body);
    p->tok = (struct token){.kind = TOK_END};
    p->visible_defines = d;
    p->nlocals = def->nargs;
    p->local_names = def->args;
    p->local_values = args;
    advance(p);
    struct operand value = parse_expr(p);
    if (!p->failed && p->tok.kind != TOK_END)
        fail(p, p->tok.start + 1, "unexpected text after the end of the expression");
    if (p->failed && !outer.failed && strncmp(p->err->message, "in '", 4)) {
        /* the body was checked alone: say where it was used (once, for the innermost) */
        char inner[sizeof p->err->message];
        snprintf(inner, sizeof inner, "%s", p->err->message);
        struct message m = {p->err->message, sizeof p->err->message, 0};
        message_add(&m, "in '%s' ([system] define): %s", def->name, inner);
        p->err->column = column;
    }
    p->src = outer.src;
    p->len = outer.len;
    p->tok = p->failed ? (struct token){.kind = TOK_END} : outer.tok; /* a failure ends it */
    p->visible_defines = outer.visible_defines;
    p->nlocals = outer.nlocals;
    p->local_names = outer.local_names;
    p->local_values = outer.local_values;
    return value;
}

/* name '(' args ')' for a definition with arguments; the current token is the name. */
static struct operand call_define(struct parser *p, int d) {
    const struct expr_define *def = &p->symbols->defines[d];
    int column = p->tok.start + 1;
    advance(p);
    int open_column = p->tok.start + 1;
    advance(p);
    struct operand args[EXPR_MAX_DEFINE_ARGS];
    int nargs = 0;
    if (p->tok.kind != ')') {
        for (;;) {
            struct operand arg = parse_expr(p);
            if (nargs < EXPR_MAX_DEFINE_ARGS) args[nargs] = arg;
            nargs++;
            if (p->tok.kind != ',') break;
            advance(p);
        }
    }
    expect_close(p, open_column, "an operator, ','");
    if (p->failed) return constant(0);
    if (nargs != def->nargs) {
        fail(p, column, "'%s' ([system] define) takes %d argument%s, got %d", def->name, def->nargs,
             def->nargs == 1 ? "" : "s", nargs);
        return constant(0);
    }
    return expand_define(p, d, args, column);
}

/* Consumes the ')' that closes the '(' at open_column; `valid` lists what else could follow. */
static void expect_close(struct parser *p, int open_column, const char *valid) {
    char shown[64];
    if (p->tok.kind == ')')
        advance(p);
    else if (p->tok.kind == TOK_END)
        fail(p, p->tok.start + 1, "missing ')' to close '(' opened at column %d", open_column);
    else
        fail(p, p->tok.start + 1,
             "unexpected %s (expected %s or ')' to close '(' opened at column %d)",
             quoted(p, &p->tok, shown), valid, open_column);
}

/* name '(' [expr (',' expr)*] ')' — the current token is the name, and '(' follows it. */
static struct operand parse_call(struct parser *p) {
    struct token name = p->tok;
    int column = name.start + 1, var;
    double value;
    int d = find_define(p, &name);
    if (d >= 0 && p->symbols->defines[d].nargs > 0) return call_define(p, d);
    int f = find_function(p, &name);
    if (f < 0) {
        enum name_kind kind = lookup_name(p, &name, &var, &value);
        char shown[64];
        if (kind != NAME_UNKNOWN)
            fail(p, column, "%s is a %s, not a function (missing '*' before '('?)",
                 quoted(p, &name, shown), name_kind_words[kind]);
        else
            fail_unknown_function(p, &name);
        return constant(0);
    }
    advance(p);
    int open_column = p->tok.start + 1;
    advance(p);
    struct operand args[2] = {constant(0), constant(0)};
    int nargs = 0;
    if (p->tok.kind != ')') {
        for (;;) {
            struct operand arg = parse_expr(p);
            if (nargs < 2) args[nargs] = arg;
            nargs++;
            if (p->tok.kind != ',') break;
            advance(p);
        }
    }
    expect_close(p, open_column, "an operator, ','");
    if (p->failed) return constant(0);
    if (nargs != functions[f].nargs) {
        fail(p, column, "'%s' takes %d argument%s, got %d", functions[f].name, functions[f].nargs,
             functions[f].nargs == 1 ? "" : "s", nargs);
        return constant(0);
    }
    if (functions[f].op == EXPR_POW) return power(p, args[0], args[1], column);
    return emit(p, functions[f].op, args[0], functions[f].nargs == 2 ? args[1] : args[0], column);
}

static struct operand parse_name(struct parser *p) {
    struct token name = p->tok;
    int column = name.start + 1, after = name.start + name.length, var = 0;
    while (after < p->len && is_space((unsigned char)p->src[after])) after++;
    if (p->src[after] == '(' && find_local(p, &name) < 0) return parse_call(p);
    int local = find_local(p, &name), d = find_define(p, &name);
    if (local >= 0) {
        advance(p);
        return p->local_values[local];
    }
    if (d >= 0 && p->symbols->defines[d].nargs == 0) {
        advance(p);
        return expand_define(p, d, NULL, column);
    }
    if (d >= 0) {
        fail(p, column, "'%s' ([system] define) is a function: call it as %s(...)",
             p->symbols->defines[d].name, p->symbols->defines[d].name);
        return constant(0);
    }
    double value = 0;
    enum name_kind kind = lookup_name(p, &name, &var, &value);
    char shown[64];
    if (kind == NAME_UNKNOWN && find_function(p, &name) >= 0)
        fail(p, column, "%s is a function: call it as %.*s(...)", quoted(p, &name, shown),
             name.length, p->src + name.start);
    else if (kind == NAME_UNKNOWN && token_is(p, &name, "e") && p->src[after] == '^')
        fail(p, column, "unknown name 'e': there is no constant e; write e^u as exp(u)");
    else if (kind == NAME_UNKNOWN)
        fail_unknown_name(p, &name);
    else if (kind == NAME_VARIABLE && p->constants_only)
        fail(p, column, "%s is a variable; a constant may use only numbers, parameters and pi",
             quoted(p, &name, shown));
    advance(p);
    return kind == NAME_VARIABLE ? (struct operand){.reg = var} : constant(value);
}

/* primary := number | name | name '(' args ')' | '(' expr ')' */
static struct operand parse_primary(struct parser *p) {
    struct token t = p->tok;
    int column = t.start + 1;
    struct operand value = constant(0);
    switch (t.kind) {
    case TOK_NUMBER:
        advance(p);
        return constant(t.number);
    case TOK_NAME:
        return parse_name(p);
    case '(':
        advance(p);
        value = parse_expr(p);
        expect_close(p, column, "an operator");
        return value;
    case TOK_END:
        fail(p, column, "unexpected end of expression (expected a number, a name or '(')");
        return value;
    default: {
        const char *hint = "";
        if (t.kind == '*' && t.start > 0 && p->src[t.start - 1] == '*')
            hint = "; write x^2 for a power";
        else if (t.kind == '+')
            hint = "; there is no unary '+'";
        fail(p, column, "unexpected '%c' (expected a number, a name or '(')%s", t.kind, hint);
        return value;
    }
    }
}

/* power := primary ('^' unary)? — right associative through unary, so 2^3^2 = 2^9, 2^-1 works. */
static struct operand parse_power(struct parser *p) {
    struct operand base = parse_primary(p);
    if (p->tok.kind != '^') return base;
    int column = p->tok.start + 1;
    advance(p);
    struct operand exponent = parse_unary(p);
    return power(p, base, exponent, column);
}

/* unary := '-' unary | power. Every recursion of the grammar passes here, so the depth count
 * bounds the stack. */
static struct operand parse_unary(struct parser *p) {
    if (p->depth >= MAX_DEPTH) {
        fail(p, p->tok.start + 1,
             "expression nested too deeply (more than %d levels of parentheses, signs and powers)",
             MAX_DEPTH);
        return constant(0);
    }
    p->depth++;
    struct operand value;
    if (p->tok.kind == '-') {
        int column = p->tok.start + 1;
        advance(p);
        value = parse_unary(p);
        value = emit(p, EXPR_NEG, value, value, column);
    } else {
        value = parse_power(p);
    }
    p->depth--;
    return value;
}

/* term := unary (('*'|'/') unary)* */
static struct operand parse_term(struct parser *p) {
    struct operand left = parse_unary(p);
    while (p->tok.kind == '*' || p->tok.kind == '/') {
        enum expr_op op = p->tok.kind == '*' ? EXPR_MUL : EXPR_DIV;
        int column = p->tok.start + 1;
        advance(p);
        struct operand right = parse_unary(p);
        left = emit(p, op, left, right, column);
    }
    return left;
}

/* expr := term (('+'|'-') term)* */
static struct operand parse_expr(struct parser *p) {
    struct operand left = parse_term(p);
    while (p->tok.kind == '+' || p->tok.kind == '-') {
        enum expr_op op = p->tok.kind == '+' ? EXPR_ADD : EXPR_SUB;
        int column = p->tok.start + 1;
        advance(p);
        struct operand right = parse_term(p);
        left = emit(p, op, left, right, column);
    }
    return left;
}

static void fail_setup(struct expr_error *err, const char *fmt, int value, int limit) {
    err->index = 0;
    err->column = 0;
    snprintf(err->message, sizeof err->message, fmt, value, limit);
}

/* Parses the whole of p->src; false with p->err filled on an error. */
static bool parse_whole(struct parser *p, struct operand *result) {
    size_t len = strlen(p->src);
    if (len > INT_MAX / 2) {
        fail(p, 0, "expression too long (%zu bytes)", len);
        return false;
    }
    p->len = (int)len;
    advance(p);
    if (p->tok.kind == TOK_END && !p->failed) fail(p, 1, "empty expression");
    *result = parse_expr(p);
    char shown[64];
    if (p->tok.kind == ')')
        fail(p, p->tok.start + 1, "unmatched ')'");
    else if (p->tok.kind == ',')
        fail(p, p->tok.start + 1, "unexpected ',' (commas separate the arguments of a function)");
    else if (p->tok.kind != TOK_END)
        fail(p, p->tok.start + 1,
             "unexpected text %s after the end of the expression (missing an operator?)",
             quoted(p, &p->tok, shown));
    return !p->failed;
}

/* Parses one whole source into the program; false with err filled on an error. */
static bool compile_source(struct expr_program *program, const char *source, int index,
                           const struct expr_symbols *symbols, bool constants_only,
                           struct expr_error *err, struct operand *result) {
    struct parser p = {.src = source ? source : "",
                       .symbols = symbols,
                       .constants_only = constants_only,
                       .program = program,
                       .index = index,
                       .err = err,
                       .visible_defines = constants_only ? 0 : symbols->ndefines};
    if (!parse_whole(&p, result)) return false;
    if (!constants_only) program->output_reg[index] = to_register(&p, *result, 1);
    return !p.failed;
}

/* The body is compiled alone, its arguments bound to run-time values (the variables' registers
 * stand in for them), into a scratch program that is then dropped. */
int expr_check_define(const struct expr_symbols *symbols, int index, struct expr_error *err) {
    const struct expr_define *def = &symbols->defines[index];
    struct expr_program *program = calloc(1, sizeof *program);
    if (!program) {
        fail_setup(err, "out of memory checking definition %d of %d", index + 1, symbols->ndefines);
        return -1;
    }
    program->nvars = symbols->nvars;
    struct operand args[EXPR_MAX_DEFINE_ARGS];
    for (int i = 0; i < EXPR_MAX_DEFINE_ARGS; i++) args[i] = constant(0.5);
    struct parser p = {.src = def->body,
                       .symbols = symbols,
                       .program = program,
                       .err = err,
                       .visible_defines = index,
                       .nlocals = def->nargs,
                       .local_names = def->args,
                       .local_values = args};
    struct operand result;
    bool ok = parse_whole(&p, &result);
    free(program);
    return ok ? 0 : -1;
}

struct expr_program *expr_compile(const char *const *sources, int count,
                                  const struct expr_symbols *symbols, struct expr_error *err) {
    static const struct expr_symbols no_symbols = {0};
    struct expr_error unused;
    if (!err) err = &unused;
    if (!symbols) symbols = &no_symbols;
    if (!sources || count < 1 || count > EXPR_MAX_REGISTERS) {
        fail_setup(err, "%d expressions given (expected 1 to %d)", count, EXPR_MAX_REGISTERS);
        return NULL;
    }
    if (symbols->nvars < 0 || symbols->nvars > EXPR_MAX_VARS) {
        fail_setup(err, "%d variables given (expected 0 to %d)", symbols->nvars, EXPR_MAX_VARS);
        return NULL;
    }
    if (symbols->nparams < 0) {
        fail_setup(err, "%d parameters given (expected at least %d)", symbols->nparams, 0);
        return NULL;
    }
    struct expr_program *program = calloc(1, sizeof *program + sizeof(int) * (size_t)count);
    if (!program) {
        fail_setup(err, "out of memory compiling %d expressions (%d registers)", count,
                   EXPR_MAX_REGISTERS);
        return NULL;
    }
    program->nvars = symbols->nvars;
    program->noutputs = count;
    struct operand result;
    for (int i = 0; i < count; i++) {
        if (!compile_source(program, sources[i], i, symbols, false, err, &result)) {
            free(program);
            return NULL;
        }
    }
    return program;
}

/* A constant expression folds completely while it is parsed, so no tape is ever run. */
int expr_constant(const char *source, const struct expr_symbols *symbols, double *value,
                  struct expr_error *err) {
    static const struct expr_symbols no_symbols = {0};
    struct expr_program program = {0};
    struct expr_error unused;
    struct operand result;
    if (!err) err = &unused;
    if (!compile_source(&program, source, 0, symbols ? symbols : &no_symbols, true, err, &result))
        return -1;
    if (!isfinite(result.value)) {
        err->index = 0;
        err->column = 1;
        snprintf(err->message, sizeof err->message,
                 "'%.*s%s' evaluates to %g (not a finite number)", NAME_SHOWN, source,
                 strlen(source) > NAME_SHOWN ? "..." : "", result.value);
        return -1;
    }
    *value = result.value;
    return 0;
}
