/* train.c — fitting the network to the target: ridge start, Adam fine-tuning, diffusion readout.
 *
 * DESIGN §3. In normalised coordinates the targets are y = τ f̂(ẑ) + ẑ. Γ̂ ~ N(0, g²/k) and
 * b ~ U(−g_b, g_b) fix random tanh features h = tanh(Γ̂ẑ + b); Ŵ_s then has a closed form,
 * Ŵ_sᵀ = (HHᵀ + λ̄I)⁻¹HYᵀ (the Gram matrix in double, λ̄ = λ·mean diag), which is usually a good fit
 * already; Adam then tunes all of (Γ̂, b, Ŵ_s). The held-out drift error ε_f is measured in the
 * original coordinates. The backend does the heavy passes; this file only orchestrates. Training
 * can stop after an epoch (a signal) and go on from Adam's saved state (checkpoints).
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/progress.h"
#include "ddm/signals.h"
#include "ddm/train.h"

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

/* A permutation of 0..count-1 by Fisher–Yates with keyed uniforms (stream `subsequence`). */
static void permutation(int *order, int count, uint64_t seed, uint64_t subsequence) {
    for (int i = 0; i < count; i++) order[i] = i;
    for (int i = count - 1; i > 0; i--) {
        int j = (int)(philox_uniform(seed, subsequence, (uint64_t)i) * (i + 1));
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* Solves (G + λ̄I) W = C for the first `features` features, W (features, width), in place of C
 * (on the device when the backend has train_solve, from the G, C of its last train_gram).
 * λ̄ = ridge · mean(diag G) makes λ independent of the number of points and of the scale. When G
 * is too ill-conditioned for the Cholesky factorisation, λ is raised ×100 until it succeeds (up
 * to 1e-3), and *ridge_used says which λ gave the solution. G and C are copied, not consumed. */
static int ridge_solve(const struct ddm_backend *backend, void *ctx, const double *gram, int stride,
                       int features, const double *cross, int width, double ridge, double *solution,
                       double *ridge_used, struct ddm_error *err) {
    double mean_diag = 0;
    for (int i = 0; i < features; i++) mean_diag += gram[(size_t)i * stride + i] / features;
    double *factor = ddm_alloc(sizeof(double) * features * features, "ridge system", err);
    if (!factor) return DDM_ERUNTIME;
    int info = -1;
    for (double lambda = ridge; info != 0 && lambda <= 1e-3 * (1 + 1e-9);
         lambda = lambda > 0 ? lambda * 100 : 1e-12) {
        *ridge_used = lambda;
        if (backend->train_solve) { /* on the device, from the Gram matrix it kept */
            int code =
                backend->train_solve(ctx, features, lambda * mean_diag, solution, &info, err);
            if (code) {
                free(factor);
                return code;
            }
            continue;
        }
        for (int i = 0; i < features; i++) {
            memcpy(factor + (size_t)i * features, gram + (size_t)i * stride,
                   sizeof(double) * features);
            factor[(size_t)i * features + i] += lambda * mean_diag;
            memcpy(solution + (size_t)i * width, cross + (size_t)i * width, sizeof(double) * width);
        }
        info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', features, width, factor, features, solution,
                             width);
    }
    free(factor);
    if (info != 0)
        return ddm_fail(err, DDM_ERUNTIME,
                        "the ridge system stays singular up to λ = 1e-3 (LAPACK dposv info %d): "
                        "are the training points degenerate?",
                        info);
    return DDM_OK;
}

/* Ŵ_s by ridge least squares on the current hidden layer: Ŵ_sᵀ = (HHᵀ + λ̄I)⁻¹ H Yᵀ. */
static int ridge_readout(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                         double ridge, double *gram, double *cross, double *solution,
                         double *ridge_used, struct ddm_error *err) {
    const int n = model->n, k = model->k;
    int code = backend->train_gram(ctx, NULL, k, gram, cross, err);
    if (!code)
        code =
            ridge_solve(backend, ctx, gram, n + 1, n, cross, k, ridge, solution, ridge_used, err);
    if (code) return code;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            model->Ws[(size_t)c * n + i] = (float)solution[(size_t)i * k + c];
    return backend->train_params(ctx, model, 1, err);
}

static void init_weights(struct ddm_model *model, const struct ddm_config *cfg) {
    const int n = model->n, k = model->k;
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_INIT_WEIGHTS);
    const double gamma_std = cfg->init_gain / sqrt((double)k);
    for (int q = 0; q < n * k; q++)
        model->Gamma[q] = (float)(gamma_std * philox_gaussian(seed, 0, q));
    for (int i = 0; i < n; i++)
        model->b[i] = (float)(cfg->init_bias * (2 * philox_uniform(seed, 1, i) - 1));
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

/* Fits V, c of the state-dependent diffusion: targets Ŝ(ẑ) = diag(1/s) σ(z) on the training
 * points, features (tanh(Γ̂ẑ + b), 1), ridge least squares. */
static int fit_diffusion(const struct ddm_backend *backend, void *ctx, const struct ddm_system *sys,
                         const struct ddm_config *cfg, struct ddm_model *model, const double *z,
                         const int *train_index, int M_train, struct ddm_error *err) {
    const int n = model->n, k = model->k, km = model->k * model->m, features = n + 1;
    float *targets = ddm_alloc(sizeof(float) * M_train * km, "diffusion targets", err);
    double *gram = ddm_alloc(sizeof(double) * features * features, "Gram matrix", err);
    double *cross = ddm_alloc(sizeof(double) * features * km, "Gram matrix", err);
    double *solution = ddm_alloc(sizeof(double) * features * km, "Gram matrix", err);
    int code = DDM_ERUNTIME;
    if (targets && gram && cross && solution) {
        for (int s = 0; s < M_train; s++) {
            double sigma[DDM_MAX_K * DDM_MAX_M];
            system_diffusion(sys, z + (size_t)train_index[s] * k, sigma);
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

/* Fills `stopped` after `epochs_done` epochs. */
static int stop_training(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                         const struct ddm_train_report *report, const struct ddm_adam *adam,
                         int epochs, struct ddm_train_state *stopped, struct ddm_error *err) {
    int code = train_state_alloc(stopped, model->n, model->k, epochs, err);
    if (!code) code = backend->train_params(ctx, model, 0, err);
    if (!code) code = backend->train_moments(ctx, stopped->m1, stopped->m2, 0, err);
    if (code) return code;
    params_pack(model, stopped->params, 0);
    stopped->epochs_done = report->epochs_run;
    stopped->adam_step = adam->step;
    memcpy(stopped->loss, report->loss, sizeof(double) * report->epochs_run);
    stopped->ridge_rel_err = report->ridge_rel_err;
    stopped->ridge_used = report->ridge_used;
    return ddm_fail(err, DDM_EINTERRUPTED, "stopped by %s after epoch %d of %d",
                    stop_signal_name(stop_requested()), report->epochs_run, epochs);
}

int train_model(const struct ddm_backend *backend, const struct ddm_system *sys,
                const struct ddm_config *cfg, struct ddm_model *model,
                struct ddm_train_report *report, int quiet, struct ddm_error *err) {
    return train_model_from(backend, sys, cfg, NULL, NULL, model, report, quiet, err);
}

int train_model_from(const struct ddm_backend *backend, const struct ddm_system *sys,
                     const struct ddm_config *cfg, const struct ddm_train_state *from,
                     struct ddm_train_state *stopped, struct ddm_model *model,
                     struct ddm_train_report *report, int quiet, struct ddm_error *err) {
    const double t_start = now_seconds();
    const int k = sys->k, n = cfg->neurons;
    memset(report, 0, sizeof *report);
    memset(model, 0, sizeof *model);
    struct ddm_points points;
    int code = sample_points(sys, cfg, &points, err);
    if (code) return code;
    report->paths_used = points.paths_used;
    report->paths_dropped = points.paths_dropped;
    report->sampling_seconds = now_seconds() - t_start;

    const int M = points.M, M_test = (int)ceil(cfg->test_fraction * M), M_train = M - M_test;
    int *order = ddm_alloc(sizeof(int) * M, "point order", err);
    float *Z = ddm_alloc(sizeof(float) * M_train * k, "training inputs", err);
    float *Y = ddm_alloc(sizeof(float) * M_train * k, "training targets", err);
    double *test_z = ddm_alloc(sizeof(double) * M_test * k, "test points", err);
    double *test_f = ddm_alloc(sizeof(double) * M_test * k, "test points", err);
    double *gram = ddm_alloc(sizeof(double) * (n + 1) * (n + 1), "Gram matrix", err);
    double *cross = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    double *solution = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    int *batch_order = ddm_alloc(sizeof(int) * (M_train > 0 ? M_train : 1), "batch order", err);
    void *ctx = NULL;
    code = DDM_ERUNTIME;
    if (!order || !Z || !Y || !test_z || !test_f || !gram || !cross || !solution || !batch_order)
        goto done;
    if (M_train < 1) {
        code = ddm_fail(err, DDM_EUSAGE,
                        "[train] samples = %d leaves no training points after "
                        "the test split",
                        M);
        goto done;
    }

    /* normalisation: μ, s per coordinate over all points */
    int state_dependent = !sys->diffusion_constant;
    if ((code = model_alloc(model, n, k, sys->m, state_dependent, err))) goto done;
    model->tau = cfg->tau;
    for (int c = 0; c < k; c++) {
        double mean = 0, var = 0;
        for (int s = 0; s < M; s++) mean += points.z[s * k + c] / M;
        for (int s = 0; s < M; s++) var += pow(points.z[s * k + c] - mean, 2) / M;
        if (!(var > 0)) {
            code = ddm_fail(err, DDM_ERUNTIME,
                            "coordinate '%s' does not vary over the training points, so it "
                            "cannot be normalised: add noise to it ([system] diffusion) or use "
                            "[train] sampling = box",
                            sys->var_names[c]);
            goto done;
        }
        model->latent_mean[c] = mean;
        model->latent_scale[c] = sqrt(var);
    }

    /* held-out split, then ẑ and y = τ f̂ + ẑ of the training points */
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_POINTS);
    permutation(order, M, seed, 2);
    for (int s = 0; s < M_test; s++)
        for (int c = 0; c < k; c++) {
            test_z[s * k + c] = points.z[(size_t)order[s] * k + c];
            test_f[s * k + c] = points.f[(size_t)order[s] * k + c];
        }
    for (int s = 0; s < M_train; s++)
        for (int c = 0; c < k; c++) {
            int p = order[M_test + s];
            double mu = model->latent_mean[c], scale = model->latent_scale[c];
            double z_hat = (points.z[(size_t)p * k + c] - mu) / scale;
            Z[s * k + c] = (float)z_hat;
            Y[s * k + c] = (float)(cfg->tau * points.f[(size_t)p * k + c] / scale + z_hat);
        }

    /* ridge start, or the parameters and moments of a checkpoint */
    double t_ridge = now_seconds();
    struct ddm_adam adam = {0.9, 0.999, 1e-8, cfg->weight_decay, 0};
    report->loss = ddm_calloc(cfg->epochs > 0 ? cfg->epochs : 1, sizeof(double), "loss curve", err);
    if (!report->loss) {
        code = DDM_ERUNTIME;
        goto done;
    }
    if (from && (from->n != n || from->k != k || from->epochs_done > cfg->epochs)) {
        code = ddm_fail(err, DDM_EUSAGE,
                        "the checkpoint holds a network of n = %d, k = %d after %d epochs; the "
                        "configuration has n = %d, k = %d, %d epochs",
                        from->n, from->k, from->epochs_done, n, k, cfg->epochs);
        goto done;
    }
    if (from)
        params_pack(model, from->params, 1);
    else
        init_weights(model, cfg);
    struct ddm_train_data data = {M_train, Z, Y};
    if ((code = backend->train_create(model, &data, &ctx, err))) goto done;
    if ((code = backend->train_params(ctx, model, 1, err))) goto done;
    if (from) {
        if ((code = backend->train_moments(ctx, from->m1, from->m2, 1, err))) goto done;
        adam.step = from->adam_step;
        report->epochs_run = from->epochs_done;
        memcpy(report->loss, from->loss, sizeof(double) * from->epochs_done);
        report->ridge_rel_err = from->ridge_rel_err;
        report->ridge_used = from->ridge_used;
    } else {
        if ((code = ridge_readout(backend, ctx, model, cfg->ridge, gram, cross, solution,
                                  &report->ridge_used, err)))
            goto done;
        if ((code = model_update_pinv(model, err))) goto done;
        report->ridge_rel_err = drift_relative_error(model, test_z, test_f, M_test);
    }
    report->ridge_seconds = now_seconds() - t_ridge;

    /* Adam fine-tuning */
    double t_adam = now_seconds();
    struct ddm_progress progress;
    progress_begin(&progress, "train", "epochs", cfg->epochs, quiet);
    double loss = NAN;
    for (int epoch = report->epochs_run; epoch < cfg->epochs; epoch++) {
        permutation(batch_order, M_train, seed, 16 + (uint64_t)epoch);
        if ((code = backend->train_epoch(ctx, batch_order, cfg->batch, schedule_lr(cfg, epoch),
                                         &adam, &loss, err)))
            goto done;
        if (!isfinite(loss)) {
            code = ddm_fail(err, DDM_ERUNTIME,
                            "training diverged: loss is %g at epoch %d; lower [train] lr (now %g)",
                            loss, epoch + 1, cfg->lr);
            goto done;
        }
        report->loss[report->epochs_run++] = loss;
        char note[64];
        snprintf(note, sizeof note, "loss %.3e", loss);
        progress_update(&progress, epoch + 1, note);
        if (cfg->target_loss > 0 && loss < cfg->target_loss) break;
        if (stopped && stop_requested() && epoch + 1 < cfg->epochs) {
            progress_end(&progress);
            code = stop_training(backend, ctx, model, report, &adam, cfg->epochs, stopped, err);
            goto done;
        }
    }
    progress_end(&progress);
    if ((code = backend->train_params(ctx, model, 0, err))) goto done;
    /* Adam moved the hidden layer; the readout that is optimal for it has a closed form again */
    if (report->epochs_run > 0 && (code = ridge_readout(backend, ctx, model, cfg->ridge, gram,
                                                        cross, solution, &report->ridge_used, err)))
        goto done;
    if ((code = model_update_pinv(model, err))) goto done;
    report->adam_seconds = now_seconds() - t_adam;
    const int epochs_here = report->epochs_run - (from ? from->epochs_done : 0);
    if (epochs_here > 0)
        report->point_neurons_per_second =
            (double)epochs_here * M_train * n / fmax(report->adam_seconds, 1e-9);

    report->final_loss = training_loss(model, Z, Y, M_train);
    report->drift_rel_err = drift_relative_error(model, test_z, test_f, M_test);

    /* diffusion: exact when constant, a fitted readout when it depends on z */
    if (sys->diffusion_constant) {
        for (int c = 0; c < k; c++)
            for (int j = 0; j < sys->m; j++)
                model->S[c * sys->m + j] =
                    (float)(sys->sigma_const[c * sys->m + j] / model->latent_scale[c]);
    } else {
        if ((code = fit_diffusion(backend, ctx, sys, cfg, model, points.z, order + M_test, M_train,
                                  err)))
            goto done;
        report->diffusion_rel_err = diffusion_relative_error(model, sys, test_z, M_test);
    }
    report->M_train = M_train;
    report->M_test = M_test;
    report->seconds = now_seconds() - t_start;
    code = DDM_OK;
done:
    if (ctx) backend->train_destroy(ctx);
    if (code) model_free(model);
    points_free(&points);
    free(order);
    free(Z);
    free(Y);
    free(test_z);
    free(test_f);
    free(gram);
    free(cross);
    free(solution);
    free(batch_order);
    return code;
}
