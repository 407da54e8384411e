/* expr_tape.h — private: the compiled form of an expression program (see include/ddm/expr.h).
 *
 * A program is a flat tape of register instructions {op, dst, a, b} in static single assignment:
 * instruction i writes register nvars + i and reads only earlier registers. The register file is
 * [ variables | one temporary per instruction ... | constants ], the constants growing down from
 * the top so that the compiler can allocate both kinds in one pass. Shared by expr_parse.c (which
 * builds the tape) and expr_eval.c (which runs and differentiates it).
 */
#ifndef DDM_EXPR_TAPE_H
#define DDM_EXPR_TAPE_H

#include "ddm/expr.h"

#include <math.h>
#include <stdint.h>

enum expr_op {
    EXPR_NEG,
    EXPR_SIN,
    EXPR_COS,
    EXPR_TAN,
    EXPR_EXP,
    EXPR_LOG,
    EXPR_SQRT,
    EXPR_TANH,
    EXPR_ABS,
    EXPR_SIGN, /* -1, 0 or 1 (NaN stays NaN) */
    EXPR_ADD,
    EXPR_SUB,
    EXPR_MUL,
    EXPR_DIV,
    EXPR_POW,       /* a^b with a run-time exponent */
    EXPR_POW_CONST, /* a^b with b a constant register: a simpler derivative */
    EXPR_MIN,
    EXPR_MAX,
};

/* One-argument instructions set b = a, so evaluation may read both operands unconditionally. */
struct expr_instr {
    uint16_t op, dst, a, b;
};

struct expr_program {
    int nvars;    /* registers [0, nvars) are the inputs */
    int noutputs; /* one per compiled source */
    int ninstr;   /* instruction i writes register nvars + i */
    int nconst;   /* registers [EXPR_MAX_REGISTERS - nconst, EXPR_MAX_REGISTERS) are constants */
    struct expr_instr code[EXPR_MAX_REGISTERS]; /* (ninstr) */
    double constants[EXPR_MAX_REGISTERS];       /* indexed by register; only the top nconst used */
    int output_reg[];                           /* (noutputs) register holding each output */
};

/* min and max that propagate a NaN in either argument (C's fmin/fmax would hide it, and with it a
 * blown-up simulation); on a tie the first argument wins. */
static inline bool expr_min_picks_first(double a, double b) {
    return a <= b || isnan(a);
}
static inline bool expr_max_picks_first(double a, double b) {
    return a >= b || isnan(a);
}

/* The value of one instruction. The compiler folds constants with this same function, so a folded
 * subexpression equals bit for bit what the tape would have computed. */
static inline double expr_apply(enum expr_op op, double a, double b) {
    switch (op) {
    case EXPR_NEG:
        return -a;
    case EXPR_SIN:
        return sin(a);
    case EXPR_COS:
        return cos(a);
    case EXPR_TAN:
        return tan(a);
    case EXPR_EXP:
        return exp(a);
    case EXPR_LOG:
        return log(a);
    case EXPR_SQRT:
        return sqrt(a);
    case EXPR_TANH:
        return tanh(a);
    case EXPR_ABS:
        return fabs(a);
    case EXPR_SIGN:
        return isnan(a) ? a : (double)((a > 0) - (a < 0));
    case EXPR_ADD:
        return a + b;
    case EXPR_SUB:
        return a - b;
    case EXPR_MUL:
        return a * b;
    case EXPR_DIV:
        return a / b;
    case EXPR_POW:
    case EXPR_POW_CONST:
        return pow(a, b);
    case EXPR_MIN:
        return expr_min_picks_first(a, b) ? a : b;
    case EXPR_MAX:
        return expr_max_picks_first(a, b) ? a : b;
    }
    return NAN;
}

#endif
