/* orthonormal.c — modified Gram–Schmidt on the columns of a row-major matrix (orthonormal.h). */
#include "ddm/orthonormal.h"

#include <math.h>

int orthonormalise_columns(int rows, int cols, double *Q, int passes, double *norms) {
    for (int j = 0; j < cols; j++)
        for (int pass = 0; pass < passes; pass++) {
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int r = 0; r < rows; r++) dot += Q[r * cols + i] * Q[r * cols + j];
                for (int r = 0; r < rows; r++) Q[r * cols + j] -= dot * Q[r * cols + i];
            }
            double norm = 0;
            for (int r = 0; r < rows; r++) norm += Q[r * cols + j] * Q[r * cols + j];
            norm = sqrt(norm);
            if (!(norm > 0) || !isfinite(norm)) return -1;
            for (int r = 0; r < rows; r++) Q[r * cols + j] /= norm;
            if (norms && pass == 0) norms[j] = norm;
        }
    return 0;
}
