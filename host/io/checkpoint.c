/* checkpoint.c — writing, reading and checking the /checkpoint group (include/ddm/checkpoint.h).
 *
 * What is kept is exactly what the next epoch or block depends on: Adam's parameters, moments and
 * step (the points and orders come again from the seed), or the network states, the coupled
 * target paths and the running sums (the noise is keyed by the global step). Every member is
 * checked on reading, so a truncated or edited checkpoint is refused with one line.
 */
#include "ddm/checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/h5space.h"
#include "ddm/runfile.h"

/* Format 2 is a train checkpoint that a release reading only format 1 would misread: one without
 * a network (n = 0: stopped while sampling), which it would call corrupt, or one stopped between
 * Gauss–Newton rounds, whose remaining rounds it would skip. Every other checkpoint is written as
 * 1, so that such a release can still resume it. Both are read. */
#define CHECKPOINT_FORMAT     2
#define CHECKPOINT_FORMAT_OLD 1
#define F32                   H5T_IEEE_F32LE
#define F64                   H5T_IEEE_F64LE

static const char *const stage_names[] = {"train", "simulate", "analyze"};

void checkpoint_free(struct ddm_checkpoint *cp) {
    train_state_free(&cp->train);
    sim_state_free(&cp->sim);
}

/* The fingerprint of the file's root configuration and its /model (when it has one). */
static int fingerprint(hid_t file, uint64_t *print, struct ddm_error *err) {
    const size_t len = 1 << 22;
    char *ini = ddm_alloc(len, "the stored configuration", err);
    if (!ini) return DDM_ERUNTIME;
    int code = h5_read_attr_string(file, H5N_CONFIG, ini, len, err);
    uint64_t model = 0;
    if (!code && H5Lexists(file, H5N_MODEL, H5P_DEFAULT) > 0)
        code = runfile_model_hash(file, &model, err);
    *print = config_ini_fingerprint(ini) ^ (model * 0x9E3779B97F4A7C15ull);
    free(ini);
    return code;
}

static int read_uint64(hid_t obj, const char *name, uint64_t *value, struct ddm_error *err) {
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    int code = H5_CHECK(attr, name, err);
    if (!code) code = H5_CHECK(H5Aread(attr, H5T_NATIVE_UINT64, value), name, err);
    if (attr >= 0) H5Aclose(attr);
    return code;
}

/* n = 0: stopped before there was a network (while sampling); the arrays are left out. */
static int write_train(hid_t group, const struct ddm_train_state *st, struct ddm_error *err) {
    hsize_t count = (hsize_t)st->n * st->k * 2 + st->n, epochs = st->epochs_done;
    int code = DDM_OK;
    if (st->n > 0) {
        code = h5_write(group, H5N_PARAMS, F32, H5T_NATIVE_FLOAT, 1, &count, st->params,
                        "(2nk+n) Gamma (n,k), b (n), Ws (k,n)", err);
        if (!code)
            code =
                h5_write(group, H5N_M1, F32, H5T_NATIVE_FLOAT, 1, &count, st->m1, "(2nk+n)", err);
        if (!code)
            code =
                h5_write(group, H5N_M2, F32, H5T_NATIVE_FLOAT, 1, &count, st->m2, "(2nk+n)", err);
        if (!code)
            code = h5_write(group, H5N_LOSS, F64, H5T_NATIVE_DOUBLE, 1, &epochs, st->loss,
                            "(epochs)", err);
    }
    if (!code) code = h5_attr_int(group, H5N_N, st->n, err);
    if (!code) code = h5_attr_int(group, H5N_K, st->k, err);
    if (!code) code = h5_attr_int(group, H5N_EPOCHS_DONE, st->epochs_done, err);
    if (!code) code = h5_attr_int(group, H5N_ADAM_STEP, st->adam_step, err);
    if (!code) code = h5_attr_double(group, H5N_RIDGE_REL_ERR, st->ridge_rel_err, err);
    if (!code) code = h5_attr_double(group, H5N_RIDGE_USED, st->ridge_used, err);
    if (!code) code = h5_attr_double(group, H5N_LR_SCALE, st->lr_scale, err);
    if (!code) code = h5_attr_int(group, H5N_STALLS, st->stalls, err);
    const double gn[4] = {st->gn_rounds_done, st->gn_stalls, st->gn_best_loss, st->gn_best_eps};
    hsize_t report = TRAIN_STAGE_REPORT, gn_count = 4;
    if (!code)
        code = h5_write(group, H5N_GAUSS_NEWTON_STATE, F64, H5T_NATIVE_DOUBLE, 1, &gn_count, gn,
                        "(4) Gauss-Newton rounds done (-1: the stage had ended), rounds in a row "
                        "that gained < 2%, training loss and judging eps_f of the network kept",
                        err);
    if (!code)
        code =
            h5_write(group, H5N_STAGE_REPORT, F64, H5T_NATIVE_DOUBLE, 1, &report, st->stage_report,
                     "(11) Gauss-Newton eps_f, seconds, rounds kept, undone, overfit, stalled, "
                     "skipped; Adam rounds kept, undone; eps_f on fresh paths after the ridge "
                     "start, after Gauss-Newton",
                     err);
    return code;
}

static int write_sim(hid_t group, const struct ddm_sim_state *st, struct ddm_error *err) {
    const int k = st->k;
    hsize_t xn[2] = {(hsize_t)st->B, (hsize_t)st->n}, zk[2] = {(hsize_t)st->B, (hsize_t)k};
    hsize_t b = st->B, mk[2] = {4, (hsize_t)k}, ck[2] = {2, (hsize_t)k};
    double moments[4 * DDM_MAX_K];
    long long counts[2 * DDM_MAX_K];
    for (int c = 0; c < k; c++) {
        moments[c] = st->network.sum[c], moments[k + c] = st->network.sum2[c];
        moments[2 * k + c] = st->target.sum[c], moments[3 * k + c] = st->target.sum2[c];
        counts[c] = st->network.count[c], counts[k + c] = st->target.count[c];
    }
    int code = h5_write(group, H5N_X, F32, H5T_NATIVE_FLOAT, 2, xn, st->x, "(B,n)", err);
    if (!code)
        code = h5_write(group, H5N_TARGET_Z, F64, H5T_NATIVE_DOUBLE, 2, zk, st->target_z, "(B,k)",
                        err);
    if (!code)
        code = h5_write(group, H5N_TARGET_DEAD, H5T_STD_I32LE, H5T_NATIVE_INT, 1, &b,
                        st->target_dead, "(B)", err);
    if (!code && st->nonfinite_step)
        code = h5_write(group, H5N_NONFINITE_STEP, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &b,
                        st->nonfinite_step, "(B) blow-up marks, -1: none", err);
    if (!code)
        code = h5_write(group, H5N_MOMENTS, F64, H5T_NATIVE_DOUBLE, 2, mk, moments,
                        "(4,k) network sum, sum of squares; target sum, sum of squares", err);
    if (!code)
        code = h5_write(group, H5N_MOMENT_COUNTS, H5T_STD_I64LE, H5T_NATIVE_LLONG, 2, ck, counts,
                        "(2,k) network, target", err);
    if (!code) code = h5_attr_uint64(group, H5N_STEP, st->step, err);
    if (!code) code = h5_attr_int(group, H5N_RECORDED, st->recorded, err);
    if (!code) code = h5_attr_int(group, H5N_TARGET_NONFINITE, st->target_nonfinite, err);
    return code;
}

int checkpoint_remove(hid_t file, struct ddm_error *err) {
    if (H5Lexists(file, H5N_CHECKPOINT, H5P_DEFAULT) <= 0) return DDM_OK;
    return H5_CHECK(H5Ldelete(file, H5N_CHECKPOINT, H5P_DEFAULT), "removing /checkpoint", err);
}

/* The bytes of the checkpoint's arrays. */
static uint64_t checkpoint_bytes(const struct ddm_checkpoint *cp) {
    if (cp->stage == CHECKPOINT_TRAIN) {
        const struct ddm_train_state *st = &cp->train;
        return 3 * sizeof(float) * ((uint64_t)st->n * st->k * 2 + st->n) +
               sizeof(double) * (uint64_t)st->epochs_done;
    }
    if (cp->stage == CHECKPOINT_SIMULATE) {
        const struct ddm_sim_state *st = &cp->sim;
        return (uint64_t)st->B * (sizeof(float) * st->n + sizeof(double) * st->k + sizeof(int));
    }
    return 0;
}

int checkpoint_write(hid_t file, const struct ddm_checkpoint *cp, const char *signal,
                     struct ddm_error *err) {
    uint64_t print = 0;
    char stages[64];
    snprintf(stages, sizeof stages, "%s%s%s%s%s", cp->stage_train ? "train" : "",
             cp->stage_train && cp->stage_simulate ? "," : "", cp->stage_simulate ? "simulate" : "",
             (cp->stage_train || cp->stage_simulate) && cp->stage_analyze ? "," : "",
             cp->stage_analyze ? "analyze" : "");
    /* all of it or nothing: a checkpoint cut short by a full disk would only be refused later,
     * and the one it replaces is removed only once the new one has its space */
    int code = h5space_reserve(file, checkpoint_bytes(cp) + (1u << 16), "/checkpoint", err);
    if (!code) code = checkpoint_remove(file, err);
    if (!code) code = fingerprint(file, &print, err);
    hid_t group = code ? -1 : h5_group(file, H5N_CHECKPOINT, err);
    if (!code && group < 0) code = DDM_ERUNTIME;
    const int newer =
        cp->stage == CHECKPOINT_TRAIN && (cp->train.n == 0 || cp->train.gn_rounds_done >= 0);
    if (!code)
        code =
            h5_attr_int(group, H5N_FORMAT, newer ? CHECKPOINT_FORMAT : CHECKPOINT_FORMAT_OLD, err);
    if (!code) code = h5_attr_string(group, H5N_STAGE, stage_names[cp->stage], err);
    if (!code) code = h5_attr_string(group, H5N_STAGES, stages, err);
    if (!code) code = h5_attr_uint64(group, H5N_FINGERPRINT, print, err);
    if (!code) code = h5_attr_string(group, H5N_SIGNAL, signal ? signal : "", err);
    if (!code && cp->stage == CHECKPOINT_TRAIN) code = write_train(group, &cp->train, err);
    if (!code && cp->stage == CHECKPOINT_SIMULATE) code = write_sim(group, &cp->sim, err);
    if (group >= 0) H5Gclose(group);
    if (!code) code = h5_attr_int(file, H5N_INTERRUPTED, signal != NULL, err);
    if (!code) code = H5_CHECK(H5Fflush(file, H5F_SCOPE_LOCAL), "flushing the checkpoint", err);
    return code;
}

/* Reads a whole dataset of the given rank, of any extent (dims out), into a new array. */
static int read_array(hid_t group, const char *name, hid_t mem_type, size_t size, int rank,
                      hsize_t *dims, void **data, struct ddm_error *err) {
    *data = NULL;
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0)
        return ddm_fail(err, DDM_EUSAGE, "/checkpoint/%s is missing", name);
    hid_t dataset = H5Dopen2(group, name, H5P_DEFAULT);
    int code = H5_CHECK(dataset, name, err);
    if (code) return code;
    hid_t space = H5Dget_space(dataset);
    int found = H5Sget_simple_extent_ndims(space);
    if (found != rank) {
        code =
            ddm_fail(err, DDM_EUSAGE, "/checkpoint/%s has rank %d, expected %d", name, found, rank);
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        size_t count = (size_t)H5Sget_simple_extent_npoints(space);
        *data = ddm_alloc(size * (count ? count : 1), name, err);
        code = *data ? H5_CHECK(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data),
                                name, err)
                     : DDM_ERUNTIME;
    }
    H5Sclose(space);
    H5Dclose(dataset);
    return code;
}

static int shape_error(const char *name, hsize_t got, hsize_t want, const char *what,
                       struct ddm_error *err) {
    return ddm_fail(err, DDM_EUSAGE, "/checkpoint/%s has %llu %s, expected %llu", name,
                    (unsigned long long)got, what, (unsigned long long)want);
}

static int read_train(hid_t group, struct ddm_train_state *st, struct ddm_error *err) {
    double n = 0, k = 0, epochs = 0, step = 0;
    int code = h5_read_attr_double(group, H5N_N, &n, err);
    if (!code) code = h5_read_attr_double(group, H5N_K, &k, err);
    if (!code) code = h5_read_attr_double(group, H5N_EPOCHS_DONE, &epochs, err);
    if (!code) code = h5_read_attr_double(group, H5N_ADAM_STEP, &step, err);
    if (!code) code = h5_read_attr_double(group, H5N_RIDGE_REL_ERR, &st->ridge_rel_err, err);
    if (!code) code = h5_read_attr_double(group, H5N_RIDGE_USED, &st->ridge_used, err);
    double stalls = 0;
    if (!code) code = h5_read_attr_double(group, H5N_LR_SCALE, &st->lr_scale, err);
    if (!code) code = h5_read_attr_double(group, H5N_STALLS, &stalls, err);
    if (code) return code;
    st->stalls = (int)stalls;
    st->n = (int)n, st->k = (int)k, st->epochs_done = (int)epochs, st->adam_step = (long)step;
    st->gn_rounds_done = -1; /* and so in checkpoints of releases that did not stop in them */
    if (st->n == 0)          /* stopped before there was a network: nothing else to read */
        return st->epochs_done == 0 ? DDM_OK
                                    : ddm_fail(err, DDM_EUSAGE,
                                               "/checkpoint has no network (n = 0) after %d "
                                               "epochs",
                                               st->epochs_done);
    const hsize_t count = (hsize_t)st->n * st->k * 2 + st->n;
    hsize_t dims[1];
    void *data;
    const char *const names[] = {H5N_PARAMS, H5N_M1, H5N_M2};
    float **slots[] = {&st->params, &st->m1, &st->m2};
    for (int i = 0; i < 3 && !code; i++) {
        code = read_array(group, names[i], H5T_NATIVE_FLOAT, sizeof(float), 1, dims, &data, err);
        *slots[i] = data;
        if (!code && dims[0] != count)
            code = shape_error(names[i], dims[0], count, "values (2nk+n)", err);
    }
    if (!code && H5Lexists(group, H5N_GAUSS_NEWTON_STATE, H5P_DEFAULT) > 0) {
        code = read_array(group, H5N_GAUSS_NEWTON_STATE, H5T_NATIVE_DOUBLE, sizeof(double), 1, dims,
                          &data, err);
        if (!code && dims[0] != 4)
            code = shape_error(H5N_GAUSS_NEWTON_STATE, dims[0], 4, "values", err);
        const double *gn = data;
        if (!code) {
            st->gn_rounds_done = (int)gn[0], st->gn_stalls = (int)gn[1];
            st->gn_best_loss = gn[2], st->gn_best_eps = gn[3];
        }
        free(data);
    }
    if (!code && st->gn_rounds_done >= 0 && st->epochs_done > 0)
        code = ddm_fail(err, DDM_EUSAGE,
                        "/checkpoint is in the Gauss–Newton rounds (%d done) after %d epochs",
                        st->gn_rounds_done, st->epochs_done);
    /* 9 entries before the fresh-path figures, none before the stages were kept */
    for (int i = 9; i < TRAIN_STAGE_REPORT; i++) st->stage_report[i] = NAN;
    if (!code && H5Lexists(group, H5N_STAGE_REPORT, H5P_DEFAULT) > 0) {
        code = read_array(group, H5N_STAGE_REPORT, H5T_NATIVE_DOUBLE, sizeof(double), 1, dims,
                          &data, err);
        if (!code && dims[0] != 9 && dims[0] != TRAIN_STAGE_REPORT)
            code = shape_error(H5N_STAGE_REPORT, dims[0], TRAIN_STAGE_REPORT, "values", err);
        if (!code) memcpy(st->stage_report, data, sizeof(double) * dims[0]);
        free(data);
    }
    if (!code) {
        code = read_array(group, H5N_LOSS, H5T_NATIVE_DOUBLE, sizeof(double), 1, dims, &data, err);
        st->loss = data;
        if (!code && dims[0] != (hsize_t)st->epochs_done)
            code = shape_error("loss", dims[0], (hsize_t)st->epochs_done, "epochs", err);
    }
    return code;
}

static int read_sim(hid_t group, struct ddm_sim_state *st, struct ddm_error *err) {
    double recorded = 0, target_nonfinite = 0;
    int code = read_uint64(group, H5N_STEP, &st->step, err);
    if (!code) code = h5_read_attr_double(group, H5N_RECORDED, &recorded, err);
    if (!code) code = h5_read_attr_double(group, H5N_TARGET_NONFINITE, &target_nonfinite, err);
    if (code) return code;
    st->recorded = (long)recorded;
    st->target_nonfinite = (long)target_nonfinite;
    hsize_t dims[2];
    void *data;
    code = read_array(group, H5N_X, H5T_NATIVE_FLOAT, sizeof(float), 2, dims, &data, err);
    st->x = data;
    if (code) return code;
    st->B = (int)dims[0], st->n = (int)dims[1];
    code = read_array(group, H5N_TARGET_Z, H5T_NATIVE_DOUBLE, sizeof(double), 2, dims, &data, err);
    st->target_z = data;
    if (!code && dims[0] != (hsize_t)st->B)
        code = shape_error("target_z", dims[0], (hsize_t)st->B, "trajectories (rows of x)", err);
    st->k = (int)dims[1];
    if (!code && (st->k < 1 || st->k > DDM_MAX_K))
        code = ddm_fail(err, DDM_EUSAGE, "/checkpoint/target_z has k = %d", st->k);
    if (!code) {
        code = read_array(group, H5N_TARGET_DEAD, H5T_NATIVE_INT, sizeof(int), 1, dims, &data, err);
        st->target_dead = data;
        if (!code && dims[0] != (hsize_t)st->B)
            code = shape_error("target_dead", dims[0], (hsize_t)st->B, "trajectories", err);
    }
    if (!code && H5Lexists(group, H5N_NONFINITE_STEP, H5P_DEFAULT) > 0) { /* optional */
        code = read_array(group, H5N_NONFINITE_STEP, H5T_NATIVE_INT64, sizeof(int64_t), 1, dims,
                          &data, err);
        st->nonfinite_step = data;
        if (!code && dims[0] != (hsize_t)st->B)
            code = shape_error("nonfinite_step", dims[0], (hsize_t)st->B, "trajectories", err);
    }
    double *moments = NULL;
    long long *counts = NULL;
    if (!code) {
        code =
            read_array(group, H5N_MOMENTS, H5T_NATIVE_DOUBLE, sizeof(double), 2, dims, &data, err);
        moments = data;
        if (!code && (dims[0] != 4 || dims[1] != (hsize_t)st->k))
            code =
                shape_error("moments", dims[0] * dims[1], 4 * (hsize_t)st->k, "values (4,k)", err);
    }
    if (!code) {
        code = read_array(group, H5N_MOMENT_COUNTS, H5T_NATIVE_LLONG, sizeof(long long), 2, dims,
                          &data, err);
        counts = data;
        if (!code && (dims[0] != 2 || dims[1] != (hsize_t)st->k))
            code = shape_error("moment_counts", dims[0] * dims[1], 2 * (hsize_t)st->k,
                               "values (2,k)", err);
    }
    for (int c = 0; !code && c < st->k; c++) {
        const int k = st->k;
        st->network.sum[c] = moments[c], st->network.sum2[c] = moments[k + c];
        st->target.sum[c] = moments[2 * k + c], st->target.sum2[c] = moments[3 * k + c];
        st->network.count[c] = (long)counts[c], st->target.count[c] = (long)counts[k + c];
    }
    free(moments);
    free(counts);
    return code;
}

/* The stage list "train,simulate" into the three flags. */
static int parse_stages(const char *text, struct ddm_checkpoint *cp) {
    char copy[64];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "train"))
            cp->stage_train = 1;
        else if (!strcmp(tok, "simulate"))
            cp->stage_simulate = 1;
        else if (!strcmp(tok, "analyze"))
            cp->stage_analyze = 1;
        else
            return -1;
    }
    return cp->stage_train || cp->stage_simulate || cp->stage_analyze ? 0 : -1;
}

int checkpoint_read(hid_t file, struct ddm_checkpoint *cp, struct ddm_error *err) {
    memset(cp, 0, sizeof *cp);
    if (H5Lexists(file, H5N_CHECKPOINT, H5P_DEFAULT) <= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "it has no /checkpoint: only a run stopped by a signal (exit status 3) "
                        "can be resumed");
    hid_t group = H5Gopen2(file, H5N_CHECKPOINT, H5P_DEFAULT);
    int code = H5_CHECK(group, "/" H5N_CHECKPOINT, err);
    if (code) return code;
    double format = 0;
    char stage[32] = "", stages[64] = "";
    uint64_t stored = 0, actual = 0;
    code = h5_read_attr_double(group, H5N_FORMAT, &format, err);
    if (!code) code = h5_read_attr_string(group, H5N_STAGE, stage, sizeof stage, err);
    if (!code) code = h5_read_attr_string(group, H5N_STAGES, stages, sizeof stages, err);
    if (!code) code = read_uint64(group, H5N_FINGERPRINT, &stored, err);
    if (!code && format != CHECKPOINT_FORMAT && format != CHECKPOINT_FORMAT_OLD)
        code = ddm_fail(err, DDM_EUSAGE,
                        "/checkpoint has format %g; this ddm_gpu reads formats %d and %d", format,
                        CHECKPOINT_FORMAT_OLD, CHECKPOINT_FORMAT);
    cp->stage = -1;
    for (int s = 0; s < 3 && !code; s++)
        if (!strcmp(stage, stage_names[s])) cp->stage = s;
    if (!code && (cp->stage < 0 || parse_stages(stages, cp)))
        code =
            ddm_fail(err, DDM_EUSAGE, "/checkpoint has stage '%s' of stages '%s'", stage, stages);
    if (!code && cp->stage == CHECKPOINT_TRAIN) code = read_train(group, &cp->train, err);
    if (!code && cp->stage == CHECKPOINT_SIMULATE) code = read_sim(group, &cp->sim, err);
    if (code) {
        err->code = code = DDM_EUSAGE; /* an HDF5 failure in there is a corrupt checkpoint too */
        ddm_error_prefix(err, "the checkpoint is corrupt");
    }
    if (!code) code = fingerprint(file, &actual, err);
    if (!code && actual != stored)
        code = ddm_fail(err, DDM_EUSAGE,
                        "the checkpoint does not belong to the configuration and model in the "
                        "file (fingerprint %016llx, expected %016llx)",
                        (unsigned long long)stored, (unsigned long long)actual);
    H5Gclose(group);
    if (code) checkpoint_free(cp);
    return code;
}
