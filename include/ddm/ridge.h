/* ridge.h — the closed-form readout of the training: ridge least squares on the hidden layer's
 * Gram matrix G = HHᵀ (in double), λ̄ = λ · mean diag G (host/model/ridge.c). */
#ifndef DDM_RIDGE_H
#define DDM_RIDGE_H

#include "ddm/backend.h"
#include "ddm/error.h"
#include "ddm/model.h"

/* (G + λ̄I) W = C for the first `features` rows/columns of G (row stride `stride`), W (features,
 * width) into solution; λ raised ×100 while G is too ill-conditioned (up to 1e-3), *ridge_used the
 * λ that solved; on the device when the backend has train_solve. */
int ridge_solve(const struct ddm_backend *backend, void *ctx, const double *gram, int stride,
                int features, const double *cross, int width, double ridge, double *solution,
                double *ridge_used, struct ddm_error *err);
/* Ŵ_s from G, C already computed (the backend's parameters not updated). */
int ridge_readout_from_gram(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                            const double *gram, const double *cross, double *solution,
                            double lambda, double *used, struct ddm_error *err);
/* Ŵ_s on the current hidden layer (G, C computed by the backend), then sent to the backend. */
int ridge_readout(const struct ddm_backend *backend, void *ctx, struct ddm_model *model,
                  double ridge, double *gram, double *cross, double *solution, double *ridge_used,
                  struct ddm_error *err);
/* The evidence-maximising λ (relative to mean diag G) for M points of k targets, yy = Σ‖y‖². */
int ridge_evidence(const double *gram, const double *cross, int n, int k, int M, double yy,
                   double *lambda, struct ddm_error *err);

#endif
