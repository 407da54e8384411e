/* mlp_fast.h — private to the CPU backend: workspace of the vectorised perceptron gradient.
 *
 * Points are taken in tiles of MLP_TILE; tile t is handled by slot t % MLP_SLOTS, each slot by one
 * thread in tile order, and the slots are summed in order at the end: the result does not depend
 * on the number of threads (STYLE rule 7), yet up to MLP_SLOTS threads share the work. Threads
 * take slots as they come free, so one that lost its CPU to another process holds up little.
 * A mini-batch below MLP_PARALLEL_MIN is one slot (one thread, no slot sums to add).
 */
#ifndef DDM_MLP_FAST_H
#define DDM_MLP_FAST_H

/* MLP_PARALLEL_MIN: below this many point·neurons a mini-batch is one thread's work (~0.1 ms):
 * waking a second thread and joining it would cost as much as it saves. */
enum { MLP_TILE = 32, MLP_SLOTS = 32, MLP_PARALLEL_MIN = 1 << 17 };

struct mlp_workspace {
    int n, n_pad, k;
    float *gamma_t; /* (k, n_pad) Γ̂ transposed, padding zero */
    float *ws;      /* (k, n_pad) Ŵ_s */
    float *bias;    /* (n_pad) */
    float *hidden;  /* (MLP_SLOTS, MLP_TILE, n_pad) tanh of one tile per slot */
    float *partial; /* (MLP_SLOTS, 2k+1, n_pad) gradient sums per slot: Ŵ_s rows, Γ̂ᵀ rows, b */
    double loss[MLP_SLOTS];
};

int mlp_workspace_alloc(struct mlp_workspace *ws, int n, int k);
void mlp_workspace_free(struct mlp_workspace *ws);

/* Same contract as mlp_grad_cpu (include/ddm/ops.h), one version per instruction set and tanh. */
typedef void (*mlp_grad_fn)(struct mlp_workspace *ws, int M, const float *Gamma, const float *b,
                            const float *Ws, const float *Z, const float *Y, const int *index,
                            float *residual, float *grad_Gamma, float *grad_b, float *grad_Ws,
                            double *loss);
void mlp_grad_avx512(struct mlp_workspace *ws, int M, const float *Gamma, const float *b,
                     const float *Ws, const float *Z, const float *Y, const int *index,
                     float *residual, float *grad_Gamma, float *grad_b, float *grad_Ws,
                     double *loss);
void mlp_grad_avx2(struct mlp_workspace *ws, int M, const float *Gamma, const float *b,
                   const float *Ws, const float *Z, const float *Y, const int *index,
                   float *residual, float *grad_Gamma, float *grad_b, float *grad_Ws, double *loss);
void mlp_grad_avx512_sleef(struct mlp_workspace *ws, int M, const float *Gamma, const float *b,
                           const float *Ws, const float *Z, const float *Y, const int *index,
                           float *residual, float *grad_Gamma, float *grad_b, float *grad_Ws,
                           double *loss);
void mlp_grad_avx2_sleef(struct mlp_workspace *ws, int M, const float *Gamma, const float *b,
                         const float *Ws, const float *Z, const float *Y, const int *index,
                         float *residual, float *grad_Gamma, float *grad_b, float *grad_Ws,
                         double *loss);

#endif
