/* input.c — parsing the cue schedule and filling the per-step inputs (see include/ddm/input.h). */
#include "ddm/input.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reads a number at *p (advancing it); 0 on success. */
static int read_number(const char **p, double *value) {
    char *end;
    while (isspace((unsigned char)**p)) (*p)++;
    *value = strtod(*p, &end);
    if (end == *p || !isfinite(*value)) return -1;
    *p = end;
    return 0;
}

/* Matches a word at *p (advancing past it and following space). */
static int read_word(const char **p, const char *word) {
    while (isspace((unsigned char)**p)) (*p)++;
    size_t len = strlen(word);
    if (strncmp(*p, word, len) || isalnum((unsigned char)(*p)[len])) return 0;
    *p += len;
    return 1;
}

static int parse_cue(const char *text, double strength, const struct ddm_system *sys,
                     const char *at, int index, struct ddm_cue *cue, struct ddm_error *err) {
    const int k = sys->k;
    const char *p = text;
    double scale = strength;
    if (read_number(&p, &cue->start) || *p != ':')
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: cue %d '%s' should start with the time window START:END, e.g. "
                        "'20:25 pattern 1'",
                        at, index, text);
    p++;
    if (read_number(&p, &cue->end) || !(cue->end > cue->start) || cue->start < 0)
        return ddm_fail(err, DDM_EUSAGE, "%s: cue %d '%s': the window needs 0 <= START < END", at,
                        index, text);
    memset(cue->u, 0, sizeof cue->u);
    if (read_word(&p, "pattern")) {
        double j;
        if (!sys->native_wells)
            return ddm_fail(err, DDM_EUSAGE,
                            "%s: cue %d names a pattern, but only the wells system has patterns; "
                            "give 'vector v1, v2, ...' instead",
                            at, index);
        if (read_number(&p, &j) || j != floor(j) || j < 0 || j >= sys->wells.K)
            return ddm_fail(err, DDM_EUSAGE, "%s: cue %d: the pattern must be 0 to %d", at, index,
                            sys->wells.K - 1);
        cue->pattern = (int)j;
        /* the direction from the patterns' centroid to the cued one tilts that well lowest */
        double centroid[DDM_MAX_K] = {0}, norm = 0;
        for (int q = 0; q < sys->wells.K; q++)
            for (int c = 0; c < k; c++) centroid[c] += sys->wells.patterns[q][c] / sys->wells.K;
        for (int c = 0; c < k; c++) {
            cue->u[c] = sys->wells.patterns[cue->pattern][c] - centroid[c];
            norm += cue->u[c] * cue->u[c];
        }
        for (int c = 0; c < k; c++) cue->u[c] /= norm > 0 ? sqrt(norm) : 1;
    } else if (read_word(&p, "vector")) {
        cue->pattern = -1;
        for (int c = 0; c < k; c++) {
            if (c > 0) {
                while (isspace((unsigned char)*p)) p++;
                if (*p == ',') p++;
            }
            if (read_number(&p, &cue->u[c]))
                return ddm_fail(err, DDM_EUSAGE, "%s: cue %d: 'vector' needs %d numbers", at, index,
                                k);
        }
    } else {
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: cue %d '%s': after the window write 'pattern J' or 'vector v1, "
                        "v2, ...'",
                        at, index, text);
    }
    if (read_word(&p, "strength") && read_number(&p, &scale))
        return ddm_fail(err, DDM_EUSAGE, "%s: cue %d: 'strength' needs a number", at, index);
    while (isspace((unsigned char)*p)) p++;
    if (*p)
        return ddm_fail(err, DDM_EUSAGE,
                        "%s: cue %d: unexpected '%s' (the form is 'START:END "
                        "pattern J [strength S]')",
                        at, index, p);
    for (int c = 0; c < k; c++) cue->u[c] *= scale;
    return DDM_OK;
}

int input_parse(const char *text, double strength, const struct ddm_system *sys, const char *at,
                struct ddm_input *input, struct ddm_error *err) {
    memset(input, 0, sizeof *input);
    input->k = sys->k;
    input->forced = sys->forcing ? sys : NULL;
    input->noise_timed = sys->diffusion_time ? sys : NULL;
    char *copy = strdup(text);
    if (!copy) return ddm_fail(err, DDM_ERUNTIME, "out of memory");
    int code = DDM_OK;
    char *save = NULL;
    for (char *cue = strtok_r(copy, ";", &save); cue && !code; cue = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*cue)) cue++;
        if (!*cue) continue;
        if (input->count == DDM_MAX_CUES) {
            code = ddm_fail(err, DDM_EUSAGE, "%s: more than %d cues", at, DDM_MAX_CUES);
            break;
        }
        code = parse_cue(cue, strength, sys, at, input->count + 1, &input->cues[input->count], err);
        input->count++;
    }
    free(copy);
    return code;
}

int input_active(const struct ddm_input *input) {
    return input->count > 0 || input->forced;
}

void input_at(const struct ddm_input *input, double t, double *u) {
    if (input->forced)
        system_forcing(input->forced, t, u);
    else
        for (int c = 0; c < input->k; c++) u[c] = 0;
    for (int q = 0; q < input->count; q++)
        if (t >= input->cues[q].start && t < input->cues[q].end)
            for (int c = 0; c < input->k; c++) u[c] += input->cues[q].u[c];
}

int input_fill(const struct ddm_input *input, const struct ddm_model *model, double t0, double dt,
               int count, float *u, float *u_hat) {
    const int k = input->k;
    int any = 0;
    for (int s = 0; s < count; s++) {
        double here[DDM_MAX_K];
        input_at(input, t0 + s * dt, here);
        for (int c = 0; c < k; c++) {
            any |= here[c] != 0;
            if (u) u[(size_t)s * k + c] = (float)here[c];
            if (u_hat)
                u_hat[(size_t)s * k + c] = (float)(model->tau * here[c] / model->latent_scale[c]);
        }
    }
    return any;
}

int input_noise_active(const struct ddm_input *input) {
    return input->noise_timed != NULL;
}

void input_noise_fill(const struct ddm_input *input, const struct ddm_model *model, double t0,
                      double dt, int count, float *sigma, float *sigma_hat) {
    const struct ddm_system *sys = input->noise_timed;
    const int m = sys->m, km = sys->k * sys->m;
    for (int s = 0; s < count; s++) {
        double here[DDM_MAX_K * DDM_MAX_M];
        system_diffusion_time(sys, t0 + s * dt, here);
        for (int q = 0; q < km; q++) {
            if (sigma) sigma[(size_t)s * km + q] = (float)here[q];
            if (sigma_hat)
                sigma_hat[(size_t)s * km + q] = (float)(here[q] / model->latent_scale[q / m]);
        }
    }
}
