/* test_merge.c — `ddm_gpu merge` (host/io/merge.c): the merged file's /simulate datasets are
 * virtual datasets that read back, through HDF5's C API and from another working directory, exactly
 * as the unsharded run's arrays; the merged file can be analysed; shards that are not one ensemble
 * (another seed, another model, one missing or given twice, one incomplete, not a shard) are
 * refused with one line and nothing is written.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_util.h"
#include "ddm/h5io.h"

static const char *ensemble = "[system]\nname = vdp\n[network]\nneurons = 16\nseed = 5\n"
                              "[train]\nsamples = 300\nepochs = 2\npaths = 2\npath_time = 10\n"
                              "[simulate]\ntrajectories = 7\nsteps = 300\nrecord_every = 10\n"
                              "burn_in = 20\ntrace_trajectories = 3\ntrace_neurons = 2\n"
                              "[analysis]\npca = 0\nlyapunov_steps = 0\nhhd_grid = 8\n"
                              "decomposition_grid = 5\n";

/* model.h5, whole.h5 (unsharded) and s0..s2.h5 (3 shards) of one ensemble. */
static void setup(void) {
    make_test_dir("merge");
    write_text("e.ini", ensemble);
    cr_assert_eq(run_ddm("@e.ini --stages train --output @model.h5"), 0, "%s", run_err.message);
    cr_assert_eq(run_ddm("@e.ini --stages simulate --model @model.h5 --output @whole.h5"), 0, "%s",
                 run_err.message);
    char args[256];
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "@e.ini --shard %d/3 --model @model.h5 --output @s%d.h5", i, i);
        cr_assert_eq(run_ddm(args), 0, "%s", run_err.message);
    }
}

static void expect_refusal(const char *names, const char *message) {
    cr_assert_eq(run_merge(names), DDM_EUSAGE, "merged without error");
    /* the messages name the files by the paths given: "DIR/" before each name */
    cr_assert_str_eq(run_err.message, in_test_dir(message));
    cr_assert(access(in_dir("bad.h5"), F_OK) != 0, "a refused merge writes nothing");
}

static int is_virtual(const char *name, const char *dataset) {
    hid_t file = open_file(name), ds = H5Dopen2(file, dataset, H5P_DEFAULT),
          dcpl = H5Dget_create_plist(ds);
    int virtual = H5Pget_layout(dcpl) == H5D_VIRTUAL;
    H5Pclose(dcpl), H5Dclose(ds), H5Fclose(file);
    return virtual;
}

Test(merge, virtual_datasets_read_back_as_the_whole_run, .init = setup) {
    cr_assert_eq(run_merge("@all.h5 @s2.h5 @s0.h5 @s1.h5"), 0, "%s", run_err.message);
    const char *names[] = {"/simulate/latent",
                           "/simulate/target_latent",
                           "/simulate/traces",
                           "/simulate/t",
                           "/simulate/trace_neurons",
                           "/model/Gamma",
                           "/model/Ws",
                           "/train/loss"};
    for (int i = 0; i < 8; i++) assert_same_dataset("whole.h5", "all.h5", names[i]);
    for (int i = 0; i < 4; i++)
        cr_assert(is_virtual("all.h5", names[i]), "%s is virtual", names[i]);
    cr_assert_eq(root_attr("all.h5", "complete"), 1);
    cr_assert_eq(root_attr("all.h5", "shard_count"), 3);
    cr_assert_eq(root_attr("all.h5", "trajectories_total"), 7);
    hid_t file = open_file("all.h5");
    char sources[256];
    struct ddm_error err;
    cr_assert_eq(h5_read_attr_string(file, "merged_from", sources, sizeof sources, &err), 0);
    cr_assert_str_eq(sources, "s0.h5\ns1.h5\ns2.h5", "names relative to the merged file");
    H5Fclose(file);
    /* from another working directory the sources are still found next to all.h5 */
    char here[PATH_MAX];
    cr_assert(getcwd(here, sizeof here));
    cr_assert_eq(chdir("/"), 0);
    assert_same_dataset("whole.h5", "all.h5", "/simulate/latent");
    cr_assert_eq(chdir(here), 0);
    /* and the merged file is analysed like any run file */
    cr_assert_eq(run_ddm("@e.ini --stages analyze --model @all.h5"), 0, "%s", run_err.message);
    cr_assert_eq(run_ddm("@e.ini --stages analyze --model @whole.h5"), 0, "%s", run_err.message);
    assert_same_dataset("whole.h5", "all.h5", "/analysis/hhd/rnn/density");
    assert_same_attr("whole.h5", "all.h5", "/analysis/hhd/rnn", "entropy_production");
}

Test(merge, merged_file_names_a_missing_shard, .init = setup) {
    cr_assert_eq(run_merge("@all.h5 @s0.h5 @s1.h5 @s2.h5"), 0, "%s", run_err.message);
    cr_assert_eq(rename(in_dir("s1.h5"), in_dir("moved.h5")), 0);
    cr_assert_eq(run_ddm("@e.ini --stages analyze --model @all.h5"), DDM_EUSAGE);
    char expected[512];
    snprintf(expected, sizeof expected,
             "%s/all.h5 is merged from shards, and 's1.h5' is not there (next to it, as the "
             "virtual datasets look for it): its rows would read as NaN; keep the shards with the "
             "merged file",
             test_dir);
    cr_assert_str_eq(run_err.message, expected);
    /* two missing: both are named */
    cr_assert_eq(rename(in_dir("s2.h5"), in_dir("moved2.h5")), 0);
    cr_assert_eq(run_ddm("@e.ini --stages analyze --model @all.h5"), DDM_EUSAGE);
    snprintf(expected, sizeof expected,
             "%s/all.h5 is merged from shards, and 's1.h5', 's2.h5' are not there (next to it, as "
             "the virtual datasets look for them): their rows would read as NaN; keep the shards "
             "with the merged file",
             test_dir);
    cr_assert_str_eq(run_err.message, expected);
}

Test(merge, shards_of_different_runs_are_refused, .init = setup) {
    cr_assert_eq(run_ddm("@e.ini --shard 1/3 --model @model.h5 --output @seed.h5 --set "
                         "network.seed=9"),
                 0, "%s", run_err.message);
    expect_refusal("@bad.h5 @s0.h5 @seed.h5 @s2.h5",
                   "@seed.h5 and @s0.h5 were run with different configurations ([network] seed = "
                   "9 vs 5): they are not parts of one ensemble");
    cr_assert_eq(run_ddm("@e.ini --stages train --output @model2.h5 --set network.init_gain=0.7"),
                 0);
    cr_assert_eq(run_ddm("@e.ini --shard 1/3 --model @model2.h5 --output @other.h5"), 0);
    expect_refusal("@bad.h5 @s0.h5 @other.h5 @s2.h5",
                   "@other.h5 and @s0.h5 hold different /model arrays: every shard must simulate "
                   "the same trained model (give all of them the same --model file)");
    cr_assert_eq(run_ddm("@e.ini --shard 1/2 --model @model.h5 --output @half.h5"), 0);
    expect_refusal("@bad.h5 @s0.h5 @half.h5",
                   "@half.h5 is shard 1 of 2 (of 7 trajectories) but @s0.h5 is of 3 (of 7): they "
                   "are not parts of one ensemble");
}

Test(merge, shards_must_cover_the_ensemble_once, .init = setup) {
    expect_refusal("@bad.h5 @s0.h5 @s2.h5",
                   "shard 1 of 3 is missing (2 files given; merge needs all 3)");
    expect_refusal("@bad.h5 @s0.h5 @s1.h5 @s1.h5 @s2.h5",
                   "@s1.h5 and @s1.h5 are both shard 1 of 3");
    expect_refusal("@bad.h5 @s0.h5 @whole.h5",
                   "@whole.h5 is not a shard (no shard_index attribute; shards are written by "
                   "runs with --shard i/N)");
    hid_t file = H5Fopen(in_dir("s1.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    struct ddm_error err;
    cr_assert_eq(h5_attr_int(file, "complete", 0, &err), 0);
    H5Fclose(file);
    expect_refusal("@bad.h5 @s0.h5 @s1.h5 @s2.h5",
                   "@s1.h5 is not complete (complete = 0: its run failed or was stopped; resume "
                   "it with ddm_gpu --resume @s1.h5 first)");
    expect_refusal("@bad.h5 @s0.h5 @nowhere.h5",
                   "cannot open shard '@nowhere.h5': No such file or directory");
    cr_assert_eq(run_merge("@s0.h5"), DDM_EUSAGE);
    cr_assert_str_eq(run_err.message, "merge: usage: ddm_gpu merge OUT.h5 SHARD.h5... (the shards "
                                      "of one ensemble, written with --shard i/N)");
}
