#!/usr/bin/env python3
"""fresh_drift_error.py — the drift error ε_f of a run file's /model on fresh paths, drawn here
independently of the engine (docs/training.md, "what the held-out ε_f measures").

Reads /system (drift, params, a constant diffusion) and /model of RUN.h5, integrates PATHS new
Euler–Maruyama paths in numpy from latent_mean + latent_scale·N(0, I), drops BURN time units, keeps
POINTS points along them, and prints ε_f = ‖f_RNN − f‖ / ‖f‖ over them beside the held-out figure of
/train, with the share of ‖f_RNN − f‖² that the 10 worst points carry.

    /usr/bin/python3 scripts/fresh_drift_error.py RUN.h5 [--paths 16] [--points 20000] [--seed 1]
"""
import argparse
import re

import h5py
import numpy as np

FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
             "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs, "sign": np.sign, "pow": np.power,
             "min": np.minimum, "max": np.maximum, "pi": np.pi}


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--paths", type=int, default=16)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--time", type=float, default=100.0)
    parser.add_argument("--burn", type=float, default=10.0)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with h5py.File(args.run, "r") as f:
        system, model = f["/system"], f["/model"]
        names = [text(v) for v in system["variables"][()]]
        scope = dict(FUNCTIONS, **{k: float(v) for k, v in system["params"].attrs.items()
                                   if k not in ("description", "units")})
        drift = [re.sub(r"\^", "**", e) for e in text(system.attrs["drift"]).split(";")]
        sigma = np.array([float(s) for s in text(system.attrs["diffusion"]).split(";")])
        gamma, ws, b = model["Gamma"][()], model["Ws"][()], model["b"][()]
        mean, scale = model["latent_mean"][()], model["latent_scale"][()]
        tau = float(model.attrs["tau"])
        held_out = float(f["/train"].attrs["drift_rel_err"])

    def f_true(z):
        local = dict(scope, **{n: z[:, c] for c, n in enumerate(names)})
        return np.stack([np.broadcast_to(eval(e, {"__builtins__": {}}, local), z[:, 0].shape)
                         for e in drift], axis=1)

    def f_rnn(z):
        z_hat = (z - mean) / scale
        return scale * (np.tanh(z_hat @ gamma.T + b) @ ws.T - z_hat) / tau

    rng = np.random.default_rng(args.seed)
    z = mean + scale * rng.standard_normal((args.paths, len(names)))
    burn, steps = int(args.burn / args.dt), int(args.time / args.dt)
    every = max(1, steps * args.paths // args.points)
    kept = []
    for step in range(burn + steps):
        z = z + f_true(z) * args.dt + sigma * np.sqrt(args.dt) * rng.standard_normal(z.shape)
        if step >= burn and (step - burn) % every == 0:
            kept.append(z.copy())
    points = np.concatenate(kept)[: args.points]
    error = ((f_rnn(points) - f_true(points)) ** 2).sum(axis=1)
    eps = np.sqrt(error.sum() / (f_true(points) ** 2).sum())
    worst = np.sort(error)[-10:].sum() / error.sum()
    print(f"eps_f on {len(points)} fresh points of {args.paths} paths: {eps:.3e} "
          f"(held out in /train: {held_out:.3e}); the 10 worst points carry {100 * worst:.1f} %")


if __name__ == "__main__":
    main()
