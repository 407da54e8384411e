#!/usr/bin/env python3
"""Noisy Lorenz trajectories for a system known from data (experiments/from_data_lorenz.ini).

    dx = sigma (y - x) dt + s dB1,  dy = (x (rho - z) - y) dt + s dB2,  dz = (x y - beta z) dt + s dB3

integrated by Euler-Maruyama at dt = 1e-3 (the step of experiments/lorenz.ini), started
on the attractor (a burn-in of 10 time units from random points), sampled every --delta (0.01).
Writes an HDF5 file with /trajectories (B, T, 3) float64, its attribute dt, and the truth as
attributes (params, noise, the largest Lyapunov exponent of the noise-free flow 0.9056).
Optional measurement noise (--obs-noise) is added to the samples only.

    scripts/data/make_lorenz.py runs/lorenz_data.h5 [--trajectories 32] [--time 100]
"""
import argparse

import h5py
import numpy as np

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
LAMBDA_MAX = 0.9056  # Sprott (2003), the standard parameters


def drift(z):
    x, y, w = z[:, 0], z[:, 1], z[:, 2]
    return np.stack([SIGMA * (y - x), x * (RHO - w) - y, x * y - BETA * w], axis=1)


def integrate(z, steps, dt, noise, rng):
    for _ in range(steps):
        z = z + drift(z) * dt + noise * np.sqrt(dt) * rng.standard_normal(z.shape)
    return z


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("output")
    ap.add_argument("--trajectories", type=int, default=32)
    ap.add_argument("--time", type=float, default=100.0, help="length of each trajectory")
    ap.add_argument("--delta", type=float, default=0.01, help="sampling interval")
    ap.add_argument("--noise", type=float, default=1.0, help="process noise s (dB coefficient)")
    ap.add_argument("--obs-noise", type=float, default=0.0, help="measurement noise std")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    fine = 1e-3
    per_sample = int(round(a.delta / fine))
    samples = int(round(a.time / a.delta))
    z = rng.normal(0.0, 5.0, (a.trajectories, 3)) + np.array([0.0, 0.0, 25.0])
    z = integrate(z, int(10 / fine), fine, a.noise, rng)
    out = np.empty((a.trajectories, samples, 3))
    for s in range(samples):
        out[:, s] = z
        z = integrate(z, per_sample, fine, a.noise, rng)
    if a.obs_noise > 0:
        out += a.obs_noise * rng.standard_normal(out.shape)
    with h5py.File(a.output, "w") as f:
        d = f.create_dataset("trajectories", data=out)
        d.attrs["dt"] = a.delta
        d.attrs["system"] = "lorenz: sigma=10, rho=28, beta=8/3"
        d.attrs["process_noise"] = a.noise
        d.attrs["measurement_noise"] = a.obs_noise
        d.attrs["lambda_max"] = LAMBDA_MAX
    print(f"{a.output}: {a.trajectories} trajectories x {samples} samples every {a.delta}")


if __name__ == "__main__":
    main()
