/* config_lists.c — values of INI keys that hold one entry per latent coordinate.
 *
 * "lo:hi, lo:hi, ..." (boxes and grid bounds) and "v1, ..., vk" (points) are checked only once
 * the system, and so k, is known; the messages name the file and line of the key like every other
 * configuration error.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddm/config.h"
#include "ddm/expr.h"

#define MAX_ENTRIES 8 /* EXPR_MAX_VARS: the most latent coordinates a system can have */

int config_ranges(const struct ddm_config *cfg, const char *section, const char *key,
                  const char *text, int k, double *lo, double *hi, struct ddm_error *err) {
    char at[1200], storage[1024], *parts[MAX_ENTRIES + 1];
    config_where(cfg, section, key, at, sizeof at);
    int count = expr_split(text, ',', parts, MAX_ENTRIES + 1, storage, sizeof storage);
    if (count != k)
        return ddm_fail(err, DDM_EUSAGE, "%s: expected %d ranges 'lo:hi' separated by ',', got %d",
                        at, k, count < 0 ? MAX_ENTRIES + 1 : count);
    for (int c = 0; c < k; c++) {
        char *end;
        lo[c] = strtod(parts[c], &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == parts[c] || *end != ':')
            return ddm_fail(err, DDM_EUSAGE, "%s: range %d '%s' should be 'lo:hi', e.g. -3:3", at,
                            c + 1, parts[c]);
        char *rest = end + 1;
        hi[c] = strtod(rest, &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == rest || *end || !(hi[c] > lo[c]) || !isfinite(lo[c]) || !isfinite(hi[c]))
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: range %d '%s' should be 'lo:hi' with finite lo < hi", at, c + 1,
                            parts[c]);
    }
    return DDM_OK;
}

int config_numbers(const struct ddm_config *cfg, const char *section, const char *key,
                   const char *text, int k, double *values, struct ddm_error *err) {
    char at[1200], storage[1024], *parts[MAX_ENTRIES + 1];
    config_where(cfg, section, key, at, sizeof at);
    int count = expr_split(text, ',', parts, MAX_ENTRIES + 1, storage, sizeof storage);
    if (count != k)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: expected %d numbers separated by ',' (one per variable), got %d", at,
                        k, count < 0 ? MAX_ENTRIES + 1 : count);
    for (int c = 0; c < k; c++) {
        struct expr_error e;
        if (expr_constant(parts[c], NULL, &values[c], &e))
            return ddm_fail(err, DDM_EUSAGE, "%s: entry %d '%s', column %d: %s", at, c + 1,
                            parts[c], e.column, e.message);
    }
    return DDM_OK;
}
