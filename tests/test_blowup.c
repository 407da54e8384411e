/* test_blowup.c — network trajectories that blow up ([simulate] on_nonfinite, blowup_bound;
 * host/sim/blowup.c): each is marked once with its step, NaN from there on; `stop` ends the run
 * with the file marked incomplete, `drop` and `keep` go on and write the same data, and the
 * analysis leaves a dropped trajectory out altogether but keeps the finite part of a kept one.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cluster_util.h"
#include "ddm/analysis_h5.h"
#include "ddm/blowup.h"
#include "ddm/runfile.h"

/* μ = 1, s = 2: a read-out z is |z − 1| / 2 latent scales from the mean */
static struct ddm_model scaled_model(void) {
    struct ddm_model model;
    memset(&model, 0, sizeof model);
    model.k = 2;
    for (int c = 0; c < 2; c++) model.latent_mean[c] = 1, model.latent_scale[c] = 2;
    return model;
}

Test(blowup, marks_each_trajectory_once_with_its_step) {
    enum { B = 3, K = 2, RECORDS = 4, EVERY = 10, TRACED = 2, NT = 1 };
    const struct ddm_model model = scaled_model();
    const struct blowup_watch watch = {&model, 3.0, B, K, TRACED, NT};
    float latent[B * RECORDS * K], traces[TRACED * RECORDS * NT];
    for (int i = 0; i < B * RECORDS * K; i++) latent[i] = 1.5f; /* 0.25 scales: inside */
    for (int i = 0; i < TRACED * RECORDS * NT; i++) traces[i] = 0.1f;
    /* trajectory 1 became non-finite at step 125 (record 2); trajectory 2 read 7 = 3 scales in
     * record 0 (on the bound: inside) and 9 = 4 scales in record 1 (past it) */
    latent[(2 * RECORDS + 0) * K + 1] = 7, latent[(2 * RECORDS + 1) * K + 0] = 9;
    uint64_t died[B] = {UINT64_MAX, 125, UINT64_MAX};
    struct ddm_sim_block block = {100, RECORDS, EVERY, NULL, latent, traces, -1, 0, died, NULL};
    int64_t steps[B] = {-1, -1, -1};
    struct blowup_first first = {-1, UINT64_MAX, 0};
    cr_assert_eq(blowup_mark(&watch, &block, steps, &first), 2);
    cr_assert_eq(steps[0], -1);
    cr_assert_eq(steps[1], 125);
    cr_assert_eq(steps[2], 100 + 2 * EVERY - 1, "the last step of the record past the bound");
    cr_assert_eq(first.trajectory, 2, "the earliest step first");
    cr_assert_eq(first.step, 119);
    cr_assert_eq(first.bound, 1);
    for (int r = 0; r < RECORDS; r++) {
        cr_assert(isfinite(latent[(0 * RECORDS + r) * K]), "trajectory 0 is untouched");
        cr_assert_eq(isnan(latent[(1 * RECORDS + r) * K]) != 0, r >= 2, "trajectory 1, record %d",
                     r);
        cr_assert_eq(isnan(traces[1 * RECORDS + r]) != 0, r >= 2, "its trace, record %d", r);
        cr_assert_eq(isnan(latent[(2 * RECORDS + r) * K + 1]) != 0, r >= 1, "trajectory 2, %d", r);
    }
    /* the next block: the marked ones are NaN throughout and are not counted again, even when
     * the backend reports a marked trajectory again (a resumed non-finite state dies at once) */
    for (int i = 0; i < B * RECORDS * K; i++) latent[i] = 1.5f;
    died[1] = 140, died[2] = UINT64_MAX;
    block.step0 = 140;
    cr_assert_eq(blowup_mark(&watch, &block, steps, &first), 0);
    cr_assert_eq(steps[1], 125);
    cr_assert(isnan(latent[(2 * RECORDS + 0) * K]) && isfinite(latent[0]));
    int64_t resumed[B] = {-1, 125, 119};
    struct blowup_first again;
    blowup_first_of(resumed, B, &again);
    cr_assert(again.trajectory == 2 && again.step == 119);
    cr_assert_eq(blowup_count(resumed, B), 2);
}

/* An OU network whose read-out is bounded at 3 latent scales: a few of the 32 trajectories
 * cross it in 2000 steps. */
static const char *bounded_run = "[system]\nname = ou\n[network]\nneurons = 24\nseed = 7\n"
                                 "[train]\nsamples = 400\nepochs = 3\npaths = 2\npath_time = 5\n"
                                 "path_burn_in = 1\n"
                                 "[simulate]\ntrajectories = 32\nsteps = 2000\nrecord_every = 10\n"
                                 "dt = 0.005\nblowup_bound = 3\ntrace_trajectories = 4\n"
                                 "trace_neurons = 3\n"
                                 "[analysis]\npca = 0\nlyapunov_steps = 0\nhhd_grid = 0\n"
                                 "decomposition_grid = 0\n";

static void count_states(void *user, const float *z, int count, long t) {
    (void)t;
    long *finite = user;
    for (long i = 0; i < 32L * count; i++) *finite += isfinite(z[2 * i]) != 0;
}

/* Finite states of /simulate/latent as the analysis reads them. */
static long analysed_states(const char *name) {
    hid_t file = open_file(name);
    long finite = 0;
    struct ddm_error err;
    cr_assert_eq(runfile_simulate_scan(file, "latent", 0, count_states, &finite, &err), 0, "%s",
                 err.message);
    H5Fclose(file);
    return finite;
}

Test(blowup, stop_drop_and_keep, .timeout = 60) {
    make_test_dir("blowup");
    write_text("b.ini", bounded_run);
    cr_assert_eq(run_ddm("@b.ini --output @stop.h5"), DDM_ERUNTIME);
    cr_assert(strstr(run_err.message, "left [simulate] blowup_bound = 3 latent scales in "
                                      "trajectory"),
              "%s", run_err.message);
    cr_assert_eq(root_attr("stop.h5", "complete"), 0);
    cr_assert_eq(run_ddm("@b.ini --set simulate.on_nonfinite=drop --output @drop.h5"), 0, "%s",
                 run_err.message);
    cr_assert_eq(run_ddm("@b.ini --on-nonfinite keep --output @keep.h5"), 0, "%s", run_err.message);
    cr_assert_eq(root_attr("drop.h5", "complete"), 1);
    hid_t kept = open_file("keep.h5");
    cr_assert(H5Lexists(kept, "analysis", H5P_DEFAULT) > 0, "the analysis ran");
    H5Fclose(kept);
    /* drop and keep simulate the same: only the analysis differs */
    assert_same_dataset("drop.h5", "keep.h5", "/simulate/latent");
    assert_same_dataset("drop.h5", "keep.h5", "/simulate/nonfinite_step");
    assert_same_dataset("drop.h5", "stop.h5", "/simulate/nonfinite_step");

    int64_t *steps = read_marks("drop.h5", 32);
    hsize_t dims[4];
    int rank;
    size_t bytes;
    hid_t file = open_file("drop.h5");
    float *z = (float *)read_raw(file, "/simulate/latent", dims, &rank, &bytes);
    H5Fclose(file);
    const long T = (long)dims[1];
    long marked = 0, before = 0;
    for (int t = 0; t < 32; t++) {
        if (steps[t] < 0) continue;
        marked++;
        const long blew_at = steps[t] / 10; /* the record that holds the step */
        for (long r = 0; r < T; r++)
            cr_assert_eq(isnan(z[((size_t)t * T + r) * 2]) != 0, r > blew_at,
                         "trajectory %d, record %ld (blew up at step %lld)", t, r,
                         (long long)steps[t]);
        before += blew_at + 1;
    }
    cr_assert(marked >= 1 && marked < 32, "%ld of 32 trajectories crossed the bound", marked);
    cr_assert_eq(root_attr("drop.h5", "complete"), 1);
    file = open_file("drop.h5");
    hid_t group = H5Gopen2(file, "simulate", H5P_DEFAULT), attr = H5Aopen(group, "nonfinite", 0);
    double count = -1;
    H5Aread(attr, H5T_NATIVE_DOUBLE, &count);
    H5Aclose(attr), H5Gclose(group), H5Fclose(file);
    cr_assert_eq(count, marked);
    /* drop: only the trajectories that held; keep: their finite part too */
    cr_assert_eq(analysed_states("drop.h5"), (32 - marked) * T);
    cr_assert_eq(analysed_states("keep.h5"), (32 - marked) * T + before);
    free(steps), free(z);
}

Test(blowup, shards_merge_their_marks, .timeout = 60) {
    make_test_dir("blowup_merge");
    write_text("b.ini", bounded_run);
    const char *drop = "--set simulate.on_nonfinite=drop";
    char args[512];
    cr_assert_eq(run_ddm("@b.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    snprintf(args, sizeof args, "@b.ini --stages simulate --model @model.h5 %s --output @whole.h5",
             drop);
    cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "@b.ini --shard %d/2 --model @model.h5 %s --output @s%d.h5", i,
                 drop, i);
        cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    }
    cr_assert_eq(run_merge("@all.h5 @s0.h5 @s1.h5"), 0, "%s", run_err.message);
    assert_same_dataset("whole.h5", "all.h5", "/simulate/nonfinite_step");
    assert_same_attr("whole.h5", "all.h5", "/simulate", "nonfinite");
    int64_t *steps = read_marks("all.h5", 32);
    long marked = 0;
    for (int t = 0; t < 32; t++) marked += steps[t] >= 0;
    free(steps);
    cr_assert(marked >= 1, "the merged marks are those of the whole run (%ld)", marked);
    cr_assert_eq(analysed_states("all.h5"), analysed_states("whole.h5"));
}
