/* config_keys.h — private: the table of INI keys shared by config.c and config_keys.c. */
#ifndef DDM_CONFIG_KEYS_H
#define DDM_CONFIG_KEYS_H

#include <stddef.h>

enum key_type {
    KEY_INT,    /* int, range [min, max] */
    KEY_LONG,   /* long, range [min, max] */
    KEY_REAL,   /* double, range [min, max] */
    KEY_SEED,   /* uint64_t, any non-negative integer */
    KEY_CHOICE, /* int index into the '|'-separated choices */
    KEY_STRING, /* char *, owned by the config */
};

struct config_key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;        /* of the field in struct ddm_config */
    const char *fallback; /* default, written as a user would write it */
    double min, max;      /* inclusive range of numbers */
    const char *choices;  /* "auto|cpu|cuda" for KEY_CHOICE */
    const char *help;     /* one line for --help and the README */
};

extern const struct config_key config_keys[];
extern const int config_key_count;
extern const char *const config_sections[];
extern const int config_section_count;

#endif
