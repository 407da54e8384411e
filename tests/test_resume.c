/* test_resume.c — checkpoints and --resume (host/io/checkpoint.c, host/run/run.c,
 * host/run/signals.c): a run stopped by a signal during the training, the burn-in or the recorded
 * blocks, and resumed (several times), writes the very bits of an uninterrupted run — every
 * /simulate dataset, /model, /train and the analysis; a real SIGTERM to a running process ends it
 * with exit status 3 and a checkpoint; the CPU backend continues bit for bit from saved states; and
 * a corrupt or foreign checkpoint is refused with one line.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/backend.h"
#include "ddm/h5io.h"
#include "ddm/signals.h"
#include "ddm/simulate.h"
#include "ddm/train.h"
#include "ddm/plan.h"
#include "queued_backend.h"
#include "test_util.h"

/* B·k = 256 gives blocks of 4096 recorded times: three blocks, and two burn-in chunks. */
static const char *long_run = "[system]\nname = vdp\n[network]\nneurons = 16\nseed = 3\n"
                              "[train]\nsamples = 300\nepochs = 5\nbatch = 64\npaths = 2\n"
                              "path_time = 10\npath_burn_in = 1\n"
                              "[simulate]\ntrajectories = 128\nsteps = 8400\nrecord_every = 1\n"
                              "burn_in = 10001\ntrace_trajectories = 2\ntrace_neurons = 3\n";

static const char *const compared[] = {"/simulate/latent", "/simulate/target_latent",
                                       "/simulate/traces", "/simulate/t",
                                       "/model/Gamma",     "/model/Ws",
                                       "/model/b",         "/model/S",
                                       "/train/loss"};

static void assert_same_run(const char *a, const char *b) {
    for (size_t i = 0; i < sizeof compared / sizeof compared[0]; i++)
        assert_same_dataset(a, b, compared[i]);
    assert_same_attr(a, b, "/train", "drift_rel_err");
    assert_same_attr(a, b, "/train", "final_loss");
    assert_same_attr(a, b, "/train", "ridge_drift_rel_err");
    /* the stages before a stop in the training are reported as a straight run reports them */
    const char *const stages[] = {"gauss_newton_drift_rel_err", "gauss_newton_rounds_kept",
                                  "gauss_newton_rounds_undone", "finetune_rounds_kept",
                                  "finetune_rounds_undone",     "fresh_drift_rel_err",
                                  "ridge_fresh_drift_rel_err",  "gauss_newton_fresh_drift_rel_err"};
    for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
        assert_same_attr(a, b, "/train", stages[i]);
    assert_same_attr(a, b, "/simulate", "target_nonfinite");
    cr_assert_eq(root_attr(b, "complete"), 1);
    cr_assert_eq(root_attr(b, "interrupted"), 0);
    hid_t file = open_file(b);
    cr_assert(H5Lexists(file, "checkpoint", H5P_DEFAULT) <= 0, "the checkpoint is removed");
    H5Fclose(file);
}

/* Stops between the Gauss–Newton rounds of a straight run's file: after each round but the last
 * (kept and undone ones; they end early when rounds in a row gain < 2%, so read how many ran). */
static int gauss_newton_stops(const char *file) {
    hid_t f = open_file(file);
    double rounds = 0;
    const char *const names[] = {"gauss_newton_rounds_kept", "gauss_newton_rounds_undone"};
    for (int i = 0; i < 2; i++) {
        hid_t attr = H5Aopen_by_name(f, "train", names[i], H5P_DEFAULT, H5P_DEFAULT);
        double count = 0;
        cr_assert(attr >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &count) >= 0, "%s", names[i]);
        H5Aclose(attr);
        rounds += count;
    }
    H5Fclose(f);
    return rounds > 0 ? (int)rounds - 1 : 0;
}

Test(resume, stops_in_training_burn_in_and_blocks_resume_bit_for_bit, .timeout = 60) {
    make_test_dir("resume");
    write_text("r.ini", long_run);
    cr_assert_eq(run_ddm("@r.ini --stages train,simulate --output @straight.h5"), 0, "%s",
                 run_err.message);
    int stops = run_stopping_everywhere("@r.ini --stages train,simulate --output @stopped.h5",
                                        "stopped.h5");
    /* between Gauss–Newton rounds, after each fine-tuning round but the last (one epoch each;
     * they stop early after 3 that gain < 2%, so read how many ran), 2 burn-in chunks, blocks 1
     * and 2 (not the last) */
    hid_t straight = open_file("straight.h5"),
          loss = H5Dopen2(straight, "/train/loss", H5P_DEFAULT);
    hid_t space = H5Dget_space(loss);
    const int epochs = (int)H5Sget_simple_extent_npoints(space);
    H5Sclose(space), H5Dclose(loss), H5Fclose(straight);
    cr_assert(epochs >= 3 && epochs <= 5, "epochs run: %d", epochs);
    const int rounds = gauss_newton_stops("straight.h5");
    cr_assert(rounds >= 1, "the test needs a stop between Gauss–Newton rounds");
    cr_assert_eq(stops, rounds + (epochs - 1) + 2 + 2, "stops: %d", stops);
    cr_assert_eq(root_attr("stopped.h5", "resumes"), stops);
    assert_same_run("straight.h5", "stopped.h5");
}

Test(resume, dropped_trajectories_resume_bit_for_bit, .timeout = 60) {
    make_test_dir("resume_drop");
    write_text("r.ini", long_run);
    const char *drop = "--stages train,simulate --set simulate.on_nonfinite=drop "
                       "--set simulate.blowup_bound=2";
    char args[512];
    snprintf(args, sizeof args, "@r.ini %s --output @straight.h5", drop);
    cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    snprintf(args, sizeof args, "@r.ini %s --output @stopped.h5", drop);
    run_stopping_everywhere(args, "stopped.h5");
    assert_same_run("straight.h5", "stopped.h5");
    assert_same_dataset("straight.h5", "stopped.h5", "/simulate/nonfinite_step");
    assert_same_attr("straight.h5", "stopped.h5", "/simulate", "nonfinite");
    int64_t *steps = read_marks("stopped.h5", 128);
    int marked = 0, in_burn_in = 0;
    for (int t = 0; t < 128; t++)
        marked += steps[t] >= 0, in_burn_in += steps[t] >= 0 && steps[t] < 10001;
    free(steps);
    cr_assert(marked > 0 && marked < 128, "%d of 128 trajectories crossed the bound", marked);
    cr_assert(in_burn_in < marked,
              "some crossed it in the recorded blocks (%d of %d in the burn-in)", in_burn_in,
              marked);
}

/* The latent rows (B,T,k) put in place chunk by chunk. */
struct latent_rows {
    int T, k;
    float *z;
};

static int keep_latent(void *user, const struct sim_chunk *chunk, struct ddm_error *err) {
    (void)err;
    struct latent_rows *r = user;
    for (int j = 0; j < chunk->B; j++)
        memcpy(r->z + ((size_t)j * r->T + chunk->first) * r->k,
               chunk->latent + (size_t)j * chunk->count * chunk->k,
               sizeof(float) * chunk->count * chunk->k);
    return DDM_OK;
}

Test(resume, an_asynchronous_backend_stops_after_the_block_in_flight) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = vdp\n[simulate]\ntrajectories = 6\nsteps = 30\n"
                           "record_every = 3\nburn_in = 0\ntrace_trajectories = 0\n"
                           "start = 0.5, -1\n");
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_model model;
    random_model(&model, 24, 2, 2, 0, 5);
    struct ddm_sim_layout layout;
    cr_assert_eq(simulate_layout(&cfg, &model, &layout, &err), 0);
    layout.B_total = 1 << 18; /* shard 0 of a huge ensemble: blocks of 2 recorded times */
    struct ddm_backend queued = queued_backend(backend_cpu(0));
    const size_t values = (size_t)layout.B * layout.T * layout.k;
    struct latent_rows straight = {layout.T, layout.k, calloc(values, sizeof(float))};
    struct latent_rows stopped = {layout.T, layout.k, calloc(values, sizeof(float))};
    struct ddm_sim_report report;
    cr_assert_eq(simulate_run_from(&queued, &sys, &model, &cfg, &layout, keep_latent, &straight,
                                   NULL, NULL, &report, 1, &err),
                 0, "%s", err.message);
    sim_report_free(&report);
    struct ddm_sim_state states[2] = {{0}}, *from = NULL;
    int code, stops = 0;
    do { /* a stop at every check: each run writes two blocks, the second was in flight */
        stop_request(SIGTERM);
        code = simulate_run_from(&queued, &sys, &model, &cfg, &layout, keep_latent, &stopped, from,
                                 &states[stops % 2], &report, 1, &err);
        sim_report_free(&report);
        if (from) sim_state_free(from);
        from = NULL;
        if (code == DDM_EINTERRUPTED) {
            cr_assert_eq(states[stops % 2].recorded, 5 + 4 * stops,
                         "the block in flight is written before the checkpoint");
            from = &states[stops++ % 2];
        }
    } while (code == DDM_EINTERRUPTED);
    stop_signals_restore();
    cr_assert_eq(code, 0, "%s", err.message);
    cr_assert_eq(stops, 2, "T = 11: stops at 5 and 9 recorded times");
    cr_assert_eq(memcmp(straight.z, stopped.z, sizeof(float) * values), 0);
    sim_state_free(&states[0]), sim_state_free(&states[1]);
    free(straight.z), free(stopped.z);
    simulate_layout_free(&layout);
    model_free(&model);
    system_free(&sys);
    config_free(&cfg);
}

static const char *small_run = "[system]\nname = ou\n[network]\nneurons = 12\nseed = 5\n"
                               "[train]\nsamples = 200\nepochs = 3\npaths = 2\npath_time = 5\n"
                               "path_burn_in = 1\n"
                               "[simulate]\ntrajectories = 4\nsteps = 40\nrecord_every = 2\n"
                               "burn_in = 10001\n"
                               "[analysis]\npca = 0\nlyapunov_steps = 100\nhhd_grid = 8\n"
                               "decomposition_grid = 5\n";

Test(resume, a_stop_before_the_analysis_resumes_with_the_analysis) {
    make_test_dir("resume_analysis");
    write_text("s.ini", small_run);
    cr_assert_eq(run_ddm("@s.ini --output @straight.h5"), 0, "%s", run_err.message);
    int stops = run_stopping_everywhere("@s.ini --output @stopped.h5", "stopped.h5");
    cr_assert_eq(stops, gauss_newton_stops("straight.h5") + 2 + 2 + 1,
                 "between Gauss–Newton rounds, epochs 1, 2, burn-in chunks 1, 2, then before the "
                 "analysis");
    assert_same_run("straight.h5", "stopped.h5");
    assert_same_dataset("straight.h5", "stopped.h5", "/analysis/hhd/rnn/density");
    assert_same_dataset("straight.h5", "stopped.h5", "/analysis/lyapunov/rnn");
}

Test(resume, shards_resume_too, .timeout = 60) {
    make_test_dir("resume_shard");
    write_text("r.ini", long_run);
    cr_assert_eq(run_ddm("@r.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    cr_assert_eq(run_ddm("@r.ini --shard 1/2 --model @model.h5 --output @straight.h5"), 0);
    int stops = run_stopping_everywhere("@r.ini --shard 1/2 --model @model.h5 --output @stopped.h5",
                                        "stopped.h5");
    cr_assert_eq(stops, 2 + 2, "blocks are cut as in the whole run");
    for (int i = 0; i < 4; i++) assert_same_dataset("straight.h5", "stopped.h5", compared[i]);
    cr_assert_eq(root_attr("stopped.h5", "shard_index"), 1);
    cr_assert_eq(root_attr("stopped.h5", "first_trajectory"), 64);
}

Test(resume, a_real_sigterm_stops_a_running_process_with_status_3, .timeout = 60) {
    make_test_dir("resume_signal");
    write_text("r.ini", long_run);
    cr_assert_eq(run_ddm("@r.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    const char *args = "@r.ini --stages simulate --model @model.h5 --output @signalled.h5 --set "
                       "simulate.trajectories=64 --set simulate.steps=200";
    cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    cr_assert_eq(rename(in_dir("signalled.h5"), in_dir("straight.h5")), 0);
    char one_thread[512]; /* libgomp's threads do not survive a fork: the child uses none */
    snprintf(one_thread, sizeof one_thread, "%s --set run.threads=1", args);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) _exit(run_ddm(one_thread));
    /* the handlers are in place before the file exists: signal as soon as it does */
    for (int i = 0; i < 20000 && access(in_dir("signalled.h5"), F_OK); i++) usleep(500);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    int exited = WIFEXITED(status);
    cr_assert(exited, "the process ended by itself, not by the signal");
    cr_assert_eq(WEXITSTATUS(status), DDM_EINTERRUPTED);
    cr_assert_eq(root_attr("signalled.h5", "interrupted"), 1);
    cr_assert_eq(run_ddm("--resume @signalled.h5"), 0, "%s", run_err.message);
    for (int i = 0; i < 4; i++) assert_same_dataset("straight.h5", "signalled.h5", compared[i]);
}

/* The first check of a training run is the end of the first Gauss–Newton round: its checkpoint
 * says where the rounds stand, as format 2 (a release reading only 1 would skip the rest). */
Test(resume, a_stop_between_gauss_newton_rounds_says_where_they_stand) {
    make_test_dir("resume_gauss_newton");
    write_text("r.ini", long_run);
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm("@r.ini --stages train --output @stopped.h5"), DDM_EINTERRUPTED);
    cr_assert(strstr(run_err.message, "stopped by SIGTERM after Gauss–Newton round 1 (of at most"),
              "%s", run_err.message);
    hid_t file = open_file("stopped.h5");
    hid_t format = H5Aopen_by_name(file, "checkpoint", "format", H5P_DEFAULT, H5P_DEFAULT);
    double version = 0, state[4] = {0};
    cr_assert(format >= 0 && H5Aread(format, H5T_NATIVE_DOUBLE, &version) >= 0);
    hid_t gn = H5Dopen2(file, "checkpoint/gauss_newton_state", H5P_DEFAULT);
    cr_assert(gn >= 0 && H5Dread(gn, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, state) >= 0);
    H5Dclose(gn), H5Aclose(format), H5Fclose(file);
    cr_assert_eq(version, 2);
    cr_assert_eq(state[0], 1, "one round done");
    cr_assert(state[2] > 0 && state[3] > 0, "the kept network's loss and ε_f: %g %g", state[2],
              state[3]);
}

/* Training paths of 70 000 steps: a stop already requested is seen at their 65 536th step, before
 * there is a network, and the checkpoint says so (n = 0); the resumed run trains from the start. */
Test(resume, a_stop_while_sampling_keeps_no_network_and_the_resume_trains_afresh, .timeout = 60) {
    make_test_dir("resume_sampling");
    write_text("s.ini", small_run);
    const char *longer = "@s.ini --stages train --set train.path_time=69 --set train.path_dt=1e-3";
    char args[512], expected[768];
    snprintf(args, sizeof args, "%s --output @straight.h5", longer);
    cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    snprintf(args, sizeof args, "%s --output @stopped.h5", longer);
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm(args), DDM_EINTERRUPTED, "%s", run_err.message);
    snprintf(expected, sizeof expected,
             "stopped by SIGTERM while sampling the target's paths (7e+04 steps each at path_dt "
             "= 0.001), before the training began; checkpoint written to %s/stopped.h5 "
             "(continue with: ddm_gpu --resume %s/stopped.h5)",
             test_dir, test_dir);
    cr_assert_str_eq(run_err.message, expected);
    char stage[32];
    checkpoint_stage("stopped.h5", stage, sizeof stage);
    cr_assert_str_eq(stage, "train");
    cr_assert_eq(checkpoint_neurons("stopped.h5"), 0, "no network yet");
    hid_t file = open_file("stopped.h5");
    hid_t format = H5Aopen_by_name(file, "checkpoint", "format", H5P_DEFAULT, H5P_DEFAULT);
    double version = 0;
    cr_assert(format >= 0 && H5Aread(format, H5T_NATIVE_DOUBLE, &version) >= 0);
    H5Aclose(format), H5Fclose(file);
    cr_assert_eq(version, 2, "format 2: a release reading only 1 refuses it by its format");
    cr_assert_eq(run_ddm("--resume @stopped.h5"), 0, "%s", run_err.message);
    const char *const same[] = {"/model/Gamma", "/model/b", "/model/Ws", "/train/loss"};
    for (int i = 0; i < 4; i++) assert_same_dataset("straight.h5", "stopped.h5", same[i]);
    assert_same_attr("straight.h5", "stopped.h5", "/train", "drift_rel_err");
    cr_assert_eq(root_attr("stopped.h5", "complete"), 1);
}

/* A resumed run stopped again while it samples its points keeps the checkpoint it came from. */
Test(resume, a_stop_while_resampling_keeps_the_checkpoint_it_resumed_from) {
    struct ddm_config cfg;
    config_from_text(&cfg, "[system]\nname = ou\n[network]\nneurons = 6\n[train]\n"
                           "samples = 100\nepochs = 9\npaths = 2\npath_time = 69\n"
                           "path_dt = 1e-3\npath_burn_in = 1\n");
    struct ddm_system sys;
    struct ddm_error err = {0};
    cr_assert_eq(system_build(&sys, &cfg, &err), 0, "%s", err.message);
    cr_assert_eq(config_resolve(&cfg, &sys, PLAN_ALL, &err), 0, "%s", err.message);
    struct ddm_train_state from, stopped = {0};
    cr_assert_eq(train_state_alloc(&from, 6, 1, 4, &err), 0);
    const int count = 6 * 1 * 2 + 6;
    fill_uniform(from.params, count, -1, 1, 1), fill_uniform(from.m1, count, -1, 1, 2);
    fill_uniform(from.m2, count, 0, 1, 3);
    for (int e = 0; e < 4; e++) from.loss[e] = 1.0 / (e + 1);
    from.epochs_done = 4, from.adam_step = 40, from.lr_scale = 0.25, from.stalls = 1;
    struct ddm_model model;
    struct ddm_train_report report;
    stop_request(SIGTERM);
    int code =
        train_model_from(backend_cpu(0), &sys, &cfg, &from, &stopped, &model, &report, 1, &err);
    stop_signals_restore();
    cr_assert_eq(code, DDM_EINTERRUPTED, "%s", err.message);
    cr_assert(strstr(err.message, "while sampling the target's paths") &&
                  strstr(err.message, "before epoch 5"),
              "%s", err.message);
    cr_assert(stopped.n == 6 && stopped.epochs_done == 4 && stopped.adam_step == 40 &&
              stopped.lr_scale == 0.25 && stopped.stalls == 1);
    cr_assert_eq(memcmp(stopped.params, from.params, sizeof(float) * count), 0);
    cr_assert_eq(memcmp(stopped.m2, from.m2, sizeof(float) * count), 0);
    cr_assert_eq(memcmp(stopped.loss, from.loss, sizeof(double) * 4), 0);
    cr_assert_neq(stopped.params, from.params, "a copy, freed on its own");
    train_state_free(&stopped), train_state_free(&from);
    train_report_free(&report);
    system_free(&sys);
    config_free(&cfg);
}

/* The CPU backends continue bit for bit from the states of sim_state (what a checkpoint keeps),
 * state-dependent diffusion and neuron noise included. */
static void check_continuation(const struct ddm_backend *be, int state_dependent, float sigma_n) {
    enum { B = 5, N = 37, K = 3, M = 2, R = 4, EVERY = 25 };
    struct ddm_model model;
    random_model(&model, N, K, M, state_dependent, 8);
    float x0[B * N], x_mid[B * N], straight[B * R * K], resumed[B * R * K];
    fill_uniform(x0, B * N, -1, 1, 2);
    struct ddm_sim_setup setup = {&model, B, 100, 9, 10, 0.01, sigma_n, 0, 0, NULL, x0};
    struct ddm_error err;
    void *ctx;
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0);
    struct ddm_sim_block first = {0, R, EVERY, NULL, straight, NULL, -1, 0, NULL, NULL};
    cr_assert_eq(be->sim_advance(ctx, &first, &err), 0);
    cr_assert_eq(be->sim_state(ctx, x_mid, &err), 0);
    struct ddm_sim_block second = {R * EVERY, R, EVERY, NULL, straight, NULL, -1, 0, NULL, NULL};
    cr_assert_eq(be->sim_advance(ctx, &second, &err), 0);
    be->sim_destroy(ctx);
    setup.x0 = x_mid;
    cr_assert_eq(be->sim_create(&setup, &ctx, &err), 0);
    second.latent = resumed;
    cr_assert_eq(be->sim_advance(ctx, &second, &err), 0);
    be->sim_destroy(ctx);
    cr_assert_eq(memcmp(straight, resumed, sizeof straight), 0,
                 "%s (state-dependent %d, σ_n %g): a context created from the saved states does "
                 "not continue bit for bit",
                 be->name, state_dependent, sigma_n);
    model_free(&model);
}

Test(resume, cpu_backends_continue_from_saved_states) {
    const struct ddm_backend *backends[] = {backend_cpu(0), backend_cpu_reference(0)};
    for (int b = 0; b < 2; b++) {
        check_continuation(backends[b], 0, 0);
        check_continuation(backends[b], 1, 0);
        check_continuation(backends[b], 0, 0.1f);
    }
}

/* small.h5: stopped in the burn-in, with a checkpoint */
static void stopped_small(void) {
    make_test_dir("resume_refused");
    write_text("s.ini", small_run);
    cr_assert_eq(run_ddm("@s.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm("@s.ini --stages simulate --model @model.h5 --output @small.h5"),
                 DDM_EINTERRUPTED);
    char expected[512];
    snprintf(expected, sizeof expected,
             "stopped by SIGTERM at step 10000 (0 recorded times); checkpoint written to "
             "%s/small.h5 (continue with: ddm_gpu --resume %s/small.h5)",
             test_dir, test_dir);
    cr_assert_str_eq(run_err.message, expected);
}

static void expect_resume_error(const char *args, int code, const char *message) {
    cr_assert_eq(run_ddm(args), code, "%s", run_err.message);
    char expected[1024];
    snprintf(expected, sizeof expected, "--resume %s/small.h5: %s", test_dir, message);
    cr_assert_str_eq(run_err.message, expected);
}

/* Opens small.h5 for editing its checkpoint. */
static hid_t edit(void) {
    hid_t file = H5Fopen(in_dir("small.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0);
    return file;
}

Test(resume, a_missing_or_misshapen_member_is_refused, .init = stopped_small) {
    hid_t file = edit();
    cr_assert(H5Ldelete(file, "checkpoint/target_dead", H5P_DEFAULT) >= 0);
    H5Fclose(file);
    expect_resume_error("--resume @small.h5", DDM_EUSAGE,
                        "the checkpoint is corrupt: /checkpoint/target_dead is missing");
    file = edit();
    hsize_t b = 3;
    int dead[3] = {0};
    struct ddm_error err;
    cr_assert_eq(h5_write(file, "checkpoint/target_dead", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &b,
                          dead, "(B)", &err),
                 0);
    H5Fclose(file);
    expect_resume_error("--resume @small.h5", DDM_EUSAGE,
                        "the checkpoint is corrupt: /checkpoint/target_dead has 3 trajectories, "
                        "expected 4");
    cr_assert_eq(root_attr("small.h5", "complete"), 0, "a refused resume leaves the file alone");
}

Test(resume, another_configuration_or_an_edited_file_is_refused, .init = stopped_small) {
    expect_resume_error("--resume @small.h5 @s.ini --set network.seed=9", DDM_EUSAGE,
                        "the configuration differs from the one the run started with ([network] "
                        "seed = 9 vs 5, given vs stored); give the same CONFIG.ini and --set, or "
                        "none");
    expect_resume_error("--resume @small.h5 --set simulate.steps=60", DDM_EUSAGE,
                        "the configuration differs from the one the run started with ([simulate] "
                        "steps = 60 vs 40, given vs stored); give the same CONFIG.ini and --set, "
                        "or none");
    hid_t file = edit();
    hid_t model = H5Gopen2(file, "model", H5P_DEFAULT);
    struct ddm_error err;
    cr_assert_eq(h5_attr_double(model, "tau", 2, &err), 0);
    H5Gclose(model);
    H5Fclose(file);
    cr_assert_eq(run_ddm("--resume @small.h5"), DDM_EUSAGE);
    cr_assert(strstr(run_err.message, "the checkpoint does not belong to the configuration and "
                                      "model in the file (fingerprint "),
              "%s", run_err.message);
}

Test(resume, only_a_stopped_run_can_be_resumed, .init = stopped_small) {
    cr_assert_eq(run_ddm("--resume @small.h5 @s.ini --set run.threads=1"), 0, "%s",
                 run_err.message);
    expect_resume_error("--resume @small.h5", DDM_EUSAGE,
                        "the run in it is complete (complete = 1): there is nothing to resume");
    hid_t file = edit();
    struct ddm_error err;
    cr_assert_eq(h5_attr_int(file, "complete", 0, &err), 0);
    H5Fclose(file);
    expect_resume_error("--resume @small.h5", DDM_EUSAGE,
                        "it has no /checkpoint: only a run stopped by a signal (exit status 3) "
                        "can be resumed");
    FILE *f = fopen(in_dir("small.h5"), "r+");
    cr_assert(f);
    cr_assert_eq(ftruncate(fileno(f), 2000), 0);
    fclose(f);
    cr_assert_eq(run_ddm("--resume @small.h5"), DDM_EUSAGE);
    char expected[512];
    snprintf(expected, sizeof expected,
             "--resume '%s/small.h5' is corrupt or truncated (truncated file: eof = 2000, ",
             test_dir);
    cr_assert(!strncmp(run_err.message, expected, strlen(expected)), "%s", run_err.message);
    cr_assert_eq(run_ddm("--resume @small.h5 --output @x.h5"), DDM_EUSAGE);
    snprintf(expected, sizeof expected,
             "--resume continues the run in %s/small.h5 as it was started; --output does not "
             "apply (the stages, model, shard and output come from the file)",
             test_dir);
    cr_assert_str_eq(run_err.message, expected);
}

/* A checkpoint of the build before the fresh-path figures has a stage_report of 9 values: it still
 * resumes, the figures it lacks are NaN in /train, and the summary prints none of them as "nan". */
Test(resume, nine_value_stage_report_resumes_without_nan_in_the_summary, .timeout = 60) {
    make_test_dir("resume_nine");
    write_text("r.ini", long_run);
    stop_request(SIGTERM);
    cr_assert_eq(run_ddm("@r.ini --stages train --output @old.h5"), DDM_EINTERRUPTED, "%s",
                 run_err.message);
    hid_t file = H5Fopen(in_dir("old.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    double report[TRAIN_STAGE_REPORT];
    hid_t dataset = H5Dopen2(file, "/checkpoint/stage_report", H5P_DEFAULT);
    cr_assert_geq(H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, report), 0);
    H5Dclose(dataset);
    H5Ldelete(file, "/checkpoint/stage_report", H5P_DEFAULT);
    const hsize_t nine = 9;
    hid_t space = H5Screate_simple(1, &nine, NULL);
    dataset = H5Dcreate2(file, "/checkpoint/stage_report", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, report), 0);
    H5Dclose(dataset), H5Sclose(space), H5Fclose(file);
    fflush(stdout);
    const int saved = dup(STDOUT_FILENO),
              summary = open(in_dir("summary.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(summary, STDOUT_FILENO);
    char *argv[40]; /* run_ddm is quiet: this run prints its summary */
    const int argc = test_argv("ddm_gpu", "--resume @old.h5", argv);
    struct ddm_cli cli;
    int code = cli_parse(argc, argv, &cli, &run_err);
    cli.quiet = 0;
    if (!code) code = ddm_run(&cli, &run_err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO), close(saved), close(summary);
    cr_assert_eq(code, 0, "%s", run_err.message);
    char text[8192] = {0};
    FILE *f = fopen(in_dir("summary.txt"), "r");
    cr_assert(f);
    cr_assert_gt(fread(text, 1, sizeof text - 1, f), 0);
    fclose(f);
    cr_assert(strstr(text, "fresh paths ("), "%s", text);
    cr_assert(!strstr(text, "nan") && !strstr(text, "inf "), "%s", text);
    file = open_file("old.h5");
    double fresh = NAN;
    hid_t attr = H5Aopen_by_name(file, "/train", "fresh_drift_rel_err", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(attr, H5T_NATIVE_DOUBLE, &fresh);
    H5Aclose(attr), H5Fclose(file);
    cr_assert(isfinite(fresh) && fresh > 0, "fresh ε_f %g", fresh);
}
