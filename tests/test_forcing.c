/* test_forcing.c — the time t in [system] drift: a drift f(z) + g(t) is split into the autonomous
 * part the network learns and the forcing g(t) that drives target and network as an input along
 * Γ̂; a forced linear system's network path matches the exact forced response.
 */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddm/cli.h"
#include "ddm/system.h"
#include "test_util.h"

Test(forcing, the_terms_with_t_form_the_forcing) {
    struct ddm_system sys;
    struct ddm_error err = {0};
    int code = system_from_text(&sys,
                                "[system]\nvars = x, v\nparams = g=2, w=1.5\n"
                                "define = F = g*sin(w*t)\n"
                                "drift = v; -x - 0.3*v + 1e-3 - F + cos(t)^2 - x^3\n",
                                &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert(sys.forcing);
    for (int i = 0; i < 20; i++) {
        double z[2] = {-1.3 + 0.17 * i, 0.9 - 0.11 * i}, t = 0.37 * i, f[2], g[2];
        system_drift(&sys, z, f);
        system_forcing(&sys, t, g);
        cr_assert_float_eq(f[0], z[1], 1e-15);
        cr_assert_float_eq(f[1], -z[0] - 0.3 * z[1] + 1e-3 - z[0] * z[0] * z[0], 1e-13);
        cr_assert_float_eq(g[0], 0, 0);
        cr_assert_float_eq(g[1], -2 * sin(1.5 * t) + cos(t) * cos(t), 1e-14);
    }
    system_free(&sys);

    code = system_from_text(&sys, "[system]\nvars = x\ndrift = -x\n",
                            &err); /* autonomous: no forcing */
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert_null(sys.forcing);
    system_free(&sys);
    code = system_from_text(&sys, "[system]\nvars = x, t\ndrift = -x; 1\n",
                            &err); /* a variable named t */
    cr_assert_eq(code, DDM_OK, "%s", err.message);
    cr_assert_null(sys.forcing);
    system_free(&sys);
}

Test(forcing, t_where_it_cannot_drive_the_network_is_refused) {
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(system_from_text(&sys, "[system]\nvars = x\ndrift = -x + x*cos(t)\n", &err),
                 DDM_EUSAGE);
    cr_assert_str_eq(err.message,
                     "t.ini:3: [system] drift: expression 1, term 'x*cos(t)' depends on both t "
                     "and the variables; only a forcing g(t) added to the drift can drive the "
                     "network (write f(z) + g(t))");
    system_free(&sys); /* a failed build is freed by its caller, as run.c does */
}

/* dz = (−a z + A cos ωt) dt from z(0) = z₀: z(t) = (z₀ − Aa/(a²+ω²)) e^(−at)
 * + A (a cos ωt + ω sin ωt)/(a² + ω²). */
static double forced_response(double t) {
    const double a = 1, amp = 1, w = 2, z0 = 0.5, d = a * a + w * w;
    return (z0 - amp * a / d) * exp(-a * t) + amp * (a * cos(w * t) + w * sin(w * t)) / d;
}

Test(forcing, the_network_follows_the_exact_forced_response) {
    char dir[] = "/tmp/ddm_test_forcing_XXXXXX", cfg_path[128], out_path[128];
    cr_assert(mkdtemp(dir));
    snprintf(cfg_path, sizeof cfg_path, "%s/forced.ini", dir);
    snprintf(out_path, sizeof out_path, "%s/forced.h5", dir);
    FILE *f = fopen(cfg_path, "w");
    cr_assert(f);
    fputs("[system]\nname = forced_linear\nvars = z\nparams = a=1, amp=1, w=2\n"
          "drift = -a*z + amp*cos(w*t)\ndiffusion = 0\n"
          "[network]\nneurons = 32\n[train]\nsamples = 2000\nepochs = 0\n"
          "[simulate]\ntrajectories = 2\ndt = 1e-3\nsteps = 10000\nrecord_every = 100\n"
          "start = 0.5\n",
          f);
    fclose(f);
    char *argv[] = {"ddm_gpu", cfg_path,   "--quiet",       "--output",
                    out_path,  "--stages", "train,simulate"};
    struct ddm_cli cli;
    struct ddm_error err = {0};
    int code = cli_parse(7, argv, &cli, &err);
    if (!code) code = ddm_run(&cli, &err);
    cr_assert_eq(code, DDM_OK, "%s", err.message);

    hid_t file = H5Fopen(out_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(file >= 0);
    float latent[2 * 101], target[2 * 101];
    hid_t ds = H5Dopen2(file, "/simulate/latent", H5P_DEFAULT);
    cr_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, latent) >= 0);
    H5Dclose(ds);
    ds = H5Dopen2(file, "/simulate/target_latent", H5P_DEFAULT);
    cr_assert(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, target) >= 0);
    H5Dclose(ds);
    H5Fclose(file);
    /* Euler with dt = 1e-3 errs by about 4e-4 here (measured: target 4.3e-4, network 4.3e-4); a
     * network without the forcing would decay to 0, off by up to 0.45 */
    double worst = 0, worst_target = 0, lo = 1, hi = -1;
    for (int j = 0; j < 2; j++)
        for (int r = 0; r <= 100; r++) {
            double exact = forced_response(r * 0.1);
            worst = fmax(worst, fabs(latent[j * 101 + r] - exact));
            worst_target = fmax(worst_target, fabs(target[j * 101 + r] - exact));
            lo = fmin(lo, latent[j * 101 + r]), hi = fmax(hi, latent[j * 101 + r]);
        }
    cr_assert_lt(worst_target, 1e-3, "target path off the exact response by %g", worst_target);
    cr_assert_lt(worst, 1.5e-3, "network path off the exact response by %g", worst);
    cr_assert_gt(hi - lo, 0.8, "the forced response swings ±0.45 (got %g to %g)", lo, hi);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
