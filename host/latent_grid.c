/* latent_grid.c — regular latent grids, row-major with the last axis fastest. */
#include "ddm/latent_grid.h"

long grid_points(const struct latent_grid *g) {
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
