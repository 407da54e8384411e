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

#endif
