/* cli.h — the command line of docs/design.md §7 and the run it drives.
 *
 *   ddm_gpu CONFIG.ini [--set section.key=value]... [--backend B] [--output PATH] [--overwrite]
 *           [--stages train,simulate,analyze] [--model FILE.h5] [--on-nonfinite P] [--threads N]
 * [--quiet]
 *           [--array-index N] [--list-sweep] [--shard i/N]
 *   ddm_gpu --resume FILE.h5 [CONFIG.ini] [--set ...] [--backend B] [--quiet]
 *   ddm_gpu merge OUT.h5 SHARD.h5... [--overwrite] [--quiet]          (host/io/merge.c)
 *   ddm_gpu --help | --version
 */
#ifndef DDM_CLI_H
#define DDM_CLI_H

#include <stdio.h>

#include "ddm/error.h"

#define CLI_MAX_SETS 256

struct ddm_cli {
    const char *config_path;
    const char *sets[CLI_MAX_SETS];
    int nsets;
    const char *backend;      /* overrides [run] backend */
    const char *output;       /* overrides [output] path */
    int overwrite;            /* an existing output file may be replaced (else the run refuses) */
    const char *on_nonfinite; /* overrides [simulate] on_nonfinite */
    const char *threads;      /* overrides [run] threads */
    const char *model_path;   /* a run file whose /model is used instead of training */
    int stage_train, stage_simulate, stage_analyze;
    int stages_given;        /* --stages was on the command line */
    long array_index;        /* --array-index N, or -1 ($SLURM_ARRAY_TASK_ID then) */
    int list_sweep;          /* print the [sweep] points and exit */
    int shard_index;         /* --shard i/N: this run is shard i of N of the ensemble */
    int shard_count;         /* N; 0 without --shard */
    const char *resume_path; /* --resume FILE.h5: continue the run in FILE from its checkpoint */
    int quiet;
    int help, version;
    char command_line[4096]; /* as typed, for the HDF5 file */
};

/* Parses argv; on a usage error returns DDM_EUSAGE with one line in err. */
int cli_parse(int argc, char **argv, struct ddm_cli *cli, struct ddm_error *err);
void cli_print_help(FILE *out);

/* Runs the stages the command line asks for; prints the closing summary to stdout. */
int ddm_run(const struct ddm_cli *cli, struct ddm_error *err);

#endif
