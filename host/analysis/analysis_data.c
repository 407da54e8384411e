/* analysis_data.c — the network against recorded data: moments and W₁, power spectra and their
 * Hellinger distance, the binned state-space divergence, and stochastic force inference
 * (include/ddm/analysis_data.h; docs/from_data_analysis.md for the formulas and references).
 */
#include "ddm/analysis_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/analysis_stats.h"
#include "ddm/polynomial.h"
#include "ddm/latent_process.h"

int data_batch_of(const struct recording *r, int b, long s, int G) {
    if (r->trajectories >= G) return (int)((long)b * G / r->trajectories);
    const long total = r->offset[r->trajectories];
    return (int)((r->offset[b] + s) * G / total); /* time blocks of the concatenated record */
}

static int finite_row(const double *z, int k) {
    for (int c = 0; c < k; c++)
        if (!isfinite(z[c])) return 0;
    return 1;
}

/* The range of the finite samples of r, widened to (lo, hi). */
static void widen_range(const struct recording *r, double *lo, double *hi) {
    const long total = r->offset[r->trajectories];
    for (long q = 0; q < total; q++) {
        const double *z = r->z + q * r->k;
        if (!finite_row(z, r->k)) continue;
        for (int c = 0; c < r->k; c++) {
            lo[c] = fmin(lo[c], z[c]);
            hi[c] = fmax(hi[c], z[c]);
        }
    }
}

/* ---- moments and marginals ---- */

/* Batch moments and marginals of one recording; index G holds the whole. */
static int batch_histograms(const struct recording *r, int G, int bins, const double *lo,
                            const double *hi, struct stats_moments *mo, struct stats_marginals *ma,
                            struct ddm_error *err) {
    const int k = r->k;
    for (int g = 0; g <= G; g++) {
        stats_moments_init(&mo[g], k);
        if (stats_marginals_init(&ma[g], k, lo, hi, bins, err)) return DDM_ERUNTIME;
    }
    for (int b = 0; b < r->trajectories; b++)
        for (long s = 0; s < recording_length(r, b); s++) {
            const double *z = r->z + (r->offset[b] + s) * k;
            float v[DDM_MAX_K];
            for (int c = 0; c < k; c++) v[c] = (float)z[c];
            const int g = data_batch_of(r, b, s, G);
            stats_moments_add(&mo[g], v, 1);
            stats_marginals_add(&ma[g], v, 1);
            stats_moments_add(&mo[G], v, 1);
            stats_marginals_add(&ma[G], v, 1);
        }
    return DDM_OK;
}

/* std over the batches of x (NaN entries skipped) / √(count). */
static double batch_error(const double *x, int G) {
    double sum = 0, sum2 = 0;
    int n = 0;
    for (int g = 0; g < G; g++)
        if (isfinite(x[g])) sum += x[g], sum2 += x[g] * x[g], n++;
    if (n < 2) return NAN;
    const double var = (sum2 - sum * sum / n) / (n - 1);
    return sqrt(fmax(var, 0) / n);
}

static void fill_moments(struct data_stats *out, int p, const struct stats_moments *mo, int G) {
    const int k = out->k;
    double cov[DDM_MAX_K * DDM_MAX_K], batch_mean[DDM_MAX_K][64];
    stats_moments_result(&mo[G], out->mean[p], out->cov[p]);
    out->samples[p] = mo[G].count;
    for (int g = 0; g < G; g++) {
        double mean[DDM_MAX_K];
        stats_moments_result(&mo[g], mean, cov);
        for (int c = 0; c < k; c++) batch_mean[c][g] = mean[c];
    }
    for (int c = 0; c < k; c++) out->mean_err[p][c] = batch_error(batch_mean[c], G);
}

int data_stats_compare(const struct recording *network, const struct recording *data, int batches,
                       int bins, struct data_stats *out, struct ddm_error *err) {
    const int k = data->k, G = batches < 2 ? 2 : batches > 64 ? 64 : batches;
    memset(out, 0, sizeof *out);
    out->k = k;
    out->batches = G;
    if (network->k != k)
        return ddm_fail(err, DDM_EUSAGE, "network k = %d, data k = %d", network->k, k);
    double lo[DDM_MAX_K], hi[DDM_MAX_K];
    for (int c = 0; c < k; c++) lo[c] = INFINITY, hi[c] = -INFINITY;
    widen_range(network, lo, hi);
    widen_range(data, lo, hi);
    struct stats_moments *mo = ddm_calloc(2 * (G + 1), sizeof *mo, "batch moments", err);
    struct stats_marginals *ma = ddm_calloc(2 * (G + 1), sizeof *ma, "batch marginals", err);
    int code = mo && ma ? DDM_OK : DDM_ERUNTIME;
    const struct recording *side[2] = {network, data};
    for (int p = 0; p < 2 && !code; p++)
        code = batch_histograms(side[p], G, bins, lo, hi, mo + p * (G + 1), ma + p * (G + 1), err);
    for (int p = 0; p < 2 && !code; p++) fill_moments(out, p, mo + p * (G + 1), G);
    for (int c = 0; c < k && !code; c++) {
        const double std = sqrt(out->cov[1][c * k + c]);
        double pair[64];
        out->data_std[c] = std;
        out->wasserstein_std[c] = stats_wasserstein(&ma[G], &ma[2 * G + 1], c) / std;
        for (int g = 0; g < G; g++) pair[g] = stats_wasserstein(&ma[g], &ma[G + 1 + g], c) / std;
        out->wasserstein_std_err[c] = batch_error(pair, G);
    }
    for (int q = 0; ma && q < 2 * (G + 1); q++) stats_marginals_free(&ma[q]);
    free(mo);
    free(ma);
    return code;
}

/* ---- power spectra ---- */

void data_spectrum_normalise(double *power, int count, double sigma) {
    double *smooth = malloc(sizeof(double) * count), total = 0;
    if (!smooth) return;
    const int reach = sigma > 0 ? (int)ceil(3 * sigma) : 0;
    for (int j = 0; j < count; j++) {
        double sum = 0, weight = 0;
        for (int i = j - reach; i <= j + reach; i++) {
            if (i < 0 || i >= count) continue;
            const double w = sigma > 0 ? exp(-0.5 * (i - j) * (i - j) / (sigma * sigma)) : 1;
            sum += w * power[i];
            weight += w;
        }
        smooth[j] = sum / weight;
        total += smooth[j];
    }
    for (int j = 0; j < count; j++) power[j] = total > 0 ? smooth[j] / total : 0;
    free(smooth);
}

double data_hellinger(const double *p, const double *q, int count) {
    double overlap = 0;
    for (int j = 0; j < count; j++) overlap += sqrt(fmax(p[j], 0) * fmax(q[j], 0));
    return sqrt(fmax(0, 1 - overlap));
}

/* Welch segments of L samples, hop L/2, of the trajectories of r. */
static long segments_of(const struct recording *r, int L) {
    long count = 0;
    for (int b = 0; b < r->trajectories; b++) {
        const long n = recording_length(r, b);
        if (n >= L) count += (n - L) / (L / 2) + 1;
    }
    return count;
}

#define SPECTRUM_MAX_SEGMENTS 1000 /* per side: more only cost time (noise per bin ≈ 3 %) */

struct welch {
    int k, L, F;
    double *window, *cosine, *sine, *x; /* (L) each */
    double *power;                      /* (k, F) accumulated |X_j|², j = 1 … F */
    long used;
};

static void welch_segment(struct welch *w, const double *z) {
    const int k = w->k, L = w->L;
    for (int n = 0; n < L; n++)
        if (!finite_row(z + (long)n * k, k)) return;
    for (int c = 0; c < k; c++) {
        double mean = 0;
        for (int n = 0; n < L; n++) mean += z[(long)n * k + c] / L;
        for (int n = 0; n < L; n++) w->x[n] = (z[(long)n * k + c] - mean) * w->window[n];
        for (int j = 1; j <= w->F; j++) { /* the DFT at the bins compared only */
            double re = 0, im = 0;
            long phase = 0;
            for (int n = 0; n < L; n++, phase += j) {
                if (phase >= L) phase -= L;
                re += w->x[n] * w->cosine[phase];
                im += w->x[n] * w->sine[phase];
            }
            w->power[(size_t)c * w->F + j - 1] += re * re + im * im;
        }
    }
    w->used++;
}

static int welch_run(const struct recording *r, int L, int F, struct welch *w,
                     struct ddm_error *err) {
    *w = (struct welch){.k = r->k, .L = L, .F = F};
    w->window = ddm_alloc(sizeof(double) * 4 * L, "spectrum tables", err);
    w->power = ddm_calloc((size_t)r->k * F, sizeof(double), "spectra", err);
    if (!w->window || !w->power) return DDM_ERUNTIME;
    w->cosine = w->window + L, w->sine = w->window + 2 * L, w->x = w->window + 3 * L;
    for (int n = 0; n < L; n++) {
        w->window[n] = 0.5 - 0.5 * cos(2 * M_PI * n / L); /* Hann */
        w->cosine[n] = cos(2 * M_PI * n / L);
        w->sine[n] = -sin(2 * M_PI * n / L);
    }
    const long total = segments_of(r, L),
               stride = (total + SPECTRUM_MAX_SEGMENTS - 1) / SPECTRUM_MAX_SEGMENTS;
    long seen = 0;
    for (int b = 0; b < r->trajectories; b++)
        for (long s = 0; s + L <= recording_length(r, b); s += L / 2, seen++)
            if (seen % (stride ? stride : 1) == 0)
                welch_segment(w, r->z + (r->offset[b] + s) * r->k);
    return DDM_OK;
}

static void welch_free(struct welch *w) {
    free(w->window);
    free(w->power);
}

static long longest_trajectory(const struct recording *r) {
    long longest = 0;
    for (int b = 0; b < r->trajectories; b++)
        if (recording_length(r, b) > longest) longest = recording_length(r, b);
    return longest;
}

/* Segments of equal duration: the data's L samples (at most `segment`, and no longer than the
 * longest trajectory of either side), the network's L·Δ_data/Δ_network rounded; F bins below
 * both Nyquist frequencies. */
static int segment_lengths(const struct recording *network, const struct recording *data,
                           int segment, int *L, int *L_net, int *F, struct ddm_error *err) {
    const double network_span = (double)longest_trajectory(network) * network->dt / data->dt;
    long longest = longest_trajectory(data);
    if (network_span < longest) longest = (long)floor(network_span * (1 + 1e-9));
    *L = segment < longest ? segment : (int)longest;
    *L_net = (int)lround(*L * data->dt / network->dt);
    *F = (*L < *L_net ? *L : *L_net) / 2;
    if (*L < 16 || *L_net < 16 || *F < 4 || *L_net > longest_trajectory(network))
        return ddm_fail(err, DDM_EUSAGE,
                        "power spectra: segments of %d data samples (Δ = %g) and %d network "
                        "samples (Δ = %g) are too short; record longer trajectories",
                        *L, data->dt, *L_net, network->dt);
    return DDM_OK;
}

int data_spectra_compare(const struct recording *network, const struct recording *data, int segment,
                         double smoothing, struct data_spectra *out, struct ddm_error *err) {
    const int k = data->k;
    int L, L_net, F;
    memset(out, 0, sizeof *out);
    out->k = k;
    int code = segment_lengths(network, data, segment, &L, &L_net, &F, err);
    if (code) return code;
    struct welch w[2] = {{0}, {0}};
    code = welch_run(network, L_net, F, &w[0], err);
    if (!code) code = welch_run(data, L, F, &w[1], err);
    if (!code && (!w[0].used || !w[1].used))
        code = ddm_fail(err, DDM_EUSAGE,
                        "power spectra: no complete finite segment of %d samples in the %s", L,
                        w[0].used ? "data" : "network's record");
    out->frequencies = F;
    out->segment_time = L * data->dt;
    out->frequency = code ? NULL : ddm_alloc(sizeof(double) * F, "frequencies", err);
    if (!code && !out->frequency) code = DDM_ERUNTIME;
    for (int j = 0; j < F && !code; j++) out->frequency[j] = (j + 1) / out->segment_time;
    for (int p = 0; p < 2 && !code; p++) {
        out->power[p] = w[p].power;
        w[p].power = NULL;
        out->segments[p] = w[p].used;
        for (int c = 0; c < k; c++)
            data_spectrum_normalise(out->power[p] + (size_t)c * F, F, smoothing);
    }
    for (int c = 0; c < k && !code; c++) {
        out->hellinger[c] =
            data_hellinger(out->power[0] + (size_t)c * F, out->power[1] + (size_t)c * F, F);
        out->hellinger_mean += out->hellinger[c] / k;
    }
    welch_free(&w[0]);
    welch_free(&w[1]);
    return code;
}

void data_spectra_free(struct data_spectra *s) {
    free(s->frequency);
    free(s->power[0]);
    free(s->power[1]);
    memset(s, 0, sizeof *s);
}

/* ---- state-space divergence ---- */

struct binning {
    int d, bins, axis[3];
    double lo[3], hi[3];
};

/* The cell of z, or −1 outside the box (or non-finite). */
static long cell_of(const struct binning *bin, const double *z) {
    long cell = 0;
    for (int a = 0; a < bin->d; a++) {
        const double u = (z[bin->axis[a]] - bin->lo[a]) / (bin->hi[a] - bin->lo[a]) * bin->bins;
        if (!(u >= 0 && u <= bin->bins)) return -1;
        cell = cell * bin->bins + (u >= bin->bins ? bin->bins - 1 : (long)u);
    }
    return cell;
}

static long count_cells(const struct recording *r, const struct binning *bin, double *counts) {
    const long total = r->offset[r->trajectories];
    long inside = 0;
    for (long q = 0; q < total; q++) {
        const long cell = cell_of(bin, r->z + q * r->k);
        if (cell >= 0) counts[cell] += 1, inside++;
    }
    return inside;
}

/* KL(p_data ‖ p_network) on one binning, with a pseudo-count α in every cell; the network's
 * samples outside the box form one more cell (mass the network puts where the data never goes). */
static int binned_kl(const struct recording *network, const struct recording *data,
                     const struct binning *bin, double *kl, double *bias, struct ddm_error *err) {
    long M = 1;
    for (int a = 0; a < bin->d; a++) M *= bin->bins;
    double *counts = ddm_calloc(2 * (size_t)M, sizeof(double), "occupation histograms", err);
    if (!counts) return DDM_ERUNTIME;
    const long Np = count_cells(data, bin, counts);
    count_cells(network, bin, counts + M);
    const double Nq = (double)network->offset[network->trajectories], a = DATA_STSP_PSEUDOCOUNT;
    double sum = 0;
    long occupied = 0;
    for (long i = 0; i < M; i++) {
        const double p = (counts[i] + a) / (Np + a * M),
                     q = (counts[M + i] + a) / (Nq + a * (M + 1));
        sum += p * log(p / q);
        occupied += counts[i] > 0;
    }
    /* second order in the sampling noise: E KL ≈ Σ (Var p̂ + Var q̂) / 2p = (M − 1)(1/N_p + 1/N_q)/2
     * for independent samples, over the M cells the data occupies */
    *bias = 0.5 * (occupied - 1) * (1.0 / Np + 1.0 / Nq);
    *kl = sum;
    free(counts);
    return DDM_OK;
}

/* The share of the network's samples outside the data's box. */
static double outside_share(const struct recording *network, const double *lo, const double *hi) {
    const long total = network->offset[network->trajectories];
    long outside = 0;
    for (long q = 0; q < total; q++) {
        const double *z = network->z + q * network->k;
        int in = 1;
        for (int c = 0; c < network->k; c++) in &= z[c] >= lo[c] && z[c] <= hi[c];
        outside += !in;
    }
    return total ? (double)outside / total : NAN;
}

int data_stsp_compare(const struct recording *network, const struct recording *data, int bins,
                      struct data_stsp *out, struct ddm_error *err) {
    const int k = data->k;
    memset(out, 0, sizeof *out);
    if (network->k != k)
        return ddm_fail(err, DDM_EUSAGE, "network k = %d, data k = %d", network->k, k);
    if (bins <= 0) bins = k == 3 ? 16 : 30;
    out->bins = bins;
    double lo[DDM_MAX_K], hi[DDM_MAX_K];
    for (int c = 0; c < k; c++) lo[c] = INFINITY, hi[c] = -INFINITY;
    widen_range(data, lo, hi);
    for (int c = 0; c < k; c++)
        if (!(hi[c] > lo[c])) hi[c] = lo[c] + 1;
    /* k ≤ 3: one joint histogram; k > 3: every pair of coordinates, averaged */
    struct binning list[DDM_MAX_K * (DDM_MAX_K - 1) / 2];
    int count = 0;
    if (k <= 3) {
        list[count] = (struct binning){.d = k, .bins = bins};
        for (int a = 0; a < k; a++) list[count].axis[a] = a;
        count++;
    } else {
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++)
                list[count++] = (struct binning){.d = 2, .bins = bins, .axis = {i, j}};
    }
    int code = DDM_OK;
    for (int q = 0; q < count && !code; q++) {
        for (int a = 0; a < list[q].d; a++) {
            list[q].lo[a] = lo[list[q].axis[a]];
            list[q].hi[a] = hi[list[q].axis[a]];
        }
        double kl = 0, bias = 0;
        code = binned_kl(network, data, &list[q], &kl, &bias, err);
        out->dstsp += kl / count;
        out->bias += bias / count;
    }
    out->pairs = k > 3 ? count : 0;
    out->outside = outside_share(network, lo, hi);
    return code;
}

/* ---- stochastic force inference ---- */

struct sfi_basis {
    int k, degree, count;
    int exponent[SFI_MAX_BASIS][DDM_MAX_K];
    double center[DDM_MAX_K], scale[DDM_MAX_K];
};

static void basis_at(const struct sfi_basis *basis, const double *z, double *out) {
    double power[DDM_MAX_K][4];
    for (int c = 0; c < basis->k; c++) {
        const double u = (z[c] - basis->center[c]) / basis->scale[c];
        power[c][0] = 1;
        for (int d = 1; d <= basis->degree; d++) power[c][d] = power[c][d - 1] * u;
    }
    for (int a = 0; a < basis->count; a++) {
        double v = 1;
        for (int c = 0; c < basis->k; c++) v *= power[c][basis->exponent[a][c]];
        out[a] = v;
    }
}

/* Sums over the increments of one batch: n, Σ b bᵀ, Σ Δz bᵀ (Itô), Σ Δz b̄ᵀ with b̄ the
 * midpoint average (Stratonovich), Σ Δz Δzᵀ. */
struct sfi_sums {
    long n;
    double *gram, *ito, *strat, *dd;
};

static void sfi_add(struct sfi_sums *s, int k, int nb, const double *dz, const double *b0,
                    const double *b1) {
    for (int a = 0; a < nb; a++)
        for (int c = a; c < nb; c++) s->gram[a * nb + c] += b0[a] * b0[c];
    for (int m = 0; m < k; m++) {
        for (int a = 0; a < nb; a++) {
            s->ito[m * nb + a] += dz[m] * b0[a];
            s->strat[m * nb + a] += dz[m] * 0.5 * (b0[a] + b1[a]);
        }
        for (int c = 0; c < k; c++) s->dd[m * k + c] += dz[m] * dz[c];
    }
    s->n++;
}

/* Solves (L Lᵀ) x = y in place for lower-triangular L (n,n). */
static void cholesky_solve(int n, const double *L, double *y) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) y[i] -= L[i * n + j] * y[j];
        y[i] /= L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++) y[i] -= L[j * n + i] * y[j];
        y[i] /= L[i * n + i];
    }
}

/* The diffusion from the residuals of the fitted drift, D = ⟨(Δz − f̂Δ)(Δz − f̂Δ)ᵀ⟩ / 2Δ: the
 * plain ⟨Δz Δzᵀ⟩ / 2Δ carries f fᵀΔ/2, which for a fast flow (Lorenz at Δ = 0.01: |f|²Δ/2 ≈ 50
 * against D = 0.5) swamps D. With f̂ = C b and C G = ⟨Δz bᵀ⟩/Δ, the residual moment is
 * ⟨Δz Δzᵀ⟩ − Δ² C G Cᵀ = ⟨Δz Δzᵀ⟩ − Δ C ⟨b Δzᵀ⟩. */
static void sfi_diffusion(const struct sfi_sums *s, int k, int nb, double dt, const double *C,
                          double *D) {
    const double n = (double)s->n;
    for (int m = 0; m < k; m++)
        for (int c = 0; c < k; c++) {
            double fitted = 0;
            for (int a = 0; a < nb; a++) fitted += C[m * nb + a] * s->ito[c * nb + a];
            D[m * k + c] = (s->dd[m * k + c] - dt * fitted) / (2 * n * dt);
        }
    for (int m = 0; m < k; m++) /* symmetric up to rounding */
        for (int c = 0; c < m; c++)
            D[m * k + c] = D[c * k + m] = 0.5 * (D[m * k + c] + D[c * k + m]);
}

/* Exact forms: for a polynomial F of degree 1 … d + 1 in u, Σ_m ∂F/∂z_m ∘ dz_m = dF, so its
 * Stratonovich velocity Σ_ma E_ma V_ma (E_ma = α_m/s_m where b_a = u^(α − e_m), F = u^α) is the
 * boundary term ΔF/τ of each trajectory: its true value is 0 (a stationary flux has no gradient
 * part) and it carries no Itô noise. Of the k n_b directions of V, C(k + d + 1, k) − 1 are exact
 * (all of them in 1-D, where Φ = 0). Their part of Φ̂ = vec Vᵀ W vec V, W = D⁻¹ ⊗ G⁻¹, is
 * qᵀ H⁻¹ q with q = Eᵀ W V, H = Eᵀ W E; it is removed (exact, not noise), and the noise bias counts
 * the other directions only: 2 (k n_b − n_exact)/τ. Returns qᵀH⁻¹q (NAN on failure); *count:
 * n_exact. GL, LD: Cholesky factors of G and D. */
static double exact_part(const struct sfi_basis *bs, const double *GL, const double *LD,
                         const double *V, int *count) {
    const int k = bs->k, nb = bs->count, kn = k * nb;
    int(*ex)[DDM_MAX_K] = malloc(sizeof(int[DDM_MAX_K]) * 495); /* k = 8, degree 4: 495 */
    const int n_e = ex ? monomials_graded(k, bs->degree + 1, ex, 495, NULL) - 1 : 0;
    double *E = calloc((size_t)kn * n_e, sizeof(double)), *WE = malloc(sizeof(double) * kn * n_e),
           *H = malloc(sizeof(double) * (2 * (size_t)n_e * n_e + n_e)), *q = H + 2 * n_e * n_e;
    double result = NAN;
    *count = n_e;
    if (!ex || !E || !WE || !H) goto done;
    for (int e = 0; e < n_e; e++) {
        const int *alpha = ex[e + 1];
        double *Ee = E + (size_t)e * kn, *We = WE + (size_t)e * kn, column[DDM_MAX_K];
        for (int m = 0; m < k; m++)
            for (int a = 0; alpha[m] > 0 && a < nb; a++) {
                int match = 1;
                for (int c = 0; c < k; c++) match &= bs->exponent[a][c] == alpha[c] - (c == m);
                if (match) Ee[m * nb + a] = alpha[m] / bs->scale[m];
            }
        memcpy(We, Ee, sizeof(double) * kn); /* W E_e = D⁻¹ E_e G⁻¹ */
        for (int m = 0; m < k; m++) cholesky_solve(nb, GL, We + m * nb);
        for (int a = 0; a < nb; a++) {
            for (int m = 0; m < k; m++) column[m] = We[m * nb + a];
            cholesky_solve(k, LD, column);
            for (int m = 0; m < k; m++) We[m * nb + a] = column[m];
        }
        q[e] = 0;
        for (int i = 0; i < kn; i++) q[e] += We[i] * V[i];
    }
    for (int e = 0; e < n_e; e++)
        for (int f = 0; f < n_e; f++) {
            double h = 0;
            for (int i = 0; i < kn; i++) h += WE[(size_t)e * kn + i] * E[(size_t)f * kn + i];
            H[e * n_e + f] = h;
        }
    if (n_e > 0 && !spd_cholesky(n_e, H, H + n_e * n_e)) {
        double *x = malloc(sizeof(double) * n_e);
        if (x) {
            memcpy(x, q, sizeof(double) * n_e);
            cholesky_solve(n_e, H + n_e * n_e, x);
            result = 0;
            for (int e = 0; e < n_e; e++) result += q[e] * x[e];
        }
        free(x);
    }
done:
    free(ex), free(E), free(WE), free(H);
    return result;
}

/* Φ̂ = tr(D⁻¹ V G⁻¹ Vᵀ) less its exact part, and its noise bias 2 (k n_b − n_exact)/τ, from the sums
 * (and D, the drift coefficients C (k, nb) when asked); −1 when G or D is singular. */
static int sfi_solve(struct sfi_sums *s, const struct sfi_basis *bs, double dt, double *phi,
                     double *bias, double *D_out, double *drift_out) {
    const int k = bs->k, nb = bs->count;
    const double n = (double)s->n, tau = n * dt;
    double D[DDM_MAX_K * DDM_MAX_K], LD[DDM_MAX_K * DDM_MAX_K], M[DDM_MAX_K * DDM_MAX_K] = {0};
    double *G = malloc(sizeof(double) * (2 * nb * nb + nb + k * nb)), *x = G + 2 * nb * nb,
           *C = x + nb;
    int singular = !G || s->n < 2 * nb;
    for (int a = 0; a < nb && !singular; a++)
        for (int c = 0; c < nb; c++)
            G[a * nb + c] = s->gram[(a < c ? a : c) * nb + (a < c ? c : a)] / n;
    if (!singular) singular = spd_cholesky(nb, G, G + nb * nb);
    for (int m = 0; m < k && !singular; m++) { /* C = F G⁻¹, F = ito / τ */
        for (int a = 0; a < nb; a++) C[m * nb + a] = s->ito[m * nb + a] / tau;
        cholesky_solve(nb, G + nb * nb, C + m * nb);
    }
    if (!singular) sfi_diffusion(s, k, nb, dt, C, D);
    if (!singular) singular = spd_cholesky(k, D, LD);
    for (int m = 0; m < k && !singular; m++) { /* M = V G⁻¹ Vᵀ, V = strat / τ */
        for (int a = 0; a < nb; a++) x[a] = s->strat[m * nb + a] / tau;
        cholesky_solve(nb, G + nb * nb, x);
        for (int c = 0; c < k; c++)
            for (int a = 0; a < nb; a++) M[c * k + m] += s->strat[c * nb + a] / tau * x[a];
    }
    *phi = 0;
    for (int m = 0; m < k && !singular; m++) { /* tr(D⁻¹ M), column by column */
        double column[DDM_MAX_K];
        for (int c = 0; c < k; c++) column[c] = M[c * k + m];
        cholesky_solve(k, LD, column);
        *phi += column[m];
    }
    int exact = 0;
    if (!singular) { /* the exact directions' part: boundary terms, not Φ */
        double *V = malloc(sizeof(double) * k * nb);
        for (int q = 0; V && q < k * nb; q++) V[q] = s->strat[q] / tau;
        const double boundary = V ? exact_part(bs, G + nb * nb, LD, V, &exact) : NAN;
        free(V);
        if (isfinite(boundary))
            *phi -= boundary;
        else
            singular = 1;
    }
    *bias = 2.0 * (k * nb - exact) / tau;
    if (D_out && !singular) memcpy(D_out, D, sizeof(double) * k * k);
    if (drift_out && !singular) memcpy(drift_out, C, sizeof(double) * k * nb);
    free(G);
    return singular ? -1 : 0;
}

static void sfi_center(const struct recording *r, struct sfi_basis *basis) {
    const int k = r->k;
    const long total = r->offset[r->trajectories];
    double sum[DDM_MAX_K] = {0}, sum2[DDM_MAX_K] = {0};
    long n = 0;
    for (long q = 0; q < total; q++) {
        const double *z = r->z + q * k;
        if (!finite_row(z, k)) continue;
        for (int c = 0; c < k; c++) sum[c] += z[c], sum2[c] += z[c] * z[c];
        n++;
    }
    for (int c = 0; c < k; c++) {
        basis->center[c] = n ? sum[c] / n : 0;
        const double var = n > 1 ? (sum2[c] - sum[c] * sum[c] / n) / (n - 1) : 0;
        basis->scale[c] = var > 0 ? sqrt(var) : 1;
    }
}

/* Accumulates every finite increment of r into its batch's sums and the total (index G). */
static void sfi_accumulate(const struct recording *r, const struct sfi_basis *basis, int G,
                           struct sfi_sums *sums, double *b0, double *b1) {
    const int k = r->k;
    for (int b = 0; b < r->trajectories; b++)
        for (long s = 0; s + 1 < recording_length(r, b); s++) {
            const double *z0 = r->z + (r->offset[b] + s) * k, *z1 = z0 + k;
            if (!finite_row(z0, k) || !finite_row(z1, k)) continue;
            double dz[DDM_MAX_K];
            for (int c = 0; c < k; c++) dz[c] = z1[c] - z0[c];
            basis_at(basis, z0, b0);
            basis_at(basis, z1, b1);
            sfi_add(&sums[data_batch_of(r, b, s, G)], k, basis->count, dz, b0, b1);
            sfi_add(&sums[G], k, basis->count, dz, b0, b1);
        }
}

static int sfi_sums_alloc(struct sfi_sums *sums, int count, int k, int nb, double **block,
                          struct ddm_error *err) {
    const size_t each = (size_t)nb * nb + 2 * (size_t)k * nb + (size_t)k * k;
    *block = ddm_calloc(each * count, sizeof(double), "force inference sums", err);
    if (!*block) return DDM_ERUNTIME;
    for (int g = 0; g < count; g++) {
        double *at = *block + each * g;
        sums[g] = (struct sfi_sums){0, at, at + nb * nb, at + nb * nb + k * nb,
                                    at + nb * nb + 2 * k * nb};
    }
    return DDM_OK;
}

int sfi_infer(const struct recording *r, int degree, int batches, struct sfi_result *out,
              struct ddm_error *err) {
    const int k = r->k, G = batches < 2 ? 2 : batches > 64 ? 64 : batches;
    memset(out, 0, sizeof *out);
    if (degree < 1 || degree > 3)
        return ddm_fail(err, DDM_EUSAGE, "force inference: basis degree %d (use 1, 2 or 3)",
                        degree);
    struct sfi_basis basis = {.k = k, .degree = degree}, *bs = &basis;
    bs->count = monomials_graded(k, degree, bs->exponent, SFI_MAX_BASIS, NULL);
    sfi_center(r, bs);
    const int nb = bs->count;
    struct sfi_sums sums[65];
    double *block = NULL, b0[SFI_MAX_BASIS], b1[SFI_MAX_BASIS], phi_batch[64];
    int code = sfi_sums_alloc(sums, G + 1, k, nb, &block, err);
    out->drift = code ? NULL : ddm_alloc(sizeof(double) * k * nb, "inferred drift", err);
    if (!code && !out->drift) code = DDM_ERUNTIME;
    if (!code) sfi_accumulate(r, bs, G, sums, b0, b1);
    *out = (struct sfi_result){.k = k,
                               .degree = degree,
                               .basis = nb,
                               .drift = out->drift,
                               .batches = G,
                               .increments = sums[G].n,
                               .time = sums[G].n * r->dt};
    memcpy(out->center, bs->center, sizeof out->center);
    memcpy(out->scale, bs->scale, sizeof out->scale);
    if (!code &&
        sfi_solve(&sums[G], bs, r->dt, &out->phi_uncorrected, &out->phi_bias, out->D, out->drift))
        code = ddm_fail(err, DDM_EUSAGE,
                        "force inference: %ld increments cannot fix %d basis functions of degree "
                        "%d in %d variables (singular Gram matrix or diffusion); lower the degree",
                        sums[G].n, nb, degree, k);
    for (int g = 0; g < G && !code; g++) {
        double bias;
        phi_batch[g] = sfi_solve(&sums[g], bs, r->dt, &phi_batch[g], &bias, NULL, NULL)
                           ? NAN
                           : phi_batch[g] - bias;
    }
    out->phi = out->phi_uncorrected - out->phi_bias;
    out->phi_err = code ? NAN : batch_error(phi_batch, G);
    free(block);
    return code;
}

void sfi_drift_at(const struct sfi_result *s, const double *z, double *f) {
    struct sfi_basis basis = {.k = s->k, .degree = s->degree};
    basis.count = monomials_graded(s->k, s->degree, basis.exponent, SFI_MAX_BASIS, NULL);
    memcpy(basis.center, s->center, sizeof basis.center);
    memcpy(basis.scale, s->scale, sizeof basis.scale);
    double b[SFI_MAX_BASIS];
    basis_at(&basis, z, b);
    for (int m = 0; m < s->k; m++) {
        f[m] = 0;
        for (int a = 0; a < s->basis; a++) f[m] += s->drift[m * s->basis + a] * b[a];
    }
}

void sfi_free(struct sfi_result *s) {
    free(s->drift);
    s->drift = NULL;
}
