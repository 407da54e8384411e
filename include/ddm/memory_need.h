/* memory_need.h — the memory each stage of a run holds at its peak, estimated from the
 * configuration and the run's sizes before anything is allocated (host/run/limits.c compares it
 * with what the machine allows, so that a run too big is refused up front rather than failing an
 * allocation hours in).
 *
 * The estimates follow the allocations of the stages — host/model/sampling.c, train.c,
 * train_choice.c and train_gn.c with the training contexts of the backends, host/sim/simulate.c
 * with their simulation contexts, host/analysis*.c — and the copies LAPACKE makes of row-major
 * matrices; a change there belongs here too. They leave out what the process holds before the check
 * (libraries, HDF5, OpenBLAS's buffers), which the limits subtract. Letters: M points, n neurons, k
 * latent dims, m noise dims, B trajectories, T recorded times.
 */
#ifndef DDM_MEMORY_NEED_H
#define DDM_MEMORY_NEED_H

#include "ddm/config.h"

enum { MEMORY_PARTS = 6 };

/* A share of a stage's peak, with the configuration key that sizes it most. */
struct memory_part {
    const char *name;          /* "states", "Gram matrices", ... */
    double bytes;              /* its share of the peak */
    const char *section, *key; /* e.g. "simulate", "trajectories" */
    const char *lower;         /* what lowers it: "[simulate] trajectories or [network] neurons" */
};

struct memory_need {
    const char *stage; /* "training", "simulation", "analysis" */
    double bytes;      /* the peak */
    int count;
    struct memory_part part[MEMORY_PARTS]; /* what the peak is made of, largest first */
};

/* The sizes of a run that its configuration alone does not give. */
struct memory_run {
    int n, k, m;         /* the network: the --model file's, or [network] neurons */
    int state_dependent; /* σ depends on z: a second readout of the hidden layer */
    int B, B_total;      /* trajectories of this run (a shard's share) and of the whole ensemble */
    int analysis_B;      /* trajectories of /simulate that the analysis reads (0: none) */
    long analysis_T;     /* and its recorded times */
    int wells;           /* the memory metrics run (a wells system) */
    int resuming;        /* the checkpoint's states are held beside the simulation's */
    int cuda;            /* the CUDA backend: its arrays sit on the device, not on the host */
    int forced;          /* the drift uses t: per-step inputs, as with cues */
    int time_noise;      /* the diffusion uses t: per-step s(t) (k*m) for target and network */
};

/* Each stage's peak on the host (device = 0), or on the GPU (device = 1; 0 bytes for the CPU
 * backend). */
void memory_need_train(const struct ddm_config *cfg, const struct memory_run *run, int device,
                       struct memory_need *need);
void memory_need_simulate(const struct ddm_config *cfg, const struct memory_run *run, int device,
                          struct memory_need *need);
void memory_need_analyze(const struct ddm_config *cfg, const struct memory_run *run, int device,
                         struct memory_need *need);

#endif
