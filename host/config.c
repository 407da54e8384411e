/* config.c — loading the INI configuration with inih, --set overrides, and their errors.
 *
 * inih does the INI syntax; this file maps (section, key) to the table of config_keys.c, parses
 * and range-checks each value, and turns every mistake into one line naming the file and line (or
 * the --set argument), what is wrong, and what would be valid (the nearest key by edit distance).
 * Debian's inih exposes its options as variables: lines may be long, and only '#' starts an inline
 * comment, so the ';' between drift expressions is never mistaken for one.
 */
#include "ddm/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "ddm/expr.h"

static char *text_copy(const char *s) {
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy) memcpy(copy, s, len + 1);
    return copy;
}

static const struct config_key *find_key(const char *section, const char *name) {
    for (int i = 0; i < config_key_count; i++)
        if (!strcmp(config_keys[i].section, section) && !strcmp(config_keys[i].name, name))
            return &config_keys[i];
    return NULL;
}

static int find_section(const char *section) {
    for (int i = 0; i < config_section_count; i++)
        if (!strcmp(config_sections[i], section)) return i;
    return -1;
}

/* "unknown section [x] (did you mean [y]? sections: ...)" */
static int unknown_section(const char *where, const char *section, struct ddm_error *err) {
    int near = nearest_name(section, config_sections, config_section_count);
    char list[256] = "";
    for (int i = 0; i < config_section_count; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, config_sections[i]);
    }
    if (!*section)
        return ddm_fail(err, DDM_EUSAGE, "%s: key outside any section (put it under one of: %s)",
                        where, list);
    if (near >= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: unknown section [%s] (did you mean [%s]? sections: %s)", where,
                        section, config_sections[near], list);
    return ddm_fail(err, DDM_EUSAGE, "%s: unknown section [%s] (sections: %s)", where, section,
                    list);
}

static int unknown_key(const char *where, const char *section, const char *name,
                       struct ddm_error *err) {
    const char *names[64];
    int count = 0;
    char list[768] = "";
    for (int i = 0; i < config_key_count && count < 64; i++) {
        if (strcmp(config_keys[i].section, section)) continue;
        names[count++] = config_keys[i].name;
        strcat(list, count > 1 ? ", " : "");
        strcat(list, config_keys[i].name);
    }
    int near = nearest_name(name, names, count);
    if (near >= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: unknown key '%s' in [%s] (did you mean '%s'? keys: %s)", where, name,
                        section, names[near], list);
    return ddm_fail(err, DDM_EUSAGE, "%s: unknown key '%s' in [%s] (keys: %s)", where, name,
                    section, list);
}

/* Parses a number strictly: the whole (trimmed) text, finite. Integers may be written 1e5. */
static int parse_number(const char *text, double *value) {
    while (isspace((unsigned char)*text)) text++;
    if (!*text) return -1;
    char *end;
    errno = 0;
    *value = strtod(text, &end);
    while (isspace((unsigned char)*end)) end++;
    return (*end || errno == ERANGE || !isfinite(*value)) ? -1 : 0;
}

static void format_range(const struct config_key *key, char *buf, size_t len) {
    if (key->max >= 1e299)
        snprintf(buf, len, ">= %g", key->min);
    else
        snprintf(buf, len, "%g to %g", key->min, key->max);
}

/* Sets one key from its text. `where` is "file:line" or "--set ..." for messages; `append`
 * joins a continuation line of a string value. */
static int set_value(struct ddm_config *cfg, const struct config_key *key, const char *value,
                     const char *where, int append, struct ddm_error *err) {
    void *field = (char *)cfg + key->offset;
    double number = 0;
    char range[64];
    switch (key->type) {
    case KEY_STRING: {
        char **slot = field;
        const char *old = append && *slot ? *slot : "";
        size_t len = strlen(old) + strlen(value) + 2;
        char *joined = malloc(len);
        if (!joined) return ddm_fail(err, DDM_ERUNTIME, "out of memory reading the configuration");
        snprintf(joined, len, "%s%s%s", old, *old ? " " : "", value);
        free(*slot);
        *slot = joined;
        return DDM_OK;
    }
    case KEY_CHOICE: {
        char options[128], *names[16];
        int count = 0;
        snprintf(options, sizeof options, "%s", key->choices);
        for (char *tok = strtok(options, "|"); tok && count < 16; tok = strtok(NULL, "|"))
            names[count++] = tok;
        char trimmed[128];
        snprintf(trimmed, sizeof trimmed, "%s", value);
        char *t = trimmed;
        while (isspace((unsigned char)*t)) t++;
        for (char *e = t + strlen(t); e > t && isspace((unsigned char)e[-1]);) *--e = 0;
        for (int i = 0; i < count; i++)
            if (!strcmp(names[i], t)) {
                *(int *)field = i;
                return DDM_OK;
            }
        int near = nearest_name(t, (const char *const *)names, count);
        char valid[128];
        snprintf(valid, sizeof valid, "%s", key->choices);
        for (char *c = valid; *c; c++)
            if (*c == '|') *c = '/';
        if (near >= 0)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: [%s] %s = '%s' is not valid (did you mean '%s'? valid: %s)", where,
                            key->section, key->name, t, names[near], valid);
        return ddm_fail(err, DDM_EUSAGE, "%s: [%s] %s = '%s' is not valid (valid: %s)", where,
                        key->section, key->name, t, valid);
    }
    case KEY_SEED:
        if (parse_number(value, &number) || number < 0 || number != floor(number) ||
            number >= 18446744073709551616.0)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: [%s] %s = '%s' is not a valid seed (expected a whole number >= 0)",
                            where, key->section, key->name, value);
        /* plain digits go through strtoull, which keeps all 64 bits that a double would round */
        while (isspace((unsigned char)*value)) value++;
        *(uint64_t *)field = strspn(value, "0123456789") == strcspn(value, " \t\r\n")
                                 ? strtoull(value, NULL, 10)
                                 : (uint64_t)number;
        return DDM_OK;
    case KEY_INT:
    case KEY_LONG:
    case KEY_REAL:
        format_range(key, range, sizeof range);
        if (parse_number(value, &number))
            return ddm_fail(err, DDM_EUSAGE, "%s: [%s] %s = '%s' is not a number (expected %s %s)",
                            where, key->section, key->name, value,
                            key->type == KEY_REAL ? "a number" : "a whole number", range);
        if (key->type != KEY_REAL && number != floor(number))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: [%s] %s = %s is not a whole number (expected an integer %s)",
                            where, key->section, key->name, value, range);
        if (number < key->min || number > key->max)
            return ddm_fail(err, DDM_EUSAGE, "%s: [%s] %s = %g is out of range (valid: %s)", where,
                            key->section, key->name, number, range);
        if (key->type == KEY_INT) *(int *)field = (int)number;
        if (key->type == KEY_LONG) *(long *)field = (long)number;
        if (key->type == KEY_REAL) *(double *)field = number;
        return DDM_OK;
    }
    return DDM_OK;
}

/* Finds the line of `name = ...` under [section] in INI text; counts how many there are. */
static int locate_key(const char *text, const char *section, const char *name, int *occurrences) {
    int line = 0, first = 0, in_section = 0;
    *occurrences = 0;
    size_t name_len = strlen(name), section_len = strlen(section);
    for (const char *p = text; p && *p;) {
        line++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (*p == '[') {
            const char *s = p + 1;
            while (isspace((unsigned char)*s)) s++;
            in_section = !strncmp(s, section, section_len) &&
                         (s[section_len] == ']' || isspace((unsigned char)s[section_len]));
        } else if (in_section && len > name_len && !strncmp(p, name, name_len)) {
            const char *q = p + name_len;
            while (*q == ' ' || *q == '\t') q++;
            if (*q == '=' || *q == ':') {
                if (!first) first = line;
                (*occurrences)++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return first;
}

struct load_state {
    struct ddm_config *cfg;
    const char *label;
    const char *text;
    struct ddm_error *err;
    int failed;
    const struct config_key *previous; /* key of the previous handler call */
};

static int key_index(const struct config_key *key) {
    return (int)(key - config_keys);
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    struct load_state *st = user;
    if (st->failed) return 1; /* report only the first error */
    int count;
    char where[600];
    const struct config_key *key = find_key(section, name);
    int line = key ? locate_key(st->text, section, name, &count) : 0;
    snprintf(where, sizeof where, "%s:%d", st->label, line);
    int code = DDM_OK;
    if (find_section(section) < 0) {
        /* inih returns the line number; leave it out of `where` and add it below */
        code = unknown_section("", section, st->err);
    } else if (!key) {
        code = unknown_key("", section, name, st->err);
    } else {
        int continuation = st->previous == key && count == 1;
        if (st->cfg->key_lines[key_index(key)] && !continuation) {
            code = ddm_fail(st->err, DDM_EUSAGE,
                            "%s: [%s] %s is given more than once (keep one; lines starting with "
                            "white space continue the value above)",
                            where, section, name);
        } else if (continuation && key->type != KEY_STRING) {
            code = ddm_fail(st->err, DDM_EUSAGE,
                            "%s: [%s] %s: a line starting with white space continues the value "
                            "above, which makes no sense for a number; remove the indentation",
                            where, section, name);
        } else {
            code = set_value(st->cfg, key, value, where, continuation, st->err);
            st->cfg->key_lines[key_index(key)] = line ? line : 1;
        }
    }
    st->previous = key;
    if (code) {
        st->failed = 1;
        return 0; /* inih then returns the line of this entry */
    }
    return 1;
}

int config_defaults(struct ddm_config *cfg, struct ddm_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->key_lines = calloc(config_key_count, sizeof *cfg->key_lines);
    if (!cfg->key_lines) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    for (int i = 0; i < config_key_count; i++) {
        int code = set_value(cfg, &config_keys[i], config_keys[i].fallback, "default", 0, err);
        if (code) return code;
    }
    return DDM_OK;
}

int config_load_text(struct ddm_config *cfg, const char *text, const char *label,
                     struct ddm_error *err) {
    /* Debian's inih reads these at run time: long lines, and '#' only for inline comments */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = 1 << 20;
    ini_inline_comment_prefixes = "#";
    ini_allow_multiline = true;

    struct load_state st = {cfg, label, text, err, 0, NULL};
    free(cfg->source_text);
    cfg->source_text = text_copy(text);
    free(cfg->source_path);
    cfg->source_path = text_copy(label);
    if (!cfg->source_text || !cfg->source_path)
        return ddm_fail(err, DDM_ERUNTIME, "out of memory reading the configuration");
    int result = ini_parse_string(text, on_ini_entry, &st);
    if (st.failed) {
        if (err->message[0] == ':') { /* unknown section/key: add the line inih reported */
            char rest[sizeof err->message];
            snprintf(rest, sizeof rest, "%s", err->message);
            ddm_fail(err, DDM_EUSAGE, "%s:%d%s", label, result, rest);
        }
        return DDM_EUSAGE;
    }
    if (result > 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s:%d: syntax error (expected 'key = value', '[section]' or a comment "
                        "starting with ';' or '#')",
                        label, result);
    if (result < 0) return ddm_fail(err, DDM_ERUNTIME, "%s: out of memory while parsing", label);
    return DDM_OK;
}

int config_load(struct ddm_config *cfg, const char *path, struct ddm_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ddm_fail(err, DDM_EUSAGE, "cannot open config '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 4096 + 1 > cap) {
            cap = 2 * cap + 8192;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                return ddm_fail(err, DDM_ERUNTIME, "out of memory reading '%s'", path);
            }
            text = grown;
        }
        size_t got = fread(text + size, 1, 4096, f);
        size += got;
        if (got < 4096) break;
    }
    int read_error = ferror(f);
    fclose(f);
    text[size] = 0;
    if (read_error) {
        free(text);
        return ddm_fail(err, DDM_EUSAGE, "cannot read config '%s'", path);
    }
    if (strlen(text) != size) {
        free(text);
        return ddm_fail(err, DDM_EUSAGE, "config '%s' contains a NUL byte; is it a text file?",
                        path);
    }
    int code = config_load_text(cfg, text, path, err);
    free(text);
    return code;
}

int config_set(struct ddm_config *cfg, const char *assignment, struct ddm_error *err) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", assignment);
    char where[4200];
    snprintf(where, sizeof where, "--set %s", assignment);
    char *eq = strchr(buf, '=');
    char *dot = strchr(buf, '.');
    if (!eq || !dot || dot > eq)
        return ddm_fail(err, DDM_EUSAGE, "%s: expected section.key=value, e.g. network.neurons=512",
                        where);
    *eq = 0;
    *dot = 0;
    const char *section = buf, *name = dot + 1, *value = eq + 1;
    if (find_section(section) < 0) return unknown_section(where, section, err);
    const struct config_key *key = find_key(section, name);
    if (!key) return unknown_key(where, section, name, err);
    int code = set_value(cfg, key, value, where, 0, err);
    if (!code) cfg->key_lines[key_index(key)] = -1;
    return code;
}

int config_line(const struct ddm_config *cfg, const char *section, const char *key) {
    const struct config_key *k = find_key(section, key);
    return k && cfg->key_lines ? cfg->key_lines[key_index(k)] : 0;
}

void config_where(const struct ddm_config *cfg, const char *section, const char *key, char *buf,
                  size_t len) {
    int line = config_line(cfg, section, key);
    if (line > 0)
        snprintf(buf, len, "%s:%d: [%s] %s", cfg->source_path ? cfg->source_path : "?", line,
                 section, key);
    else if (line < 0)
        snprintf(buf, len, "--set %s.%s", section, key);
    else
        snprintf(buf, len, "[%s] %s", section, key);
}

static void format_value(const struct ddm_config *cfg, const struct config_key *key, char *buf,
                         size_t len) {
    const void *field = (const char *)cfg + key->offset;
    switch (key->type) {
    case KEY_INT:
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case KEY_LONG:
        snprintf(buf, len, "%ld", *(const long *)field);
        break;
    case KEY_REAL:
        snprintf(buf, len, "%.17g", *(const double *)field);
        break;
    case KEY_SEED:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    case KEY_STRING:
        snprintf(buf, len, "%s", *(char *const *)field);
        break;
    case KEY_CHOICE: {
        int index = *(const int *)field;
        const char *c = key->choices;
        for (int i = 0; i < index && c; i++) {
            c = strchr(c, '|');
            if (c) c++;
        }
        size_t n = c ? strcspn(c, "|") : 0;
        snprintf(buf, len, "%.*s", (int)n, c ? c : "");
        break;
    }
    }
}

/* Appends formatted text to a growing buffer; returns -1 when out of memory. */
static int append(char **buf, size_t *used, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *used, size_t *cap, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int need = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (*used + need + 1 > *cap) {
        size_t grown_cap = 2 * (*used + need + 1);
        char *grown = realloc(*buf, grown_cap);
        if (!grown) return -1;
        *buf = grown;
        *cap = grown_cap;
    }
    va_start(args, fmt);
    vsnprintf(*buf + *used, *cap - *used, fmt, args);
    va_end(args);
    *used += need;
    return 0;
}

char *config_to_ini(const struct ddm_config *cfg) {
    char *out = NULL;
    size_t used = 0, cap = 0;
    int failed = append(&out, &used, &cap, "; effective configuration of this run\n");
    for (int s = 0; s < config_section_count && !failed; s++) {
        failed |= append(&out, &used, &cap, "\n[%s]\n", config_sections[s]);
        for (int i = 0; i < config_key_count && !failed; i++) {
            const struct config_key *key = &config_keys[i];
            if (strcmp(key->section, config_sections[s])) continue;
            char value[8192];
            format_value(cfg, key, value, sizeof value);
            failed |= append(&out, &used, &cap, "%s = %s\n", key->name, value);
        }
    }
    if (failed) {
        free(out);
        return NULL;
    }
    return out;
}

void config_print_help(FILE *out) {
    for (int s = 0; s < config_section_count; s++) {
        fprintf(out, "  [%s]\n", config_sections[s]);
        for (int i = 0; i < config_key_count; i++) {
            const struct config_key *key = &config_keys[i];
            if (strcmp(key->section, config_sections[s])) continue;
            char fallback[64];
            if (key->type == KEY_CHOICE)
                snprintf(fallback, sizeof fallback, "%s", key->choices);
            else
                snprintf(fallback, sizeof fallback, "%s", *key->fallback ? key->fallback : "\"\"");
            fprintf(out, "    %-18s = %-16s %s\n", key->name, fallback, key->help);
        }
    }
}

void config_free(struct ddm_config *cfg) {
    for (int i = 0; i < config_key_count; i++)
        if (config_keys[i].type == KEY_STRING) {
            char **slot = (char **)((char *)cfg + config_keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    free(cfg->source_path);
    free(cfg->source_text);
    free(cfg->key_lines);
    cfg->source_path = cfg->source_text = NULL;
    cfg->key_lines = NULL;
}
