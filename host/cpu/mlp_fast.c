/* mlp_fast.c — allocation of the vectorised gradient's workspace (see mlp_fast.h). */
#include "mlp_fast.h"

#include <stdlib.h>
#include <string.h>

void mlp_workspace_free(struct mlp_workspace *ws) {
    free(ws->gamma_t);
    memset(ws, 0, sizeof *ws);
}

int mlp_workspace_alloc(struct mlp_workspace *ws, int n, int k) {
    memset(ws, 0, sizeof *ws);
    ws->n = n;
    ws->k = k;
    ws->n_pad = (n + 15) / 16 * 16;
    size_t rows =
        2 * (size_t)k + 1 + (size_t)MLP_SLOTS * MLP_TILE + (size_t)MLP_SLOTS * (2 * k + 1);
    size_t bytes = sizeof(float) * ws->n_pad * rows;
    ws->gamma_t = aligned_alloc(64, bytes);
    if (!ws->gamma_t) return -1;
    memset(ws->gamma_t, 0, bytes);
    ws->ws = ws->gamma_t + (size_t)k * ws->n_pad;
    ws->bias = ws->ws + (size_t)k * ws->n_pad;
    ws->hidden = ws->bias + ws->n_pad;
    ws->partial = ws->hidden + (size_t)MLP_SLOTS * MLP_TILE * ws->n_pad;
    return 0;
}
