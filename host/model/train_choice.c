/* train_choice.c — the fit the training solves, and the network it starts from.
 *
 * The rows of the fit are the training points in normalised coordinates, ẑ = (z − μ)/s with
 * targets y = τ f̂ + ẑ, each followed by its margin point when there is one (docs/training.md,
 * "Margin points"). The network is chosen by ridge starts on the first of those rows: n (neurons =
 * auto), g and g_b (init_gain, init_bias = auto) by the held-out ε_f, and for margin = auto
 * whether the margin points pay. train.c then trains the network chosen on all rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/ridge.h"
#include "ddm/train.h"
#include "train_choice.h"

void train_permutation(int *order, int count, uint64_t seed, uint64_t subsequence) {
    for (int i = 0; i < count; i++) order[i] = i;
    for (int i = count - 1; i > 0; i--) {
        int j = (int)(philox_uniform(seed, subsequence, (uint64_t)i) * (i + 1));
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

void train_init_weights(struct ddm_model *model, uint64_t config_seed, double gain, double bias) {
    const int n = model->n, k = model->k;
    const uint64_t seed = ddm_stream_seed(config_seed, DDM_STREAM_INIT_WEIGHTS);
    const double gamma_std = gain / sqrt((double)k);
    for (int q = 0; q < n * k; q++)
        model->Gamma[q] = (float)(gamma_std * philox_gaussian(seed, 0, q));
    for (int i = 0; i < n; i++) model->b[i] = (float)(bias * (2 * philox_uniform(seed, 1, i) - 1));
}

/* Held-out ε_f of the ridge start of a network (n, g, g_b) fitted to `data`. */
static int ridge_trial(const struct ddm_backend *backend, const struct ddm_config *cfg,
                       const struct ddm_train_data *data, const struct held_out *test, int n,
                       double gain, double bias, double *eps, struct ddm_error *err) {
    const int k = test->shape->k;
    struct ddm_model trial;
    memset(&trial, 0, sizeof trial);
    double *gram = ddm_alloc(sizeof(double) * (n + 1) * (n + 1), "Gram matrix", err);
    double *cross = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    double *solution = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    void *ctx = NULL;
    int code = gram && cross && solution ? model_alloc(&trial, n, k, 1, 0, err) : DDM_ERUNTIME;
    if (!code) {
        trial.tau = test->shape->tau;
        memcpy(trial.latent_mean, test->shape->latent_mean, sizeof trial.latent_mean);
        memcpy(trial.latent_scale, test->shape->latent_scale, sizeof trial.latent_scale);
        train_init_weights(&trial, cfg->seed, gain, bias);
        code = backend->train_create(&trial, data, &ctx, err);
    }
    double used;
    if (!code) code = backend->train_params(ctx, &trial, 1, err);
    if (!code)
        code = ridge_readout(backend, ctx, &trial, cfg->ridge, gram, cross, solution, &used, err);
    if (!code) *eps = drift_relative_error(&trial, test->z, test->f, test->count);
    if (!code && !isfinite(*eps)) *eps = INFINITY;
    if (ctx) backend->train_destroy(ctx);
    model_free(&trial);
    free(gram);
    free(cross);
    free(solution);
    return code;
}

/* The candidates of init_gain and init_bias when auto: polynomial drifts are fitted best by tanh
 * units near their linear range (small g), steep or saturating ones by larger g. */
static const double gain_candidates[] = {0.25, 0.5, 1, 1.5};
static const double bias_candidates[] = {1, 2};

/* The rows the choice fits: those of the first 8n training points (at least 4000), or all;
 * `per` rows per point (2 when each is followed by its margin point). */
static struct ddm_train_data choice_subset(const struct ddm_train_data *data, int n, int per) {
    struct ddm_train_data subset = *data;
    const int rows = per * (8 * n > 4000 ? 8 * n : 4000);
    if (subset.M > rows) subset.M = rows;
    return subset;
}

/* Chooses n (neurons = auto: doubled from 64 until the held-out ridge ε_f meets [train]
 * target_drift_error, at most TRAIN_NEURONS_AUTO_MAX) and g, g_b (auto: the best held-out ridge
 * ε_f of the candidates) by ridge starts on choice_subset, which costs a few Gram matrices. Fills
 * report->neurons, init_gain, init_bias and the choice strings; *chosen gets the held-out ε_f of
 * the network chosen (fitted once when nothing is auto) when not NULL. */
static int choose_network(const struct ddm_backend *backend, const struct ddm_config *cfg,
                          const struct ddm_train_data *data, int per, const struct held_out *test,
                          struct ddm_train_report *report, double *chosen, struct ddm_error *err) {
    const int auto_n = cfg->neurons == DDM_AUTO;
    const int gains = cfg->init_gain == DDM_AUTO ? 4 : 1,
              biases = cfg->init_bias == DDM_AUTO ? 2 : 1;
    report->neurons = auto_n ? TRAIN_NEURONS_AUTO_MIN : cfg->neurons;
    report->init_gain = gains > 1 ? gain_candidates[0] : cfg->init_gain;
    report->init_bias = biases > 1 ? bias_candidates[0] : cfg->init_bias;
    if (!auto_n && gains * biases == 1) {
        struct ddm_train_data subset = choice_subset(data, report->neurons, per);
        return chosen ? ridge_trial(backend, cfg, &subset, test, report->neurons, report->init_gain,
                                    report->init_bias, chosen, err)
                      : DDM_OK;
    }
    size_t used_n = 0, len_n = sizeof report->neurons_choice;
    report->neurons_choice[0] = report->gain_choice[0] = '\0';
    for (int n = report->neurons;; n *= 2) {
        size_t used = 0, len = sizeof report->gain_choice;
        struct ddm_train_data subset = choice_subset(data, n, per);
        double best = INFINITY;
        for (int g = 0; g < gains; g++)
            for (int b = 0; b < biases; b++) {
                double gain = gains > 1 ? gain_candidates[g] : cfg->init_gain;
                double bias = biases > 1 ? bias_candidates[b] : cfg->init_bias, eps = INFINITY;
                int code = ridge_trial(backend, cfg, &subset, test, n, gain, bias, &eps, err);
                if (code) return code;
                if (used < len && gains * biases > 1)
                    used += snprintf(report->gain_choice + used, len - used, "%s%g/%g %.1e",
                                     used ? ", " : "", gain, bias, eps);
                if (eps < best) {
                    best = eps;
                    report->neurons = n, report->init_gain = gain, report->init_bias = bias;
                    if (chosen) *chosen = eps;
                }
            }
        if (used_n < len_n && auto_n)
            used_n += snprintf(report->neurons_choice + used_n, len_n - used_n, "%s%d %.1e",
                               used_n ? ", " : "", n, best);
        if (!auto_n || best <= cfg->target_drift_error || 2 * n > TRAIN_NEURONS_AUTO_MAX) break;
    }
    return DDM_OK;
}

void train_buffers_free(struct train_buffers *buf) {
    free(buf->order);
    free(buf->batch_order);
    free(buf->Z);
    free(buf->Y);
    free(buf->fit_z);
    free(buf->test_z);
    free(buf->test_f);
    free(buf->gram);
    free(buf->cross);
    free(buf->solution);
    free(buf->best);
    free(buf->zeros);
}

int train_buffers_alloc(struct train_buffers *buf, int M, int rows, int M_test, int k,
                        struct ddm_error *err) {
    memset(buf, 0, sizeof *buf);
    buf->order = ddm_alloc(sizeof(int) * M, "point order", err);
    buf->Z = ddm_alloc(sizeof(float) * rows * k, "training inputs", err);
    buf->Y = ddm_alloc(sizeof(float) * rows * k, "training targets", err);
    buf->fit_z = ddm_alloc(sizeof(double) * rows * k, "training points", err);
    buf->test_z = ddm_alloc(sizeof(double) * M_test * k, "test points", err);
    buf->test_f = ddm_alloc(sizeof(double) * M_test * k, "test points", err);
    buf->batch_order = ddm_alloc(sizeof(int) * (rows > 0 ? rows : 1), "batch order", err);
    return buf->order && buf->Z && buf->Y && buf->fit_z && buf->test_z && buf->test_f &&
                   buf->batch_order
               ? DDM_OK
               : DDM_ERUNTIME;
}

int train_buffers_alloc_network(struct train_buffers *buf, int n, int k, struct ddm_error *err) {
    const size_t params = (size_t)2 * n * k + n;
    buf->gram = ddm_alloc(sizeof(double) * (n + 1) * (n + 1), "Gram matrix", err);
    buf->cross = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    buf->solution = ddm_alloc(sizeof(double) * (n + 1) * k, "Gram matrix", err);
    buf->best = ddm_alloc(sizeof(float) * params, "best parameters", err);
    buf->zeros = ddm_calloc(params, sizeof(float), "Adam moments", err);
    return buf->gram && buf->cross && buf->solution && buf->best && buf->zeros ? DDM_OK
                                                                               : DDM_ERUNTIME;
}

/* The margin of the fit: [train] margin, or for auto 1.5 where the drift is known off the points
 * (a system written as expressions, points along paths), else 1 (none).
 *
 * Why: the held-out and fresh points lie where paths as long as the training ones go, but a long
 * simulation goes further, and there a tanh fit of a drift that grows (quadratically on dadras)
 * has nothing to hold it. On dadras (experiments/dadras.ini, 54 000 points) the worst 10 of
 * 800 000 points of 640 independent paths carry 79 % of ε_f²; each training point taken again
 * at mean + 1.5(z − mean), with the drift there, lowered ε_f on them ×16.6 (2.5e-4 → 1.5e-5) and
 * the held-out one ×8.5. docs/training.md has the measurements. */
double train_margin_factor(const struct ddm_config *cfg) {
    if (cfg->margin != DDM_AUTO) return cfg->margin;
    return cfg->data_path[0] || cfg->sampling == SAMPLING_BOX ? 1 : TRAIN_MARGIN_AUTO;
}

/* A margin point is fitted where its drift (and a state-dependent σ) is finite and it lies within
 * [train] path_bound (where the target is meant to go); others are left out. */
static int margin_point_usable(const struct ddm_system *sys, const struct ddm_config *cfg,
                               const double *z, const double *f) {
    double sigma[DDM_MAX_K * DDM_MAX_M];
    if (!sys->diffusion_constant) system_diffusion(sys, z, sigma);
    for (int q = 0; !sys->diffusion_constant && q < sys->k * sys->m; q++)
        if (!isfinite(sigma[q])) return 0;
    for (int c = 0; c < sys->k; c++)
        if (!isfinite(f[c]) || !(fabs(z[c]) <= cfg->path_bound)) return 0;
    return 1;
}

/* Row `row` of the fit: ẑ = (z − μ)/s and y = τ f̂(ẑ) + ẑ, and z itself. */
static void training_row(const struct ddm_config *cfg, const struct ddm_model *shape,
                         const double *z, const double *f, struct train_buffers *buf, int row) {
    const int k = shape->k;
    for (int c = 0; c < k; c++) {
        const double mu = shape->latent_mean[c], scale = shape->latent_scale[c];
        const double z_hat = (z[c] - mu) / scale;
        buf->Z[(size_t)row * k + c] = (float)z_hat;
        buf->Y[(size_t)row * k + c] = (float)(cfg->tau * f[c] / scale + z_hat);
        buf->fit_z[(size_t)row * k + c] = z[c];
    }
}

/* The rows of the fit: each training point, followed by its margin point (train_margin_factor)
 * where it is usable; *M_fit rows in all. Interleaved, so that the first rows, which choose n, g
 * and g_b (choose_network), hold both kinds. */
static int fit_rows(const struct ddm_system *sys, const struct ddm_config *cfg,
                    const struct ddm_points *points, int M_test, double factor,
                    const struct ddm_model *shape, struct train_buffers *buf, int *M_fit,
                    struct ddm_error *err) {
    const int k = sys->k, M_train = points->M - M_test, margins = factor > 1 ? M_train : 0;
    double *far = NULL; /* (margins,k) the margin points, then (margins,k) their drift */
    if (margins && !(far = ddm_alloc(sizeof(double) * 2 * margins * k, "margin points", err)))
        return DDM_ERUNTIME;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < margins; s++) {
        const double *z = points->z + (size_t)buf->order[M_test + s] * k;
        for (int c = 0; c < k; c++)
            far[(size_t)s * k + c] =
                shape->latent_mean[c] + factor * (z[c] - shape->latent_mean[c]);
        system_drift(sys, far + (size_t)s * k, far + (size_t)(margins + s) * k);
    }
    int rows = 0;
    for (int s = 0; s < M_train; s++) {
        const int p = buf->order[M_test + s];
        training_row(cfg, shape, points->z + (size_t)p * k, points->f + (size_t)p * k, buf, rows++);
        if (!margins) continue;
        const double *z = far + (size_t)s * k, *f = far + (size_t)(margins + s) * k;
        if (margin_point_usable(sys, cfg, z, f)) training_row(cfg, shape, z, f, buf, rows++);
    }
    free(far);
    *M_fit = rows;
    return DDM_OK;
}

/* μ, s per coordinate over all points into `shape`, then the held-out split and the rows of the
 * fit (fit_rows). */
int train_normalise(const struct ddm_system *sys, const struct ddm_config *cfg,
                    const struct ddm_points *points, int M_test, double factor,
                    struct ddm_model *shape, struct train_buffers *buf, int *M_fit,
                    struct ddm_error *err) {
    const int k = sys->k, M = points->M, M_train = M - M_test;
    shape->k = k;
    shape->tau = cfg->tau;
    for (int c = 0; c < k; c++) {
        double mean = 0, var = 0;
        for (int s = 0; s < M; s++) mean += points->z[s * k + c] / M;
        for (int s = 0; s < M; s++) var += pow(points->z[s * k + c] - mean, 2) / M;
        if (!(var > 0))
            return ddm_fail(err, DDM_ERUNTIME,
                            "coordinate '%s' does not vary over the training points, so it "
                            "cannot be normalised: add noise to it ([system] diffusion) or use "
                            "[train] sampling = box",
                            sys->var_names[c]);
        shape->latent_mean[c] = mean;
        shape->latent_scale[c] = sqrt(var);
    }
    const uint64_t seed = ddm_stream_seed(cfg->seed, DDM_STREAM_TRAIN_POINTS);
    train_permutation(buf->order, M, seed, 2);
    for (int s = 0; points->held_out && s < M; s++) /* data: the held-out part is given */
        buf->order[s] = s < M_test ? M_train + s : s - M_test;
    for (int s = 0; s < M_test; s++)
        for (int c = 0; c < k; c++) {
            buf->test_z[s * k + c] = points->z[(size_t)buf->order[s] * k + c];
            buf->test_f[s * k + c] = points->f[(size_t)buf->order[s] * k + c];
        }
    return fit_rows(sys, cfg, points, M_test, factor, shape, buf, M_fit, err);
}

/* n, g, g_b as choose_network picks them, and for margin = auto where margin points are possible
 * (*margin > 1) whether to fit them: the network picked with them and the one picked without are
 * judged by the held-out ε_f of their ridge starts, and the rows, n, g and g_b of the better are
 * kept (*margin = 1 when it is the one without; ties go to the smaller fit). A choice, because the
 * margin points hold the fit where rare excursions go (dadras: ×8.5 held out) but spend the
 * network there, which a drift steep far out makes costly (the eight wells of
 * experiments/associative_recall.ini: ×22 worse held out). */
int train_choose_margin(const struct ddm_backend *backend, const struct ddm_system *sys,
                        const struct ddm_config *cfg, const struct ddm_points *points,
                        const struct held_out *test, struct train_buffers *buf, double *margin,
                        int *M_fit, struct ddm_train_report *report, struct ddm_error *err) {
    const int choose = cfg->margin == DDM_AUTO && *margin > 1;
    struct ddm_train_data data = {*M_fit, buf->Z, buf->Y};
    double with = 0, without = 0;
    const int per = *margin > 1 ? 2 : 1; /* rows per training point: each with its margin point */
    int code = choose_network(backend, cfg, &data, per, test, report, choose ? &with : NULL, err);
    if (code || !choose) return code;
    const int n = report->neurons;
    const double gain = report->init_gain, bias = report->init_bias;
    char sizes[sizeof report->neurons_choice], gains[sizeof report->gain_choice];
    memcpy(sizes, report->neurons_choice, sizeof sizes);
    memcpy(gains, report->gain_choice, sizeof gains);
    if ((code = fit_rows(sys, cfg, points, test->count, 1, test->shape, buf, M_fit, err)))
        return code;
    data.M = *M_fit;
    if ((code = choose_network(backend, cfg, &data, 1, test, report, &without, err))) return code;
    report->margin_trial_with = with, report->margin_trial_without = without;
    if (!(with < without)) {
        *margin = 1;
        return DDM_OK;
    }
    report->neurons = n, report->init_gain = gain, report->init_bias = bias;
    memcpy(report->neurons_choice, sizes, sizeof sizes);
    memcpy(report->gain_choice, gains, sizeof gains);
    return fit_rows(sys, cfg, points, test->count, *margin, test->shape, buf, M_fit, err);
}
