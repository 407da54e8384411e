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
    {"/" H5N_SYSTEM, "none", "the SDE the network is trained to carry (attributes: drift, params)"},
    {"/" H5N_SYSTEM "/" H5N_VARIABLES, "none", "names of the k latent variables, in order"},
    {"/" H5N_SYSTEM "/" H5N_PARAMS, "none",
     "the [system] params, one attribute each (name = value)"},
    {"/" H5N_MODEL, "none",
     "the trained low-rank tanh network, tau dx = (-x + Gamma tanh(x) ...) dt"},
    {"/" H5N_MODEL "/" H5N_GAMMA, "1", "embedding Gamma (n,k): latent directions in neuron space"},
    {"/" H5N_MODEL "/" H5N_WS, "1", "read-in weights W_s (k,n) of the drift term"},
    {"/" H5N_MODEL "/" H5N_B, "x", "neuron biases b (n)"},
    {"/" H5N_MODEL "/" H5N_S, "1/time^0.5",
     "constant diffusion factor S (k,m) in normalised latent units"},
    {"/" H5N_MODEL "/" H5N_V, "1", "state-dependent diffusion read-in V (k*m,n)"},
    {"/" H5N_MODEL "/" H5N_C, "1", "state-dependent diffusion offsets c (k*m)"},
    {"/" H5N_MODEL "/" H5N_LATENT_MEAN, "z", "mean used to normalise each latent variable"},
    {"/" H5N_MODEL "/" H5N_LATENT_SCALE, "z", "scale used to normalise each latent variable"},
    {"/" H5N_TRAIN, "none", "training of the drift (and diffusion) fit"},
    {"/" H5N_TRAIN "/" H5N_LOSS, "1", "training loss per epoch, in normalised units"},
    {"/" H5N_SIMULATE, "none", "the network's and the coupled target's latent paths, streamed"},
    {"/" H5N_SIMULATE "/" H5N_T, "time", "recorded times (dimension scale of axis T)"},
    {"/" H5N_SIMULATE "/" H5N_TRAJECTORY, "index",
     "global index of each trajectory (dimension scale of B)"},
    {"/" H5N_SIMULATE "/" H5N_VARIABLE, "none",
     "latent variable names (dimension scale of axis k)"},
    {"/" H5N_SIMULATE "/" H5N_TRACE_TRAJECTORY, "index",
     "global index of each traced trajectory (dimension scale of Bt)"},
    {"/" H5N_SIMULATE "/" H5N_TRACE_NEURONS, "index",
     "index of each traced neuron (dimension scale of nt)"},
    {"/" H5N_SIMULATE "/" H5N_LATENT, "z",
     "network read-out z of each trajectory at each recorded time"},
    {"/" H5N_SIMULATE "/" H5N_TARGET_LATENT, "z",
     "coupled target SDE (same noise) at each recorded time"},
    {"/" H5N_SIMULATE "/" H5N_TRACES, "x",
     "neuron states x of the traced neurons of the traced trajectories"},
    {"/" H5N_SIMULATE "/" H5N_INPUT, "z/time",
     "cue input added to the drift at each recorded time"},
    {"/" H5N_SIMULATE "/" H5N_NONFINITE_STEP, "index",
     "global step at which each network trajectory blew up, -1: never"},
    {"/" H5N_CHECKPOINT, "none",
     "state of a stopped run, read by --resume (removed when complete)"},
    {"/" H5N_CHECKPOINT "/" H5N_PARAMS, "1", "training parameters at the stop"},
    {"/" H5N_CHECKPOINT "/" H5N_M1, "1", "Adam first moments at the stop"},
    {"/" H5N_CHECKPOINT "/" H5N_M2, "1", "Adam second moments at the stop"},
    {"/" H5N_CHECKPOINT "/" H5N_LOSS, "1", "training loss of the epochs done"},
    {"/" H5N_CHECKPOINT "/" H5N_X, "x", "neuron states of every trajectory at the stop"},
    {"/" H5N_CHECKPOINT "/" H5N_TARGET_Z, "z",
     "target latent state of every trajectory at the stop"},
    {"/" H5N_CHECKPOINT "/" H5N_TARGET_DEAD, "1", "1 where the target trajectory blew up"},
    {"/" H5N_CHECKPOINT "/" H5N_NONFINITE_STEP, "index",
     "blow-up step of each network trajectory, -1: never"},
    {"/" H5N_CHECKPOINT "/" H5N_MOMENTS, "z", "running sums of the latent moments"},
    {"/" H5N_CHECKPOINT "/" H5N_MOMENT_COUNTS, "index", "counts behind the running moments"},
    {"/" H5N_ANALYSIS, "none", "the analyze stage (attribute config: the analysis configuration)"},
    {"/" H5N_ANALYSIS "/" H5N_PCA, "none", "PCA of the neuron-space states (the paper's Fig 4)"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_EXPLAINED_VARIANCE, "1",
     "share of the variance of each component"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_PRINCIPAL_ANGLES_DEG, "degree",
     "principal angles of the PCs to range Gamma"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_MAP_A, "1",
     "affine map A from the top k PCs to the normalised latent"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_MAP_C, "1", "offset c of that affine map"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_PC_COORDINATES, "x",
     "states in the top k principal components"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_LATENT, "z", "the latent read-out at the same samples"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_RECOVERED, "z",
     "latent recovered from the PCs: mu + s (A pc + c)"},
    {"/" H5N_ANALYSIS "/" H5N_PCA "/" H5N_RECOVERY_R2_COORDINATES, "1",
     "R^2 of the recovery per latent variable"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION, "none",
     "W split into symmetric and antisymmetric parts (Fig 3)"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_AXIS0, "z",
     "grid coordinates along the first grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_AXIS1, "z",
     "grid coordinates along the second grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_AXIS2, "z",
     "grid coordinates along the third grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_AT, "z",
     "point the grid slices of a k>3 system pass through"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_ENERGY, "1",
     "Hopfield energy of the symmetric part on the grid"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_F, "z/time", "network drift f on the grid"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_F_SYM, "z/time",
     "drift of the symmetric part of W"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_F_ASYM, "z/time",
     "drift of the antisymmetric part of W"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_F_SYM_METRIC, "z/time",
     "symmetric drift projected in the manifold's metric (never climbs the energy)"},
    {"/" H5N_ANALYSIS "/" H5N_DECOMPOSITION "/" H5N_ENERGY_GRADIENT, "1/z",
     "gradient of the energy in latent z"},
    {"/" H5N_ANALYSIS "/" H5N_HHD, "none",
     "Helmholtz-Hodge split of the stationary process (Fig 3)"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/" H5N_RNN, "none", "the split of the network's process"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/" H5N_TARGET, "none", "the split of the target process"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_AXIS0,
     "z", "grid coordinates along the first grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_AXIS1,
     "z", "grid coordinates along the second grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_AXIS2,
     "z", "grid coordinates along the third grid axis"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_BANDWIDTH,
     "z", "kernel density bandwidth per latent variable"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_DENSITY,
     "1/z^d", "stationary density p on the grid"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_F_REV,
     "z/time", "reversible drift D grad log p + div D"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_F_IRR,
     "z/time", "irreversible drift J/p (probability current / p)"},
    {"/" H5N_ANALYSIS "/" H5N_HHD "/*"
     "/" H5N_SMOOTHING_VARIANCE,
     "z^2", "variance the density estimate smooths with, h^2 + grid^2/6, per variable"},
    {"/" H5N_ANALYSIS "/" H5N_STATS, "none",
     "stationary statistics after the burn-in, network and target"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/" H5N_EDGES, "z", "histogram bin edges per latent variable"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/" H5N_WASSERSTEIN, "z",
     "Wasserstein-1 distance network-target per variable"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/" H5N_RNN, "none", "statistics of the network's read-out"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/" H5N_TARGET, "none", "statistics of the coupled target"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/" H5N_WASSERSTEIN_IN_TARGET_STD, "1",
     "Wasserstein-1 distance per variable, in units of the target's std"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/*"
     "/" H5N_MEAN,
     "z", "stationary mean"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/*"
     "/" H5N_COVARIANCE,
     "z^2", "stationary covariance"},
    {"/" H5N_ANALYSIS "/" H5N_STATS "/*"
     "/" H5N_MARGINAL,
     "1/z", "marginal density per variable on the bins"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV, "none", "Lyapunov spectra of the noise-free latent flows"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_RNN, "1/time", "network spectrum, mean over starts"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_RNN_ERROR, "1/time",
     "standard error of the network spectrum"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_RNN_STARTS, "1/time",
     "network spectrum of each start"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_TARGET, "1/time",
     "target spectrum, mean over starts"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_TARGET_ERROR, "1/time",
     "standard error of the target spectrum"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_TARGET_STARTS, "1/time",
     "target spectrum of each start"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/" H5N_STARTS, "z",
     "latent start of each Lyapunov run (on the target path)"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/"
     "*_end",
     "z", "latent state at the end of each start's run"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/"
     "*_end_distance",
     "1", "distance of each end from the target's path, in units of its std"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/"
     "*_attractor",
     "index", "attractor each start ended on (attribute legend)"},
    {"/" H5N_ANALYSIS "/" H5N_LYAPUNOV "/"
     "*_kept",
     "1", "1: the start entered the mean; 0: it ended elsewhere"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY, "none", "wells systems: which well each path is in (Fig 5)"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_OCCUPANCY, "index",
     "well of each trajectory at each time, -1: none"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TRANSITIONS, "index",
     "well-to-well transition counts (from, to)"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_DWELL_TIMES, "time",
     "time spent in a well before leaving"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_CUE_PATTERN, "index", "pattern each cue pointed at"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_RECALL_PER_CUE, "1",
     "share of trajectories in the cued well after it"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET, "none", "the same for the coupled target"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET "/" H5N_OCCUPANCY, "index",
     "well of each trajectory, -1: none"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET "/" H5N_TRANSITIONS, "index",
     "well-to-well transition counts"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET "/" H5N_DWELL_TIMES, "time",
     "time spent in a well before leaving"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET "/" H5N_CUE_PATTERN, "index",
     "pattern each cue pointed at"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_TARGET "/" H5N_RECALL_PER_CUE, "1",
     "share in the cued well after each cue"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE, "none",
     "the wells' landscape and the cues"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_AXIS0, "z",
     "grid coordinates of the first variable"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_AXIS1, "z",
     "grid coordinates of the second variable"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_POTENTIAL, "z^2/time",
     "landscape V on the grid (G1,G0)"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_PATTERNS, "z",
     "centre of each well (pattern)"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_CUE_U, "z/time",
     "input vector u of each cue"},
    {"/" H5N_ANALYSIS "/" H5N_MEMORY "/" H5N_LANDSCAPE "/" H5N_CUE_WINDOW, "time",
     "start and end time of each cue"},
    {"/" H5N_ANALYSIS "/" H5N_STATIONARY_TIME_USED, "1",
     "1 at each recorded time the stationary statistics use (after the burn-in, outside cues)"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS, "none",
     "fixed points of both noise-free latent flows, matched"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/" H5N_SCALE, "z",
     "latent scale s of each variable (unit of distances)"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/" H5N_BOX_LO, "z",
     "lower corner of the box of Newton seeds"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/" H5N_BOX_HI, "z",
     "upper corner of the box of Newton seeds"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/" H5N_RNN, "none",
     "fixed points of the network's flow"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/" H5N_TARGET, "none",
     "fixed points of the target's flow"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_POINTS,
     "z", "location of each fixed point"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_EIGENVALUES_REAL,
     "1/time", "real parts of the Jacobian's eigenvalues"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_EIGENVALUES_IMAG,
     "1/time", "imaginary parts of the eigenvalues"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_TYPE,
     "index", "stability type (attribute type_codes)"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_MATCH,
     "index", "matched point of the other set, -1: none"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_NEAREST,
     "index", "nearest point of the other set, any type"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_DISTANCE,
     "1", "distance to that nearest point, in scales s"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_ENDS_NEAR,
     "index", "trajectory ends within 0.5 scales of it"},
    {"/" H5N_ANALYSIS "/" H5N_FIXED_POINTS "/*"
     "/" H5N_RESIDUAL,
     "1/time", "largest abs(f_c)/s_c over the variables c at the point"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON, "none",
     "the network against held-out recorded data ([system] data); scalars as attributes"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/mean_network", "z",
     "stationary mean of the network's read-out"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/mean_network_error", "z",
     "its error, std over batches of trajectories / sqrt(G)"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/mean_data", "z", "mean of the held-out data"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/mean_data_error", "z",
     "its error, std over batches of trajectories / sqrt(G)"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/covariance_network", "z^2",
     "stationary covariance of the network's read-out"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/covariance_data", "z^2",
     "covariance of the held-out data"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/data_std", "z",
     "std of the held-out data per variable (the unit of W1)"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/wasserstein_in_data_std", "1",
     "W1 network-data per variable, in units of the data's std"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/wasserstein_in_data_std_error", "1",
     "its error over batch pairs"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/wasserstein_floor_in_data_std", "1",
     "W1 between two halves of the held-out data"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/frequency", "1/time",
     "frequencies j/T_seg of the compared power spectra"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/power_network", "1",
     "smoothed power spectrum of the network per variable, sum 1"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/power_data", "1",
     "smoothed power spectrum of the held-out data per variable, sum 1"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/hellinger", "1",
     "Hellinger distance D_H of the two spectra per variable"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/sfi_diffusion_network", "z^2/time",
     "diffusion D of the network's increments"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/sfi_diffusion_data", "z^2/time",
     "diffusion D of the data's increments"},
    {"/" H5N_ANALYSIS "/" H5N_DATA_COMPARISON "/sfi_drift_data", "z/time",
     "drift inferred from the data: coefficients on the polynomial basis"},
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
    if (!description || H5Aexists(object, H5N_DESCRIPTION) > 0) return DDM_OK;
    int code = h5_attr_string(object, H5N_DESCRIPTION, description, err);
    if (!code) code = h5_attr_string(object, H5N_UNITS, units, err);
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

static const char *const scale_names[] = {H5N_TRAJECTORY, H5N_T, H5N_VARIABLE, H5N_TRACE_TRAJECTORY,
                                          H5N_TRACE_NEURONS};

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
    int code = write_index(group, H5N_TRAJECTORY, sim->first_trajectory, sim->trajectories, err);
    if (!code)
        code = write_index(group, H5N_TRACE_TRAJECTORY, sim->first_trajectory, sim->traced, err);
    if (!code) code = h5schema_write_names(group, H5N_VARIABLE, sim->names, sim->k, err);
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
    if (H5Lexists(file, "/" H5N_SYSTEM "/" H5N_VARIABLES, H5P_DEFAULT) <= 0) return 0;
    hid_t dataset = H5Dopen2(file, "/" H5N_SYSTEM "/" H5N_VARIABLES, H5P_DEFAULT);
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
    hid_t group = H5Gopen2(file, H5N_SIMULATE, H5P_DEFAULT);
    int code = H5_CHECK(group, "/" H5N_SIMULATE, err);
    /* the copied trace_neurons still lists the shard's datasets as its users */
    if (!code && k &&
        H5Aexists_by_name(group, H5N_TRACE_NEURONS, "REFERENCE_LIST", H5P_DEFAULT) > 0)
        code = H5_CHECK(H5Adelete_by_name(group, H5N_TRACE_NEURONS, "REFERENCE_LIST", H5P_DEFAULT),
                        "/" H5N_SIMULATE "/" H5N_TRACE_NEURONS, err);
    hsize_t dims = (hsize_t)count;
    if (!code && k)
        code = h5_write(group, H5N_TRACE_TRAJECTORY, H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, &dims,
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
