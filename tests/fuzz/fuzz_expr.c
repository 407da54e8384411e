/* fuzz_expr.c — libFuzzer target for the expression compiler (host/expr_*.c).
 *
 * The input is split at newlines into up to 8 sources, compiled over variables x, y, z and
 * parameters a, b; a program that compiles is evaluated, with its Jacobian, at two points.
 * Built with -fsanitize=fuzzer,address,undefined by `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    const char *sources[8];
    int count = 0;
    for (char *line = text; line && count < 8;) {
        sources[count++] = line;
        char *eol = strchr(line, '\n');
        if (eol) *eol = 0;
        line = eol ? eol + 1 : NULL;
    }
    static const char *const vars[] = {"x", "y", "z"};
    static const char *const params[] = {"a", "b"};
    static const double values[] = {1.5, -0.25};
    struct expr_symbols symbols = {3, vars, 2, params, values, 0, NULL};
    struct expr_error err;
    struct expr_program *program = expr_compile(sources, count, &symbols, &err);
    if (program) {
        double z[3] = {0.3, -1.7, 2.0}, out[8], jac[8 * 3];
        expr_eval(program, z, out);
        expr_eval_jacobian(program, z, out, jac);
        double far[3] = {1e300, -1e-300, 0};
        expr_eval_jacobian(program, far, out, jac);
        for (int i = 0; i < count; i++) (void)expr_depends_on_vars(program, i);
        expr_free(program);
    } else if (err.column < 0 || err.message[0] == 0) {
        abort(); /* every failure must say where and why */
    }
    double value;
    (void)expr_constant(sources[0], &symbols, &value, &err);
    char storage[256], *parts[8];
    (void)expr_split(sources[0], ';', parts, 8, storage, sizeof storage);
    free(text);
    return 0;
}
