/* latent_grid.c — regular latent grids, row-major with the last axis fastest. */
#include "ddm/latent_grid.h"

#include <stdio.h>
#include <stdlib.h>

/* A grid dimension or axis outside the arrays is a bug in the caller: stop before any write. */
static void check_axis(const struct latent_grid *g, int a, const char *what) {
    if (a >= 0 && a < DDM_GRID_MAX_D && g->k >= 1 && g->k <= DDM_MAX_K) return;
    fprintf(stderr, "ddm_gpu: internal error: %s %d of a latent grid (k = %d, at most %d axes)\n",
            what, a, g->k, DDM_GRID_MAX_D);
    abort();
}

void grid_set_axis(struct latent_grid *g, int a, int c, int size) {
    check_axis(g, a, "axis");
    if (c < 0 || c >= g->k) check_axis(g, -1, "coordinate of axis");
    g->axis[a] = c;
    g->size[a] = size;
    if (g->d < a + 1) g->d = a + 1;
}

long grid_points(const struct latent_grid *g) {
    check_axis(g, g->d - 1, "dimension");
    long count = 1;
    for (int a = 0; a < g->d; a++) count *= g->size[a];
    return count;
}

double grid_step(const struct latent_grid *g, int a) {
    const int c = g->axis[a];
    return g->size[a] > 1 ? (g->hi[c] - g->lo[c]) / (g->size[a] - 1) : 0;
}

double grid_coord(const struct latent_grid *g, int a, int i) {
    return g->lo[g->axis[a]] + grid_step(g, a) * i;
}

long grid_stride(const struct latent_grid *g, int a) {
    long stride = 1;
    for (int b = a + 1; b < g->d; b++) stride *= g->size[b];
    return stride;
}

void grid_point(const struct latent_grid *g, long index, double *z, int *idx) {
    for (int c = 0; c < g->k; c++) z[c] = g->at[c];
    for (int a = g->d - 1; a >= 0; a--) {
        int i = (int)(index % g->size[a]);
        index /= g->size[a];
        z[g->axis[a]] = grid_coord(g, a, i);
        if (idx) idx[a] = i;
    }
}
