/* analysis.c — the analyze stage: which parts run, on what data, in what order (docs/design.md §5).
 *
 * Two passes over /simulate (after the burn-in fraction): the first gives the moments (bounds of
 * the visited region, kernel widths), the second bins densities and marginals and averages the
 * entropy-production identity. The PCA simulates its own states through the backend; the split
 * and the Lyapunov spectra need only the model and the system. Each part writes its group as soon
 * as it is done.
 */
#include "ddm/analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/analysis_fixed.h"
#include "ddm/analysis_h5.h"
#include "ddm/analysis_memory.h"
#include "ddm/analysis_times.h"
#include "ddm/h5schema.h"
#include "ddm/input.h"
#include "ddm/plan.h"
#include "ddm/runfile.h"
#include "ddm/philox.h"
#include "ddm/simulate.h"
#include "ddm/trust.h"
#include "ddm/starts.h"

/* Appends "; text" to the report's notes. */
static void note(struct ddm_analysis_report *report, const char *fmt, ...) {
    size_t used = strlen(report->notes);
    if (used && used + 2 < sizeof report->notes) used += snprintf(report->notes + used, 3, "; ");
    va_list args;
    va_start(args, fmt);
    vsnprintf(report->notes + used, sizeof report->notes - used, fmt, args);
    va_end(args);
}

int analysis_check(const struct ddm_config *cfg, const struct ddm_system *sys,
                   struct ddm_error *err) {
    int code = DDM_OK; /* config_resolve has checked bounds, the split's axes and the grid sizes */
    if (cfg->pca && (long)cfg->pca_trajectories * cfg->pca_samples <= sys->k)
        code = ddm_fail(err, DDM_EUSAGE,
                        "[analysis] pca_trajectories × pca_samples = %ld states cannot show %d "
                        "components; raise pca_samples",
                        (long)cfg->pca_trajectories * cfg->pca_samples, sys->k);
    return code;
}

/* What the stage knows about /simulate. */
struct recorded {
    int present, B;
    long T, first; /* recorded times, and the first one used (after the burn-in fraction) */
    struct stationary_times times;   /* the times the stationary parts use */
    struct stats_moments moments[2]; /* [0] network, [1] target */
};

static const char *const datasets[2] = {H5N_LATENT, H5N_TARGET_LATENT};

/* Pass 1: moments of one process; slabs are (B,count,k). */
struct moments_pass {
    struct stats_moments *moments;
    int B;
};

static void add_moments(void *user, const float *z, int count, long t) {
    (void)t;
    struct moments_pass *pass = user;
    stats_moments_add(pass->moments, z, (long)pass->B * count);
}

/* The recorded times after the burn-in fraction and outside every cue window + recall_delay. */
static int find_stationary_times(hid_t file, const struct ddm_config *cfg, struct recorded *rec,
                                 struct ddm_error *err) {
    const struct ddm_input *input = &cfg->plan->cues;
    double *t = NULL;
    long T = 0;
    int code = runfile_simulate_times(file, &t, &T, err);
    if (!code && T != rec->T)
        code = ddm_fail(err, DDM_ERUNTIME, "/simulate/t has %ld times but /simulate/latent %ld", T,
                        rec->T);
    if (!code)
        code = stationary_times_find(t, T, rec->first, input, cfg->recall_delay, &rec->times, err);
    free(t);
    return code;
}

static int read_recorded(hid_t file, const struct ddm_config *cfg, const struct ddm_system *sys,
                         struct recorded *rec, struct ddm_error *err) {
    const int k = sys->k;
    int file_k = k;
    memset(rec, 0, sizeof *rec);
    int code = runfile_simulate_shape(file, &rec->present, &rec->B, &rec->T, &file_k, err);
    if (!code && rec->present && file_k != k)
        code = ddm_fail(err, DDM_EUSAGE, "/simulate/latent has k = %d but the system has k = %d",
                        file_k, k);
    if (code || !rec->present) return code;
    rec->first = (long)floor(cfg->burn_in_fraction * rec->T);
    if (rec->first >= rec->T) rec->first = rec->T - 1;
    code = find_stationary_times(file, cfg, rec, err);
    for (int p = 0; p < 2 && !code; p++) {
        stats_moments_init(&rec->moments[p], k);
        struct moments_pass pass = {&rec->moments[p], rec->B};
        code = stationary_scan(file, datasets[p], &rec->times, add_moments, &pass, err);
    }
    if (!code && (rec->moments[0].count < 2 || rec->moments[1].count < 2))
        rec->present = 0; /* nothing finite was recorded */
    return code;
}

/* Grid bounds: [analysis] bounds, or the visited region of network and target padded by 5 %, or
 * (without /simulate) μ ± 3.5 s of the training points. */
static void grid_bounds(const struct ddm_config *cfg, const struct ddm_model *model,
                        const struct recorded *rec, double *lo, double *hi) {
    const int k = model->k;
    if (cfg->plan->has_bounds) {
        memcpy(lo, cfg->plan->bounds_lo, sizeof(double) * k);
        memcpy(hi, cfg->plan->bounds_hi, sizeof(double) * k);
        return;
    }
    for (int c = 0; c < k; c++) {
        if (rec->present) {
            lo[c] = fmin(rec->moments[0].min[c], rec->moments[1].min[c]);
            hi[c] = fmax(rec->moments[0].max[c], rec->moments[1].max[c]);
        } else {
            lo[c] = model->latent_mean[c] - 3.5 * model->latent_scale[c];
            hi[c] = model->latent_mean[c] + 3.5 * model->latent_scale[c];
        }
        double pad = 0.05 * (hi[c] - lo[c]);
        if (!(pad > 0)) pad = 0.5;
        lo[c] -= pad;
        hi[c] += pad;
    }
}

static int run_pca(const struct ddm_backend *backend, const struct ddm_system *sys,
                   const struct ddm_model *model, const struct ddm_config *cfg, hid_t group,
                   const struct analysis_tick *tick, struct ddm_analysis_report *report,
                   struct ddm_error *err) {
    struct pca_result pca;
    int code = analysis_pca(backend, sys, model, cfg, tick, &pca, err);
    if (!code) code = analysis_h5_pca(group, &pca, model->k, err);
    if (!code) {
        report->pca_done = 1;
        report->pca_states = pca.states;
        report->pca_significant = pca.significant;
        report->pca_angle_deg = pca.angles_deg[model->k - 1];
        report->pca_r2 = INFINITY;
        for (int c = 0; c < model->k; c++) report->pca_r2 = fmin(report->pca_r2, pca.r2[c]);
        report->pca_seconds = pca.seconds;
    }
    pca_result_free(&pca);
    return code;
}

/* Stationary network samples for the energy descent: every stride-th finite row, at most
 * DESCENT_SAMPLES of them. */
#define DESCENT_SAMPLES 20000
struct descent_pass {
    double *z; /* (DESCENT_SAMPLES,k) */
    long taken, seen, stride;
    int B, k;
};

static void take_samples(void *user, const float *z, int count, long t) {
    (void)t;
    struct descent_pass *pass = user;
    for (long r = 0; r < (long)pass->B * count; r++, pass->seen++) {
        if (pass->seen % pass->stride || pass->taken == DESCENT_SAMPLES) continue;
        int finite = 1;
        for (int c = 0; c < pass->k; c++) finite &= isfinite(z[r * pass->k + c]) != 0;
        if (!finite) continue;
        for (int c = 0; c < pass->k; c++) pass->z[pass->taken * pass->k + c] = z[r * pass->k + c];
        pass->taken++;
    }
}

/* f_sym · ∇_z E ≤ 0 and f_sym_metric · ∇_z E ≤ 0 over the stationary network samples. */
static int sample_descent(const struct ddm_model *model, hid_t file, const struct recorded *rec,
                          struct energy_descent *out, struct ddm_error *err) {
    const int k = model->k;
    memset(out, 0, sizeof *out);
    if (!rec->present) return DDM_OK;
    const long total = (long)rec->B * (rec->T - rec->first);
    struct descent_pass pass = {NULL,   0, 0, (total + DESCENT_SAMPLES - 1) / DESCENT_SAMPLES,
                                rec->B, k};
    pass.z = ddm_alloc(sizeof(double) * DESCENT_SAMPLES * k, "energy descent samples", err);
    if (!pass.z) return DDM_ERUNTIME;
    int code = runfile_simulate_scan(file, H5N_LATENT, rec->first, take_samples, &pass, err);
    long descent = 0, descent_metric = 0;
#pragma omp parallel for schedule(static) reduction(+ : descent, descent_metric)
    for (long i = 0; i < (code ? 0 : pass.taken); i++) {
        double fs[DDM_MAX_K];
        struct energy_point at;
        struct energy_descent here = {0};
        split_energy_field(model, pass.z + i * k, fs, &at);
        energy_descent_add(&here, fs, &at, k);
        descent += here.descent;
        descent_metric += here.descent_metric;
    }
    *out = (struct energy_descent){code ? 0 : pass.taken, descent, descent_metric};
    free(pass.z);
    return code;
}

static int run_split(const struct ddm_system *sys, const struct ddm_model *model,
                     const struct ddm_config *cfg, hid_t file, const struct recorded *rec,
                     const double *lo, const double *hi, hid_t group,
                     struct ddm_analysis_report *report, struct ddm_error *err) {
    const double t0 = now_seconds();
    struct latent_grid grid = {.k = model->k, .d = cfg->plan->decomposition_d};
    memcpy(grid.axis, cfg->plan->decomposition_axis, sizeof grid.axis);
    int code = DDM_OK;
    double mean[DDM_MAX_K], cov[DDM_MAX_K * DDM_MAX_K];
    stats_moments_result(&rec->moments[0], mean, cov);
    for (int c = 0; c < model->k; c++) {
        grid.lo[c] = lo[c];
        grid.hi[c] = hi[c];
        grid.at[c] = rec->present ? mean[c] : model->latent_mean[c];
    }
    if (cfg->plan->has_decomposition_at)
        memcpy(grid.at, cfg->plan->decomposition_at, sizeof(double) * model->k);
    for (int a = 0; a < grid.d; a++) grid.size[a] = cfg->decomposition_grid;
    struct split_grid split = {0};
    struct energy_descent samples = {0};
    if (!code) code = split_on_grid(model, &grid, &split, err);
    if (!code) code = sample_descent(model, file, rec, &samples, err);
    if (!code) code = analysis_h5_split(group, &split, &samples, sys, err);
    if (!code) {
        report->split_done = 1;
        report->split_residual = split.residual;
        report->descent_grid = energy_descent_share(split.descent.descent, split.descent.points);
        report->descent_grid_metric =
            energy_descent_share(split.descent.descent_metric, split.descent.points);
        report->descent_samples = energy_descent_share(samples.descent, samples.points);
        report->descent_samples_metric =
            energy_descent_share(samples.descent_metric, samples.points);
        report->descent_sample_count = samples.points;
    }
    split_grid_free(&split);
    report->split_seconds = now_seconds() - t0;
    return code;
}

/* Two estimates of Φ more than DDM_PHI_SIGMAS combined error bars apart: one of them is biased
 * (a grid too coarse for a thin attractor, a cut or box that misses mass; docs/trust.md). */
static void note_phi_disagreement(struct ddm_analysis_report *report, const char *name, int p) {
    report->phi_sigmas[p] = trust_phi_sigmas(report->phi[p], report->phi_err[p],
                                             report->phi_grid[p], report->phi_grid_err[p]);
    if (report->phi_sigmas[p] > DDM_PHI_SIGMAS)
        note(report,
             "Φ %s: the sample identity %.4g ± %.2g and the grid %.4g ± %.2g differ by %.1f "
             "combined error bars; the identity is exact for constant D, the grid is biased where "
             "the density is poorly resolved (docs/trust.md)",
             name, report->phi[p], report->phi_err[p], report->phi_grid[p], report->phi_grid_err[p],
             report->phi_sigmas[p]);
}

/* W₁ of the marginals and its sampling floor (the target's even against its odd trajectories)
 * in units of the target's std, and a note when one is far: a W₁ above the threshold but within
 * the floor is what any two samples of that size differ by (Lorenz, 64 paths of 18 time units:
 * x 0.071 std between network and target, 0.14 between the target's own two halves). */
static void note_far_statistics(struct ddm_analysis_report *report, const struct ddm_system *sys,
                                const struct stats_moments *target, const double *floor) {
    const int k = sys->k;
    double mean[DDM_MAX_K], cov[DDM_MAX_K * DDM_MAX_K], std[DDM_MAX_K];
    stats_moments_result(target, mean, cov);
    for (int c = 0; c < k; c++) std[c] = sqrt(cov[c * k + c]);
    const int worst =
        trust_wasserstein_in_std(k, report->wasserstein, std, report->wasserstein_std);
    trust_wasserstein_in_std(k, floor, std, report->wasserstein_floor_std);
    report->stats_worst = worst;
    if (worst >= 0 &&
        trust_statistics_far(report->wasserstein_std[worst], report->wasserstein_floor_std[worst]))
        note(report,
             "stationary statistics far from the target's: W₁ of %s is %.2g target std (above "
             "%g and %g times the %.2g between the target's own even and odd trajectories)",
             sys->var_names[worst], report->wasserstein_std[worst], DDM_STATS_WARN,
             DDM_STATS_FLOOR_FACTOR, report->wasserstein_floor_std[worst]);
}

/* The target's marginals of even and odd trajectories, for W₁'s sampling floor. */
static void add_halves(struct stats_marginals *halves, const float *z, int B, int count) {
    const int k = halves[0].k;
    for (int b = 0; b < B; b++)
        stats_marginals_add(&halves[b & 1], z + (size_t)b * count * k, count);
}

/* Pass 2: densities, the entropy-production identity and the marginals of one process. */
struct density_pass {
    struct hhd_accumulator *hhd;
    struct stats_marginals *marginals;
    struct stats_marginals *halves; /* (2) even and odd trajectories, or NULL */
    int B;
    long T_used;
    const struct analysis_tick *tick;
    double from, span; /* this process' share of the part */
};

static void add_samples(void *user, const float *z, int count, long t) {
    struct density_pass *pass = user;
    hhd_add(pass->hhd, z, count, t);
    stats_marginals_add(pass->marginals, z, (long)pass->B * count);
    if (pass->halves) add_halves(pass->halves, z, pass->B, count);
    analysis_tick(pass->tick, pass->from + pass->span * (double)(t + count) / pass->T_used);
}

static int run_hhd_stats(const struct ddm_system *sys, const struct ddm_model *model,
                         const struct ddm_config *cfg, hid_t file, const struct recorded *rec,
                         const double *lo, const double *hi, hid_t group,
                         const struct analysis_tick *tick, struct ddm_analysis_report *report,
                         struct ddm_error *err) {
    const double t0 = now_seconds();
    const int k = model->k;
    const struct latent_process processes[2] = {latent_process_network(model),
                                                latent_process_target(sys)};
    const long T_used = rec->T - rec->first, total = (long)rec->B * rec->times.used;
    const long stride = (total + cfg->max_samples - 1) / cfg->max_samples;
    struct latent_grid grid = {.k = k};
    const int grid_on = cfg->hhd_grid > 0 && k <= DDM_GRID_MAX_D;
    for (int c = 0; c < k; c++) {
        if (grid_on) grid_set_axis(&grid, c, c, cfg->hhd_grid);
        grid.lo[c] = lo[c];
        grid.hi[c] = hi[c];
    }
    if (cfg->hhd_grid > 0 && !grid_on)
        note(report, "no HHD grid for k = %d > 3 (Φ from the sample identity only)", k);
    if (rec->B < 2 || cfg->batches < 2) /* the error bars come from batches of whole paths */
        note(report, "one trajectory or batch: Φ has no error bar and W₁ no sampling floor");
    double hist_lo[DDM_MAX_K], hist_hi[DDM_MAX_K];
    for (int c = 0; c < k; c++) {
        hist_lo[c] = fmin(rec->moments[0].min[c], rec->moments[1].min[c]);
        hist_hi[c] = fmax(rec->moments[0].max[c], rec->moments[1].max[c]);
    }
    struct stats_marginals marginals[2] = {0}, halves[2] = {0};
    int code = DDM_OK;
    for (int h = 0; h < 2 && !code; h++)
        code = stats_marginals_init(&halves[h], k, hist_lo, hist_hi, cfg->stats_bins, err);
    for (int p = 0; p < 2 && !code; p++) {
        code = stats_marginals_init(&marginals[p], k, hist_lo, hist_hi, cfg->stats_bins, err);
        struct hhd_accumulator acc;
        if (!code)
            code = hhd_init(&acc, &processes[p], grid_on ? &grid : NULL, rec->B, cfg->batches,
                            stride, err);
        if (code) break;
        struct density_pass pass = {&acc,   &marginals[p], p ? halves : NULL, rec->B,
                                    T_used, tick,          0.5 * p,           0.45};
        code = stationary_scan(file, datasets[p], &rec->times, add_samples, &pass, err);
        double mean[DDM_MAX_K], cov[DDM_MAX_K * DDM_MAX_K], std[DDM_MAX_K];
        stats_moments_result(&rec->moments[p], mean, cov);
        for (int c = 0; c < k; c++) std[c] = sqrt(cov[c * k + c]);
        struct hhd_result hhd = {0};
        if (!code) code = hhd_finish(&acc, std, cfg->hhd_bandwidth, cfg->hhd_cut, &hhd, err);
        if (!code) code = analysis_h5_hhd(group, processes[p].name, &hhd, cfg->hhd_cut, sys, err);
        if (!code) {
            report->phi[p] = hhd.phi;
            report->phi_err[p] = hhd.phi_err;
            report->phi_grid[p] = hhd.phi_grid;
            report->phi_grid_err[p] = hhd.phi_grid_err;
            report->samples[p] = rec->moments[p].count;
            for (int c = 0; c < k; c++) {
                report->stationary_mean[p][c] = mean[c];
                report->stationary_var[p][c] = cov[c * k + c];
            }
            if (hhd.note[0]) note(report, "Φ %s: %s", processes[p].name, hhd.note);
            if (hhd.grid_on && hhd.mass < 0.995) /* dadras: the fast, thin parts were cut */
                note(report,
                     "Φ %s: the grid cells used hold only %.4g of the probability; the "
                     "cut parts may carry much of Φ (lower [analysis] hhd_cut, e.g. 1e-5)",
                     processes[p].name, hhd.mass);
            note_phi_disagreement(report, processes[p].name, p);
        }
        analysis_tick(tick, 0.5 * p + 0.5);
        hhd_result_free(&hhd);
        hhd_free(&acc);
    }
    double floor[DDM_MAX_K];
    for (int c = 0; c < k && !code; c++) {
        report->wasserstein[c] = stats_wasserstein(&marginals[0], &marginals[1], c);
        floor[c] = stats_wasserstein(&halves[0], &halves[1], c); /* NaN when B = 1 */
    }
    if (!code) note_far_statistics(report, sys, &rec->moments[1], floor);
    if (!code)
        code = analysis_h5_stats(group, rec->moments, marginals, report->wasserstein,
                                 cfg->burn_in_fraction, rec->first, err);
    if (!code) code = analysis_h5_stats_verdict(group, report, err);
    if (!code) report->hhd_done = report->stats_done = 1;
    report->phi_grid_on = grid_on;
    stats_marginals_free(&marginals[0]);
    stats_marginals_free(&marginals[1]);
    stats_marginals_free(&halves[0]);
    stats_marginals_free(&halves[1]);
    report->hhd_seconds = now_seconds() - t0;
    return code;
}

/* "start 2 ended on a fixed point (λ₁ = −0.05, 0.3 std from the target's path); …" for the
 * starts of r not averaged, into line ("" when every start was kept). */
static void describe_elsewhere(const struct lyapunov_result *r, char *line, size_t len) {
    size_t used = 0;
    line[0] = 0;
    for (int s = 0; s < r->starts && used < len; s++) {
        if (r->kept_start[s]) continue;
        used += snprintf(line + used, len - used,
                         "%sstart %d ended on a %s (λ₁ = %.3g, %.2g std "
                         "from the target's path)",
                         used ? "; " : "", s + 1, lyapunov_attractor_name(r->attractor[s]),
                         r->per_start[(size_t)s * r->k], r->end_distance[s]);
    }
}

/* Starts on one target path; the target's majority attractor is the reference, and a start of
 * either flow that ends elsewhere is reported, not averaged. */
static void judge_starts(const struct lyapunov_starts *starts, struct lyapunov_result *results,
                         struct ddm_analysis_report *report) {
    const int reference = lyapunov_majority(&results[1]);
    const int distinct = starts->min_separation > 1e-6;
    double *distance = malloc(sizeof(double) * starts->S);
    for (int p = 0; p < 2; p++) {
        for (int s = 0; s < starts->S && distance; s++)
            distance[s] = lyapunov_starts_distance(starts, results[p].end + (size_t)s * starts->k);
        lyapunov_average(&results[p], reference, distance, distinct);
        describe_elsewhere(&results[p], report->lyapunov_elsewhere[p],
                           sizeof report->lyapunov_elsewhere[p]);
        if (results[p].kept < starts->S)
            note(report, "Lyapunov %s: %d of %d starts ended off the target's %s, not averaged",
                 p ? "target" : "network", starts->S - results[p].kept, starts->S,
                 lyapunov_attractor_name(reference));
    }
    if (!distinct && starts->S > 1)
        note(report,
             "Lyapunov: the %d starts coincide (the target path settled on a point): no "
             "error bar",
             starts->S);
    free(distance);
}

/* Starts that all end on one fixed point z*: Benettin's finite-time average is biased by O(1/T)
 * (an OU of k = 8 with rotation at T = 20: λ₁ −1.689 against −1.646, and λ₂ > λ₁) and its spread
 * over the starts is not that bias, while the spectrum there is exact: the real parts of the
 * eigenvalues of J(z*), which replace the mean. Returns whether it did. */
static int exact_at_fixed_point(const struct latent_process *process, struct lyapunov_result *r) {
    const int k = r->k;
    int first = -1;
    for (int s = 0; s < r->starts; s++) {
        if (!r->kept_start[s] || r->attractor[s] != LYAPUNOV_FIXED_POINT) continue;
        if (first < 0) first = s;
        for (int c = 0; c < k; c++) {
            const double a = r->end[(size_t)s * k + c], b = r->end[(size_t)first * k + c];
            if (!(fabs(a - b) <= 1e-6 * (1 + fabs(b)))) return 0; /* another point */
        }
    }
    if (first < 0 || r->kept < 1) return 0;
    double f[DDM_MAX_K], J[DDM_MAX_K * DDM_MAX_K], re[DDM_MAX_K], im[DDM_MAX_K];
    process->drift(process->ctx, r->end + (size_t)first * k, f, J);
    fixed_point_classify(k, J, re, im);
    if (!isfinite(re[0]) || !(re[0] < 0)) return 0;
    memcpy(r->mean, re, sizeof(double) * k);
    for (int c = 0; c < k; c++) r->error[c] = NAN; /* exact: no "± 0" */
    r->kaplan_yorke = kaplan_yorke_dimension(r->mean, k);
    return 1;
}

static int run_lyapunov(const struct ddm_system *sys, const struct ddm_model *model,
                        const struct ddm_config *cfg, hid_t group, const struct analysis_tick *tick,
                        struct ddm_analysis_report *report, struct ddm_error *err) {
    const double t0 = now_seconds();
    const int S = cfg->lyapunov_starts, k = model->k;
    const struct latent_process processes[2] = {latent_process_network(model),
                                                latent_process_target(sys)};
    struct lyapunov_result results[2] = {0};
    struct lyapunov_starts starts;
    int code = lyapunov_starts_find(sys, model, cfg, S, &starts, err);
    for (int p = 0; p < 2 && !code; p++) {
        struct analysis_tick half = {tick->bar, tick->from + 0.5 * p * tick->span, 0.5 * tick->span,
                                     tick->part};
        code = analysis_lyapunov_until(&processes[p], starts.z0, S, cfg->lyapunov_dt,
                                       cfg->lyapunov_transient, cfg->lyapunov_steps,
                                       lyapunov_longest_steps(cfg), cfg->lyapunov_precision, &half,
                                       &results[p], err);
    }
    if (!code) {
        judge_starts(&starts, results, report);
        int exact = 0;
        for (int p = 0; p < 2; p++) exact |= exact_at_fixed_point(&processes[p], &results[p]) << p;
        if (exact)
            note(report,
                 "Lyapunov %s: every start ended on one fixed point: the spectrum is the real "
                 "parts of the Jacobian's eigenvalues there (exact)",
                 exact == 3   ? "network and target"
                 : exact == 2 ? "target"
                              : "network");
        if (results[0].steps > cfg->lyapunov_steps || results[1].steps > cfg->lyapunov_steps)
            note(report,
                 "Lyapunov runs extended to reach [analysis] lyapunov_precision = %g: "
                 "network T = %g, target T = %g",
                 cfg->lyapunov_precision, results[0].steps * cfg->lyapunov_dt,
                 results[1].steps * cfg->lyapunov_dt);
        for (int p = 0; p < 2; p++) {
            memcpy(report->lyapunov[p], results[p].mean, sizeof(double) * k);
            memcpy(report->lyapunov_err[p], results[p].error, sizeof(double) * k);
            report->kaplan_yorke[p] = results[p].kaplan_yorke;
            report->lyapunov_starts[p] = results[p].kept;
        }
        report->lyapunov_total = S;
        code = analysis_h5_lyapunov(group, &results[0], &results[1], &starts, cfg, err);
    }
    if (!code) report->lyapunov_done = 1;
    lyapunov_result_free(&results[0]);
    lyapunov_result_free(&results[1]);
    if (starts.z0) lyapunov_starts_free(&starts);
    report->lyapunov_seconds = now_seconds() - t0;
    return code;
}

/* The last recorded state of every trajectory, (B,k); NaN rows for dropped trajectories. */
struct ends_pass {
    double *ends;
    int B, k;
};

static void keep_last(void *user, const float *z, int count, long t) {
    (void)t;
    const struct ends_pass *pass = user;
    for (long b = 0; b < pass->B; b++)
        for (int c = 0; c < pass->k; c++)
            pass->ends[b * pass->k + c] = z[(b * count + count - 1) * pass->k + c];
}

/* Distances in the training data's latent scales s (those of blowup_bound): a target or network
 * that escaped in /simulate would stretch any scale taken from the recorded samples. Seeds over
 * the region both processes visited, clipped to μ ± REGION_LIMIT s (escaped samples are reached
 * through the trajectory ends instead), or μ ± 3.5 s without /simulate, widened by a quarter of
 * its extent on each side. */
#define REGION_LIMIT 10.0
static void fixed_point_region(const struct ddm_model *model, const struct ddm_config *cfg,
                               const struct recorded *rec, struct fixed_point_search *search) {
    for (int c = 0; c < model->k; c++) {
        const double mu = model->latent_mean[c], s = model->latent_scale[c];
        double lo = mu - 3.5 * s, hi = mu + 3.5 * s;
        if (rec->present) {
            lo = fmax(fmin(rec->moments[0].min[c], rec->moments[1].min[c]), mu - REGION_LIMIT * s);
            hi = fmin(fmax(rec->moments[0].max[c], rec->moments[1].max[c]), mu + REGION_LIMIT * s);
            if (!(hi > lo)) lo = mu - 3.5 * s, hi = mu + 3.5 * s;
        }
        const double margin = 0.25 * (hi - lo);
        search->scale[c] = s;
        search->lo[c] = lo - margin;
        search->hi[c] = hi + margin;
    }
    search->k = model->k;
    search->seeds = cfg->fixed_point_seeds;
    search->seed = ddm_stream_seed(cfg->seed, DDM_STREAM_ANALYSIS) ^ 0x6669786564ull;
}

static int run_fixed_points(const struct ddm_system *sys, const struct ddm_model *model,
                            const struct ddm_config *cfg, hid_t file, const struct recorded *rec,
                            hid_t group, struct ddm_analysis_report *report,
                            struct ddm_error *err) {
    const double t0 = now_seconds();
    const int k = model->k;
    const struct latent_process processes[2] = {latent_process_network(model),
                                                latent_process_target(sys)};
    struct fixed_point_search search = {0};
    fixed_point_region(model, cfg, rec, &search);
    double *ends[2] = {NULL, NULL};
    struct fixed_point_set sets[2] = {{0}, {0}};
    int code = DDM_OK;
    for (int p = 0; p < 2 && !code && rec->present; p++) {
        ends[p] = ddm_alloc(sizeof(double) * rec->B * k, "trajectory ends", err);
        struct ends_pass pass = {ends[p], rec->B, k};
        code = ends[p] ? runfile_simulate_scan(file, datasets[p], rec->T - 1, keep_last, &pass, err)
                       : DDM_ERUNTIME;
    }
    for (int p = 0; p < 2 && !code; p++) {
        search.ends = ends[p];
        search.end_count = ends[p] ? rec->B : 0;
        code = fixed_points_find(&processes[p], &search, &sets[p], err);
    }
    if (!code) {
        fixed_points_match(&sets[0], &sets[1], search.scale, cfg->fixed_point_match);
        for (int p = 0; p < 2 && ends[p]; p++)
            fixed_points_trap(&sets[p], ends[p], rec->B, search.scale);
        fixed_points_summarise(&sets[0], &sets[1], ends[0] ? rec->B : 0, &report->fixed);
        code = analysis_h5_fixed_points(group, sets, &search, &report->fixed,
                                        cfg->fixed_point_match, err);
    }
    if (!code) report->fixed_done = 1;
    for (int p = 0; p < 2; p++) {
        fixed_point_set_free(&sets[p]);
        free(ends[p]);
    }
    report->fixed_seconds = now_seconds() - t0;
    return code;
}

/* Occupancy of one process' recorded paths, in slabs. */
struct occupancy_pass {
    const struct wells *wells;
    double radius;
    signed char *occupancy; /* (B,T) */
    long B, T;
};

static void add_occupancy(void *user, const float *z, int count, long t) {
    struct occupancy_pass *pass = user;
    signed char *slab = malloc((size_t)pass->B * count);
    if (!slab) return; /* the codes stay -1 (transit): counted as no transition */
    memory_occupancy(pass->wells, pass->radius, z, pass->B, count, slab);
    for (long b = 0; b < pass->B; b++)
        memcpy(pass->occupancy + b * pass->T + t, slab + b * count, (size_t)count);
    free(slab);
}

static int run_memory(const struct ddm_system *sys, const struct ddm_config *cfg, hid_t file,
                      const struct recorded *rec, const double *lo, const double *hi, hid_t group,
                      struct ddm_analysis_report *report, struct ddm_error *err) {
    const double t0 = now_seconds();
    const long B = rec->B;
    double *t = NULL;
    long T = 0;
    const struct ddm_input *input = &cfg->plan->cues;
    int code = runfile_simulate_times(file, &t, &T, err);
    const double radius = memory_radius(&sys->wells, cfg->well_radius);
    signed char *occupancy[2] = {NULL, NULL};
    struct memory_result result[2] = {0};
    for (int p = 0; p < 2 && !code; p++) {
        occupancy[p] = ddm_alloc((size_t)B * T, "occupancy", err);
        if (!occupancy[p]) {
            code = DDM_ERUNTIME;
            break;
        }
        memset(occupancy[p], -1, (size_t)B * T);
        struct occupancy_pass pass = {&sys->wells, radius, occupancy[p], B, T};
        code = runfile_simulate_scan(file, datasets[p], 0, add_occupancy, &pass, err);
        if (!code)
            code = memory_metrics(occupancy[p], t, B, T, sys->wells.K, input, cfg->recall_delay,
                                  &result[p], err);
        if (!code) {
            report->recall[p] = result[p].recall_accuracy;
            report->switch_rate[p] = result[p].spontaneous_rate;
            report->forward_backward[p] = result[p].forward_backward;
            report->forward_backward_err[p] = result[p].forward_backward_err;
            report->memory_cues = result[p].cues;
        }
    }
    /* Cues with hardly a spontaneous switch: the wells stay occupied as the last cue left them,
     * so the "stationary" samples hold the cue history (associative_recall over 160 time units:
     * 0.06 switches per path, x variance 0.617 against y 0.374 in a landscape symmetric in x, y) */
    const double switches = result[1].spontaneous_rate * result[1].free_time;
    if (!code && input->count > 0 && switches < 1)
        note(report,
             "memory: the target switches wells %.2g times per path outside the cues: it stays "
             "where the last cue left it, so the density, Φ and statistics describe the cue "
             "history, not the stationary law (a longer run or more noise mixes the wells)",
             switches);
    if (!code)
        code = analysis_h5_memory(group, result, (const signed char *const *)occupancy, B, T,
                                  radius, err);
    if (!code) code = analysis_h5_landscape(group, &sys->wells, input, lo, hi, err);
    if (!code) report->memory_done = 1;
    for (int p = 0; p < 2; p++) {
        memory_result_free(&result[p]);
        free(occupancy[p]);
    }
    free(t);
    report->memory_seconds = now_seconds() - t0;
    return code;
}

int analysis_run(const struct ddm_backend *backend, const struct ddm_system *sys,
                 const struct ddm_model *model, const struct ddm_config *cfg, hid_t file,
                 struct ddm_analysis_report *report, int quiet, struct ddm_error *err) {
    const double t0 = now_seconds();
    memset(report, 0, sizeof *report);
    report->k = model->k;
    report->phi_sigmas[0] = report->phi_sigmas[1] = NAN;
    report->stats_worst = -1;
    for (int c = 0; c < DDM_MAX_K; c++) report->wasserstein_floor_std[c] = NAN;
    struct ddm_progress bar;
    progress_begin(&bar, "analyze", "%", 100, quiet);
    hid_t group = -1;
    struct recorded rec;
    double lo[DDM_MAX_K], hi[DDM_MAX_K];
    int code = analysis_check(cfg, sys, err);
    if (!code) code = analysis_h5_begin(file, cfg, &group, err);
    if (!code) code = read_recorded(file, cfg, sys, &rec, err);
    if (!code && rec.times.usable) code = stationary_times_write(group, &rec.times, err);
    report->stationary_times = rec.times.used;
    report->recorded_times = rec.T - rec.first;
    if (!code && rec.times.usable && !rec.times.used)
        note(report, "no recorded time lies after the burn-in fraction and outside every cue "
                     "window and recall_delay: no density, Φ or statistics");
    if (!code) grid_bounds(cfg, model, &rec, lo, hi);
    /* shares of the progress bar, roughly as the parts take time */
    struct analysis_tick pca_tick = {&bar, 0.0, 0.2, "PCA"}, hhd_tick = {&bar, 0.25, 0.4, "HHD"},
                         lyapunov_tick = {&bar, 0.65, 0.35, "Lyapunov"};
    if (!code && cfg->pca) code = run_pca(backend, sys, model, cfg, group, &pca_tick, report, err);
    analysis_tick(&pca_tick, 1);
    if (!code && cfg->decomposition_grid)
        code = run_split(sys, model, cfg, file, &rec, lo, hi, group, report, err);
    if (!code && sys->forcing) /* a forced process has no stationary density */
        note(report, "the system is forced (its drift uses t): no density, Φ or stationary "
                     "statistics; the split, Lyapunov spectra and fixed points are those of the "
                     "autonomous part f(z) of f(z) + g(t)");
    if (!code && sys->diffusion_time) /* nor has one whose noise changes in time */
        note(report, "the noise changes in time (the diffusion uses t): no density, Φ or "
                     "stationary statistics (the process is not stationary); the split, Lyapunov "
                     "spectra and fixed points are those of the drift");
    const int stationary = !sys->forcing && !sys->diffusion_time;
    if (!code && stationary && rec.present)
        code = run_hhd_stats(sys, model, cfg, file, &rec, lo, hi, group, &hhd_tick, report, err);
    else if (!code && stationary && (!rec.times.usable || rec.times.used))
        note(report, "no /simulate in the file: no density, Φ or statistics");
    if (!code && cfg->data_path && cfg->data_path[0])
        code = analysis_data_run(cfg, file, group, &report->data, err);
    if (!code && report->data.notes[0]) note(report, "data: %s", report->data.notes);
    if (!code && cfg->lyapunov_steps)
        code = run_lyapunov(sys, model, cfg, group, &lyapunov_tick, report, err);
    if (!code && cfg->fixed_point_seeds)
        code = run_fixed_points(sys, model, cfg, file, &rec, group, report, err);
    if (!code && rec.present && sys->native_wells)
        code = run_memory(sys, cfg, file, &rec, lo, hi, group, report, err);
    progress_end(&bar);
    report->seconds = now_seconds() - t0;
    if (group >= 0) {
        struct ddm_error end_err;
        int end = code ? (H5Gclose(group), DDM_OK) : analysis_h5_end(file, group, report, &end_err);
        if (!code && end) {
            code = end;
            *err = end_err;
        }
    }
    stationary_times_free(&rec.times);
    if (code) ddm_error_prefix(err, "analyze");
    return code;
}
