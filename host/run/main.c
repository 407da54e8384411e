/* main.c — the ddm_gpu program: parse the command line, run (or merge shards), print the one-line
 * error. Exit status: 0 success, 1 run-time failure, 2 usage or configuration error (docs/design.md
 * §7), 3 stopped by a signal with a checkpoint written (ddm/signals.h). */
#include <stdio.h>
#include <string.h>

#include "ddm/cli.h"
#include "ddm/merge.h"
#include "ddm/signals.h"
#include "ddm/threads.h"

int main(int argc, char **argv) {
    struct ddm_cli cli;
    struct ddm_error err = {0};
    threads_wait_policy_reexec(argv); /* returns when the wait policy is already chosen */
    if (argc > 1 && !strcmp(argv[1], "merge")) {
        int code = merge_command(argc - 1, argv + 1, &err);
        if (code) fprintf(stderr, "ddm_gpu: error: %s\n", err.message);
        return code;
    }
    int code = cli_parse(argc, argv, &cli, &err);
    if (!code && cli.help) {
        cli_print_help(stdout);
        return 0;
    }
    if (!code && cli.version) {
        printf("ddm_gpu %s (%s)\n", DDM_VERSION, DDM_GIT_COMMIT);
        return 0;
    }
    if (!code) code = ddm_run(&cli, &err);
    if (code == DDM_EINTERRUPTED)
        fprintf(stderr, "ddm_gpu: %s\n", err.message);
    else if (code)
        fprintf(stderr, "ddm_gpu: error: %s\n", err.message);
    return code;
}
