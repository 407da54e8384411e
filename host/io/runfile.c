/* runfile.c — writing (and reading back the model of) the HDF5 file of a run, docs/design.md §7:
 * the root attributes, /system, /model, /train, the streamed /simulate, the place of a cluster run
 * among others, and the reopening of a stopped run's file for --resume. */
#include "ddm/runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifdef DDM_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "ddm/output_file.h"
#include "ddm/runfile_check.h"
#include "ddm/trust.h"

#include "ddm/blowup.h"

#include "ddm/h5schema.h"
#include "ddm/h5space.h"

char *openblas_get_config(void); /* OpenBLAS's own: version, build options, core */

#define F32 H5T_IEEE_F32LE
#define F64 H5T_IEEE_F64LE

/* The host and the libraries that made the file, as root attributes: a number can then be traced
 * to the build that gave it. */
static int write_versions(hid_t file, struct ddm_error *err) {
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    char hdf5[32], os[400] = "unknown";
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", major, minor, release);
    struct utsname host;
    if (!uname(&host))
        snprintf(os, sizeof os, "%s %s %s (%s)", host.sysname, host.release, host.machine,
                 host.nodename);
    int code = h5_attr_string(file, H5N_HDF5_VERSION, hdf5, err);
    if (!code) code = h5_attr_string(file, H5N_OPENBLAS_VERSION, openblas_get_config(), err);
    if (!code) code = h5_attr_string(file, H5N_COMPILER, "gcc-compatible " __VERSION__, err);
    if (!code) code = h5_attr_string(file, H5N_OS, os, err);
#ifdef DDM_WITH_CUDA
    int runtime = 0, driver = 0; /* 12040: CUDA 12.4; 0 when no driver is installed */
    if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
    if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
    if (!code) code = h5_attr_int(file, H5N_CUDA_RUNTIME_VERSION, runtime, err);
    if (!code) code = h5_attr_int(file, H5N_CUDA_DRIVER_VERSION, driver, err);
#endif
    return code;
}

int runfile_create(struct ddm_runfile *rf, const char *path, int overwrite,
                   const struct ddm_config *cfg, const char *command_line,
                   const struct ddm_backend *backend, struct ddm_error *err) {
    memset(rf, 0, sizeof *rf);
    rf->live_lock = -1;
    rf->t.dataset = rf->latent.dataset = rf->target.dataset = rf->traces.dataset = -1;
    rf->input.dataset = -1;
    int code =
        output_create(path, overwrite, "--output another path", cfg->output_live, &rf->file, err);
    if (code) return code;
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
    char *ini = config_to_ini(cfg);
    char what[4200];
    snprintf(what, sizeof what, "creating the output file '%s'", path);
    code =
        ini ? h5space_reserve(rf->file, strlen(ini) + strlen(command_line) + (1u << 16), what, err)
            : ddm_fail(err, DDM_ERUNTIME, "out of memory");
    if (!code) code = h5_attr_int(rf->file, H5N_FORMAT_VERSION, DDM_FORMAT_VERSION, err);
    if (!code) code = h5_attr_string(rf->file, H5N_DDM_VERSION, DDM_VERSION, err);
    if (!code) code = h5_attr_string(rf->file, H5N_GIT_COMMIT, DDM_GIT_COMMIT, err);
    if (!code) code = h5_attr_string(rf->file, H5N_CREATED, created, err);
    if (!code) code = h5_attr_string(rf->file, H5N_BACKEND, backend->name, err);
    if (!code) code = h5_attr_string(rf->file, H5N_DEVICE, backend->device, err);
    if (!code) code = h5_attr_uint64(rf->file, H5N_SEED, cfg->seed, err);
    if (!code) code = h5_attr_string(rf->file, H5N_CONFIG, ini, err);
    if (!code) code = h5_attr_string(rf->file, H5N_CONFIG_FILE, cfg->source_path, err);
    if (!code) code = h5_attr_string(rf->file, H5N_COMMAND_LINE, command_line, err);
    if (!code) code = h5_attr_int(rf->file, H5N_COMPLETE, 0, err);
    if (!code) code = write_versions(rf->file, err);
    if (!code) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    free(ini);
    if (code) {
        /* a file without its header holds nothing of the run (a disk without room even for
         * that and the margin): it is not kept */
        h5space_discard(rf->file, path);
        rf->file = -1;
        char said[sizeof err->message];
        snprintf(said, sizeof said, "%s", err->message);
        ddm_fail(err, code, "%s; the file was removed", said);
    }
    return code;
}

/* /system/params: one attribute per [system] params entry, apart from /system's own attributes
 * (a parameter named k once overwrote the latent dimension there). Files before this group hold
 * the parameters as /system attributes. A name is written once: one already there is refused. */
static int write_params(hid_t system, const struct ddm_system *sys, struct ddm_error *err) {
    hid_t group = h5_group(system, H5N_PARAMS, err);
    if (group < 0) return DDM_ERUNTIME;
    int code = DDM_OK;
    for (int p = 0; p < sys->nparams && !code; p++) {
        if (H5Aexists(group, sys->param_names[p]) > 0)
            code = ddm_fail(err, DDM_EUSAGE, "[system] params: '%s' is given twice",
                            sys->param_names[p]);
        if (!code) code = h5_attr_double(group, sys->param_names[p], sys->param_values[p], err);
    }
    H5Gclose(group);
    return code;
}

int runfile_write_system(struct ddm_runfile *rf, const struct ddm_system *sys,
                         struct ddm_error *err) {
    hid_t group = h5_group(rf->file, H5N_SYSTEM, err);
    if (group < 0) return DDM_ERUNTIME;
    int code = h5_attr_string(group, H5N_NAME, sys->name, err);
    if (!code) code = h5_attr_string(group, H5N_VARS, sys->vars_text, err);
    if (!code) code = h5_attr_string(group, H5N_DRIFT, sys->drift_text, err);
    if (!code) code = h5_attr_string(group, H5N_DIFFUSION, sys->diffusion_text, err);
    if (!code) code = h5_attr_int(group, H5N_K, sys->k, err);
    if (!code) code = h5_attr_int(group, H5N_M, sys->m, err);
    if (!code) code = write_params(group, sys, err);
    const char *names[DDM_MAX_K];
    for (int c = 0; c < sys->k; c++) names[c] = sys->var_names[c];
    if (!code) code = h5schema_write_names(group, H5N_VARIABLES, names, sys->k, err);
    if (!code && sys->recording) code = runfile_write_data_source(group, sys->recording, err);
    H5Gclose(group);
    return code;
}

int runfile_write_model(struct ddm_runfile *rf, const struct ddm_model *model,
                        struct ddm_error *err) {
    hid_t group = h5_group(rf->file, H5N_MODEL, err);
    if (group < 0) return DDM_ERUNTIME;
    const hsize_t n = model->n, k = model->k, km = (hsize_t)model->k * model->m;
    hsize_t nk[2] = {n, k}, kn[2] = {k, n}, km2[2] = {k, (hsize_t)model->m}, vn[2] = {km, n};
    int code = h5_write(group, H5N_GAMMA, F32, H5T_NATIVE_FLOAT, 2, nk, model->Gamma, "(n,k)", err);
    if (!code)
        code = h5_write(group, H5N_WS, F32, H5T_NATIVE_FLOAT, 2, kn, model->Ws, "(k,n)", err);
    if (!code) code = h5_write(group, H5N_B, F32, H5T_NATIVE_FLOAT, 1, &n, model->b, "(n)", err);
    if (!code && model->S)
        code = h5_write(group, H5N_S, F32, H5T_NATIVE_FLOAT, 2, km2, model->S, "(k,m)", err);
    if (!code && model->V) {
        code = h5_write(group, H5N_V, F32, H5T_NATIVE_FLOAT, 2, vn, model->V, "(k*m,n)", err);
        if (!code)
            code = h5_write(group, H5N_C, F32, H5T_NATIVE_FLOAT, 1, &km, model->c, "(k*m)", err);
    }
    if (!code)
        code = h5_write(group, H5N_LATENT_MEAN, F64, H5T_NATIVE_DOUBLE, 1, &k, model->latent_mean,
                        "(k)", err);
    if (!code)
        code = h5_write(group, H5N_LATENT_SCALE, F64, H5T_NATIVE_DOUBLE, 1, &k, model->latent_scale,
                        "(k)", err);
    if (!code) code = h5_attr_double(group, H5N_TAU, model->tau, err);
    if (!code) code = h5_attr_int(group, H5N_N, model->n, err);
    if (!code) code = h5_attr_int(group, H5N_K, model->k, err);
    if (!code) code = h5_attr_int(group, H5N_M, model->m, err);
    if (!code)
        code = h5_attr_string(group, H5N_READOUT,
                              "z = latent_mean + latent_scale * pinv(Gamma) (x - b)", err);
    H5Gclose(group);
    if (!code) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    return code;
}

/* ε_f on fresh target paths after each stage, and how many points (none: no attributes). */
static int runfile_write_fresh(hid_t group, const struct ddm_train_report *report,
                               struct ddm_error *err) {
    if (report->M_fresh == 0) return DDM_OK;
    int code = h5_attr_int(group, H5N_FRESH_POINTS, report->M_fresh, err);
    if (!code) code = h5_attr_double(group, H5N_FRESH_DRIFT_REL_ERR, report->fresh_rel_err, err);
    if (!code)
        code =
            h5_attr_double(group, H5N_RIDGE_FRESH_DRIFT_REL_ERR, report->ridge_fresh_rel_err, err);
    if (!code)
        code = h5_attr_double(group, H5N_GAUSS_NEWTON_FRESH_DRIFT_REL_ERR, report->gn_fresh_rel_err,
                              err);
    if (!code) code = h5_attr_double(group, H5N_FRESH_WORST_SHARE, report->fresh_worst_share, err);
    return code;
}

int runfile_write_train(struct ddm_runfile *rf, const struct ddm_train_report *report,
                        struct ddm_error *err) {
    hid_t group = h5_group(rf->file, H5N_TRAIN, err);
    if (group < 0) return DDM_ERUNTIME;
    hsize_t epochs = report->epochs_run;
    int code = h5_write(group, H5N_LOSS, F64, H5T_NATIVE_DOUBLE, 1, &epochs, report->loss,
                        "(epochs)", err);
    if (!code) code = h5_attr_double(group, H5N_DRIFT_REL_ERR, report->drift_rel_err, err);
    if (!code)
        code = h5_attr_string(group, H5N_FIT_VERDICT,
                              trust_fit_verdict(train_worst_drift_error(report)), err);
    if (!code) code = h5_attr_double(group, H5N_FIT_WARN_ABOVE, DDM_FIT_WARN, err);
    if (!code) code = h5_attr_double(group, H5N_FINAL_LOSS, report->final_loss, err);
    if (!code) code = h5_attr_double(group, H5N_SECONDS, report->seconds, err);
    if (!code) code = h5_attr_double(group, H5N_RIDGE_DRIFT_REL_ERR, report->ridge_rel_err, err);
    if (!code) code = h5_attr_double(group, H5N_DIFFUSION_REL_ERR, report->diffusion_rel_err, err);
    if (!code) code = h5_attr_int(group, H5N_TRAIN_POINTS, report->M_train, err);
    if (!code) code = h5_attr_int(group, H5N_TEST_POINTS, report->M_test, err);
    if (!code) code = h5_attr_double(group, H5N_MARGIN, report->margin, err);
    if (!code) code = h5_attr_int(group, H5N_MARGIN_POINTS, report->M_margin, err);
    if (!code && report->margin_trial_with > 0)
        code = h5_attr_double(group, H5N_MARGIN_TRIAL_WITH, report->margin_trial_with, err);
    if (!code && report->margin_trial_without > 0)
        code = h5_attr_double(group, H5N_MARGIN_TRIAL_WITHOUT, report->margin_trial_without, err);
    if (!code) code = h5_attr_int(group, H5N_PATHS_DROPPED, report->paths_dropped, err);
    if (!code) code = h5_attr_double(group, H5N_PATH_DT, report->path_dt, err);
    if (!code) code = h5_attr_int(group, H5N_NEURONS, report->neurons, err);
    if (!code) code = h5_attr_double(group, H5N_INIT_GAIN, report->init_gain, err);
    if (!code) code = h5_attr_double(group, H5N_INIT_BIAS, report->init_bias, err);
    if (!code) code = h5_attr_int(group, H5N_FINETUNE_ROUNDS_KEPT, report->rounds_accepted, err);
    if (!code) code = h5_attr_int(group, H5N_FINETUNE_ROUNDS_UNDONE, report->rounds_rejected, err);
    if (!code) code = h5_attr_int(group, H5N_FINETUNE_STOPPED_EARLY, report->stopped_early, err);
    if (!code) code = runfile_write_data_fit(group, report, err);
    if (!code) code = h5_attr_int(group, H5N_GAUSS_NEWTON_ROUNDS_KEPT, report->gn_rounds_kept, err);
    if (!code)
        code = h5_attr_int(group, H5N_GAUSS_NEWTON_ROUNDS_UNDONE, report->gn_rounds_undone, err);
    if (!code)
        code = h5_attr_double(group, H5N_GAUSS_NEWTON_DRIFT_REL_ERR, report->gn_rel_err, err);
    if (!code) code = runfile_write_fresh(group, report, err);
    H5Gclose(group);
    if (!code) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    return code;
}

int runfile_simulate_begin(struct ddm_runfile *rf, const struct ddm_config *cfg,
                           const struct ddm_sim_layout *layout, struct ddm_error *err) {
    hid_t group = h5_group(rf->file, H5N_SIMULATE, err);
    if (group < 0) return DDM_ERUNTIME;
    const hsize_t B = layout->B, k = layout->k, Bt = layout->trace_B, nt = layout->trace_n;
    /* chunks of up to 64 trajectories × 256 times: reading one trajectory or one time slice
     * touches few chunks either way */
    const hsize_t chunk_B = B < 64 ? B : 64, chunk_T = 256;
    hsize_t dims3[3] = {B, 0, k}, chunk3[3] = {chunk_B, chunk_T, k};
    hsize_t dims_t[1] = {0}, chunk_t[1] = {4096};
    int code = h5_stream_create(group, H5N_T, F64, H5T_NATIVE_DOUBLE, 1, dims_t, 0, chunk_t, "(T)",
                                &rf->t, err);
    if (!code)
        code = h5_stream_create(group, H5N_LATENT, F32, H5T_NATIVE_FLOAT, 3, dims3, 1, chunk3,
                                "(B,T,k)", &rf->latent, err);
    if (!code)
        code = h5_stream_create(group, H5N_TARGET_LATENT, F32, H5T_NATIVE_FLOAT, 3, dims3, 1,
                                chunk3, "(B,T,k)", &rf->target, err);
    if (!code) {
        hsize_t tdims[3] = {Bt, 0, nt};
        hsize_t tchunk[3] = {Bt ? Bt : 1, chunk_T, nt ? nt : 1};
        code = h5_stream_create(group, H5N_TRACES, F32, H5T_NATIVE_FLOAT, 3, tdims, 1, tchunk,
                                "(Bt,T,nt)", &rf->traces, err);
    }
    if (!code && cfg->cues[0]) {
        hsize_t idims[2] = {0, k}, ichunk[2] = {chunk_T * 16, k};
        code = h5_stream_create(group, H5N_INPUT, F32, H5T_NATIVE_FLOAT, 2, idims, 0, ichunk,
                                "(T,k)", &rf->input, err);
        if (!code) code = h5_attr_string(rf->input.dataset, H5N_CUES, cfg->cues, err);
    }
    if (!code) {
        hsize_t nt_dims = nt;
        code = h5_write(group, H5N_TRACE_NEURONS, H5T_STD_I32LE, H5T_NATIVE_INT, 1, &nt_dims,
                        layout->trace_neurons, "(nt)", err);
    }
    if (!code) code = h5_attr_double(group, H5N_DT, cfg->dt, err);
    if (!code) code = h5_attr_int(group, H5N_STEPS, cfg->steps, err);
    if (!code) code = h5_attr_int(group, H5N_RECORD_EVERY, cfg->record_every, err);
    if (!code) code = h5_attr_int(group, H5N_BURN_IN, cfg->burn_in, err);
    if (!code) code = h5_attr_int(group, H5N_NONFINITE, 0, err);
    if (!code)
        code = h5_attr_string(group, H5N_ON_NONFINITE, blowup_policy_name(cfg->on_nonfinite), err);
    if (!code) code = h5_attr_double(group, H5N_BLOWUP_BOUND, cfg->blowup_bound, err);
    if (!code)
        code =
            h5_attr_string(group, H5N_TRACES_QUANTITY, "x, the neuron state (rates: tanh(x))", err);
    H5Gclose(group);
    rf->streaming = !code;
    return code;
}

int runfile_simulate_append(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    struct ddm_runfile *rf = user;
    /* the whole block's space first: a block that does not fit is not begun, so the file keeps
     * every block before it and nothing of this one */
    const hsize_t count = chunk->count;
    uint64_t bytes = h5_stream_bound(&rf->t, count) + h5_stream_bound(&rf->latent, count) +
                     h5_stream_bound(&rf->target, count);
    if (chunk->trace_B > 0 && chunk->trace_n > 0) bytes += h5_stream_bound(&rf->traces, count);
    if (chunk->input && rf->input.dataset >= 0) bytes += h5_stream_bound(&rf->input, count);
    char what[128];
    snprintf(what, sizeof what, "writing recorded times %ld to %ld of /simulate", chunk->first,
             chunk->first + chunk->count - 1);
    int code = h5space_reserve(rf->file, bytes, what, err);
    if (!code) code = h5_stream_append(&rf->t, chunk->count, chunk->t, err);
    if (!code) code = h5_stream_append(&rf->latent, chunk->count, chunk->latent, err);
    if (!code) code = h5_stream_append(&rf->target, chunk->count, chunk->target, err);
    if (!code && chunk->trace_B > 0 && chunk->trace_n > 0)
        code = h5_stream_append(&rf->traces, chunk->count, chunk->traces, err);
    if (!code && chunk->input && rf->input.dataset >= 0)
        code = h5_stream_append(&rf->input, chunk->count, chunk->input, err);
    if (!code) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    return code;
}

static void live_lock_drop(struct ddm_runfile *rf) {
    if (rf->live_lock >= 0) close(rf->live_lock);
    rf->live_lock = -1;
}

/* HDF5 gives up its flock on the file when it starts SWMR writing; a shared one held here keeps
 * output_check's test (--overwrite in another process) refusing the file while it grows. Best
 * effort: without it the run goes on as before. */
static void live_lock_take(struct ddm_runfile *rf) {
    char path[4096];
    ssize_t len = H5Fget_name(rf->file, path, sizeof path);
    if (len <= 0 || (size_t)len >= sizeof path) return;
    rf->live_lock = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rf->live_lock >= 0 && flock(rf->live_lock, LOCK_SH | LOCK_NB) != 0) live_lock_drop(rf);
}

int runfile_simulate_live(struct ddm_runfile *rf, const struct ddm_system *sys,
                          const struct ddm_sim_layout *layout, int live, struct ddm_error *err) {
    rf->scales = (struct h5schema_simulate){.first_trajectory = (long)layout->first,
                                            .trajectories = layout->B,
                                            .traced = layout->trace_B,
                                            .k = sys->k};
    for (int c = 0; c < sys->k; c++) rf->scale_names[c] = sys->var_names[c];
    rf->scales.names = rf->scale_names;
    hid_t group = H5Gopen2(rf->file, H5N_SIMULATE, H5P_DEFAULT);
    int code = H5_CHECK(group, "/" H5N_SIMULATE, err);
    if (!code) code = h5schema_simulate_scales(group, &rf->scales, err);
    if (group >= 0) H5Gclose(group);
    if (!code) code = h5schema_describe_file(rf->file, err);
    if (!code) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    if (code || !live) return code;
    /* every object and attribute of the simulation exists now: SWMR allows no new ones. A file
     * of the older format (resumed from a run that was not live) stays as it is. */
    rf->live = H5Fset_libver_bounds(rf->file, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0 &&
               H5Fstart_swmr_write(rf->file) >= 0;
    H5Eclear2(H5E_DEFAULT);
    if (rf->live) live_lock_take(rf);
    return DDM_OK;
}

int runfile_simulate_unlive(struct ddm_runfile *rf, struct ddm_error *err) {
    if (!rf->live) return DDM_OK;
    char path[4096];
    ssize_t len = H5Fget_name(rf->file, path, sizeof path);
    h5_stream_close(&rf->t);
    h5_stream_close(&rf->latent);
    h5_stream_close(&rf->target);
    h5_stream_close(&rf->traces);
    h5_stream_close(&rf->input);
    rf->live = 0;
    live_lock_drop(rf); /* before HDF5 reopens the file and takes its own lock */
    int code = H5_CHECK(H5Fclose(rf->file), "closing the live file", err);
    rf->file = -1;
    if (code) return code;
    if (len <= 0 || (size_t)len >= sizeof path)
        return ddm_fail(err, DDM_ERUNTIME, "the output file's name is too long to reopen it");
    rf->file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    return H5_CHECK(rf->file, "reopening the output file after the simulation", err);
}

int runfile_start_report(hid_t group, const char *prefix, const struct start_report *r,
                         struct ddm_error *err) {
    static const char *const what[4] = {H5N_CANDIDATES, H5N_REFUSED_NONFINITE,
                                        H5N_REFUSED_PAST_BOUND, H5N_REFUSED_OUTSIDE_REGION};
    const long counts[4] = {r->candidates, r->nonfinite, r->past_bound, r->outside_region};
    int code = DDM_OK;
    for (int i = 0; i < 4 && !code; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s_%s", prefix, what[i]);
        code = h5_attr_int(group, name, counts[i], err);
    }
    return code;
}

int runfile_simulate_end(struct ddm_runfile *rf, const struct ddm_sim_report *report,
                         struct ddm_error *err) {
    hid_t group = H5Gopen2(rf->file, H5N_SIMULATE, H5P_DEFAULT);
    int code = H5_CHECK(group, "/" H5N_SIMULATE, err);
    if (!code) code = h5_attr_int(group, H5N_NONFINITE, report->nonfinite, err);
    if (!code && report->nonfinite) {
        code =
            h5_attr_int(group, H5N_FIRST_NONFINITE_TRAJECTORY, report->nonfinite_trajectory, err);
        if (!code)
            code = h5_attr_uint64(group, H5N_FIRST_NONFINITE_STEP, report->nonfinite_step, err);
    }
    if (!code) code = h5_attr_int(group, H5N_TARGET_NONFINITE, report->target_nonfinite, err);
    if (!code) code = runfile_start_report(group, H5N_START, &report->starts, err);
    if (!code && report->nonfinite_steps) {
        hsize_t B = (hsize_t)report->trajectories;
        if (H5Lexists(group, H5N_NONFINITE_STEP, H5P_DEFAULT) > 0) /* a resumed run's */
            H5Ldelete(group, H5N_NONFINITE_STEP, H5P_DEFAULT);
        code = h5_write(group, H5N_NONFINITE_STEP, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &B,
                        report->nonfinite_steps,
                        "(B) global step at which each network trajectory blew up (NaN/Inf or "
                        "past blowup_bound; NaN in latent and traces from there on), -1: never",
                        err);
    }
    if (!code) code = h5_attr_double(group, H5N_SECONDS, report->seconds, err);
    if (!code)
        code = h5_attr_double(group, H5N_NEURON_STEPS_PER_SECOND, report->neuron_steps_per_second,
                              err);
    if (!code && rf->scales.names) code = h5schema_simulate_scales(group, &rf->scales, err);
    if (group >= 0) H5Gclose(group);
    return code;
}

int runfile_close(struct ddm_runfile *rf, int complete, struct ddm_error *err) {
    live_lock_drop(rf);
    if (rf->file < 0) return DDM_OK;
    h5_stream_close(&rf->t);
    h5_stream_close(&rf->latent);
    h5_stream_close(&rf->target);
    h5_stream_close(&rf->traces);
    h5_stream_close(&rf->input);
    /* objects the later stages added get their description (a stopped run's too) */
    int described = h5schema_describe_file(rf->file, complete ? err : NULL);
    /* complete = 1 goes in only once everything else is on disk, so a flush that fails (a full
     * disk) cannot leave a file that claims to be complete */
    int code = complete ? described : DDM_OK;
    if (!code && complete) code = H5_CHECK(H5Fflush(rf->file, H5F_SCOPE_LOCAL), "flushing", err);
    int marked = h5_attr_int(rf->file, H5N_COMPLETE, complete && !code, code ? NULL : err);
    if (!code) code = marked;
    int closed = H5_CHECK(h5space_close(rf->file), "closing the output file", code ? NULL : err);
    rf->file = -1;
    return code ? code : closed;
}

int runfile_read_model(const char *path, struct ddm_model *model, struct ddm_error *err) {
    memset(model, 0, sizeof *model);
    hid_t file;
    int code = runfile_open_read(path, "--model", &file, err);
    if (code) return code;
    code = runfile_read_model_from(file, path, model, err);
    H5Fclose(file);
    return code;
}

int runfile_read_model_from(hid_t file, const char *path, struct ddm_model *model,
                            struct ddm_error *err) {
    memset(model, 0, sizeof *model);
    hid_t group = H5Gopen2(file, H5N_MODEL, H5P_DEFAULT);
    if (group < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_EUSAGE,
                        "'%s' has no /model group: not a ddm_gpu run file, or "
                        "its run stopped before training ended",
                        path);
    }
    double n = 0, k = 0, m = 0, tau = 0;
    int code = h5_read_attr_double(group, H5N_N, &n, err);
    if (!code) code = h5_read_attr_double(group, H5N_K, &k, err);
    if (!code) code = h5_read_attr_double(group, H5N_M, &m, err);
    if (!code) code = h5_read_attr_double(group, H5N_TAU, &tau, err);
    if (!code && (n < 1 || k < 1 || k > DDM_MAX_K || m < 1 || m > DDM_MAX_M || !(tau > 0)))
        code = ddm_fail(err, DDM_EUSAGE, "'%s': /model has invalid sizes n=%g k=%g m=%g tau=%g",
                        path, n, k, m, tau);
    int state_dependent = !code && H5Lexists(group, H5N_V, H5P_DEFAULT) > 0;
    if (!code) code = model_alloc(model, (int)n, (int)k, (int)m, state_dependent, err);
    if (!code) {
        model->tau = tau;
        hsize_t nn = model->n, kk = model->k, km = (hsize_t)model->k * model->m;
        hsize_t nk[2] = {nn, kk}, kn[2] = {kk, nn}, kmd[2] = {kk, (hsize_t)model->m};
        hsize_t vn[2] = {km, nn};
        code = h5_read(group, H5N_GAMMA, H5T_NATIVE_FLOAT, 2, nk, model->Gamma, err);
        if (!code) code = h5_read(group, H5N_WS, H5T_NATIVE_FLOAT, 2, kn, model->Ws, err);
        if (!code) code = h5_read(group, H5N_B, H5T_NATIVE_FLOAT, 1, &nn, model->b, err);
        if (!code && model->S)
            code = h5_read(group, H5N_S, H5T_NATIVE_FLOAT, 2, kmd, model->S, err);
        if (!code && model->V) code = h5_read(group, H5N_V, H5T_NATIVE_FLOAT, 2, vn, model->V, err);
        if (!code && model->c)
            code = h5_read(group, H5N_C, H5T_NATIVE_FLOAT, 1, &km, model->c, err);
        if (!code)
            code =
                h5_read(group, H5N_LATENT_MEAN, H5T_NATIVE_DOUBLE, 1, &kk, model->latent_mean, err);
        if (!code)
            code = h5_read(group, H5N_LATENT_SCALE, H5T_NATIVE_DOUBLE, 1, &kk, model->latent_scale,
                           err);
        if (!code) code = model_update_pinv(model, err);
    }
    H5Gclose(group);
    if (code) {
        ddm_error_prefix(err, "reading the model from '%s'", path);
        model_free(model);
    }
    return code;
}

int runfile_write_place(struct ddm_runfile *rf, const struct ddm_run_place *place,
                        struct ddm_error *err) {
    int code = DDM_OK;
    if (place->sweep_index >= 0) {
        code = h5_attr_int(rf->file, H5N_SWEEP_INDEX, place->sweep_index, err);
        if (!code) code = h5_attr_int(rf->file, H5N_SWEEP_COUNT, place->sweep_count, err);
        if (!code)
            code = h5_attr_string(rf->file, H5N_SWEEP_ASSIGNMENT, place->sweep_assignment, err);
    }
    if (!code && place->shard_count) {
        code = h5_attr_int(rf->file, H5N_SHARD_INDEX, place->shard_index, err);
        if (!code) code = h5_attr_int(rf->file, H5N_SHARD_COUNT, place->shard_count, err);
        if (!code)
            code = h5_attr_uint64(rf->file, H5N_FIRST_TRAJECTORY, place->first_trajectory, err);
        if (!code)
            code = h5_attr_int(rf->file, H5N_TRAJECTORIES_TOTAL, place->trajectories_total, err);
    }
    return code;
}

/* An integer root attribute, or `fallback` when the file has none. */
static int read_optional(hid_t file, const char *name, double fallback, double *value,
                         struct ddm_error *err) {
    *value = fallback;
    return H5Aexists(file, name) > 0 ? h5_read_attr_double(file, name, value, err) : DDM_OK;
}

int runfile_read_place(hid_t file, struct ddm_run_place *place, struct ddm_error *err) {
    memset(place, 0, sizeof *place);
    double sweep_index, sweep_count, shard_index, shard_count, first, total;
    int code = read_optional(file, H5N_SWEEP_INDEX, -1, &sweep_index, err);
    if (!code) code = read_optional(file, H5N_SWEEP_COUNT, 0, &sweep_count, err);
    if (!code && sweep_index >= 0)
        code = h5_read_attr_string(file, H5N_SWEEP_ASSIGNMENT, place->sweep_assignment,
                                   sizeof place->sweep_assignment, err);
    if (!code) code = read_optional(file, H5N_SHARD_INDEX, 0, &shard_index, err);
    if (!code) code = read_optional(file, H5N_SHARD_COUNT, 0, &shard_count, err);
    if (!code) code = read_optional(file, H5N_FIRST_TRAJECTORY, 0, &first, err);
    if (!code) code = read_optional(file, H5N_TRAJECTORIES_TOTAL, 0, &total, err);
    place->sweep_index = (long)sweep_index;
    place->sweep_count = (long)sweep_count;
    place->shard_index = (int)shard_index;
    place->shard_count = (int)shard_count;
    place->first_trajectory = (uint64_t)first;
    place->trajectories_total = (int)total;
    return code;
}

int runfile_copy_train(struct ddm_runfile *rf, const char *model_path, struct ddm_error *err) {
    int code = h5_attr_string(rf->file, H5N_MODEL_FILE, model_path, err);
    hid_t source = -1;
    if (!code) code = runfile_open_read(model_path, "--model", &source, err);
    int has_train = !code && H5Lexists(source, H5N_TRAIN, H5P_DEFAULT) > 0;
    if (has_train) {
        hid_t loss = H5Lexists(source, H5N_TRAIN "/" H5N_LOSS, H5P_DEFAULT) > 0
                         ? H5Dopen2(source, H5N_TRAIN "/" H5N_LOSS, H5P_DEFAULT)
                         : -1;
        uint64_t bytes = loss >= 0 ? H5Dget_storage_size(loss) : 0;
        if (loss >= 0) H5Dclose(loss);
        code = h5space_reserve(rf->file, bytes + (1u << 16), "copying /train", err);
    }
    if (!code && has_train)
        code = H5_CHECK(H5Ocopy(source, H5N_TRAIN, rf->file, H5N_TRAIN, H5P_DEFAULT, H5P_DEFAULT),
                        "copying /train of the model file", err);
    if (source >= 0) H5Fclose(source);
    return code;
}

int runfile_open(struct ddm_runfile *rf, const char *path, struct ddm_error *err) {
    h5_quiet();
    memset(rf, 0, sizeof *rf);
    rf->live_lock = -1;
    rf->t.dataset = rf->latent.dataset = rf->target.dataset = rf->traces.dataset = -1;
    rf->input.dataset = -1;
    rf->file = output_open(path, H5F_ACC_RDWR);
    if (rf->file >= 0) return DDM_OK;
    char reason[256];
    h5_reason(reason, sizeof reason);
    if (access(path, W_OK)) { /* the checks read it: only writing is refused */
        const int e = errno;
        return ddm_fail(err, ddm_errno_code(e), "cannot open --resume '%s' for writing: %s", path,
                        strerror(e));
    }
    return ddm_fail(err, DDM_ERUNTIME,
                    "cannot open --resume '%s' for writing (HDF5: %s; is it open in another "
                    "program?)",
                    path, reason);
}

/* Reopens one /simulate dataset as a stream along `axis`, cut back to `recorded`. */
static int reopen_stream(hid_t group, const char *name, hid_t mem_type, int axis, long recorded,
                         struct h5_stream *stream, struct ddm_error *err) {
    memset(stream, 0, sizeof *stream);
    stream->dataset = H5Dopen2(group, name, H5P_DEFAULT);
    int code = H5_CHECK(stream->dataset, name, err);
    if (code) return code;
    stream->mem_type = mem_type;
    stream->axis = axis;
    hid_t space = H5Dget_space(stream->dataset);
    stream->rank = H5Sget_simple_extent_dims(space, stream->dims, NULL);
    H5Sclose(space);
    if (stream->rank == 3 && stream->dims[0] == 0) return DDM_OK; /* no traced trajectory here */
    if (stream->rank <= axis || stream->rank > 4 || stream->dims[axis] < (hsize_t)recorded)
        return ddm_fail(err, DDM_EUSAGE,
                        "/simulate/%s holds fewer recorded times than the checkpoint (%ld): the "
                        "file is corrupt",
                        name, recorded);
    stream->dims[axis] = (hsize_t)recorded;
    return H5_CHECK(H5Dset_extent(stream->dataset, stream->dims), "cutting back a dataset", err);
}

int runfile_simulate_reopen(struct ddm_runfile *rf, long recorded, struct ddm_error *err) {
    hid_t group = H5Gopen2(rf->file, H5N_SIMULATE, H5P_DEFAULT);
    if (group < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_EUSAGE, "the file has no /simulate group: the file is corrupt");
    }
    int code = reopen_stream(group, H5N_T, H5T_NATIVE_DOUBLE, 0, recorded, &rf->t, err);
    if (!code)
        code = reopen_stream(group, H5N_LATENT, H5T_NATIVE_FLOAT, 1, recorded, &rf->latent, err);
    if (!code)
        code = reopen_stream(group, H5N_TARGET_LATENT, H5T_NATIVE_FLOAT, 1, recorded, &rf->target,
                             err);
    if (!code)
        code = reopen_stream(group, H5N_TRACES, H5T_NATIVE_FLOAT, 1, recorded, &rf->traces, err);
    if (!code && H5Lexists(group, H5N_INPUT, H5P_DEFAULT) > 0)
        code = reopen_stream(group, H5N_INPUT, H5T_NATIVE_FLOAT, 0, recorded, &rf->input, err);
    H5Gclose(group);
    rf->streaming = !code;
    return code;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) hash = (hash ^ p[i]) * 0x100000001b3ull;
    return hash;
}

int runfile_model_hash(hid_t file, uint64_t *hash, struct ddm_error *err) {
    static const char *const names[] = {H5N_GAMMA, H5N_WS, H5N_B,           H5N_S,
                                        H5N_V,     H5N_C,  H5N_LATENT_MEAN, H5N_LATENT_SCALE};
    *hash = 0xcbf29ce484222325ull;
    hid_t group = H5Gopen2(file, H5N_MODEL, H5P_DEFAULT);
    if (group < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_EUSAGE, "no /model group");
    }
    double tau = 0;
    int code = h5_read_attr_double(group, H5N_TAU, &tau, err);
    if (!code) *hash = fnv1a(*hash, &tau, sizeof tau);
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !code; i++) {
        if (H5Lexists(group, names[i], H5P_DEFAULT) <= 0) continue;
        hid_t dataset = H5Dopen2(group, names[i], H5P_DEFAULT);
        if ((code = H5_CHECK(dataset, names[i], err))) break;
        hid_t type = H5Dget_type(dataset), space = H5Dget_space(dataset);
        size_t bytes = (size_t)H5Sget_simple_extent_npoints(space) * H5Tget_size(type);
        unsigned char *data = ddm_alloc(bytes, "a model array", err);
        code = data ? H5_CHECK(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                               names[i], err)
                    : DDM_ERUNTIME;
        if (!code) {
            *hash = fnv1a(*hash, names[i], strlen(names[i]) + 1);
            *hash = fnv1a(*hash, data, bytes);
        }
        free(data);
        H5Tclose(type);
        H5Sclose(space);
        H5Dclose(dataset);
    }
    H5Gclose(group);
    return code;
}
