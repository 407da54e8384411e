/* rnn_fast.c — the parts of the CPU simulation path that every instruction set shares: the
 * per-step coefficients (noise ξ keyed by trajectory and step, docs/design.md §4), the per-neuron
 * noise, the recording of the latent read-out and traces, and the portable version built on the
 * twin.
 */
#include <math.h>
#include <string.h>

#include "ddm/ops.h"
#include "ddm/philox.h"
#include "ddm/rnn_math.h"
#include "rnn_fast.h"

void rnn_reduce_state(const struct rnn_plan *plan, struct rnn_trajectory *traj) {
    const int n = plan->n_pad, k = plan->k, km = plan->k * plan->m;
    double a[8] = {0}, sv[64] = {0};
    for (int i = 0; i < n; i++) {
        float h = tanhf(traj->x[i]);
        traj->hidden[i] = h;
        for (int c = 0; c < k; c++) a[c] += (double)plan->ws[(size_t)c * n + i] * h;
        if (plan->v)
            for (int q = 0; q < km; q++) sv[q] += (double)plan->v[(size_t)q * n + i] * h;
    }
    for (int c = 0; c < k; c++) traj->a[c] = (float)a[c];
    for (int q = 0; q < km; q++) traj->sv[q] = (float)sv[q];
}

void rnn_step_coefficients(const struct rnn_plan *plan, const struct rnn_trajectory *traj, int t,
                           uint64_t step, const float *input, const float *noise_input,
                           float *coef) {
    const int km = plan->k * plan->m;
    float xi[DDM_MAX_M], S_here[DDM_MAX_K * DDM_MAX_M];
    philox_step_normals(plan->noise_seed, plan->first_trajectory + (uint64_t)t, step, plan->m, xi);
    const float *S = plan->S;
    if (!S) {
        rnn_state_diffusion(km, traj->sv, plan->c, S_here);
        S = S_here;
    }
    if (noise_input) { /* Ŝ(x) + ŝ(t) */
        for (int q = 0; q < km; q++) S_here[q] = S[q] + noise_input[q];
        S = S_here;
    }
    rnn_coefficients(plan->k, plan->m, traj->a, input, S, xi, plan->dt_over_tau, plan->sqrt_dt,
                     coef);
}

void rnn_neuron_kicks(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                      uint64_t step) {
    philox_step_normals(plan->neuron_seed, plan->first_trajectory + (uint64_t)t, step, plan->n,
                        traj->kick);
    for (int i = 0; i < plan->n; i++) traj->kick[i] *= plan->neuron_kick;
}

int rnn_record(const struct rnn_plan *plan, const struct rnn_trajectory *traj, int t,
               const struct ddm_sim_block *block, int record) {
    const int n = plan->n_pad, k = plan->k;
    float *z = block->latent + ((size_t)t * block->records + record) * k;
    int finite = 1;
    for (int c = 0; c < k; c++) {
        double acc = 0;
        const float *row = plan->pinv + (size_t)c * n;
        for (int i = 0; i < n; i++) acc += (double)row[i] * (traj->x[i] - plan->bias[i]);
        z[c] = (float)(plan->latent_mean[c] + plan->latent_scale[c] * acc);
        finite &= isfinite(z[c]) != 0;
    }
    if (block->traces && t < plan->trace_B) {
        float *trace = block->traces + ((size_t)t * block->records + record) * plan->trace_n;
        for (int j = 0; j < plan->trace_n; j++) trace[j] = traj->x[plan->trace_neurons[j]];
    }
    return finite ? 0 : -1;
}

void rnn_record_dead(const struct rnn_plan *plan, int t, const struct ddm_sim_block *block,
                     int record) {
    for (int r = record; r < block->records; r++) {
        float *z = block->latent + ((size_t)t * block->records + r) * plan->k;
        for (int c = 0; c < plan->k; c++) z[c] = NAN;
        if (block->traces && t < plan->trace_B)
            for (int j = 0; j < plan->trace_n; j++)
                block->traces[((size_t)t * block->records + r) * plan->trace_n + j] = NAN;
    }
}

uint64_t rnn_advance_reference(const struct rnn_plan *plan, struct rnn_trajectory *traj, int t,
                               const struct ddm_sim_block *block) {
    const struct ddm_model *model = plan->model;
    const int k = plan->k, m = plan->m, n = plan->n;
    for (int r = 0; r < block->records; r++) {
        if (traj->dead) {
            rnn_record_dead(plan, t, block, r);
            return UINT64_MAX;
        }
        for (int s = 0; s < block->record_every; s++) {
            uint64_t step = block->step0 + (uint64_t)r * block->record_every + (uint64_t)s;
            float xi[DDM_MAX_M];
            philox_step_normals(plan->noise_seed, plan->first_trajectory + (uint64_t)t, step, m,
                                xi);
            if (plan->neuron_kick > 0)
                philox_step_normals(plan->neuron_seed, plan->first_trajectory + (uint64_t)t, step,
                                    n, traj->kick);
            const float *input =
                block->input ? block->input + ((size_t)r * block->record_every + s) * k : NULL;
            /* ŝ(t) adds to the constant Ŝ, or to the offset c of Ŝ(x) = V tanh(x) + c */
            const float *S = model->S, *c = model->c;
            float S_time[DDM_MAX_K * DDM_MAX_M];
            if (block->noise_input) {
                const float *row =
                    block->noise_input + ((size_t)r * block->record_every + s) * k * m;
                for (int q = 0; q < k * m; q++) S_time[q] = (S ? S[q] : c[q]) + row[q];
                if (S)
                    S = S_time;
                else
                    c = S_time;
            }
            rnn_step_cpu(1, n, k, m, model->Gamma, model->Ws, model->b, S, model->V, c,
                         (float)model->tau, plan->dt, input, xi, plan->neuron_noise,
                         plan->neuron_kick > 0 ? traj->kick : NULL, traj->x);
            for (int i = 0; i < n; i++)
                if (!isfinite(traj->x[i])) {
                    traj->dead = 1;
                    rnn_record_dead(plan, t, block, r);
                    return step;
                }
        }
        if (rnn_record(plan, traj, t, block, r)) {
            traj->dead = 1;
            rnn_record_dead(plan, t, block, r + 1);
            return block->step0 + (uint64_t)(r + 1) * block->record_every - 1;
        }
    }
    return UINT64_MAX;
}
