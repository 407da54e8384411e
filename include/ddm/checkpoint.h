/* checkpoint.h — the /checkpoint group of a run file: where a stopped run stands (docs/design.md
 * §7).
 *
 *   /checkpoint  attrs format, stage (train|simulate|analyze), stages, fingerprint, signal
 *     train:     params (2nk+n), m1 (2nk+n), m2 (2nk+n), loss (epochs_done),
 *                stage_report (11; 9 before the fresh-path figures);
 *                attrs n, k, epochs_done, adam_step, ridge_rel_err, ridge_used, lr_scale, stalls;
 *                n = 0 and no arrays: stopped while sampling, before there was a network;
 *                gauss_newton_state (4): rounds done (-1: the stage had ended), stalls, loss, ε_f
 *     simulate:  x (B,n), target_z (B,k), target_dead (B), moments (4,k), moment_counts (2,k);
 *                attrs step, recorded, target_nonfinite
 *
 * The fingerprint hashes the file's effective configuration (without [output] and [run]) and its
 * /model, so a checkpoint is never continued with another configuration or model. A run that
 * reaches its analysis writes an `analyze` checkpoint first (no arrays): the analysis is rerun
 * in full if the job dies in it. The group is removed when the run completes.
 */
#ifndef DDM_CHECKPOINT_H
#define DDM_CHECKPOINT_H

#include <hdf5.h>

#include "ddm/simulate.h"
#include "ddm/train.h"

enum checkpoint_stage { CHECKPOINT_TRAIN, CHECKPOINT_SIMULATE, CHECKPOINT_ANALYZE };

struct ddm_checkpoint {
    int stage;                                      /* enum checkpoint_stage */
    int stage_train, stage_simulate, stage_analyze; /* the stages the run was started with */
    struct ddm_train_state train;                   /* stage train */
    struct ddm_sim_state sim;                       /* stage simulate */
};

/* Writes (replacing an older one) the checkpoint; `signal` names what stopped the run, or is
 * NULL for the analyze marker. The root attribute interrupted says whether a signal did. */
int checkpoint_write(hid_t file, const struct ddm_checkpoint *cp, const char *signal,
                     struct ddm_error *err);

/* Reads and checks the checkpoint: a missing group, a missing member, shapes that disagree or a
 * fingerprint that does not match the file's configuration and model are refused (DDM_EUSAGE). */
int checkpoint_read(hid_t file, struct ddm_checkpoint *cp, struct ddm_error *err);

/* Removes the group once the run is complete. */
int checkpoint_remove(hid_t file, struct ddm_error *err);

void checkpoint_free(struct ddm_checkpoint *cp);

#endif
