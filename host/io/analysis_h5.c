/* analysis_h5.c — writing /analysis (docs/design.md §7).
 *
 * Every dataset carries a `shape` attribute naming its axes. Grids are float32 (NaN marks the
 * cells outside the density's support), spectra and small matrices float64. /analysis is marked
 * complete = 0 until the stage ends, so a half-written analysis is never taken for a finished one.
 */
#include "ddm/analysis_h5.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/h5space.h"
#include "ddm/trust.h"
#include "ddm/runfile.h"

#define F32 H5T_IEEE_F32LE
#define F64 H5T_IEEE_F64LE

static int write_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *data,
                     const char *shape, struct ddm_error *err) {
    return h5_write(loc, name, F64, H5T_NATIVE_DOUBLE, rank, dims, data, shape, err);
}

static int write_f32(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data,
                     const char *shape, struct ddm_error *err) {
    return h5_write(loc, name, F32, H5T_NATIVE_FLOAT, rank, dims, data, shape, err);
}

/* A grid field, chunked (about 1 MB, split along the first axis), shuffled and deflated: the
 * fields are NaN outside the density's support and compress well. */
static int write_grid(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data,
                      const char *shape, struct ddm_error *err) {
    hsize_t chunk[4], row = sizeof(float);
    for (int d = 1; d < rank; d++) row *= dims[d];
    chunk[0] = (1u << 20) / row > 0 ? (1u << 20) / row : 1;
    if (chunk[0] > dims[0]) chunk[0] = dims[0];
    for (int d = 1; d < rank; d++) chunk[d] = dims[d];
    uint64_t bytes = row * dims[0];
    char what[300];
    snprintf(what, sizeof what, "writing dataset '%s'", name);
    int code = h5space_reserve(loc, bytes + bytes / 64 + (1u << 16), what, err);
    if (code) return code;
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    code = H5_CHECK(H5Pset_chunk(dcpl, rank, chunk), name, err);
    if (!code) code = H5_CHECK(H5Pset_shuffle(dcpl), name, err);
    if (!code) code = H5_CHECK(H5Pset_deflate(dcpl, 4), name, err);
    hid_t dataset = code ? -1 : H5Dcreate2(loc, name, F32, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (!code) code = H5_CHECK(dataset, name, err);
    if (!code)
        code = H5_CHECK(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                        name, err);
    if (!code) code = h5_attr_string(dataset, H5N_SHAPE, shape, err);
    if (dataset >= 0) H5Dclose(dataset);
    H5Pclose(dcpl);
    H5Sclose(space);
    return code;
}

int analysis_h5_begin(hid_t file, const struct ddm_config *cfg, hid_t *group,
                      struct ddm_error *err) {
    *group = -1;
    if (H5Lexists(file, H5N_ANALYSIS, H5P_DEFAULT) > 0) {
        int code = H5_CHECK(H5Ldelete(file, H5N_ANALYSIS, H5P_DEFAULT),
                            "removing the older /analysis", err);
        if (code) return code;
    }
    H5Eclear2(H5E_DEFAULT);
    *group = h5_group(file, H5N_ANALYSIS, err);
    if (*group < 0) return DDM_ERUNTIME;
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
    char *ini = config_to_ini(cfg);
    if (!ini) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    int code = h5_attr_int(*group, H5N_COMPLETE, 0, err);
    if (!code) code = h5_attr_string(*group, H5N_CREATED, created, err);
    if (!code) code = h5_attr_string(*group, H5N_DDM_VERSION, DDM_VERSION, err);
    if (!code) code = h5_attr_string(*group, H5N_CONFIG, ini, err);
    free(ini);
    return code;
}

int analysis_h5_pca(hid_t group, const struct pca_result *pca, int k, struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_PCA, err);
    if (g < 0) return DDM_ERUNTIME;
    const hsize_t kept = pca->kept, kk = k, kk2[2] = {kk, kk};
    const hsize_t coords[3] = {(hsize_t)pca->B, (hsize_t)pca->S, kk};
    double r2_min = INFINITY;
    for (int c = 0; c < k; c++) r2_min = fmin(r2_min, pca->r2[c]);
    int code = write_f64(g, H5N_EXPLAINED_VARIANCE, 1, &kept, pca->explained, "(components)", err);
    if (!code) code = write_f64(g, H5N_PRINCIPAL_ANGLES_DEG, 1, &kk, pca->angles_deg, "(k)", err);
    if (!code) code = write_f64(g, H5N_MAP_A, 2, kk2, pca->map_A, "(k,k)", err);
    if (!code) code = write_f64(g, H5N_MAP_C, 1, &kk, pca->map_c, "(k)", err);
    if (!code) code = write_f64(g, H5N_RECOVERY_R2_COORDINATES, 1, &kk, pca->r2, "(k)", err);
    if (!code) code = write_f32(g, H5N_PC_COORDINATES, 3, coords, pca->pc, "(B,S,k)", err);
    if (!code) code = write_f32(g, H5N_LATENT, 3, coords, pca->latent, "(B,S,k)", err);
    if (!code) code = write_f32(g, H5N_RECOVERED, 3, coords, pca->recovered, "(B,S,k)", err);
    if (!code) code = h5_attr_double(g, H5N_RECOVERY_R2, r2_min, err);
    if (!code) code = h5_attr_double(g, H5N_TOTAL_VARIANCE, pca->total_variance, err);
    if (!code) code = h5_attr_int(g, H5N_SIGNIFICANT_COMPONENTS, pca->significant, err);
    if (!code) code = h5_attr_double(g, H5N_SIGNIFICANT_THRESHOLD, PCA_SIGNIFICANT, err);
    if (!code) code = h5_attr_int(g, H5N_STATES, pca->states, err);
    if (!code)
        code = h5_attr_string(g, H5N_RECOVERY,
                              "z = latent_mean + latent_scale * (map_A @ y + map_c), "
                              "y = pc_coordinates",
                              err);
    H5Gclose(g);
    return code;
}

/* axis0, axis1, ... of a grid, each naming its variable */
static int write_axes(hid_t g, const struct latent_grid *grid, const struct ddm_system *sys,
                      struct ddm_error *err) {
    int code = DDM_OK;
    for (int a = 0; a < grid->d && !code; a++) {
        char name[16];
        double values[4096];
        hsize_t size = grid->size[a];
        for (int i = 0; i < grid->size[a]; i++) values[i] = grid_coord(grid, a, i);
        snprintf(name, sizeof name, "axis%d", a);
        code = write_f64(g, name, 1, &size, values, "(G)", err);
        if (!code) {
            hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
            code = h5_attr_string(ds, H5N_VARIABLE, sys->var_names[grid->axis[a]], err);
            if (!code) code = h5_attr_int(ds, H5N_COORDINATE, grid->axis[a], err);
            H5Dclose(ds);
        }
    }
    return code;
}

/* dims (d [+1]) and the shape text "(G0,G1[,G2][,k])" of a grid field */
static int grid_dims(const struct latent_grid *grid, int k, hsize_t *dims, char *shape,
                     size_t len) {
    int rank = 0;
    snprintf(shape, len, "(");
    for (int a = 0; a < grid->d; a++) {
        dims[rank++] = grid->size[a];
        snprintf(shape + strlen(shape), len - strlen(shape), "%sG%d", a ? "," : "", a);
    }
    if (k) dims[rank++] = k;
    snprintf(shape + strlen(shape), len - strlen(shape), "%s)", k ? ",k" : "");
    return rank;
}

/* Shares of E-descending points of the grid and of the stationary samples, as attributes. */
static int write_descent(hid_t g, const struct energy_descent *grid,
                         const struct energy_descent *samples, struct ddm_error *err) {
    int code = h5_attr_double(g, H5N_DESCENT_SHARE_GRID,
                              energy_descent_share(grid->descent, grid->points), err);
    if (!code)
        code = h5_attr_double(g, H5N_DESCENT_SHARE_GRID_METRIC,
                              energy_descent_share(grid->descent_metric, grid->points), err);
    if (!code)
        code = h5_attr_double(g, H5N_DESCENT_SHARE_SAMPLES,
                              energy_descent_share(samples->descent, samples->points), err);
    if (!code)
        code = h5_attr_double(g, H5N_DESCENT_SHARE_SAMPLES_METRIC,
                              energy_descent_share(samples->descent_metric, samples->points), err);
    if (!code) code = h5_attr_int(g, H5N_DESCENT_SAMPLES, samples->points, err);
    if (!code)
        code = h5_attr_string(g, H5N_DESCENT,
                              "shares of points where f_sym . grad_z E <= 0 (E does not "
                              "increase), and the same for f_sym_metric, the phi'-weighted "
                              "projection (Gamma^T Phi' Gamma)^-1 Gamma^T Phi' F_S that never "
                              "climbs E; samples: stationary network samples of /simulate",
                              err);
    return code;
}

int analysis_h5_split(hid_t group, const struct split_grid *split,
                      const struct energy_descent *samples, const struct ddm_system *sys,
                      struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_DECOMPOSITION, err);
    if (g < 0) return DDM_ERUNTIME;
    const struct latent_grid *grid = &split->grid;
    hsize_t dims[4], kk = grid->k;
    char shape[32], vector_shape[32];
    int rank = grid_dims(grid, 0, dims, shape, sizeof shape);
    int vector_rank = grid_dims(grid, grid->k, dims, vector_shape, sizeof vector_shape);
    int code = write_axes(g, grid, sys, err);
    if (!code) code = write_grid(g, H5N_ENERGY, rank, dims, split->energy, shape, err);
    if (!code) code = write_grid(g, H5N_F, vector_rank, dims, split->f, vector_shape, err);
    if (!code) code = write_grid(g, H5N_F_SYM, vector_rank, dims, split->f_sym, vector_shape, err);
    if (!code)
        code = write_grid(g, H5N_F_ASYM, vector_rank, dims, split->f_asym, vector_shape, err);
    if (!code)
        code = write_grid(g, H5N_F_SYM_METRIC, vector_rank, dims, split->f_sym_metric, vector_shape,
                          err);
    if (!code)
        code = write_grid(g, H5N_ENERGY_GRADIENT, vector_rank, dims, split->energy_gradient,
                          vector_shape, err);
    if (!code) code = write_descent(g, &split->descent, samples, err);
    if (!code) code = write_f64(g, H5N_AT, 1, &kk, grid->at, "(k)", err);
    if (!code) code = h5_attr_double(g, H5N_SPLIT_RESIDUAL, split->residual, err);
    if (!code)
        code = h5_attr_string(g, H5N_FIELDS,
                              "latent drift f = f_sym + f_asym at z (original coordinates) on the "
                              "manifold; energy E(Gamma z_hat + b) of the symmetric network",
                              err);
    H5Gclose(g);
    return code;
}

int analysis_h5_hhd(hid_t group, const char *name, const struct hhd_result *hhd, double cut,
                    const struct ddm_system *sys, struct ddm_error *err) {
    hid_t parent = H5Lexists(group, H5N_HHD, H5P_DEFAULT) > 0
                       ? H5Gopen2(group, H5N_HHD, H5P_DEFAULT)
                       : h5_group(group, H5N_HHD, err);
    if (parent < 0) return DDM_ERUNTIME;
    hid_t g = h5_group(parent, name, err);
    H5Gclose(parent);
    if (g < 0) return DDM_ERUNTIME;
    int code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION, hhd->phi, err);
    if (!code) code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION_ERROR, hhd->phi_err, err);
    if (!code) code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION_GRID, hhd->phi_grid, err);
    if (!code) code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION_GRID_ERROR, hhd->phi_grid_err, err);
    if (!code) code = h5_attr_int(g, H5N_BATCHES, hhd->batches, err);
    if (!code) code = h5_attr_int(g, H5N_IDENTITY_SAMPLES, hhd->identity_samples, err);
    if (!code) code = h5_attr_string(g, H5N_NOTE, hhd->note, err);
    if (!code && hhd->grid_on) {
        const struct latent_grid *grid = &hhd->grid;
        hsize_t dims[4], kk = grid->k;
        char shape[32], vector_shape[32];
        int rank = grid_dims(grid, 0, dims, shape, sizeof shape);
        int vector_rank = grid_dims(grid, grid->k, dims, vector_shape, sizeof vector_shape);
        code = write_axes(g, grid, sys, err);
        if (!code) code = write_grid(g, H5N_DENSITY, rank, dims, hhd->density, shape, err);
        if (!code)
            code = write_grid(g, H5N_F_REV, vector_rank, dims, hhd->f_rev, vector_shape, err);
        if (!code)
            code = write_grid(g, H5N_F_IRR, vector_rank, dims, hhd->f_irr, vector_shape, err);
        if (!code) code = write_f64(g, H5N_BANDWIDTH, 1, &kk, hhd->bandwidth, "(k)", err);
        if (!code) code = h5_attr_double(g, H5N_BANDWIDTH_FRACTION, hhd->bandwidth_fraction, err);
        if (!code)
            code =
                write_f64(g, H5N_SMOOTHING_VARIANCE, 1, &kk, hhd->smoothing_variance, "(k)", err);
        if (!code)
            code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION_GRID_UNCORRECTED,
                                  hhd->phi_grid_uncorrected, err);
        if (!code)
            code = h5_attr_double(g, H5N_ENTROPY_PRODUCTION_GRID_NOISE_BIAS,
                                  hhd->phi_grid_noise_bias, err);
        if (!code) code = h5_attr_double(g, H5N_MASS, hhd->mass, err);
        if (!code) code = h5_attr_double(g, H5N_CUT, cut, err);
        if (!code) code = h5_attr_int(g, H5N_SAMPLES, hhd->samples, err);
    }
    H5Gclose(g);
    return code;
}

/* <name>_<what> (starts) of int flags */
static int write_flags(hid_t g, const char *name, const char *what, const int *flags, int starts,
                       const char *shape, struct ddm_error *err) {
    char label[48];
    hsize_t dims = (hsize_t)starts;
    snprintf(label, sizeof label, "%s_%s", name, what);
    return h5_write(g, label, H5T_STD_I32LE, H5T_NATIVE_INT, 1, &dims, flags, shape, err);
}

static int write_spectrum(hid_t g, const char *name, const struct lyapunov_result *r,
                          struct ddm_error *err) {
    const int k = r->k;
    char label[48];
    hsize_t kk = k, per_start[2] = {(hsize_t)r->starts, (hsize_t)k}, starts = r->starts;
    double sum = 0;
    for (int i = 0; i < k; i++) sum += r->mean[i];
    int code = write_f64(g, name, 1, &kk, r->mean, "(k)", err);
    snprintf(label, sizeof label, "%s_error", name);
    if (!code) code = write_f64(g, label, 1, &kk, r->error, "(k)", err);
    snprintf(label, sizeof label, "%s_starts", name);
    if (!code) code = write_f64(g, label, 2, per_start, r->per_start, "(starts,k)", err);
    snprintf(label, sizeof label, "%s_end", name);
    if (!code) code = write_f64(g, label, 2, per_start, r->end, "(starts,k)", err);
    snprintf(label, sizeof label, "%s_end_distance", name);
    if (!code)
        code = write_f64(g, label, 1, &starts, r->end_distance,
                         "(starts) from the target's path, in units of its std", err);
    if (!code)
        code = write_flags(g, name, "attractor", r->attractor, r->starts,
                           "(starts) " LYAPUNOV_LEGEND, err);
    if (!code)
        code = write_flags(g, name, "kept", r->kept_start, r->starts,
                           "(starts) 1: averaged; 0: ended elsewhere, not averaged", err);
    hid_t ds = code ? -1 : H5Dopen2(g, name, H5P_DEFAULT);
    if (!code) code = h5_attr_double(ds, H5N_KAPLAN_YORKE_DIMENSION, r->kaplan_yorke, err);
    if (!code) code = h5_attr_double(ds, H5N_LAMBDA_MAX_ERROR, r->error[0], err);
    if (!code) code = h5_attr_double(ds, H5N_SUM, sum, err);
    if (!code) code = h5_attr_int(ds, H5N_FINITE_STARTS, r->finite, err);
    if (!code) code = h5_attr_int(ds, H5N_KEPT_STARTS, r->kept, err);
    if (!code) code = h5_attr_int(ds, H5N_STEPS, (int)r->steps, err);
    if (ds >= 0) H5Dclose(ds);
    return code;
}

int analysis_h5_lyapunov(hid_t group, const struct lyapunov_result *rnn,
                         const struct lyapunov_result *target, const struct lyapunov_starts *starts,
                         const struct ddm_config *cfg, struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_LYAPUNOV, err);
    if (g < 0) return DDM_ERUNTIME;
    const hsize_t start_dims[2] = {(hsize_t)starts->S, (hsize_t)starts->k};
    int code = write_spectrum(g, H5N_RNN, rnn, err);
    if (!code) code = write_spectrum(g, H5N_TARGET, target, err);
    if (!code)
        code = write_f64(g, H5N_STARTS, 2, start_dims, starts->z0,
                         "(starts,k) on one noise-free target path, after its transient", err);
    if (!code) code = h5_attr_double(g, H5N_START_MIN_SEPARATION, starts->min_separation, err);
    if (!code) code = h5_attr_int(g, H5N_START_SPACING, (int)starts->spacing, err);
    if (!code) code = runfile_start_report(g, H5N_START_PATH, &starts->report, err);
    if (!code) code = h5_attr_double(g, H5N_ZERO_TOLERANCE, target->tolerance, err);
    if (!code) code = h5_attr_string(g, H5N_ATTRACTOR_LEGEND, LYAPUNOV_LEGEND, err);
    if (!code) code = h5_attr_double(g, H5N_DT, cfg->lyapunov_dt, err);
    if (!code) code = h5_attr_int(g, H5N_STEPS, cfg->lyapunov_steps, err);
    if (!code) code = h5_attr_int(g, H5N_TRANSIENT, cfg->lyapunov_transient, err);
    if (!code) code = h5_attr_double(g, H5N_PRECISION, cfg->lyapunov_precision, err);
    if (!code)
        code = h5_attr_string(g, H5N_METHOD,
                              "Benettin: RK4 of the noise-free latent flow and its variational "
                              "equation (exact Jacobian), Gram-Schmidt every step; starts spaced "
                              "along one noise-free target path, a start that ends off the "
                              "target's attractor kept out of the mean",
                              err);
    H5Gclose(g);
    return code;
}

int analysis_h5_stats(hid_t group, const struct stats_moments *moments,
                      const struct stats_marginals *marginals, const double *wasserstein,
                      double burn_in_fraction, long first, struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_STATS, err);
    if (g < 0) return DDM_ERUNTIME;
    const int k = moments[0].k, bins = marginals[0].bins;
    const hsize_t kk = k, kk2[2] = {kk, kk}, edge_dims[2] = {kk, (hsize_t)bins + 1};
    const hsize_t marginal_dims[2] = {kk, (hsize_t)bins};
    double *edges = ddm_alloc(sizeof(double) * k * (bins + 1), "histogram edges", err);
    double *density = ddm_alloc(sizeof(double) * k * bins, "marginals", err);
    int code = edges && density ? DDM_OK : DDM_ERUNTIME;
    for (int c = 0; !code && c < k; c++)
        for (int b = 0; b <= bins; b++)
            edges[c * (bins + 1) + b] =
                marginals[0].lo[c] + (marginals[0].hi[c] - marginals[0].lo[c]) * b / bins;
    if (!code) code = write_f64(g, H5N_EDGES, 2, edge_dims, edges, "(k,bins+1)", err);
    if (!code) code = write_f64(g, H5N_WASSERSTEIN, 1, &kk, wasserstein, "(k)", err);
    static const char *const names[2] = {H5N_RNN, H5N_TARGET};
    for (int p = 0; p < 2 && !code; p++) {
        hid_t sub = h5_group(g, names[p], err);
        if (sub < 0) {
            code = DDM_ERUNTIME;
            break;
        }
        double mean[DDM_MAX_K], cov[DDM_MAX_K * DDM_MAX_K];
        stats_moments_result(&moments[p], mean, cov);
        stats_marginals_density(&marginals[p], density);
        code = write_f64(sub, H5N_MEAN, 1, &kk, mean, "(k)", err);
        if (!code) code = write_f64(sub, H5N_COVARIANCE, 2, kk2, cov, "(k,k)", err);
        if (!code) code = write_f64(sub, H5N_MARGINAL, 2, marginal_dims, density, "(k,bins)", err);
        if (!code) code = h5_attr_int(sub, H5N_SAMPLES, moments[p].count, err);
        H5Gclose(sub);
    }
    if (!code) code = h5_attr_double(g, H5N_BURN_IN_FRACTION, burn_in_fraction, err);
    if (!code) code = h5_attr_int(g, H5N_FIRST_TIME_INDEX, first, err);
    if (!code)
        code = h5_attr_string(g, H5N_WASSERSTEIN_METHOD,
                              "W1 = integral |F_rnn - F_target| of the marginal CDFs, from "
                              "histograms 64 times finer than 'marginal'",
                              err);
    free(edges);
    free(density);
    H5Gclose(g);
    return code;
}

int analysis_h5_stats_verdict(hid_t group, const struct ddm_analysis_report *report,
                              struct ddm_error *err) {
    hid_t g = H5Gopen2(group, H5N_STATS, H5P_DEFAULT);
    int code = H5_CHECK(g, "/" H5N_ANALYSIS "/" H5N_STATS, err);
    if (code) return code;
    const hsize_t kk = (hsize_t)report->k;
    const int worst = report->stats_worst;
    char verdict[160] = "not compared: no finite W₁";
    if (worst >= 0)
        snprintf(verdict, sizeof verdict,
                 "%s: largest W₁ %.3g target std (coordinate %d; sampling floor %.3g)",
                 trust_statistics_far(report->wasserstein_std[worst],
                                      report->wasserstein_floor_std[worst])
                     ? "far"
                     : "close",
                 report->wasserstein_std[worst], worst, report->wasserstein_floor_std[worst]);
    code = write_f64(g, H5N_WASSERSTEIN_IN_TARGET_STD, 1, &kk, report->wasserstein_std, "(k)", err);
    if (!code) code = h5_attr_string(g, H5N_STATIONARY_VERDICT, verdict, err);
    if (!code) code = h5_attr_double(g, H5N_STATIONARY_WARN_ABOVE, DDM_STATS_WARN, err);
    H5Gclose(g);
    static const char *const names[2] = {"hhd/rnn", "hhd/target"};
    for (int p = 0; p < 2 && !code; p++) {
        if (H5Lexists(group, names[p], H5P_DEFAULT) <= 0) continue;
        hid_t h = H5Gopen2(group, names[p], H5P_DEFAULT);
        const double sigmas = report->phi_sigmas[p];
        code = h5_attr_double(h, H5N_ESTIMATES_SIGMAS_APART, sigmas, err);
        if (!code)
            code = h5_attr_int(h, H5N_ESTIMATES_AGREE,
                               isfinite(sigmas) ? sigmas <= DDM_PHI_SIGMAS : -1, err);
        H5Gclose(h);
    }
    return code;
}

int analysis_h5_end(hid_t file, hid_t group, const struct ddm_analysis_report *report,
                    struct ddm_error *err) {
    int code = h5_attr_double(group, H5N_SECONDS, report->seconds, err);
    if (!code) code = h5_attr_string(group, H5N_NOTES, report->notes, err);
    if (!code) code = h5_attr_int(group, H5N_COMPLETE, 1, err);
    H5Gclose(group);
    if (!code) code = H5_CHECK(H5Fflush(file, H5F_SCOPE_LOCAL), "flushing /analysis", err);
    return code;
}

/* The metrics of one process into group g. */
static int write_memory(hid_t g, const struct memory_result *r, const signed char *occupancy,
                        long B, long T, struct ddm_error *err) {
    const hsize_t occ_dims[2] = {(hsize_t)B, (hsize_t)T}, kk[2] = {(hsize_t)r->K, (hsize_t)r->K};
    const hsize_t dwell = (hsize_t)r->dwell_count, cues = (hsize_t)r->cues;
    int code = h5_write(g, H5N_OCCUPANCY, H5T_STD_I8LE, H5T_NATIVE_SCHAR, 2, occ_dims, occupancy,
                        "(B,T)", err);
    if (!code)
        code =
            h5_attr_string(g, H5N_OCCUPANCY_MEANING,
                           "index of the well within well_radius of the state, -1 in transit", err);
    if (!code)
        code = h5_write(g, H5N_TRANSITIONS, H5T_STD_I64LE, H5T_NATIVE_LONG, 2, kk, r->transitions,
                        "(K,K)", err);
    if (!code) code = write_f64(g, H5N_DWELL_TIMES, 1, &dwell, r->dwell, "(dwells)", err);
    if (!code) code = write_f64(g, H5N_RECALL_PER_CUE, 1, &cues, r->recall_per_cue, "(cues)", err);
    if (!code)
        code = h5_write(g, H5N_CUE_PATTERN, H5T_STD_I32LE, H5T_NATIVE_INT, 1, &cues, r->cue_pattern,
                        "(cues)", err);
    if (!code) code = h5_attr_double(g, H5N_RECALL_ACCURACY, r->recall_accuracy, err);
    if (!code) code = h5_attr_double(g, H5N_SPONTANEOUS_SWITCH_RATE, r->spontaneous_rate, err);
    if (!code) code = h5_attr_double(g, H5N_FORWARD_BACKWARD_RATIO, r->forward_backward, err);
    if (!code)
        code = h5_attr_double(g, H5N_FORWARD_BACKWARD_RATIO_ERROR, r->forward_backward_err, err);
    if (!code) code = h5_attr_double(g, H5N_OCCUPIED_FRACTION, r->occupied, err);
    return code;
}

int analysis_h5_memory(hid_t group, const struct memory_result *result,
                       const signed char *const *occupancy, long B, long T, double radius,
                       struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_MEMORY, err);
    if (g < 0) return DDM_ERUNTIME;
    int code = write_memory(g, &result[0], occupancy[0], B, T, err);
    if (!code) code = h5_attr_double(g, H5N_WELL_RADIUS, radius, err);
    hid_t target = code ? -1 : h5_group(g, H5N_TARGET, err);
    if (!code && target < 0) code = DDM_ERUNTIME;
    if (!code) code = write_memory(target, &result[1], occupancy[1], B, T, err);
    if (target >= 0) H5Gclose(target);
    H5Gclose(g);
    return code;
}

int analysis_h5_landscape(hid_t group, const struct wells *wells, const struct ddm_input *input,
                          const double *lo, const double *hi, struct ddm_error *err) {
    enum { G = 121 };
    const int k = wells->k, K = wells->K;
    hid_t memory = H5Gopen2(group, H5N_MEMORY, H5P_DEFAULT);
    if (H5_CHECK(memory, "memory", err)) return DDM_ERUNTIME;
    hid_t g = h5_group(memory, H5N_LANDSCAPE, err);
    H5Gclose(memory);
    if (g < 0) return DDM_ERUNTIME;
    double patterns[DDM_MAX_WELLS * 8], cue_u[DDM_MAX_CUES * 8], window[DDM_MAX_CUES * 2];
    for (int j = 0; j < K; j++)
        for (int c = 0; c < k; c++) patterns[j * k + c] = wells->patterns[j][c];
    for (int q = 0; q < input->count; q++) {
        for (int c = 0; c < k; c++) cue_u[q * k + c] = input->cues[q].u[c];
        window[2 * q] = input->cues[q].start;
        window[2 * q + 1] = input->cues[q].end;
    }
    double axis[2][G], rest[8] = {0};
    static double potential[G * G];
    for (int j = 0; j < K; j++)
        for (int c = 0; c < k; c++) rest[c] += wells->patterns[j][c] / K;
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < G; i++) axis[a][i] = a < k ? lo[a] + (hi[a] - lo[a]) * i / (G - 1) : 0;
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            double z[8];
            memcpy(z, rest, sizeof z);
            z[0] = axis[0][j];
            if (k > 1) z[1] = axis[1][i];
            potential[i * G + j] = wells_potential(wells, z);
        }
    const hsize_t pk[2] = {(hsize_t)K, (hsize_t)k}, ck[2] = {(hsize_t)input->count, (hsize_t)k};
    const hsize_t cw[2] = {(hsize_t)input->count, 2}, g1 = G, gg[2] = {G, G};
    int code = write_f64(g, H5N_PATTERNS, 2, pk, patterns, "(K,k)", err);
    if (!code) code = write_f64(g, H5N_CUE_U, 2, ck, cue_u, "(cues,k)", err);
    if (!code) code = write_f64(g, H5N_CUE_WINDOW, 2, cw, window, "(cues,2)", err);
    if (!code) code = write_f64(g, H5N_AXIS0, 1, &g1, axis[0], "(G)", err);
    if (!code) code = write_f64(g, H5N_AXIS1, 1, &g1, axis[1], "(G)", err);
    if (!code) code = write_f64(g, H5N_POTENTIAL, 2, gg, potential, "(G1,G0)", err);
    if (!code)
        code =
            h5_attr_string(g, H5N_POTENTIAL_MEANING,
                           "V(z) of the wells system over axis0 (columns) and axis1 (rows), the "
                           "other coordinates at the patterns' mean; a cue u tilts it to V - u.z",
                           err);
    H5Gclose(g);
    return code;
}

/* Column `which` of a fixed-point set (count,k): 0 the points, 1 and 2 the eigenvalues. */
static void fixed_column(const struct fixed_point_set *set, int which, double *out) {
    const int k = set->k;
    for (int i = 0; i < set->count; i++) {
        const struct fixed_point *q = &set->points[i];
        const double *row = which == 0 ? q->z : which == 1 ? q->eig_re : q->eig_im;
        memcpy(out + (size_t)i * k, row, sizeof(double) * k);
    }
}

static int write_fixed_set(hid_t group, const char *name, const struct fixed_point_set *set,
                           struct ddm_error *err) {
    hid_t g = h5_group(group, name, err);
    if (g < 0) return DDM_ERUNTIME;
    const int count = set->count, k = set->k, rows = count ? count : 1;
    const hsize_t matrix[2] = {(hsize_t)count, (hsize_t)k}, vector = (hsize_t)count;
    /* (rows,k) columns, then residual and distance (2 rows): k = 1 needs the larger */
    double *values = ddm_alloc(sizeof(double) * rows * (k > 2 ? k : 2), "fixed points", err);
    int64_t *codes = ddm_alloc(sizeof(int64_t) * rows * 4, "fixed-point codes", err);
    int code = values && codes ? DDM_OK : DDM_ERUNTIME;
    static const char *const columns[3] = {H5N_POINTS, H5N_EIGENVALUES_REAL, H5N_EIGENVALUES_IMAG};
    for (int which = 0; which < 3 && !code; which++) {
        fixed_column(set, which, values);
        code = write_f64(g, columns[which], 2, matrix, values, "(count,k)", err);
    }
    for (int i = 0; i < count; i++) {
        const struct fixed_point *q = &set->points[i];
        values[i] = q->residual;
        values[rows + i] = q->distance;
        codes[i] = q->type;
        codes[rows + i] = q->match;
        codes[2 * rows + i] = q->nearest;
        codes[3 * rows + i] = q->ends_near;
    }
    static const char *const integer_names[4] = {H5N_TYPE, H5N_MATCH, H5N_NEAREST, H5N_ENDS_NEAR};
    for (int c = 0; c < 4 && !code; c++)
        code = h5_write(g, integer_names[c], H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &vector,
                        codes + (size_t)c * rows, "(count)", err);
    if (!code) code = write_f64(g, H5N_RESIDUAL, 1, &vector, values, "(count)", err);
    if (!code) code = write_f64(g, H5N_DISTANCE, 1, &vector, values + rows, "(count)", err);
    if (!code) code = h5_attr_int(g, H5N_COUNT, count, err);
    if (!code) code = h5_attr_string(g, H5N_TYPE_CODES, fixed_point_type_legend(), err);
    free(values);
    free(codes);
    H5Gclose(g);
    return code;
}

int analysis_h5_fixed_points(hid_t group, const struct fixed_point_set *sets,
                             const struct fixed_point_search *search,
                             const struct fixed_point_summary *summary, double tolerance,
                             struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_FIXED_POINTS, err);
    if (g < 0) return DDM_ERUNTIME;
    const hsize_t kk = search->k;
    int code = write_fixed_set(g, H5N_RNN, &sets[0], err);
    if (!code) code = write_fixed_set(g, H5N_TARGET, &sets[1], err);
    if (!code) code = write_f64(g, H5N_SCALE, 1, &kk, search->scale, "(k)", err);
    if (!code) code = write_f64(g, H5N_BOX_LO, 1, &kk, search->lo, "(k)", err);
    if (!code) code = write_f64(g, H5N_BOX_HI, 1, &kk, search->hi, "(k)", err);
    const struct {
        const char *name;
        long long value;
    } counts[] = {{"target", summary->target},
                  {"network", summary->network},
                  {"matched", summary->matched},
                  {"spurious", summary->spurious},
                  {"missed", summary->missed},
                  {"spurious_attractors", summary->spurious_attractors},
                  {"ends_at_spurious", summary->ends_at_spurious},
                  {"held_by_spurious_attractors", summary->held_by_spurious},
                  {"trajectories", summary->trajectories},
                  {"seeds", search->seeds}};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0] && !code; c++)
        code = h5_attr_int(g, counts[c].name, counts[c].value, err);
    if (!code) code = h5_attr_double(g, H5N_MATCH_TOLERANCE, tolerance, err);
    if (!code) code = h5_attr_double(g, H5N_CAPTURE_RADIUS, FIXED_POINT_CAPTURE, err);
    if (!code)
        code = h5_attr_string(g, H5N_METHOD,
                              "damped Newton on f(z) = 0 with the exact Jacobian from uniform "
                              "seeds in [box_lo, box_hi] and the trajectory ends; distances in "
                              "units of 'scale' (per-coordinate std of the target's samples); "
                              "eigenvalues by LAPACK dgeev, type from their real parts",
                              err);
    H5Gclose(g);
    return code;
}
