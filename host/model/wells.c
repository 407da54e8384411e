/* wells.c — drift, Jacobian and potential of the multi-well landscape (see include/ddm/wells.h).
 *
 * The softmax weights are formed with the largest exponent subtracted, so states far from every
 * well (where each exp(−‖z − p_j‖²/2w²) underflows) still get a finite drift pointing home.
 */
#include "ddm/wells.h"

#include <math.h>

/* π (K) = softmax_j(−‖z − p_j‖²/(2w²)); returns log Σ_j exp(a_j) for the potential. */
static double weights(const struct wells *w, const double *z, double *pi) {
    double a[DDM_MAX_WELLS], top = -INFINITY;
    for (int j = 0; j < w->K; j++) {
        double d2 = 0;
        for (int c = 0; c < w->k; c++)
            d2 += (z[c] - w->patterns[j][c]) * (z[c] - w->patterns[j][c]);
        a[j] = -d2 / (2 * w->width * w->width);
        if (a[j] > top) top = a[j];
    }
    double sum = 0;
    for (int j = 0; j < w->K; j++) sum += (pi[j] = exp(a[j] - top));
    for (int j = 0; j < w->K; j++) pi[j] /= sum;
    return top + log(sum);
}

/* y = (I + αR) v, R rotating the plane of coordinates 0 and 1: (Rv)_0 = −v_1, (Rv)_1 = v_0. */
static void rotate(const struct wells *w, const double *v, double *y, int stride) {
    for (int c = 0; c < w->k; c++) y[c * stride] = v[c * stride];
    if (w->k >= 2) {
        y[0] -= w->alpha * v[stride];
        y[stride] += w->alpha * v[0];
    }
}

/* The wall: distance r = ‖z − c‖ and how far beyond ρ it is (0 inside). */
static double beyond_wall(const struct wells *w, const double *z, double *r) {
    double r2 = 0;
    for (int c = 0; c < w->k; c++) r2 += (z[c] - w->centre[c]) * (z[c] - w->centre[c]);
    *r = sqrt(r2);
    return w->wall > 0 && *r > w->wall_radius ? *r - w->wall_radius : 0;
}

void wells_drift(const struct wells *w, const double *z, double *f, double *jac) {
    const int k = w->k;
    const double gain = w->depth / (w->width * w->width);
    double pi[DDM_MAX_WELLS], mean[8] = {0}, g[8] = {0}, r;
    weights(w, z, pi);
    for (int j = 0; j < w->K; j++)
        for (int c = 0; c < k; c++) mean[c] += pi[j] * w->patterns[j][c];
    /* −∇V: the wells' pull, and the wall's, wall (r − ρ)/r (z − c) beyond ρ */
    const double out = beyond_wall(w, z, &r), push = out > 0 ? w->wall * out / r : 0;
    for (int c = 0; c < k; c++) g[c] = -gain * (z[c] - mean[c]) - push * (z[c] - w->centre[c]);
    rotate(w, g, f, 1);
    if (!jac) return;
    /* ∂(z − m)/∂z = I − C/w², C = Σ_j π_j (p_j − m)(p_j − m)ᵀ; then −gain (I + αR) times it */
    double dg[64];
    for (int c = 0; c < k; c++)
        for (int d = 0; d < k; d++) {
            double cov = 0;
            for (int j = 0; j < w->K; j++)
                cov += pi[j] * (w->patterns[j][c] - mean[c]) * (w->patterns[j][d] - mean[d]);
            dg[c * k + d] = -gain * ((c == d) - cov / (w->width * w->width));
            /* ∂/∂z of wall (1 − ρ/r)(z − c): wall[(1 − ρ/r) I + (ρ/r³)(z − c)(z − c)ᵀ] */
            if (out > 0)
                dg[c * k + d] -= w->wall * ((c == d) * out / r + w->wall_radius / (r * r * r) *
                                                                     (z[c] - w->centre[c]) *
                                                                     (z[d] - w->centre[d]));
        }
    for (int d = 0; d < k; d++) rotate(w, dg + d, jac + d, k);
}

double wells_potential(const struct wells *w, const double *z) {
    double pi[DDM_MAX_WELLS], r;
    const double out = beyond_wall(w, z, &r);
    return -w->depth * weights(w, z, pi) + 0.5 * w->wall * out * out;
}

int wells_nearest(const struct wells *w, const double *z, double *distance) {
    int best = 0;
    double best_d2 = INFINITY;
    for (int j = 0; j < w->K; j++) {
        double d2 = 0;
        for (int c = 0; c < w->k; c++)
            d2 += (z[c] - w->patterns[j][c]) * (z[c] - w->patterns[j][c]);
        if (d2 < best_d2) best_d2 = d2, best = j;
    }
    if (distance) *distance = sqrt(best_d2);
    return best;
}
