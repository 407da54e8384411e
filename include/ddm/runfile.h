/* runfile.h — the HDF5 file of one run, exactly in the layout of docs/design.md §7:
 *
 *   /          attrs format_version, ddm_version, git_commit, created, backend, device, seed,
 *              config, complete
 *   /system    attrs name, vars, drift, diffusion, k, m, and each parameter
 *   /model     Gamma (n,k), Ws (k,n), b (n), S (k,m), latent_mean (k), latent_scale (k);
 *              attrs tau, n, k [, V (k*m,n), c (k*m) for a state-dependent diffusion]
 *   /train     loss (epochs); attrs drift_rel_err, final_loss, seconds, ...
 *   /simulate  t (T), latent (B,T,k), target_latent (B,T,k), traces (Bt,T,nt),
 *              trace_neurons (nt) [, input (T,k) when [input] cues are given];
 *              attrs dt, steps, record_every, nonfinite
 *
 * The root attribute `complete` is 0 until the run ends cleanly, so a file from a killed or
 * failed run is never taken for a finished one; the /simulate datasets grow as the run goes.
 * Cluster runs add root attributes saying where the run stands among others (its sweep point,
 * its shard) and, while a signal has stopped it, a /checkpoint group (host/io/checkpoint.c).
 */
#ifndef DDM_RUNFILE_H
#define DDM_RUNFILE_H

#include <hdf5.h>

#include "ddm/h5schema.h"

#include "ddm/h5io.h"
#include "ddm/simulate.h"
#include "ddm/train.h"

/* The layout of the files this build writes (root attribute format_version). Readers refuse a
 * newer one (include/ddm/runfile_check.h); raise it when a change would mislead an older reader. */
#define DDM_FORMAT_VERSION 1

struct ddm_runfile {
    hid_t file;
    struct h5_stream t, latent, target, traces, input;
    int streaming;
    int live;      /* in SWMR mode: readers with swmr=True see /simulate grow */
    int live_lock; /* while live: a descriptor holding a shared flock on the file, which HDF5
                      drops in SWMR mode, so that --overwrite elsewhere refuses it (-1: none) */
    struct h5schema_simulate scales; /* the axes of /simulate (names NULL until it exists) */
    const char *scale_names[DDM_MAX_K];
};

/* Where a run stands among others, kept as root attributes: sweep_index, sweep_count,
 * sweep_assignment (with a [sweep]); shard_index, shard_count, first_trajectory,
 * trajectories_total (with --shard). */
struct ddm_run_place {
    long sweep_index; /* -1: no sweep */
    long sweep_count;
    char sweep_assignment[1024];
    int shard_index, shard_count; /* shard_count 0: the whole ensemble */
    uint64_t first_trajectory;
    int trajectories_total;
};

/* Creates the file and writes the root attributes. An existing file is refused, or replaced with
 * `overwrite` (include/ddm/output_file.h). */
int runfile_create(struct ddm_runfile *rf, const char *path, int overwrite,
                   const struct ddm_config *cfg, const char *command_line,
                   const struct ddm_backend *backend, struct ddm_error *err);
int runfile_write_system(struct ddm_runfile *rf, const struct ddm_system *sys,
                         struct ddm_error *err);
int runfile_write_model(struct ddm_runfile *rf, const struct ddm_model *model,
                        struct ddm_error *err);
int runfile_write_train(struct ddm_runfile *rf, const struct ddm_train_report *report,
                        struct ddm_error *err);

/* Creates the /simulate group and its growing datasets. */
int runfile_simulate_begin(struct ddm_runfile *rf, const struct ddm_config *cfg,
                           const struct ddm_sim_layout *layout, struct ddm_error *err);
/* A sim_sink_fn: appends a chunk to every /simulate dataset and flushes the file. */
int runfile_simulate_append(void *rf, const struct sim_chunk *chunk, struct ddm_error *err);
/* Names the axes of /simulate (dimension scales) and describes every object so far; with `live`
 * ([output] live = true) it then starts SWMR writing: from here on `h5py.File(path, "r",
 * swmr=True)` reads the run while it grows. A file that cannot go live (the older format of a
 * run that was not live) is written on as before. */
int runfile_simulate_live(struct ddm_runfile *rf, const struct ddm_system *sys,
                          const struct ddm_sim_layout *layout, int live, struct ddm_error *err);
/* Ends SWMR writing (the file is closed and reopened read-write), so the later stages can add
 * objects and attributes again. Nothing happens when the file is not live. */
int runfile_simulate_unlive(struct ddm_runfile *rf, struct ddm_error *err);
/* Attributes <prefix>_candidates, _refused_nonfinite, _refused_past_bound and
 * _refused_outside_region of `group`: the start procedure's counts (ddm/starts.h). */
int runfile_start_report(hid_t group, const char *prefix, const struct start_report *r,
                         struct ddm_error *err);
int runfile_simulate_end(struct ddm_runfile *rf, const struct ddm_sim_report *report,
                         struct ddm_error *err);

int runfile_write_place(struct ddm_runfile *rf, const struct ddm_run_place *place,
                        struct ddm_error *err);
/* Reads the place of a run file's root (absent attributes: no sweep, no shard). */
int runfile_read_place(hid_t file, struct ddm_run_place *place, struct ddm_error *err);

/* Copies /train of the --model file, when it has one, so a run on a trained model keeps its
 * training record; and names the file in the root attribute model_file. */
int runfile_copy_train(struct ddm_runfile *rf, const char *model_path, struct ddm_error *err);

/* Opens a stopped run's file for --resume, read-write (the /simulate streams are reopened by
 * runfile_simulate_reopen); the file has been checked read-only before (runfile_open_read). */
int runfile_open(struct ddm_runfile *rf, const char *path, struct ddm_error *err);
/* Reopens the /simulate datasets of the file, cut back to `recorded` times (a hard kill after
 * the checkpoint may have left more). */
int runfile_simulate_reopen(struct ddm_runfile *rf, long recorded, struct ddm_error *err);

/* FNV-1a over the raw bytes of every /model dataset and its tau: equal files hold one model. */
int runfile_model_hash(hid_t file, uint64_t *hash, struct ddm_error *err);

/* Sets `complete` and closes. */
int runfile_close(struct ddm_runfile *rf, int complete, struct ddm_error *err);

/* Reads /model of a run file into a model (for --model and --stages without train); the file is
 * checked first and opened read-only (runfile_open_read). */
int runfile_read_model(const char *path, struct ddm_model *model, struct ddm_error *err);
/* The same from an open file (`path` names it in messages). */
int runfile_read_model_from(hid_t file, const char *path, struct ddm_model *model,
                            struct ddm_error *err);

/* A system learnt from data (host/io/data_output.c): the data's source (path, dataset, dt, B,
 * samples, size, hash) as attributes of /system, and the fit's noise floor, D̂ and σ_obs² as
 * attributes of /train. */
struct recording;
int runfile_write_data_source(hid_t system, const struct recording *r, struct ddm_error *err);
int runfile_write_data_fit(hid_t train, const struct ddm_train_report *report,
                           struct ddm_error *err);

/* Reading /simulate back (host/io/runfile_simulate.c). */
/* Shape of /simulate/latent (B,T,k); *present = 0 when the file has no /simulate. */
int runfile_simulate_shape(hid_t file, int *present, int *B, long *T, int *k,
                           struct ddm_error *err);

/* Receives times [t, t + count) (t counted from `first`) of all trajectories: z (B,count,k). */
typedef void (*runfile_slab_fn)(void *user, const float *z, int count, long t);

/* Streams /simulate/<dataset> ("latent" or "target_latent") from recorded time `first` on. */
int runfile_simulate_scan(hid_t file, const char *dataset, long first, runfile_slab_fn fn,
                          void *user, struct ddm_error *err);

/* /simulate/t (T), allocated. */
int runfile_simulate_times(hid_t file, double **t, long *T, struct ddm_error *err);

#endif
