/* analysis_data.h — the network against recorded data (a system known from data, [system] data):
 * stationary statistics, power spectra, state-space divergence, and the entropy production of the
 * data alone by stochastic force inference. docs/from_data_analysis.md gives the formulas.
 *
 * Both sides are `struct recording`s: the network's simulated latent paths (after the burn-in)
 * and the held-out data trajectories; their sampling intervals may differ.
 *
 *   moments    means ± error, covariances; error bars over G batches (whole trajectories, or time
 *              blocks of the concatenated record when there are fewer than G trajectories)
 *   W₁         per coordinate, in units of the data's std, ± the spread of batch-pair W₁s / √G
 *   D_H        Hellinger distance of smoothed, normalised power spectra on a common frequency grid
 *              j / T_seg (segments of equal duration on both sides), mean over coordinates
 *   D_stsp     KL(p_data ‖ p_network) of binned occupations on the data's range (k ≤ 3: the joint
 *              histogram; k > 3: the mean over coordinate pairs of 2-D histograms)
 *   SFI        drift and mean local velocity projected on polynomials of z (Frishman & Ronceray,
 *              PRX 10, 021009 (2020)); Φ = tr(D⁻¹ V G⁻¹ Vᵀ) minus its noise bias 2 k n_b / τ
 */
#ifndef DDM_ANALYSIS_DATA_H
#define DDM_ANALYSIS_DATA_H

#include <hdf5.h>

#include "ddm/config.h"
#include "ddm/error.h"
#include "ddm/recording.h"
#include "ddm/system.h"

/* Which batch sample s of trajectory b falls in, of G. */
int data_batch_of(const struct recording *r, int b, long s, int G);

/* ---- moments and marginals, [0] network, [1] data ---- */
struct data_stats {
    int k, batches;
    long samples[2];
    double mean[2][DDM_MAX_K], mean_err[2][DDM_MAX_K], cov[2][DDM_MAX_K * DDM_MAX_K];
    double data_std[DDM_MAX_K];
    double wasserstein_std[DDM_MAX_K];     /* W₁ network–data in data std */
    double wasserstein_std_err[DDM_MAX_K]; /* std over G batch pairs / √G */
};

int data_stats_compare(const struct recording *network, const struct recording *data, int batches,
                       int bins, struct data_stats *out, struct ddm_error *err);

/* ---- power spectra ---- */
struct data_spectra {
    int k, frequencies;  /* bins j = 1 … frequencies of the grid j / T_seg */
    double segment_time; /* T_seg */
    double *frequency;   /* (frequencies) in 1/time */
    double *power[2];    /* (k, frequencies): smoothed, each coordinate normalised to sum 1 */
    double hellinger[DDM_MAX_K], hellinger_mean;
    long segments[2];
};

/* Welch estimates with a Hann window and 50 % overlap: the data's segments hold `segment`
 * samples, the network's the same duration (rounded to its own Δ); bins up to the lower of the
 * two Nyquist frequencies; Gaussian smoothing of `smoothing` bins (0: none). */
int data_spectra_compare(const struct recording *network, const struct recording *data, int segment,
                         double smoothing, struct data_spectra *out, struct ddm_error *err);
void data_spectra_free(struct data_spectra *s);

/* Gaussian smoothing of `count` values over `sigma` bins (truncated kernel, renormalised at the
 * ends), then normalised to sum 1. In place. */
void data_spectrum_normalise(double *power, int count, double sigma);
/* sqrt(1 − Σ sqrt(p q)) of two normalised vectors. */
double data_hellinger(const double *p, const double *q, int count);

/* ---- state-space divergence ---- */
struct data_stsp {
    double dstsp;    /* KL(p_data ‖ p_network), nats */
    double bias;     /* its expectation for two independent samples of one law (iid floor) */
    int bins, pairs; /* bins per axis; pairs: 0 joint histogram, else coordinate pairs averaged */
    double outside;  /* share of the network's samples outside the data's range */
};

#define DATA_STSP_PSEUDOCOUNT 0.5 /* per bin, both sides (Krichevsky–Trofimov) */

int data_stsp_compare(const struct recording *network, const struct recording *data, int bins,
                      struct data_stsp *out, struct ddm_error *err);

/* ---- stochastic force inference ---- */
#define SFI_MAX_BASIS 165 /* monomials of total degree ≤ 3 in 8 variables */

struct sfi_result {
    int k, degree, basis; /* n_b monomials of (z − μ)/s up to total degree `degree` */
    double center[DDM_MAX_K], scale[DDM_MAX_K];
    double D[DDM_MAX_K * DDM_MAX_K]; /* ⟨Δz Δzᵀ⟩ / 2Δ */
    double *drift;                   /* (k, basis): f(z) = drift · b(z) */
    double phi, phi_err, phi_bias;   /* bias-corrected Φ, std over batches / √G, bias removed */
    double phi_uncorrected;
    double time; /* τ: the observed time in increments */
    long increments;
    int batches;
};

int sfi_infer(const struct recording *r, int degree, int batches, struct sfi_result *out,
              struct ddm_error *err);
/* The inferred drift at z (k). */
void sfi_drift_at(const struct sfi_result *s, const double *z, double *f);
void sfi_free(struct sfi_result *s);

/* ---- the analyze stage's comparison (host/analysis/analysis_data_run.c) ---- */
#define DATA_HELLINGER_WARN 0.1  /* D_H of two OU spectra whose rates differ by 1.5× */
#define DATA_STSP_WARN      0.05 /* KL of N(0,1) to N(0.32,1), or to N(0, 1.3²) */
#define DATA_SFI_DEGREE     2    /* polynomial basis of the force inference */
/* A statistic is called far only above this many times its value between two halves of the
 * held-out data (whose sampling noise is about twice that of network against data). */
#define DATA_FLOOR_FACTOR 1.5

/* What the closing summary prints (NaN where not computed). */
struct data_report {
    int done;
    int heldout_trajectories, held_out; /* held_out = 0: compared with all the data */
    long heldout_samples, network_samples;
    double network_dt, data_dt;
    double wasserstein_std[DDM_MAX_K], wasserstein_std_err[DDM_MAX_K];
    double wasserstein_floor[DDM_MAX_K]; /* W₁ between two halves of the held-out data */
    int worst; /* coordinate of the largest W₁, −1 when none is finite */
    double hellinger, hellinger_floor; /* floor: D_H between two halves of the held-out data */
    double dstsp, dstsp_bias, dstsp_floor, outside;
    double phi_data, phi_data_err;       /* SFI of all the data (fit and held-out parts) */
    double phi_network, phi_network_err; /* SFI of the network's record */
    double seconds;
    char notes[512]; /* parts left out and why */
};

/* Loads [system] data, holds out [system] data_holdout of it as recording_split does, reads
 * /simulate/latent of `file` after the burn-in fraction, and writes /analysis/data_comparison
 * into `group`. */
int analysis_data_run(const struct ddm_config *cfg, hid_t file, hid_t group,
                      struct data_report *report, struct ddm_error *err);

/* The summary's lines (with warnings); phi_identity: the network's
 * Φ from the sample identity with its learnt drift (NaN when not computed). */
void analysis_data_print(const struct ddm_system *sys, const struct data_report *r,
                         double phi_identity, double phi_identity_err);

#endif
