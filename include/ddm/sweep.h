/* sweep.h — [sweep]: many configurations from one INI file, one per SLURM array task.
 *
 *   [sweep]
 *   mode = grid                        ; grid (every combination) or zip (the i-th of each list)
 *   network.neurons = 64, 128, 256
 *   system.params = mu=1, s=0.5 | mu=2, s=0.5     ; '|' separates when a value holds a ','
 *
 * Point `index` (--array-index, or $SLURM_ARRAY_TASK_ID) is applied on top of the file and
 * before --set. In grid mode the last key varies fastest. Every key and value is checked against
 * the key table when the sweep is read, with the file and line of its entry.
 */
#ifndef DDM_SWEEP_H
#define DDM_SWEEP_H

#include <stddef.h>

#include "ddm/config.h"

#define SWEEP_MAX_KEYS   16
#define SWEEP_MAX_POINTS 1000000

enum sweep_mode { SWEEP_GRID, SWEEP_ZIP };

struct ddm_sweep_key {
    char section[64], key[64];
    char **values; /* (count) as written, trimmed */
    int count;
    int line;
};

struct ddm_sweep {
    int mode;  /* enum sweep_mode */
    int nkeys; /* 0: the configuration has no [sweep] */
    struct ddm_sweep_key keys[SWEEP_MAX_KEYS];
    long points; /* number of combinations (1 without a sweep) */
};

/* Reads the [sweep] entries of a loaded configuration; every value is checked. */
int sweep_parse(const struct ddm_config *cfg, struct ddm_sweep *sweep, struct ddm_error *err);
void sweep_free(struct ddm_sweep *sweep);

/* The sweep point of this run: --array-index when given (array_index >= 0), else
 * $SLURM_ARRAY_TASK_ID unless `ignore_slurm` (a shard job's task id is its shard); a sweep
 * without either, an index out of range, or an index without a sweep is an error. *index is -1
 * when the configuration has no sweep. */
int sweep_select(const struct ddm_sweep *sweep, const char *config_path, long array_index,
                 int ignore_slurm, long *index, struct ddm_error *err);

/* Applies point `index` to the configuration (each key's line becomes its [sweep] line). */
int sweep_apply(const struct ddm_sweep *sweep, long index, struct ddm_config *cfg,
                struct ddm_error *err);

/* "network.neurons=128, train.lr=1e-3": the assignment of point `index`. */
void sweep_assignment(const struct ddm_sweep *sweep, long index, char *buf, size_t len);

/* Which of many runs an output path is for: its sweep point (index -1: none) and its shard
 * (shard_count 0: none). */
struct output_place {
    const struct ddm_sweep *sweep; /* or NULL */
    long index;
    int shard_index, shard_count;
};

/* [output] path with its placeholders filled: {name} the system name, {index} the sweep point,
 * {shard} the shard index, {section.key} (or {key} when the name is unique) the value of any key.
 * A path from the INI file must tell apart the sweep points and the shards of a run (it must
 * hold {index} or a swept key, and {shard}), or several tasks would write one file; an --output
 * given to one task is taken as it is. */
int output_path_fill(const struct ddm_config *cfg, const char *system_name,
                     const struct output_place *place, char *buf, size_t len,
                     struct ddm_error *err);

#endif
