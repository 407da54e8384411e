/* latent_grid.h — regular grids of latent points for the analysis (docs/design.md §5).
 *
 * A grid spans d = 1..3 of the k latent coordinates (its axes), with `size[a]` equally spaced
 * points from lo to hi of that coordinate, ends included; every other coordinate is held at
 * at[c]. Points are numbered row-major, the last axis fastest, exactly as the HDF5 datasets
 * (G0, G1[, G2], ...) store them.
 */
#ifndef DDM_LATENT_GRID_H
#define DDM_LATENT_GRID_H

#include "ddm/system.h"

/* The largest grid dimension: a grid of G points per axis holds G^d cells, so 3 is the limit of
 * what fits in memory at useful resolutions; larger k get a grid over 2 or 3 chosen axes. */
#define DDM_GRID_MAX_D 3

struct latent_grid {
    int k;                               /* latent dimension */
    int d;                               /* grid dimension, 1..DDM_GRID_MAX_D */
    int axis[DDM_GRID_MAX_D];            /* latent coordinate varied along each grid axis */
    int size[DDM_GRID_MAX_D];            /* points along each grid axis */
    double lo[DDM_MAX_K], hi[DDM_MAX_K]; /* bounds of every coordinate */
    double at[DDM_MAX_K];                /* value of the coordinates that are not axes */
};

/* Sets grid axis a (0 ≤ a < DDM_GRID_MAX_D, checked: a wrong a aborts with a message rather than
 * writing past the arrays) to coordinate c with `size` points; the only way code fills axes. */
void grid_set_axis(struct latent_grid *g, int a, int c, int size);
/* Number of points, Π size[a]. */
long grid_points(const struct latent_grid *g);
/* Spacing along grid axis a. */
double grid_step(const struct latent_grid *g, int a);
/* Coordinate of point i along grid axis a. */
double grid_coord(const struct latent_grid *g, int a, int i);
/* z (k) of point `index`; idx (d) its indices along the axes (may be NULL). */
void grid_point(const struct latent_grid *g, long index, double *z, int *idx);
/* Row-major stride of grid axis a. */
long grid_stride(const struct latent_grid *g, int a);

#endif
