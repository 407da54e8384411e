/* analysis_split.c — symmetric/asymmetric split of W = Γ̂Ŵ_s and the Hopfield energy (docs/design.md
 * §5).
 *
 * Everything goes through the low-rank factors, O(nk) per state: with φ = tanh(x), a = Ŵ_sφ and
 * g = Γ̂ᵀφ (both k), W_Sφ = ½(Γ̂a + Ŵ_sᵀg) and φᵀW_Sφ = φᵀWφ = g·a; W (n×n) is never formed.
 * The energy's G(φᵢ) is evaluated from xᵢ itself, G(tanh x) = x tanh x − ln cosh x, which is
 * r atanh r + ½ ln(1 − r²) without the clamping |r| < 1 that saturated neurons would need.
 */
#include "ddm/analysis_split.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ddm/latent_process.h"

#define SPOT_CHECK 97 /* every 97th grid point takes f from model_latent_drift, the reference */

/* ln cosh x without overflow */
static double log_cosh(double x) {
    double ax = fabs(x);
    return ax + log1p(exp(-2 * ax)) - M_LN2;
}

/* φ = tanh(x) (n), a = Ŵ_sφ (k), g = Γ̂ᵀφ (k). */
static void rates_and_projections(const struct ddm_model *model, const double *x, double *phi,
                                  double *a, double *g) {
    const int n = model->n, k = model->k;
    for (int c = 0; c < k; c++) a[c] = g[c] = 0;
    for (int i = 0; i < n; i++) {
        phi[i] = tanh(x[i]);
        for (int c = 0; c < k; c++) {
            a[c] += (double)model->Ws[(size_t)c * n + i] * phi[i];
            g[c] += (double)model->Gamma[(size_t)i * k + c] * phi[i];
        }
    }
}

/* E from the rates and projections of x */
static double energy_of(const struct ddm_model *model, const double *x, const double *phi,
                        const double *a, const double *g) {
    double quadratic = 0, bias = 0, integral = 0;
    for (int c = 0; c < model->k; c++) quadratic += g[c] * a[c];
    for (int i = 0; i < model->n; i++) {
        bias += (double)model->b[i] * phi[i];
        integral += x[i] * phi[i] - log_cosh(x[i]);
    }
    return -0.5 * quadratic - bias + integral;
}

void split_symmetric_flow(const struct ddm_model *model, const double *x, double *dxdt) {
    const int n = model->n, k = model->k;
    double a[DDM_MAX_K], g[DDM_MAX_K];
    double *phi = dxdt; /* the rates live in the output until each entry is overwritten */
    rates_and_projections(model, x, phi, a, g);
    for (int i = 0; i < n; i++) {
        double ws_phi = 0;
        for (int c = 0; c < k; c++)
            ws_phi += (double)model->Gamma[(size_t)i * k + c] * a[c] +
                      (double)model->Ws[(size_t)c * n + i] * g[c];
        dxdt[i] = (-x[i] + 0.5 * ws_phi + model->b[i]) / model->tau;
    }
}

double split_energy(const struct ddm_model *model, const double *x) {
    double a[DDM_MAX_K], g[DDM_MAX_K];
    double *phi = malloc(sizeof(double) * model->n);
    if (!phi) return NAN;
    rates_and_projections(model, x, phi, a, g);
    double e = energy_of(model, x, phi, a, g);
    free(phi);
    return e;
}

/* ln φ′(x) = ln(1/cosh² x) = ln 4 − 2|x| − 2 ln(1 + e^{−2|x|}), finite however saturated x is */
static double log_tanh_slope(double x) {
    return 2 * M_LN2 - 2 * fabs(x) - 2 * log1p(exp(-2 * fabs(x)));
}

/* The energy's geometry on the manifold at x = Γ̂ẑ + b (projections a, g of its rates):
 *   ∂E/∂xᵢ = φ′ᵢ (xᵢ − (W_Sφ)ᵢ − bᵢ) = −τ φ′ᵢ F_Sᵢ   (F_S the symmetric flow in neuron space)
 *   ∇_ẑ E = Γ̂ᵀ∇_x E,   ∇_z E = ∇_ẑ E ⊘ s
 *   M = Γ̂ᵀΦ′Γ̂,   ẑ′ = M⁻¹Γ̂ᵀΦ′F_S = −M⁻¹∇_ẑE/τ,   f_sym_metric = s ⊙ ẑ′
 * F_S is the gradient flow of E in the metric τΦ′; ẑ′ is the same gradient flow in the metric
 * that τΦ′ induces on the manifold (the φ′-weighted least-squares projection of F_S), so
 * f_sym_metric · ∇_z E = −∇_ẑEᵀM⁻¹∇_ẑE/τ ≤ 0. Φ′ enters through w = φ′/max φ′ (ẑ′ does not
 * change when Φ′ is scaled), so a state whose every neuron saturates (φ′ below the smallest
 * double) keeps a defined ẑ′ and a descent direction whose sign is that of ∇E. */
static void energy_geometry(const struct ddm_model *model, const double *x, const double *a,
                            const double *g, struct energy_point *out) {
    const int n = model->n, k = model->k;
    double log_max = -INFINITY;
    for (int i = 0; i < n; i++) log_max = fmax(log_max, log_tanh_slope(x[i]));
    double projected[DDM_MAX_K] = {0}, M[DDM_MAX_K * DDM_MAX_K] = {0}, L[DDM_MAX_K * DDM_MAX_K];
    for (int i = 0; i < n; i++) {
        const float *gamma = model->Gamma + (size_t)i * k;
        double ws_phi = 0;
        for (int c = 0; c < k; c++)
            ws_phi += (double)gamma[c] * a[c] + (double)model->Ws[(size_t)c * n + i] * g[c];
        const double flow = (-x[i] + 0.5 * ws_phi + model->b[i]) / model->tau; /* F_Sᵢ */
        const double weight = exp(log_tanh_slope(x[i]) - log_max);
        for (int c = 0; c < k; c++) {
            projected[c] += gamma[c] * weight * flow; /* Γ̂ᵀWF_S */
            for (int d = 0; d <= c; d++) M[c * k + d] += (double)gamma[c] * weight * gamma[d];
        }
    }
    double trace = 0;
    for (int c = 0; c < k; c++) trace += M[c * k + c];
    for (int c = 0; c < k; c++) {
        for (int d = c + 1; d < k; d++) M[c * k + d] = M[d * k + c];
        /* a floor of 1e-12 of the mean eigenvalue: where saturation leaves fewer than k neurons
         * with weight, M is singular; any positive definite M keeps the descent */
        M[c * k + c] += 1e-12 * trace / k + DBL_MIN;
    }
    double z_rate[DDM_MAX_K];
    const int definite = spd_cholesky(k, M, L) == 0;
    if (definite) spd_solve(k, L, projected, z_rate);
    const double scale = exp(log_max);
    for (int c = 0; c < k; c++) {
        const double s = model->latent_scale[c];
        out->direction[c] = -model->tau * projected[c] / s; /* ∇_z E / max φ′ */
        out->grad[c] = out->direction[c] * scale;
        out->f_sym_metric[c] = definite ? s * z_rate[c] : NAN;
    }
}

/* The split at z with caller-provided scratch x, phi (n each); f = s ⊙ (−ẑ + Ŵ_sφ)/τ from the
 * same rates (split_latent and the grid's spot checks compare it with model_latent_drift). */
static void split_at(const struct ddm_model *model, const double *z, double *x, double *phi,
                     double *f, double *f_sym, double *f_asym, double *energy,
                     struct energy_point *geometry) {
    const int n = model->n, k = model->k;
    const double *mu = model->latent_mean, *s = model->latent_scale;
    double z_hat[DDM_MAX_K], a[DDM_MAX_K], g[DDM_MAX_K], back[DDM_MAX_K] = {0};
    for (int c = 0; c < k; c++) z_hat[c] = (z[c] - mu[c]) / s[c];
    for (int i = 0; i < n; i++) {
        double acc = model->b[i];
        for (int c = 0; c < k; c++) acc += (double)model->Gamma[(size_t)i * k + c] * z_hat[c];
        x[i] = acc;
    }
    rates_and_projections(model, x, phi, a, g);
    /* back = Γ̂⁺(Ŵ_sᵀg), the transposed half of W_Sφ seen from the latent space */
    for (int i = 0; i < n; i++) {
        double u = 0;
        for (int c = 0; c < k; c++) u += (double)model->Ws[(size_t)c * n + i] * g[c];
        for (int c = 0; c < k; c++) back[c] += (double)model->Gamma_pinv[(size_t)c * n + i] * u;
    }
    /* Γ̂⁺(−x + b) = −ẑ and Γ̂⁺Γ̂a = a on the manifold */
    for (int c = 0; c < k; c++) {
        f_sym[c] = s[c] * (-z_hat[c] + 0.5 * (a[c] + back[c])) / model->tau;
        f_asym[c] = s[c] * 0.5 * (a[c] - back[c]) / model->tau;
        f[c] = s[c] * (-z_hat[c] + a[c]) / model->tau;
    }
    *energy = energy_of(model, x, phi, a, g);
    if (geometry) energy_geometry(model, x, a, g, geometry);
}

void split_latent(const struct ddm_model *model, const double *z, double *f, double *f_sym,
                  double *f_asym, double *energy) {
    double *x = malloc(sizeof(double) * 2 * model->n);
    if (!x) {
        for (int c = 0; c < model->k; c++) f[c] = f_sym[c] = f_asym[c] = NAN;
        *energy = NAN;
        return;
    }
    split_at(model, z, x, x + model->n, f, f_sym, f_asym, energy, NULL);
    model_latent_drift(model, z, f, NULL);
    free(x);
}

void split_energy_field(const struct ddm_model *model, const double *z, double *f_sym,
                        struct energy_point *out) {
    double *x = malloc(sizeof(double) * 2 * model->n), f[DDM_MAX_K], f_asym[DDM_MAX_K], e;
    if (!x) {
        for (int c = 0; c < model->k; c++)
            f_sym[c] = out->grad[c] = out->direction[c] = out->f_sym_metric[c] = NAN;
        return;
    }
    split_at(model, z, x, x + model->n, f, f_sym, f_asym, &e, out);
    free(x);
}

void energy_descent_add(struct energy_descent *d, const double *f_sym,
                        const struct energy_point *at, int k) {
    double along = 0, along_metric = 0;
    for (int c = 0; c < k; c++) {
        along += f_sym[c] * at->direction[c];
        along_metric += at->f_sym_metric[c] * at->direction[c];
    }
    d->points++;
    d->descent += along <= 0;
    d->descent_metric += along_metric <= 0;
}

double energy_descent_share(long descent, long points) {
    return points ? (double)descent / points : NAN;
}

void split_grid_free(struct split_grid *out) {
    free(out->f);
    free(out->f_sym);
    free(out->f_asym);
    free(out->energy);
    free(out->f_sym_metric);
    free(out->energy_gradient);
    out->f = out->f_sym = out->f_asym = out->energy = NULL;
    out->f_sym_metric = out->energy_gradient = NULL;
}

int split_on_grid(const struct ddm_model *model, const struct latent_grid *grid,
                  struct split_grid *out, struct ddm_error *err) {
    const int k = model->k, n = model->n;
    const long P = grid_points(grid);
    out->grid = *grid;
    out->f = ddm_alloc(sizeof(float) * P * k, "split grid f", err);
    out->f_sym = ddm_alloc(sizeof(float) * P * k, "split grid f_sym", err);
    out->f_asym = ddm_alloc(sizeof(float) * P * k, "split grid f_asym", err);
    out->energy = ddm_alloc(sizeof(float) * P, "split grid energy", err);
    out->f_sym_metric = ddm_alloc(sizeof(float) * P * k, "split grid f_sym_metric", err);
    out->energy_gradient = ddm_alloc(sizeof(float) * P * k, "split grid energy gradient", err);
    if (!out->f || !out->f_sym || !out->f_asym || !out->energy || !out->f_sym_metric ||
        !out->energy_gradient) {
        split_grid_free(out);
        return DDM_ERUNTIME;
    }
    double worst = 0, largest = 0;
    int failed = 0;
    long descent = 0, descent_metric = 0;
#pragma omp parallel reduction(max : worst, largest) reduction(| : failed)                      \
    reduction(+ : descent, descent_metric)
    {
        double *scratch = malloc(sizeof(double) * 2 * n);
        failed = scratch == NULL;
#pragma omp for schedule(static)
        for (long p = 0; p < P; p++) {
            if (!scratch) continue;
            double z[DDM_MAX_K], f[DDM_MAX_K], fs[DDM_MAX_K], fa[DDM_MAX_K], e;
            struct energy_point geometry;
            grid_point(grid, p, z, NULL);
            split_at(model, z, scratch, scratch + n, f, fs, fa, &e, &geometry);
            struct energy_descent here = {0};
            energy_descent_add(&here, fs, &geometry, k);
            descent += here.descent;
            descent_metric += here.descent_metric;
            if (p % SPOT_CHECK == 0) model_latent_drift(model, z, f, NULL);
            for (int c = 0; c < k; c++) {
                out->f[p * k + c] = (float)f[c];
                out->f_sym[p * k + c] = (float)fs[c];
                out->f_asym[p * k + c] = (float)fa[c];
                out->f_sym_metric[p * k + c] = (float)geometry.f_sym_metric[c];
                out->energy_gradient[p * k + c] = (float)geometry.grad[c];
                worst = fmax(worst, fabs(fs[c] + fa[c] - f[c]));
                largest = fmax(largest, fabs(f[c]));
            }
            out->energy[p] = (float)e;
        }
        free(scratch);
    }
    if (failed) {
        split_grid_free(out);
        return ddm_fail(err, DDM_ERUNTIME, "out of memory for the split's scratch (%d neurons)", n);
    }
    out->residual = largest > 0 ? worst / largest : worst;
    out->descent = (struct energy_descent){P, descent, descent_metric};
    return DDM_OK;
}
