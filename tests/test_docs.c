/* test_docs.c — the documentation keeps up with the code: every INI key of the key table
 * (host/config_keys.c) has its row in docs/configuration.md, under its own section.
 *
 * The tests run from the repository root (make test); the page is read from there.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/config_keys.h"

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
    cr_assert_eq(missing, 0, "%d key(s) of host/config_keys.c are not documented", missing);
}
