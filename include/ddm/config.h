/* config.h — the run configuration: every INI key of docs/design.md §7, with its default and range.
 *
 * One table (host/config/config_keys.c) lists each key once: section, name, type, default, range
 * and the help line. Loading, `--set section.key=value`, `--help`, the README key list and the
 * effective configuration stored in the HDF5 file all come from that table, so they cannot drift
 * apart. Errors name the file and line (or the --set argument) and the nearest valid key.
 */
#ifndef DDM_CONFIG_H
#define DDM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "ddm/error.h"

enum sampling_mode { SAMPLING_PATHS, SAMPLING_BOX, SAMPLING_BOTH };
enum lr_schedule { SCHEDULE_COSINE, SCHEDULE_STEP, SCHEDULE_CONSTANT };
enum sim_init { INIT_MANIFOLD, INIT_OFF_MANIFOLD };
/* What a network trajectory that blows up does to the run ([simulate] on_nonfinite). */
enum nonfinite_policy { NONFINITE_STOP, NONFINITE_DROP, NONFINITE_KEEP };
enum backend_choice { BACKEND_AUTO, BACKEND_CPU, BACKEND_CUDA };
/* [system] data_drift: the forward stencil of the Kramers–Moyal drift (bias O(Δ), O(Δ²), O(Δ³)) */
enum data_drift_order { DATA_DRIFT_FIRST, DATA_DRIFT_SECOND, DATA_DRIFT_THIRD };
/* The value of a number key written as "auto" (keys whose table row has choices "auto"; their
 * valid numbers are all >= 0): the engine chooses it and reports the choice. */
#define DDM_AUTO (-1)

/* One line of [sweep] as written: "section.key = v1, v2, ..." or "mode = grid|zip". The lists
 * are read by host/config/sweep.c; [sweep] is not part of the effective configuration. */
struct ddm_sweep_entry {
    char *name; /* "section.key" or "mode" */
    char *text; /* the value, continuation lines joined */
    int line;   /* in the INI file */
};

struct ddm_config {
    /* [system] the target SDE dz = f(z) dt + σ(z) dB */
    char *system_name;      /* built-in name, or a label for an expression system */
    char *vars;             /* "x, y, z" */
    char *drift;            /* k expressions separated by ';' */
    char *params;           /* "a=1, b=2" */
    char *define;           /* "S(u) = 1/(1+exp(-u)); r = sqrt(x^2+y^2)" */
    char *diffusion;        /* one scalar, or k expressions (diagonal σ) */
    char *diffusion_matrix; /* k rows separated by ';', m entries each separated by ',' */
    char *patterns;         /* wells: K rows of k numbers separated by ';' */
    /* a system known from recorded trajectories (docs/from_data.md; empty data: equations) */
    char *data_path;     /* .h5/.hdf5, .npy or .csv file of the recording */
    char *data_dataset;  /* HDF5 only: the dataset; empty: the only one in the file */
    double data_dt;      /* sampling interval Δ (DDM_AUTO: the dataset's attribute dt) */
    char *data_noise;    /* measurement noise σ_obs: "0", "estimate" or a number */
    double data_holdout; /* share of whole trajectories (or time blocks) held out */
    int data_drift;      /* drift estimator: enum data_drift_order (bias O(Δ^order)) */

    /* [network] */
    int neurons;      /* n (DDM_AUTO: grown until ε_f <= target_drift_error) */
    double tau;       /* time constant, in the target's time units */
    uint64_t seed;    /* seeds everything (streams derived per use) */
    double init_gain; /* g: Γ̂ ~ N(0, g²/k) (DDM_AUTO: chosen by held-out ε_f) */
    double init_bias; /* g_b: b ~ U(-g_b, g_b) (DDM_AUTO: chosen by held-out ε_f) */

    /* [train] */
    int samples;         /* M, training + test points */
    int sampling;        /* enum sampling_mode */
    int epochs;          /* Adam epochs after the ridge start (0: ridge only) */
    int batch;           /* mini-batch size */
    double lr;           /* peak Adam learning rate */
    int schedule;        /* enum lr_schedule */
    double weight_decay; /* decoupled (AdamW) weight decay */
    double ridge;        /* λ of the ridge start, relative to the mean Gram diagonal */
    double target_loss;  /* stop early when the training loss falls below this */
    double jitter;       /* Gaussian jitter of path points, as a fraction of the scale s */
    /* margin points at mean + margin·(z − mean) of each training point (1: none; DDM_AUTO) */
    double margin;
    double test_fraction; /* held-out share of the points */
    int paths;            /* number of target paths */
    double path_dt;      /* Euler–Maruyama step of the target paths (DDM_AUTO: from the system) */
    double path_time;    /* recorded time per path */
    double path_burn_in; /* time dropped at the start of each path */
    double path_bound;   /* a path leaving |z_i| <= bound is dropped */
    char *box;           /* "lo:hi, lo:hi, ..." for box sampling; empty: padded path range */
    char *path_start;    /* where paths start: "z1, ..." or "lo:hi, ..."; empty: [simulate] start
                            or N(0, I) */
    double target_drift_error; /* held-out ε_f that neurons = auto grows n to reach */
    int gauss_newton; /* Gauss–Newton rounds on (Γ̂, b) after the ridge start (0: none; DDM_AUTO) */

    /* [simulate] */
    int trajectories;       /* B */
    double dt;              /* Euler–Maruyama step */
    long steps;             /* recorded steps after the burn-in */
    int record_every;       /* r */
    long burn_in;           /* unrecorded steps first */
    int trace_trajectories; /* Bt */
    int trace_neurons;      /* nt */
    int init;               /* enum sim_init */
    double init_offset;     /* size of the off-manifold displacement */
    char *start;            /* latent start point "z1, z2, ..."; empty: points of the attractor */
    double neuron_noise;    /* σ_n of independent per-neuron noise */
    int on_nonfinite;       /* enum nonfinite_policy */
    double blowup_bound;    /* |ẑ_c| above this (latent scales from μ) is a blow-up; 0: off */

    /* [analysis] (docs/design.md §5) */
    int pca;                  /* leading explained-variance ratios kept (0: no PCA) */
    int pca_trajectories;     /* network trajectories simulated for the PCA */
    int pca_samples;          /* states kept per PCA trajectory */
    int pca_every;            /* steps between kept states */
    char *bounds;             /* "lo:hi, ..." per coordinate for the grids; empty: visited region */
    int decomposition_grid;   /* points per axis of the symmetric/asymmetric split (0: off) */
    char *decomposition_axes; /* names of the 1..3 variables spanning it; empty: automatic */
    char *decomposition_at;   /* "z1, ..., zk": values of the other variables; empty: the mean */
    int hhd_grid;             /* points per axis of the density grid (0: off) */
    double hhd_bandwidth;     /* KDE kernel std / coordinate std (0: held-out choice) */
    double hhd_cut;           /* fields and grid Φ where p >= cut * max p */
    double burn_in_fraction;  /* share of each recorded trajectory dropped first */
    int batches;              /* G independent batches for the error bars */
    int max_samples;          /* samples per process at which f and ∇·f are evaluated for Φ */
    long lyapunov_steps;      /* RK4 steps averaged per start (0: off) */
    long lyapunov_transient;  /* RK4 steps discarded first */
    double lyapunov_dt;       /* RK4 step */
    int lyapunov_starts;      /* starts per process */
    double lyapunov_precision; /* runs doubled (≤ LYAPUNOV_LONGEST × steps) until the standard
                                * error of λ₁ ≤ this × |λ₁|; 0: exactly lyapunov_steps */
    int stats_bins;            /* bins of the stored marginal histograms */
    double recall_delay;       /* memory: recall scored this long after a cue ends */
    double well_radius;        /* memory: capture radius of a well (0: automatic) */
    int fixed_point_seeds;     /* Newton seeds of the fixed-point search (0: off) */
    double fixed_point_match;  /* match distance, in scales of the visited region */

    /* [input] */
    char *cues;          /* cue schedule, see include/ddm/input.h */
    double cue_strength; /* default strength of a cue */

    /* [output] */
    char *output_path;
    int output_live; /* 1: the simulation is written in SWMR mode (readable while it runs) */

    /* [run] */
    int backend;         /* enum backend_choice */
    int threads;         /* OpenMP threads, 0 = all cores */
    int device;          /* CUDA device index */
    double memory_limit; /* GiB this run may take, 0: what the machine allows (ddm/limits.h) */

    /* [sweep] */
    struct ddm_sweep_entry *sweep; /* (sweep_count) entries as written */
    int sweep_count;

    /* Where the values came from, for messages and for the HDF5 file. */
    char *source_path; /* the INI file */
    char *source_text; /* its full text */
    int *key_lines;    /* (number of keys) line of each key in the file; 0: not there */

    /* The structured strings above as typed values (ddm/plan.h), set by config_resolve once the
     * system is known; NULL before. Copies of the struct share it, as they share the strings. */
    struct ddm_plan *plan;
};

/* Sets every key to its default (strings allocated). */
int config_defaults(struct ddm_config *cfg, struct ddm_error *err);

/* Loads an INI file on top of the defaults. */
int config_load(struct ddm_config *cfg, const char *path, struct ddm_error *err);

/* Parses INI text (from a file named `label`, for messages) on top of the current values. */
int config_load_text(struct ddm_config *cfg, const char *text, const char *label,
                     struct ddm_error *err);

/* Applies "section.key=value" (the --set option). */
int config_set(struct ddm_config *cfg, const char *assignment, struct ddm_error *err);

/* Sets [section] key from its text as the loader would; `where` starts each message ("file:7:
 * [sweep] value 2"), and `line` is recorded as the key's line (-1: the command line). Unknown
 * sections and keys are answered with the nearest valid one. */
int config_assign(struct ddm_config *cfg, const char *section, const char *key, const char *value,
                  const char *where, int line, struct ddm_error *err);

/* The value of [section] key as text (reals to 15 digits: for file names and messages);
 * -1 when there is no such key. */
int config_value_text(const struct ddm_config *cfg, const char *section, const char *key, char *buf,
                      size_t len);

/* How many sections have a key of this name; *section is one of them. */
int config_key_section(const char *key, const char **section);

/* Compares two effective configurations (config_to_ini text) key by key, ignoring [output] and
 * [run] (where a run writes and on which threads or device do not change its numbers). Returns 0
 * when they agree, else 1 with the first difference in `what`: "[network] seed = 6 vs 5". */
int config_ini_compare(const char *a, const char *b, char *what, size_t len);
/* A hash of what config_ini_compare compares: equal configurations, equal fingerprints. */
uint64_t config_ini_fingerprint(const char *ini);

/* Line of `section.key` in the loaded file, or 0 when the key was not in the file. */
int config_line(const struct ddm_config *cfg, const char *section, const char *key);

/* "lorenz.ini:7" when the key is in the file, "--set/default" otherwise: for messages about
 * values that are checked after loading (expressions, dimensions). */
void config_where(const struct ddm_config *cfg, const char *section, const char *key, char *buf,
                  size_t len);

/* Parses `text`, the value of [section] key, as k ranges "lo:hi, lo:hi, ..." with finite
 * lo < hi (a box, grid bounds). Errors name the key's file and line. */
int config_ranges(const struct ddm_config *cfg, const char *section, const char *key,
                  const char *text, int k, double *lo, double *hi, struct ddm_error *err);

/* Parses `text`, the value of [section] key, as k constant expressions "v1, ..., vk". */
int config_numbers(const struct ddm_config *cfg, const char *section, const char *key,
                   const char *text, int k, double *values, struct ddm_error *err);

/* Writes the effective configuration (every key with its value) as INI text. */
char *config_to_ini(const struct ddm_config *cfg);

/* Prints the key reference (the part of --help about the INI file). */
void config_print_help(FILE *out);

void config_free(struct ddm_config *cfg);

#endif
