"""run_bench.py — `make bench`: ddm's backends and the PyTorch / JAX peers, one table with ratios.

Runs build/bench/bench_ddm (every backend of this build: cpu, and cuda when a device answers) and
peer_torch.py, peer_jax.py (each skipped with a message when its framework is missing) as child
processes with the same sizes, parses their `*-bench` lines and prints neuron-steps/s per (B, n),
training epoch times, the ratio of ddm's best backend on the same device over each peer, and on a
GPU the fraction of the FP32 roofline and of the tanh-unit floor (docs/design.md §8); "n/a" on a CPU.
On a machine without a GPU the sizes default to --quick (B ∈ {256, 4096}, n ∈ {64, 512});
--full asks for the issue's grid (B ∈ {256, 4096, 16384}, n ∈ {64, 512, 1024}); --sizes 4096x1024
any grid (make bench BENCH_SIZES=4096x1024). Each child is killed after --timeout seconds.
--repeat N runs every child N times in turn and keeps each one's best figure (a shared machine);
--peers jax runs one peer only. The load average is printed before and after.
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
K = 3


def has_gpu():
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def parse(lines):
    """Each `ddm-bench` / `peer-bench` line as (kind, {key: value})."""
    records = []
    for line in lines:
        words = shlex.split(line)
        if len(words) >= 2 and words[0] in ("ddm-bench", "peer-bench"):
            fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
            records.append((words[1], fields))
    return records


def run(command, label, timeout):
    """The child's records; a child past `timeout` seconds is killed and what it printed so far
    is kept (a hung peer must not stall the table, nor a GPU lease)."""
    print(f"# running {label}: {' '.join(command)}", flush=True)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as late:
        out = late.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        print(f"# {label} killed after {timeout:g} s (--timeout); its finished rows are kept")
        return parse(out.splitlines()) + [("skip", {"impl": label, "reason": "timed out"})]
    if result.returncode != 0:
        print(f"# {label} failed (exit {result.returncode}): {result.stderr.strip()[-400:]}")
    return parse(result.stdout.splitlines())


def device_of(fields):
    """ddm's rows say backend=cuda, the peers' device=cuda (JAX's "gpu" counted as "cuda")."""
    device = "cuda" if fields.get("backend") == "cuda" else fields.get("device", "cpu")
    return "cuda" if device == "gpu" else device


def fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ddm", default="build/bench/bench_ddm")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--sizes", help="B,... x n,... (e.g. 4096x1024 or 256,4096x64,512): "
                        "the grid of B and n, instead of --quick / --full")
    parser.add_argument("--M", type=int, help="training points per epoch")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds after which a child (ddm or a peer) is killed")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run ddm and the peers this many times in turn and keep each one's "
                        "best figure: on a shared machine, each side's least disturbed run")
    parser.add_argument("--peers", default="torch,jax", help="peers to run (torch, jax)")
    args = parser.parse_args()
    gpu = has_gpu()
    quick = args.quick or (not gpu and not args.full and not args.sizes)
    Bs, ns = ([256, 4096], [64, 512]) if quick else ([256, 4096, 16384], [64, 512, 1024])
    if args.sizes:
        try:
            b_text, n_text = args.sizes.split("x")
            Bs, ns = [int(v) for v in b_text.split(",")], [int(v) for v in n_text.split(",")]
        except ValueError:
            parser.error(f"--sizes {args.sizes}: expected B,...xn,... such as 4096x1024")
    M = args.M or (16384 if quick else 65536)
    sizes = ",".join(f"{B}:{n}" for B in Bs for n in ns)
    common = ["--sizes", sizes, "--train-n", ",".join(map(str, ns)), "--M", str(M),
              "--seconds", str(args.seconds)]
    python = sys.executable or "python3"
    children = [([args.ddm] + common, "ddm")]
    children += [([python, os.path.join(HERE, f"peer_{p}.py")] + common, f"peer_{p}.py")
                 for p in args.peers.split(",") if p]
    print("# load average at the start: %.2f %.2f %.2f" % os.getloadavg())
    records = []
    for _ in range(max(1, args.repeat)):
        for command, label in children:
            records += run(command, label, args.timeout)
    print("# load average at the end: %.2f %.2f %.2f" % os.getloadavg())

    sim, train, devices, peaks, skips, named = {}, {}, {}, {}, [], set()
    for kind, f in records:
        if kind == "sim":
            impl = "ddm-" + f["backend"] if "backend" in f else f["impl"]
            key = (impl, int(f["B"]), int(f["n"]))
            sim[key] = max(sim.get(key, 0.0), float(f["rate"]))
            devices[impl] = device_of(f)
        elif kind == "train":
            impl = "ddm-" + f["backend"] if "backend" in f else f["impl"]
            key = (impl, int(f["n"]))
            train[key] = min(train.get(key, float("inf")), float(f["epoch_s"]))
            devices.setdefault(impl, device_of(f))
        elif kind == "peak":
            peaks = {key: float(value) for key, value in f.items() if key != "backend"}
        elif kind == "skip":
            skips.append(f"{f.get('impl', f.get('backend'))}: {f.get('reason')}")
        elif kind == "backend" and f["name"] not in named:  # once each, however many --repeat
            named.add(f["name"])
            print(f"# ddm backend {f['name']}: {f['device']}")
    impls = sorted({i for i, _, _ in sim}, key=lambda i: (not i.startswith("ddm"), i))
    peers = [i for i in impls if not i.startswith("ddm")]

    def ddm_best(device, key):
        best = [sim.get((i,) + key) for i in impls if i.startswith("ddm") and devices[i] == device]
        best = [b for b in best if b]
        return max(best) if best else None

    print(f"\nsimulation, k = {K}: neuron-steps/s" + (" (--quick sizes: no GPU here)" if quick else ""))
    header = f"{'B':>6} {'n':>5} " + " ".join(f"{i:>14}" for i in impls)
    header += " " + " ".join(f"{'ddm/' + p.split('-', 1)[1]:>14}" for p in peers)
    header += f" {'FP32 roofline':>14} {'tanh floor':>11}"
    print(header)
    for B in Bs:
        for n in ns:
            row = f"{B:>6} {n:>5} " + " ".join(f"{fmt(sim.get((i, B, n))):>14}" for i in impls)
            for p in peers:
                mine, theirs = ddm_best(devices[p], (B, n)), sim.get((p, B, n))
                row += f" {(fmt(mine / theirs, 3) + 'x') if mine and theirs else '—':>14}"
            cuda = sim.get(("ddm-cuda", B, n))
            if cuda and peaks:
                row += f" {cuda * (4 * K + 3) / peaks['fp32_flops']:>14.1%}"
                row += f" {cuda / peaks['tanh_rate']:>11.1%}"
            else:
                row += f" {'n/a':>14} {'n/a':>11}"
            print(row)
    timpls = sorted({i for i, _ in train}, key=lambda i: (not i.startswith("ddm"), i))
    print(f"\ntraining epoch, k = {K}, M = {M}, batch 1024: seconds (ratio: peer time / ddm time)")
    print(f"{'n':>5} " + " ".join(f"{i:>14}" for i in timpls))
    for n in ns:
        row = f"{n:>5} "
        for i in timpls:
            t = train.get((i, n))
            mine = [train.get((d, n)) for d in timpls
                    if d.startswith("ddm") and devices.get(d) == devices.get(i)]
            mine = [m for m in mine if m]
            ratio = f" ({t / min(mine):.2g}x)" if t and mine and not i.startswith("ddm") else ""
            row += f"{(fmt(t) + ratio):>14} "
        print(row)
    print("\nFP32 roofline: rate × (4k+3) flops per neuron-step / the device's FP32 peak; tanh floor:"
          " rate / (MUFU lanes × SMs × clock), one tanh per neuron-step (docs/design.md §8).")
    if not gpu:
        print("No GPU on this machine: every figure above is a CPU figure; no GPU was measured.")
    for s in dict.fromkeys(skips):  # once each, however many --repeat
        print(f"skipped {s}")


if __name__ == "__main__":
    main()
