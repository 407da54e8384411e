/* analysis_hhd.c — stationary density, f_rev, f_irr and the entropy production Φ (docs/design.md
 * §5).
 *
 * Density: cloud-in-cell binning onto the grid points, per batch of trajectories, then a separable
 * Gaussian of std h (truncated at 4h) along each axis, normalised to Σ p ΔV = 1. By default h is
 * chosen among fractions (1 … 1/11) of std · (4/((d+4)N))^(1/(d+6)), the normal-reference rule for
 * a density's gradient, by held-out score matching over the batches: a narrow attractor (a limit
 * cycle, a thin chaotic sheet) gets a kernel as narrow as its own width allows. The fields and
 * the grid Φ use the interior cells with p ≥ cut · max p; there f_rev = D∇log p + ∇·D (central
 * differences; ∇·D by central differences of D when it depends on z) and f_irr = f − f_rev with
 * the exact drift f. The sample identity Φ = ⟨fᵀD⁻¹f + ∇·f⟩ (constant D) needs no density at all.
 * Every sum runs in a fixed order, so a seed reproduces the numbers whatever the thread count.
 */
#include "ddm/analysis_hhd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hhd_free(struct hhd_accumulator *acc) {
    free(acc->batch_of);
    free(acc->counts);
    free(acc->binned);
    free(acc->partial);
    free(acc->partial_count);
    free(acc->identity_sum);
    free(acc->identity_count);
    memset(acc, 0, sizeof *acc);
}

int hhd_init(struct hhd_accumulator *acc, const struct latent_process *process,
             const struct latent_grid *grid, int B, int batches, long stride,
             struct ddm_error *err) {
    memset(acc, 0, sizeof *acc);
    const int k = process->k;
    acc->process = process;
    acc->k = k;
    acc->B = B;
    acc->batches = batches < B ? batches : B;
    acc->stride = stride > 0 ? stride : 1;
    const int G = acc->batches;
    acc->batch_of = ddm_alloc(sizeof(int) * B, "batch map", err);
    acc->identity_sum = ddm_calloc(G, sizeof(double), "batch sums", err);
    acc->identity_count = ddm_calloc(G, sizeof(long), "batch counts", err);
    acc->partial = ddm_alloc(sizeof(double) * B, "trajectory sums", err);
    acc->partial_count = ddm_alloc(sizeof(long) * B, "trajectory counts", err);
    int ok = acc->batch_of && acc->identity_sum && acc->identity_count && acc->partial &&
             acc->partial_count;
    if (ok && grid) {
        acc->grid_on = 1;
        acc->grid = *grid;
        acc->counts = ddm_calloc((size_t)G * grid_points(grid), sizeof(double), "density", err);
        acc->binned = ddm_calloc(G, sizeof(long), "batch sizes", err);
        ok = acc->counts && acc->binned;
    }
    if (!ok) {
        hhd_free(acc);
        return DDM_ERUNTIME;
    }
    for (int b = 0; b < B; b++) acc->batch_of[b] = (int)((long)b * G / B);
    if (process->diffusion_constant) {
        double z[DDM_MAX_K] = {0}, D[DDM_MAX_K * DDM_MAX_K];
        latent_process_D(process, z, D);
        acc->identity_on = spd_cholesky(k, D, acc->D_chol) == 0;
    }
    return DDM_OK;
}

/* Cloud-in-cell: spreads one sample over the 2^d surrounding grid points. */
static void bin_sample(struct hhd_accumulator *acc, const float *v, int batch) {
    const struct latent_grid *g = &acc->grid;
    long base = 0;
    double frac[DDM_GRID_MAX_D];
    for (int a = 0; a < g->d; a++) {
        double u = (v[g->axis[a]] - g->lo[g->axis[a]]) / grid_step(g, a);
        if (!(u >= 0) || u > g->size[a] - 1) return; /* outside the grid (or NaN) */
        int i = (int)u;
        if (i > g->size[a] - 2) i = g->size[a] - 2;
        frac[a] = u - i;
        base += i * grid_stride(g, a);
    }
    double *counts = acc->counts + (size_t)batch * grid_points(g);
    for (int corner = 0; corner < (1 << g->d); corner++) {
        double w = 1;
        long index = base;
        for (int a = 0; a < g->d; a++) {
            int up = (corner >> a) & 1;
            w *= up ? frac[a] : 1 - frac[a];
            index += up * grid_stride(g, a);
        }
        counts[index] += w;
    }
    acc->binned[batch]++;
}

/* fᵀD⁻¹f + ∇·f at one sample */
static double identity_term(const struct hhd_accumulator *acc, const double *z) {
    const int k = acc->k;
    double f[DDM_MAX_K], J[DDM_MAX_K * DDM_MAX_K], Dinv_f[DDM_MAX_K], value = 0;
    acc->process->drift(acc->process->ctx, z, f, J);
    spd_solve(k, acc->D_chol, f, Dinv_f);
    for (int c = 0; c < k; c++) value += f[c] * Dinv_f[c] + J[c * k + c];
    return value;
}

void hhd_add(struct hhd_accumulator *acc, const float *z, int count, long t) {
    const int k = acc->k, B = acc->B;
    if (acc->grid_on)
        for (int b = 0; b < B; b++)
            for (int s = 0; s < count; s++)
                bin_sample(acc, z + ((size_t)b * count + s) * k, acc->batch_of[b]);
    if (!acc->identity_on) return;
#pragma omp parallel for schedule(dynamic, 4)
    for (int b = 0; b < B; b++) {
        double sum = 0;
        long used = 0;
        for (int s = 0; s < count; s++) {
            if ((t + s) % acc->stride) continue;
            const float *v = z + ((size_t)b * count + s) * k;
            double zd[DDM_MAX_K];
            int finite = 1;
            for (int c = 0; c < k; c++) finite &= isfinite(zd[c] = v[c]) != 0;
            if (!finite) continue;
            sum += identity_term(acc, zd);
            used++;
        }
        acc->partial[b] = sum;
        acc->partial_count[b] = used;
    }
    for (int b = 0; b < B; b++) {
        acc->identity_sum[acc->batch_of[b]] += acc->partial[b];
        acc->identity_count[acc->batch_of[b]] += acc->partial_count[b];
    }
}

void hhd_result_free(struct hhd_result *result) {
    free(result->density);
    free(result->f_rev);
    free(result->f_irr);
    result->density = result->f_rev = result->f_irr = NULL;
}

/* mean and std/√G of per-batch values */
static void batch_mean_error(const double *values, int G, double *error) {
    double mean = 0, var = 0;
    for (int g = 0; g < G; g++) mean += values[g] / G;
    for (int g = 0; g < G; g++) var += (values[g] - mean) * (values[g] - mean);
    *error = G > 1 ? sqrt(var / (G - 1) / G) : NAN;
}

/* Separable Gaussian smoothing of `field` (P) in place; sigma (d) in grid cells; tmp (P). */
static void smooth(const struct latent_grid *g, const double *sigma, double *field, double *tmp) {
    const long P = grid_points(g);
    for (int a = 0; a < g->d; a++) {
        if (sigma[a] < 0.25) continue; /* narrower than a quarter cell: nothing to smooth */
        const int reach = (int)ceil(4 * sigma[a]), n = g->size[a];
        const long stride = grid_stride(g, a);
        double taps[2 * 4096 + 1], total = 0;
        const int r = reach < 4096 ? reach : 4096;
        for (int j = -r; j <= r; j++)
            total += taps[j + r] = exp(-0.5 * j * j / (sigma[a] * sigma[a]));
        for (int j = 0; j <= 2 * r; j++) taps[j] /= total;
#pragma omp parallel for schedule(static)
        for (long p = 0; p < P; p++) {
            const int i = (int)(p / stride % n);
            double sum = 0;
            for (int j = -r; j <= r; j++)
                if (i + j >= 0 && i + j < n) sum += taps[j + r] * field[p + j * stride];
            tmp[p] = sum;
        }
        memcpy(field, tmp, sizeof(double) * P);
    }
}

/* Fields of one cell that depend on the process only: f, D's Cholesky factor and ∇·D. */
struct cell_terms {
    double f[DDM_MAX_K], D[DDM_MAX_K * DDM_MAX_K], L[DDM_MAX_K * DDM_MAX_K], div_D[DDM_MAX_K];
    int singular;
};

static void cell_terms(const struct latent_process *p, const struct latent_grid *g, long index,
                       struct cell_terms *t) {
    const int k = p->k;
    double z[DDM_MAX_K];
    grid_point(g, index, z, NULL);
    p->drift(p->ctx, z, t->f, NULL);
    latent_process_D(p, z, t->D);
    t->singular = spd_cholesky(k, t->D, t->L) != 0;
    for (int c = 0; c < k; c++) t->div_D[c] = 0;
    if (p->diffusion_constant) return;
    for (int a = 0; a < g->d; a++) { /* (∇·D)_i = Σ_j ∂_j D_ij by central differences */
        const int j = g->axis[a];
        const double h = grid_step(g, a);
        double zp[DDM_MAX_K], zm[DDM_MAX_K], Dp[DDM_MAX_K * DDM_MAX_K], Dm[DDM_MAX_K * DDM_MAX_K];
        memcpy(zp, z, sizeof(double) * k);
        memcpy(zm, z, sizeof(double) * k);
        zp[j] += h;
        zm[j] -= h;
        latent_process_D(p, zp, Dp);
        latent_process_D(p, zm, Dm);
        for (int i = 0; i < k; i++) t->div_D[i] += (Dp[i * k + j] - Dm[i * k + j]) / (2 * h);
    }
}

/* The grid Φ's first-order smoothing correction. The density on the grid is p̂ = p * K, K of
 * variance η_a = h_a² + Δ_a²/6 along axis a (the Gaussian kernel and the cloud-in-cell deposit),
 * so p̂ = p + ½ Σ η_a ∂²_a p + O(η²) and Σ q p̂ ΔV overestimates ∫ q p by ½ Σ η_a ∫ q ∂²_a p: for
 * the rotating OU exactly the factor 1 + η/σ² (docs/trust.md). Weighting each cell by
 * p̂ − ½ Σ η_a ∂²_a p̂ removes that term. The error of ∇log p̂ adds nothing at first order: it is
 * the gradient of ψ = log p − log p̂, and ∫ f_irrᵀ∇ψ p = ∫ J·∇ψ = 0 for the stationary current J;
 * at second order it adds ∫ ∇ψᵀD∇ψ p > 0 (docs/trust.md; 2(η/(σ² + η))² on the OU). */
static double deconvolved(const struct latent_grid *g, const double *p, long index,
                          const double *eta) {
    double w = p[index];
    for (int a = 0; a < g->d; a++) {
        const long stride = grid_stride(g, a);
        const double h = grid_step(g, a);
        w -= 0.5 * eta[a] * (p[index + stride] - 2 * p[index] + p[index - stride]) / (h * h);
    }
    return w;
}

/* ∇log p at cell `index` by central differences along every axis; -1 where a neighbour is 0. */
static int grad_log(const struct latent_grid *g, const double *p, long index, double *grad) {
    for (int c = 0; c < g->k; c++) grad[c] = 0;
    for (int a = 0; a < g->d; a++) {
        const long stride = grid_stride(g, a);
        const double up = p[index + stride], down = p[index - stride];
        if (!(up > 0) || !(down > 0)) return -1;
        grad[g->axis[a]] = (log(up) - log(down)) / (2 * grid_step(g, a));
    }
    return 0;
}

/* f_irr (k) at an interior cell of density p and its contribution f_irrᵀD⁻¹f_irr · weight · volume,
 * the weight p itself, or its deconvolution when eta is given; f_rev (k) may be NULL. */
static int irreversible(const struct cell_terms *t, const struct latent_grid *g, const double *p,
                        long index, const double *eta, double volume, double *f_rev, double *f_irr,
                        double *phi) {
    const int k = g->k;
    double grad[DDM_MAX_K], rev[DDM_MAX_K], Dinv[DDM_MAX_K];
    if (grad_log(g, p, index, grad)) return -1;
    const double weight = eta ? deconvolved(g, p, index, eta) : p[index];
    for (int i = 0; i < k; i++) {
        rev[i] = t->div_D[i];
        for (int j = 0; j < k; j++) rev[i] += t->D[i * k + j] * grad[j];
        f_irr[i] = t->f[i] - rev[i];
        if (f_rev) f_rev[i] = rev[i];
    }
    *phi = NAN;
    if (!t->singular) {
        spd_solve(k, t->L, f_irr, Dinv);
        double q = 0;
        for (int i = 0; i < k; i++) q += f_irr[i] * Dinv[i];
        *phi = q * weight * volume;
    }
    return 0;
}

/* Interior cells with p ≥ cut·max p: their indices into cells (count returned). */
static long support(const struct latent_grid *g, const double *p, double cut, long *cells) {
    const long P = grid_points(g);
    double top = 0;
    for (long q = 0; q < P; q++) top = fmax(top, p[q]);
    long count = 0;
    for (long q = 0; q < P; q++) {
        int idx[DDM_GRID_MAX_D], interior = 1;
        double z[DDM_MAX_K];
        grid_point(g, q, z, idx);
        for (int a = 0; a < g->d; a++) interior &= idx[a] > 0 && idx[a] < g->size[a] - 1;
        if (interior && top > 0 && p[q] >= cut * top && p[q] > 0) cells[count++] = q;
    }
    return count;
}

/* Normalises smoothed counts to a density with Σ p ΔV = 1. */
static void normalise(double *p, long P, double volume) {
    double total = 0;
    for (long q = 0; q < P; q++) total += p[q];
    for (long q = 0; q < P; q++) p[q] = total > 0 ? p[q] / (total * volume) : 0;
}

/* Held-out score matching for the kernel width: for each batch, s = ∇log p of the other batches'
 * smoothed density is scored on the batch's samples by Hyvärinen's E[½|s|² + ∇·s] (coordinates
 * scaled by `scale`), which is, up to a constant, the Fisher divergence E|s − ∇log p|² that
 * f_rev = Ds inherits. The batches are independent trajectories, so time-correlated samples do
 * not favour narrow kernels. smoothed (G,P) and total (P) are scratch. Returns +inf when more
 * than 1 % of the held-out samples lie where the other batches' density vanishes. */
static double heldout_score_loss(const struct latent_grid *g, const double *counts, int G,
                                 const double *sigma, const double *scale, double *smoothed,
                                 double *total, double *tmp) {
    const long P = grid_points(g);
    memcpy(smoothed, counts, sizeof(double) * G * P);
    for (long q = 0; q < P; q++) total[q] = 0;
    for (int b = 0; b < G; b++) {
        smooth(g, sigma, smoothed + (size_t)b * P, tmp);
        for (long q = 0; q < P; q++) total[q] += smoothed[(size_t)b * P + q];
    }
    double loss = 0, scored = 0, unscored = 0;
    for (int b = 0; b < G; b++) {
        const double *held = counts + (size_t)b * P, *own = smoothed + (size_t)b * P;
        for (long q = 0; q < P; q++) {
            if (held[q] <= 0) continue;
            double z[DDM_MAX_K], term = 0;
            int idx[DDM_GRID_MAX_D], ok = 1;
            grid_point(g, q, z, idx);
            const double centre = total[q] - own[q];
            for (int a = 0; a < g->d && ok; a++) {
                const long stride = grid_stride(g, a);
                const double h = grid_step(g, a);
                ok = idx[a] > 0 && idx[a] < g->size[a] - 1;
                const double up = ok ? total[q + stride] - own[q + stride] : 0;
                const double down = ok ? total[q - stride] - own[q - stride] : 0;
                ok = ok && centre > 0 && up > 0 && down > 0;
                if (!ok) break;
                const double slope = (log(up) - log(down)) / (2 * h);
                const double curvature = (log(up) - 2 * log(centre) + log(down)) / (h * h);
                term += scale[a] * scale[a] * (0.5 * slope * slope + curvature);
            }
            if (ok) {
                loss += held[q] * term;
                scored += held[q];
            } else {
                unscored += held[q];
            }
        }
    }
    return unscored > 0.01 * (scored + unscored) || scored <= 0 ? INFINITY : loss / scored;
}

/* Kernel widths (cells) along each grid axis: a fixed fraction of the std, or the best of a
 * ladder of fractions of the normal-reference width by held-out score matching. */
static double choose_bandwidth(const struct hhd_accumulator *acc, const double *std,
                               double bandwidth, double *sigma_cells, double *smoothed,
                               double *total, double *tmp, long samples) {
    const struct latent_grid *g = &acc->grid;
    /* normal-reference rule for the gradient of a density (it is ∇log p that f_rev needs) */
    const double reference =
        pow(4.0 / ((g->d + 4.0) * (samples > 0 ? samples : 1)), 1.0 / (g->d + 6.0));
    double scale[DDM_GRID_MAX_D], best = bandwidth > 0 ? bandwidth : reference;
    for (int a = 0; a < g->d; a++) scale[a] = std[g->axis[a]];
    if (bandwidth <= 0 && acc->batches > 1) {
        static const double ladder[] = {1, 0.71, 0.5, 0.35, 0.25, 0.18, 0.125, 0.09};
        double lowest = INFINITY;
        for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
            double sigma[DDM_GRID_MAX_D];
            for (int a = 0; a < g->d; a++)
                sigma[a] = ladder[i] * reference * scale[a] / grid_step(g, a);
            double loss = heldout_score_loss(g, acc->counts, acc->batches, sigma, scale, smoothed,
                                             total, tmp);
            if (loss < lowest) {
                lowest = loss;
                best = ladder[i] * reference;
            }
        }
    }
    for (int a = 0; a < g->d; a++) sigma_cells[a] = best * scale[a] / grid_step(g, a);
    return best;
}

/* The grid Φ's noise bias, removed by the jackknife over batches of whole trajectories. Φ is
 * quadratic in f_irr = f − D∇log p̂, and the sampling noise δ of ∇log p̂ enters squared: at a fixed
 * kernel E Φ̂_N = Φ + c/N + O(N⁻²) with c = ∫ E|δ|²_D p N > 0 — positive even where Φ = 0 (a
 * gradient system), and far larger than the spread of Φ̂ there, so a plain batch error bar
 * excludes the truth. Φ̂₋b, the estimate without batch b (N(G−1)/G of the data), has bias
 * cG/((G−1)N), so Φ̂_J = GΦ̂ − (G−1)·mean Φ̂₋b removes the 1/N term. Its statistical error is the
 * jackknife's √((G−1)/G Σ(Φ̂₋b − mean)²) (conservative on average, by the Efron–Stein inequality).
 * What the first-order removal leaves (the N⁻² terms, the second-order smoothing bias; on
 * associative_recall as large as the bias removed) is not known better than the removed bias
 * itself, so that enters the error bar in quadrature. Whole trajectories are the units, so
 * correlated samples along a path count as what they are. */
static void jackknife(double phi_full, const double *phi_without, int G, struct hhd_result *r) {
    double mean = 0, spread = 0;
    for (int b = 0; b < G; b++) mean += phi_without[b] / G;
    for (int b = 0; b < G; b++) spread += (phi_without[b] - mean) * (phi_without[b] - mean);
    const double bias = G > 1 ? (G - 1) * (mean - phi_full) : NAN;
    r->phi_grid_noise_bias = bias;
    r->phi_grid = G > 1 ? phi_full - bias : phi_full;
    r->phi_grid_err = G > 1 ? sqrt(spread * (G - 1) / G + bias * bias) : NAN;
}

/* The work arrays of finish_grid. */
struct grid_work {
    double *batch_p;          /* (G,P) each batch's smoothed counts, then the density without it */
    double *p;                /* (P) the density of all batches */
    double *tmp;              /* (P) smoothing scratch */
    long *cells;              /* (P) the cells of the support, `used` of them */
    double *phi_batch;        /* (G) Φ without batch b */
    struct cell_terms *terms; /* the terms of a tile of cells */
    double sigma_cells[DDM_GRID_MAX_D], eta[DDM_GRID_MAX_D];
    double volume; /* of a cell */
    long used;
};

/* The kernel density p on the grid and, for the jackknife, the density without each batch:
 * the bandwidth, the variance η it adds per axis, the smoothed counts. */
static void grid_densities(const struct hhd_accumulator *acc, const double *std, double bandwidth,
                           struct hhd_result *r, struct grid_work *w) {
    const struct latent_grid *g = &acc->grid;
    const int G = acc->batches;
    const long P = grid_points(g);
    r->bandwidth_fraction =
        choose_bandwidth(acc, std, bandwidth, w->sigma_cells, w->batch_p, w->p, w->tmp, r->samples);
    for (int a = 0; a < g->d; a++) {
        const double h = grid_step(g, a), kernel = w->sigma_cells[a] < 0.25 ? 0 : w->sigma_cells[a];
        r->bandwidth[g->axis[a]] = r->bandwidth_fraction * std[g->axis[a]];
        w->eta[a] = kernel * kernel * h * h + h * h / 6; /* smoothing (see smooth()) + CIC */
        r->smoothing_variance[g->axis[a]] = w->eta[a];
    }
    for (long q = 0; q < P; q++) w->p[q] = 0;
    memcpy(w->batch_p, acc->counts, sizeof(double) * G * P);
    for (int b = 0; b < G; b++) {
        smooth(g, w->sigma_cells, w->batch_p + (size_t)b * P, w->tmp);
        for (long q = 0; q < P; q++) w->p[q] += w->batch_p[(size_t)b * P + q];
    }
    /* the smoothing is linear: the density without batch b is the total less its share */
    for (int b = 0; b < G; b++) {
        double *without = w->batch_p + (size_t)b * P;
        for (long q = 0; q < P; q++) without[q] = fmax(w->p[q] - without[q], 0);
        normalise(without, P, w->volume);
    }
    normalise(w->p, P, w->volume);
}

/* f_rev, f_irr and Φ = Σ f_irrᵀD⁻¹f_irr · weight · ΔV over the support, with the weight p
 * (uncorrected) and with its deconvolution by η, and the latter without each batch for the
 * jackknife; returns whether D was singular somewhere. */
static int grid_phi(const struct hhd_accumulator *acc, struct hhd_result *r, struct grid_work *w) {
    const struct latent_grid *g = &acc->grid;
    const int k = acc->k, G = acc->batches;
    const long P = grid_points(g), used = w->used;
    const double *p = w->p, volume = w->volume;
    double phi = 0, phi_raw = 0, mass = 0;
    int singular = 0;
    /* the terms of a tile of cells in parallel, then the sums cell by cell in order */
    for (long from = 0; from < used; from += HHD_TERMS_TILE) {
        const long count = used - from < HHD_TERMS_TILE ? used - from : HHD_TERMS_TILE;
#pragma omp parallel for schedule(dynamic, 64)
        for (long u = 0; u < count; u++)
            cell_terms(acc->process, g, w->cells[from + u], &w->terms[u]);
        for (long u = 0; u < count; u++) {
            const struct cell_terms *terms = &w->terms[u];
            const long q = w->cells[from + u];
            double rev[DDM_MAX_K], irr[DDM_MAX_K], contribution;
            mass += p[q] * volume;
            singular |= terms->singular;
            if (irreversible(terms, g, p, q, NULL, volume, rev, irr, &contribution)) continue;
            phi_raw += contribution;
            double full = 0;
            irreversible(terms, g, p, q, w->eta, volume, rev, irr, &full);
            phi += full;
            for (int c = 0; c < k; c++) {
                r->f_rev[q * k + c] = (float)rev[c];
                r->f_irr[q * k + c] = (float)irr[c];
            }
            for (int b = 0; b < G; b++) {
                const double *pb = w->batch_p + (size_t)b * P;
                if (irreversible(terms, g, pb, q, w->eta, volume, NULL, irr, &contribution))
                    contribution = full; /* no information on this cell: no influence */
                w->phi_batch[b] += contribution;
            }
        }
    }
    r->mass = mass;
    r->phi_grid_uncorrected = phi_raw;
    jackknife(phi, w->phi_batch, G, r);
    return singular;
}

static int finish_grid(const struct hhd_accumulator *acc, const double *std, double bandwidth,
                       double cut, struct hhd_result *r, struct ddm_error *err) {
    const struct latent_grid *g = &acc->grid;
    const int k = acc->k, G = acc->batches;
    const long P = grid_points(g);
    struct grid_work w = {.volume = 1};
    for (int a = 0; a < g->d; a++) w.volume *= grid_step(g, a);
    for (long b = 0; b < G; b++) r->samples += acc->binned[b];
    w.batch_p = ddm_alloc(sizeof(double) * G * P, "batch densities", err);
    w.p = ddm_calloc(P, sizeof(double), "density", err);
    w.tmp = ddm_alloc(sizeof(double) * P, "smoothing", err);
    w.cells = ddm_alloc(sizeof(long) * P, "cell list", err);
    r->density = ddm_alloc(sizeof(float) * P, "density", err);
    r->f_rev = ddm_alloc(sizeof(float) * P * k, "f_rev", err);
    r->f_irr = ddm_alloc(sizeof(float) * P * k, "f_irr", err);
    w.phi_batch = ddm_calloc(G, sizeof(double), "leave-one-out Φ", err);
    int code =
        w.batch_p && w.p && w.tmp && w.cells && r->density && r->f_rev && r->f_irr && w.phi_batch
            ? DDM_OK
            : DDM_ERUNTIME;
    if (!code) {
        grid_densities(acc, std, bandwidth, r, &w);
        w.used = support(g, w.p, cut, w.cells);
        const long tile = w.used < HHD_TERMS_TILE ? w.used + 1 : HHD_TERMS_TILE;
        w.terms = ddm_alloc(sizeof(struct cell_terms) * tile, "cell terms", err);
        if (!w.terms) code = DDM_ERUNTIME;
    }
    if (!code) {
        for (long q = 0; q < P; q++) r->density[q] = (float)w.p[q];
        for (long q = 0; q < P * k; q++) r->f_rev[q] = r->f_irr[q] = NAN;
        const int singular = grid_phi(acc, r, &w);
        const size_t noted = strlen(r->note);
        if (singular || w.used == 0)
            snprintf(r->note + noted, sizeof r->note - noted, "%s%s", noted ? "; " : "",
                     w.used == 0 ? "no grid cell holds enough density"
                                 : "D is singular somewhere: the grid Φ is not finite");
    }
    free(w.batch_p);
    free(w.p);
    free(w.tmp);
    free(w.cells);
    free(w.terms);
    free(w.phi_batch);
    return code;
}

double hhd_peak_bytes(long P, int B, int G, int k) {
    if (G > B) G = B;
    /* hhd_init: batch map, per-trajectory sums, per-batch sums, counts (G,P) */
    double bytes = B * (sizeof(int) + sizeof(double) + sizeof(long)) +
                   G * (sizeof(double) + 2 * sizeof(long)) + (double)G * P * sizeof(double);
    if (P == 0) return bytes;
    /* finish_grid: batch densities (G,P), p, smoothing, cell list, the result's density, f_rev and
     * f_irr, one tile of cell terms */
    bytes += (double)G * P * sizeof(double) + P * (2 * sizeof(double) + sizeof(long)) +
             P * sizeof(float) * (1 + 2.0 * k) +
             (double)(P < HHD_TERMS_TILE ? P : HHD_TERMS_TILE) * sizeof(struct cell_terms);
    return bytes;
}

int hhd_finish(const struct hhd_accumulator *acc, const double *std, double bandwidth, double cut,
               struct hhd_result *result, struct ddm_error *err) {
    memset(result, 0, sizeof *result);
    const int G = acc->batches;
    result->batches = G;
    result->phi = result->phi_err = result->phi_grid = result->phi_grid_err = NAN;
    result->phi_grid_uncorrected = result->phi_grid_noise_bias = NAN;
    if (acc->identity_on) {
        double sum = 0, per_batch[G];
        long count = 0;
        int empty = 0;
        for (int b = 0; b < G; b++) {
            sum += acc->identity_sum[b];
            count += acc->identity_count[b];
            empty |= acc->identity_count[b] == 0;
            per_batch[b] =
                acc->identity_count[b] ? acc->identity_sum[b] / acc->identity_count[b] : NAN;
        }
        result->identity_samples = count;
        result->phi = count ? sum / count : NAN;
        if (!empty) batch_mean_error(per_batch, G, &result->phi_err);
    } else {
        snprintf(
            result->note, sizeof result->note, "%s",
            acc->process->diffusion_constant
                ? "D is singular: Φ is not finite"
                : "D depends on z: Φ from the grid only (the sample identity needs constant D)");
    }
    if (!acc->grid_on) return DDM_OK;
    result->grid_on = 1;
    result->grid = acc->grid;
    int code = finish_grid(acc, std, bandwidth, cut, result, err);
    if (code) hhd_result_free(result);
    return code;
}
