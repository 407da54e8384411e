/* orthonormal.h — modified Gram–Schmidt on the columns of a small row-major matrix: the basis of
 * range Γ̂ for the PCA's principal angles, and the QR step of the Lyapunov spectra. */
#ifndef DDM_ORTHONORMAL_H
#define DDM_ORTHONORMAL_H

/* Makes the columns of Q (rows, cols) orthonormal in place, column by column; each column is
 * cleaned of the earlier ones `passes` times (two keep it orthogonal to rounding when columns are
 * nearly dependent). norms (cols, or NULL): each column's length after its first pass, the
 * diagonal of R in Q_in = Q R. Returns -1 when a column has no finite, positive length left. */
int orthonormalise_columns(int rows, int cols, double *Q, int passes, double *norms);

#endif
