/* merge.h — `ddm_gpu merge OUT.h5 SHARD.h5...`: one file over the shards of an ensemble.
 *
 * OUT.h5 gets /system, /model and /train copied from the first shard and /simulate/{t, latent,
 * target_latent, traces[, input]} as HDF5 virtual datasets that map each shard's rows (nothing
 * is copied), so h5py, MATLAB or `--stages analyze --model OUT.h5` read one (B,T,k) array. The
 * shards must agree (configuration apart from [output] and [run], model, T, k), be complete, and
 * cover shard indices 0..N-1 exactly once; otherwise nothing is written and one line says why.
 */
#ifndef DDM_MERGE_H
#define DDM_MERGE_H

#include "ddm/error.h"

/* argv[0] is "merge"; prints a one-line summary unless --quiet. */
int merge_command(int argc, char **argv, struct ddm_error *err);

/* For a file written by merge: every shard it maps must be where the virtual datasets look for it
 * (next to the file, by the stored relative names). HDF5 would read a missing one as fill values
 * (NaN) without an error; this says which is missing instead. Other files pass. */
int merge_check_sources(const char *path, struct ddm_error *err);

#endif
