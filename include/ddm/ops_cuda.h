/* ops_cuda.h — the C boundary of the CUDA kernels (STYLE rule 2): extern "C" launchers in
 * kernels/<stem>.cu, each with its CPU twin's arguments in the same order (include/ddm/ops.h) as
 * device pointers (d_), plus a stream (a cudaStream_t passed as void *, so host .c files need no
 * CUDA header). Each returns 0, or −1 with the failing call, file:line and the library's message
 * in cuda_last_error(). Every launch is checked; DDM_CUDA_SYNC=1 synchronises after each.
 */
#ifndef DDM_OPS_CUDA_H
#define DDM_OPS_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sim_params;

/* The message of the last failure on this thread ("file:line: call: message; hint"). */
const char *cuda_last_error(void);

/* The device's figures for the performance model (docs/design.md §8); 0, or −1 without a device. */
struct cuda_device_info {
    char name[256];
    int major, minor, sms;
    double clock_hz;         /* SM clock */
    double fp32_flops;       /* 2 · 128 FMA lanes · SMs · clock */
    double tanh_rate;        /* 16 MUFU lanes · SMs · clock (one MUFU.TANH per tanh) */
    double bytes_per_second; /* memory bandwidth from bus width and memory clock */
};
int cuda_device_info(int device, struct cuda_device_info *info);

/* One Euler–Maruyama step with explicit noise: rnn_step_cpu's contract on device arrays. */
int rnn_step_cuda(int B, int n, int k, int m, const float *d_Gamma, const float *d_Ws,
                  const float *d_b, const float *d_S, const float *d_V, const float *d_c, float tau,
                  float dt, const float *d_input, const float *d_xi, float neuron_noise,
                  const float *d_eta, float *d_x, void *stream);

/* A block of steps by the persistent fused kernel (keyed Philox noise, read-out and traces
 * recorded, non-finite detection); every pointer in params is a device pointer. */
int rnn_step_cuda_block(const struct sim_params *params, void *stream);

/* Forces the simulation kernel's shape for the launches that follow (enum sim_shape of
 * ddm/kernel_math.h: 0 N2_R8, 1 N4_R4, 2 N8_R2, 3 N2_R2), or −1 for the automatic choice; returns
 * the previous setting. Without a call, DDM_SIM_SHAPE=N2_R8|N4_R4|N8_R2|N2_R2|auto in the
 * environment decides (read at the first launch). For the parity tests and first_run.sh. */
int rnn_step_cuda_force_shape(int shape);

/* Bytes of device workspace mlp_grad_cuda needs for M points. */
size_t mlp_grad_cuda_workspace(int n, int k, int M);

/* mlp_grad_cpu's contract on device arrays; d_loss is one device double; d_workspace as sized. */
int mlp_grad_cuda(int n, int k, int M, const float *d_Gamma, const float *d_b, const float *d_Ws,
                  const float *d_Z, const float *d_Y, const int *d_index, float *d_residual,
                  float *d_grad_Gamma, float *d_grad_b, float *d_grad_Ws, double *d_loss,
                  void *d_workspace, void *stream);

/* adam_step_cpu's contract on device arrays. */
int adam_step_cuda(int count, float *d_param, const float *d_grad, float *d_m1, float *d_m2,
                   float lr, float beta1, float beta2, float epsilon, float weight_decay, long t,
                   void *stream);

/* Bytes of device workspace hidden_gram_cuda needs (feature and target tiles in double). */
size_t hidden_gram_cuda_workspace(int n, int width);

/* hidden_gram_cpu's contract, the results left on the device: d_gram (n+1,n+1) with its upper
 * triangle (row-major) filled, d_cross (n+1,width) row-major; cublas is a cublasHandle_t bound
 * to `stream`. */
int hidden_gram_cuda(int n, int k, int M, const float *d_Gamma, const float *d_b, const float *d_Z,
                     const float *d_targets, int width, double *d_gram, double *d_cross,
                     void *d_workspace, void *cublas, void *stream);

/* Bytes of device workspace ridge_solve_cuda needs. */
size_t ridge_solve_cuda_workspace(int features, int width, void *cusolver);

/* Solves (G + shift I) X = C by Cholesky (cuSOLVER) for the leading `features` rows and columns
 * of the Gram matrix d_gram (stride; upper triangle, row-major) and d_cross (stride_c = width).
 * h_solution (features,width) row-major on the host; *info 0, or > 0 when not positive definite.
 */
int ridge_solve_cuda(int features, int stride, const double *d_gram, const double *d_cross,
                     int width, double shift, double *h_solution, int *info, void *d_workspace,
                     size_t workspace_bytes, void *cusolver, void *stream);

#ifdef __cplusplus
}
#endif

#endif
