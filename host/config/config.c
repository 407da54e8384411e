/* config.c — loading the INI configuration with inih, --set overrides, and their errors.
 *
 * inih does the INI syntax; this file maps (section, key) to the table of config_keys.c, parses
 * and range-checks each value, and turns every mistake into one line naming the file and line (or
 * the --set argument), what is wrong, and what would be valid (the nearest key by edit distance).
 * Debian's inih exposes its options as variables: lines may be long, and only '#' starts an inline
 * comment, so the ';' between drift expressions is never mistaken for one. [sweep] entries are
 * kept as written (host/config/sweep.c reads them); effective configurations can be compared key by
 * key.
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

/* "unknown section [x] (did you mean [y]? sections: ...)"; `name` is the key, for a key above
 * the first [section]. */
static int unknown_section(const char *where, const char *section, const char *name,
                           struct ddm_error *err) {
    /* [sweep] is a section too (of lists, host/config/sweep.c), suggested for a near miss */
    const char *names[32];
    int count = 0;
    for (int i = 0; i < config_section_count && count < 31; i++)
        names[count++] = config_sections[i];
    names[count++] = "sweep";
    int near = nearest_name(section, names, count);
    char list[256] = "";
    for (int i = 0; i < config_section_count; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, config_sections[i]);
    }
    if (!*section)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: key '%s' is outside any section (put it under one of: %s)", where,
                        name, list);
    if (near >= 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: unknown section [%s] (did you mean [%s]? sections: %s)", where,
                        section, names[near], list);
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

/* "auto" (blanks around it allowed): the value of a number key with choices = "auto". */
static int is_auto(const char *text) {
    while (isspace((unsigned char)*text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    return len == 4 && !strncmp(text, "auto", 4);
}

/* %.15g, not %g: a limit such as 1 << 20 must read 1048576, not 1.04858e+06. */
static void format_range(const struct config_key *key, char *buf, size_t len) {
    if (key->max >= 1e299)
        snprintf(buf, len, ">= %.15g", key->min);
    else
        snprintf(buf, len, "%.15g to %.15g", key->min, key->max);
}

/* Sets one key from its text. `where` is "file:line" or "--set ..." for messages; `append`
 * joins a continuation line of a string value. */
/* A text key; with append (an indented continuation line) the value is added after a space. */
static int set_string(void *field, const char *value, int append, struct ddm_error *err) {
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

/* A key with named choices, stored as the index of the one given. */
static int set_choice(void *field, const struct config_key *key, const char *value,
                      const char *where, struct ddm_error *err) {
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

/* A 64-bit seed. */
static int set_seed(void *field, const struct config_key *key, const char *value, const char *where,
                    struct ddm_error *err) {
    double number = 0;
    /* Plain digits go through strtoull, which keeps all 64 bits that a double would round
     * (2^64 - 1 as a double is 2^64, out of range); other forms (1e6) through the double. */
    const char *digits = value;
    while (isspace((unsigned char)*digits)) digits++;
    size_t ndigits = strspn(digits, "0123456789"), nword = strcspn(digits, " \t\r\n");
    int plain = ndigits && ndigits == nword && !digits[nword + strspn(digits + nword, " \t\r\n")];
    errno = 0;
    unsigned long long whole = plain ? strtoull(digits, NULL, 10) : 0;
    if (plain ? errno == ERANGE
              : parse_number(value, &number) || number < 0 || number != floor(number) ||
                    number >= 18446744073709551616.0)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: [%s] %s = '%s' is not a valid seed (expected a whole number 0 to "
                        "18446744073709551615)",
                        where, key->section, key->name, value);
    *(uint64_t *)field = plain ? (uint64_t)whole : (uint64_t)number;
    return DDM_OK;
}

/* A whole or real number within the key's range, or auto where the key allows it. */
static int set_number(void *field, const struct config_key *key, const char *value,
                      const char *where, struct ddm_error *err) {
    double number = 0;
    char range[64];
    format_range(key, range, sizeof range);
    if (key->choices && is_auto(value)) { /* a number key that the engine may choose */
        if (key->type == KEY_INT) *(int *)field = DDM_AUTO;
        if (key->type == KEY_REAL) *(double *)field = DDM_AUTO;
        return DDM_OK;
    }
    if (parse_number(value, &number))
        return ddm_fail(err, DDM_EUSAGE, "%s: [%s] %s = '%s' is not a number (expected %s %s%s)",
                        where, key->section, key->name, value,
                        key->type == KEY_REAL ? "a number" : "a whole number", range,
                        key->choices ? ", or auto" : "");
    if (key->type != KEY_REAL && number != floor(number))
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: [%s] %s = %s is not a whole number (expected an integer %s)", where,
                        key->section, key->name, value, range);
    if (number < key->min || number > key->max)
        return ddm_fail(err, DDM_EUSAGE, "%s: [%s] %s = %g is out of range (valid: %s)", where,
                        key->section, key->name, number, range);
    if (key->type == KEY_INT) *(int *)field = (int)number;
    if (key->type == KEY_LONG) *(long *)field = (long)number;
    if (key->type == KEY_REAL) *(double *)field = number;
    return DDM_OK;
}

static int set_value(struct ddm_config *cfg, const struct config_key *key, const char *value,
                     const char *where, int append, struct ddm_error *err) {
    void *field = (char *)cfg + key->offset;
    switch (key->type) {
    case KEY_STRING:
        return set_string(field, value, append, err);
    case KEY_CHOICE:
        return set_choice(field, key, value, where, err);
    case KEY_SEED:
        return set_seed(field, key, value, where, err);
    case KEY_INT:
    case KEY_LONG:
    case KEY_REAL:
        return set_number(field, key, value, where, err);
    }
    return DDM_OK;
}

/* State of one load. inih reads the text through read_line() below, which counts lines: Debian's
 * inih is built without INI_HANDLER_LINENO, and every message must name the line of the entry it
 * is about (the second of a key given twice, the indented line of a continuation). */
struct load_state {
    struct ddm_config *cfg;
    const char *label;
    struct ddm_error *err;
    const char *next;                  /* text not yet handed to inih */
    int line;                          /* line inih is reading */
    int at_line_start;                 /* the next piece starts a new line */
    int indented;                      /* that line starts with white space */
    int failed;                        /* the handler has filled err */
    const struct config_key *previous; /* key of the last entry; NULL after a [section] line */
    int previous_sweep;                /* the last entry was one of [sweep] */
};

/* Trims white space at both ends, in place. */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);) *--e = 0;
    return s;
}

static int is_identifier_text(const char *s) {
    if (!isalpha((unsigned char)*s) && *s != '_') return 0;
    while (*++s)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

static int is_blank(char c) {
    return c != '\n' && isspace((unsigned char)c);
}

/* fgets() over the text for ini_parse_stream. inih may ask for a long line in several pieces;
 * only the first piece starts a line. Like inih, a [section] line ends the previous entry, so
 * an indented line after it is a new key rather than a continuation. */
static char *read_line(char *str, int num, void *stream) {
    struct load_state *st = stream;
    if (!*st->next || num < 2) return NULL;
    if (st->at_line_start) {
        st->line++;
        const char *s = st->next;
        st->indented = is_blank(*s);
        while (is_blank(*s)) s++;
        if (*s == '[') st->previous = NULL, st->previous_sweep = 0;
    }
    int n = 0;
    while (n < num - 1 && st->next[n])
        if (st->next[n++] == '\n') break;
    memcpy(str, st->next, (size_t)n);
    str[n] = 0;
    st->next += n;
    st->at_line_start = str[n - 1] == '\n';
    return str;
}

static int key_index(const struct config_key *key) {
    return (int)(key - config_keys);
}

/* An entry of [sweep]: kept as written (host/config/sweep.c reads the lists); an indented line
 * continues the entry above, as for any string value. */
static int sweep_entry(struct load_state *st, const char *name, const char *value,
                       const char *where) {
    struct ddm_config *cfg = st->cfg;
    int continuation = st->indented && st->previous_sweep;
    if (continuation) {
        struct ddm_sweep_entry *last = &cfg->sweep[cfg->sweep_count - 1];
        size_t len = strlen(last->text) + strlen(value) + 2;
        char *joined = malloc(len);
        if (!joined) return ddm_fail(st->err, DDM_ERUNTIME, "out of memory reading [sweep]");
        snprintf(joined, len, "%s %s", last->text, value);
        free(last->text);
        last->text = joined;
        return DDM_OK;
    }
    for (int i = 0; i < cfg->sweep_count; i++)
        if (!strcmp(cfg->sweep[i].name, name))
            return ddm_fail(st->err, DDM_EUSAGE,
                            "%s: [sweep] %s is given more than once (first on line %d; keep one)",
                            where, name, cfg->sweep[i].line);
    struct ddm_sweep_entry *grown =
        realloc(cfg->sweep, sizeof *cfg->sweep * (size_t)(cfg->sweep_count + 1));
    if (!grown) return ddm_fail(st->err, DDM_ERUNTIME, "out of memory reading [sweep]");
    cfg->sweep = grown;
    struct ddm_sweep_entry *entry = &cfg->sweep[cfg->sweep_count];
    entry->name = text_copy(name);
    entry->text = text_copy(value);
    entry->line = st->line;
    cfg->sweep_count++;
    if (!entry->name || !entry->text)
        return ddm_fail(st->err, DDM_ERUNTIME, "out of memory reading [sweep]");
    return DDM_OK;
}

static void sweep_entries_free(struct ddm_config *cfg) {
    for (int i = 0; i < cfg->sweep_count; i++) {
        free(cfg->sweep[i].name);
        free(cfg->sweep[i].text);
    }
    free(cfg->sweep);
    cfg->sweep = NULL;
    cfg->sweep_count = 0;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    struct load_state *st = user;
    char where[600];
    snprintf(where, sizeof where, "%s:%d", st->label, st->line);
    if (!strcmp(section, "sweep")) {
        int code = sweep_entry(st, name, value, where);
        st->previous = NULL;
        st->previous_sweep = 1;
        if (code) st->failed = 1;
        return !code;
    }
    st->previous_sweep = 0;
    const struct config_key *key = find_key(section, name);
    /* inih passes any indented line after an entry as more of that entry's value */
    int continuation = st->indented && st->previous;
    int *first_line = key ? &st->cfg->key_lines[key_index(key)] : NULL;
    int code = DDM_OK;
    if (find_section(section) < 0) {
        code = unknown_section(where, section, name, st->err);
    } else if (!key) {
        code = unknown_key(where, section, name, st->err);
    } else if (continuation && key->type != KEY_STRING) {
        code = ddm_fail(st->err, DDM_EUSAGE,
                        "%s: [%s] %s: this line starts with white space, so it continues the "
                        "value of line %d, which makes no sense for a number; remove the "
                        "indentation",
                        where, section, name, *first_line);
    } else if (!continuation && *first_line) {
        code = ddm_fail(st->err, DDM_EUSAGE,
                        "%s: [%s] %s is given more than once (first on line %d; keep one; lines "
                        "starting with white space continue the value above)",
                        where, section, name, *first_line);
    } else {
        /* inih (r55) strips ' # comment' from the first line of a value but not from an
         * indented continuation line; do it here so both read the same */
        char *copy = continuation ? text_copy(value) : NULL;
        if (continuation && copy) {
            for (char *c = copy; *c; c++)
                if (*c == '#' && c > copy && isspace((unsigned char)c[-1])) {
                    *c = 0;
                    break;
                }
            value = trim(copy);
        }
        code = continuation && !copy
                   ? ddm_fail(st->err, DDM_ERUNTIME, "out of memory reading the configuration")
                   : set_value(st->cfg, key, value, where, continuation, st->err);
        free(copy);
        if (!continuation) *first_line = st->line;
    }
    st->previous = key;
    if (code) {
        st->failed = 1;
        return 0; /* inih stops here (ini_stop_on_first_error) */
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
    /* Debian's inih reads these at run time: long lines, '#' only for inline comments, and stop
     * at the first mistake, so that the one reported is the first in the file */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = 1 << 20;
    ini_inline_comment_prefixes = "#";
    ini_allow_multiline = true;
    ini_stop_on_first_error = true;

    free(cfg->source_text);
    cfg->source_text = text_copy(text);
    free(cfg->source_path);
    cfg->source_path = text_copy(label);
    if (!cfg->source_text || !cfg->source_path)
        return ddm_fail(err, DDM_ERUNTIME, "out of memory reading the configuration");
    /* the lines of keys are those of this text, whatever an earlier load had */
    memset(cfg->key_lines, 0, sizeof *cfg->key_lines * (size_t)config_key_count);
    sweep_entries_free(cfg);
    struct load_state st = {
        .cfg = cfg, .label = label, .err = err, .next = text, .at_line_start = 1};
    int result = ini_parse_stream(read_line, &st, on_ini_entry, &st);
    if (st.failed) return DDM_EUSAGE;
    if (result > 0) {
        /* show the offending line (up to 60 characters) */
        const char *line = text;
        for (int i = 1; i < result && line; i++) {
            line = strchr(line, '\n');
            if (line) line++;
        }
        if (!line) line = "";
        while (is_blank(*line)) line++;
        int len = (int)strcspn(line, "\r\n");
        if (*line == '[')
            return ddm_fail(err, DDM_EUSAGE,
                            "%s:%d: syntax error: '%.*s%s' has no closing ']' (a section is "
                            "written [name])",
                            label, result, len > 60 ? 60 : len, line, len > 60 ? "..." : "");
        return ddm_fail(err, DDM_EUSAGE,
                        "%s:%d: syntax error: '%.*s%s' is not 'key = value', a [section] or a "
                        "comment (lines starting with ';' or '#')",
                        label, result, len > 60 ? 60 : len, line, len > 60 ? "..." : "");
    }
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
    if (strlen(text) != size) { /* inih would stop reading at the NUL without a word */
        int line = 1;
        for (const char *c = text; *c; c++) line += *c == '\n';
        free(text);
        return ddm_fail(err, DDM_EUSAGE, "%s:%d: contains a NUL byte; is it a text file?", path,
                        line);
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
    /* trimmed as inih trims a file's line, so 'network.neurons = 512' works too */
    const char *section = trim(buf), *name = trim(dot + 1), *value = trim(eq + 1);
    if (!*section || !*name)
        return ddm_fail(err, DDM_EUSAGE, "%s: expected section.key=value, e.g. network.neurons=512",
                        where);
    return config_assign(cfg, section, name, value, where, -1, err);
}

/* The value text of parameter `name` in a "a=1, b=2" list into buf (trimmed); 0 when absent. */
static int param_in_list(const char *params, const char *name, char *buf, size_t len) {
    char storage[4096], *parts[64];
    int count = expr_split(params, ',', parts, 64, storage, sizeof storage);
    for (int p = 0; p < count; p++) {
        char *eq = strchr(parts[p], '=');
        if (!eq) continue;
        *eq = 0;
        if (strcmp(trim(parts[p]), name)) continue;
        if (buf) snprintf(buf, len, "%s", trim(eq + 1));
        return 1;
    }
    return 0;
}

/* "system.P = 3" (--set, [sweep]): one parameter of [system] params, replaced in place or added,
 * so that a sweep over one parameter need not repeat the whole params string. A system of your
 * own (it has a drift) must already name the parameter; a built-in's are checked when the system
 * is built, with the list of its parameters. */
static int assign_system_param(struct ddm_config *cfg, const char *key, const char *value,
                               const char *where, int line, struct ddm_error *err) {
    int listed = param_in_list(cfg->params, key, NULL, 0);
    if (!listed) {
        const char *names[64];
        int count = 0;
        for (int i = 0; i < config_key_count && count < 64; i++)
            if (!strcmp(config_keys[i].section, "system")) names[count++] = config_keys[i].name;
        if (nearest_name(key, names, count) >= 0 || !is_identifier_text(key))
            return unknown_key(where, "system", key, err);
        if (cfg->drift[0])
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: '%s' is neither a [system] key nor a parameter of the system "
                            "(params = %s)",
                            where, key, cfg->params[0] ? cfg->params : "none");
    }
    char storage[4096], *parts[64], merged[8192] = "";
    int count = expr_split(cfg->params, ',', parts, 64, storage, sizeof storage);
    size_t used = 0;
    for (int p = 0; p < count; p++) {
        if (!parts[p][0]) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(parts[p], "="), parts[p]);
        int replaced = !strcmp(trim(name), key);
        used +=
            (size_t)snprintf(merged + used, sizeof merged - used, "%s%s%s%s", used ? ", " : "",
                             replaced ? key : parts[p], replaced ? "=" : "", replaced ? value : "");
        if (used >= sizeof merged) break;
    }
    if (!listed && used < sizeof merged)
        used += (size_t)snprintf(merged + used, sizeof merged - used, "%s%s=%s", used ? ", " : "",
                                 key, value);
    if (used >= sizeof merged)
        return ddm_fail(err, DDM_EUSAGE, "%s: [system] params would be too long", where);
    int code = set_value(cfg, find_key("system", "params"), merged, where, 0, err);
    if (!code) cfg->key_lines[key_index(find_key("system", "params"))] = line;
    return code;
}

int config_assign(struct ddm_config *cfg, const char *section, const char *key, const char *value,
                  const char *where, int line, struct ddm_error *err) {
    if (find_section(section) < 0) return unknown_section(where, section, key, err);
    const struct config_key *found = find_key(section, key);
    if (!found && !strcmp(section, "system"))
        return assign_system_param(cfg, key, value, where, line, err);
    if (!found) return unknown_key(where, section, key, err);
    int code = set_value(cfg, found, value, where, 0, err);
    if (!code) cfg->key_lines[key_index(found)] = line;
    return code;
}

/* The next "key = value" line of an effective configuration outside [output] and [run]; the
 * section it is in goes to `section`. Returns NULL at the end. */
static const char *next_compared_line(const char *text, char *section, size_t len) {
    while (text && *text) {
        const char *end = text + strcspn(text, "\n");
        if (*text == '[') {
            snprintf(section, len, "%.*s", (int)(end - text), text);
        } else if (*text != ';' && end > text && strcmp(section, "[output]") &&
                   strcmp(section, "[run]")) {
            return text;
        }
        text = *end ? end + 1 : end;
    }
    return NULL;
}

uint64_t config_ini_fingerprint(const char *ini) {
    char section[64] = "";
    uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *line = next_compared_line(ini, section, sizeof section); line;) {
        size_t len = strcspn(line, "\n");
        for (const char *c = section; *c; c++) hash = (hash ^ (unsigned char)*c) * 0x100000001b3ull;
        for (size_t i = 0; i <= len; i++)
            hash = (hash ^ (unsigned char)(i < len ? line[i] : '\n')) * 0x100000001b3ull;
        line = next_compared_line(line + len, section, sizeof section);
    }
    return hash;
}

int config_ini_compare(const char *a, const char *b, char *what, size_t len) {
    char section_a[64] = "", section_b[64] = "";
    const char *line_a = next_compared_line(a, section_a, sizeof section_a);
    const char *line_b = next_compared_line(b, section_b, sizeof section_b);
    while (line_a || line_b) {
        size_t len_a = line_a ? strcspn(line_a, "\n") : 0,
               len_b = line_b ? strcspn(line_b, "\n") : 0;
        if (!line_a || !line_b || len_a != len_b || strcmp(section_a, section_b) ||
            memcmp(line_a, line_b, len_a)) {
            const char *shown = line_a ? line_a : line_b;
            size_t name_len = strcspn(shown, "=\n");
            while (name_len && shown[name_len - 1] == ' ') name_len--;
            const char *value_a = line_a ? line_a + strcspn(line_a, "=") : "=(missing)";
            const char *value_b = line_b ? line_b + strcspn(line_b, "=") : "=(missing)";
            value_a += *value_a == '=' ? 1 + (value_a[1] == ' ') : 0;
            value_b += *value_b == '=' ? 1 + (value_b[1] == ' ') : 0;
            snprintf(what, len, "%s %.*s = %.*s vs %.*s", line_a ? section_a : section_b,
                     (int)name_len, shown, (int)strcspn(value_a, "\n"), value_a,
                     (int)strcspn(value_b, "\n"), value_b);
            return 1;
        }
        line_a = next_compared_line(line_a + len_a, section_a, sizeof section_a);
        line_b = next_compared_line(line_b + len_b, section_b, sizeof section_b);
    }
    return 0;
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

/* The value of a key as INI text; reals with `digits` significant digits (17 round-trips). */
static void format_value(const struct ddm_config *cfg, const struct config_key *key, int digits,
                         char *buf, size_t len) {
    const void *field = (const char *)cfg + key->offset;
    switch (key->type) {
    case KEY_INT:
        if (key->choices && *(const int *)field == DDM_AUTO)
            snprintf(buf, len, "auto");
        else
            snprintf(buf, len, "%d", *(const int *)field);
        break;
    case KEY_LONG:
        snprintf(buf, len, "%ld", *(const long *)field);
        break;
    case KEY_REAL:
        if (key->choices && *(const double *)field == DDM_AUTO)
            snprintf(buf, len, "auto");
        else
            snprintf(buf, len, "%.*g", digits, *(const double *)field);
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

int config_value_text(const struct ddm_config *cfg, const char *section, const char *key, char *buf,
                      size_t len) {
    const struct config_key *found = find_key(section, key);
    if (!found && !strcmp(section, "system") && param_in_list(cfg->params, key, buf, len))
        return 0; /* {system.P}: one parameter of params */
    if (!found) return -1;
    format_value(cfg, found, 15, buf, len);
    return 0;
}

int config_key_section(const char *key, const char **section) {
    int matches = 0;
    for (int i = 0; i < config_key_count; i++)
        if (!strcmp(config_keys[i].name, key)) {
            *section = config_keys[i].section;
            matches++;
        }
    return matches;
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
            format_value(cfg, key, 17, value, sizeof value);
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
            fprintf(out, "    %-18s = %-12s %s", key->name, *key->fallback ? key->fallback : "\"\"",
                    key->help);
            if (key->type == KEY_CHOICE || key->choices) {
                char valid[128];
                snprintf(valid, sizeof valid, "%s", key->choices);
                for (char *c = valid; *c; c++)
                    if (*c == '|') *c = '/';
                fprintf(out, " [%s]", valid);
            }
            fputc('\n', out);
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
    sweep_entries_free(cfg);
    free(cfg->source_path);
    free(cfg->source_text);
    free(cfg->key_lines);
    free(cfg->plan);
    cfg->plan = NULL;
    cfg->source_path = cfg->source_text = NULL;
    cfg->key_lines = NULL;
}
