/* cli.c — parsing the command line and the --help text (docs/design.md §7).
 *
 * Options take their value as "--opt value" or "--opt=value"; an unknown option is answered with
 * the nearest known one. The help teaches: usage, a worked example, every option, and the INI
 * keys from the same table the loader uses.
 */
#include "ddm/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddm/config.h"
#include "ddm/expr.h"
#include "ddm/system.h"

static const char *const options[] = {"--set",     "--backend",      "--output",     "--overwrite",
                                      "--stages",  "--model",        "--quiet",      "--help",
                                      "--version", "--array-index",  "--list-sweep", "--shard",
                                      "--resume",  "--on-nonfinite", "--threads"};
static const int option_count = sizeof options / sizeof options[0];

/* The --help text after the options: clusters, signals, exit statuses, expressions. */
static void print_help_clusters(FILE *out) {
    fprintf(
        out,
        "clusters (SLURM templates in scripts/slurm/, see README.md):\n"
        "  --list-sweep             print the points of the [sweep] section (index, output,\n"
        "                           assignment) and exit\n"
        "  --array-index N          run point N of the [sweep] (default $SLURM_ARRAY_TASK_ID;\n"
        "                           a [sweep] needs one or the other); applied before --set\n"
        "  --shard i/N              simulate only trajectories i*B/N ... (i+1)*B/N - 1 of the\n"
        "                           B = [simulate] trajectories, with the noise of the whole\n"
        "                           ensemble; needs --model (train once, --stages train); the\n"
        "                           stage is simulate\n"
        "  --resume FILE.h5         continue the run that a signal stopped (exit status 3),\n"
        "                           from the checkpoint in FILE, with the configuration stored\n"
        "                           there (a CONFIG.ini given too must give the same one); the\n"
        "                           result is bit for bit that of an uninterrupted run\n"
        "  merge OUT.h5 SHARD.h5... one file whose /simulate datasets are HDF5 virtual datasets\n"
        "                           over the shards (no copy); shards that disagree are refused;\n"
        "                           an existing OUT.h5 too, unless --overwrite\n"
        "\n"
        "signals: SIGTERM, SIGINT or SIGUSR1 (SLURM preemption, scancel, --signal before the\n"
        "time limit) stop the run with a checkpoint in the output file after the current\n"
        "training round (Gauss-Newton, or up to 20 Adam epochs) or simulation block, or within\n"
        "65536 steps of a training path being sampled, or before the analysis; one that comes\n"
        "later (the last block of the last stage, the analysis) lets the run finish. A second\n"
        "Ctrl-C stops it at once.\n"
        "\n"
        "exit status: 0 success, 1 run-time failure (I/O, numerical blow-up), 2 usage or\n"
        "configuration error, 3 stopped by a signal with a checkpoint written (continue with\n"
        "--resume FILE.h5). Errors are one line on stderr naming the file:line or option.\n"
        "\n"
        "built-in systems: %s\n"
        "expressions: + - * / ^, unary -, parentheses, numbers, pi, the variables and\n"
        "parameters, and sin cos tan exp log sqrt tanh abs sign pow min max.\n"
        "INI comments: lines starting with ';' or '#', and '#' after white space at the end\n"
        "of a line (';' separates expressions). An indented line continues the value above.\n"
        "\n"
        "configuration keys ([section] key = default   meaning):\n",
        system_builtin_list());
}

void cli_print_help(FILE *out) {
    fprintf(
        out,
        "ddm_gpu %s — drift–diffusion matching: train a low-rank recurrent network of n tanh\n"
        "neurons to carry a given stochastic dynamics dz = f(z) dt + σ(z) dB in a k-dimensional\n"
        "subspace, simulate noisy network trajectories beside the target, analyse how the\n"
        "network carries them (PCA, energy, entropy production, Lyapunov spectra), write one\n"
        "HDF5 file.\n"
        "\n"
        "usage: ddm_gpu CONFIG.ini [options]\n"
        "       ddm_gpu --resume FILE.h5 [CONFIG.ini] [--set ...] [--backend B] [--quiet]\n"
        "       ddm_gpu merge OUT.h5 SHARD.h5... [--overwrite]\n"
        "       ddm_gpu --help | --version\n"
        "\n"
        "example:\n"
        "  ddm_gpu experiments/lorenz.ini --set network.neurons=256 --output lorenz256.h5\n"
        "  ddm_gpu experiments/lorenz.ini --stages analyze --model lorenz256.h5 \\\n"
        "          --set analysis.hhd_grid=48      # analyse again, into the same file\n"
        "  python3 scripts/plot.py lorenz256.h5        # figures next to the file\n"
        "\n"
        "options:\n"
        "  --set section.key=value  override one INI key (repeatable), e.g. --set train.epochs=50\n"
        "  --backend auto|cpu|cuda  override [run] backend\n"
        "  --output PATH            override [output] path\n"
        "  --overwrite              replace the output file if it exists; without it a run\n"
        "                           whose output exists stops before any work (exit status 2)\n"
        "                           and leaves the file as it is (--resume and analyze alone\n"
        "                           write into their own file)\n"
        "  --stages LIST            stages to run, comma-separated: train,simulate,analyze\n"
        "                           (default all three); without train they need --model;\n"
        "                           analyze alone writes /analysis into the --model file\n"
        "                           (replacing an older one) and takes no --output\n"
        "  --model FILE.h5          take /model (and, for analyze alone, /simulate) from an\n"
        "                           earlier run file instead of training\n"
        "  --on-nonfinite stop|drop|keep\n"
        "                           override [simulate] on_nonfinite: what a network trajectory\n"
        "                           that blows up (NaN/Inf, or past [simulate] blowup_bound)\n"
        "                           does: stop the run (default; the file is kept, marked\n"
        "                           complete = 0, exit 1), or freeze it as NaN and go on,\n"
        "                           leaving it out of the analysis (drop) or keeping its finite\n"
        "                           part (keep); /simulate/nonfinite_step has each one's step\n"
        "  --threads N              override [run] threads: CPU threads (0: the CPUs this\n"
        "                           process may use, its affinity mask; see\n"
        "                           docs/performance.md for the wait policy)\n"
        "  --quiet                  no progress and no summary (errors still go to stderr)\n"
        "  --help, --version\n"
        "\n",
        DDM_VERSION);
    print_help_clusters(out);
    config_print_help(out);
    fprintf(out,
            "  [sweep]            (one run per point, --array-index / $SLURM_ARRAY_TASK_ID)\n"
            "    mode               = grid         grid: every combination (last key fastest); "
            "zip: the i-th values together\n"
            "    section.key        = v1, v2, ...  values of any key above; separate them with "
            "'|' when a value holds a ','\n");
    fprintf(out, "\nOutput layout (HDF5): /system, /model, /train, /simulate, /analysis — see "
                 "README.md.\n");
}

/* Splits "--opt=value" or takes the next argument as the value. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value,
                        struct ddm_error *err) {
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return DDM_OK;
    }
    if (*i + 1 >= argc) return ddm_fail(err, DDM_EUSAGE, "%s needs a value (see --help)", name);
    *value = argv[++*i];
    return DDM_OK;
}

static int matches(const char *arg, const char *name) {
    size_t len = strlen(name);
    return !strncmp(arg, name, len) && (arg[len] == 0 || arg[len] == '=');
}

static int parse_stages(const char *text, struct ddm_cli *cli, struct ddm_error *err) {
    static const char *const stages[] = {"train", "simulate", "analyze"};
    int *flags[] = {&cli->stage_train, &cli->stage_simulate, &cli->stage_analyze};
    char storage[256], *parts[8];
    int count = expr_split(text, ',', parts, 8, storage, sizeof storage);
    cli->stage_train = cli->stage_simulate = cli->stage_analyze = 0;
    for (int i = 0; i < count; i++) {
        int known = 0;
        for (int s = 0; s < 3; s++)
            if (!strcmp(parts[i], stages[s])) known = *flags[s] = 1;
        if (known) continue;
        int near = nearest_name(parts[i], stages, 3);
        return ddm_fail(err, DDM_EUSAGE,
                        "--stages: unknown stage '%s'%s%s%s (stages: train, simulate, analyze)",
                        parts[i], near >= 0 ? " (did you mean '" : "",
                        near >= 0 ? stages[near] : "", near >= 0 ? "'?)" : "");
    }
    if (count < 1 || (!cli->stage_train && !cli->stage_simulate && !cli->stage_analyze))
        return ddm_fail(err, DDM_EUSAGE, "--stages: name at least one of train, simulate, analyze");
    return DDM_OK;
}

/* "--set network.neurons 64": the value has no '=', so the 64 would be read as a second
 * config file; say what is wrong and how to write it instead. */
static int set_without_equals(int argc, char **argv, int i, const char *value,
                              struct ddm_error *err) {
    const char *next = i + 1 < argc && argv[i + 1][0] != '-' ? argv[i + 1] : NULL;
    if (next && !strcmp(next, "=") && i + 2 < argc) /* "--set key = value" */
        return ddm_fail(err, DDM_EUSAGE,
                        "--set %s = %s: write the assignment as one word, --set %s=%s", value,
                        argv[i + 2], value, argv[i + 2]);
    if (next)
        return ddm_fail(err, DDM_EUSAGE, "--set %s %s: the value needs '=' (write --set %s=%s)",
                        value, next, value, next);
    return ddm_fail(err, DDM_EUSAGE,
                    "--set %s: expected section.key=value with '=', e.g. --set network.neurons=512",
                    value);
}

/* "i/N" with 0 <= i < N */
static int parse_shard(const char *text, struct ddm_cli *cli, struct ddm_error *err) {
    char *slash, *end = NULL;
    errno = 0;
    long index = strtol(text, &slash, 10), count = -1;
    if (slash != text && *slash == '/' && slash[1]) count = strtol(slash + 1, &end, 10);
    if (count < 1 || *end || errno || index < 0 || index >= count || count > 1 << 24)
        return ddm_fail(err, DDM_EUSAGE,
                        "--shard '%s': expected i/N with 0 <= i < N (e.g. --shard 0/4, the first "
                        "of 4 shards)",
                        text);
    cli->shard_index = (int)index;
    cli->shard_count = (int)count;
    return DDM_OK;
}

static int parse_index(const char *text, long *index, struct ddm_error *err) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end || errno || value < 0)
        return ddm_fail(err, DDM_EUSAGE,
                        "--array-index '%s': expected a sweep point 0, 1, ... (see --list-sweep)",
                        text);
    *index = value;
    return DDM_OK;
}

/* The combinations of options that cannot work, refused before any work. */
static int check_combinations(const struct ddm_cli *cli, struct ddm_error *err) {
    if (cli->resume_path) {
        const char *fixed = cli->output         ? "--output"
                            : cli->stages_given ? "--stages"
                            : cli->model_path   ? "--model"
                            : cli->shard_count  ? "--shard"
                            : cli->list_sweep   ? "--list-sweep"
                                                : NULL;
        if (cli->overwrite)
            return ddm_fail(err, DDM_EUSAGE,
                            "--resume continues the run in %s from its checkpoint; --overwrite "
                            "does not apply (to start that run again from scratch: ddm_gpu "
                            "CONFIG.ini --output %s --overwrite)",
                            cli->resume_path, cli->resume_path);
        if (fixed)
            return ddm_fail(err, DDM_EUSAGE,
                            "--resume continues the run in %s as it was started; %s does not "
                            "apply (the stages, model, shard and output come from the file)",
                            cli->resume_path, fixed);
        if (cli->array_index >= 0 && !cli->config_path)
            return ddm_fail(err, DDM_EUSAGE,
                            "--resume with --array-index needs the CONFIG.ini of the sweep (or "
                            "leave both out: the file has its configuration)");
        return DDM_OK;
    }
    if (!cli->config_path)
        return ddm_fail(err, DDM_EUSAGE,
                        "no config file given; usage: ddm_gpu CONFIG.ini [options] (see --help; "
                        "examples are in experiments/)");
    if (cli->list_sweep) return DDM_OK;
    if (cli->shard_count && cli->stage_train)
        return ddm_fail(err, DDM_EUSAGE,
                        "--shard does not train (every shard needs the same model): train once "
                        "with --stages train, then run the shards with --stages simulate --model "
                        "FILE.h5");
    if (cli->shard_count && cli->stage_analyze)
        return ddm_fail(err, DDM_EUSAGE,
                        "--shard runs the simulate stage only: merge the shards (ddm_gpu merge) "
                        "and analyze the merged file (--stages analyze --model merged.h5)");
    if (!cli->stage_train && !cli->model_path)
        return ddm_fail(err, DDM_EUSAGE, "%s needs --model FILE.h5 (a run file with /model)",
                        cli->shard_count ? "--shard" : "--stages without train");
    if (cli->stage_train && cli->model_path)
        return ddm_fail(err, DDM_EUSAGE,
                        "--model replaces training: use it with --stages simulate and/or analyze");
    if (cli->stage_analyze && !cli->stage_train && !cli->stage_simulate && cli->output)
        return ddm_fail(err, DDM_EUSAGE,
                        "--stages analyze alone writes /analysis into the --model file; "
                        "--output does not apply");
    return DDM_OK;
}

/* Checked here rather than when run_setup.c turns it into run.backend=... (or
 * simulate.on_nonfinite=...), so that the message names the option the user typed and not a
 * --set they never wrote. choices: three names. */
static int check_choice(const char *option, const char *value, const char *const choices[3],
                        struct ddm_error *err) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(value, choices[i])) return DDM_OK;
    int near = nearest_name(value, choices, 3);
    return ddm_fail(err, DDM_EUSAGE, "%s '%s' is not valid%s%s%s (valid: %s, %s, %s)", option,
                    value, near >= 0 ? " (did you mean '" : "", near >= 0 ? choices[near] : "",
                    near >= 0 ? "'?)" : "", choices[0], choices[1], choices[2]);
}

/* --threads N: a whole number 0 (the CPUs of the affinity mask) to 4096, as [run] threads. */
static int check_threads(const char *value, struct ddm_error *err) {
    char *end;
    errno = 0;
    long threads = strtol(value, &end, 10);
    if (errno || end == value || *end || threads < 0 || threads > 4096)
        return ddm_fail(err, DDM_EUSAGE,
                        "--threads '%s' is not valid (a whole number 0 to 4096; 0: the CPUs this "
                        "process may use)",
                        value);
    return DDM_OK;
}

int cli_parse(int argc, char **argv, struct ddm_cli *cli, struct ddm_error *err) {
    memset(cli, 0, sizeof *cli);
    cli->stage_train = cli->stage_simulate = cli->stage_analyze = 1;
    cli->array_index = -1;
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(cli->command_line);
        snprintf(cli->command_line + used, sizeof cli->command_line - used, "%s%s", i ? " " : "",
                 argv[i]);
    }
    const char *stages = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        int code = DDM_OK;
        if (matches(arg, "--help") || !strcmp(arg, "-h")) {
            cli->help = 1;
        } else if (matches(arg, "--version")) {
            cli->version = 1;
        } else if (matches(arg, "--quiet") || !strcmp(arg, "-q")) {
            cli->quiet = 1;
        } else if (matches(arg, "--set")) {
            if (!(code = option_value(argc, argv, &i, "--set", &value, err))) {
                if (!strchr(value, '=')) return set_without_equals(argc, argv, i, value, err);
                if (cli->nsets == CLI_MAX_SETS)
                    return ddm_fail(err, DDM_EUSAGE, "too many --set options (at most %d)",
                                    CLI_MAX_SETS);
                cli->sets[cli->nsets++] = value;
            }
        } else if (matches(arg, "--backend")) {
            static const char *const backends[] = {"auto", "cpu", "cuda"};
            code = option_value(argc, argv, &i, "--backend", &cli->backend, err);
            if (!code) code = check_choice("--backend", cli->backend, backends, err);
        } else if (matches(arg, "--on-nonfinite")) {
            static const char *const policies[] = {"stop", "drop", "keep"};
            code = option_value(argc, argv, &i, "--on-nonfinite", &cli->on_nonfinite, err);
            if (!code) code = check_choice("--on-nonfinite", cli->on_nonfinite, policies, err);
        } else if (matches(arg, "--threads")) {
            code = option_value(argc, argv, &i, "--threads", &cli->threads, err);
            if (!code) code = check_threads(cli->threads, err);
        } else if (matches(arg, "--output")) {
            code = option_value(argc, argv, &i, "--output", &cli->output, err);
        } else if (!strcmp(arg, "--overwrite")) {
            cli->overwrite = 1;
        } else if (matches(arg, "--model")) {
            code = option_value(argc, argv, &i, "--model", &cli->model_path, err);
        } else if (matches(arg, "--stages")) {
            code = option_value(argc, argv, &i, "--stages", &stages, err);
        } else if (matches(arg, "--list-sweep")) {
            cli->list_sweep = 1;
        } else if (matches(arg, "--array-index")) {
            code = option_value(argc, argv, &i, "--array-index", &value, err);
            if (!code) code = parse_index(value, &cli->array_index, err);
        } else if (matches(arg, "--shard")) {
            code = option_value(argc, argv, &i, "--shard", &value, err);
            if (!code) code = parse_shard(value, cli, err);
        } else if (matches(arg, "--resume")) {
            code = option_value(argc, argv, &i, "--resume", &cli->resume_path, err);
        } else if (arg[0] == '-' && arg[1]) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)strcspn(arg, "="), arg);
            int near = nearest_name(word, options, option_count);
            return ddm_fail(err, DDM_EUSAGE, "unknown option '%s'%s%s%s (see --help)", word,
                            near >= 0 ? " (did you mean '" : "", near >= 0 ? options[near] : "",
                            near >= 0 ? "'?)" : "");
        } else if (cli->config_path) {
            return ddm_fail(err, DDM_EUSAGE,
                            "more than one config file ('%s' and '%s'); give one CONFIG.ini",
                            cli->config_path, arg);
        } else {
            cli->config_path = arg;
        }
        if (code) return code;
    }
    if (cli->help || cli->version) return DDM_OK;
    if (stages) {
        int code = parse_stages(stages, cli, err);
        if (code) return code;
        cli->stages_given = 1;
    } else if (cli->shard_count) {
        cli->stage_train = cli->stage_analyze = 0; /* a shard simulates */
    }
    return check_combinations(cli, err);
}
