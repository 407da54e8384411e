/* train.c — fitting the network to the target: ridge start, Adam fine-tuning, diffusion readout.
 *
 * docs/design.md §3. In normalised coordinates the targets are y = τ f̂(ẑ) + ẑ. Γ̂ ~ N(0, g²/k) and
 * b ~ U(−g_b, g_b) fix random tanh features h = tanh(Γ̂ẑ + b); Ŵ_s then has a closed form,
 * Ŵ_sᵀ = (HHᵀ + λ̄I)⁻¹HYᵀ (the Gram matrix in double, λ̄ = λ·mean diag), which is usually a good fit
 * already; Gauss–Newton rounds (train_gn.c) and Adam then tune Γ̂, b with Ŵ_s in closed
 * form (the ridge solves: ridge.c). The held-out drift error ε_f is measured in the original
 * coordinates. The rows of the fit and the choice of n, g, g_b and the margin are
 * train_choice.c. The backend does the heavy passes; this file only orchestrates. Training can stop
 * after an epoch (a signal) and go on from Adam's saved state (checkpoints).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/progress.h"
#include "ddm/ridge.h"
#include "ddm/signals.h"
#include "ddm/data_diffusion.h"
#include "ddm/train.h"
#include "train_choice.h"

void train_report_free(struct ddm_train_report *report) {
    free(report->loss);
    report->loss = NULL;
}

double drift_relative_error(const struct ddm_model *model, const double *z, const double *f,
                            int count) {
    const int k = model->k;
    double diff = 0, norm = 0;
#pragma omp parallel for reduction(+ : diff, norm) schedule(static)
    for (int s = 0; s < count; s++) {
        double f_rnn[DDM_MAX_K];
        model_latent_drift(model, z + (size_t)s * k, f_rnn, NULL);
        for (int c = 0; c < k; c++) {
            double e = f_rnn[c] - f[(size_t)s * k + c];
            diff += e * e;
            norm += f[(size_t)s * k + c] * f[(size_t)s * k + c];
        }
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

/* ‖σ_RNN − σ‖_F / ‖σ‖_F over points, for a state-dependent diffusion. */
static double diffusion_relative_error(const struct ddm_model *model, const struct ddm_system *sys,
                                       const double *z, int count) {
    const int k = model->k, km = model->k * model->m;
    double diff = 0, norm = 0;
    for (int s = 0; s < count; s++) {
        double net[DDM_MAX_K * DDM_MAX_M], target[DDM_MAX_K * DDM_MAX_M];
        model_latent_diffusion(model, z + (size_t)s * k, net);
        system_diffusion(sys, z + (size_t)s * k, target);
        for (int q = 0; q < km; q++) {
            diff += (net[q] - target[q]) * (net[q] - target[q]);
            norm += target[q] * target[q];
        }
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

/* L = mean ‖F̂(ẑ) − y‖² of the final network over the training points, in double. */
static double training_loss(const struct ddm_model *model, const float *Z, const float *Y, int M) {
    const int k = model->k;
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (int s = 0; s < M; s++) {
        double z_hat[DDM_MAX_K], out[DDM_MAX_K];
        for (int c = 0; c < k; c++) z_hat[c] = Z[(size_t)s * k + c];
        model_perceptron(model, z_hat, out);
        for (int c = 0; c < k; c++) sum += pow(out[c] - Y[(size_t)s * k + c], 2);
    }
    return sum / M;
}

/* Learning rate of epoch e of E: cosine from lr to 0, steps of x0.1 at 50% and 75%, or flat. */
static double schedule_lr(const struct ddm_config *cfg, int epoch) {
    double progress = cfg->epochs > 0 ? (double)epoch / cfg->epochs : 0;
    switch (cfg->schedule) {
    case SCHEDULE_COSINE:
        return cfg->lr * 0.5 * (1 + cos(M_PI * progress));
    case SCHEDULE_STEP:
        return cfg->lr * (progress < 0.5 ? 1 : progress < 0.75 ? 0.1 : 0.01);
    default:
        return cfg->lr;
    }
}

/* Fits V, c of the state-dependent diffusion: targets Ŝ(ẑ) = diag(1/s) σ(z) on the rows of the
 * fit (z: their original coordinates), features (tanh(Γ̂ẑ + b), 1), ridge least squares. */
static int fit_diffusion(const struct ddm_backend *backend, void *ctx, const struct ddm_system *sys,
                         const struct ddm_config *cfg, struct ddm_model *model, const double *z,
                         int M_train, struct ddm_error *err) {
    const int n = model->n, k = model->k, km = model->k * model->m, features = n + 1;
    float *targets = ddm_alloc(sizeof(float) * M_train * km, "diffusion targets", err);
    double *gram = ddm_alloc(sizeof(double) * features * features, "Gram matrix", err);
    double *cross = ddm_alloc(sizeof(double) * features * km, "Gram matrix", err);
    double *solution = ddm_alloc(sizeof(double) * features * km, "Gram matrix", err);
    int code = DDM_ERUNTIME;
    if (targets && gram && cross && solution) {
        for (int s = 0; s < M_train; s++) {
            double sigma[DDM_MAX_K * DDM_MAX_M];
            system_diffusion(sys, z + (size_t)s * k, sigma);
            for (int q = 0; q < km; q++)
                targets[(size_t)s * km + q] = (float)(sigma[q] / model->latent_scale[q / model->m]);
        }
        double ridge_used;
        code = backend->train_gram(ctx, targets, km, gram, cross, err);
        if (!code)
            code = ridge_solve(backend, ctx, gram, features, features, cross, km, cfg->ridge,
                               solution, &ridge_used, err);
        if (!code)
            for (int q = 0; q < km; q++) {
                for (int i = 0; i < n; i++)
                    model->V[(size_t)q * n + i] = (float)solution[(size_t)i * km + q];
                model->c[q] = (float)solution[(size_t)n * km + q];
            }
    }
    free(targets);
    free(gram);
    free(cross);
    free(solution);
    return code;
}

int train_state_alloc(struct ddm_train_state *state, int n, int k, int epochs,
                      struct ddm_error *err) {
    memset(state, 0, sizeof *state);
    const size_t count = (size_t)n * k * 2 + n;
    state->n = n, state->k = k;
    state->gn_rounds_done = -1; /* not in the Gauss–Newton rounds */
    state->params = ddm_alloc(sizeof(float) * count, "checkpoint parameters", err);
    state->m1 = ddm_alloc(sizeof(float) * count, "checkpoint moments", err);
    state->m2 = ddm_alloc(sizeof(float) * count, "checkpoint moments", err);
    state->loss = ddm_calloc(epochs > 0 ? epochs : 1, sizeof(double), "checkpoint losses", err);
    if (state->params && state->m1 && state->m2 && state->loss) return DDM_OK;
    train_state_free(state);
    return DDM_ERUNTIME;
}

void train_state_free(struct ddm_train_state *state) {
    free(state->params);
    free(state->m1);
    free(state->m2);
    free(state->loss);
    state->params = state->m1 = state->m2 = NULL;
    state->loss = NULL;
}

/* Γ̂, b, Ŵ_s between the model and one array (2nk + n), the layout of ddm_train_state. */
static void params_pack(struct ddm_model *model, float *params, int to_model) {
    const size_t nk = (size_t)model->n * model->k;
    float *parts[3] = {model->Gamma, model->b, model->Ws};
    size_t sizes[3] = {nk, (size_t)model->n, nk}, at = 0;
    for (int p = 0; p < 3; p++) {
        memcpy(to_model ? parts[p] : params + at, to_model ? params + at : parts[p],
               sizeof(float) * sizes[p]);
        at += sizes[p];
    }
}

/* Fills `stopped` after `epochs_done` epochs. `ridge` is the λ the fine-tuning solves with (a data
 * system's evidence λ), not the last solve's, which a failed factorisation may have raised. */
static int stop_training(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                         const struct ddm_train_report *report, const struct ddm_adam *adam,
                         const struct ddm_train_state *state, int epochs, double ridge,
                         struct ddm_train_state *stopped, struct ddm_error *err) {
    int code = train_state_alloc(stopped, model->n, model->k, epochs, err);
    if (!code) code = backend->train_params(ctx, model, 0, err);
    if (!code) code = backend->train_moments(ctx, stopped->m1, stopped->m2, 0, err);
    if (code) return code;
    params_pack(model, stopped->params, 0);
    stopped->epochs_done = report->epochs_run;
    stopped->adam_step = adam->step;
    memcpy(stopped->loss, report->loss, sizeof(double) * report->epochs_run);
    stopped->ridge_rel_err = report->ridge_rel_err;
    stopped->ridge_used = ridge;
    stopped->lr_scale = state->lr_scale;
    stopped->stalls = state->stalls;
    const double stage_report[TRAIN_STAGE_REPORT] = {
        report->gn_rel_err,          report->gn_seconds,        report->gn_rounds_kept,
        report->gn_rounds_undone,    report->gn_rounds_overfit, report->gn_stalled,
        report->gn_skipped,          report->rounds_accepted,   report->rounds_rejected,
        report->ridge_fresh_rel_err, report->gn_fresh_rel_err};
    memcpy(stopped->stage_report, stage_report, sizeof stage_report);
    return ddm_fail(err, DDM_EINTERRUPTED, "stopped by %s after epoch %d of %d",
                    stop_signal_name(stop_requested()), report->epochs_run, epochs);
}

int train_model(const struct ddm_backend *backend, const struct ddm_system *sys,
                const struct ddm_config *cfg, struct ddm_model *model,
                struct ddm_train_report *report, int quiet, struct ddm_error *err) {
    return train_model_from(backend, sys, cfg, NULL, NULL, model, report, quiet, err);
}

/* Epochs per fine-tuning round: about one Gram matrix (M n² flops) of Adam epochs (≈ 8 M n k),
 * so the closed-form readout costs no more than the Adam steps between its solves. */
static int round_epochs(int n, int k) {
    int epochs = (n + 8 * k - 1) / (8 * k);
    return epochs < 1 ? 1 : epochs > 20 ? 20 : epochs;
}

/* Fine-tuning by variable projection. For a fixed hidden layer the best readout Ŵ_s is the ridge
 * solve, so the loss is a function of (Γ̂, b) alone, and its gradient is the full gradient at that
 * Ŵ_s. A round runs Adam on Γ̂, b with Ŵ_s fixed, then solves for Ŵ_s again; a round that lowers
 * the training loss is kept, one that does not is undone (parameters back, moments zeroed) and the
 * learning rate is divided by 4. The loss never rises above the ridge start's, and three rounds
 * in a row that gain under 2% stop the fine-tuning early. Stops by a signal are taken between
 * rounds, when the parameters are the best ones. */
static int finetune(const struct ddm_backend *backend, void *ctx, const struct ddm_config *cfg,
                    struct ddm_model *model, struct train_buffers *buf, int M_train,
                    struct ddm_adam *adam, struct ddm_train_state *state,
                    struct ddm_train_report *report, struct ddm_train_state *stopped, int quiet,
                    struct ddm_error *err) {
    const int n = model->n, k = model->k, per_round = round_epochs(n, k);
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_POINTS);
    double best = training_loss(model, buf->Z, buf->Y, M_train);
    params_pack(model, buf->best, 0);
    struct ddm_progress progress;
    progress_begin(&progress, "train", "epochs", cfg->epochs, quiet);
    int code = DDM_OK;
    while (report->epochs_run < cfg->epochs && state->stalls < 3 &&
           !(cfg->target_loss > 0 && best < cfg->target_loss)) {
        int diverged = 0;
        adam->readout_fixed = 1;
        for (int e = 0; e < per_round && report->epochs_run < cfg->epochs && !diverged; e++) {
            const int epoch = report->epochs_run;
            double loss;
            train_permutation(buf->batch_order, M_train, seed, 16 + (uint64_t)epoch);
            if ((code = backend->train_epoch(ctx, buf->batch_order, cfg->batch,
                                             schedule_lr(cfg, epoch) * state->lr_scale, adam, &loss,
                                             err)))
                goto done;
            diverged = !isfinite(loss);
            report->loss[report->epochs_run++] = loss;
            char note[64];
            snprintf(note, sizeof note, "loss %.3e", loss);
            progress_update(&progress, report->epochs_run, note);
        }
        double loss = INFINITY;
        if ((code = backend->train_params(ctx, model, 0, err))) goto done;
        if (!diverged &&
            (code = ridge_readout(backend, ctx, model, cfg->ridge, buf->gram, buf->cross,
                                  buf->solution, &report->ridge_used, err)))
            goto done;
        if (!diverged) loss = training_loss(model, buf->Z, buf->Y, M_train);
        if (loss < best) { /* kept */
            state->stalls = loss > 0.98 * best ? state->stalls + 1 : 0;
            best = loss;
            params_pack(model, buf->best, 0);
            report->rounds_accepted++;
        } else { /* undo the round */
            params_pack(model, buf->best, 1);
            if ((code = backend->train_params(ctx, model, 1, err)) ||
                (code = backend->train_moments(ctx, buf->zeros, buf->zeros, 1, err)))
                goto done;
            adam->step = 0;
            state->lr_scale /= 4;
            state->stalls++;
            report->rounds_rejected++;
        }
        if (stopped && stop_requested() && report->epochs_run < cfg->epochs && state->stalls < 3) {
            progress_end(&progress);
            return stop_training(backend, ctx, model, report, adam, state, cfg->epochs, cfg->ridge,
                                 stopped, err);
        }
    }
    report->stopped_early = report->epochs_run < cfg->epochs;
done:
    progress_end(&progress);
    params_pack(model, buf->best, 1);
    return code;
}

/* Gauss–Newton rounds on (Γ̂, b) after the ridge start (host/model/train_gn.c), each on the
 * training points and a block of neurons, then Ŵ_s solved on all training points. A round is kept
 * when the training loss and the ε_f on `judge` fell, undone otherwise: the points of paths of
 * their own (sample_fresh), or the held-out increments of a system learnt from data. Held-out
 * points of the training paths judged worse: on dadras they kept a round that raised the error on
 * new paths 3× (the points in far excursions are few and on the same paths). The stage ends after R
 * rounds, or when rounds in a row gain under 2% (an undone round gains 0): 3 for gauss_newton = R,
 * 2 for auto (at most GN_AUTO_ROUNDS rounds), which is the default. Auto skips the stage when the
 * ridge ε_f is at most a tenth of target_drift_error and n(k+1) > GN_AUTO_CHEAP_COLUMNS: there a
 * round costs seconds (about 2–5 s of CPU at n = 512–1024) for a gain nobody needs. A stop signal
 * is taken between rounds (`stopped` not NULL): the checkpoint holds the network kept so far and
 * where the rounds stand (`from` continues them), so a resumed run goes on bit for bit. The
 * stage's seconds (report->gn_seconds, a resumed run's added to its checkpoint's) are set here. */
static int gauss_newton_stage(const struct ddm_backend *backend, void *ctx,
                              const struct ddm_config *cfg, struct ddm_model *model,
                              struct train_buffers *buf, int M_train, const struct held_out *judge,
                              const struct ddm_train_state *from, struct ddm_train_state *stopped,
                              struct ddm_train_report *report, struct ddm_error *err) {
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_POINTS);
    const int is_auto = cfg->gauss_newton == DDM_AUTO, resumed = from != NULL;
    const int rounds = is_auto ? GN_AUTO_ROUNDS : cfg->gauss_newton, stall_limit = is_auto ? 2 : 3;
    const double t_start = now_seconds(), seconds_before = resumed ? report->gn_seconds : 0;
    double best_eps =
        resumed ? from->gn_best_eps : drift_relative_error(model, judge->z, judge->f, judge->count);
    /* auto leaves a ridge start well within target alone unless the rounds are cheap (small n);
     * "within" on the held-out and the judging points both (the held-out ones can read low) */
    report->gn_skipped = !resumed && is_auto && model->n * (model->k + 1) > GN_AUTO_CHEAP_COLUMNS &&
                         fmax(report->ridge_rel_err, best_eps) <= 0.1 * cfg->target_drift_error;
    if (report->gn_skipped) {
        report->gn_seconds = now_seconds() - t_start;
        return DDM_OK;
    }
    double best = resumed ? from->gn_best_loss : training_loss(model, buf->Z, buf->Y, M_train);
    params_pack(model, buf->best, 0);
    int code = DDM_OK, stalls = resumed ? from->gn_stalls : 0;
    for (int round = resumed ? from->gn_rounds_done : 0; round < rounds && stalls < stall_limit;
         round++) {
        if ((code = train_gauss_newton_round(model, buf->Z, buf->Y, M_train, cfg->ridge, seed,
                                             round, 10, err)) ||
            (code = backend->train_params(ctx, model, 1, err)) ||
            (code = ridge_readout(backend, ctx, model, cfg->ridge, buf->gram, buf->cross,
                                  buf->solution, &report->ridge_used, err)))
            break;
        double loss = training_loss(model, buf->Z, buf->Y, M_train);
        double eps = drift_relative_error(model, judge->z, judge->f, judge->count);
        const int kept = loss < best && eps <= best_eps;
        stalls = kept && loss <= 0.98 * best ? 0 : stalls + 1; /* undone: no gain */
        if (kept) {
            best = loss, best_eps = eps;
            params_pack(model, buf->best, 0);
            report->gn_rounds_kept++;
        } else {
            params_pack(model, buf->best, 1);
            if ((code = backend->train_params(ctx, model, 1, err))) break;
            report->gn_rounds_undone++;
            /* it fits the training points better but the judging ones worse: the points, not
             * the optimiser, limit ε_f (more [train] samples or paths is the remedy) */
            report->gn_rounds_overfit += loss < best && eps > best_eps;
        }
        report->gn_seconds = seconds_before + now_seconds() - t_start;
        if (stopped && round + 1 < rounds && stalls < stall_limit && stop_requested()) {
            const struct ddm_adam adam = {0}; /* Adam has not begun */
            const struct ddm_train_state state = {.lr_scale = 1};
            code = stop_training(backend, ctx, model, report, &adam, &state, cfg->epochs,
                                 cfg->ridge, stopped, err);
            if (code != DDM_EINTERRUPTED) return code;
            stopped->gn_rounds_done = round + 1, stopped->gn_stalls = stalls;
            stopped->gn_best_loss = best, stopped->gn_best_eps = best_eps;
            return ddm_fail(err, DDM_EINTERRUPTED,
                            "stopped by %s after Gauss–Newton round %d (of at most %d)",
                            stop_signal_name(stop_requested()), round + 1, rounds);
        }
    }
    report->gn_stalled = stalls >= stall_limit;
    report->gn_seconds = seconds_before + now_seconds() - t_start;
    return code;
}

/* Data: the targets carry the increments' noise (variance ≈ 2D/Δ per point), so the readout
 * needs a ridge λ that grows as the points get fewer: with λ = 1e-8, 2000 increments of the OU
 * example give readout weights of 2·10³ that cancel on the points, and the learnt flow escapes
 * off them. λ is the evidence-maximising one (at least [train] ridge): about 0.1 for those 2000
 * points, 10⁻⁵–10⁻⁴ for 640 000 (near the least error against the true drift, measured). The
 * held-out increments stay out of the choice. */
static int ridge_readout_evidence(const struct ddm_backend *backend, void *ctx,
                                  struct ddm_model *model, const struct ddm_config *cfg,
                                  struct train_buffers *buf, int M_train,
                                  struct ddm_train_report *report, struct ddm_error *err) {
    const int n = model->n, k = model->k;
    double yy = 0, lambda = cfg->ridge;
    for (size_t q = 0; q < (size_t)M_train * k; q++) yy += (double)buf->Y[q] * buf->Y[q];
    int code = backend->train_gram(ctx, NULL, k, buf->gram, buf->cross, err);
    if (!code) code = ridge_evidence(buf->gram, buf->cross, n, k, M_train, yy, &lambda, err);
    if (!code)
        code = ridge_readout_from_gram(backend, ctx, model, buf->gram, buf->cross, buf->solution,
                                       fmax(lambda, cfg->ridge), &report->ridge_used, err);
    return code ? code : backend->train_params(ctx, model, 1, err);
}

/* The ridge start (after choosing n, g, g_b), or the parameters and moments of a checkpoint. */
static int start_network(const struct ddm_backend *backend, void *ctx, const struct ddm_config *cfg,
                         const struct ddm_train_state *from, struct ddm_model *model,
                         struct train_buffers *buf, int M_train, const struct held_out *test,
                         struct ddm_train_report *report, struct ddm_adam *adam,
                         struct ddm_error *err) {
    int code = backend->train_params(ctx, model, 1, err);
    if (code) return code;
    if (from) {
        if ((code = backend->train_moments(ctx, from->m1, from->m2, 1, err))) return code;
        adam->step = from->adam_step;
        report->epochs_run = from->epochs_done;
        memcpy(report->loss, from->loss, sizeof(double) * from->epochs_done);
        report->ridge_rel_err = from->ridge_rel_err;
        report->ridge_used = from->ridge_used;
        const double *stages = from->stage_report; /* what came before the stop */
        report->gn_rel_err = stages[0], report->gn_seconds = stages[1];
        report->gn_rounds_kept = (int)stages[2], report->gn_rounds_undone = (int)stages[3];
        report->gn_rounds_overfit = (int)stages[4], report->gn_stalled = (int)stages[5];
        report->gn_skipped = (int)stages[6];
        report->rounds_accepted = (int)stages[7], report->rounds_rejected = (int)stages[8];
        report->ridge_fresh_rel_err = stages[9], report->gn_fresh_rel_err = stages[10];
        return DDM_OK;
    }
    code = test->from_data
               ? ridge_readout_evidence(backend, ctx, model, cfg, buf, M_train, report, err)
               : ridge_readout(backend, ctx, model, cfg->ridge, buf->gram, buf->cross,
                               buf->solution, &report->ridge_used, err);
    if (!code) report->ridge_rel_err = drift_relative_error(model, test->z, test->f, test->count);
    return code;
}

/* Diffusion: exact when constant, a fitted readout when it depends on z. */
static int set_diffusion(const struct ddm_backend *backend, void *ctx, const struct ddm_system *sys,
                         const struct ddm_config *cfg, struct ddm_model *model,
                         const struct train_buffers *buf, int M_fit, const struct held_out *test,
                         struct ddm_train_report *report, struct ddm_error *err) {
    if (!sys->diffusion_constant) {
        int code = fit_diffusion(backend, ctx, sys, cfg, model, buf->fit_z, M_fit, err);
        if (!code)
            report->diffusion_rel_err = diffusion_relative_error(model, sys, test->z, test->count);
        return code;
    }
    for (int c = 0; c < sys->k; c++)
        for (int j = 0; j < sys->m; j++)
            model->S[c * sys->m + j] =
                (float)(sys->sigma_const[c * sys->m + j] / model->latent_scale[c]);
    return DDM_OK;
}

/* The network of n = report->neurons units: checked against a checkpoint's, allocated with the
 * loss curve and the buffers its size sets, carrying the normalisation of the points (shape), and
 * its first weights: the checkpoint's, or drawn. */
static int network_setup(const struct ddm_system *sys, const struct ddm_config *cfg,
                         const struct ddm_train_state *from, const struct ddm_model *shape,
                         struct train_buffers *buf, struct ddm_model *model,
                         struct ddm_train_report *report, struct ddm_error *err) {
    const int n = report->neurons, k = sys->k;
    if (from && (from->n != n || from->k != k || from->epochs_done > cfg->epochs))
        return ddm_fail(err, DDM_EUSAGE,
                        "the checkpoint holds a network of n = %d, k = %d after %d epochs; the "
                        "configuration has n = %d, k = %d, %d epochs",
                        from->n, from->k, from->epochs_done, n, k, cfg->epochs);
    int code = DDM_OK;
    report->loss = ddm_calloc(cfg->epochs > 0 ? cfg->epochs : 1, sizeof(double), "loss curve", err);
    if (!report->loss || (code = train_buffers_alloc_network(buf, n, k, err)) ||
        (code = model_alloc(model, n, k, sys->m, !sys->diffusion_constant, err)))
        return code ? code : DDM_ERUNTIME;
    model->tau = cfg->tau;
    memcpy(model->latent_mean, shape->latent_mean, sizeof shape->latent_mean);
    memcpy(model->latent_scale, shape->latent_scale, sizeof shape->latent_scale);
    if (from)
        params_pack(model, from->params, 1);
    else
        train_init_weights(model, cfg->seed, report->init_gain, report->init_bias);
    return DDM_OK;
}

/* Points of fresh target paths, drawn as the training points are but with their own seed. The
 * held-out points lie on the training paths, between training points, so they share the paths'
 * rare far excursions: on dadras 0.1 % of the points, 7–12 standard deviations out, carry 99 % of
 * ε_f², and the held-out ε_f read 8.8e-4 where fresh paths give 1.3e-4–3.8e-3 (docs/training.md).
 * Two such sets: one judges the Gauss–Newton rounds, the other (never used for a choice) is
 * reported; at most FRESH_MAX_POINTS each, spread over paths as long as the training ones. None
 * for a system learnt from data (no other recording), for box points (the held-out points are
 * already drawn as fresh ones would be) or when the draw fails. */
#define FRESH_MAX_POINTS 32768
static int sample_fresh(const struct ddm_system *sys, const struct ddm_config *cfg,
                        enum ddm_stream stream, struct ddm_points *fresh, char *why,
                        size_t why_size, struct ddm_error *err) {
    memset(fresh, 0, sizeof *fresh);
    if (sys->recording || cfg->sampling == SAMPLING_BOX) return DDM_OK;
    struct ddm_config other = *cfg;
    other.seed = ddm_stream_seed(cfg->seed, stream);
    if (other.samples > FRESH_MAX_POINTS) other.samples = FRESH_MAX_POINTS;
    struct ddm_error failed = {0};
    const int code = sample_points(sys, &other, fresh, &failed);
    if (code == DDM_EINTERRUPTED) {
        *err = failed;
        return code;
    }
    if (code) { /* said in the summary, not an error */
        memset(fresh, 0, sizeof *fresh);
        snprintf(why, why_size, "%.255s", failed.message);
    }
    return DDM_OK;
}

/* A stop while the points are sampled, before the network is set up: the checkpoint is the one
 * the run was resumed from (copied), or holds no network (n = 0) and a resumed run samples and
 * trains from the start, as a straight run does. */
static int stop_while_sampling(const struct ddm_train_state *from, struct ddm_train_state *stopped,
                               int k, struct ddm_error *err) {
    char said[sizeof err->message - 64];
    snprintf(said, sizeof said, "%.900s", err->message);
    if (!stopped) return DDM_EINTERRUPTED;
    if (!from) {
        memset(stopped, 0, sizeof *stopped);
        stopped->k = k, stopped->lr_scale = 1, stopped->gn_rounds_done = -1;
        return ddm_fail(err, DDM_EINTERRUPTED, "%s, before the training began", said);
    }
    const size_t count = (size_t)from->n * from->k * 2 + from->n;
    int code = train_state_alloc(stopped, from->n, from->k, from->epochs_done, err);
    if (code) return code;
    float *params = stopped->params, *m1 = stopped->m1, *m2 = stopped->m2;
    double *loss = stopped->loss;
    *stopped = *from;
    stopped->params = params, stopped->m1 = m1, stopped->m2 = m2, stopped->loss = loss;
    memcpy(params, from->params, sizeof(float) * count);
    memcpy(m1, from->m1, sizeof(float) * count);
    memcpy(m2, from->m2, sizeof(float) * count);
    memcpy(loss, from->loss, sizeof(double) * from->epochs_done);
    if (from->gn_rounds_done >= 0)
        return ddm_fail(err, DDM_EINTERRUPTED, "%s, before Gauss–Newton round %d", said,
                        from->gn_rounds_done + 1);
    return ddm_fail(err, DDM_EINTERRUPTED, "%s, before epoch %d", said, from->epochs_done + 1);
}

static double fresh_error(const struct ddm_model *model, const struct ddm_points *fresh) {
    return fresh->M ? drift_relative_error(model, fresh->z, fresh->f, fresh->M) : NAN;
}

static int descending(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The share of ‖f_RNN − f‖² over the fresh points that their worst 1 % carry. Near 1 the figure
 * rests on a few far points, and another draw of paths can move it several-fold (dadras and
 * hyper_rossler 1.00, vdp 0.66; the summary speaks above 0.9). NaN when there are none. */
static double fresh_worst_share(const struct ddm_model *model, const struct ddm_points *fresh) {
    const int k = model->k, M = fresh->M;
    double *error = M ? malloc(sizeof(double) * M) : NULL, total = 0, worst = 0;
    if (!error) return NAN;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (int s = 0; s < M; s++) {
        double f_rnn[DDM_MAX_K];
        model_latent_drift(model, fresh->z + (size_t)s * k, f_rnn, NULL);
        error[s] = 0;
        for (int c = 0; c < k; c++) error[s] += pow(f_rnn[c] - fresh->f[(size_t)s * k + c], 2);
        total += error[s];
    }
    qsort(error, M, sizeof *error, descending);
    for (int s = 0; s < (M + 99) / 100; s++) worst += error[s];
    free(error);
    return total > 0 ? worst / total : 0;
}

/* Held-out points: the held-out increments of a data system, else a share of the points. */
static int M_test_of(const struct ddm_config *cfg, const struct ddm_points *points) {
    return points->held_out ? points->held_out : (int)ceil(cfg->test_fraction * points->M);
}

int train_model_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                     const struct ddm_config *cfg, const struct ddm_train_state *from,
                     struct ddm_train_state *stopped, struct ddm_model *model,
                     struct ddm_train_report *report, int quiet, struct ddm_error *err) {
    const double t_start = now_seconds();
    const int k = sys->k;
    memset(report, 0, sizeof *report);
    memset(model, 0, sizeof *model);
    struct ddm_points points, fresh, choice; /* choice: only for Gauss–Newton rounds */
    memset(&fresh, 0, sizeof fresh), memset(&choice, 0, sizeof choice);
    int code = sample_points(sys, cfg, &points, err);
    if (code && code != DDM_EINTERRUPTED) return code;
    if (!code)
        code = sample_fresh(sys, cfg, DDM_STREAM_FRESH_PATHS, &fresh, report->fresh_failed,
                            sizeof report->fresh_failed, err);
    const int in_gauss_newton = !from || from->gn_rounds_done >= 0; /* the stage is to come */
    if (!code && in_gauss_newton && cfg->gauss_newton != 0)
        code = sample_fresh(sys, cfg, DDM_STREAM_CHOICE_PATHS, &choice, report->choice_failed,
                            sizeof report->choice_failed, err);
    if (code) {
        points_free(&points), points_free(&fresh), points_free(&choice);
        return stop_while_sampling(from, stopped, k, err);
    }
    report->M_fresh = fresh.M;
    report->paths_used = points.paths_used;
    report->paths_dropped = points.paths_dropped;
    report->path_dt = points.path_dt;
    report->sampling_seconds = now_seconds() - t_start;

    const int M = points.M, M_train = M - M_test_of(cfg, &points), M_test = M - M_train;
    struct train_buffers buf;
    struct ddm_model shape = {0};
    struct held_out test = {NULL, NULL, M_test, &shape, points.held_out > 0};
    void *ctx = NULL;
    double margin = train_margin_factor(cfg);
    if ((code = train_buffers_alloc(&buf, M, margin > 1 ? 2 * M_train : M_train, M_test, k, err)))
        goto done;
    test.z = buf.test_z, test.f = buf.test_f;
    if (M_train < 1) {
        code = ddm_fail(err, DDM_EUSAGE,
                        "[train] samples = %d leaves no training points after the test split", M);
        goto done;
    }
    int M_fit = 0; /* rows of the fit: the training points and their margin points */
    if ((code = train_normalise(sys, cfg, &points, M_test, margin, &shape, &buf, &M_fit, err)))
        goto done;

    /* the margin, n, g, g_b (chosen when auto), then the network */
    double t_ridge = now_seconds();
    if ((code = train_choose_margin(backend, sys, cfg, &points, &test, &buf, &margin, &M_fit,
                                    report, err)))
        goto done;
    struct ddm_train_data data = {M_fit, buf.Z, buf.Y};
    const int n = report->neurons;
    if ((code = network_setup(sys, cfg, from, &shape, &buf, model, report, err))) goto done;
    struct ddm_adam adam = {0.9, 0.999, 1e-8, cfg->weight_decay, 0, 1};
    if ((code = backend->train_create(model, &data, &ctx, err)) ||
        (code =
             start_network(backend, ctx, cfg, from, model, &buf, M_fit, &test, report, &adam, err)))
        goto done;
    report->ridge_loss = training_loss(model, buf.Z, buf.Y, M_fit);
    if (!from) report->ridge_fresh_rel_err = fresh_error(model, &fresh);
    report->ridge_seconds = now_seconds() - t_ridge;
    struct ddm_config tuned = *cfg; /* data: the fine-tuning keeps the λ chosen above */
    if (test.from_data) tuned.ridge = report->ridge_used;

    /* fine-tuning of Γ̂, b with the readout in closed form: Gauss–Newton, then Adam */
    struct held_out judge = {choice.z, choice.f, choice.M, &shape, 0};
    if (in_gauss_newton &&
        (code = gauss_newton_stage(backend, ctx, &tuned, model, &buf, M_fit,
                                   choice.M ? &judge : &test, from, stopped, report, err)))
        goto done;
    points_free(&choice);
    if (in_gauss_newton) { /* a run resumed in Adam has the stage's figures from its checkpoint */
        report->gn_rel_err = drift_relative_error(model, test.z, test.f, M_test);
        report->gn_fresh_rel_err = fresh_error(model, &fresh);
    }
    double t_adam = now_seconds();
    struct ddm_train_state state = {.lr_scale = from ? from->lr_scale : 1,
                                    .stalls = from ? from->stalls : 0};
    if ((code = finetune(backend, ctx, &tuned, model, &buf, M_fit, &adam, &state, report, stopped,
                         quiet, err)))
        goto done;
    if ((code = model_update_pinv(model, err))) goto done;
    report->adam_seconds = now_seconds() - t_adam;
    const int epochs_here = report->epochs_run - (from ? from->epochs_done : 0);
    if (epochs_here > 0)
        report->point_neurons_per_second =
            (double)epochs_here * M_fit * n / fmax(report->adam_seconds, 1e-9);
    report->final_loss = training_loss(model, buf.Z, buf.Y, M_fit);
    report->drift_rel_err = drift_relative_error(model, test.z, test.f, M_test);
    report->fresh_rel_err = fresh_error(model, &fresh);
    report->fresh_worst_share = fresh_worst_share(model, &fresh);
    if (sys->diffusion_fit && (code = data_diffusion_state(sys, cfg, model, report, err)))
        goto done;
    if ((code = set_diffusion(backend, ctx, sys, cfg, model, &buf, M_fit, &test, report, err)))
        goto done;
    if (sys->recording && (code = data_diffusion(sys, cfg, model, report, err))) goto done;
    report->M_train = M_train;
    report->M_test = M_test;
    report->margin = margin;
    report->M_margin = M_fit - M_train;
    report->seconds = now_seconds() - t_start;
    code = DDM_OK;
done:
    if (ctx) backend->train_destroy(ctx);
    if (code) model_free(model);
    points_free(&points);
    points_free(&fresh);
    points_free(&choice);
    train_buffers_free(&buf);
    return code;
}
