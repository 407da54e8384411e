/* hidden_gram_cpu.c — the CPU twin of the hidden-layer Gram matrix for the ridge start
 * (docs/design.md §3).
 *
 * With features φ_s = (tanh(Γ̂ẑ_s + b), 1) ∈ R^(n+1), accumulates G = Σ_s φ_s φ_sᵀ and
 * C = Σ_s φ_s t_sᵀ in double: the ridge solution W_sᵀ = (G + λI)⁻¹ C needs the precision, as G is
 * badly conditioned. Points are taken in tiles; each tile's features are formed in double and
 * added with OpenBLAS (dsyrk for G, dgemm for C), in tile order, so the result is reproducible.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/ops.h"

enum { GRAM_TILE = 256 };

int hidden_gram_cpu(int n, int k, int M, const float *Gamma, const float *b, const float *Z,
                    const float *targets, int width, double *gram, double *cross) {
    const int features = n + 1;
    double *phi = malloc(sizeof(double) * features * GRAM_TILE); /* (tile, n+1) */
    double *tgt = malloc(sizeof(double) * width * GRAM_TILE);    /* (tile, width) */
    if (!phi || !tgt) {
        free(phi);
        free(tgt);
        return -1;
    }
    memset(gram, 0, sizeof(double) * features * features);
    memset(cross, 0, sizeof(double) * features * width);
    for (int start = 0; start < M; start += GRAM_TILE) {
        int count = M - start < GRAM_TILE ? M - start : GRAM_TILE;
#pragma omp parallel for schedule(static)
        for (int s = 0; s < count; s++) {
            const float *z = Z + (size_t)(start + s) * k;
            double *row = phi + (size_t)s * features;
            for (int i = 0; i < n; i++) {
                double pre = b[i];
                for (int c = 0; c < k; c++) pre += (double)Gamma[(size_t)i * k + c] * z[c];
                row[i] = tanh(pre);
            }
            row[n] = 1.0;
            for (int w = 0; w < width; w++)
                tgt[(size_t)s * width + w] = targets[(size_t)(start + s) * width + w];
        }
        /* G += φᵀφ (upper triangle), C += φᵀ t */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, features, count, 1.0, phi, features, 1.0,
                    gram, features);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, features, width, count, 1.0, phi,
                    features, tgt, width, 1.0, cross, width);
    }
    for (int i = 0; i < features; i++) /* mirror the upper triangle */
        for (int j = 0; j < i; j++) gram[(size_t)i * features + j] = gram[(size_t)j * features + i];
    free(phi);
    free(tgt);
    return 0;
}
