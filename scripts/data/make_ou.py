#!/usr/bin/env python3
"""make_ou.py — recorded trajectories of a rotating Ornstein–Uhlenbeck process, for
experiments/from_data_ou.ini (docs/from_data.md).

    dz = A z dt + sigma dB,   A = [[-1, -omega], [omega, -1]]

Sampled with the exact transition over each interval dt (no integration error):
z(t+dt) = e^{A dt} z(t) + xi, xi ~ N(0, (sigma^2/2)(1 - e^{-2 dt}) I), from the stationary
distribution N(0, (sigma^2/2) I). Exact values (the file's attributes): D = sigma^2/2 I,
stationary covariance Sigma = sigma^2/2 I (A Sigma + Sigma A^T + sigma^2 I = 0), entropy
production Phi = 2 omega^2 (f_irr = omega J z, Phi = <f_irr^T D^-1 f_irr>).

    /usr/bin/python3 scripts/data/make_ou.py [--out runs/ou_data.h5] [--trajectories 50]
        [--samples 20000] [--dt 0.01] [--omega 2] [--sigma 1] [--noise 0] [--seed 1]
        [--format h5|npy|csv]

--noise adds white measurement noise of that std to every sample (data_noise = estimate
removes its bias from the diffusion estimate).
"""
import argparse
import os

import numpy as np


def simulate(trajectories, samples, dt, omega, sigma, seed):
    rng = np.random.default_rng(seed)
    decay, angle = np.exp(-dt), omega * dt
    propagator = decay * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    kick = np.sqrt(sigma**2 / 2 * (1 - np.exp(-2 * dt)))
    z = np.empty((trajectories, samples, 2))
    z[:, 0] = rng.normal(0, sigma / np.sqrt(2), (trajectories, 2))
    for t in range(1, samples):
        z[:, t] = z[:, t - 1] @ propagator.T + kick * rng.normal(size=(trajectories, 2))
    return z


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/ou_data.h5")
    parser.add_argument("--trajectories", type=int, default=50)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--omega", type=float, default=2.0)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=["h5", "npy", "csv"], default=None)
    args = parser.parse_args()
    z = simulate(args.trajectories, args.samples, args.dt, args.omega, args.sigma, args.seed)
    if args.noise > 0:
        z += np.random.default_rng(args.seed + 1).normal(0, args.noise, z.shape)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    kind = args.format or os.path.splitext(args.out)[1].lstrip(".")
    if kind == "npy":
        np.save(args.out, z)
    elif kind == "csv":
        with open(args.out, "w") as out:
            out.write("x,y\n")
            for trajectory in z:
                np.savetxt(out, trajectory, delimiter=",", fmt="%.17g")
                out.write("nan,nan\n")
    else:
        import h5py

        with h5py.File(args.out, "w") as f:
            d = f.create_dataset("trajectories", data=z)
            d.attrs["dt"] = args.dt
            for name in ("omega", "sigma", "noise"):
                d.attrs[name] = getattr(args, name)
            d.attrs["D"] = args.sigma**2 / 2
            d.attrs["Phi"] = 2 * args.omega**2
    print(f"{args.out}: {args.trajectories} trajectories x {args.samples} samples, dt {args.dt}, "
          f"omega {args.omega}, sigma {args.sigma}; exact D = {args.sigma**2 / 2:g}, "
          f"Sigma = {args.sigma**2 / 2:g} I, Phi = {2 * args.omega**2:g}")


if __name__ == "__main__":
    main()
