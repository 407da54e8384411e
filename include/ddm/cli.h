/* cli.h — the command line of DESIGN §7 and the run it drives.
 *
 *   ddm_gpu CONFIG.ini [--set section.key=value]... [--backend B] [--output PATH]
 *           [--stages train,simulate,analyze] [--model FILE.h5] [--quiet]
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
    const char *backend;    /* overrides [run] backend */
    const char *output;     /* overrides [output] path */
    const char *model_path; /* a run file whose /model is used instead of training */
    int stage_train, stage_simulate, stage_analyze;
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
