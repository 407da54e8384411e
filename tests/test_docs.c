/* test_docs.c — the documentation keeps up with the code: every INI key of the key table
 * (host/config/config_keys.c) has its row in docs/configuration.md, under its own section, and
 * every reference to a section of docs/design.md names one that exists.
 *
 * The tests run from the repository root (make test); the page is read from there.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/config/config_keys.h"

/* The whole file as one string (NULL when it cannot be read). */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[got] = '\0';
    return text;
}

/* The part of the page under "### [section]", up to the next heading of any level-3 section. */
static const char *section_of(const char *page, const char *section, size_t *length) {
    char heading[64];
    snprintf(heading, sizeof heading, "\n### [%s]\n", section);
    const char *start = strstr(page, heading);
    if (!start) return NULL;
    start += strlen(heading);
    const char *end = strstr(start, "\n### ");
    *length = end ? (size_t)(end - start) : strlen(start);
    return start;
}

Test(docs, every_config_key_is_documented) {
    char *page = read_text("docs/configuration.md");
    cr_assert(page,
              "docs/configuration.md cannot be read (run the tests from the repository root)");
    int missing = 0;
    for (int i = 0; i < config_key_count; i++) {
        const struct config_key *key = &config_keys[i];
        size_t length = 0;
        const char *part = section_of(page, key->section, &length);
        char row[80];
        snprintf(row, sizeof row, "\n| `%s` |", key->name);
        const char *at = part ? strstr(part, row) : NULL;
        if (!at || at >= part + length) {
            cr_log_error("docs/configuration.md: no row for [%s] %s under '### [%s]'", key->section,
                         key->name, key->section);
            missing++;
        }
    }
    free(page);
    cr_assert_eq(missing, 0, "%d key(s) of host/config/config_keys.c are not documented", missing);
}

/* Every "docs/design.md §N" (and "§N, §M" after it) in the sources and documents names a section
 * "## N." of docs/design.md, and no reference to the old DESIGN document (outside the repository)
 * is left. The needles are written in two pieces so that this file does not match itself. */
static char *design_page;
static int dangling;

static void check_design_references(const char *path, const char *text) {
    if (strstr(text, "DESIGN "
                     "§")) {
        cr_log_error("%s: 'DESIGN "
                     "§' cites a document that is not in the repository",
                     path);
        dangling++;
    }
    for (const char *at = strstr(text, "design.md §"); at; at = strstr(at + 1, "design.md §")) {
        const char *p = at + strlen("design.md ");
        while (!strncmp(p, "§", strlen("§"))) {
            p += strlen("§");
            if (*p < '0' || *p > '9') break; /* prose about references, not a reference */
            int section = atoi(p);
            char heading[32];
            snprintf(heading, sizeof heading, "\n## %d. ", section);
            if (section < 1 || !strstr(design_page, heading)) {
                cr_log_error("%s: '§%d' is not a section of docs/design.md", path, section);
                dangling++;
            }
            while (*p >= '0' && *p <= '9') p++;
            if (!strncmp(p, ", §", strlen(", §"))) p += 2;
        }
    }
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    const char *dot = strrchr(path, '.');
    static const char *const kinds[] = {".c", ".h", ".cu", ".md", ".py", ".sh", ".ini"};
    for (size_t i = 0; dot && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(dot, kinds[i])) {
            char *text = read_text(path);
            if (text) check_design_references(path, text);
            free(text);
            break;
        }
    return 0;
}

Test(docs, design_references_name_existing_sections) {
    design_page = read_text("docs/design.md");
    cr_assert(design_page,
              "docs/design.md cannot be read (run the tests from the repository root)");
    dangling = 0;
    static const char *const roots[] = {"host",    "include", "kernels", "tests",
                                        "scripts", "docs",    ".ci",     "README.md"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) nftw(roots[i], visit, 16, FTW_PHYS);
    free(design_page);
    cr_assert_eq(dangling, 0, "%d reference(s) to docs/design.md do not name a section", dangling);
}

/* The names of the run file are spelt once, in include/ddm/h5schema.h: no call that names an
 * HDF5 object or attribute in host/ passes a string literal as the name ("/" H5N_SIMULATE, a path
 * built from them, is the one literal allowed). */
static int literal_names;

static int visit_host(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    const char *dot = strrchr(path, '.');
    if (type != FTW_F || !dot || strcmp(dot, ".c")) return 0;
    static const char *const calls[] = {"h5_attr_string(",
                                        "h5_attr_double(",
                                        "h5_attr_int(",
                                        "h5_attr_uint64(",
                                        "h5_read_attr_double(",
                                        "h5_read_attr_string(",
                                        "h5_group(",
                                        "h5_write(",
                                        "h5_read(",
                                        "h5_stream_create(",
                                        "H5Lexists(",
                                        "H5Aexists(",
                                        "H5Gopen2(",
                                        "H5Dopen2(",
                                        "H5Ldelete("};
    char *text = read_text(path);
    for (size_t c = 0; text && c < sizeof calls / sizeof calls[0]; c++)
        for (const char *at = strstr(text, calls[c]); at; at = strstr(at + 1, calls[c])) {
            const char *comma = strchr(at, ',');
            const char *end = strchr(at, ')');
            if (!comma || (end && end < comma)) continue;
            comma++;
            while (*comma == ' ' || *comma == '\n') comma++;
            if (*comma == '"' && strncmp(comma, "\"/\" H5N_", strlen("\"/\" H5N_"))) {
                cr_log_error("%s: %.*s names an object with a literal", path, 60, at);
                literal_names++;
            }
        }
    free(text);
    return 0;
}

Test(docs, run_file_names_come_from_h5schema) {
    literal_names = 0;
    nftw("host", visit_host, 16, FTW_PHYS);
    cr_assert_eq(literal_names, 0, "%d name(s) in host/ not taken from include/ddm/h5schema.h",
                 literal_names);
}
