/* system_eval.c — evaluating a built system (system.c builds it): the drift f(z) and its
 * Jacobian, the forcing g(t), the diffusion σ(z) and its part s(t) of the time. A system learnt
 * from data evaluates its network's latent drift (and σ_RNN) once training has given one.
 */
#include <string.h>

#include "ddm/data_diffusion.h"
#include "ddm/model.h"
#include "ddm/system.h"
#include "ddm/wells.h"

/* A data system's f: the learnt drift, or zero before a network is there. */
static void learnt_drift(const struct ddm_system *sys, const double *z, double *f, double *jac) {
    if (sys->learnt) {
        model_latent_drift(sys->learnt, z, f, jac);
        return;
    }
    for (int c = 0; c < sys->k; c++) f[c] = 0;
    for (int q = 0; jac && q < sys->k * sys->k; q++) jac[q] = 0;
}

void system_drift(const struct ddm_system *sys, const double *z, double *f) {
    if (sys->recording)
        learnt_drift(sys, z, f, NULL);
    else if (sys->native_wells)
        wells_drift(&sys->wells, z, f, NULL);
    else
        expr_eval(sys->drift, z, f);
}

void system_drift_jacobian(const struct ddm_system *sys, const double *z, double *f, double *jac) {
    if (sys->recording)
        learnt_drift(sys, z, f, jac);
    else if (sys->native_wells)
        wells_drift(&sys->wells, z, f, jac);
    else
        expr_eval_jacobian(sys->drift, z, f, jac);
}

/* A program of the time alone (its inputs: the k variables, unused, then t) at t, into its
 * `count` outputs; all zero without a program. */
static void eval_of_time(const struct expr_program *program, int k, double t, double *out,
                         int count) {
    double in[DDM_MAX_K + 1] = {0};
    in[k] = t;
    if (program)
        expr_eval(program, in, out);
    else
        memset(out, 0, sizeof(double) * count);
}

void system_forcing(const struct ddm_system *sys, double t, double *g) {
    eval_of_time(sys->forcing, sys->k, t, g, sys->k);
}

void system_diffusion(const struct ddm_system *sys, const double *z, double *sigma) {
    if (sys->diffusion_fit && sys->learnt && sys->learnt->V)
        model_latent_diffusion(sys->learnt, z, sigma);
    else if (sys->diffusion_fit && sys->diffusion_fit->k)
        diffusion_fit_sigma(sys->diffusion_fit, z, sigma);
    else if (sys->diffusion_fit) /* not fitted yet */
        memset(sigma, 0, sizeof(double) * sys->k * sys->m);
    else if (sys->diffusion_constant)
        memcpy(sigma, sys->sigma_const, sizeof(double) * sys->k * sys->m);
    else
        expr_eval(sys->diffusion, z, sigma);
}

void system_diffusion_time(const struct ddm_system *sys, double t, double *sigma_t) {
    eval_of_time(sys->diffusion_time, sys->k, t, sigma_t, sys->k * sys->m);
}
