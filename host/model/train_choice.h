/* train_choice.h — private to host/model: the rows of the fit and the choice of the network
 * (train_choice.c), shared with the stages that train it (train.c).
 */
#ifndef DDM_TRAIN_CHOICE_H
#define DDM_TRAIN_CHOICE_H

#include <stdint.h>

#include "ddm/backend.h"
#include "ddm/model.h"
#include "ddm/system.h"
#include "ddm/train.h"

/* The held-out data of a training run, and the normalisation every candidate network shares. */
struct held_out {
    const double *z, *f; /* (count,k) original coordinates */
    int count;
    const struct ddm_model *shape; /* μ, s, τ */
    int from_data;                 /* held-out increments of a recording (the ridge λ is chosen) */
};

/* Buffers of one training run: the points in normalised coordinates and the ridge system. */
struct train_buffers {
    int *order, *batch_order;
    float *Z, *Y;            /* (M_fit,k) ẑ and y = τ f̂ + ẑ: training and margin points */
    double *fit_z;           /* (M_fit,k) the same rows in original coordinates */
    double *test_z, *test_f; /* (M_test,k) held out, original coordinates */
    double *gram, *cross, *solution;
    float *best, *zeros; /* (2nk + n) the best parameters so far; zero moments */
};

/* Room for `rows` rows of the fit (the training points, and as many margin points at most), the
 * M-point order and M_test held-out points; the network's part comes with n. */
int train_buffers_alloc(struct train_buffers *buf, int M, int rows, int M_test, int k,
                        struct ddm_error *err);
int train_buffers_alloc_network(struct train_buffers *buf, int n, int k, struct ddm_error *err);
void train_buffers_free(struct train_buffers *buf);

/* A permutation of 0..count-1 by Fisher–Yates with keyed uniforms (stream `subsequence`). */
void train_permutation(int *order, int count, uint64_t seed, uint64_t subsequence);

/* Γ̂ ~ N(0, g²/k) and b ~ U(−g_b, g_b) from the seed's init stream: the same for every n tried. */
void train_init_weights(struct ddm_model *model, uint64_t config_seed, double gain, double bias);

/* μ, s per coordinate over all points into `shape`, the held-out split (buf->test_z, test_f) and
 * the rows of the fit with margin points at `factor` (*M_fit rows). */
int train_normalise(const struct ddm_system *sys, const struct ddm_config *cfg,
                    const struct ddm_points *points, int M_test, double factor,
                    struct ddm_model *shape, struct train_buffers *buf, int *M_fit,
                    struct ddm_error *err);

/* n, g, g_b (those that are auto) by the held-out ε_f of ridge starts, and for margin = auto
 * whether to keep the margin points (*margin = 1 when not; the rows are rebuilt to match).
 * Fills report->neurons, init_gain, init_bias, the choice strings and the margin trials. */
int train_choose_margin(const struct ddm_backend *backend, const struct ddm_system *sys,
                        const struct ddm_config *cfg, const struct ddm_points *points,
                        const struct held_out *test, struct train_buffers *buf, double *margin,
                        int *M_fit, struct ddm_train_report *report, struct ddm_error *err);

#endif
