/* polynomial.h — the monomials of a polynomial basis in k variables, shared by the fits on
 * polynomials of the state: σ(z) from data (data_diffusion.c), the score of the measurement noise
 * (data_noise.c) and stochastic force inference (analysis_data.c).
 */
#ifndef DDM_POLYNOMIAL_H
#define DDM_POLYNOMIAL_H

#include "ddm/system.h" /* DDM_MAX_K */

/* The exponents of the C(k + degree, degree) monomials of k variables with total degree ≤ degree,
 * graded (constant first, then all of degree 1, 2, ...), lexicographic within a degree. Returns
 * their count, or −1 when it would pass `capacity`. count_upto (degree + 1, or NULL) receives the
 * number of monomials of total degree ≤ d for each d. */
int monomials_graded(int k, int degree, int (*exponent)[DDM_MAX_K], int capacity, int *count_upto);

#endif
