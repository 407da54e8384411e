/* expr_eval.c — runs a compiled expression tape (expr_tape.h), its values and its exact Jacobian.
 *
 * Evaluation is one switch per instruction over a register file on the stack, so it is
 * allocation-free and thread-safe; it runs millions of times per second inside target-SDE
 * simulations. The Jacobian is forward-mode differentiation of the same tape: each register also
 * carries its partial derivatives with respect to every input, so the Lyapunov spectra
 * (docs/design.md §5) get derivatives exact to rounding. Also the text helpers the config reader
 * shares with it.
 */
#include "expr_tape.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void expr_free(struct expr_program *program) {
    free(program);
}

int expr_outputs(const struct expr_program *program) {
    return program->noutputs;
}

int expr_inputs(const struct expr_program *program) {
    return program->nvars;
}

/* The compiler folds every variable-free subexpression into a constant register, so an output
 * held anywhere below the constants is a variable or a computed, variable-dependent temporary. */
bool expr_depends_on_vars(const struct expr_program *program, int index) {
    return program->output_reg[index] < EXPR_MAX_REGISTERS - program->nconst;
}

void expr_eval(const struct expr_program *program, const double *vars, double *out) {
    double regs[EXPR_MAX_REGISTERS];
    int first_constant = EXPR_MAX_REGISTERS - program->nconst;
    memcpy(regs, vars, sizeof(double) * (size_t)program->nvars);
    memcpy(regs + first_constant, program->constants + first_constant,
           sizeof(double) * (size_t)program->nconst);
    for (int i = 0; i < program->ninstr; i++) {
        const struct expr_instr in = program->code[i];
        regs[in.dst] = expr_apply((enum expr_op)in.op, regs[in.a], regs[in.b]);
    }
    for (int k = 0; k < program->noutputs; k++) out[k] = regs[program->output_reg[k]];
}

/* The partials df/da, df/db of one instruction r = f(a, b) at its arguments: 0 for an argument
 * f does not take; at a kink or a jump, the slope chosen is noted at its case. */
static void partials(enum expr_op op, double a, double b, double r, double *da, double *db) {
    *da = 0, *db = 0;
    switch (op) {
    case EXPR_NEG:
        *da = -1;
        break;
    case EXPR_SIN:
        *da = cos(a);
        break;
    case EXPR_COS:
        *da = -sin(a);
        break;
    case EXPR_TAN:
        *da = 1 + r * r;
        break;
    case EXPR_EXP:
        *da = r;
        break;
    case EXPR_LOG:
        *da = 1 / a;
        break;
    case EXPR_SQRT:
        *da = 0.5 / r;
        break;
    case EXPR_TANH:
        *da = 1 - r * r;
        break;
    case EXPR_ABS:
        *da = (a > 0) - (a < 0);
        break;      /* the kink at 0 gets slope 0 */
    case EXPR_SIGN: /* flat on either side; the jump at 0 gets slope 0, as abs's kink */
        break;
    case EXPR_ADD:
        *da = 1;
        *db = 1;
        break;
    case EXPR_SUB:
        *da = 1;
        *db = -1;
        break;
    case EXPR_MUL:
        *da = b;
        *db = a;
        break;
    case EXPR_DIV: /* (a'b - ab')/b^2 = (a' - r b')/b */
        *da = 1 / b;
        *db = -r / b;
        break;
    case EXPR_POW: /* d a^b = b a^(b-1) a' + a^b log(a) b'; the second term tends to 0 as
                      a^b -> 0, where log a alone would make it 0 * -inf */
        *da = b * pow(a, b - 1);
        *db = r == 0 ? 0 : r * log(a);
        break;
    case EXPR_POW_CONST:
        *da = b * pow(a, b - 1);
        break;
    case EXPR_MIN: /* the derivative of whichever argument was selected */
        *da = expr_min_picks_first(a, b);
        *db = 1 - *da;
        break;
    case EXPR_MAX:
        *da = expr_max_picks_first(a, b);
        *db = 1 - *da;
        break;
    }
}

/* Every instruction r = f(a, b) has partials dr = (df/da) a' + (df/db) b' (one-argument ones have
 * df/db = 0), so one loop over the inputs serves all operations once the two scalars are known. */
void expr_eval_jacobian(const struct expr_program *program, const double *vars, double *out,
                        double *jac) {
    double val[EXPR_MAX_REGISTERS];
    double grad[EXPR_MAX_REGISTERS][EXPR_MAX_VARS]; /* grad[r][j] = d val[r] / d var_j */
    int nvars = program->nvars, first_constant = EXPR_MAX_REGISTERS - program->nconst;
    for (int r = 0; r < nvars; r++) {
        val[r] = vars[r];
        for (int j = 0; j < nvars; j++) grad[r][j] = r == j;
    }
    for (int r = first_constant; r < EXPR_MAX_REGISTERS; r++) {
        val[r] = program->constants[r];
        for (int j = 0; j < nvars; j++) grad[r][j] = 0;
    }
    for (int i = 0; i < program->ninstr; i++) {
        const struct expr_instr in = program->code[i];
        double a = val[in.a], b = val[in.b];
        double r = expr_apply((enum expr_op)in.op, a, b);
        double da, db;
        partials((enum expr_op)in.op, a, b, r, &da, &db);
        val[in.dst] = r;
        for (int j = 0; j < nvars; j++) grad[in.dst][j] = da * grad[in.a][j] + db * grad[in.b][j];
    }
    for (int k = 0; k < program->noutputs; k++) {
        int reg = program->output_reg[k];
        out[k] = val[reg];
        for (int j = 0; j < nvars; j++) jac[k * nvars + j] = grad[reg][j];
    }
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int expr_split(const char *text, char separator, char **parts, int max_parts, char *storage,
               int storage_size) {
    if (!text || max_parts < 1) return -1;
    int nparts = 0, used = 0, depth = 0;
    const char *start = text;
    for (const char *c = text;; c++) {
        if (*c == '(')
            depth++;
        else if (*c == ')' && depth > 0)
            depth--; /* a stray ')' is left for the parser to report */
        if (*c != '\0' && (*c != separator || depth > 0)) continue;
        const char *first = start, *last = c;
        while (first < last && is_blank(*first)) first++;
        while (last > first && is_blank(last[-1])) last--;
        int length = (int)(last - first);
        if (nparts == max_parts || storage_size - used < length + 1) return -1;
        memcpy(storage + used, first, (size_t)length);
        storage[used + length] = '\0';
        parts[nparts++] = storage + used;
        used += length + 1;
        if (*c == '\0') return nparts;
        start = c + 1;
    }
}

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive Levenshtein distance by the one-row dynamic programme. Names longer than the
 * row are never suggested (nearest_name skips them), which keeps the row on the stack. */
#define LONGEST_SUGGESTED 255
static int edit_distance(const char *word, int word_len, const char *name, int name_len) {
    /* optimal string alignment: insertions, deletions, substitutions, and a swap of two
     * neighbouring letters ("trian" → "train") as one edit; rows i-2, i-1, i */
    int rows[3][LONGEST_SUGGESTED + 1];
    for (int j = 0; j <= name_len; j++) rows[0][j] = j;
    for (int i = 1; i <= word_len; i++) {
        int *row = rows[i % 3], *up = rows[(i + 2) % 3], *up2 = rows[(i + 1) % 3];
        row[0] = i;
        for (int j = 1; j <= name_len; j++) {
            int a = lower((unsigned char)word[i - 1]), b = lower((unsigned char)name[j - 1]);
            int best = up[j - 1] + (a != b);
            if (up[j] + 1 < best) best = up[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            if (i > 1 && j > 1 && a == lower((unsigned char)name[j - 2]) &&
                lower((unsigned char)word[i - 2]) == b && up2[j - 2] + 1 < best)
                best = up2[j - 2] + 1;
            row[j] = best;
        }
    }
    return rows[word_len % 3][name_len];
}

/* A suggestion helps when a third of the word or less is wrong (one edit for short words) and it
 * keeps at least one character: for the one-letter "q", the one-letter "x" is no hint. */
int nearest_name(const char *word, const char *const *names, int count) {
    int word_len = (int)strlen(word), limit = word_len / 3 > 1 ? word_len / 3 : 1;
    int best = -1, best_distance = limit + 1;
    for (int i = 0; i < count; i++) {
        int name_len = (int)strlen(names[i]);
        if (name_len > LONGEST_SUGGESTED || abs(name_len - word_len) > limit) continue;
        int distance = edit_distance(word, word_len, names[i], name_len);
        int longer = name_len > word_len ? name_len : word_len;
        if (distance < best_distance && distance < longer) {
            best = i;
            best_distance = distance;
        }
    }
    return best;
}

/* Whether output `index` of a program depends on input `input`: its exact derivative
 * is non-zero at one of five points with positive coordinates from 0.4 to 30 (a term that does
 * not contain the input has a derivative of exactly 0 in forward mode; positive points keep log
 * and sqrt finite; the spread catches min/max and abs that are flat near the origin). */
int expr_depends_on_input(const struct expr_program *program, int index, int input) {
    const int inputs = expr_inputs(program), outputs = expr_outputs(program);
    double *in = malloc(sizeof(double) * ((size_t)inputs + outputs + (size_t)outputs * inputs));
    if (!in) return 1; /* out of memory: call it dependent, the caller then refuses or splits */
    double *out = in + inputs, *jac = out + outputs;
    static const double base[5] = {0.37, 0.98, 1.59, 6.3, 29.7};
    int found = 0;
    for (int point = 0; point < 5 && !found; point++) {
        for (int j = 0; j < inputs; j++) in[j] = base[point] + 0.173 * j;
        expr_eval_jacobian(program, in, out, jac);
        const double d = jac[index * inputs + input];
        found = d != 0 && isfinite(d);
    }
    free(in);
    return found;
}

/* Splits `text` into its top-level terms: signs[i] is '+' or '-', terms[i] the term without its
 * sign (written into storage). A '+' or '-' is binary when it follows an operand (a name, a
 * number or ')'), except the sign of a number's exponent (1e-3). Returns the count, or -1. */
int expr_split_terms(const char *text, char *storage, size_t size, char **terms, char *signs,
                     int max_terms) {
    if (strlen(text) + 2 * (size_t)max_terms >= size) return -1;
    int count = 0, depth = 0;
    char *out = storage;
    terms[0] = out, signs[0] = '+';
    const char *operand_end = NULL; /* last character of the operand before, if any */
    int term_empty = 1;             /* nothing but white space in the current term yet */
    for (const char *c = text; *c; c++) {
        if (isspace((unsigned char)*c)) {
            *out++ = *c;
            continue;
        }
        int binary = depth == 0 && (*c == '+' || *c == '-') && operand_end;
        if (binary && (*operand_end == 'e' || *operand_end == 'E')) {
            const char *start = operand_end;
            while (start > text && (isalnum((unsigned char)start[-1]) || start[-1] == '.')) start--;
            if (isdigit((unsigned char)*start) || *start == '.') binary = 0; /* 1e-3 */
        }
        if (*c == '-' && depth == 0 && term_empty) {
            signs[count] = signs[count] == '-' ? '+' : '-'; /* a leading unary minus */
            continue;
        }
        if (binary) {
            *out++ = '\0';
            if (++count >= max_terms) return -1;
            terms[count] = out, signs[count] = *c;
            operand_end = NULL, term_empty = 1;
            continue;
        }
        term_empty = 0;
        depth += *c == '(' ? 1 : *c == ')' ? -1 : 0;
        operand_end = isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == ')' ? c : NULL;
        *out++ = *c;
    }
    *out = '\0';
    return count + 1;
}
