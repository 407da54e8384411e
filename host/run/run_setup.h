/* run_setup.h — private to run.c: what a run is before it starts (configuration, sweep point,
 * shard, stages, the checkpoint it resumes from), and the --list-sweep listing.
 */
#ifndef DDM_RUN_SETUP_H
#define DDM_RUN_SETUP_H

#include "ddm/checkpoint.h"
#include "ddm/cli.h"
#include "ddm/runfile.h"
#include "ddm/sweep.h"

struct run_setup {
    struct ddm_config cfg;
    struct ddm_sweep sweep;
    struct ddm_run_place place;
    int train, simulate, analyze; /* the stages of the run */
    const char *model_path;       /* --model FILE.h5, or NULL */
    int resuming;                 /* --resume: the stages go on from `checkpoint` */
    struct ddm_checkpoint checkpoint;
    char backend_name[64]; /* --resume: the backend that wrote the file */
};

/* A new run: the INI file, its sweep point, --set and the options on top. */
int run_setup_fresh(const struct ddm_cli *cli, struct run_setup *setup, struct ddm_error *err);

/* A resumed run from its open file: the stored configuration (a CONFIG.ini and --set given too
 * must agree with it outside [run] and [output]), its place and its checkpoint. */
int run_setup_resume(const struct ddm_cli *cli, hid_t file, struct run_setup *setup,
                     struct ddm_error *err);

void run_setup_free(struct run_setup *setup);

/* --list-sweep: "index <TAB> output <TAB> assignment" per point, after a '#' header line; every
 * point is loaded and its system built, so a bad point is found before submission. */
int run_list_sweep(const struct ddm_cli *cli, struct ddm_error *err);

#endif
