/* analysis_data_run.c — the analyze stage against recorded data: the network's /simulate/latent
 * (after the burn-in fraction) against the held-out part of [system] data, written to
 * /analysis/data_comparison (include/ddm/analysis_data.h; docs/from_data_analysis.md).
 *
 * The noise floors beside D_H and D_stsp are the same statistics between two halves of the
 * held-out data: a network cannot be told from the data below them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/analysis_data.h"
#include "ddm/data_diffusion.h"
#include "ddm/analysis_h5.h"
#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/progress.h"
#include "ddm/runfile.h"
#include "ddm/trust.h"

#define NETWORK_MAX_SAMPLES     4000000L /* recorded network states kept (B·T), ≤ 256 MB at k = 8 */
#define DATA_SPECTRUM_SEGMENT   1024     /* data samples per Welch segment */
#define DATA_SPECTRUM_SMOOTHING 2.0      /* Gaussian smoothing of the spectra, in frequency bins */
#define DATA_HISTOGRAM_BINS     100      /* marginal bins (W₁ uses 64 times finer ones) */

struct network_pass {
    struct recording *net;
    int B;       /* trajectories in the file */
    long T_kept; /* times kept per trajectory */
};

static void take_network(void *user, const float *z, int count, long t) {
    const struct network_pass *pass = user;
    const struct recording *net = pass->net;
    const int k = net->k;
    for (int b = 0; b < net->trajectories; b++)
        for (int i = 0; i < count && t + i < pass->T_kept; i++)
            for (int c = 0; c < k; c++)
                net->z[((long)b * pass->T_kept + t + i) * k + c] = z[((long)b * count + i) * k + c];
}

/* /simulate/latent (B,T,k) after the burn-in, at most NETWORK_MAX_SAMPLES states (the first
 * trajectories), and the record interval from /simulate/t. */
static int read_network(hid_t file, double burn_in_fraction, struct recording *net,
                        struct ddm_error *err) {
    int present = 0, B = 0, k = 0;
    long T_all = 0;
    int code = runfile_simulate_shape(file, &present, &B, &T_all, &k, err);
    if (code) return code;
    if (!present) return ddm_fail(err, DDM_EUSAGE, "no /simulate/latent to compare with the data");
    const hsize_t dims[3] = {(hsize_t)B, (hsize_t)T_all, (hsize_t)k};
    const long first = (long)floor(burn_in_fraction * (double)dims[1]);
    if ((long)dims[1] - first < 2)
        return ddm_fail(err, DDM_EUSAGE,
                        "/simulate/latent holds fewer than 2 times after the "
                        "burn-in fraction: nothing to compare with the data");
    double *t = NULL;
    long T = 0;
    code = runfile_simulate_times(file, &t, &T, err);
    const double dt = code || T < 2 ? NAN : t[1] - t[0];
    free(t);
    if (code) return code;
    const long T_kept =
        (long)dims[1] - first < NETWORK_MAX_SAMPLES ? (long)dims[1] - first : NETWORK_MAX_SAMPLES;
    long B_kept = NETWORK_MAX_SAMPLES / T_kept;
    if (B_kept > (long)dims[0]) B_kept = (long)dims[0];
    *net = (struct recording){.k = (int)dims[2], .trajectories = (int)B_kept, .dt = dt};
    net->offset = ddm_alloc(sizeof(long) * (B_kept + 1), "network record", err);
    net->z = ddm_alloc(sizeof(double) * B_kept * T_kept * dims[2], "network record", err);
    if (!net->offset || !net->z) return DDM_ERUNTIME;
    for (long b = 0; b <= B_kept; b++) net->offset[b] = b * T_kept;
    struct network_pass pass = {net, (int)dims[0], T_kept};
    return runfile_simulate_scan(file, H5N_LATENT, first, take_network, &pass, err);
}

/* Everything compared, and the floors. */
struct comparison {
    struct data_stats stats;
    struct data_spectra spectra, spectra_floor;
    struct data_stsp stsp, stsp_floor;
    struct sfi_result sfi[2]; /* [0] network, [1] data */
};

static void comparison_free(struct comparison *cmp) {
    data_spectra_free(&cmp->spectra);
    data_spectra_free(&cmp->spectra_floor);
    sfi_free(&cmp->sfi[0]);
    sfi_free(&cmp->sfi[1]);
}

/* W₁, D_H and D_stsp between two halves of the held-out data (NaN when it cannot be halved):
 * each half carries √2 times the sampling noise of the whole, so the floor is about twice the
 * noise a network indistinguishable from the data would show. */
static void noise_floors(const struct recording *held, struct comparison *cmp,
                         struct data_report *report) {
    struct recording half[2] = {{0}, {0}};
    struct ddm_error ignored;
    if (!recording_split(held, 0.5, &half[0], &half[1], &ignored) &&
        !data_spectra_compare(&half[0], &half[1], DATA_SPECTRUM_SEGMENT, DATA_SPECTRUM_SMOOTHING,
                              &cmp->spectra_floor, &ignored))
        report->hellinger_floor = cmp->spectra_floor.hellinger_mean;
    if (half[0].z && half[1].z &&
        !data_stsp_compare(&half[0], &half[1], cmp->stsp.bins, &cmp->stsp_floor, &ignored))
        report->dstsp_floor = cmp->stsp_floor.dstsp;
    struct data_stats halves;
    if (half[0].z && half[1].z &&
        !data_stats_compare(&half[0], &half[1], 2, DATA_HISTOGRAM_BINS, &halves, &ignored))
        memcpy(report->wasserstein_floor, halves.wasserstein_std, sizeof halves.wasserstein_std);
    recording_free(&half[0]);
    recording_free(&half[1]);
}

/* The network against the held-out data; Φ of the data by force inference from all of it (a
 * property of the data, not of the fit: more increments, a smaller error bar). */
static int compare(const struct recording *net, const struct recording *held,
                   const struct recording *all, int batches, struct comparison *cmp,
                   struct data_report *report, struct ddm_error *err) {
    int code = data_stats_compare(net, held, batches, DATA_HISTOGRAM_BINS, &cmp->stats, err);
    if (!code) code = data_stsp_compare(net, held, 0, &cmp->stsp, err);
    if (code) return code;
    /* too short a record for spectra, too few increments for the basis: a note, not a failure */
    struct ddm_error part;
    if (data_spectra_compare(net, held, DATA_SPECTRUM_SEGMENT, DATA_SPECTRUM_SMOOTHING,
                             &cmp->spectra, &part)) {
        snprintf(report->notes, sizeof report->notes, "no D_H: %.240s", part.message);
        data_spectra_free(&cmp->spectra);
    }
    for (int p = 0; p < 2; p++)
        if (sfi_infer(p ? all : net, DATA_SFI_DEGREE, batches, &cmp->sfi[p], &part)) {
            const size_t used = strlen(report->notes);
            snprintf(report->notes + used, sizeof report->notes - used, "%sno Φ of the %s: %.200s",
                     used ? "; " : "", p ? "data" : "network", part.message);
            cmp->sfi[p].phi = cmp->sfi[p].phi_err = NAN;
        }
    noise_floors(held, cmp, report);
    const int k = held->k;
    report->worst = -1;
    for (int c = 0; c < k; c++) {
        report->wasserstein_std[c] = cmp->stats.wasserstein_std[c];
        report->wasserstein_std_err[c] = cmp->stats.wasserstein_std_err[c];
        if (isfinite(report->wasserstein_std[c]) &&
            (report->worst < 0 ||
             report->wasserstein_std[c] > report->wasserstein_std[report->worst]))
            report->worst = c;
    }
    report->hellinger = cmp->spectra.frequencies ? cmp->spectra.hellinger_mean : NAN;
    report->dstsp = cmp->stsp.dstsp;
    report->dstsp_bias = cmp->stsp.bias;
    report->outside = cmp->stsp.outside;
    report->phi_network = cmp->sfi[0].phi;
    report->phi_network_err = cmp->sfi[0].phi_err;
    report->phi_data = cmp->sfi[1].phi;
    report->phi_data_err = cmp->sfi[1].phi_err;
    report->network_samples = cmp->stats.samples[0];
    report->heldout_samples = cmp->stats.samples[1];
    return DDM_OK;
}

static int put(hid_t g, const char *name, int rank, hsize_t d0, hsize_t d1, const double *data,
               const char *shape, struct ddm_error *err) {
    const hsize_t dims[2] = {d0, d1};
    return h5_write(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, data, shape, err);
}

/* "<what>_<network|data>" */
static const char *sided(char *name, size_t len, const char *what, int p) {
    snprintf(name, len, "%s_%s", what, p ? "data" : "network");
    return name;
}

/* Means, covariances and W₁: datasets of the group. */
static int write_moments(hid_t g, const struct data_stats *st, const struct data_report *r, int k,
                         struct ddm_error *err) {
    char name[64];
    int code = DDM_OK;
    for (int p = 0; p < 2 && !code; p++) {
        code = put(g, sided(name, sizeof name, "mean", p), 1, k, 0, st->mean[p], "(k)", err);
        if (!code) strcat(name, "_error");
        if (!code) code = put(g, name, 1, k, 0, st->mean_err[p], "(k)", err);
        if (!code)
            code = put(g, sided(name, sizeof name, "covariance", p), 2, k, k, st->cov[p], "(k,k)",
                       err);
    }
    if (!code) code = put(g, "data_std", 1, k, 0, st->data_std, "(k)", err);
    if (!code) code = put(g, "wasserstein_in_data_std", 1, k, 0, st->wasserstein_std, "(k)", err);
    if (!code)
        code =
            put(g, "wasserstein_in_data_std_error", 1, k, 0, st->wasserstein_std_err, "(k)", err);
    if (!code)
        code = put(g, "wasserstein_floor_in_data_std", 1, k, 0, r->wasserstein_floor, "(k)", err);
    return code;
}

/* The spectra and the force inference, where they were computed. */
static int write_spectra_sfi(hid_t g, const struct comparison *cmp, int k, struct ddm_error *err) {
    const struct data_spectra *sp = &cmp->spectra;
    char name[64];
    int code = DDM_OK;
    if (sp->frequencies) {
        code = put(g, "frequency", 1, sp->frequencies, 0, sp->frequency, "(frequencies)", err);
        for (int p = 0; p < 2 && !code; p++)
            code = put(g, sided(name, sizeof name, "power", p), 2, k, sp->frequencies, sp->power[p],
                       "(k,frequencies)", err);
        if (!code) code = put(g, "hellinger", 1, k, 0, sp->hellinger, "(k)", err);
    }
    for (int p = 0; p < 2 && !code; p++)
        if (isfinite(cmp->sfi[p].phi))
            code = put(g, sided(name, sizeof name, "sfi_diffusion", p), 2, k, k, cmp->sfi[p].D,
                       "(k,k)", err);
    if (!code && isfinite(cmp->sfi[1].phi))
        code =
            put(g, "sfi_drift_data", 2, k, cmp->sfi[1].basis, cmp->sfi[1].drift, "(k,basis)", err);
    return code;
}

/* The scalars, as attributes of the group. */
static int write_scalars(hid_t g, const struct comparison *cmp, const struct data_report *r,
                         struct ddm_error *err) {
    const struct {
        const char *name;
        double value;
    } scalars[] = {
        {"hellinger_mean", r->hellinger},
        {"hellinger_floor", r->hellinger_floor},
        {"spectrum_segment_time", cmp->spectra.segment_time},
        {"spectrum_smoothing_bins", DATA_SPECTRUM_SMOOTHING},
        {"dstsp", r->dstsp},
        {"dstsp_bias", r->dstsp_bias},
        {"dstsp_floor", r->dstsp_floor},
        {"dstsp_bins", cmp->stsp.bins},
        {"dstsp_pairs", cmp->stsp.pairs},
        {"dstsp_pseudocount", DATA_STSP_PSEUDOCOUNT},
        {"network_outside_share", r->outside},
        {"phi_sfi_data", r->phi_data},
        {"phi_sfi_data_error", r->phi_data_err},
        {"phi_sfi_data_bias", cmp->sfi[1].phi_bias},
        {"phi_sfi_network", r->phi_network},
        {"phi_sfi_network_error", r->phi_network_err},
        {"phi_sfi_network_bias", cmp->sfi[0].phi_bias},
        {"sfi_degree", DATA_SFI_DEGREE},
        {"sfi_basis", cmp->sfi[1].basis},
        {"network_dt", r->network_dt},
        {"data_dt", r->data_dt},
        {"network_samples", r->network_samples},
        {"heldout_samples", r->heldout_samples},
        {"heldout_trajectories", r->heldout_trajectories},
        {"held_out", r->held_out},
        {"batches", cmp->stats.batches},
    };
    int code = DDM_OK;
    for (size_t q = 0; q < sizeof scalars / sizeof scalars[0] && !code; q++)
        code = h5_attr_double(g, scalars[q].name, scalars[q].value, err);
    if (!code)
        code = h5_attr_string(g, H5N_METHODS,
                              "W1 from marginal CDFs in units of the data's std, error over "
                              "batches of whole trajectories; D_H = mean over coordinates of "
                              "sqrt(1 - sum sqrt(p q)) of Gaussian-smoothed, normalised Welch "
                              "spectra on a common grid j/T_seg; D_stsp = KL(p_data || p_network) "
                              "of binned occupations on the data's range (k <= 3 joint, k > 3 "
                              "mean over coordinate pairs), pseudo-count 0.5; Phi by stochastic "
                              "force inference (Frishman & Ronceray 2020), Stratonovich "
                              "projection on polynomials, noise bias 2 k n_b / tau removed",
                              err);
    return code;
}

static int write_comparison(hid_t group, const struct comparison *cmp,
                            const struct data_report *report, int k, struct ddm_error *err) {
    hid_t g = h5_group(group, H5N_DATA_COMPARISON, err);
    if (g < 0) return DDM_ERUNTIME;
    int code = write_moments(g, &cmp->stats, report, k, err);
    if (!code) code = write_spectra_sfi(g, cmp, k, err);
    if (!code) code = write_scalars(g, cmp, report, err);
    H5Gclose(g);
    return code;
}

static void report_init(struct data_report *report) {
    memset(report, 0, sizeof *report);
    report->worst = -1;
    report->hellinger = report->hellinger_floor = report->dstsp = report->dstsp_bias = NAN;
    report->dstsp_floor = report->outside = NAN;
    for (int c = 0; c < DDM_MAX_K; c++) report->wasserstein_floor[c] = NAN;
    report->phi_data = report->phi_data_err = report->phi_network = report->phi_network_err = NAN;
}

int analysis_data_run(const struct ddm_config *cfg, hid_t file, hid_t group,
                      struct data_report *report, struct ddm_error *err) {
    const double t0 = now_seconds();
    report_init(report);
    struct recording all = {0}, fit = {0}, held = {0}, net = {0};
    struct comparison cmp = {0};
    int code = recording_load(cfg, &all, err);
    report->held_out = cfg->data_holdout > 0;
    if (!code && report->held_out)
        code = recording_split(&all, cfg->data_holdout, &fit, &held, err);
    const struct recording *against = report->held_out ? &held : &all;
    if (!code) code = read_network(file, cfg->burn_in_fraction, &net, err);
    if (!code) {
        report->network_dt = net.dt;
        report->data_dt = against->dt;
        report->heldout_trajectories = against->trajectories;
        code = compare(&net, against, &all, cfg->batches, &cmp, report, err);
    }
    if (!code) code = write_comparison(group, &cmp, report, against->k, err);
    report->done = !code;
    comparison_free(&cmp);
    recording_free(&all);
    recording_free(&fit);
    recording_free(&held);
    recording_free(&net);
    report->seconds = now_seconds() - t0;
    if (code) ddm_error_prefix(err, "comparison with the data");
    return code;
}

static void with_error(char *buf, size_t len, double value, double error) {
    if (isfinite(error))
        snprintf(buf, len, "%.4g ± %.2g", value, error);
    else
        snprintf(buf, len, "%.4g", value);
}

/* Φ_a and Φ_b more than DDM_PHI_SIGMAS combined error bars and 10 % apart. */
static int phi_disagree(double a, double a_err, double b, double b_err) {
    const double gap = fabs(a - b), bars = sqrt(a_err * a_err + b_err * b_err);
    return isfinite(gap) && gap > 0.1 * fmax(fabs(a), fabs(b)) &&
           !(gap <= DDM_PHI_SIGMAS * (isfinite(bars) ? bars : 0));
}

void analysis_data_print(const struct ddm_system *sys, const struct data_report *r,
                         double phi_identity, double phi_identity_err) {
    const int k = sys->k;
    char a[64], b[64], c[64];
    printf("          data: network vs %s (%d trajectories, %ld samples, Δ %g; network %ld "
           "samples, Δ %g) · W₁ in data std:",
           r->held_out ? "held-out data" : "all the data (data_holdout = 0)",
           r->heldout_trajectories, r->heldout_samples, r->data_dt, r->network_samples,
           r->network_dt);
    for (int q = 0; q < k; q++) {
        with_error(a, sizeof a, r->wasserstein_std[q], r->wasserstein_std_err[q]);
        printf("%s %s %s", q ? "," : "", sys->var_names[q], a);
    }
    printf(" (two halves of the data:");
    for (int q = 0; q < k; q++) printf("%s %.2g", q ? "," : "", r->wasserstein_floor[q]);
    printf(") · %.2f s", r->seconds);
    if (isfinite(r->hellinger) && isfinite(r->hellinger_floor))
        snprintf(a, sizeof a, "%.3g (two halves of the data: %.3g)", r->hellinger,
                 r->hellinger_floor);
    else if (isfinite(r->hellinger)) /* halves too short for a spectrum of that segment */
        snprintf(a, sizeof a, "%.3g (no floor: halves of the data too short)", r->hellinger);
    else /* the notes say why (too short a record) */
        snprintf(a, sizeof a, "not computed (notes below)");
    printf("\n          data: power spectra D_H %s · state space D_stsp %.3g nats (bias %.2g, "
           "halves %.3g; %.2g %% of the network outside the data's range)\n",
           a, r->dstsp, r->dstsp_bias, r->dstsp_floor, 100 * r->outside);
    with_error(a, sizeof a, r->phi_data, r->phi_data_err);
    with_error(b, sizeof b, r->phi_network, r->phi_network_err);
    if (isfinite(phi_identity))
        with_error(c, sizeof c, phi_identity, phi_identity_err);
    else /* D depends on z, or no HHD */
        snprintf(c, sizeof c, "not computed");
    if (k == 1) /* every basis direction is exact: the inference returns 0, not an estimate */
        snprintf(a, sizeof a, "0"), snprintf(b, sizeof b, "0 (1-D: no flux, Φ = 0 exactly)");
    /* the inference takes D constant: with a D(z) (not a σ(z) fit that chose a constant) its Φ
     * and noise bias are off, except in 1-D, where Φ = 0 exactly */
    const int d_of_z =
        !sys->diffusion_constant && !(sys->diffusion_fit && sys->diffusion_fit->degree == 0);
    printf("          data: Φ by force inference (degree %d): data %s vs network %s · network, "
           "sample identity with the learnt drift: %s (nats/time)%s\n",
           DATA_SFI_DEGREE, a, b, c,
           k > 1 && d_of_z ? "; the force inference takes D constant, so with this D(z) its Φ is "
                             "biased: the grid Φ above is the one to read"
                           : "");
    const int w = r->worst;
    if (w >= 0 && r->wasserstein_std[w] > DDM_STATS_WARN &&
        !(r->wasserstein_std[w] <= DATA_FLOOR_FACTOR * r->wasserstein_floor[w]))
        printf("          warning: the network's marginal of %s is %.2g data std from the "
               "held-out data's (above %g and %g times the %.2g between two halves of the data)\n",
               sys->var_names[w], r->wasserstein_std[w], DDM_STATS_WARN, DATA_FLOOR_FACTOR,
               r->wasserstein_floor[w]);
    if (r->hellinger > DATA_HELLINGER_WARN &&
        !(r->hellinger <= DATA_FLOOR_FACTOR * r->hellinger_floor))
        printf("          warning: power spectra differ (D_H %.3g above %g and %g times the %.3g "
               "between two halves of the data): the network's time scales are off\n",
               r->hellinger, DATA_HELLINGER_WARN, DATA_FLOOR_FACTOR, r->hellinger_floor);
    if (r->dstsp - r->dstsp_bias > DATA_STSP_WARN &&
        !(r->dstsp <= DATA_FLOOR_FACTOR * r->dstsp_floor))
        printf("          warning: the network occupies the state space differently (D_stsp "
               "%.3g − bias %.2g above %g nats, and above %g times the %.3g between two halves "
               "of the data)\n",
               r->dstsp, r->dstsp_bias, DATA_STSP_WARN, DATA_FLOOR_FACTOR, r->dstsp_floor);
    if (phi_disagree(phi_identity, phi_identity_err, r->phi_data, r->phi_data_err))
        printf("          warning: Φ of the network (learnt drift) %.4g and of the data (force "
               "inference) %.4g differ by more than %g combined error bars and 10 %%\n",
               phi_identity, r->phi_data, DDM_PHI_SIGMAS);
}
