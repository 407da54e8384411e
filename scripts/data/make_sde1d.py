#!/usr/bin/env python3
"""A 1-D process with state-dependent noise and a known stationary density
(experiments/from_data_multiplicative.ini), and the check of a run against that density.

    dz = -z dt + sqrt(2 s (1 + z^2)) dB,   D(z) = s (1 + z^2)

Zero flux gives p(z) ∝ exp(∫ f/D) / D = (1 + z^2)^(-1 - 1/(2s)): a Student t with nu = 1 + 1/s
degrees of freedom scaled by 1/sqrt(nu); for s = 1/4 (the default) p ∝ (1 + z^2)^-3, nu = 5,
var z = 1/(nu - 2) = 1/3.

    scripts/data/make_sde1d.py runs/sde1d_data.h5        writes /trajectories (B, T, 1), attr dt
    scripts/data/make_sde1d.py --compare run.h5          network's /simulate/latent against p:
                                                         W1 and the largest CDF gap

Euler-Maruyama at dt = 1e-3, sampled every --delta (0.01), started from the exact density.
"""
import argparse

import h5py
import numpy as np


def exact_cdf(grid, s):
    """The stationary CDF on an increasing grid, by the trapezoid rule on a fine mesh."""
    mesh = np.linspace(-60, 60, 600001)
    p = (1 + mesh**2) ** (-1 - 1 / (2 * s))
    cdf = np.concatenate([[0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(mesh))])
    return np.interp(grid, mesh, cdf / cdf[-1])


def sample_exact(n, s, rng):
    nu = 1 + 1 / s
    return rng.standard_t(nu, n) / np.sqrt(nu)


def simulate(a):
    rng = np.random.default_rng(a.seed)
    fine = 1e-3
    per_sample = int(round(a.delta / fine))
    samples = int(round(a.time / a.delta))
    z = sample_exact(a.trajectories, a.s, rng)
    out = np.empty((a.trajectories, samples, 1))
    for q in range(samples):
        out[:, q, 0] = z
        for _ in range(per_sample):
            z = z - z * fine + np.sqrt(2 * a.s * (1 + z**2) * fine) * rng.standard_normal(z.shape)
    with h5py.File(a.output, "w") as f:
        d = f.create_dataset("trajectories", data=out)
        d.attrs["dt"] = a.delta
        d.attrs["system"] = f"dz = -z dt + sqrt(2 s (1 + z^2)) dB, s = {a.s}"
        d.attrs["stationary_density"] = f"(1 + z^2)^(-1 - 1/(2 s)), s = {a.s}"
    print(f"{a.output}: {a.trajectories} trajectories x {samples} samples every {a.delta}")


def compare(a):
    with h5py.File(a.compare, "r") as f:
        z = f["simulate/latent"][...]
    burn = int(a.burn_in_fraction * z.shape[1])
    z = np.sort(z[:, burn:, 0].ravel())
    z = z[np.isfinite(z)]
    empirical = np.arange(1, z.size + 1) / z.size
    exact = exact_cdf(z, a.s)
    gap = max(np.max(np.abs(empirical - exact)), np.max(np.abs(empirical - 1 / z.size - exact)))
    grid = np.linspace(z[0], z[-1], 200001)
    w1 = np.trapz(np.abs(np.searchsorted(z, grid, side="right") / z.size - exact_cdf(grid, a.s)),
                  grid)
    std = np.sqrt(1 / (1 / a.s - 1))
    print(f"{a.compare}: {z.size} network samples · W1 to the exact density {w1:.4g} "
          f"({w1 / std:.3g} of its std {std:.4g}) · largest CDF gap {gap:.4g} · "
          f"sample var {z.var():.4g} (exact {std**2:.4g})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("output", nargs="?")
    ap.add_argument("--compare", metavar="RUN_H5")
    ap.add_argument("--burn-in-fraction", type=float, default=0.2)
    ap.add_argument("--trajectories", type=int, default=100)
    ap.add_argument("--time", type=float, default=50.0, help="length of each trajectory")
    ap.add_argument("--delta", type=float, default=0.01, help="sampling interval")
    ap.add_argument("--s", type=float, default=0.25, help="noise scale s of D(z) = s (1 + z^2)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.compare:
        compare(a)
    elif a.output:
        simulate(a)
    else:
        ap.error("name an output file or --compare RUN_H5")


if __name__ == "__main__":
    main()
