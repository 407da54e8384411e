/* analysis_lyapunov.c — Benettin/QR Lyapunov spectra with RK4 and exact Jacobians (docs/design.md
 * §5).
 *
 * State (z, Q) with dz/dt = f(z), dQ/dt = J(z)Q, integrated by classical RK4 (each stage evaluates
 * f and J at the stage's z), then Q = Q'R by modified Gram–Schmidt (k ≤ 8, so plain loops) and
 * ln Rᵢᵢ accumulated. Lorenz (10, 28, 8/3) gives λ ≈ (0.906, 0, −14.57), summing to the constant
 * divergence −(σ + 1 + β) = −13.667.
 */
#include "ddm/analysis_lyapunov.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/orthonormal.h"

/* dz (k) = f(z), dQ (k,k) = J(z) Q */
static void variational_rate(const struct latent_process *p, const double *z, const double *Q,
                             double *dz, double *dQ) {
    const int k = p->k;
    double J[DDM_MAX_K * DDM_MAX_K];
    p->drift(p->ctx, z, dz, J);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double sum = 0;
            for (int q = 0; q < k; q++) sum += J[i * k + q] * Q[q * k + j];
            dQ[i * k + j] = sum;
        }
}

/* QR of Q (k,k) by Gram–Schmidt: Q ← Q', ln Rᵢᵢ into log_r (k). */
static int reorthonormalise(int k, double *Q, double *log_r) {
    if (orthonormalise_columns(k, k, Q, 1, log_r)) return -1;
    for (int j = 0; j < k; j++) log_r[j] = log(log_r[j]);
    return 0;
}

int lyapunov_advance(const struct latent_process *p, double *z, double *Q, double dt, long steps,
                     double *log_growth) {
    const int k = p->k, kk = k * k;
    double dz[4][DDM_MAX_K], dQ[4][DDM_MAX_K * DDM_MAX_K];
    double zs[DDM_MAX_K], Qs[DDM_MAX_K * DDM_MAX_K], log_r[DDM_MAX_K];
    static const double stage_weight[3] = {0.5, 0.5, 1.0};
    for (long step = 0; step < steps; step++) {
        variational_rate(p, z, Q, dz[0], dQ[0]);
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < k; i++) zs[i] = z[i] + stage_weight[s] * dt * dz[s][i];
            for (int i = 0; i < kk; i++) Qs[i] = Q[i] + stage_weight[s] * dt * dQ[s][i];
            variational_rate(p, zs, Qs, dz[s + 1], dQ[s + 1]);
        }
        int finite = 1;
        for (int i = 0; i < k; i++) {
            z[i] += dt / 6 * (dz[0][i] + 2 * dz[1][i] + 2 * dz[2][i] + dz[3][i]);
            finite &= isfinite(z[i]) != 0;
        }
        for (int i = 0; i < kk; i++)
            Q[i] += dt / 6 * (dQ[0][i] + 2 * dQ[1][i] + 2 * dQ[2][i] + dQ[3][i]);
        if (!finite || reorthonormalise(k, Q, log_r)) return -1;
        if (log_growth)
            for (int i = 0; i < k; i++) log_growth[i] += log_r[i];
    }
    return 0;
}

int lyapunov_spectrum(const struct latent_process *p, const double *z0, double dt, long transient,
                      long steps, double *lambda) {
    const int k = p->k;
    double z[DDM_MAX_K], Q[DDM_MAX_K * DDM_MAX_K] = {0}, growth[DDM_MAX_K] = {0};
    memcpy(z, z0, sizeof(double) * k);
    for (int i = 0; i < k; i++) Q[i * k + i] = 1;
    if (lyapunov_advance(p, z, Q, dt, transient, NULL) ||
        lyapunov_advance(p, z, Q, dt, steps, growth))
        return -1;
    for (int i = 0; i < k; i++) lambda[i] = growth[i] / (steps * dt);
    return 0;
}

double kaplan_yorke_dimension(const double *lambda, int k) {
    double partial = 0;
    for (int j = 0; j < k; j++) {
        if (partial + lambda[j] < 0) return j + partial / fabs(lambda[j]);
        partial += lambda[j];
    }
    return k;
}

const char *lyapunov_attractor_name(int attractor) {
    static const char *const names[LYAPUNOV_ATTRACTORS] = {
        "chaotic attractor", "torus", "periodic orbit", "fixed point", "left the finite range"};
    return attractor >= 0 && attractor < LYAPUNOV_ATTRACTORS ? names[attractor] : "?";
}

double lyapunov_zero_tolerance(long steps, double dt) {
    return 5.0 / (steps * dt);
}

int lyapunov_attractor_of(const double *lambda, int k, double tol) {
    if (!isfinite(lambda[0])) return LYAPUNOV_LEFT;
    if (lambda[0] > tol) return LYAPUNOV_CHAOTIC;
    if (lambda[0] < -tol) return LYAPUNOV_FIXED_POINT;
    return k > 1 && lambda[1] >= -tol ? LYAPUNOV_TORUS : LYAPUNOV_PERIODIC;
}

void lyapunov_result_free(struct lyapunov_result *out) {
    free(out->per_start);
    free(out->end);
    free(out->attractor);
    free(out->kept_start);
    free(out->end_distance);
    out->per_start = out->end = out->end_distance = NULL;
    out->attractor = out->kept_start = NULL;
}

int lyapunov_majority(const struct lyapunov_result *r) {
    int count[LYAPUNOV_ATTRACTORS] = {0}, best = LYAPUNOV_LEFT;
    for (int s = 0; s < r->starts; s++) count[r->attractor[s]]++;
    count[LYAPUNOV_LEFT] = 0;
    for (int a = 0; a < LYAPUNOV_LEFT; a++)
        if (count[a] > count[best]) best = a;
    return best;
}

/* D_KY of a measured spectrum on `attractor`: a bounded flow off a fixed point has an exponent
 * along the flow that is exactly 0 (two on a torus), so the measured ones nearest 0 (after λ₁ on
 * a chaotic attractor) count as 0. D_KY jumps at a zero sum: a limit cycle's λ₁ measured at
 * −0.0007 ± 0.0005 (van der Pol) gave D_KY 0 where it is 1. */
static double kaplan_yorke_on(const double *mean, int k, int attractor) {
    double lambda[DDM_MAX_K];
    memcpy(lambda, mean, sizeof(double) * k);
    const int zeros = attractor == LYAPUNOV_TORUS                                       ? 2
                      : attractor == LYAPUNOV_PERIODIC || attractor == LYAPUNOV_CHAOTIC ? 1
                                                                                        : 0;
    for (int z = 0; z < zeros; z++) {
        int nearest = -1;
        for (int i = attractor == LYAPUNOV_CHAOTIC; i < k; i++)
            if (lambda[i] != 0 && (nearest < 0 || fabs(lambda[i]) < fabs(lambda[nearest])))
                nearest = i;
        if (nearest >= 0) lambda[nearest] = 0;
    }
    return kaplan_yorke_dimension(lambda, k);
}

void lyapunov_average(struct lyapunov_result *r, int reference, const double *distance,
                      int distinct) {
    const int k = r->k;
    r->kept = 0;
    for (int s = 0; s < r->starts; s++) {
        if (distance) r->end_distance[s] = distance[s];
        r->kept_start[s] = r->attractor[s] == reference && reference != LYAPUNOV_LEFT &&
                           !(r->end_distance[s] > LYAPUNOV_FAR);
        r->kept += r->kept_start[s];
    }
    for (int i = 0; i < k; i++) {
        double sum = 0, sum2 = 0;
        for (int s = 0; s < r->starts; s++)
            if (r->kept_start[s]) {
                sum += r->per_start[(size_t)s * k + i];
                sum2 += pow(r->per_start[(size_t)s * k + i], 2);
            }
        const int m = r->kept;
        r->mean[i] = m ? sum / m : NAN;
        r->error[i] = m > 1 && distinct ? sqrt(fmax(0, sum2 - sum * sum / m) / (m - 1) / m) : NAN;
    }
    r->kaplan_yorke = r->kept ? kaplan_yorke_on(r->mean, k, reference) : NAN;
}

/* The buffers of one run: states, frames, summed ln Rᵢᵢ and the left flags of every start. */
struct lyapunov_run {
    const struct latent_process *p;
    int starts;
    double dt, *z, *Q, *growth;
    int *left;
};

/* Advances every start by `warm` discarded and then `steps` averaged steps, in about 100
 * segments each advancing the starts in parallel; the bar goes from `from` to `to`. */
static void advance_starts(struct lyapunov_run *run, long warm, long steps,
                           const struct analysis_tick *tick, double from, double to) {
    const int k = run->p->k;
    const long total = warm + steps, segment = total / 100 > 0 ? total / 100 : 1;
    for (long done = 0; done < total; done += segment) {
        const long chunk = total - done < segment ? total - done : segment;
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < run->starts; s++) {
            if (run->left[s]) continue;
            double *zs = run->z + (size_t)s * k, *Qs = run->Q + (size_t)s * k * k;
            const long discard = done < warm ? (warm - done < chunk ? warm - done : chunk) : 0;
            run->left[s] = lyapunov_advance(run->p, zs, Qs, run->dt, discard, NULL) ||
                           lyapunov_advance(run->p, zs, Qs, run->dt, chunk - discard,
                                            run->growth + (size_t)s * k);
        }
        analysis_tick(tick, from + (to - from) * (double)(done + chunk) / total);
    }
}

/* Spectra, ends, attractors and the average after `steps` averaged steps. */
static void summarize_starts(const struct lyapunov_run *run, long steps,
                             struct lyapunov_result *out) {
    const int k = run->p->k;
    out->steps = steps;
    out->tolerance = lyapunov_zero_tolerance(steps, run->dt);
    out->finite = 0;
    for (int s = 0; s < run->starts; s++) {
        for (int i = 0; i < k; i++) {
            out->per_start[(size_t)s * k + i] =
                run->left[s] ? NAN : run->growth[(size_t)s * k + i] / (steps * run->dt);
            out->end[(size_t)s * k + i] = run->left[s] ? NAN : run->z[(size_t)s * k + i];
        }
        out->attractor[s] =
            lyapunov_attractor_of(out->per_start + (size_t)s * k, k, out->tolerance);
        out->end_distance[s] = NAN;
        out->finite += !run->left[s];
    }
    lyapunov_average(out, lyapunov_majority(out), NULL, 1);
}

static int precise_enough(const struct lyapunov_result *r, double precision) {
    return r->kept > 1 && isfinite(r->error[0]) &&
           r->error[0] <= precision * fmax(fabs(r->mean[0]), r->tolerance);
}

int analysis_lyapunov_until(const struct latent_process *p, const double *z0, int starts, double dt,
                            long transient, long steps, long max_steps, double precision,
                            const struct analysis_tick *tick, struct lyapunov_result *out,
                            struct ddm_error *err) {
    const int k = p->k;
    memset(out, 0, sizeof *out);
    out->k = k;
    out->starts = starts;
    out->per_start = ddm_alloc(sizeof(double) * starts * k, "Lyapunov spectra", err);
    out->end = ddm_alloc(sizeof(double) * starts * k, "Lyapunov ends", err);
    out->attractor = ddm_calloc(starts, sizeof(int), "Lyapunov attractors", err);
    out->kept_start = ddm_calloc(starts, sizeof(int), "Lyapunov flags", err);
    out->end_distance = ddm_alloc(sizeof(double) * starts, "Lyapunov distances", err);
    struct lyapunov_run run = {
        p,
        starts,
        dt,
        ddm_alloc(sizeof(double) * starts * k, "Lyapunov states", err),
        ddm_calloc((size_t)starts * k * k, sizeof(double), "Lyapunov frames", err),
        ddm_calloc((size_t)starts * k, sizeof(double), "Lyapunov sums", err),
        ddm_calloc(starts, sizeof(int), "Lyapunov flags", err)};
    if (!out->per_start || !out->end || !out->attractor || !out->kept_start || !out->end_distance ||
        !run.z || !run.Q || !run.growth || !run.left) {
        free(run.z), free(run.Q), free(run.growth), free(run.left);
        lyapunov_result_free(out);
        return DDM_ERUNTIME;
    }
    memcpy(run.z, z0, sizeof(double) * starts * k);
    for (int s = 0; s < starts; s++)
        for (int i = 0; i < k; i++) run.Q[(size_t)s * k * k + i * k + i] = 1;
    if (max_steps < steps) max_steps = steps;
    const double whole = (double)(transient + max_steps);
    advance_starts(&run, transient, steps, tick, 0, (transient + steps) / whole);
    long done = steps;
    summarize_starts(&run, done, out);
    while (done < max_steps && precision > 0 && !precise_enough(out, precision)) {
        const long more = max_steps - done < done ? max_steps - done : done;
        advance_starts(&run, 0, more, tick, (transient + done) / whole,
                       (transient + done + more) / whole);
        done += more;
        summarize_starts(&run, done, out);
    }
    analysis_tick(tick, 1);
    free(run.z), free(run.Q), free(run.growth), free(run.left);
    return DDM_OK;
}

int analysis_lyapunov(const struct latent_process *p, const double *z0, int starts, double dt,
                      long transient, long steps, const struct analysis_tick *tick,
                      struct lyapunov_result *out, struct ddm_error *err) {
    return analysis_lyapunov_until(p, z0, starts, dt, transient, steps, steps, 0, tick, out, err);
}
