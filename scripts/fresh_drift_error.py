#!/usr/bin/env python3
"""fresh_drift_error.py — the drift error ε_f of run files' /model on fresh paths, drawn here
independently of the engine (docs/training.md, "what the held-out ε_f measures").

Reads /system (drift, params, a constant diffusion) of the first RUN.h5, integrates PATHS new
Euler–Maruyama paths in numpy from latent_mean + latent_scale·N(0, I), drops BURN time units,
keeps POINTS points along them, and prints for each run ε_f = ‖f_RNN − f‖ / ‖f‖ over them beside
the held-out figure of its /train, with the share of ‖f_RNN − f‖² that the 10 worst points carry.

Where the error sits in rare far excursions, one set of paths says little: --groups G splits the
paths into G sets and prints ε_f over each, and with several runs (of one system) the gain of each
against the first on the same points, pooled and over the sets (min, median, max).

    /usr/bin/python3 scripts/fresh_drift_error.py RUN.h5 [MORE.h5 ...] [--paths 16]
        [--points 20000] [--time 100] [--burn 10] [--groups 1] [--seed 1] [--bound 1e4]
"""
import argparse
import re

import h5py
import numpy as np

FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
             "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs, "sign": np.sign, "pow": np.power,
             "min": np.minimum, "max": np.maximum, "pi": np.pi}
CHUNK = 50000  # points per evaluation of f_RNN: (CHUNK, n) doubles at a time


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def target_drift(run):
    """f(z) of the run's /system, and the start (mean, scale) of its /model."""
    with h5py.File(run, "r") as f:
        system, model = f["/system"], f["/model"]
        names = [text(v) for v in system["variables"][()]]
        scope = dict(FUNCTIONS, **{k: float(v) for k, v in system["params"].attrs.items()
                                   if k not in ("description", "units")})
        drift = [re.sub(r"\^", "**", e) for e in text(system.attrs["drift"]).split(";")]
        sigma = np.array([float(s) for s in text(system.attrs["diffusion"]).split(";")])
        mean, scale = model["latent_mean"][()], model["latent_scale"][()]

    def f_true(z):
        local = dict(scope, **{n: z[:, c] for c, n in enumerate(names)})
        return np.stack([np.broadcast_to(eval(e, {"__builtins__": {}}, local), z[:, 0].shape)
                         for e in drift], axis=1)
    return f_true, sigma, mean, scale


def fresh_points(f_true, sigma, mean, scale, args):
    """(points, the path each came from) along args.paths new paths; a path that leaves
    |z_i| <= --bound (or becomes NaN) is dropped whole, as the engine drops its training paths."""
    rng = np.random.default_rng(args.seed)
    z = mean + scale * rng.standard_normal((args.paths, len(mean)))
    burn, steps = int(args.burn / args.dt), int(args.time / args.dt)
    every = max(1, steps * args.paths // args.points)
    kept, alive = [], np.ones(args.paths, bool)
    for step in range(burn + steps):
        z = z + f_true(z) * args.dt + sigma * np.sqrt(args.dt) * rng.standard_normal(z.shape)
        alive &= np.all(np.abs(z) <= args.bound, axis=1)
        z[~alive] = mean  # frozen where it cannot overflow; its points are dropped below
        if step >= burn and (step - burn) % every == 0:
            kept.append(z.copy())
    if not alive.all():
        print(f"{args.paths - alive.sum()} of {args.paths} paths left |z_i| <= {args.bound:g} "
              "and are left out")
    points = np.stack(kept)[:, alive].reshape(-1, len(mean))
    path = np.tile(np.flatnonzero(alive), len(kept))
    return points[: args.points], path[: args.points]


def squared_errors(run, points, f):
    """‖f_RNN − f‖² at each point for the /model of run, and its held-out ε_f."""
    with h5py.File(run, "r") as h:
        model = h["/model"]
        gamma, ws, b = model["Gamma"][()], model["Ws"][()], model["b"][()]
        mean, scale = model["latent_mean"][()], model["latent_scale"][()]
        tau = float(model.attrs["tau"])
        held_out = float(h["/train"].attrs["drift_rel_err"])
    error = np.empty(len(points))
    for start in range(0, len(points), CHUNK):
        z_hat = (points[start:start + CHUNK] - mean) / scale
        f_rnn = scale * (np.tanh(z_hat @ gamma.T + b) @ ws.T - z_hat) / tau
        error[start:start + CHUNK] = ((f_rnn - f[start:start + CHUNK]) ** 2).sum(axis=1)
    return error, held_out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN.h5")
    parser.add_argument("--paths", type=int, default=16)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--time", type=float, default=100.0)
    parser.add_argument("--burn", type=float, default=10.0)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--bound", type=float, default=1e4, help="|z_i| a path must stay within")
    parser.add_argument("--groups", type=int, default=1, help="sets of paths to report apart")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.groups <= args.paths:
        parser.error(f"--groups {args.groups}: give 1 to --paths ({args.paths})")
    f_true, sigma, mean, scale = target_drift(args.runs[0])
    points, path = fresh_points(f_true, sigma, mean, scale, args)
    f = f_true(points)
    group = path % args.groups
    norm = np.bincount(group, (f ** 2).sum(axis=1), args.groups)
    per_group = {}
    for run in args.runs:
        error, held_out = squared_errors(run, points, f)
        eps = np.sqrt(error.sum() / norm.sum())
        worst = np.sort(error)[-10:].sum() / error.sum()
        print(f"{run}: eps_f on {len(points)} fresh points of {args.paths} paths: {eps:.3e} "
              f"(held out in /train: {held_out:.3e}); the 10 worst points carry {100 * worst:.1f} %")
        per_group[run] = np.bincount(group, error, args.groups)
        if args.groups > 1:
            print("    by set of paths: " + " ".join(
                f"{e:.2e}" for e in np.sqrt(per_group[run] / norm)))
    first = args.runs[0]
    for run in args.runs[1:]:
        gain = np.sqrt(per_group[first] / per_group[run])
        pooled = np.sqrt(per_group[first].sum() / per_group[run].sum())
        sets = (f"; over the {args.groups} sets min ×{gain.min():.2f}, median "
                f"×{np.median(gain):.2f}, max ×{gain.max():.2f}" if args.groups > 1 else "")
        print(f"gain {first} → {run}: ×{pooled:.2f} pooled{sets}")


if __name__ == "__main__":
    main()
