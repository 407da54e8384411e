/* sweep.c — [sweep]: the value lists, the point of an array task, and the output path template.
 *
 * The loader keeps the [sweep] entries as written (config.c); here they become lists, checked
 * value by value against the key table through config_assign on a scratch configuration, so a
 * typo in the 40th value is found at start-up with its file and line, not by the 40th task.
 */
#include "ddm/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/expr.h"

void sweep_free(struct ddm_sweep *sweep) {
    for (int i = 0; i < sweep->nkeys; i++) free(sweep->keys[i].values);
    memset(sweep, 0, sizeof *sweep);
    sweep->points = 1;
}

/* "mode = grid|zip" */
static int parse_mode(const struct ddm_sweep_entry *entry, const char *label, int *mode,
                      struct ddm_error *err) {
    char value[64];
    snprintf(value, sizeof value, "%s", entry->text);
    if (!strcmp(value, "grid") || !strcmp(value, "zip")) {
        *mode = !strcmp(value, "zip") ? SWEEP_ZIP : SWEEP_GRID;
        return DDM_OK;
    }
    return ddm_fail(err, DDM_EUSAGE, "%s:%d: [sweep] mode = '%s' is not valid (valid: grid/zip)",
                    label, entry->line, entry->text);
}

/* Splits one entry into its values: at '|' when the list has one, else at ',' (never inside
 * parentheses); each value must set the key (checked on `scratch`). The pointers and the text
 * they point into share one allocation, out->values (freed by sweep_free). */
static int parse_list(const struct ddm_sweep_entry *entry, const char *label,
                      struct ddm_config *scratch, struct ddm_sweep_key *out,
                      struct ddm_error *err) {
    char where[1200];
    snprintf(where, sizeof where, "%s:%d: [sweep]", label, entry->line);
    const char *dot = strchr(entry->name, '.');
    if (!dot || dot == entry->name || !dot[1] ||
        (size_t)(dot - entry->name) >= sizeof out->section || strlen(dot + 1) >= sizeof out->key)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s '%s' should be 'section.key = v1, v2, ...' (e.g. network.neurons = "
                        "64, 128) or 'mode = grid|zip'",
                        where, entry->name);
    snprintf(out->section, sizeof out->section, "%.*s", (int)(dot - entry->name), entry->name);
    snprintf(out->key, sizeof out->key, "%s", dot + 1);
    out->line = entry->line;
    const char separator = strchr(entry->text, '|') ? '|' : ',';
    int max_parts = 1;
    for (const char *c = entry->text; *c; c++) max_parts += *c == separator;
    size_t text_len = strlen(entry->text) + 1;
    /* one block: the part pointers, then the text they point into */
    char **values = malloc(sizeof(char *) * (size_t)max_parts + text_len + (size_t)max_parts);
    if (!values) return ddm_fail(err, DDM_ERUNTIME, "out of memory reading [sweep]");
    char *storage = (char *)(values + max_parts);
    int count = expr_split(entry->text, separator, values, max_parts, storage,
                           (int)(text_len + (size_t)max_parts));
    out->values = values;
    out->count = count > 0 ? count : 0;
    if (count < 1 || (count == 1 && !values[0][0]))
        return ddm_fail(err, DDM_EUSAGE, "%s %s: no values (write %s = v1, v2, ...)", where,
                        entry->name, entry->name);
    for (int v = 0; v < count; v++) {
        char at[1300];
        snprintf(at, sizeof at, "%s %s value %d", where, entry->name, v + 1);
        if (!values[v][0])
            return ddm_fail(err, DDM_EUSAGE, "%s is empty (values are separated by '%c'%s)", at,
                            separator, separator == '|' ? " because the list has a '|'" : "");
        int code = config_assign(scratch, out->section, out->key, values[v], at, entry->line, err);
        if (code) return code;
    }
    return DDM_OK;
}

int sweep_parse(const struct ddm_config *cfg, struct ddm_sweep *sweep, struct ddm_error *err) {
    memset(sweep, 0, sizeof *sweep);
    sweep->points = 1;
    if (!cfg->sweep_count) return DDM_OK;
    const char *label = cfg->source_path ? cfg->source_path : "config";
    struct ddm_config scratch;
    int code = config_defaults(&scratch, err);
    /* "system.P = ..." is one parameter of params: the scratch needs the system's to check it */
    if (!code) code = config_assign(&scratch, "system", "drift", cfg->drift, label, 0, err);
    if (!code) code = config_assign(&scratch, "system", "params", cfg->params, label, 0, err);
    int mode_line = 0;
    for (int i = 0; i < cfg->sweep_count && !code; i++) {
        const struct ddm_sweep_entry *entry = &cfg->sweep[i];
        if (!strcmp(entry->name, "mode")) {
            code = parse_mode(entry, label, &sweep->mode, err);
            mode_line = entry->line;
            continue;
        }
        if (sweep->nkeys == SWEEP_MAX_KEYS) {
            code = ddm_fail(err, DDM_EUSAGE, "%s:%d: [sweep] has more than %d keys", label,
                            entry->line, SWEEP_MAX_KEYS);
            break;
        }
        code = parse_list(entry, label, &scratch, &sweep->keys[sweep->nkeys++], err);
    }
    config_free(&scratch);
    if (!code && !sweep->nkeys)
        code = ddm_fail(err, DDM_EUSAGE,
                        "%s:%d: [sweep] lists no keys (add e.g. network.neurons = 64, 128)", label,
                        mode_line);
    for (int i = 0; i < sweep->nkeys && !code; i++) {
        const struct ddm_sweep_key *key = &sweep->keys[i];
        if (sweep->mode == SWEEP_ZIP && key->count != sweep->keys[0].count)
            code = ddm_fail(err, DDM_EUSAGE,
                            "%s:%d: [sweep] %s.%s has %d values but %s.%s (line %d) has %d; "
                            "mode = zip pairs the i-th values, so the lists need one length",
                            label, key->line, key->section, key->key, key->count,
                            sweep->keys[0].section, sweep->keys[0].key, sweep->keys[0].line,
                            sweep->keys[0].count);
        for (int j = 0; j < i && !code; j++)
            if (!strcmp(key->section, sweep->keys[j].section) &&
                !strcmp(key->key, sweep->keys[j].key))
                code = ddm_fail(err, DDM_EUSAGE, "%s:%d: [sweep] %s.%s is given more than once",
                                label, key->line, key->section, key->key);
    }
    if (!code) {
        long points = sweep->mode == SWEEP_ZIP ? sweep->keys[0].count : 1;
        for (int i = 0; i < sweep->nkeys && sweep->mode == SWEEP_GRID; i++) {
            points *= sweep->keys[i].count;
            if (points > SWEEP_MAX_POINTS) break;
        }
        if (points > SWEEP_MAX_POINTS)
            code = ddm_fail(err, DDM_EUSAGE, "%s: [sweep] has more than %d points", label,
                            SWEEP_MAX_POINTS);
        sweep->points = points;
    }
    if (code) sweep_free(sweep);
    return code;
}

/* The value index of key `which` at point `index`: grid — the last key varies fastest. */
static int value_index(const struct ddm_sweep *sweep, long index, int which) {
    if (sweep->mode == SWEEP_ZIP) return (int)index;
    for (int i = sweep->nkeys - 1; i > which; i--) index /= sweep->keys[i].count;
    return (int)(index % sweep->keys[which].count);
}

int sweep_select(const struct ddm_sweep *sweep, const char *config_path, long array_index,
                 int ignore_slurm, long *index, struct ddm_error *err) {
    *index = -1;
    const char *task = ignore_slurm ? NULL : getenv("SLURM_ARRAY_TASK_ID");
    if (!sweep->nkeys) {
        if (array_index >= 0)
            return ddm_fail(err, DDM_EUSAGE,
                            "--array-index %ld: %s has no [sweep] section to choose from",
                            array_index, config_path);
        return DDM_OK;
    }
    char source[96];
    long chosen = array_index;
    if (array_index >= 0) {
        snprintf(source, sizeof source, "--array-index %ld", array_index);
    } else if (task && *task) {
        char *end;
        errno = 0;
        chosen = strtol(task, &end, 10);
        if (*end || errno || chosen < 0)
            return ddm_fail(err, DDM_EUSAGE, "SLURM_ARRAY_TASK_ID = '%s' is not an index", task);
        snprintf(source, sizeof source, "SLURM_ARRAY_TASK_ID = %ld", chosen);
    } else {
        return ddm_fail(err, DDM_EUSAGE,
                        "%s has a [sweep] of %ld points: choose one with --array-index 0..%ld "
                        "(or run it as a SLURM array job, --array=0-%ld), or list them with "
                        "--list-sweep",
                        config_path, sweep->points, sweep->points - 1, sweep->points - 1);
    }
    if (chosen >= sweep->points)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s is out of range: the [sweep] of %s has %ld points (0..%ld; see "
                        "--list-sweep)",
                        source, config_path, sweep->points, sweep->points - 1);
    *index = chosen;
    return DDM_OK;
}

int sweep_apply(const struct ddm_sweep *sweep, long index, struct ddm_config *cfg,
                struct ddm_error *err) {
    for (int i = 0; i < sweep->nkeys; i++) {
        const struct ddm_sweep_key *key = &sweep->keys[i];
        int v = value_index(sweep, index, i);
        char where[1300];
        snprintf(where, sizeof where, "%s:%d: [sweep] %s.%s value %d",
                 cfg->source_path ? cfg->source_path : "config", key->line, key->section, key->key,
                 v + 1);
        int code =
            config_assign(cfg, key->section, key->key, key->values[v], where, key->line, err);
        if (code) return code;
    }
    return DDM_OK;
}

void sweep_assignment(const struct ddm_sweep *sweep, long index, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < sweep->nkeys && used < len; i++) {
        const struct ddm_sweep_key *key = &sweep->keys[i];
        int written = snprintf(buf + used, len - used, "%s%s.%s=%s", i ? ", " : "", key->section,
                               key->key, key->values[value_index(sweep, index, i)]);
        used += written > 0 ? (size_t)written : 0;
    }
}

/* Appends text to a path, keeping only characters that are safe in a file name. */
static void append_safe(char *buf, size_t len, size_t *used, const char *text) {
    for (; *text && *used + 1 < len; text++) {
        unsigned char c = (unsigned char)*text;
        buf[(*used)++] = isalnum(c) || strchr("._+-=", c) ? (char)c : '_';
    }
    buf[*used] = 0;
}

static int is_swept(const struct ddm_sweep *sweep, const char *section, const char *key) {
    for (int i = 0; sweep && i < sweep->nkeys; i++)
        if (!strcmp(sweep->keys[i].section, section) && !strcmp(sweep->keys[i].key, key)) return 1;
    return 0;
}

int output_path_fill(const struct ddm_config *cfg, const char *system_name,
                     const struct output_place *place, char *buf, size_t len,
                     struct ddm_error *err) {
    const char *template = cfg->output_path;
    const struct ddm_sweep *sweep = place->sweep && place->sweep->nkeys ? place->sweep : NULL;
    char at[1200];
    config_where(cfg, "output", "path", at, sizeof at);
    size_t used = 0;
    int names_point = 0, names_shard = 0; /* the path tells the sweep points, the shards apart */
    buf[0] = 0;
    for (const char *c = template; *c && used + 1 < len;) {
        const char *close = *c == '{' ? strchr(c, '}') : NULL;
        if (!close) {
            buf[used++] = *c++;
            buf[used] = 0;
            continue;
        }
        char name[160], section_name[64], value[8192];
        snprintf(name, sizeof name, "%.*s", (int)(close - c - 1), c + 1);
        c = close + 1;
        if (!strcmp(name, "name")) {
            snprintf(buf + used, len - used, "%s", system_name);
            used = strlen(buf);
            continue;
        }
        if (!strcmp(name, "index") || !strcmp(name, "shard")) {
            const int shard = name[0] == 's';
            if (shard ? !place->shard_count : !sweep)
                return ddm_fail(err, DDM_EUSAGE, "%s = '%s': {%s} needs %s", at, template, name,
                                shard ? "--shard i/N (it is the shard index)"
                                      : "a [sweep] section (it is the sweep point)");
            snprintf(buf + used, len - used, "%ld",
                     shard ? (long)place->shard_index : place->index);
            used = strlen(buf);
            names_point |= !shard, names_shard |= shard;
            continue;
        }
        const char *dot = strchr(name, '.'), *section = NULL, *key = name;
        if (dot) {
            snprintf(section_name, sizeof section_name, "%.*s", (int)(dot - name), name);
            section = section_name;
            key = dot + 1;
        } else if (config_key_section(name, &section) != 1) {
            section = NULL;
        }
        if (!section || config_value_text(cfg, section, key, value, sizeof value))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s = '%s': unknown placeholder {%s} (valid: {name}, {index}, {shard}, "
                            "and {section.key} of any key, e.g. {network.neurons})",
                            at, template, name);
        append_safe(buf, len, &used, value);
        names_point |= is_swept(sweep, section, key);
    }
    /* a path from the command line (--output, --set) is one task's own choice */
    if (config_line(cfg, "output", "path") < 0) return DDM_OK;
    if (sweep && sweep->points > 1 && !names_point)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = '%s' is the same for all %ld sweep points: put {index} (or a swept "
                        "key, e.g. {%s.%s}) in it",
                        at, template, sweep->points, sweep->keys[0].section, sweep->keys[0].key);
    if (place->shard_count > 1 && !names_shard)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = '%s' is the same for all %d shards: put {shard} in it, or give each "
                        "shard its --output",
                        at, template, place->shard_count);
    return DDM_OK;
}
