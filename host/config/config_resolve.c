/* config_resolve.c — the structured strings of the configuration, parsed once into cfg->plan
 * (include/ddm/plan.h). The messages are those the stages gave when each parsed its own keys. */
#include <stdlib.h>
#include <string.h>

#include "ddm/expr.h"
#include "ddm/plan.h"

/* A path origin from `text`, the value of [section] key: "lo:hi, ..." is a box, "z1, ..." a
 * point, "" N(0, I). */
static int parse_origin(const struct ddm_config *cfg, const char *section, const char *key,
                        const char *text, int k, struct plan_origin *origin,
                        struct ddm_error *err) {
    memset(origin, 0, sizeof *origin);
    snprintf(origin->where, sizeof origin->where, "N(0, I)");
    if (!text[0]) return DDM_OK;
    config_where(cfg, section, key, origin->where, sizeof origin->where);
    if (strchr(text, ':')) {
        origin->kind = ORIGIN_BOX;
        return config_ranges(cfg, section, key, text, k, origin->lo, origin->hi, err);
    }
    origin->kind = ORIGIN_POINT;
    return config_numbers(cfg, section, key, text, k, origin->lo, err);
}

/* Where training paths start; an origin that does not parse is N(0, I) for the stages that do
 * not train (they use it only to choose a step), an error for training. */
static int resolve_origins(const struct ddm_config *cfg, int k, int train, struct ddm_plan *plan,
                           struct ddm_error *err) {
    struct ddm_error ignored;
    struct plan_origin *own = &plan->path_origin, *simulated = &plan->start_origin;
    int code = parse_origin(cfg, "train", "path_start", cfg->path_start, k, own,
                            train && cfg->path_start[0] ? err : &ignored);
    if (code && train && cfg->path_start[0]) return code;
    if (code) own->kind = ORIGIN_NORMAL;
    code = parse_origin(cfg, "simulate", "start", cfg->start, k, simulated, train ? err : &ignored);
    if (code && train) return code;
    if (code) simulated->kind = ORIGIN_NORMAL;
    return DDM_OK;
}

static int resolve_train(const struct ddm_config *cfg, int k, int train, struct ddm_plan *plan,
                         struct ddm_error *err) {
    int code = resolve_origins(cfg, k, train, plan, err);
    if (code) return code;
    struct ddm_error ignored;
    if (cfg->box[0]) {
        code = config_ranges(cfg, "train", "box", cfg->box, k, plan->box_lo, plan->box_hi,
                             train ? err : &ignored);
        plan->has_box = !code;
        return train ? code : DDM_OK;
    }
    if (train && cfg->sampling == SAMPLING_BOX) {
        char at[1200];
        config_where(cfg, "train", "sampling", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = box needs [train] box = 'lo:hi, ...' (one range per variable)", at);
    }
    return DDM_OK;
}

/* [simulate] steps (checked when simulating), start and [input] cues (checked when simulating or
 * analysing: the analysis starts its own paths and leaves the cue windows out). */
static int resolve_simulate(const struct ddm_config *cfg, const struct ddm_system *sys, int uses,
                            struct ddm_plan *plan, struct ddm_error *err) {
    struct ddm_error ignored;
    const int check = (uses & (PLAN_SIMULATE | PLAN_ANALYZE)) != 0;
    struct ddm_error *report = check ? err : &ignored;
    if ((uses & PLAN_SIMULATE) && cfg->steps % cfg->record_every) {
        char at[1200];
        config_where(cfg, "simulate", "steps", at, sizeof at);
        return ddm_fail(err, DDM_EUSAGE,
                        "%s = %ld is not a multiple of record_every = %d (the last steps would "
                        "not be recorded); use e.g. steps = %ld",
                        at, cfg->steps, cfg->record_every,
                        (cfg->steps / cfg->record_every + 1) * cfg->record_every);
    }
    if (cfg->start[0]) {
        int code =
            config_numbers(cfg, "simulate", "start", cfg->start, sys->k, plan->start, report);
        plan->has_start = !code;
        if (code && check) return code;
    }
    char at[1200];
    config_where(cfg, "input", "cues", at, sizeof at);
    int code = input_parse(cfg->cues, cfg->cue_strength, sys, at, &plan->cues, report);
    if (code) input_parse("", cfg->cue_strength, sys, at, &plan->cues, &ignored);
    return check ? code : DDM_OK;
}

/* The latent coordinates spanning the split's grid: [analysis] decomposition_axes, or all of
 * them when k ≤ 3, else the first two. */
static int resolve_axes(const struct ddm_config *cfg, const struct ddm_system *sys, int *axis,
                        int *d, struct ddm_error *err) {
    if (!cfg->decomposition_axes[0]) {
        *d = sys->k <= DDM_GRID_MAX_D ? sys->k : 2;
        for (int a = 0; a < *d; a++) axis[a] = a;
        return DDM_OK;
    }
    char at[1200], storage[512], *parts[4];
    config_where(cfg, "analysis", "decomposition_axes", at, sizeof at);
    int count = expr_split(cfg->decomposition_axes, ',', parts, 4, storage, sizeof storage);
    if (count < 1 || count > 3 || count > sys->k)
        return ddm_fail(err, DDM_EUSAGE, "%s: name 1 to %d of the variables (%s), separated by ','",
                        at, sys->k < 3 ? sys->k : 3, sys->vars_text);
    const char *names[DDM_MAX_K];
    for (int c = 0; c < sys->k; c++) names[c] = sys->var_names[c];
    for (int a = 0; a < count; a++) {
        axis[a] = -1;
        for (int c = 0; c < sys->k; c++)
            if (!strcmp(parts[a], sys->var_names[c])) axis[a] = c;
        if (axis[a] < 0) {
            int near = nearest_name(parts[a], names, sys->k);
            return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is not a variable%s%s%s (variables: %s)", at,
                            parts[a], near >= 0 ? " (did you mean '" : "",
                            near >= 0 ? names[near] : "", near >= 0 ? "'?)" : "", sys->vars_text);
        }
        for (int b = 0; b < a; b++)
            if (axis[b] == axis[a])
                return ddm_fail(err, DDM_EUSAGE, "%s: '%s' is named twice", at, parts[a]);
    }
    *d = count;
    return DDM_OK;
}

static int check_grid_size(const struct ddm_config *cfg, const char *key, int size, int least,
                           struct ddm_error *err) {
    if (size == 0 || size >= least) return DDM_OK;
    char at[1200];
    config_where(cfg, "analysis", key, at, sizeof at);
    return ddm_fail(err, DDM_EUSAGE, "%s = %d: use 0 (off) or at least %d points per axis", at,
                    size, least);
}

static int resolve_analysis(const struct ddm_config *cfg, const struct ddm_system *sys, int check,
                            struct ddm_plan *plan, struct ddm_error *err) {
    struct ddm_error ignored;
    struct ddm_error *report = check ? err : &ignored;
    const int k = sys->k;
    int code = DDM_OK;
    if (cfg->bounds[0]) {
        code = config_ranges(cfg, "analysis", "bounds", cfg->bounds, k, plan->bounds_lo,
                             plan->bounds_hi, report);
        plan->has_bounds = !code;
    }
    if (!code || !check) {
        code = resolve_axes(cfg, sys, plan->decomposition_axis, &plan->decomposition_d, report);
        if (code) plan->decomposition_d = 0;
    }
    if ((!code || !check) && cfg->decomposition_at[0]) {
        code = config_numbers(cfg, "analysis", "decomposition_at", cfg->decomposition_at, k,
                              plan->decomposition_at, report);
        plan->has_decomposition_at = !code;
    }
    if (!check) return DDM_OK;
    if (!code) code = check_grid_size(cfg, "decomposition_grid", cfg->decomposition_grid, 2, err);
    if (!code) code = check_grid_size(cfg, "hhd_grid", cfg->hhd_grid, 5, err);
    return code;
}

int config_resolve(struct ddm_config *cfg, const struct ddm_system *sys, int uses,
                   struct ddm_error *err) {
    struct ddm_plan *plan = ddm_calloc(1, sizeof *plan, "the resolved configuration", err);
    if (!plan) return DDM_ERUNTIME;
    plan->k = sys->k;
    int code = resolve_train(cfg, sys->k, uses & PLAN_TRAIN, plan, err);
    if (!code) code = resolve_simulate(cfg, sys, uses, plan, err);
    if (!code) code = resolve_analysis(cfg, sys, uses & PLAN_ANALYZE, plan, err);
    free(cfg->plan);
    cfg->plan = plan;
    return code;
}
