/* run_setup.c — what a run is before it starts: the configuration with its sweep point and the
 * command line on top, its shard, its stages; for --resume the configuration stored in the file
 * (checked against the one given, if any) and the checkpoint; and the --list-sweep listing.
 *
 * Order of a fresh run's configuration: defaults, the INI file, the [sweep] point, --set, then
 * --backend, --on-nonfinite, --threads and --output.
 */
#include "run_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5io.h"
#include "ddm/h5schema.h"
#include "ddm/system.h"

/* Applies the command-line overrides, in the order given, after the file and the sweep point. */
static int apply_overrides(const struct ddm_cli *cli, struct ddm_config *cfg,
                           struct ddm_error *err) {
    for (int i = 0; i < cli->nsets; i++) {
        int code = config_set(cfg, cli->sets[i], err);
        if (code) return code;
    }
    char assignment[4200];
    if (cli->backend) {
        snprintf(assignment, sizeof assignment, "run.backend=%s", cli->backend);
        int code = config_set(cfg, assignment, err);
        if (code) return code;
    }
    if (cli->on_nonfinite) {
        snprintf(assignment, sizeof assignment, "simulate.on_nonfinite=%s", cli->on_nonfinite);
        int code = config_set(cfg, assignment, err);
        if (code) return code;
    }
    if (cli->threads) {
        snprintf(assignment, sizeof assignment, "run.threads=%s", cli->threads);
        int code = config_set(cfg, assignment, err);
        if (code) return code;
    }
    if (cli->output) {
        snprintf(assignment, sizeof assignment, "output.path=%s", cli->output);
        int code = config_set(cfg, assignment, err);
        if (code) return code;
    }
    return DDM_OK;
}

/* The configuration of point `index` (-1: no sweep) of the INI text loaded in `base`. */
static int load_point(const struct ddm_cli *cli, const struct ddm_config *base,
                      const struct ddm_sweep *sweep, long index, struct ddm_config *cfg,
                      struct ddm_error *err) {
    int code = config_defaults(cfg, err);
    if (!code) code = config_load_text(cfg, base->source_text, base->source_path, err);
    if (!code && index >= 0) code = sweep_apply(sweep, index, cfg, err);
    if (!code) code = apply_overrides(cli, cfg, err);
    return code;
}

/* Loads CONFIG.ini with its sweep point; fills the sweep fields of the place. */
static int load_config(const struct ddm_cli *cli, long fallback_index, struct run_setup *setup,
                       struct ddm_error *err) {
    struct ddm_config file;
    int code = config_defaults(&file, err);
    if (!code) code = config_load(&file, cli->config_path, err);
    if (!code) code = sweep_parse(&file, &setup->sweep, err);
    long index = -1, requested = cli->array_index >= 0 ? cli->array_index : fallback_index;
    if (!code)
        code = sweep_select(&setup->sweep, cli->config_path, requested,
                            cli->shard_count > 0 || cli->resume_path, &index, err);
    if (!code) code = load_point(cli, &file, &setup->sweep, index, &setup->cfg, err);
    setup->place.sweep_index = index;
    if (!code && index >= 0) {
        setup->place.sweep_count = setup->sweep.points;
        sweep_assignment(&setup->sweep, index, setup->place.sweep_assignment,
                         sizeof setup->place.sweep_assignment);
    }
    config_free(&file);
    return code;
}

int run_setup_fresh(const struct ddm_cli *cli, struct run_setup *setup, struct ddm_error *err) {
    memset(setup, 0, sizeof *setup);
    int code = load_config(cli, -1, setup, err);
    setup->train = cli->stage_train;
    setup->simulate = cli->stage_simulate;
    setup->analyze = cli->stage_analyze;
    setup->model_path = cli->model_path;
    if (!code && cli->shard_count) {
        const int total = setup->cfg.trajectories;
        if (cli->shard_count > total)
            return ddm_fail(err, DDM_EUSAGE,
                            "--shard %d/%d: %d shards of [simulate] trajectories = %d would leave "
                            "some empty; use at most %d shards",
                            cli->shard_index, cli->shard_count, cli->shard_count, total, total);
        setup->place.shard_index = cli->shard_index;
        setup->place.shard_count = cli->shard_count;
        setup->place.first_trajectory =
            (uint64_t)((long)total * cli->shard_index / cli->shard_count);
        setup->place.trajectories_total = total;
    }
    return code;
}

int run_setup_resume(const struct ddm_cli *cli, hid_t file, struct run_setup *setup,
                     struct ddm_error *err) {
    memset(setup, 0, sizeof *setup);
    double complete = 0;
    int code = h5_read_attr_double(file, H5N_COMPLETE, &complete, err);
    if (code)
        code = ddm_fail(err, DDM_EUSAGE,
                        "it is not a ddm_gpu run file (no root attribute "
                        "'complete')");
    if (!code && complete == 1)
        code = ddm_fail(err, DDM_EUSAGE,
                        "the run in it is complete (complete = 1): there is nothing to resume");
    if (!code) code = checkpoint_read(file, &setup->checkpoint, err);
    if (!code) code = runfile_read_place(file, &setup->place, err);
    if (!code)
        code = h5_read_attr_string(file, H5N_BACKEND, setup->backend_name,
                                   sizeof setup->backend_name, err);
    const size_t len = 1 << 22;
    char *stored = code ? NULL : ddm_alloc(len, "the stored configuration", err);
    if (!code && !stored) code = DDM_ERUNTIME;
    if (!code) code = h5_read_attr_string(file, H5N_CONFIG, stored, len, err);
    /* the stored configuration is the run's; --set and --backend may change [run] only */
    if (!code) code = config_defaults(&setup->cfg, err);
    if (!code) code = config_load_text(&setup->cfg, stored, "the stored configuration", err);
    struct run_setup given;
    memset(&given, 0, sizeof given);
    if (!code && cli->config_path) {
        code = load_config(cli, setup->place.sweep_index, &given, err);
        if (!code) { /* [run] comes from the command line, the rest must agree */
            config_free(&setup->cfg);
            setup->cfg = given.cfg;
            memset(&given.cfg, 0, sizeof given.cfg);
        }
    } else if (!code) {
        code = apply_overrides(cli, &setup->cfg, err);
    }
    char *now = code ? NULL : config_to_ini(&setup->cfg);
    char difference[1024];
    if (!code && !now) code = ddm_fail(err, DDM_ERUNTIME, "out of memory");
    if (!code && config_ini_compare(now, stored, difference, sizeof difference))
        code = ddm_fail(err, DDM_EUSAGE,
                        "the configuration differs from the one the run started with (%s, given "
                        "vs stored); give the same CONFIG.ini and --set, or none",
                        difference);
    free(now);
    free(stored);
    config_free(&given.cfg);
    sweep_free(&given.sweep);
    setup->resuming = 1;
    setup->train = setup->checkpoint.stage_train;
    setup->simulate = setup->checkpoint.stage_simulate;
    setup->analyze = setup->checkpoint.stage_analyze;
    if (code) ddm_error_prefix(err, "--resume %s", cli->resume_path);
    return code;
}

void run_setup_free(struct run_setup *setup) {
    config_free(&setup->cfg);
    sweep_free(&setup->sweep);
    checkpoint_free(&setup->checkpoint);
}

int run_list_sweep(const struct ddm_cli *cli, struct ddm_error *err) {
    struct ddm_config file;
    struct ddm_sweep sweep;
    int code = config_defaults(&file, err);
    if (!code) code = config_load(&file, cli->config_path, err);
    if (!code) code = sweep_parse(&file, &sweep, err);
    if (!code && !sweep.nkeys) {
        config_free(&file);
        return ddm_fail(err, DDM_EUSAGE, "--list-sweep: %s has no [sweep] section",
                        cli->config_path);
    }
    if (code) {
        config_free(&file);
        return code;
    }
    printf("# %ld points (%s over", sweep.points, sweep.mode == SWEEP_ZIP ? "zip" : "grid");
    for (int i = 0; i < sweep.nkeys; i++)
        printf("%s %s.%s", i ? "," : "", sweep.keys[i].section, sweep.keys[i].key);
    printf(") of %s\n# index\toutput\tassignment\n", cli->config_path);
    for (long index = 0; index < sweep.points && !code; index++) {
        struct ddm_config cfg;
        struct ddm_system sys = {0};
        char path[4096], assignment[1024];
        sweep_assignment(&sweep, index, assignment, sizeof assignment);
        code = load_point(cli, &file, &sweep, index, &cfg, err);
        if (!code) code = system_build(&sys, &cfg, err);
        const struct output_place place = {&sweep, index, 0, 0};
        if (!code) code = output_path_fill(&cfg, sys.name, &place, path, sizeof path, err);
        if (!code)
            printf("%ld\t%s\t%s\n", index, path, assignment);
        else
            ddm_error_prefix(err, "sweep point %ld (%s)", index, assignment);
        system_free(&sys);
        config_free(&cfg);
    }
    sweep_free(&sweep);
    config_free(&file);
    return code;
}
