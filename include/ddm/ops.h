/* ops.h — the numerical operations, one name stem each (STYLE rule 1): the CPU twin
 * `<stem>_cpu` in host/cpu/<stem>.c is the specification, plain loops in a fixed order; the
 * CUDA launcher `<stem>_cuda` in kernels/<stem>.cu takes the same arguments in the same order.
 * Array shapes use the letters B trajectories, n neurons, k latent dims, m noise dims, M points.
 */
#ifndef DDM_OPS_H
#define DDM_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

/* One Euler–Maruyama step of B trajectories with explicit noise (rnn_math.h gives the formula).
 * Diffusion: S (k,m) constant, or (S = NULL) state-dependent from V (k*m,n) and c (k*m).
 * input: (k) normalised û or NULL; xi: (B,m) standard normals; eta: (B,n) or NULL. */
void rnn_step_cpu(int B, int n, int k, int m, const float *Gamma, const float *Ws, const float *b,
                  const float *S, const float *V, const float *c, float tau, float dt,
                  const float *input, const float *xi, float neuron_noise, const float *eta,
                  float *x);

/* Loss and gradients of L = (1/M) Σ_s ‖Ŵ_s tanh(Γ̂ẑ_s + b) − y_s‖² over the points `index`
 * (M indices into Z, Y). Shapes: Gamma (n,k), b (n), Ws (k,n), Z and Y (rows of k).
 * residual is workspace (M,k). Deterministic: no reduction depends on the thread count. */
void mlp_grad_cpu(int n, int k, int M, const float *Gamma, const float *b, const float *Ws,
                  const float *Z, const float *Y, const int *index, float *residual,
                  float *grad_Gamma, float *grad_b, float *grad_Ws, double *loss);

/* AdamW update of `count` parameters: moments m1, m2 updated in place; step t ≥ 1. */
void adam_step_cpu(int count, float *param, const float *grad, float *m1, float *m2, float lr,
                   float beta1, float beta2, float epsilon, float weight_decay, long t);

/* Features φ_s = (tanh(Γ̂ẑ_s + b), 1) of M points: gram (n+1,n+1) = Σ φφᵀ and
 * cross (n+1,width) = Σ φ targetᵀ, accumulated in double (the Gram matrix is ill-conditioned).
 * Returns 0, or -1 when its workspace cannot be allocated. */
int hidden_gram_cpu(int n, int k, int M, const float *Gamma, const float *b, const float *Z,
                    const float *targets, int width, double *gram, double *cross);

#ifdef __cplusplus
}
#endif

#endif
