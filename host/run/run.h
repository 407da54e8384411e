/* run.h — private to host/run: what one run holds while its stages go (run.c), and the closing
 * summary printed from it (summary.c).
 */
#ifndef DDM_RUN_H
#define DDM_RUN_H

#include "ddm/analysis.h"
#include "ddm/backend.h"
#include "ddm/cli.h"
#include "ddm/simulate.h"
#include "ddm/system.h"
#include "ddm/threads.h"
#include "ddm/train.h"
#include "run_setup.h"

/* Everything a run holds while its stages go. */
struct run {
    const struct ddm_cli *cli;
    struct run_setup setup;
    const struct ddm_backend *backend;
    struct ddm_system sys;
    struct ddm_model model;
    struct ddm_train_report train;
    struct ddm_sim_report sim;
    struct ddm_analysis_report analysis;
    struct ddm_sim_layout layout;
    struct ddm_runfile rf;
    int first_stage;              /* enum checkpoint_stage the run starts (or resumes) with */
    char path[4096];              /* the output file */
    struct cpu_clock clock_start; /* for the warning of a shared machine */
};

/* The closing summary on stdout: what each stage did, its fidelity figures and its warnings. */
void run_print_summary(const struct run *run, double seconds);

#endif
