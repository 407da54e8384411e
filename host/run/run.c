/* run.c — one run from the command line: configuration, system, backend, the stages, the HDF5
 * file; the closing summary is host/run/summary.c.
 *
 * The output path is checked before any work (an existing file is kept unless --overwrite, a
 * path that cannot be created is refused: host/io/output_file.c). The file is created before the
 * first stage and gets each result as soon as it exists, with the root attribute complete = 0
 * until everything has been written; a failure part-way closes it cleanly with what it has and
 * says so. `--stages analyze` alone opens the --model file instead and writes /analysis into it
 * (the run's own attributes are left as they are).
 * A signal stops the training or the simulation at the next epoch or block (or, while the
 * target's paths are sampled, at a path's next 65536-step mark): the checkpoint goes into the file
 * and the run ends with DDM_EINTERRUPTED; `--resume FILE.h5` reopens the file and goes on from
 * there (host/run/run_setup.c reads what it needs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddm/analysis.h"
#include "ddm/analysis_h5.h"
#include "ddm/backend.h"
#include "ddm/cli.h"
#include "ddm/h5io.h"
#include "ddm/h5space.h"
#include "ddm/limits.h"
#include "ddm/merge.h"
#include "ddm/output_file.h"
#include "ddm/h5schema.h"
#include "ddm/runfile_check.h"
#include "ddm/signals.h"
#include "ddm/sim_sizes.h"
#include "ddm/simulate.h"
#include "ddm/threads.h"
#include "ddm/train.h"

#include "run.h"

/* Said even when quiet: the statistics mix trajectories held by a spurious attractor in. */
static void warn_spurious_attractors(const struct fixed_point_summary *fp, const char *path) {
    if (!fp->held_by_spurious) return;
    fprintf(stderr,
            "ddm_gpu: warning: %ld of %ld network trajectories end trapped at %s the target does "
            "not have (%d spurious fixed points, %d of them attracting); "
            "/analysis/fixed_points/rnn in %s lists them\n",
            fp->held_by_spurious, fp->trajectories,
            fp->spurious_attractors > 1 ? "stable fixed points" : "a stable fixed point",
            fp->spurious, fp->spurious_attractors, path);
}

/* --stages analyze alone: /analysis goes into the --model file, which is opened read-write. */
static int analyze_in_place(struct run *run, struct ddm_error *err) {
    const char *path = run->cli->model_path;
    hid_t file = output_open(path, H5F_ACC_RDWR);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_ERUNTIME,
                        "cannot open '%s' for writing /analysis (is it writable, and not open "
                        "in another program?)",
                        path);
    }
    int code = analysis_run(run->backend, &run->sys, &run->model, &run->setup.cfg, file,
                            &run->analysis, run->cli->quiet, err);
    if (!code) warn_spurious_attractors(&run->analysis.fixed, path);
    if (!code) code = h5schema_describe_file(file, err);
    if (h5space_close(file) < 0 && !code)
        code = ddm_fail(err, DDM_ERUNTIME, "closing '%s' failed", path);
    return code;
}

/* Checks of the keys that need the system, before the output file and hours of training. */
static int check_stages(struct run *run, struct ddm_error *err) {
    const struct ddm_config *cfg = &run->setup.cfg;
    const int train = run->setup.train && run->first_stage == CHECKPOINT_TRAIN;
    const int simulate = run->setup.simulate && run->first_stage <= CHECKPOINT_SIMULATE;
    const int uses = (train ? PLAN_TRAIN : 0) | (simulate ? PLAN_SIMULATE : 0) |
                     (run->setup.analyze ? PLAN_ANALYZE : 0);
    int code = config_resolve(&run->setup.cfg, &run->sys, uses, err);
    if (!code && train) code = sample_check(&run->sys, cfg, err);
    if (!code && simulate) code = simulate_check(cfg, run->sys.k, err);
    if (!code && run->setup.analyze) code = analysis_check(cfg, &run->sys, err);
    return code;
}

static int check_model(const struct run *run, const char *path, struct ddm_error *err) {
    if (run->model.k == run->sys.k && run->model.m == run->sys.m) return DDM_OK;
    return ddm_fail(err, DDM_EUSAGE,
                    "--model %s has k=%d, m=%d but the configured system '%s' has k=%d, m=%d", path,
                    run->model.k, run->model.m, run->sys.name, run->sys.k, run->sys.m);
}

/* --stages analyze alone writes into the --model file; every other run into its own new file. */
static int analyzes_in_place(const struct run_setup *setup) {
    return setup->analyze && !setup->train && !setup->simulate && !setup->resuming;
}

/* The same file (device and inode), when both exist. */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The output file of a fresh run, checked before any work: it must not be the --model file, an
 * existing one is kept unless --overwrite, and a path that cannot be created is refused (the
 * creation in ddm_run is exclusive, so nothing that appears in between is lost either). */
static int check_output(struct run *run, struct ddm_error *err) {
    const struct run_setup *setup = &run->setup;
    const struct output_place place = {&setup->sweep, setup->place.sweep_index,
                                       setup->place.shard_index, setup->place.shard_count};
    int code =
        output_path_fill(&setup->cfg, run->sys.name, &place, run->path, sizeof run->path, err);
    if (!code && setup->model_path && same_file(run->path, setup->model_path))
        code = ddm_fail(err, DDM_EUSAGE,
                        "the output file '%s' is the --model file: a run does not write over the "
                        "model it reads (give another --output; --stages analyze alone writes "
                        "/analysis into the --model file)",
                        run->path);
    if (!code) code = output_check(run->path, run->cli->overwrite, "--output another path", err);
    return code;
}

/* The shape of /simulate in the file the analysis reads (B = 0 when it has none). */
static void recorded_shape(const char *path, int *B, long *T) {
    hid_t file = path ? output_open(path, H5F_ACC_RDONLY) : -1;
    int present = 0, k = 0;
    struct ddm_error ignored;
    *B = 0, *T = 0;
    if (file < 0 || runfile_simulate_shape(file, &present, B, T, &k, &ignored) || !present)
        *B = 0, *T = 0;
    if (file >= 0) H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
}

/* The memory each stage will need against what the machine allows (host/run/limits.c): once the
 * model's n is known, before the output file and the training. */
static int check_memory(const struct run *run, struct ddm_error *err) {
    const struct run_setup *setup = &run->setup;
    const struct ddm_config *cfg = &setup->cfg;
    const int train = setup->train && run->first_stage == CHECKPOINT_TRAIN;
    const int simulate = setup->simulate && run->first_stage <= CHECKPOINT_SIMULATE;
    struct memory_run sizes = {
        .n = run->model.n && !train ? run->model.n
             : cfg->neurons > 0     ? cfg->neurons
                                    : TRAIN_NEURONS_AUTO_MAX,
        .k = run->sys.k,
        .m = run->sys.m,
        .state_dependent = !run->sys.diffusion_constant,
        .B = cfg->trajectories,
        .B_total = cfg->trajectories,
        .wells = run->sys.native_wells,
        .resuming = setup->resuming && run->first_stage == CHECKPOINT_SIMULATE,
        .cuda = !strcmp(run->backend->name, "cuda"),
        .forced = run->sys.forcing != NULL,
        .time_noise = run->sys.diffusion_time != NULL,
    };
    const struct ddm_run_place *place = &setup->place;
    if (place->shard_count) {
        long first, end;
        sim_shard_range(cfg->trajectories, place->shard_index, place->shard_count, &first, &end);
        sizes.B = (int)(end - first);
    }
    if (simulate) {
        sizes.analysis_B = sizes.B;
        sizes.analysis_T = cfg->steps / cfg->record_every + 1;
    } else if (setup->analyze) {
        recorded_shape(setup->resuming ? run->path : setup->model_path, &sizes.analysis_B,
                       &sizes.analysis_T);
    }
    return limits_check_run(cfg, &sizes, run->backend, train, simulate, setup->analyze, err);
}

/* [run] backend, except that a diffusion that uses t is simulated on the CPU only (the CUDA
 * kernel keeps Ŝ fixed over a block): auto takes the CPU and says why, cuda is refused. */
static int backend_choice(const struct run *run, int *choice, struct ddm_error *err) {
    *choice = run->setup.cfg.backend;
    if (!run->sys.diffusion_time || !run->setup.simulate) return DDM_OK;
    if (*choice == BACKEND_CUDA) {
        char at[600];
        config_where(&run->setup.cfg, "run", "backend", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = cuda: the diffusion uses t, which only the CPU simulation takes (the "
                        "CUDA kernel keeps Ŝ fixed over a block); set backend = cpu",
                        at);
    }
    if (*choice == BACKEND_AUTO && !run->cli->quiet)
        fprintf(stderr, "backend auto: CPU (the diffusion uses t, which only the CPU simulation "
                        "takes)\n");
    *choice = BACKEND_CPU;
    return DDM_OK;
}

/* Configuration, system, output path, model, then the backend and the memory check. For --resume
 * the file is read through a read-only handle (checked, then its configuration, checkpoint and
 * model), and reopened read-write only when all of that has passed: a refused --resume leaves it
 * byte for byte. */
static int prepare(struct run *run, struct ddm_error *err) {
    const struct ddm_cli *cli = run->cli;
    struct run_setup *setup = &run->setup;
    hid_t stored = -1; /* --resume: the file, read-only */
    int code = DDM_OK;
    if (cli->resume_path) {
        snprintf(run->path, sizeof run->path, "%s", cli->resume_path);
        code = runfile_open_read(cli->resume_path, "--resume", &stored, err);
        if (!code) code = run_setup_resume(cli, stored, setup, err);
        run->first_stage = setup->checkpoint.stage;
    } else {
        code = run_setup_fresh(cli, setup, err);
        run->first_stage = setup->train      ? CHECKPOINT_TRAIN
                           : setup->simulate ? CHECKPOINT_SIMULATE
                                             : CHECKPOINT_ANALYZE;
    }
    if (!code) code = system_build(&run->sys, &setup->cfg, err);
    if (!code && !setup->resuming && !analyzes_in_place(setup)) code = check_output(run, err);
    if (!code) code = check_stages(run, err);
    if (!code && setup->model_path) {
        code = runfile_read_model(setup->model_path, &run->model, err);
        if (!code) code = check_model(run, setup->model_path, err);
        if (!code && setup->analyze && !setup->simulate)
            code = merge_check_sources(setup->model_path, err);
    } else if (!code && setup->resuming && run->first_stage != CHECKPOINT_TRAIN) {
        code = runfile_read_model_from(stored, run->path, &run->model, err);
        if (!code) code = check_model(run, run->path, err);
    }
    if (stored >= 0) H5Fclose(stored);
    if (!code && run->sys.recording && run->model.n) system_use_model(&run->sys, &run->model);
    int choice = BACKEND_AUTO;
    if (!code) code = backend_choice(run, &choice, err);
    if (!code) { /* last: it may start a device, and says which backend it chose */
        run->backend =
            backend_select(choice, setup->cfg.device, setup->cfg.threads, cli->quiet, err);
        if (!run->backend) code = err->code;
    }
    if (!code && setup->resuming && strcmp(run->backend->name, setup->backend_name))
        code = ddm_fail(err, DDM_EUSAGE,
                        "--resume %s: the run was started on the %s backend and this one would "
                        "go on on %s; a bit-identical continuation needs the same backend "
                        "(--backend %s)",
                        run->path, setup->backend_name, run->backend->name, setup->backend_name);
    if (!code) code = check_memory(run, err);
    if (!code && setup->resuming) code = runfile_open(&run->rf, run->path, err);
    return code;
}

/* The checkpoint records the run's stages, so --resume knows what is left. */
static void with_stages(const struct run *run, struct ddm_checkpoint *cp) {
    cp->stage_train = run->setup.train;
    cp->stage_simulate = run->setup.simulate;
    cp->stage_analyze = run->setup.analyze;
}

/* Ends the run after a signal: the checkpoint goes into the file, the message says how to go on.
 * err holds what the stage said ("stopped by SIGTERM after epoch 3 of 200"). */
static int write_stop(struct run *run, struct ddm_checkpoint *cp, struct ddm_error *err) {
    with_stages(run, cp);
    char said[sizeof err->message];
    snprintf(said, sizeof said, "%s", err->message);
    int code = checkpoint_write(run->rf.file, cp, stop_signal_name(stop_requested()), err);
    if (code) {
        ddm_error_prefix(err, "%s, but writing the checkpoint failed", said);
        return code;
    }
    return ddm_fail(err, DDM_EINTERRUPTED,
                    "%s; checkpoint written to %s (continue with: ddm_gpu --resume %s)", said,
                    run->path, run->path);
}

static int stage_train(struct run *run, struct ddm_error *err) {
    struct run_setup *setup = &run->setup;
    const struct ddm_train_state *train = &setup->checkpoint.train; /* n = 0: none yet */
    const struct ddm_train_state *from =
        setup->resuming && run->first_stage == CHECKPOINT_TRAIN && train->n > 0 ? train : NULL;
    struct ddm_checkpoint stopped = {.stage = CHECKPOINT_TRAIN};
    int code = train_model_from(run->backend, &run->sys, &setup->cfg, from, &stopped.train,
                                &run->model, &run->train, run->cli->quiet, err);
    if (code == DDM_EINTERRUPTED) code = write_stop(run, &stopped, err);
    train_state_free(&stopped.train);
    if (!code && run->sys.recording) system_use_model(&run->sys, &run->model);
    if (!code) code = runfile_write_train(&run->rf, &run->train, err);
    if (!code) code = runfile_write_model(&run->rf, &run->model, err);
    return code;
}

static int stage_simulate(struct run *run, struct ddm_error *err) {
    struct run_setup *setup = &run->setup;
    const struct ddm_sim_state *from =
        setup->resuming && run->first_stage == CHECKPOINT_SIMULATE ? &setup->checkpoint.sim : NULL;
    int code = simulate_layout(&setup->cfg, &run->model, &run->layout, err);
    if (!code && setup->place.shard_count)
        simulate_layout_shard(&run->layout, setup->place.shard_index, setup->place.shard_count);
    if (!code)
        code = from ? runfile_simulate_reopen(&run->rf, from->recorded, err)
                    : runfile_simulate_begin(&run->rf, &setup->cfg, &run->layout, err);
    if (!code)
        code =
            runfile_simulate_live(&run->rf, &run->sys, &run->layout, setup->cfg.output_live, err);
    if (code) return code;
    struct ddm_checkpoint stopped = {.stage = CHECKPOINT_SIMULATE};
    code = simulate_run_from(run->backend, &run->sys, &run->model, &setup->cfg, &run->layout,
                             runfile_simulate_append, &run->rf, from, &stopped.sim, &run->sim,
                             run->cli->quiet, err);
    struct ddm_error end_err = {0};
    int end = runfile_simulate_unlive(&run->rf, &end_err);
    if (run->rf.file < 0) return end ? (*err = end_err, end) : code;
    if (!end) end = runfile_simulate_end(&run->rf, &run->sim, &end_err);
    if (!code && end) {
        code = end;
        *err = end_err;
    }
    if (code == DDM_EINTERRUPTED) code = write_stop(run, &stopped, err);
    sim_state_free(&stopped.sim);
    if (!code && run->sim.nonfinite) /* drop or keep: the run went on; say so even when quiet */
        fprintf(stderr,
                "ddm_gpu: warning: %ld of %d network trajectories blew up (the first, %ld, at "
                "step %llu) and were %s; /simulate/nonfinite_step in %s has each one's step\n",
                run->sim.nonfinite, run->layout.B, run->sim.nonfinite_trajectory,
                (unsigned long long)run->sim.nonfinite_step,
                setup->cfg.on_nonfinite == NONFINITE_DROP
                    ? "frozen as NaN and left out of the analysis"
                    : "frozen as NaN (their finite part stays in the analysis)",
                run->path);
    return code;
}

/* The analysis is not cut into pieces: an `analyze` checkpoint written first lets a job killed
 * during it be resumed by running the analysis again. */
static int stage_analyze(struct run *run, struct ddm_error *err) {
    struct ddm_checkpoint marker = {.stage = CHECKPOINT_ANALYZE};
    if (stop_requested()) {
        ddm_fail(err, DDM_EINTERRUPTED, "stopped by %s before the analysis",
                 stop_signal_name(stop_requested()));
        return write_stop(run, &marker, err);
    }
    with_stages(run, &marker);
    int code = checkpoint_write(run->rf.file, &marker, NULL, err);
    if (!code)
        code = analysis_run(run->backend, &run->sys, &run->model, &run->setup.cfg, run->rf.file,
                            &run->analysis, run->cli->quiet, err);
    if (!code) warn_spurious_attractors(&run->analysis.fixed, run->path);
    return code;
}

/* The stages, from the first one (or the one the checkpoint stopped in). */
static int run_stages(struct run *run, struct ddm_error *err) {
    struct run_setup *setup = &run->setup;
    int code = DDM_OK;
    if (setup->resuming) {
        double resumes = 0;
        if (H5Aexists(run->rf.file, H5N_RESUMES) > 0)
            code = h5_read_attr_double(run->rf.file, H5N_RESUMES, &resumes, err);
        if (!code) code = h5_attr_int(run->rf.file, H5N_RESUMES, (long long)resumes + 1, err);
    } else {
        code = runfile_write_place(&run->rf, &setup->place, err);
        if (!code) code = runfile_write_system(&run->rf, &run->sys, err);
    }
    if (!code && setup->train && run->first_stage == CHECKPOINT_TRAIN) {
        code = stage_train(run, err);
    } else if (!code && !setup->resuming) { /* a trained model from --model */
        code = runfile_copy_train(&run->rf, setup->model_path, err);
        if (!code) code = runfile_write_model(&run->rf, &run->model, err);
    }
    if (!code && setup->simulate && run->first_stage <= CHECKPOINT_SIMULATE)
        code = stage_simulate(run, err);
    if (!code && setup->analyze) code = stage_analyze(run, err);
    if (!code) code = checkpoint_remove(run->rf.file, err);
    if (!code && H5Aexists(run->rf.file, H5N_INTERRUPTED) > 0)
        code = h5_attr_int(run->rf.file, H5N_INTERRUPTED, 0, err);
    return code;
}

int ddm_run(const struct ddm_cli *cli, struct ddm_error *err) {
    if (cli->list_sweep) return run_list_sweep(cli, err);
    const double t_start = now_seconds();
    struct run *run = ddm_calloc(1, sizeof *run, "the run", err);
    if (!run) return DDM_ERUNTIME;
    run->cli = cli;
    run->rf.file = -1;
    run->rf.live_lock = -1;
    cpu_clock_now(&run->clock_start);
    int code = prepare(run, err);
    const struct run_setup *setup = &run->setup;
    const int in_place = analyzes_in_place(setup);
    if (!code && !in_place) stop_signals_install(); /* before the file exists: no signal is lost */
    if (!code && in_place) {
        snprintf(run->path, sizeof run->path, "%s", cli->model_path);
        code = analyze_in_place(run, err);
    } else if (!code && !setup->resuming) {
        code = runfile_create(&run->rf, run->path, cli->overwrite, &setup->cfg, cli->command_line,
                              run->backend, err);
    }
    const int started = !code && !in_place;
    if (started) code = run_stages(run, err);
    if (run->rf.file >= 0 && !started) {
        H5Fclose(run->rf.file); /* a new file whose root could not be written */
    } else if (run->rf.file >= 0) {
        struct ddm_error close_err = {0};
        int closed = runfile_close(&run->rf, code == DDM_OK, &close_err);
        if (!code && closed) {
            code = closed;
            *err = close_err;
        } else if (code && code != DDM_EINTERRUPTED) {
            ddm_error_prefix(err,
                             "%s is kept with what was written before the failure "
                             "(attribute complete = 0)",
                             run->path);
        }
    }
    stop_signals_restore();
    if (!code && !cli->quiet) run_print_summary(run, now_seconds() - t_start);
    simulate_layout_free(&run->layout);
    sim_report_free(&run->sim);
    train_report_free(&run->train);
    model_free(&run->model);
    system_free(&run->sys);
    run_setup_free(&run->setup);
    free(run);
    return code;
}
