#!/usr/bin/python3
"""Checks the run file against its documentation, on real runs (called by `make test`, ~10 s).

1. Every group and dataset of a vdp run, a Lorenz run with state-dependent noise, an
   associative_recall run with cues, a merged (sharded) run and a stopped run carries `description`
   and `units`, and both equal the row of docs/output.md that names it; every row of the tables of
   docs/output.md is found in one of these files (the rows marked as written only when a run stops
   in training excepted).
2. xarray (engine h5netcdf) opens /simulate with named dimensions: latent is (trajectory, t,
   variable), `variable` holds the system's names and `t` the recorded times.
3. A live run ([output] live = true) read twice with h5py swmr=True shows more recorded times the
   second time; killed with SIGKILL, its file still opens with swmr=True, and with a plain open
   after `h5clear -s`. A live run stopped with SIGTERM holds its checkpoint and opens normally.

Usage: tests/check_output.py DDM_GPU [--table]   (--table prints the table docs/output.md holds)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "output.md")
SHORT = ["--quiet", "--overwrite", "--set", "run.threads=1", "--set", "train.samples=500", "--set", "train.epochs=3",
         "--set", "network.neurons=32", "--set", "simulate.trajectories=8",
         "--set", "analysis.pca_trajectories=2", "--set", "analysis.pca_samples=20",
         "--set", "analysis.lyapunov_steps=200", "--set", "analysis.lyapunov_transient=20",
         "--set", "analysis.hhd_grid=16", "--set", "analysis.decomposition_grid=8"]


def run(ddm, config, out, *extra):
    subprocess.run([ddm, os.path.join(ROOT, config), "--output", out, *SHORT, *extra], check=True)
    return out


def make_runs(ddm, tmp):
    """The files whose objects together cover every documented row."""
    vdp = run(ddm, "tests/valgrind.ini", f"{tmp}/vdp.h5")
    lorenz = run(ddm, "experiments/lorenz.ini", f"{tmp}/lorenz.h5", "--set", "simulate.steps=400",
                 "--set", "system.diffusion=0.1*(1+x^2); 0.1; 0.1")
    recall = run(ddm, "experiments/associative_recall.ini", f"{tmp}/recall.h5",
                 "--set", "simulate.dt=0.01", "--set", "simulate.steps=600",
                 "--set", "input.cues=1:2 pattern 0; 3:4 pattern 1")
    shards = []
    for i in range(2):
        shards.append(f"{tmp}/shard{i}.h5")
        subprocess.run([ddm, os.path.join(ROOT, "tests/valgrind.ini"), "--quiet", "--overwrite",
                        "--model", vdp, "--stages", "simulate", "--shard", f"{i}/2",
                        "--output", shards[-1]], check=True)
    subprocess.run([ddm, "merge", f"{tmp}/merged.h5", *shards, "--overwrite"], check=True,
                   stdout=subprocess.DEVNULL)
    return [vdp, lorenz, recall, f"{tmp}/merged.h5", data_run(ddm, tmp)]


def data_run(ddm, tmp):
    """A run compared with recorded data ([system] data): /analysis/data_comparison."""
    rng, dt = np.random.default_rng(1), 0.05
    z = np.zeros((4, 2000, 2))
    for t in range(1, z.shape[1]):  # a rotating OU, dz = (-z + J z) dt + dB, by Euler
        x, y = z[:, t - 1, 0], z[:, t - 1, 1]
        z[:, t] = z[:, t - 1] + dt * np.stack([-x + y, -x - y], 1) + np.sqrt(dt) * rng.standard_normal((4, 2))
    with h5py.File(f"{tmp}/ou_data.h5", "w") as f:
        f.create_dataset("trajectories", data=z).attrs["dt"] = dt
    with open(f"{tmp}/ou_data.ini", "w") as f:
        f.write(f"[system]\nname = rotating_ou\nvars = x, y\n"
                f"data = {tmp}/ou_data.h5\n[simulate]\ndt = 0.01\n"
                f"steps = 4000\nrecord_every = 5\n")
    return run(ddm, f"{tmp}/ou_data.ini", f"{tmp}/ou_data.h5.run.h5")


def doc_rows():
    """(pattern, units, description, when) of each row of the tables in docs/output.md."""
    rows = []
    for line in open(DOC, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `/") and len(cells) == 4:
            rows.append((cells[0].strip("`"), cells[1].strip("`"), cells[2], cells[3]))
    return rows


def pattern_regex(pattern):
    return re.compile("^" + re.escape(pattern).replace(r"\*", "[^/]*") + "$")


def objects(path):
    """{absolute name: (description, units)} of every group and dataset of the file."""
    found = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attr = lambda key: obj.attrs[key] if key in obj.attrs else None
            found[name] = (attr("description"), attr("units"))
        visit("/", f)
        f.visititems(lambda name, obj: visit("/" + name, obj))
    return found


def check_documented(files, rows):
    compiled = [(pattern_regex(p), p, u, d, w) for p, u, d, w in rows]
    used, failures = set(), []
    for path in files:
        for name, (description, units) in objects(path).items():
            row = next((r for r in compiled if r[0].match(name)), None)
            if description is None or units is None:
                failures.append(f"{os.path.basename(path)}:{name} has no description or units")
            elif row is None:
                failures.append(f"{os.path.basename(path)}:{name} is not in docs/output.md")
            elif (description, units) != (row[3], row[2]):
                failures.append(f"{name}: file says ({units}) {description!r}, "
                                f"docs/output.md ({row[2]}) {row[3]!r}")
            else:
                used.add(row[1])
    for _, pattern, _, _, when in compiled:
        if pattern not in used and "training" not in when:
            failures.append(f"docs/output.md documents {pattern}, which no test file holds")
    return failures


def check_xarray(path):
    import xarray
    ds = xarray.open_dataset(path, group="simulate", engine="h5netcdf")
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["system/variables"][()]]
        times = f["simulate/t"][()]
    failures = []
    if ds["latent"].dims != ("trajectory", "t", "variable"):
        failures.append(f"xarray: latent has dimensions {ds['latent'].dims}")
    if list(ds["variable"].values) != names:
        failures.append(f"xarray: variable holds {list(ds['variable'].values)}, not {names}")
    if not np.array_equal(ds["t"].values, times):
        failures.append("xarray: the t coordinate is not /simulate/t")
    if ds["traces"].dims != ("trace_trajectory", "t", "trace_neurons"):
        failures.append(f"xarray: traces has dimensions {ds['traces'].dims}")
    ds.close()
    return failures


def live_run(ddm, out):
    """A vdp run that streams for minutes unless stopped, written live."""
    return subprocess.Popen([ddm, os.path.join(ROOT, "tests/valgrind.ini"), "--quiet",
                             "--overwrite", "--output", out, "--set", "output.live=true",
                             "--set", "simulate.steps=100000000", "--set", "run.threads=1",
                             "--set", "simulate.record_every=1", "--set", "network.neurons=16"],
                            stderr=subprocess.DEVNULL)


def recorded_times(path, wait=20.0):
    """Recorded times of /simulate/latent, read with swmr=True; 0 while it does not exist."""
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            with h5py.File(path, "r", swmr=True) as f:
                if "simulate/latent" in f:
                    return f["simulate/latent"].shape[1]
        except OSError:
            pass
        time.sleep(0.1)
    return 0


def check_live(ddm, tmp):
    failures, path = [], f"{tmp}/live.h5"
    process = live_run(ddm, path)
    try:
        first = 0
        deadline = time.time() + 30
        while first <= 1 and time.time() < deadline:
            first = recorded_times(path)
            time.sleep(0.2)
        with h5py.File(path, "r", swmr=True) as f:  # one reader that refreshes, as a user would
            latent = f["simulate/latent"]
            before, after = latent.shape[1], latent.shape[1]
            deadline = time.time() + 30
            while after <= before and time.time() < deadline:
                time.sleep(0.2)
                latent.refresh()
                after = latent.shape[1]
        if not 1 < before < after:
            failures.append(f"live: recorded times {first}, then {before} -> {after}: no growth")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    try:
        with h5py.File(path, "r", swmr=True) as f:
            if f["simulate/latent"].shape[1] < after or not np.isfinite(f["simulate/latent"][()]).all():
                failures.append("live, killed: the recorded times are lost or not finite")
    except OSError as e:
        failures.append(f"live, killed: swmr=True cannot open it ({e})")
    subprocess.run(["h5clear", "-s", path], check=True)
    with h5py.File(path, "r") as f:
        if f.attrs["complete"] != 0:
            failures.append("live, killed: the file says it is complete")
    return failures + check_stopped(ddm, tmp)


def check_stopped(ddm, tmp):
    """SIGTERM during a live simulation: the checkpoint is written and the file opens normally."""
    path = f"{tmp}/stopped.h5"
    process = live_run(ddm, path)
    try:
        deadline = time.time() + 30
        while recorded_times(path) <= 1 and time.time() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    with h5py.File(path, "r") as f:
        if code == 0 or "checkpoint" not in f or f.attrs["interrupted"] != 1:
            return [f"live, stopped: exit {code}, no checkpoint or not marked interrupted"]
    return []


def table(files):
    """The rows the files hold, as docs/output.md writes them (a first draft of its table)."""
    rows = {}
    for path in files:
        for name, (description, units) in objects(path).items():
            rows.setdefault(name, (units, description))
    for name in sorted(rows):
        print(f"| `{name}` | `{rows[name][0]}` | {rows[name][1]} | |")


def main():
    ddm = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ddm_check_output_") as tmp:
        started = time.time()
        files = make_runs(ddm, tmp)
        if "--table" in sys.argv:
            table(files)
            return 0
        failures = check_live(ddm, tmp)
        files.append(f"{tmp}/stopped.h5")
        failures += check_documented(files, doc_rows())
        failures += check_xarray(files[0]) + check_xarray(files[3])
        for line in failures:
            print("check_output:", line, file=sys.stderr)
        print(f"check_output: {len(files)} files, {len(doc_rows())} documented objects, "
              f"live reading, xarray: {'FAILED' if failures else 'ok'} "
              f"({time.time() - started:.0f} s)")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
