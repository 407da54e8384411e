"""peer_common.py — what the PyTorch and JAX peers share: the problem, the options, the output.

The peers implement the very Euler–Maruyama step of ddm (docs/design.md §4) and its training step
(docs/design.md §3) in float32, with the same B, n, k = 3, m = 3, dt = 1e-3, τ = 1, constant Ŝ, and print
one machine-readable line per measurement for run_bench.py:
    peer-bench sim impl=NAME device=DEV B=.. n=.. k=.. rate=NEURON_STEPS_PER_S
    peer-bench train impl=NAME device=DEV n=.. k=.. M=.. batch=.. epoch_s=SECONDS
"""
import argparse
import time

import numpy as np

K, DT, TAU, BATCH = 3, 1e-3, 1.0, 1024


def options(variants):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="256:64,256:512,256:1024,4096:64,4096:512,"
                        "4096:1024,16384:64,16384:512,16384:1024", help="B:n pairs")
    parser.add_argument("--train-n", default="64,512,1024")
    parser.add_argument("--M", type=int, default=65536, help="training points per epoch")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--variants", default=variants)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    args = parser.parse_args()
    args.sizes = [tuple(int(v) for v in pair.split(":")) for pair in args.sizes.split(",") if pair]
    args.train_n = [int(v) for v in args.train_n.split(",") if v]
    args.variants = [v for v in args.variants.split(",") if v]
    return args


def device_name(platform):
    """One name per kind of device across ddm and the peers: JAX says "gpu" where ddm and
    PyTorch say "cuda", and run_bench.py compares rows of the same device only."""
    return "cuda" if platform in ("gpu", "cuda") else platform


def model(n, k=K, seed=1):
    """Γ̂ (n,k), Ŵ_s (k,n), b (n), Ŝ (k,k), Γ̂⁺ (k,n) as float32 arrays: a random network."""
    rng = np.random.default_rng(seed)
    gamma = rng.standard_normal((n, k)).astype(np.float32)
    ws = (rng.standard_normal((k, n)) / n).astype(np.float32)
    b = rng.uniform(-1, 1, n).astype(np.float32)
    s = (0.1 * np.eye(k)).astype(np.float32)
    pinv = np.linalg.pinv(gamma.astype(np.float64)).astype(np.float32)
    return gamma, ws, b, s, pinv


def points(m_points, k=K, seed=3):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((m_points, k)).astype(np.float32)
    return z, z.copy()


def timed(run_block, seconds, first_steps=10):
    """Neuron-step rate driver: run_block(steps) runs and synchronises that many steps; returns
    (steps done, seconds) after a warm-up block, doubling the block while blocks are short."""
    run_block(first_steps)
    steps, done, elapsed = first_steps, 0, 0.0
    while elapsed < seconds:
        t0 = time.perf_counter()
        run_block(steps)
        dt = time.perf_counter() - t0
        done, elapsed = done + steps, elapsed + dt
        if dt < 0.1 * seconds:
            steps *= 2
    return done, elapsed


def report_sim(impl, device, B, n, rate):
    print(f"peer-bench sim impl={impl} device={device} B={B} n={n} k={K} rate={rate:.4g}",
          flush=True)


def report_train(impl, device, n, m_points, seconds):
    print(f"peer-bench train impl={impl} device={device} n={n} k={K} M={m_points} "
          f"batch={BATCH} epoch_s={seconds:.4g}", flush=True)


def skip(impl, reason):
    print(f'peer-bench skip impl={impl} reason="{reason}"', flush=True)
