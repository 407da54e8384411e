/* backend_cuda.h — private to the CUDA backend: what backend_cuda.cu (device, table, training)
 * and backend_cuda_sim.cu (simulation) share. C++ only; host code sees include/ddm/backend.h.
 */
#ifndef DDM_BACKEND_CUDA_H
#define DDM_BACKEND_CUDA_H

extern "C" {
#include "ddm/backend.h"
}

/* Turns the recorded CUDA failure (cuda_last_error) into err; returns DDM_ERUNTIME. */
int cuda_backend_fail(struct ddm_error *err, const char *stage);

int cuda_sim_create(const struct ddm_sim_setup *setup, void **ctx, struct ddm_error *err);
int cuda_sim_advance(void *ctx, struct ddm_sim_block *block, struct ddm_error *err);
int cuda_sim_launch(void *ctx, const struct ddm_sim_block *block, struct ddm_error *err);
int cuda_sim_collect(void *ctx, struct ddm_sim_block *block, double *device_seconds,
                     struct ddm_error *err);
int cuda_sim_state(void *ctx, float *x, struct ddm_error *err);
void cuda_sim_destroy(void *ctx);

#endif
