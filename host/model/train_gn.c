/* train_gn.c — Gauss–Newton fine-tuning of the hidden layer with the readout eliminated.
 *
 * For fixed (Γ̂, b) the best readout is the ridge solve W(Γ̂, b) = (HHᵀ + λ̄I)⁻¹HYᵀ, so the training
 * loss is a function of the hidden layer alone (variable projection, Golub & Pereyra 1973). Its
 * Gauss–Newton model uses Kaufman's Jacobian J = P⊥ ∂F/∂θ |_W: the derivative of the outputs with
 * the readout held, projected off the span of the features (a move that the readout can absorb
 * is no move). With θ = (Γ̂_i, b_i) of a block of neurons, output c and point s:
 *     ∂F_c(s)/∂Γ̂_ij = W_ic (1 − h_is²) ẑ_j(s),   ∂F_c(s)/∂b_i = W_ic (1 − h_is²).
 * A Levenberg–Marquardt step solves (JᵀJ + μ diag(JᵀJ)) δ = Jᵀr. The ridge start leaves W large
 * and the loss surface in (Γ̂, b) badly scaled (what makes a first-order step destroy it); the
 * second-order step is invariant to that scaling. The steps are taken on all training points up
 * to GN_ALL_POINTS (the Jacobian has S·k rows and (k+1)·n_block columns); each round is then
 * judged by the caller on the held-out points. Above 256 neurons only the first 256 are tuned,
 * as a network of their own fitted to the whole target (GN_SUB_NEURONS).
 *
 * Why all points: with λ ≈ 10⁻¹² on near-collinear tanh features the readout of a subsample
 * interpolates it. On dadras (n = 256, 27 000 points) the readout of an 8×-the-unknowns subsample
 * of 4 778 points had a mean squared residual of 1e-8 there and 3.4e-3 on the other points, so
 * the steps fitted the subsample's few points in the rare far excursions and every round was
 * undone; on all points the rounds are kept and ε_f on fresh paths falls ×3–4.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/train.h"

/* Columns of the Jacobian at most: a block of ⌊1024/(k+1)⌋ neurons moves per round. */
#define GN_MAX_COLUMNS 1024
/* Neurons tuned at most: the first 256. Eliminating the readout of all n features costs n²S per
 * step with S ∝ n, minutes at n = 1024; a tuned sub-network of 256 units and the n − 256 random
 * ones, with the readout then solved over all n by the caller, is what pays (docs/training.md). */
#define GN_SUB_NEURONS 256
/* Points a round's steps use: all training points up to GN_ALL_POINTS (a Jacobian of 1 GiB at
 * 1024 columns; dadras's 5 rounds on 108 000 rows at n = 256 tuned, k = 3: 177 s of a 2-core
 * machine). Above it (a recording of
 * millions of increments) a round draws GN_DRAW_POINTS, and a step is kept only if it also lowers
 * the squared residual on up to GN_CHECK_POINTS of the others, so that it cannot fit the draw
 * alone. A draw loses most of the gain: dadras with 54 000 training points kept one round of four
 * and gained ×1.1 on the run's fresh paths with draws of 32 768, four rounds and ×2.2 with all
 * points; with its 54 000 margin points beside them (108 000 rows), ×1.66 held out with draws of
 * 65 536 and ×2.73 with all rows (docs/training.md; excursions rarer than the paths hold are not
 * helped). */
#define GN_ALL_POINTS   131072
#define GN_DRAW_POINTS  65536
#define GN_CHECK_POINTS 16384

struct gn_work {
    int n, k, S, nb, P;   /* neurons, dimension, points, neurons in the block, columns */
    double ridge;         /* λ relative to mean(diag G) */
    double *z, *y;        /* (S,k) the subsample */
    double *gamma, *b;    /* (n,k), (n) the current hidden layer */
    double *H, *chol, *W; /* (n,S) features, (n,n) Cholesky factor of G + λ̄I, (n,k) readout */
    double *R;            /* (k,S) residual y − F */
    double *J, *HJ;       /* (k,S,P) projected Jacobian; (n,P) scratch */
    double *A, *g, *step; /* (P,P) JᵀJ, (P) Jᵀr, (P,P+1) the damped system */
    int *block;           /* (nb) the neurons that move */
    int V;                /* check points: training points outside the draw (0: none) */
    double *zv, *yv;      /* (V,k) */
};

static void gn_free(struct gn_work *w) {
    void *parts[] = {w->z, w->y,  w->gamma, w->b, w->H,    w->chol,  w->W,  w->R,
                     w->J, w->HJ, w->A,     w->g, w->step, w->block, w->zv, w->yv};
    for (size_t q = 0; q < sizeof parts / sizeof *parts; q++) free(parts[q]);
}

/* The block width gn_alloc chooses: all n neurons, or as many as GN_MAX_COLUMNS columns hold. */
static int gn_block(int n, int k) {
    return n * (k + 1) <= GN_MAX_COLUMNS ? n : GN_MAX_COLUMNS / (k + 1);
}

/* The points a round's steps use (S) and the check points beside them (V) of M rows. */
static void gn_points(double M, double *S, double *V) {
    *S = M <= GN_ALL_POINTS ? M : GN_DRAW_POINTS;
    *V = fmin(M - *S, GN_CHECK_POINTS);
}

/* M is the most rows the fit may have; it may have fewer (margin points left out or declined),
 * and S is largest at GN_ALL_POINTS rows, so the estimate takes that where M is above it. */
double train_gauss_newton_bytes(int n, int k, double M) {
    const double n_t = n < GN_SUB_NEURONS ? n : GN_SUB_NEURONS,
                 P = gn_block((int)n_t, k) * (k + 1.0);
    const double S = fmin(M, GN_ALL_POINTS), V = M > GN_ALL_POINTS ? GN_CHECK_POINTS : 0;
    /* the arrays of gn_alloc, and the round's order of the points */
    return sizeof(double) * (2 * S * k + n_t * k + n_t + n_t * S + n_t * n_t + n_t * k + k * S +
                             S * P + n_t * P + P * P + P + P * (P + 1) + 2 * (V + 1) * k) +
           sizeof(int) * (fmax(M, n_t) + P / (k + 1));
}

static int gn_alloc(struct gn_work *w, int n, int k, int S, int V, struct ddm_error *err) {
    memset(w, 0, sizeof *w);
    w->n = n, w->k = k, w->S = S, w->V = V;
    w->nb = gn_block(n, k);
    w->P = w->nb * (k + 1);
    const size_t P = (size_t)w->P;
    w->z = malloc(sizeof(double) * S * k), w->y = malloc(sizeof(double) * S * k);
    w->gamma = malloc(sizeof(double) * n * k), w->b = malloc(sizeof(double) * n);
    w->H = malloc(sizeof(double) * n * S), w->chol = malloc(sizeof(double) * n * n);
    w->W = malloc(sizeof(double) * n * k), w->R = malloc(sizeof(double) * k * S);
    w->J = malloc(sizeof(double) * S * P), w->HJ = malloc(sizeof(double) * n * P);
    w->A = malloc(sizeof(double) * P * P), w->g = malloc(sizeof(double) * P);
    w->step = malloc(sizeof(double) * P * (P + 1)), w->block = malloc(sizeof(int) * w->nb);
    w->zv = malloc(sizeof(double) * (V + 1) * k), w->yv = malloc(sizeof(double) * (V + 1) * k);
    if (w->z && w->y && w->gamma && w->b && w->H && w->chol && w->W && w->R && w->J && w->HJ &&
        w->A && w->g && w->step && w->block && w->zv && w->yv)
        return DDM_OK;
    gn_free(w);
    return ddm_fail(err, DDM_ERUNTIME,
                    "out of memory for the Gauss–Newton fine-tuning (%d points, %d columns)", S,
                    (int)P);
}

/* Features, readout and residual at (gamma, b); the mean squared residual, or ∞ when the ridge
 * system cannot be factored (λ is raised ×100 up to max(λ, 1e-3) first, as in the ridge start;
 * a data system's evidence λ is often above 1e-3 and must still be tried). */
static double gn_readout(struct gn_work *w) {
    const int n = w->n, k = w->k, S = w->S;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int s = 0; s < S; s++) {
            double pre = w->b[i];
            for (int j = 0; j < k; j++) pre += w->gamma[i * k + j] * w->z[(size_t)s * k + j];
            w->H[(size_t)i * S + s] = tanh(pre);
        }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, S, 1, w->H, S, w->y, k, 0, w->W,
                k);
    int info = -1;
    for (double lambda = w->ridge; info != 0 && lambda <= fmax(w->ridge, 1e-3) * (1 + 1e-9);
         lambda = lambda > 0 ? lambda * 100 : 1e-12) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, S, 1, w->H, S, 0, w->chol, n);
        double mean_diag = 0;
        for (int i = 0; i < n; i++) mean_diag += w->chol[(size_t)i * n + i] / n;
        for (int i = 0; i < n; i++) w->chol[(size_t)i * n + i] += lambda * mean_diag;
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, w->chol, n);
    }
    if (info != 0) return INFINITY;
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', n, k, w->chol, n, w->W, k);
    double sum = 0;
    for (int c = 0; c < k; c++)
        for (int s = 0; s < S; s++) {
            double out = 0;
            for (int i = 0; i < n; i++) out += w->W[(size_t)i * k + c] * w->H[(size_t)i * S + s];
            double r = w->y[(size_t)s * k + c] - out;
            w->R[(size_t)c * S + s] = r;
            sum += r * r;
        }
    return sum / S;
}

/* The mean squared residual on the check points at the current (gamma, b, W). */
static double gn_check_loss(const struct gn_work *w) {
    const int n = w->n, k = w->k;
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (int s = 0; s < w->V; s++) {
        double out[DDM_MAX_K] = {0};
        const double *z = w->zv + (size_t)s * k;
        for (int i = 0; i < n; i++) {
            double pre = w->b[i];
            for (int j = 0; j < k; j++) pre += w->gamma[i * k + j] * z[j];
            const double h = tanh(pre);
            for (int c = 0; c < k; c++) out[c] += w->W[(size_t)i * k + c] * h;
        }
        for (int c = 0; c < k; c++) sum += pow(w->yv[(size_t)s * k + c] - out[c], 2);
    }
    return sum / w->V;
}

/* JᵀJ and Jᵀr of the block at the state of the last gn_readout. The Jacobian of output c is
 * J_c = U diag(w_c) with U(s, (i,j)) = (1 − h_is²) x_j(s), x = (ẑ, 1), and w_c(i,j) = W_ic, and P⊥
 * acts on the points, so one projected Ũ = P⊥U serves every output:
 *     JᵀJ = Σ_c diag(w_c) ŨᵀŨ diag(w_c) = ŨᵀŨ ∘ Σ_c w_c w_cᵀ,   Jᵀr = Σ_c w_c ∘ Ũᵀr_c. */
static void gn_normal_equations(struct gn_work *w) {
    const int n = w->n, k = w->k, S = w->S, P = w->P, cols = k + 1;
    double *U = w->J;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < S; s++)
        for (int q = 0; q < w->nb; q++) {
            const double h = w->H[(size_t)w->block[q] * S + s], d = 1 - h * h;
            double *row = U + (size_t)s * P + (size_t)q * cols;
            for (int j = 0; j < k; j++) row[j] = d * w->z[(size_t)s * k + j];
            row[k] = d;
        }
    /* Ũ = U − Hᵀ (G + λ̄I)⁻¹ H U */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, P, S, 1, w->H, S, U, P, 0, w->HJ, P);
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', n, P, w->chol, n, w->HJ, P);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, P, n, -1, w->H, S, w->HJ, P, 1, U, P);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, S, 1, U, P, 0, w->A, P);
    double *UR = w->HJ; /* (P,k) Ũᵀ r_c */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, P, k, S, 1, U, P, w->R, S, 0, UR, k);
    double *weight = w->step; /* (P,k) w_c of each column */
    for (int p = 0; p < P; p++)
        for (int c = 0; c < k; c++)
            weight[(size_t)p * k + c] = w->W[(size_t)w->block[p / cols] * k + c];
    for (int p = 0; p < P; p++) {
        w->g[p] = 0;
        for (int c = 0; c < k; c++) w->g[p] += weight[(size_t)p * k + c] * UR[(size_t)p * k + c];
        for (int q = p; q < P; q++) {
            double ww = 0;
            for (int c = 0; c < k; c++) ww += weight[(size_t)p * k + c] * weight[(size_t)q * k + c];
            w->A[(size_t)p * P + q] *= ww;
        }
    }
}

/* δ of (A + μ(diag A + 10⁻⁵ mean diag A)) δ = g, added to the block of (gamma, b); 0 if solved.
 * Marquardt's scaling by diag A alone leaves a saturated unit (1 − h² ≈ 0, a column near zero)
 * undamped: steps there grew Γ̂ to 10³–10⁴, pairs of steep units whose narrow spikes in the drift
 * lay between the training points, where no held-out point saw them (a drift around (100, 50):
 * ε_f 3.4e-7 held out, 1.1e-3 on fresh paths). The floor bounds such steps (max |Γ̂| 2–19 on
 * vdp, Lorenz and that drift); 10⁻³ bounded Γ̂ further but took half the gain on kinked drifts. */
static int gn_apply_step(struct gn_work *w, double mu) {
    const int P = w->P, k = w->k;
    double *M = w->step, *delta = w->step + (size_t)P * P, mean_diag = 0;
    for (int p = 0; p < P; p++) mean_diag += w->A[(size_t)p * P + p] / P;
    memcpy(M, w->A, sizeof(double) * P * P);
    memcpy(delta, w->g, sizeof(double) * P);
    for (int p = 0; p < P; p++)
        M[(size_t)p * P + p] += mu * (M[(size_t)p * P + p] + 1e-5 * mean_diag);
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', P, 1, M, P, delta, 1) != 0) return 1;
    for (int q = 0; q < w->nb; q++) {
        const int i = w->block[q];
        for (int j = 0; j < k; j++) w->gamma[i * k + j] += delta[q * (k + 1) + j];
        w->b[i] += delta[q * (k + 1) + k];
    }
    return 0;
}

/* Up to `iterations` Levenberg–Marquardt steps on the drawn points; returns their final loss.
 * A step that does not lower the loss is taken back and μ raised ×4 (at most 8 times per step);
 * one that lowers it but not the check points' loss is taken back and ends the round. */
static double gn_iterate(struct gn_work *w, int iterations) {
    const size_t nk = (size_t)w->n * w->k;
    double *gamma0 = malloc(sizeof(double) * (nk + w->n)), mu = 1e-3;
    double loss = gn_readout(w);
    if (!gamma0) return loss;
    double check = w->V ? gn_check_loss(w) : 0;
    for (int it = 0; it < iterations && isfinite(loss); it++) {
        gn_normal_equations(w);
        memcpy(gamma0, w->gamma, sizeof(double) * nk);
        memcpy(gamma0 + nk, w->b, sizeof(double) * w->n);
        double trial = INFINITY;
        for (int tries = 0; tries < 8; tries++, mu *= 4) {
            memcpy(w->gamma, gamma0, sizeof(double) * nk);
            memcpy(w->b, gamma0 + nk, sizeof(double) * w->n);
            if (gn_apply_step(w, mu)) continue;
            if ((trial = gn_readout(w)) < loss) break;
        }
        const double trial_check = trial < loss && w->V ? gn_check_loss(w) : check;
        if (!(trial < loss) || trial_check > check) { /* no step helps: back to the best point */
            memcpy(w->gamma, gamma0, sizeof(double) * nk);
            memcpy(w->b, gamma0 + nk, sizeof(double) * w->n);
            gn_readout(w);
            break;
        }
        check = trial_check;
        const int small = trial > (1 - 1e-3) * loss;
        loss = trial;
        mu = fmax(mu / 3, 1e-9);
        if (small) break;
    }
    free(gamma0);
    return loss;
}

int train_gauss_newton_round(struct ddm_model *model, const float *Z, const float *Y, int M,
                             double ridge, uint64_t seed, int round, int iterations,
                             struct ddm_error *err) {
    const int k = model->k, n = model->n < GN_SUB_NEURONS ? model->n : GN_SUB_NEURONS;
    double S_points, V_points;
    gn_points(M, &S_points, &V_points);
    const int S = (int)S_points, V = (int)V_points;
    struct gn_work w;
    int code = gn_alloc(&w, n, k, S, V, err);
    if (code) return code;
    w.ridge = ridge;
    int *order = malloc(sizeof(int) * (M > n ? M : n));
    if (!order) {
        gn_free(&w);
        return ddm_fail(err, DDM_ERUNTIME, "out of memory for the Gauss–Newton subsample");
    }
    /* a fresh draw (when M > GN_ALL_POINTS), check points and block each round (Fisher–Yates,
     * keyed) */
    const uint64_t stream = (1ull << 32) + (uint64_t)round;
    for (int s = 0; s < M; s++) order[s] = s;
    for (int s = 0; s < S + V; s++) {
        int j = s + (int)(philox_uniform(seed, stream, (uint64_t)s) * (M - s));
        int tmp = order[s];
        order[s] = order[j], order[j] = tmp;
        double *z = s < S ? w.z + (size_t)s * k : w.zv + (size_t)(s - S) * k;
        double *y = s < S ? w.y + (size_t)s * k : w.yv + (size_t)(s - S) * k;
        for (int c = 0; c < k; c++)
            z[c] = Z[(size_t)order[s] * k + c], y[c] = Y[(size_t)order[s] * k + c];
    }
    for (int i = 0; i < n; i++) order[i] = i;
    for (int q = 0; q < w.nb; q++) {
        int j = q + (int)(philox_uniform(seed, stream + (1ull << 31), (uint64_t)q) * (n - q));
        int tmp = order[q];
        order[q] = order[j], order[j] = tmp;
        w.block[q] = order[q];
    }
    for (int q = 0; q < n * k; q++) w.gamma[q] = model->Gamma[q];
    for (int i = 0; i < n; i++) w.b[i] = model->b[i];
    gn_iterate(&w, iterations);
    for (int q = 0; q < n * k; q++) model->Gamma[q] = (float)w.gamma[q];
    for (int i = 0; i < n; i++) model->b[i] = (float)w.b[i];
    free(order);
    gn_free(&w);
    return DDM_OK;
}
