/* polynomial.c — the monomials of a polynomial basis in k variables (include/ddm/polynomial.h). */
#include "ddm/polynomial.h"

#include <string.h>

int monomials_graded(int k, int degree, int (*exponent)[DDM_MAX_K], int capacity, int *count_upto) {
    int count = 0, e[DDM_MAX_K];
    for (int total = 0; total <= degree; total++) {
        /* every e with Σ e = total: an odometer over the first k − 1 exponents, the last one
         * taking what is left (lexicographic order) */
        memset(e, 0, sizeof e);
        for (;;) {
            int used = 0;
            for (int c = 0; c < k - 1; c++) used += e[c];
            if (used <= total) {
                if (count == capacity) return -1;
                e[k - 1] = total - used;
                memcpy(exponent[count++], e, sizeof e);
            }
            int c = 0;
            while (c < k - 1 && ++e[c] > total) e[c++] = 0;
            if (c >= k - 1) break;
        }
        if (count_upto) count_upto[total] = count;
    }
    return count;
}
