/* system.h — the target latent SDE dz = f(z) dt + σ(z) dB that the network must carry.
 *
 * A system is a built-in (vdp, lorenz, dadras, double_well, ou, wells) or written by the user as
 * expressions; all but the multi-well landscape (wells.c, native) go through the expression
 * compiler, and every system has an exact Jacobian.
 * The diffusion σ is k×m: one scalar (σI, m = k), k expressions (a diagonal), or a full matrix.
 * When σ does not depend on z it is evaluated once and stored as a constant. A diffusion written
 * with the time t is σ(z) + s(t), entry by entry: `diffusion` (or sigma_const) holds σ(z), and
 * `diffusion_time` the terms with t.
 */
#ifndef DDM_SYSTEM_H
#define DDM_SYSTEM_H

#include <stdbool.h>

#include "ddm/config.h"
#include "ddm/expr.h"
#include "ddm/wells.h"

#define DDM_MAX_K      EXPR_MAX_VARS
#define DDM_MAX_M      EXPR_MAX_VARS
#define DDM_MAX_PARAMS 64

struct ddm_model;
struct recording;
struct diffusion_fit;

struct ddm_system {
    char name[64];
    int k; /* latent dimension */
    int m; /* noise dimension */
    char var_names[DDM_MAX_K][32];
    int nparams;
    char param_names[DDM_MAX_PARAMS][32];
    double param_values[DDM_MAX_PARAMS];
    struct expr_program *drift; /* k outputs; NULL for the native wells */
    /* A drift written with the time t is split into f(z) + g(t): `drift` holds the autonomous
     * f (the network learns it), `forcing` the terms with t, k outputs over (z, t) that do not
     * depend on z (NULL: autonomous). g enters target and network as an input (input.h). */
    struct expr_program *forcing;
    bool with_time;    /* set only while system_build compiles: t is an input after z */
    bool native_wells; /* drift from `wells` (wells.c) */
    struct wells wells;
    struct expr_program *diffusion;            /* k*m outputs, σ row-major; NULL when constant */
    double sigma_const[DDM_MAX_K * DDM_MAX_M]; /* (k,m) when constant */
    /* The terms of σ with t, s(t): k*m outputs over (z, t) that do not depend on z (NULL: σ does
     * not use t). The noise is (σ(z) + s(t)) dB, for target and network alike (input.h). */
    struct expr_program *diffusion_time;
    bool diffusion_constant;
    char *vars_text; /* as written, for the HDF5 attributes */
    char *drift_text;
    char *diffusion_text;
    /* [system] define, parsed; set only while system_build compiles the expressions */
    const struct expr_define *defines;
    int ndefines;
    /* A system known from recorded trajectories ([system] data, docs/from_data.md): there is no
     * f to evaluate. The recording gives the training points; once a network is trained (or
     * read), `learnt` is it, and its drift f_RNN and diffusion stand in for the target's wherever
     * the engine needs a flow (the coupled path, starts, fixed points, Lyapunov), labelled as
     * the learnt drift in the summary and the file. */
    struct recording *recording; /* owned; NULL: a system of equations */
    const struct ddm_model *learnt;
    bool diffusion_estimated; /* [system] diffusion = estimate: σ from the increments */
    /* [system] diffusion = estimate_state (owned; NULL otherwise): σ̂(z) fitted by the training
     * (data_diffusion.h) and used as σ until a network is there; from then on the network's own
     * state-dependent readout σ_RNN(z) stands in, as its drift does (so a run read back with
     * --model or --resume has the same σ as the run that trained it). */
    struct diffusion_fit *diffusion_fit;
};

/* Builds the system from [system] of the configuration (built-in or expressions). */
int system_build(struct ddm_system *sys, const struct ddm_config *cfg, struct ddm_error *err);
void system_free(struct ddm_system *sys);

/* f (k) at z (k). */
void system_drift(const struct ddm_system *sys, const double *z, double *f);
/* f (k) and its Jacobian (k,k), row-major: jac[i*k + j] = ∂f_i/∂z_j. */
void system_drift_jacobian(const struct ddm_system *sys, const double *z, double *f, double *jac);
/* g (k), the forcing at time t (zero for an autonomous system). */
void system_forcing(const struct ddm_system *sys, double t, double *g);
/* σ (k,m) at z: the part without t. */
void system_diffusion(const struct ddm_system *sys, const double *z, double *sigma);
/* s (k,m), the diffusion's terms with t at time t (zero when σ does not use t). */
void system_diffusion_time(const struct ddm_system *sys, double t, double *sigma_t);

/* A data system from now on uses the network's drift and its diffusion as f and σ. */
void system_use_model(struct ddm_system *sys, const struct ddm_model *model);

/* Names of the built-ins, for --help. */
const char *system_builtin_list(void);

#endif
