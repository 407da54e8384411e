/* h5schema.h — the self-description of a run file: a `description` and `units` attribute on every
 * group and dataset (from one table, host/h5schema.c, which docs/output.md mirrors), and the HDF5
 * dimension scales of /simulate, so netCDF tools (xarray, ncdump) see named dimensions.
 */
#ifndef DDM_H5SCHEMA_H
#define DDM_H5SCHEMA_H

#include <hdf5.h>

#include "ddm/error.h"

/* The description of the object at absolute `path` ("/simulate/latent"), and its units in
 * *units; NULL when the table has no entry. */
const char *h5schema_description(const char *path, const char **units);

/* Writes `description` and `units` on every group and dataset of `file` the table knows that has
 * none yet. Objects cannot get new attributes in SWMR mode: called before it starts and again
 * when the file is closed. */
int h5schema_describe_file(hid_t file, struct ddm_error *err);

/* A string array dataset `name` (k) of `names` (nothing when it exists). */
int h5schema_write_names(hid_t group, const char *name, const char *const *names, int count,
                         struct ddm_error *err);

struct h5schema_simulate {
    long first_trajectory; /* global index of the group's first trajectory */
    long trajectories;     /* B */
    long traced;           /* Bt: traced trajectories, the global first_trajectory + 0..Bt-1 */
    int k;
    const char *const *names; /* the k latent variable names */
};

/* Writes the scales /simulate/trajectory, trace_trajectory and variable (when missing), makes
 * them and t, trace_neurons dimension scales, and attaches them to each axis of latent,
 * target_latent, traces, input and nonfinite_step (those present; again-safe). */
int h5schema_simulate_scales(hid_t group, const struct h5schema_simulate *sim,
                             struct ddm_error *err);

/* A merged file (ddm_gpu merge): the scales of its /simulate (global trajectories 0..B-1, the
 * traced rows' global indices `traced` (count), the names of /system/variables; nothing when the
 * shards predate the names), and the description of every object. */
int h5schema_merged_scales(hid_t file, long trajectories, const long long *traced, long count,
                           struct ddm_error *err);

#endif
