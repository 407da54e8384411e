/* h5schema.c — what every group and dataset of a run file holds, in which units (the table below),
 * written into the file as the attributes `description` and `units`; and the HDF5 dimension
 * scales of /simulate (include/ddm/h5schema.h). docs/output.md lists the same table; a test
 * (tests/check_output_doc.py) compares it with real files both ways.
 *
 * Units: "z" is the unit of the latent variables (the system's own, as its drift is written),
 * "time" the unit dt counts in, "x" the neuron state (dimensionless: the argument of tanh),
 * "1" a dimensionless number, "index" a 0-based index or a count, "none" a group or a text.
 */
#include "ddm/h5schema.h"

#include <hdf5_hl.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/h5io.h"
#include "ddm/system.h"

struct h5schema_entry {
    const char *path; /* "*" matches one whole component */
    const char *units;
    const char *description;
};

static const struct h5schema_entry schema[] = {
    {"/", "none", "a ddm_gpu run: root attributes name the run (config, versions, host)"},
    {"/system", "none", "the SDE the network is trained to carry (attributes: drift, params)"},
    {"/system/variables", "none", "names of the k latent variables, in order"},
    {"/system/params", "none", "the [system] params, one attribute each (name = value)"},
    {"/model", "none", "the trained low-rank tanh network, tau dx = (-x + Gamma tanh(x) ...) dt"},
    {"/model/Gamma", "1", "embedding Gamma (n,k): latent directions in neuron space"},
    {"/model/Ws", "1", "read-in weights W_s (k,n) of the drift term"},
    {"/model/b", "x", "neuron biases b (n)"},
    {"/model/S", "1/time^0.5", "constant diffusion factor S (k,m) in normalised latent units"},
    {"/model/V", "1", "state-dependent diffusion read-in V (k*m,n)"},
    {"/model/c", "1", "state-dependent diffusion offsets c (k*m)"},
    {"/model/latent_mean", "z", "mean used to normalise each latent variable"},
    {"/model/latent_scale", "z", "scale used to normalise each latent variable"},
    {"/train", "none", "training of the drift (and diffusion) fit"},
    {"/train/loss", "1", "training loss per epoch, in normalised units"},
    {"/simulate", "none", "the network's and the coupled target's latent paths, streamed"},
    {"/simulate/t", "time", "recorded times (dimension scale of axis T)"},
    {"/simulate/trajectory", "index", "global index of each trajectory (dimension scale of B)"},
    {"/simulate/variable", "none", "latent variable names (dimension scale of axis k)"},
    {"/simulate/trace_trajectory", "index",
     "global index of each traced trajectory (dimension scale of Bt)"},
    {"/simulate/trace_neurons", "index", "index of each traced neuron (dimension scale of nt)"},
    {"/simulate/latent", "z", "network read-out z of each trajectory at each recorded time"},
    {"/simulate/target_latent", "z", "coupled target SDE (same noise) at each recorded time"},
    {"/simulate/traces", "x", "neuron states x of the traced neurons of the traced trajectories"},
    {"/simulate/input", "z/time", "cue input added to the drift at each recorded time"},
    {"/simulate/nonfinite_step", "index",
     "global step at which each network trajectory blew up, -1: never"},
    {"/checkpoint", "none", "state of a stopped run, read by --resume (removed when complete)"},
    {"/checkpoint/params", "1", "training parameters at the stop"},
    {"/checkpoint/m1", "1", "Adam first moments at the stop"},
    {"/checkpoint/m2", "1", "Adam second moments at the stop"},
    {"/checkpoint/loss", "1", "training loss of the epochs done"},
    {"/checkpoint/x", "x", "neuron states of every trajectory at the stop"},
    {"/checkpoint/target_z", "z", "target latent state of every trajectory at the stop"},
    {"/checkpoint/target_dead", "1", "1 where the target trajectory blew up"},
    {"/checkpoint/nonfinite_step", "index", "blow-up step of each network trajectory, -1: never"},
    {"/checkpoint/moments", "z", "running sums of the latent moments"},
    {"/checkpoint/moment_counts", "index", "counts behind the running moments"},
    {"/analysis", "none", "the analyze stage (attribute config: the analysis configuration)"},
    {"/analysis/pca", "none", "PCA of the neuron-space states (the paper's Fig 4)"},
    {"/analysis/pca/explained_variance", "1", "share of the variance of each component"},
    {"/analysis/pca/principal_angles_deg", "degree", "principal angles of the PCs to range Gamma"},
    {"/analysis/pca/map_A", "1", "affine map A from the top k PCs to the normalised latent"},
    {"/analysis/pca/map_c", "1", "offset c of that affine map"},
    {"/analysis/pca/pc_coordinates", "x", "states in the top k principal components"},
    {"/analysis/pca/latent", "z", "the latent read-out at the same samples"},
    {"/analysis/pca/recovered", "z", "latent recovered from the PCs: mu + s (A pc + c)"},
    {"/analysis/pca/recovery_r2_coordinates", "1", "R^2 of the recovery per latent variable"},
    {"/analysis/decomposition", "none", "W split into symmetric and antisymmetric parts (Fig 3)"},
    {"/analysis/decomposition/axis0", "z", "grid coordinates along the first grid axis"},
    {"/analysis/decomposition/axis1", "z", "grid coordinates along the second grid axis"},
    {"/analysis/decomposition/axis2", "z", "grid coordinates along the third grid axis"},
    {"/analysis/decomposition/at", "z", "point the grid slices of a k>3 system pass through"},
    {"/analysis/decomposition/energy", "1", "Hopfield energy of the symmetric part on the grid"},
    {"/analysis/decomposition/f", "z/time", "network drift f on the grid"},
    {"/analysis/decomposition/f_sym", "z/time", "drift of the symmetric part of W"},
    {"/analysis/decomposition/f_asym", "z/time", "drift of the antisymmetric part of W"},
    {"/analysis/decomposition/f_sym_metric", "z/time",
     "symmetric drift projected in the manifold's metric (never climbs the energy)"},
    {"/analysis/decomposition/energy_gradient", "1/z", "gradient of the energy in latent z"},
    {"/analysis/hhd", "none", "Helmholtz-Hodge split of the stationary process (Fig 3)"},
    {"/analysis/hhd/rnn", "none", "the split of the network's process"},
    {"/analysis/hhd/target", "none", "the split of the target process"},
    {"/analysis/hhd/*/axis0", "z", "grid coordinates along the first grid axis"},
    {"/analysis/hhd/*/axis1", "z", "grid coordinates along the second grid axis"},
    {"/analysis/hhd/*/axis2", "z", "grid coordinates along the third grid axis"},
    {"/analysis/hhd/*/bandwidth", "z", "kernel density bandwidth per latent variable"},
    {"/analysis/hhd/*/density", "1/z^d", "stationary density p on the grid"},
    {"/analysis/hhd/*/f_rev", "z/time", "reversible drift D grad log p + div D"},
    {"/analysis/hhd/*/f_irr", "z/time", "irreversible drift J/p (probability current / p)"},
    {"/analysis/hhd/*/smoothing_variance", "z^2",
     "variance the density estimate smooths with, h^2 + grid^2/6, per variable"},
    {"/analysis/stats", "none", "stationary statistics after the burn-in, network and target"},
    {"/analysis/stats/edges", "z", "histogram bin edges per latent variable"},
    {"/analysis/stats/wasserstein", "z", "Wasserstein-1 distance network-target per variable"},
    {"/analysis/stats/rnn", "none", "statistics of the network's read-out"},
    {"/analysis/stats/target", "none", "statistics of the coupled target"},
    {"/analysis/stats/wasserstein_in_target_std", "1",
     "Wasserstein-1 distance per variable, in units of the target's std"},
    {"/analysis/stats/*/mean", "z", "stationary mean"},
    {"/analysis/stats/*/covariance", "z^2", "stationary covariance"},
    {"/analysis/stats/*/marginal", "1/z", "marginal density per variable on the bins"},
    {"/analysis/data_comparison", "none",
     "the network against held-out recorded data ([system] data); scalars as attributes"},
    {"/analysis/data_comparison/mean_network", "z", "stationary mean of the network's read-out"},
    {"/analysis/data_comparison/mean_network_error", "z",
     "its error, std over batches of trajectories / sqrt(G)"},
    {"/analysis/data_comparison/mean_data", "z", "mean of the held-out data"},
    {"/analysis/data_comparison/mean_data_error", "z",
     "its error, std over batches of trajectories / sqrt(G)"},
    {"/analysis/data_comparison/covariance_network", "z^2",
     "stationary covariance of the network's read-out"},
    {"/analysis/data_comparison/covariance_data", "z^2", "covariance of the held-out data"},
    {"/analysis/data_comparison/data_std", "z",
     "std of the held-out data per variable (the unit of W1)"},
    {"/analysis/data_comparison/wasserstein_in_data_std", "1",
     "W1 network-data per variable, in units of the data's std"},
    {"/analysis/data_comparison/wasserstein_in_data_std_error", "1", "its error over batch pairs"},
    {"/analysis/data_comparison/wasserstein_floor_in_data_std", "1",
     "W1 between two halves of the held-out data"},
    {"/analysis/data_comparison/frequency", "1/time",
     "frequencies j/T_seg of the compared power spectra"},
    {"/analysis/data_comparison/power_network", "1",
     "smoothed power spectrum of the network per variable, sum 1"},
    {"/analysis/data_comparison/power_data", "1",
     "smoothed power spectrum of the held-out data per variable, sum 1"},
    {"/analysis/data_comparison/hellinger", "1",
     "Hellinger distance D_H of the two spectra per variable"},
    {"/analysis/data_comparison/sfi_diffusion_network", "z^2/time",
     "diffusion D of the network's increments"},
    {"/analysis/data_comparison/sfi_diffusion_data", "z^2/time",
     "diffusion D of the data's increments"},
    {"/analysis/data_comparison/sfi_drift_data", "z/time",
     "drift inferred from the data: coefficients on the polynomial basis"},
    {"/analysis/lyapunov", "none", "Lyapunov spectra of the noise-free latent flows"},
    {"/analysis/lyapunov/rnn", "1/time", "network spectrum, mean over starts"},
    {"/analysis/lyapunov/rnn_error", "1/time", "standard error of the network spectrum"},
    {"/analysis/lyapunov/rnn_starts", "1/time", "network spectrum of each start"},
    {"/analysis/lyapunov/target", "1/time", "target spectrum, mean over starts"},
    {"/analysis/lyapunov/target_error", "1/time", "standard error of the target spectrum"},
    {"/analysis/lyapunov/target_starts", "1/time", "target spectrum of each start"},
    {"/analysis/lyapunov/starts", "z", "latent start of each Lyapunov run (on the target path)"},
    {"/analysis/lyapunov/*_end", "z", "latent state at the end of each start's run"},
    {"/analysis/lyapunov/*_end_distance", "1",
     "distance of each end from the target's path, in units of its std"},
    {"/analysis/lyapunov/*_attractor", "index", "attractor each start ended on (attribute legend)"},
    {"/analysis/lyapunov/*_kept", "1", "1: the start entered the mean; 0: it ended elsewhere"},
    {"/analysis/memory", "none", "wells systems: which well each path is in (Fig 5)"},
    {"/analysis/memory/occupancy", "index", "well of each trajectory at each time, -1: none"},
    {"/analysis/memory/transitions", "index", "well-to-well transition counts (from, to)"},
    {"/analysis/memory/dwell_times", "time", "time spent in a well before leaving"},
    {"/analysis/memory/cue_pattern", "index", "pattern each cue pointed at"},
    {"/analysis/memory/recall_per_cue", "1", "share of trajectories in the cued well after it"},
    {"/analysis/memory/target", "none", "the same for the coupled target"},
    {"/analysis/memory/target/occupancy", "index", "well of each trajectory, -1: none"},
    {"/analysis/memory/target/transitions", "index", "well-to-well transition counts"},
    {"/analysis/memory/target/dwell_times", "time", "time spent in a well before leaving"},
    {"/analysis/memory/target/cue_pattern", "index", "pattern each cue pointed at"},
    {"/analysis/memory/target/recall_per_cue", "1", "share in the cued well after each cue"},
    {"/analysis/memory/landscape", "none", "the wells' landscape and the cues"},
    {"/analysis/memory/landscape/axis0", "z", "grid coordinates of the first variable"},
    {"/analysis/memory/landscape/axis1", "z", "grid coordinates of the second variable"},
    {"/analysis/memory/landscape/potential", "z^2/time", "landscape V on the grid (G1,G0)"},
    {"/analysis/memory/landscape/patterns", "z", "centre of each well (pattern)"},
    {"/analysis/memory/landscape/cue_u", "z/time", "input vector u of each cue"},
    {"/analysis/memory/landscape/cue_window", "time", "start and end time of each cue"},
    {"/analysis/stationary_time_used", "1",
     "1 at each recorded time the stationary statistics use (after the burn-in, outside cues)"},
    {"/analysis/fixed_points", "none", "fixed points of both noise-free latent flows, matched"},
    {"/analysis/fixed_points/scale", "z", "latent scale s of each variable (unit of distances)"},
    {"/analysis/fixed_points/box_lo", "z", "lower corner of the box of Newton seeds"},
    {"/analysis/fixed_points/box_hi", "z", "upper corner of the box of Newton seeds"},
    {"/analysis/fixed_points/rnn", "none", "fixed points of the network's flow"},
    {"/analysis/fixed_points/target", "none", "fixed points of the target's flow"},
    {"/analysis/fixed_points/*/points", "z", "location of each fixed point"},
    {"/analysis/fixed_points/*/eigenvalues_real", "1/time",
     "real parts of the Jacobian's eigenvalues"},
    {"/analysis/fixed_points/*/eigenvalues_imag", "1/time", "imaginary parts of the eigenvalues"},
    {"/analysis/fixed_points/*/type", "index", "stability type (attribute type_codes)"},
    {"/analysis/fixed_points/*/match", "index", "matched point of the other set, -1: none"},
    {"/analysis/fixed_points/*/nearest", "index", "nearest point of the other set, any type"},
    {"/analysis/fixed_points/*/distance", "1", "distance to that nearest point, in scales s"},
    {"/analysis/fixed_points/*/ends_near", "index", "trajectory ends within 0.5 scales of it"},
    {"/analysis/fixed_points/*/residual", "1/time",
     "largest abs(f_c)/s_c over the variables c at the point"},
};

/* `path` against `pattern`; "*" matches any run of characters within one component. */
static int matches(const char *pattern, const char *path) {
    if (*pattern == '*') {
        for (const char *rest = path;; rest++) {
            if (matches(pattern + 1, rest)) return 1;
            if (!*rest || *rest == '/') return 0;
        }
    }
    if (!*pattern) return !*path;
    return *pattern == *path && matches(pattern + 1, path + 1);
}

const char *h5schema_description(const char *path, const char **units) {
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++)
        if (matches(schema[i].path, path)) {
            if (units) *units = schema[i].units;
            return schema[i].description;
        }
    return NULL;
}

static int describe(hid_t object, const char *path, struct ddm_error *err) {
    const char *units = NULL, *description = h5schema_description(path, &units);
    if (!description || H5Aexists(object, "description") > 0) return DDM_OK;
    int code = h5_attr_string(object, "description", description, err);
    if (!code) code = h5_attr_string(object, "units", units, err);
    return code;
}

struct visit {
    struct ddm_error *err;
    int code;
};

static herr_t visit_object(hid_t root, const char *name, const H5O_info_t *info, void *data) {
    struct visit *visit = data;
    if (info->type != H5O_TYPE_GROUP && info->type != H5O_TYPE_DATASET) return 0;
    char path[512]; /* H5Ovisit names the root "." and the rest relative to it */
    snprintf(path, sizeof path, "/%s", strcmp(name, ".") ? name : "");
    hid_t object = H5Oopen(root, name, H5P_DEFAULT);
    if (object < 0) return 0;
    visit->code = describe(object, path, visit->err);
    H5Oclose(object);
    return visit->code ? 1 : 0;
}

int h5schema_describe_file(hid_t file, struct ddm_error *err) {
    struct visit visit = {err, DDM_OK};
    herr_t status = H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_object, &visit);
    if (visit.code) return visit.code;
    return H5_CHECK(status, "describing the file's objects", err);
}

/* The scales of each axis of the /simulate datasets, by name (NULL: none). */
static const struct {
    const char *dataset;
    const char *axes[3];
} simulate_axes[] = {
    {"latent", {"trajectory", "t", "variable"}},
    {"target_latent", {"trajectory", "t", "variable"}},
    {"traces", {"trace_trajectory", "t", "trace_neurons"}},
    {"input", {"t", "variable", NULL}},
    {"nonfinite_step", {"trajectory", NULL, NULL}},
};

static const char *const scale_names[] = {"trajectory", "t", "variable", "trace_trajectory",
                                          "trace_neurons"};

static int exists(hid_t group, const char *name) {
    return H5Lexists(group, name, H5P_DEFAULT) > 0;
}

/* An index dataset first, first+1, ..., first+count-1 (the global trajectory numbers). */
static int write_index(hid_t group, const char *name, long first, long count,
                       struct ddm_error *err) {
    if (exists(group, name)) return DDM_OK;
    long long *index = ddm_alloc(sizeof *index * (size_t)(count ? count : 1), name, err);
    if (!index) return DDM_ERUNTIME;
    for (long i = 0; i < count; i++) index[i] = first + i;
    hsize_t dims = (hsize_t)count;
    int code = h5_write(group, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, &dims, index, "(B)", err);
    free(index);
    return code;
}

int h5schema_write_names(hid_t group, const char *name, const char *const *names, int count,
                         struct ddm_error *err) {
    if (exists(group, name)) return DDM_OK;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hsize_t dims = (hsize_t)count;
    int code = h5_write(group, name, type, type, 1, &dims, names, "(k)", err);
    H5Tclose(type);
    return code;
}

int h5schema_simulate_scales(hid_t group, const struct h5schema_simulate *sim,
                             struct ddm_error *err) {
    int code = write_index(group, "trajectory", sim->first_trajectory, sim->trajectories, err);
    if (!code)
        code = write_index(group, "trace_trajectory", sim->first_trajectory, sim->traced, err);
    if (!code) code = h5schema_write_names(group, "variable", sim->names, sim->k, err);
    hid_t scales[5];
    for (int s = 0; s < 5; s++) {
        scales[s] = code ? -1 : H5Dopen2(group, scale_names[s], H5P_DEFAULT);
        if (!code) code = H5_CHECK(scales[s], scale_names[s], err);
        if (!code && H5DSis_scale(scales[s]) <= 0)
            code = H5_CHECK(H5DSset_scale(scales[s], scale_names[s]), scale_names[s], err);
    }
    for (size_t d = 0; d < sizeof simulate_axes / sizeof simulate_axes[0] && !code; d++) {
        if (!exists(group, simulate_axes[d].dataset)) continue;
        hid_t dataset = H5Dopen2(group, simulate_axes[d].dataset, H5P_DEFAULT);
        code = H5_CHECK(dataset, simulate_axes[d].dataset, err);
        for (unsigned axis = 0; axis < 3 && !code && simulate_axes[d].axes[axis]; axis++) {
            int s = 0;
            while (strcmp(scale_names[s], simulate_axes[d].axes[axis])) s++;
            if (H5DSis_attached(dataset, scales[s], axis) <= 0)
                code = H5_CHECK(H5DSattach_scale(dataset, scales[s], axis),
                                simulate_axes[d].dataset, err);
        }
        if (dataset >= 0) H5Dclose(dataset);
    }
    for (int s = 0; s < 5; s++)
        if (scales[s] >= 0) H5Dclose(scales[s]);
    return code;
}

/* The k names of /system/variables into names[] (strings HDF5 allocated: free with
 * H5free_memory); 0 when the file has none (made before the names were written). */
static int read_names(hid_t file, char **names, int max) {
    if (H5Lexists(file, "/system/variables", H5P_DEFAULT) <= 0) return 0;
    hid_t dataset = H5Dopen2(file, "/system/variables", H5P_DEFAULT);
    hid_t space = dataset >= 0 ? H5Dget_space(dataset) : -1;
    hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : 0;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    if (count <= 0 || count > max ||
        H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) < 0)
        count = 0;
    H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (dataset >= 0) H5Dclose(dataset);
    H5Eclear2(H5E_DEFAULT);
    return (int)count;
}

int h5schema_merged_scales(hid_t file, long trajectories, const long long *traced, long count,
                           struct ddm_error *err) {
    char *names[DDM_MAX_K] = {0};
    const int k = read_names(file, names, DDM_MAX_K);
    hid_t group = H5Gopen2(file, "simulate", H5P_DEFAULT);
    int code = H5_CHECK(group, "/simulate", err);
    /* the copied trace_neurons still lists the shard's datasets as its users */
    if (!code && k && H5Aexists_by_name(group, "trace_neurons", "REFERENCE_LIST", H5P_DEFAULT) > 0)
        code = H5_CHECK(H5Adelete_by_name(group, "trace_neurons", "REFERENCE_LIST", H5P_DEFAULT),
                        "/simulate/trace_neurons", err);
    hsize_t dims = (hsize_t)count;
    if (!code && k)
        code = h5_write(group, "trace_trajectory", H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, &dims,
                        traced, "(Bt)", err);
    struct h5schema_simulate sim = {.first_trajectory = 0,
                                    .trajectories = trajectories,
                                    .traced = count,
                                    .k = k,
                                    .names = (const char *const *)names};
    if (!code && k) code = h5schema_simulate_scales(group, &sim, err);
    if (group >= 0) H5Gclose(group);
    for (int c = 0; c < k; c++) H5free_memory(names[c]);
    if (!code) code = h5schema_describe_file(file, err);
    return code;
}
