/* test_from_data_run.c — a system learnt from data runs end to end (train, simulate, analyze),
 * stops and resumes bit for bit, and records its data source under /system. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cluster_util.h"
#include "ddm/h5io.h"
#include "ddm/signals.h"
#include "test_util.h"

/* Two trajectories of a rotating OU (exact transitions, Δ = 0.01) as .csv, a NaN row between. */
static void write_ou_csv(const char *name) {
    char *text = malloc(1 << 20);
    size_t used = (size_t)sprintf(text, "x,y\n");
    const double decay = exp(-0.01), c = cos(0.02), s = sin(0.02),
                 kick = sqrt(0.5 * (1 - exp(-0.02)));
    for (int b = 0; b < 2; b++) {
        double x = 0.5, y = -0.5;
        for (long t = 0; t < 3000; t++) {
            used += (size_t)sprintf(text + used, "%.9g,%.9g\n", x, y);
            double xn = decay * (c * x - s * y) + kick * philox_gaussian(4, b, 2 * t);
            y = decay * (s * x + c * y) + kick * philox_gaussian(4, b, 2 * t + 1);
            x = xn;
        }
        used += (size_t)sprintf(text + used, "nan,nan\n");
    }
    write_text(name, text);
    free(text);
}

static const char *data_run = "[system]\nname = ou_data\nvars = x, y\ndata = %s\ndata_dt = 0.01\n"
                              "[network]\nneurons = 8\nseed = 5\ninit_gain = 0.25\ninit_bias = 1\n"
                              "[train]\nsamples = 4000\nepochs = 3\n"
                              "[simulate]\ntrajectories = 4\nsteps = 40\nrecord_every = 2\n"
                              "burn_in = 10001\n"
                              "[analysis]\npca = 0\nlyapunov_steps = 100\nhhd_grid = 8\n"
                              "decomposition_grid = 5\nfixed_point_seeds = 8\n[run]\nthreads = 1\n";

Test(from_data_run, trains_simulates_analyzes_and_resumes, .timeout = 60) {
    make_test_dir("from_data_run");
    write_ou_csv("ou.csv");
    char ini[1024];
    snprintf(ini, sizeof ini, data_run, in_dir("ou.csv"));
    write_text("d.ini", ini);
    const char *same[] = {"/model/Ws", "/model/S", "/simulate/latent", "/simulate/target_latent",
                          "/analysis/lyapunov/rnn"};
    assert_resumed_run_equals_straight("@d.ini --stages train,simulate,analyze", same, 5);
    hid_t file = open_file("stopped.h5"), system = H5Gopen2(file, "system", H5P_DEFAULT);
    struct ddm_error err;
    char text[1024];
    double value;
    cr_assert_eq(h5_read_attr_string(system, "data_path", text, sizeof text, &err), 0);
    cr_assert_str_eq(text, in_dir("ou.csv"));
    cr_assert_eq(h5_read_attr_double(system, "data_samples", &value, &err), 0);
    cr_assert_eq(value, 6000);
    cr_assert_eq(h5_read_attr_double(system, "data_dt", &value, &err), 0, "%s", err.message);
    H5Gclose(system), H5Fclose(file);
}
