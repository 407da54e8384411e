#!/usr/bin/env python3
"""Trains and simulates every system of scripts/systems/*.ini with the engine's defaults and prints
one table: drift error ε_f after the ridge start and at the end, on held-out points and on fresh
paths (docs/training.md), the chosen n, λ₁ of network and target, and the wall time of each run.

    python3 scripts/systems/table.py [OUTDIR] [NAME ...] [SECTION.KEY=VALUE ...]
                                         (needs h5py; run from the repo root)

A SECTION.KEY=VALUE argument is passed to every run as --set (train.margin=1: the table without
margin points).
"""
import glob, os, subprocess, sys, time

import h5py

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else "systems_out"
wanted = {a for a in sys.argv[2:] if "=" not in a}
settings = [x for a in sys.argv[2:] if "=" in a for x in ("--set", a)]
os.makedirs(out, exist_ok=True)
rows = []
print(f"{'system':22} {'k':>2} {'n':>5} {'ε_f ridge':>10} {'ε_f final':>10} {'fresh ridge':>11} "
      f"{'fresh final':>11} "
      f"{'λ₁ net ± err':>15} {'λ₁ target ± err':>15} {'Δλ₁':>6} {'time s':>7}  note", flush=True)
for ini in sorted(glob.glob(os.path.join(here, "*.ini"))):
    name = os.path.splitext(os.path.basename(ini))[0]
    if wanted and name not in wanted:
        continue
    h5 = os.path.join(out, name + ".h5")
    t0 = time.time()
    run = subprocess.run(["./ddm_gpu", ini, "--output", h5, "--overwrite", "--quiet",
                          "--on-nonfinite", "drop"] + settings, capture_output=True, text=True)
    seconds = time.time() - t0
    if run.returncode != 0 or not os.path.exists(h5):
        print(f"{name:22} failed (exit {run.returncode}): {run.stderr.strip()[:160]}", flush=True)
        rows.append((name, None))
        continue
    with h5py.File(h5, "r") as f:
        train = f["train"].attrs
        k = int(f["model"].attrs["k"])
        lyap = f.get("analysis/lyapunov")
        def spectrum(name):
            if lyap is None or name not in lyap:
                return float("nan"), float("nan")
            return float(lyap[name][0]), float(lyap[name + "_error"][0])
        net, net_err = spectrum("rnn")
        tgt, tgt_err = spectrum("target")
        ridge, final = float(train["ridge_drift_rel_err"]), float(train["drift_rel_err"])
        fresh_ridge = float(train.get("ridge_fresh_drift_rel_err", float("nan")))
        fresh = float(train.get("fresh_drift_rel_err", float("nan")))
        n = int(f["model"].attrs["n"])
    off = abs(net - tgt) / abs(tgt) if tgt else float("nan")
    rows.append((name, (final, off, fresh)))
    note = run.stderr.strip().splitlines()[-1][:80] if run.stderr.strip() else ""
    print(f"{name:22} {k:2d} {n:5d} {ridge:10.2e} {final:10.2e} {fresh_ridge:11.2e} {fresh:11.2e} {net:7.3f} ± {net_err:5.3f} {tgt:7.3f} ± {tgt_err:5.3f} "
          f"{off:6.1%} {seconds:7.1f}  {note}", flush=True)
done = [r for _, r in rows if r]
print(f"ran {len(done)} of {len(rows)}; ε_f < 1%: {sum(r[0] < 0.01 for r in done)} held out, "
      f"{sum(r[2] < 0.01 for r in done)} on fresh paths; "
      f"λ₁ within 10%: {sum(r[1] <= 0.1 for r in done)}")
