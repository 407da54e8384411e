/* target.c — the coupled target path: the latent SDE integrated beside the network (docs/design.md
 * §4).
 *
 * z ← z + (f(z) + u) Δt + (σ(z) + s(t)) √Δt ξ, with ξ the very normals the network's step uses
 * (Philox keyed by the same seed, trajectory and step), so network and target paths can be
 * compared point by point until chaos separates them. In double precision; a path that leaves
 * the finite range is frozen as NaN and counted, the others go on.
 */
#include <math.h>
#include <string.h>

#include "ddm/philox.h"
#include "ddm/simulate.h"

long target_advance(const struct ddm_system *sys, struct target_paths *paths, uint64_t step0,
                    int records, int record_every, double dt, const float *input,
                    const float *noise_input, float *out) {
    const int k = sys->k, m = sys->m;
    const double sqrt_dt = sqrt(dt);
    long died = 0;
#pragma omp parallel for schedule(static) reduction(+ : died)
    for (int j = 0; j < paths->B; j++) {
        double *z = paths->z + (size_t)j * k;
        for (int r = 0; r < records; r++) {
            for (int s = 0; s < record_every && !paths->dead[j]; s++) {
                uint64_t step = step0 + (uint64_t)r * record_every + (uint64_t)s;
                double f[DDM_MAX_K], sigma[DDM_MAX_K * DDM_MAX_M];
                float xi[DDM_MAX_M];
                system_drift(sys, z, f);
                system_diffusion(sys, z, sigma);
                philox_step_normals(paths->noise_seed, paths->first_trajectory + (uint64_t)j, step,
                                    m, xi);
                const size_t row = (size_t)r * record_every + s;
                const float *u = input ? input + row * k : NULL;
                if (noise_input) /* σ(z) + s(t) */
                    for (int q = 0; q < k * m; q++) sigma[q] += noise_input[row * k * m + q];
                int finite = 1;
                for (int c = 0; c < k; c++) {
                    double noise = 0;
                    for (int q = 0; q < m; q++) noise += sigma[c * m + q] * xi[q];
                    z[c] += (f[c] + (u ? u[c] : 0.0)) * dt + noise * sqrt_dt;
                    finite &= isfinite(z[c]) != 0;
                }
                if (!finite) {
                    paths->dead[j] = 1;
                    died++;
                    for (int c = 0; c < k; c++) z[c] = NAN;
                }
            }
            if (out)
                for (int c = 0; c < k; c++) out[((size_t)j * records + r) * k + c] = (float)z[c];
        }
    }
    return died;
}
