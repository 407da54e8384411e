/* fuzz_config.c — libFuzzer target for the configuration loader and the system builder.
 *
 * The input is INI text, except that lines starting with "--set " are applied afterwards as
 * command-line overrides; when everything loads, the [system] is built (built-in or expressions)
 * and the effective configuration is written back as INI text. Nothing is run and no file is
 * written. Built with -fsanitize=fuzzer,address,undefined by `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/config.h"
#include "ddm/system.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    /* cut out the --set lines, keeping the rest as the file */
    char *sets[16];
    int nsets = 0;
    for (char *line = text; line;) {
        char *eol = strchr(line, '\n');
        if (!strncmp(line, "--set ", 6) && nsets < 16) {
            sets[nsets++] = line + 6;
            memset(line, ' ', 6); /* keep the line count; the value becomes a blank line */
            line[0] = ';';
        }
        if (eol) *eol = 0;
        line = eol ? eol + 1 : NULL;
    }
    /* rebuild the INI text with newlines restored (the --set lines are now comments) */
    for (size_t i = 0; i < size; i++)
        if (text[i] == 0) text[i] = '\n';
    struct ddm_config cfg;
    struct ddm_error err = {0};
    if (config_defaults(&cfg, &err) == 0 && config_load_text(&cfg, text, "fuzz.ini", &err) == 0) {
        int ok = 1;
        for (int i = 0; i < nsets && ok; i++) {
            char *end = strchr(sets[i], '\n');
            char assignment[512];
            size_t len = end ? (size_t)(end - sets[i]) : strlen(sets[i]);
            if (len >= sizeof assignment) len = sizeof assignment - 1;
            memcpy(assignment, sets[i], len);
            assignment[len] = 0;
            ok = config_set(&cfg, assignment, &err) == 0;
        }
        if (ok) {
            struct ddm_system sys;
            if (system_build(&sys, &cfg, &err) == 0) {
                double z[DDM_MAX_K] = {0.5, -0.5, 1, 0, 0, 0, 0, 0}, f[DDM_MAX_K];
                double sigma[DDM_MAX_K * DDM_MAX_M], jac[DDM_MAX_K * DDM_MAX_K];
                system_drift_jacobian(&sys, z, f, jac);
                system_diffusion(&sys, z, sigma);
            }
            system_free(&sys);
            free(config_to_ini(&cfg));
        }
    }
    if (err.code && err.message[0] == 0) abort(); /* a failure must explain itself */
    config_free(&cfg);
    free(text);
    return 0;
}
