/* trust.c — the verdicts of include/ddm/trust.h. */
#include "ddm/trust.h"

#include <math.h>

const char *trust_fit_verdict(double drift_rel_err) {
    if (!isfinite(drift_rel_err)) return "poor: ε_f is not finite";
    return drift_rel_err > DDM_FIT_WARN ? "poor: ε_f above 1 %" : "good: ε_f at most 1 %";
}

const char *trust_fit_advice(void) {
    return "what usually helps: more [network] neurons, more [train] epochs (or a lower "
           "target_loss), more [train] samples, a smaller [network] init_gain for polynomial "
           "drifts, [train] sampling = both with a box that holds the states the simulation visits";
}

int trust_wasserstein_in_std(int k, const double *wasserstein, const double *target_std,
                             double *w_std) {
    int worst = -1;
    for (int c = 0; c < k; c++) {
        w_std[c] = target_std[c] > 0 ? wasserstein[c] / target_std[c] : NAN;
        if (isfinite(w_std[c]) && (worst < 0 || w_std[c] > w_std[worst])) worst = c;
    }
    return worst;
}

int trust_statistics_far(double w_std, double floor_std) {
    return w_std > DDM_STATS_WARN && !(w_std <= DDM_STATS_FLOOR_FACTOR * floor_std);
}

double trust_phi_sigmas(double a, double ea, double b, double eb) {
    const double combined = sqrt(ea * ea + eb * eb);
    if (!isfinite(a) || !isfinite(b) || !isfinite(combined) || !(combined > 0)) return NAN;
    return fabs(a - b) / combined;
}
