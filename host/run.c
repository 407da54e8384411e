/* run.c — one run from the command line: configuration, system, backend, the stages, the HDF5
 * file and the closing summary.
 *
 * The output file is created before the first stage and gets each result as soon as it exists,
 * with the root attribute complete = 0 until everything has been written; a failure part-way
 * closes it cleanly with what it has and says so. `--stages analyze` alone opens the --model
 * file instead and writes /analysis into it (the run's own attributes are left as they are).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddm/analysis.h"
#include "ddm/analysis_pca.h"
#include "ddm/backend.h"
#include "ddm/cli.h"
#include "ddm/input.h"
#include "ddm/progress.h"
#include "ddm/runfile.h"
#include "ddm/simulate.h"
#include "ddm/train.h"

/* Applies the command-line overrides, in the order given, after the file. */
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
    if (cli->output) {
        snprintf(assignment, sizeof assignment, "output.path=%s", cli->output);
        int code = config_set(cfg, assignment, err);
        if (code) return code;
    }
    return DDM_OK;
}

/* [output] path with {name} replaced by the system name. */
static void output_path(const struct ddm_config *cfg, const struct ddm_system *sys, char *buf,
                        size_t len) {
    const char *template = cfg->output_path, *mark = strstr(template, "{name}");
    if (mark)
        snprintf(buf, len, "%.*s%s%s", (int)(mark - template), template, sys->name, mark + 6);
    else
        snprintf(buf, len, "%s", template);
}

/* "a ± e" with the error's precision, or "a" when e is not finite */
static void with_error(char *buf, size_t len, double value, double error) {
    if (isfinite(error))
        snprintf(buf, len, "%.4g ± %.2g", value, error);
    else
        snprintf(buf, len, "%.4g", value);
}

static void print_analysis(const struct ddm_system *sys, const struct ddm_analysis_report *a) {
    const int k = sys->k;
    char net[64], tgt[64];
    printf(
        "analyze   %.2f s (PCA %.2f s, split %.2f s, HHD + statistics %.2f s, Lyapunov %.2f s)\n",
        a->seconds, a->pca_seconds, a->split_seconds, a->hhd_seconds, a->lyapunov_seconds);
    if (a->pca_done)
        printf("          PCA of %ld states: %d components above %g of the variance · largest "
               "angle to range Γ̂ %.3g° · recovery R² %.6f\n",
               a->pca_states, a->pca_significant, PCA_SIGNIFICANT, a->pca_angle_deg, a->pca_r2);
    if (a->split_done)
        printf("          split W = W_S + W_A: max |f_sym + f_asym − f| / max |f| = %.2g\n",
               a->split_residual);
    if (a->hhd_done) {
        with_error(net, sizeof net, a->phi[0], a->phi_err[0]);
        with_error(tgt, sizeof tgt, a->phi[1], a->phi_err[1]);
        printf("          entropy production Φ = ⟨fᵀD⁻¹f + ∇·f⟩: network %s vs target %s "
               "(nats/time)\n",
               net, tgt);
        with_error(net, sizeof net, a->phi_grid[0], a->phi_grid_err[0]);
        with_error(tgt, sizeof tgt, a->phi_grid[1], a->phi_grid_err[1]);
        printf("          Φ on the density grid (kernel-smoothed): network %s vs target %s\n", net,
               tgt);
    }
    if (a->lyapunov_done) {
        with_error(net, sizeof net, a->lyapunov[0][0], a->lyapunov_err[0][0]);
        with_error(tgt, sizeof tgt, a->lyapunov[1][0], a->lyapunov_err[1][0]);
        printf("          Lyapunov λ_max: network %s vs target %s · spectra:", net, tgt);
        for (int p = 0; p < 2; p++) {
            printf(p ? " vs (" : " (");
            for (int c = 0; c < k; c++) printf("%s%.3g", c ? ", " : "", a->lyapunov[p][c]);
            printf(")");
        }
        printf(" · D_KY %.3g vs %.3g\n", a->kaplan_yorke[0], a->kaplan_yorke[1]);
    }
    if (a->stats_done) {
        printf("          Wasserstein W₁ of the marginals, network vs target:");
        for (int c = 0; c < k; c++)
            printf("%s %s %.3g", c ? "," : "", sys->var_names[c], a->wasserstein[c]);
        printf("\n");
    }
    if (a->notes[0]) printf("          notes: %s\n", a->notes);
}

static void print_summary(const struct ddm_config *cfg, const struct ddm_system *sys,
                          const struct ddm_model *model, const struct ddm_backend *backend,
                          const struct ddm_train_report *train, const struct ddm_sim_report *sim,
                          const struct ddm_analysis_report *analysis, const struct ddm_cli *cli,
                          const char *path, double seconds) {
    const int trained = cli->stage_train, simulated = cli->stage_simulate;
    printf("ddm_gpu %s · %s (k=%d, m=%d) · n=%d · backend %s (%s)\n", DDM_VERSION, sys->name,
           sys->k, sys->m, model->n, backend->name, backend->device);
    if (trained) {
        printf("train     %d points (%d paths, %d dropped), %d held out · ridge start ε_f %.2e · "
               "Adam %d epochs · ε_f %.2e · loss %.2e",
               train->M_train + train->M_test, train->paths_used, train->paths_dropped,
               train->M_test, train->ridge_rel_err, train->epochs_run, train->drift_rel_err,
               train->final_loss);
        if (!sys->diffusion_constant) printf(" · ε_σ %.2e", train->diffusion_rel_err);
        printf("\n          %.2f s (sampling %.2f s, ridge %.2f s, Adam %.2f s at %.3g "
               "point·neurons/s)\n",
               train->seconds, train->sampling_seconds, train->ridge_seconds, train->adam_seconds,
               train->point_neurons_per_second);
    }
    if (simulated) {
        printf("simulate  %d trajectories × %ld steps (+%ld burn-in), dt %g · non-finite: network "
               "%ld, target %ld\n",
               cfg->trajectories, sim->steps_done, cfg->burn_in, cfg->dt, sim->nonfinite,
               sim->target_nonfinite);
        printf("          %.2f s: network %.2f s (%.3g neuron-steps/s), target %.2f s, output "
               "%.2f s\n",
               sim->seconds, sim->network_seconds, sim->neuron_steps_per_second,
               sim->target_seconds, sim->output_seconds);
        printf("          stationary mean / variance, network vs coupled target:\n");
        for (int c = 0; c < sys->k; c++)
            printf("            %-6s %10.4g / %-10.4g vs %10.4g / %-10.4g\n", sys->var_names[c],
                   sim->latent_mean[c], sim->latent_var[c], sim->target_mean[c],
                   sim->target_var[c]);
    }
    if (cli->stage_analyze) print_analysis(sys, analysis);
    struct stat st;
    if (stat(path, &st) == 0) printf("output    %s (%.1f MB)\n", path, st.st_size / 1e6);
    printf("total     %.2f s\n", seconds);
}

/* --stages analyze alone: /analysis goes into the --model file, which is opened read-write. */
static int analyze_in_place(const struct ddm_cli *cli, const struct ddm_backend *backend,
                            const struct ddm_system *sys, const struct ddm_model *model,
                            const struct ddm_config *cfg, struct ddm_analysis_report *report,
                            struct ddm_error *err) {
    hid_t file = H5Fopen(cli->model_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ddm_fail(err, DDM_ERUNTIME,
                        "cannot open '%s' for writing /analysis (is it writable, and not open "
                        "in another program?)",
                        cli->model_path);
    }
    int code = analysis_run(backend, sys, model, cfg, file, report, cli->quiet, err);
    if (H5Fclose(file) < 0 && !code)
        code = ddm_fail(err, DDM_ERUNTIME, "closing '%s' failed", cli->model_path);
    return code;
}

int ddm_run(const struct ddm_cli *cli, struct ddm_error *err) {
    const double t_start = now_seconds();
    struct ddm_config cfg;
    struct ddm_system sys = {0};
    struct ddm_model model = {0};
    struct ddm_train_report train = {0};
    struct ddm_sim_report sim = {0};
    struct ddm_analysis_report analysis = {0};
    struct ddm_sim_layout layout = {0};
    struct ddm_runfile rf = {.file = -1};
    char path[4096];
    int code = config_defaults(&cfg, err);
    if (!code) code = config_load(&cfg, cli->config_path, err);
    if (!code) code = apply_overrides(cli, &cfg, err);
    if (!code) code = system_build(&sys, &cfg, err);
    const struct ddm_backend *backend = NULL;
    if (!code) {
        backend = backend_select(cfg.backend, cfg.device, cfg.threads, cli->quiet, err);
        if (!backend) code = err->code;
    }
    /* keys whose check needs the system: before the output file and hours of training */
    if (!code && cli->stage_train) code = sample_check(&cfg, sys.k, err);
    if (!code && cli->stage_simulate) code = simulate_check(&cfg, sys.k, err);
    if (!code && cli->stage_simulate) {
        struct ddm_input cues;
        char at[1200];
        config_where(&cfg, "input", "cues", at, sizeof at);
        code = input_parse(cfg.cues, cfg.cue_strength, &sys, at, &cues, err);
    }
    if (!code && cli->stage_analyze) code = analysis_check(&cfg, &sys, err);
    const int in_place = cli->stage_analyze && !cli->stage_train && !cli->stage_simulate;
    if (!code && cli->model_path) {
        code = runfile_read_model(cli->model_path, &model, err);
        if (!code && (model.k != sys.k || model.m != sys.m))
            code = ddm_fail(err, DDM_EUSAGE,
                            "--model %s has k=%d, m=%d but the configured system '%s' has k=%d, "
                            "m=%d",
                            cli->model_path, model.k, model.m, sys.name, sys.k, sys.m);
    }
    if (!code && in_place) {
        snprintf(path, sizeof path, "%s", cli->model_path);
        code = analyze_in_place(cli, backend, &sys, &model, &cfg, &analysis, err);
    } else if (!code) {
        output_path(&cfg, &sys, path, sizeof path);
        code = runfile_create(&rf, path, &cfg, cli->command_line, backend, err);
    }
    if (!code && !in_place) code = runfile_write_system(&rf, &sys, err);
    if (!code && cli->stage_train) {
        code = train_model(backend, &sys, &cfg, &model, &train, cli->quiet, err);
        if (!code) code = runfile_write_train(&rf, &train, err);
    }
    if (!code && !in_place) code = runfile_write_model(&rf, &model, err);
    if (!code && cli->stage_simulate) {
        code = simulate_layout(&cfg, &model, &layout, err);
        if (!code) code = runfile_simulate_begin(&rf, &cfg, &layout, err);
        if (!code) {
            code = simulate_run(backend, &sys, &model, &cfg, &layout, runfile_simulate_append, &rf,
                                &sim, cli->quiet, err);
            struct ddm_error end_err = {0};
            int end = runfile_simulate_end(&rf, &sim, &end_err);
            if (!code && end) {
                code = end;
                *err = end_err;
            }
        }
    }
    if (!code && cli->stage_analyze && !in_place)
        code = analysis_run(backend, &sys, &model, &cfg, rf.file, &analysis, cli->quiet, err);
    if (rf.file >= 0) {
        struct ddm_error close_err = {0};
        int closed = runfile_close(&rf, code == DDM_OK, &close_err);
        if (!code && closed) {
            code = closed;
            *err = close_err;
        } else if (code) {
            ddm_error_prefix(err,
                             "%s is kept with what was written before the failure "
                             "(attribute complete = 0)",
                             path);
        }
    }
    if (!code && !cli->quiet)
        print_summary(&cfg, &sys, &model, backend, &train, &sim, &analysis, cli, path,
                      now_seconds() - t_start);
    simulate_layout_free(&layout);
    train_report_free(&train);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
    return code;
}
