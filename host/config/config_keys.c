/* config_keys.c — every INI key of the engine, once: default, range and help (docs/design.md §7).
 *
 * Adding a key means adding a row here and a field in struct ddm_config; loading, --set, --help
 * and the configuration written into the HDF5 file follow from the table.
 */
#include "config_keys.h"

#include <stddef.h>

#include "ddm/config.h"

#define FIELD(f) offsetof(struct ddm_config, f)
#define BIG      1e300

const char *const config_sections[] = {"system", "network",  "train",  "simulate",
                                       "input",  "analysis", "output", "run"};
const int config_section_count = sizeof config_sections / sizeof config_sections[0];

const struct config_key config_keys[] = {
    /* [system] */
    {"system", "name", KEY_STRING, FIELD(system_name), "", 0, 0, NULL,
     "built-in system (vdp, lorenz, dadras, double_well, ou) or a label for your own"},
    {"system", "vars", KEY_STRING, FIELD(vars), "", 0, 0, NULL,
     "latent variable names, e.g. 'x, y, z' (own system; k = their number, 1..8)"},
    {"system", "drift", KEY_STRING, FIELD(drift), "", 0, 0, NULL,
     "k drift expressions f(z) separated by ';', e.g. 'y; mu*(1 - x^2)*y - x'; terms in the "
     "time t form a forcing g(t) that drives the network as an input"},
    {"system", "params", KEY_STRING, FIELD(params), "", 0, 0, NULL,
     "parameters 'a=1, b=8/3' (values may be constant expressions); override a built-in's"},
    {"system", "define", KEY_STRING, FIELD(define), "", 0, 0, NULL,
     "helpers for drift and diffusion, ';'-separated: functions 'S(u) = 1/(1+exp(-u))' and "
     "intermediate variables 'r = sqrt(x^2 + y^2)'; each may use those defined before it"},
    {"system", "diffusion", KEY_STRING, FIELD(diffusion), "", 0, 0, NULL,
     "noise σ: one scalar (σI) or k expressions (diagonal σ(z)); terms in the time t add a noise "
     "s(t); default: the built-in's; with data: estimate (constant σ from the increments, the "
     "default) or estimate_state (σ(z))"},
    {"system", "diffusion_matrix", KEY_STRING, FIELD(diffusion_matrix), "", 0, 0, NULL,
     "full σ(z), k rows separated by ';' of m entries separated by ',' (m noise dimensions); "
     "terms in t add s(t)"},

    {"system", "patterns", KEY_STRING, FIELD(patterns), "", 0, 0, NULL,
     "wells only: the K well centres, ';'-separated rows of k numbers (default: count on a "
     "circle)"},
    {"system", "data", KEY_STRING, FIELD(data_path), "", 0, 0, NULL,
     "recorded trajectories to learn the system from instead of equations: .h5/.hdf5 (B,T,k) or "
     "(T,k), .npy (T,k) or (B,T,k), .csv (a column per variable; NaN rows split trajectories); "
     "docs/from_data.md"},
    {"system", "data_dataset", KEY_STRING, FIELD(data_dataset), "", 0, 0, NULL,
     "HDF5 data only: the dataset, e.g. '/trajectories'; empty: the only dataset in the file"},
    {"system", "data_dt", KEY_REAL, FIELD(data_dt), "auto", 1e-12, BIG, "auto",
     "sampling interval of the data; auto: the dataset's attribute 'dt' (must agree when both)"},
    {"system", "data_noise", KEY_STRING, FIELD(data_noise), "0", 0, 0, NULL,
     "measurement noise std σ_obs of the data: 0, a number, or 'estimate' (from the lag-1 "
     "covariance of increment residuals); its 2σ_obs²/Δ bias is removed from the diffusion "
     "estimate and its σ_obs²/Δ bias from the drift (Tweedie's formula)"},
    {"system", "data_holdout", KEY_REAL, FIELD(data_holdout), "0.2", 0.01, 0.9, NULL,
     "share of the data held out for the drift error: whole trajectories, or the last time block "
     "when there is one trajectory (never single points)"},
    {"system", "data_drift", KEY_CHOICE, FIELD(data_drift), "second_order", 0, 0,
     "first_order|second_order|third_order",
     "drift target from the increments: first_order (z(t+Δ) − z(t))/Δ, bias O(Δ); second_order "
     "(−3z(t) + 4z(t+Δ) − z(t+2Δ))/2Δ, bias O(Δ²); third_order, bias O(Δ³)"},

    /* [network] */
    {"network", "neurons", KEY_INT, FIELD(neurons), "256", 1, 1 << 20, "auto",
     "n, the number of tanh neurons; auto: doubled from 64 until the held-out ridge ε_f <= [train] "
     "target_drift_error (at most 1024)"},
    {"network", "tau", KEY_REAL, FIELD(tau), "1", 1e-9, BIG, NULL,
     "neuron time constant τ, in the target's time units"},
    {"network", "seed", KEY_SEED, FIELD(seed), "1", 0, 0, NULL,
     "seed of all randomness (initialisation, training points, noise)"},
    {"network", "init_gain", KEY_REAL, FIELD(init_gain), "auto", 0, BIG, "auto",
     "g: initial Γ̂ ~ N(0, g²/k); auto: the best held-out ridge ε_f of 0.25, 0.5, 1, 1.5"},
    {"network", "init_bias", KEY_REAL, FIELD(init_bias), "auto", 0, BIG, "auto",
     "g_b: initial b ~ U(-g_b, g_b); auto: the best held-out ridge ε_f of 1, 2"},

    /* [train] */
    {"train", "samples", KEY_INT, FIELD(samples), "20000", 16, 1 << 26, NULL,
     "M, number of training + held-out points"},
    {"train", "sampling", KEY_CHOICE, FIELD(sampling), "paths", 0, 0, "paths|box|both",
     "points along target paths (with jitter), uniform in a box, or half of each"},
    {"train", "epochs", KEY_INT, FIELD(epochs), "200", 0, 1 << 24, NULL,
     "Adam epochs after the closed-form ridge start (0: ridge start only)"},
    {"train", "batch", KEY_INT, FIELD(batch), "1024", 1, 1 << 26, NULL, "mini-batch size"},
    {"train", "lr", KEY_REAL, FIELD(lr), "1e-3", 0, 10, NULL, "peak Adam learning rate"},
    {"train", "schedule", KEY_CHOICE, FIELD(schedule), "cosine", 0, 0, "cosine|step|constant",
     "learning-rate schedule over the epochs (step: x0.1 at 50% and 75%)"},
    {"train", "weight_decay", KEY_REAL, FIELD(weight_decay), "0", 0, 1, NULL,
     "decoupled (AdamW) weight decay per step, relative to lr"},
    {"train", "ridge", KEY_REAL, FIELD(ridge), "1e-10", 0, 1e-3, NULL,
     "λ of the ridge readout W_s = Y Hᵀ(HHᵀ + λ·mean(diag HHᵀ) I)⁻¹ (raised if singular); with "
     "[system] data the least λ of the ridge start, which takes the evidence-maximising one"},
    {"train", "target_loss", KEY_REAL, FIELD(target_loss), "0", 0, BIG, NULL,
     "stop Adam once the epoch's training loss is below this (0: run all epochs)"},
    {"train", "jitter", KEY_REAL, FIELD(jitter), "0.1", 0, 10, NULL,
     "Gaussian jitter of path points, as a fraction of each coordinate's std"},
    {"train", "margin", KEY_REAL, FIELD(margin), "auto", 1, 10, "auto",
     "the fit also takes each training point moved out from their mean, to mean + margin·(z − "
     "mean), where the drift is known: the rarest excursions of new paths go beyond the training "
     "paths; 1: off; auto: 1.5 for paths of a system written as expressions, else 1"},
    {"train", "test_fraction", KEY_REAL, FIELD(test_fraction), "0.1", 0.001, 0.9, NULL,
     "share of the points held out for the drift error ε_f"},
    {"train", "paths", KEY_INT, FIELD(paths), "16", 1, 1 << 20, NULL,
     "number of independent target paths sampled"},
    {"train", "path_dt", KEY_REAL, FIELD(path_dt), "auto", 1e-12, BIG, "auto",
     "Euler–Maruyama step of the target paths; auto: min(1e-3, [simulate] dt, 0.05/ρ) with ρ the "
     "largest |eigenvalue| of the drift's Jacobian on the first points"},
    {"train", "path_time", KEY_REAL, FIELD(path_time), "100", 1e-12, BIG, NULL,
     "time recorded per path, after its burn-in"},
    {"train", "path_burn_in", KEY_REAL, FIELD(path_burn_in), "10", 0, BIG, NULL,
     "time dropped at the start of each path (paths start at [train] path_start)"},
    {"train", "path_bound", KEY_REAL, FIELD(path_bound), "1e4", 1e-12, BIG, NULL,
     "a path with some |z_i| above this has escaped and is dropped"},
    {"train", "box", KEY_STRING, FIELD(box), "", 0, 0, NULL,
     "box for box sampling, 'lo:hi' per coordinate separated by ','; empty: path range + 10%"},
    {"train", "path_start", KEY_STRING, FIELD(path_start), "", 0, 0, NULL,
     "where target paths start: a point 'z1, z2, ...' (spread by 1% of its size) or a box "
     "'lo:hi, ...'; empty: [simulate] start if given, else N(0, I)"},
    {"train", "target_drift_error", KEY_REAL, FIELD(target_drift_error), "0.001", 0, 1, NULL,
     "held-out ε_f that [network] neurons = auto grows n to reach (tight: λ₁ needs it)"},
    {"train", "gauss_newton", KEY_INT, FIELD(gauss_newton), "auto", 0, 1000, "auto",
     "Gauss–Newton rounds on the hidden layer (readout in closed form) before Adam; 0: none; "
     "auto: up to 8, ending when 2 in a row gain < 2% (above n = 256 the first 256 neurons)"},

    /* [simulate] */
    {"simulate", "trajectories", KEY_INT, FIELD(trajectories), "256", 1, 1 << 26, NULL,
     "B, noisy network trajectories"},
    {"simulate", "dt", KEY_REAL, FIELD(dt), "1e-3", 1e-12, BIG, NULL,
     "Euler–Maruyama step (stable for dt < 2τ; accurate for dt << τ)"},
    {"simulate", "steps", KEY_LONG, FIELD(steps), "10000", 1, 1e15, NULL,
     "steps recorded after the burn-in"},
    {"simulate", "record_every", KEY_INT, FIELD(record_every), "10", 1, 1 << 30, NULL,
     "r: keep every r-th step (T = steps/r + 1 recorded times, t = 0 included)"},
    {"simulate", "burn_in", KEY_LONG, FIELD(burn_in), "0", 0, 1e15, NULL,
     "steps run before recording starts"},
    {"simulate", "trace_trajectories", KEY_INT, FIELD(trace_trajectories), "4", 0, 1 << 20, NULL,
     "Bt, trajectories whose neuron traces are kept"},
    {"simulate", "trace_neurons", KEY_INT, FIELD(trace_neurons), "16", 0, 1 << 20, NULL,
     "nt, neurons traced (evenly spaced indices)"},
    {"simulate", "init", KEY_CHOICE, FIELD(init), "manifold", 0, 0, "manifold|off_manifold",
     "start on the manifold x = Γ̂ẑ + b, or displaced off it (orthogonally to range Γ̂)"},
    {"simulate", "init_offset", KEY_REAL, FIELD(init_offset), "1", 0, BIG, NULL,
     "std per neuron of the off-manifold displacement (init = off_manifold)"},
    {"simulate", "start", KEY_STRING, FIELD(start), "", 0, 0, NULL,
     "latent start point 'z1, z2, ...' for every trajectory; empty: random attractor points"},
    {"simulate", "neuron_noise", KEY_REAL, FIELD(neuron_noise), "0", 0, BIG, NULL,
     "σ_n, independent per-neuron noise (off-manifold perturbations)"},
    {"simulate", "on_nonfinite", KEY_CHOICE, FIELD(on_nonfinite), "stop", 0, 0, "stop|drop|keep",
     "a trajectory that blows up: stop the run (file incomplete, exit 1), or freeze it as NaN "
     "and go on, leaving it out of the analysis (drop) or keeping its finite part (keep)"},
    {"simulate", "blowup_bound", KEY_REAL, FIELD(blowup_bound), "1000", 0, BIG, NULL,
     "a recorded |z_c − μ_c| / s_c above this (latent scales of the training data) is a "
     "blow-up too, like NaN/Inf (0: only NaN/Inf)"},

    /* [analysis] */
    {"analysis", "pca", KEY_INT, FIELD(pca), "20", 0, 1 << 16, NULL,
     "leading explained-variance ratios of the neuron-space PCA kept (0: no PCA)"},
    {"analysis", "pca_trajectories", KEY_INT, FIELD(pca_trajectories), "16", 1, 1 << 16, NULL,
     "network trajectories simulated for the PCA ([simulate] dt, init, neuron_noise apply)"},
    {"analysis", "pca_samples", KEY_INT, FIELD(pca_samples), "256", 2, 1 << 20, NULL,
     "neuron states kept per PCA trajectory, the start included"},
    {"analysis", "pca_every", KEY_INT, FIELD(pca_every), "20", 1, 1 << 30, NULL,
     "steps between the kept PCA states"},
    {"analysis", "bounds", KEY_STRING, FIELD(bounds), "", 0, 0, NULL,
     "grid bounds 'lo:hi' per coordinate separated by ','; empty: visited region + 5%"},
    {"analysis", "decomposition_grid", KEY_INT, FIELD(decomposition_grid), "41", 0, 4096, NULL,
     "points per axis of the symmetric/asymmetric split and energy grid (0: off)"},
    {"analysis", "decomposition_axes", KEY_STRING, FIELD(decomposition_axes), "", 0, 0, NULL,
     "1 to 3 variables spanning that grid, e.g. 'x, z'; empty: all if k <= 3, else the first two"},
    {"analysis", "decomposition_at", KEY_STRING, FIELD(decomposition_at), "", 0, 0, NULL,
     "'z1, ..., zk': where the other variables are held; empty: mean of the visited region"},
    {"analysis", "hhd_grid", KEY_INT, FIELD(hhd_grid), "64", 0, 4096, NULL,
     "points per axis of the stationary-density grid of the Helmholtz–Hodge split (0: off)"},
    {"analysis", "hhd_bandwidth", KEY_REAL, FIELD(hhd_bandwidth), "0", 0, 10, NULL,
     "KDE kernel std / each coordinate's std (0: chosen by held-out score matching)"},
    {"analysis", "hhd_cut", KEY_REAL, FIELD(hhd_cut), "1e-5", 0, 1, NULL,
     "f_rev, f_irr and the grid Φ use the cells with density >= hhd_cut × its maximum"},
    {"analysis", "burn_in_fraction", KEY_REAL, FIELD(burn_in_fraction), "0.1", 0, 0.99, NULL,
     "share of each recorded trajectory dropped before the stationary statistics"},
    {"analysis", "batches", KEY_INT, FIELD(batches), "8", 2, 1 << 16, NULL,
     "independent batches of trajectories for the error bars (std/sqrt(batches))"},
    {"analysis", "max_samples", KEY_INT, FIELD(max_samples), "65536", 1, 1 << 30, NULL,
     "recorded samples per process at which f and div f are evaluated for Φ (evenly strided)"},
    {"analysis", "lyapunov_steps", KEY_LONG, FIELD(lyapunov_steps), "20000", 0, 1e12, NULL,
     "RK4 steps of the noise-free latent flow averaged per start (0: no Lyapunov spectra)"},
    {"analysis", "lyapunov_transient", KEY_LONG, FIELD(lyapunov_transient), "1000", 0, 1e12, NULL,
     "RK4 steps run and discarded before averaging"},
    {"analysis", "lyapunov_dt", KEY_REAL, FIELD(lyapunov_dt), "0.01", 1e-9, BIG, NULL,
     "RK4 step of the flow and of its variational equation"},
    {"analysis", "lyapunov_starts", KEY_INT, FIELD(lyapunov_starts), "4", 1, 4096, NULL,
     "starting points on the attractor, for network and target each"},
    {"analysis", "lyapunov_precision", KEY_REAL, FIELD(lyapunov_precision), "0.025", 0, 1, NULL,
     "each flow's run is doubled, up to 16 x lyapunov_steps, until the standard error of "
     "lambda_1 over the starts is at most this fraction of |lambda_1| (0: exactly lyapunov_steps)"},
    {"analysis", "stats_bins", KEY_INT, FIELD(stats_bins), "100", 2, 1 << 20, NULL,
     "bins of the stored marginal histograms (W1 uses 64 times finer bins)"},
    {"analysis", "recall_delay", KEY_REAL, FIELD(recall_delay), "2", 0, BIG, NULL,
     "memory: time after a cue ends at which recall is scored (the state must be in the cued "
     "well)"},
    {"analysis", "well_radius", KEY_REAL, FIELD(well_radius), "0", 0, BIG, NULL,
     "memory: a state is in a well within this distance of its pattern (0: 1/3 of the closest "
     "two patterns' distance)"},
    {"analysis", "fixed_point_seeds", KEY_INT, FIELD(fixed_point_seeds), "256", 0, 1 << 20, NULL,
     "Newton seeds over the visited region and a margin around it, per flow, besides the "
     "trajectory ends (0: no fixed-point analysis)"},
    {"analysis", "fixed_point_match", KEY_REAL, FIELD(fixed_point_match), "0.1", 0, BIG, NULL,
     "a network fixed point matches a target one of the same type within this distance "
     "(in per-coordinate stds of the target's visited region)"},

    /* [input] */
    {"input", "cues", KEY_STRING, FIELD(cues), "", 0, 0, NULL,
     "cue schedule 'START:END pattern J [strength S]; START:END vector v1, v2 ...' (times after "
     "the burn-in; patterns count from 0)"},
    {"input", "strength", KEY_REAL, FIELD(cue_strength), "1", 0, BIG, NULL,
     "default strength of a cue: |u| of the tilt V - u·z"},

    /* [output] */
    {"output", "path", KEY_STRING, FIELD(output_path), "ddm_{name}.h5", 0, 0, NULL,
     "HDF5 file to write; {name}: the system name, {index}: the sweep point, {shard}: the "
     "shard, {section.key} (or {key}): the value of a key"},
    {"output", "live", KEY_CHOICE, FIELD(output_live), "false", 0, 0, "false|true",
     "true: the simulation can be read while it runs (HDF5 SWMR, h5py swmr=True); a run killed "
     "without warning then leaves a file to open with swmr=True or h5clear -s (docs/output.md)"},

    /* [run] */
    {"run", "backend", KEY_CHOICE, FIELD(backend), "auto", 0, 0, "auto|cpu|cuda",
     "auto picks CUDA when a GPU is present, else the CPU"},
    {"run", "threads", KEY_INT, FIELD(threads), "0", 0, 4096, NULL,
     "CPU threads (0: the CPUs of the affinity mask)"},
    {"run", "device", KEY_INT, FIELD(device), "0", 0, 64, NULL, "CUDA device index"},
    {"run", "memory_limit", KEY_REAL, FIELD(memory_limit), "0", 0, BIG, NULL,
     "GiB of host memory the run may take (0: what the machine allows: MemAvailable, the "
     "cgroup, ulimit); a run estimated above it is refused before it starts"},
};
const int config_key_count = sizeof config_keys / sizeof config_keys[0];
