/* summary.c — the closing summary of a run on stdout: the run's place, what the training chose
 * and gained (on held-out points and fresh paths), the simulation's starts and moments, each
 * analysis figure with its error bar against the target's, and the trust warnings.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ddm/analysis_pca.h"
#include "ddm/data_diffusion.h"
#include "ddm/h5space.h"
#include "ddm/input.h"
#include "ddm/trust.h"
#include "run.h"

/* "a ± e" with the error's precision, "a" when e is not finite, "not finite" for a NaN or ±inf a
 * (its reason is in the notes) */
static void with_error(char *buf, size_t len, double value, double error) {
    if (!isfinite(value))
        snprintf(buf, len, "not finite");
    else if (isfinite(error))
        snprintf(buf, len, "%.4g ± %.2g", value, error);
    else
        snprintf(buf, len, "%.4g", value);
}

/* Φ of both processes, from the samples and on the density grid, and what they rest on. */
static void print_entropy(const struct ddm_analysis_report *a) {
    char net[64], tgt[64];
    with_error(net, sizeof net, a->phi[0], a->phi_err[0]);
    with_error(tgt, sizeof tgt, a->phi[1], a->phi_err[1]);
    if (isfinite(a->phi[0]) || isfinite(a->phi[1]))
        printf("          entropy production Φ = ⟨fᵀD⁻¹f + ∇·f⟩: network %s vs target %s "
               "(nats/time)\n",
               net, tgt);
    else /* the sample identity needs a constant, invertible D (a σ(z) or a singular D) */
        printf(
            "          entropy production Φ = ⟨fᵀD⁻¹f + ∇·f⟩: not computed: it needs a constant, "
            "invertible D (notes)%s\n",
            a->phi_grid_on ? "; the grid estimate below does not" : "");
    if (a->phi_grid_on) {
        with_error(net, sizeof net, a->phi_grid[0], a->phi_grid_err[0]);
        with_error(tgt, sizeof tgt, a->phi_grid[1], a->phi_grid_err[1]);
        printf("          Φ on the density grid (kernel-smoothed, noise bias removed by the "
               "jackknife): network %s vs target %s\n",
               net, tgt);
    }
    for (int p = 0; p < 2; p++)
        if (a->phi_sigmas[p] > DDM_PHI_SIGMAS)
            printf("          warning: the two Φ of the %s differ by %.1f combined error bars "
                   "(see notes)\n",
                   p ? "target" : "network", a->phi_sigmas[p]);
    if (a->stationary_times < a->recorded_times)
        printf("          density, Φ and statistics from %ld of the %ld recorded times after the "
               "burn-in fraction: those outside every cue window and recall_delay\n",
               a->stationary_times, a->recorded_times);
}

/* λ_max with its error bar, the spectra, D_KY and the starts averaged. */
static void print_lyapunov(const struct ddm_analysis_report *a, int k) {
    char net[64], tgt[64];
    with_error(net, sizeof net, a->lyapunov[0][0], a->lyapunov_err[0][0]);
    with_error(tgt, sizeof tgt, a->lyapunov[1][0], a->lyapunov_err[1][0]);
    for (int p = 0; p < 2; p++)
        if (!a->lyapunov_starts[p]) snprintf(p ? tgt : net, sizeof net, "none averaged");
    printf("          Lyapunov λ_max: network %s vs target %s · spectra:", net, tgt);
    for (int p = 0; p < 2; p++) { /* no start averaged: none (the starts' ends are listed below) */
        printf(p ? " vs (" : " (");
        for (int c = 0; c < k && a->lyapunov_starts[p]; c++)
            printf("%s%.3g", c ? ", " : "", a->lyapunov[p][c]);
        printf("%s)", a->lyapunov_starts[p] ? "" : "none averaged");
    }
    char dky[2][32];
    for (int p = 0; p < 2; p++)
        snprintf(dky[p], sizeof dky[p], isfinite(a->kaplan_yorke[p]) ? "%.3g" : "none",
                 a->kaplan_yorke[p]);
    printf(" · D_KY %s vs %s · starts averaged %d, %d of %d\n", dky[0], dky[1],
           a->lyapunov_starts[0], a->lyapunov_starts[1], a->lyapunov_total);
    for (int p = 0; p < 2; p++)
        if (a->lyapunov_elsewhere[p][0])
            printf("          Lyapunov %s, not averaged: %s\n", p ? "target" : "network",
                   a->lyapunov_elsewhere[p]);
}

/* Recall of the cues, spontaneous switches, the forward/backward asymmetry. */
static void print_memory(const struct ddm_analysis_report *a) {
    char net[64], tgt[64];
    if (a->memory_cues)
        printf("          memory: recall %.1f %% vs %.1f %% over %d cues · ", 100 * a->recall[0],
               100 * a->recall[1], a->memory_cues);
    else
        printf("          memory: ");
    printf("spontaneous switches %.3g vs %.3g per path and time", a->switch_rate[0],
           a->switch_rate[1]);
    if (isfinite(a->forward_backward[0]) || isfinite(a->forward_backward[1])) {
        with_error(net, sizeof net, a->forward_backward[0], a->forward_backward_err[0]);
        with_error(tgt, sizeof tgt, a->forward_backward[1], a->forward_backward_err[1]);
        for (int p = 0; p < 2; p++) /* forward switches and not one backward */
            if (isinf(a->forward_backward[p]))
                snprintf(p ? tgt : net, sizeof net, "∞ (no backward switch)");
        printf(" · forward/backward %s vs %s", net, tgt);
    }
    printf(" (network vs target)\n");
}

static void print_analysis(const struct ddm_system *sys, const struct ddm_analysis_report *a) {
    const int k = sys->k;
    printf(
        "analyze   %.2f s (PCA %.2f s, split %.2f s, HHD + statistics %.2f s, Lyapunov %.2f s%s, "
        "fixed points %.2f s)\n",
        a->seconds, a->pca_seconds, a->split_seconds, a->hhd_seconds, a->lyapunov_seconds,
        a->memory_done ? ", memory" : "", a->fixed_seconds);
    if (a->pca_done)
        printf("          PCA of %ld states: %d components above %g of the variance · largest "
               "angle to range Γ̂ %.3g° · recovery R² %.6f\n",
               a->pca_states, a->pca_significant, PCA_SIGNIFICANT, a->pca_angle_deg, a->pca_r2);
    if (a->split_done)
        printf("          split W = W_S + W_A: max |f_sym + f_asym − f| / max |f| = %.2g\n",
               a->split_residual);
    if (a->split_done)
        printf("          energy: f_sym descends E (f_sym · ∇E ≤ 0) at %.1f %% of the grid and "
               "%.1f %% of %ld stationary samples · the φ′-weighted f_sym_metric at %.1f %% and "
               "%.1f %%\n",
               100 * a->descent_grid, 100 * a->descent_samples, a->descent_sample_count,
               100 * a->descent_grid_metric, 100 * a->descent_samples_metric);
    if (a->hhd_done) print_entropy(a);
    if (a->lyapunov_done) print_lyapunov(a, k);
    if (a->stats_done) {
        printf("          Wasserstein W₁ of the marginals, network vs target:");
        for (int c = 0; c < k; c++)
            printf("%s %s %.3g", c ? "," : "", sys->var_names[c], a->wasserstein[c]);
        if (a->stats_worst >= 0) /* W₁ between the target's even and odd trajectories */
            printf(" · in target std, against the sampling floor (target vs itself):");
        for (int c = 0; c < k && a->stats_worst >= 0; c++)
            printf(isfinite(a->wasserstein_floor_std[c]) ? "%s %s %.2g vs %.2g"
                                                         : "%s %s %.2g vs none (one trajectory)",
                   c ? "," : "", sys->var_names[c], a->wasserstein_std[c],
                   a->wasserstein_floor_std[c]);
        printf("\n");
        const int worst = a->stats_worst;
        if (worst >= 0 &&
            trust_statistics_far(a->wasserstein_std[worst], a->wasserstein_floor_std[worst]))
            printf("          warning: stationary statistics far from the target's: W₁ of %s is "
                   "%.2g of the target's std (above %g and %g times its sampling floor %.2g)\n",
                   sys->var_names[worst], a->wasserstein_std[worst], DDM_STATS_WARN,
                   DDM_STATS_FLOOR_FACTOR, a->wasserstein_floor_std[worst]);
    }
    if (a->memory_done) print_memory(a);
    if (a->fixed_done) {
        const struct fixed_point_summary *fp = &a->fixed;
        printf("          fixed points: target %d, network %d (%d matched, %d spurious, %d "
               "missed)",
               fp->target, fp->network, fp->matched, fp->spurious, fp->missed);
        if (fp->trajectories)
            printf(" · %ld of %ld network trajectories end near a spurious point (%ld at "
                   "spurious attractors)",
                   fp->ends_at_spurious, fp->trajectories, fp->held_by_spurious);
        printf("\n");
    }
    if (a->data.done)
        analysis_data_print(sys, &a->data, a->hhd_done ? a->phi[0] : NAN,
                            a->hhd_done ? a->phi_err[0] : NAN);
    if (a->notes[0]) printf("          notes: %s\n", a->notes);
}

/* "cluster   sweep point 2 of 6 (...) · shard 1/4: trajectories 250..499 of 1000 · resumed" */
static void print_place(const struct run *run) {
    const struct ddm_run_place *place = &run->setup.place;
    if (place->sweep_index < 0 && !place->shard_count && !run->setup.resuming) return;
    const char *gap = "";
    printf("cluster  ");
    if (place->sweep_index >= 0) {
        printf(" sweep point %ld of %ld (%s)", place->sweep_index, place->sweep_count,
               place->sweep_assignment);
        gap = " ·";
    }
    if (place->shard_count) {
        printf("%s shard %d/%d: trajectories %llu..%llu of %d", gap, place->shard_index,
               place->shard_count, (unsigned long long)place->first_trajectory,
               (unsigned long long)place->first_trajectory + (unsigned long long)run->layout.B - 1,
               place->trajectories_total);
        gap = " ·";
    }
    if (run->setup.resuming) {
        static const char *const stages[] = {"train", "simulate", "analyze"};
        printf("%s resumed from a %s checkpoint", gap, stages[run->setup.checkpoint.stage]);
        const struct ddm_train_state *train = &run->setup.checkpoint.train;
        if (run->setup.checkpoint.stage == CHECKPOINT_TRAIN && train->n &&
            train->gn_rounds_done >= 0)
            printf(" (after Gauss–Newton round %d)", train->gn_rounds_done);
        else if (run->setup.checkpoint.stage == CHECKPOINT_TRAIN && train->n)
            printf(" (epoch %d)", train->epochs_done);
        if (run->setup.checkpoint.stage == CHECKPOINT_TRAIN && !run->setup.checkpoint.train.n)
            printf(" (stopped while sampling: trained from the start)");
        if (run->setup.checkpoint.stage == CHECKPOINT_SIMULATE)
            printf(" (step %llu)", (unsigned long long)run->setup.checkpoint.sim.step);
    }
    printf("\n");
}

/* [system] diffusion = estimate_state: the fitted 2D(z) (its text cut at 400 characters). */
static void print_diffusion_fit(const struct diffusion_fit *fit) {
    printf("\n          σ(z) learnt (estimate_state): degree %d by held-out error (relative to a "
           "constant:",
           fit->degree);
    for (int d = 0; d < fit->degrees_tried; d++) printf(" %.4f", fit->heldout_score[d]);
    printf("), eigenvalue floor %.3g (of 2D in (z − μ)/s) at %.2g%% of the points · 2D(z) = σσᵀ "
           "= %.400s%s",
           fit->floor, 100 * fit->floored_share, fit->text, strlen(fit->text) > 400 ? " …" : "");
}

/* A system learnt from data: ε_f is against held-out increments, whose noise sets its floor. */
static void print_data_fit(const struct ddm_system *sys, const struct ddm_train_report *train) {
    const int k = sys->k;
    printf("\n          from data %s: %ld + %ld held-out increments, dt %g · ε_f against "
           "held-out increments %.3g = %.3g × the noise floor %.3g · ",
           sys->recording->path, train->data_fit_increments, train->data_heldout_increments,
           sys->recording->dt, train->drift_rel_err, train->drift_rel_err / train->data_noise_floor,
           train->data_noise_floor);
    if (isfinite(train->data_drift_excess) && train->data_drift_excess_resolved)
        printf("ε_f with the noise taken out %.2g (2σ bound %.2g)", train->data_drift_excess,
               train->data_drift_excess_bound);
    else if (isfinite(train->data_drift_excess)) /* within its error of 0: only a bound */
        printf("ε_f with the noise taken out: not resolved by the held-out increments, < %.2g "
               "(2σ; the estimate %.2g is noise)",
               train->data_drift_excess_bound, train->data_drift_excess);
    else /* the increments' noise is as large as their whole spread: nothing is left to compare */
        printf("ε_f with the noise taken out: not resolvable (noise floor ≥ 1: the increments' "
               "noise is their whole spread, so sample less often; or too few held-out ones)");
    printf("\n          D estimated (diag):");
    for (int c = 0; c < k; c++) printf(" %.4g", train->data_D[c * k + c]);
    if (sys->diffusion_estimated) printf(" (used as σσᵀ/2)");
    printf(" · measurement noise σ_obs² corrected:");
    for (int c = 0; c < k; c++) printf(" %.3g", train->data_noise_var[c]);
    if (train->ridge_used > 1e8) /* the evidence's prior precision ran to ∞: weights ≈ 0 */
        printf(" · ridge λ > 1e8 (evidence: the readout's weights are ≈ 0)");
    else
        printf(" · ridge λ %.2g (evidence)", train->ridge_used);
    if (train->data_diffusion_fit) print_diffusion_fit(train->data_diffusion_fit);
}

/* ε_f on the points of fresh target paths, which the held-out points (on the training paths)
 * can read far lower when rare far excursions carry the error (docs/training.md). */
static void print_fresh_paths(const struct ddm_train_report *train) {
    if (train->fresh_failed[0])
        printf("          fresh paths: none, their draw failed (%s); the fit verdict reads the "
               "held-out ε_f alone\n",
               train->fresh_failed);
    if (train->choice_failed[0])
        printf("          choice paths: none, their draw failed (%s); the held-out points judged "
               "the Gauss–Newton rounds\n",
               train->choice_failed);
    if (train->M_fresh == 0) return;
    /* a run resumed from a checkpoint written before the fresh figures were kept lacks the
     * ridge start's (NaN): the line then gives the final figure alone */
    printf("          fresh paths (%d points, not trained on): ε_f ", train->M_fresh);
    if (isfinite(train->ridge_fresh_rel_err))
        printf("%.2e at the ridge start → ", train->ridge_fresh_rel_err);
    printf("%.2e", train->fresh_rel_err);
    if (train->fresh_worst_share > 0.9)
        printf("; %.0f %% of it from the worst 1 %% of the points (another draw of paths can "
               "move it several-fold)",
               100 * train->fresh_worst_share);
    /* said only where it matters: above a tenth of the fit warning's 1 % */
    const double ratio = train->fresh_rel_err / train->drift_rel_err;
    if (isfinite(ratio) && ratio > 2 && train->fresh_rel_err > 0.1 * DDM_FIT_WARN)
        printf("; ×%.1f the held-out figure: held-out points lie on the training paths and "
               "miss where new paths go, so compare this one",
               ratio);
    printf("\n");
}

/* "; fresh paths A → B (×r)" of a fine-tuning stage, or nothing when there are none. */
static void print_fresh_gain(double before, double after) {
    if (isfinite(before) && isfinite(after) && after > 0)
        printf("; fresh paths %.2e → %.2e (×%.2f)", before, after, before / after);
}

/* The choices of the training (path step, n, g, g_b) and what the fine-tuning did. */
static void print_train_choices(const struct ddm_config *cfg,
                                const struct ddm_train_report *train) {
    printf("          path_dt %g%s · n %d%s%s%s · init_gain %g, init_bias %g%s%s%s\n",
           train->path_dt, cfg->path_dt == DDM_AUTO ? " (auto: from the Jacobian)" : "",
           train->neurons, train->neurons_choice[0] ? " (auto; ridge ε_f by n: " : "",
           train->neurons_choice, train->neurons_choice[0] ? ")" : "", train->init_gain,
           train->init_bias, train->gain_choice[0] ? " (auto; ridge ε_f by g/g_b: " : "",
           train->gain_choice, train->gain_choice[0] ? ")" : "");
    if (train->gn_skipped)
        printf("          Gauss–Newton: skipped (auto): the ridge ε_f %.2e is under a tenth of "
               "[train] target_drift_error %g; gauss_newton = 8 runs it\n",
               train->ridge_rel_err, cfg->target_drift_error);
    if (train->gn_rounds_kept + train->gn_rounds_undone > 0) {
        double gn_gain = train->gn_rel_err > 0 ? train->ridge_rel_err / train->gn_rel_err : 1;
        printf("          Gauss–Newton: ε_f %.2e → %.2e (×%.2f)", train->ridge_rel_err,
               train->gn_rel_err, gn_gain);
        print_fresh_gain(train->ridge_fresh_rel_err, train->gn_fresh_rel_err);
        printf(", %d rounds kept, %d undone, %.1f s%s\n", train->gn_rounds_kept,
               train->gn_rounds_undone, train->gn_seconds,
               !train->gn_stalled           ? ""
               : train->gn_rounds_kept == 0 ? "; stopped: it cannot improve on the ridge start "
                                              "(rounds in a row gained < 2%)"
                                            : "; stopped: rounds in a row gained < 2%");
        const int from_data = cfg->data_path && cfg->data_path[0];
        if (train->gn_stalled && train->gn_rounds_overfit > 0 && gn_gain < 2 && !from_data)
            printf("          Gauss–Newton is limited by the training points: in %d round(s) the "
                   "training loss fell while the ε_f on the choice paths rose; more [train] "
                   "samples (now %d) or paths let it gain\n",
                   train->gn_rounds_overfit, cfg->samples);
        else if (train->gn_stalled && train->gn_rounds_overfit > 0 && gn_gain < 2)
            printf("          Gauss–Newton is limited by the data: in %d round(s) the training "
                   "loss fell while the held-out ε_f rose; longer or more recordings (now %d "
                   "training points) let it gain\n",
                   train->gn_rounds_overfit, train->M_train);
    }
    if (cfg->epochs == 0) return;
    const double adam_start = train->gn_rounds_kept + train->gn_rounds_undone > 0
                                  ? train->gn_rel_err
                                  : train->ridge_rel_err;
    double gain = train->drift_rel_err > 0 ? adam_start / train->drift_rel_err : 1;
    printf("          fine-tuning (Adam): ε_f %.2e → %.2e (×%.2f)", adam_start,
           train->drift_rel_err, gain);
    print_fresh_gain(train->gn_rounds_kept + train->gn_rounds_undone > 0
                         ? train->gn_fresh_rel_err
                         : train->ridge_fresh_rel_err,
                     train->fresh_rel_err);
    printf(" in %d epochs, %.1f s, %d rounds kept, %d undone%s\n", train->epochs_run,
           train->adam_seconds, train->rounds_accepted, train->rounds_rejected,
           !train->stopped_early ? ""
           : gain < 1.02         ? "; stopped early: it cannot improve on its start (3 rounds in a "
                                   "row gained < 2%)"
                                 : "; stopped early: 3 rounds in a row gained < 2%");
}

void run_print_summary(const struct run *run, double seconds) {
    const struct ddm_config *cfg = &run->setup.cfg;
    const struct ddm_system *sys = &run->sys;
    const struct ddm_train_report *train = &run->train;
    const struct ddm_sim_report *sim = &run->sim;
    const int trained = run->setup.train && run->first_stage == CHECKPOINT_TRAIN;
    const int simulated = run->setup.simulate && run->first_stage <= CHECKPOINT_SIMULATE;
    printf("ddm_gpu %s · %s (k=%d, m=%d) · n=%d · backend %s (%s)\n", DDM_VERSION, sys->name,
           sys->k, sys->m, run->model.n, run->backend->name, run->backend->device);
    print_place(run);
    if (sys->recording)
        printf("target    none: learnt from data (%s); every 'target' figure below is the learnt "
               "drift f_RNN's, not the data's\n",
               sys->recording->path);
    if (trained) {
        printf("train     %d points (%d paths, %d dropped), %d held out · ridge start ε_f %.2e · "
               "Adam %d epochs · ε_f %.2e · loss %.2e",
               train->M_train + train->M_test, train->paths_used, train->paths_dropped,
               train->M_test, train->ridge_rel_err, train->epochs_run, train->drift_rel_err,
               train->final_loss);
        if (!sys->diffusion_constant) printf(" · ε_σ %.2e", train->diffusion_rel_err);
        if (train->M_margin)
            printf(" · %d margin points at %g× from the mean", train->M_margin, train->margin);
        else if (train->margin_trial_with > 0)
            printf(" · no margin points");
        if (train->margin_trial_with > 0)
            printf(" (auto: ridge ε_f %.1e with them, %.1e without)", train->margin_trial_with,
                   train->margin_trial_without);
        if (train->from_data) print_data_fit(sys, train);
        if (!train->from_data && !(train->drift_rel_err <= DDM_FIT_WARN))
            printf(
                "\n          warning: ε_f %.2g %% is above %g %%: the network's drift misses the "
                "target's on held-out points; %s",
                100 * train->drift_rel_err, 100 * DDM_FIT_WARN, trust_fit_advice());
        else if (train->fresh_rel_err > DDM_FIT_WARN)
            printf("\n          warning: ε_f on fresh paths %.2g %% is above %g %%: the network's "
                   "drift misses the target's where new paths go; %s",
                   100 * train->fresh_rel_err, 100 * DDM_FIT_WARN, trust_fit_advice());
        printf("\n          %.2f s (sampling %.2f s, ridge %.2f s, Adam %.2f s at %.3g "
               "point·neurons/s)\n",
               train->seconds, train->sampling_seconds, train->ridge_seconds, train->adam_seconds,
               train->point_neurons_per_second);
        print_fresh_paths(train);
        print_train_choices(cfg, train);
    }
    if (simulated) {
        printf("simulate  %d trajectories × %ld steps (+%ld burn-in), dt %g · blew up: network "
               "%ld%s, target %ld\n",
               run->layout.B, sim->steps_done, cfg->burn_in, cfg->dt, sim->nonfinite,
               !sim->nonfinite                       ? ""
               : cfg->on_nonfinite == NONFINITE_DROP ? " (dropped from the analysis)"
                                                     : " (finite part kept)",
               sim->target_nonfinite);
        const struct start_report *starts = &sim->starts;
        if (starts->candidates)
            printf("          starts: %d on the target's attractor from %ld candidates · refused "
                   "%ld (%ld left |z_i| <= path_bound, %ld NaN/Inf, %ld outside the trained "
                   "region μ ± %g s)\n",
                   run->layout.B, starts->candidates, start_report_refused(starts),
                   starts->past_bound, starts->nonfinite, starts->outside_region,
                   STARTS_TRAINED_REGION);
        printf("          %.2f s: network %.2f s (%.3g neuron-steps/s), target %.2f s, output "
               "%.2f s\n",
               sim->seconds, sim->network_seconds, sim->neuron_steps_per_second,
               sim->target_seconds, sim->output_seconds);
        /* the analysis' stationary samples (after the burn-in fraction, outside the cue
         * windows) when it ran; the simulation's moments are over every recorded step */
        const struct ddm_analysis_report *a = &run->analysis;
        const int stationary = run->setup.analyze && a->stats_done;
        printf("          %s, network vs coupled target:\n",
               stationary ? "stationary mean / variance (the analysis' samples)"
                          : "mean / variance of every recorded step");
        for (int c = 0; c < sys->k; c++)
            printf("            %-6s %10.4g / %-10.4g vs %10.4g / %.4g\n", sys->var_names[c],
                   stationary ? a->stationary_mean[0][c] : sim->latent_mean[c],
                   stationary ? a->stationary_var[0][c] : sim->latent_var[c],
                   stationary ? a->stationary_mean[1][c] : sim->target_mean[c],
                   stationary ? a->stationary_var[1][c] : sim->target_var[c]);
    }
    if (run->setup.analyze) print_analysis(sys, &run->analysis);
    struct stat st;
    if (stat(run->path, &st) == 0) {
        char size[32];
        h5space_size_text((double)st.st_size, size, sizeof size);
        printf("output    %s (%s)\n", run->path, size);
    }
    struct cpu_clock clock_end;
    char shared[512];
    cpu_clock_now(&clock_end);
    cpu_clock_warning(&run->clock_start, &clock_end, omp_get_max_threads(), shared, sizeof shared);
    if (shared[0]) printf("%s\n", shared);
    printf("total     %.2f s\n", seconds);
}
