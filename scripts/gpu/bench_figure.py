#!/usr/bin/env python3
"""bench_figure.py LOG — one line of figures from the tables of scripts/bench/run_bench.py, for the
summary of scripts/gpu/first_run.sh: ddm-cuda's neuron-steps/s and µs per step at each size, its
ratio to each peer, and the training epoch. Exit 0 when there is a ddm-cuda figure, 1 when not
(the line then gives the reason run_bench.py printed)."""
import sys


def table(lines, title):
    """The rows of the table after the line starting with `title`, as dicts by column name."""
    start = next((i for i, line in enumerate(lines) if line.startswith(title)), None)
    if start is None or start + 1 >= len(lines):
        return []
    names = (lines[start + 1].replace("FP32 roofline", "roofline").replace("tanh floor", "floor")
             .split())
    rows = []
    for line in lines[start + 2:]:
        cells = line.split()
        if not cells or not cells[0].isdigit():
            break
        cells = [c for c in cells if not c.startswith("(")]  # "0.5 (2.1x)": the ratio is dropped
        rows.append(dict(zip(names, cells)))
    return rows


def main():
    lines = open(sys.argv[1], errors="replace").read().splitlines()
    figures = []
    for r in table(lines, "simulation"):
        if r.get("ddm-cuda", "—") == "—":
            continue
        rate = float(r["ddm-cuda"])
        per_step = int(r["B"]) * int(r["n"]) / rate * 1e6
        ratios = ", ".join(f"{k}: {v}" for k, v in r.items() if k.startswith("ddm/"))
        figures.append(f"B {r['B']} n {r['n']}: {rate:.3g} neuron-steps/s = {per_step:.3g} µs/step"
                       f" ({ratios}; tanh floor {r.get('floor', 'n/a')})")
    if not figures:
        skips = [line[len("skipped "):] for line in lines if line.startswith("skipped cuda")]
        print("no ddm-cuda figure" + (f" ({skips[0]})" if skips else ""))
        return 1
    for r in table(lines, "training epoch"):
        if r.get("ddm-cuda", "—") != "—":
            peers = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("n", "ddm-cuda"))
            figures.append(f"train n {r['n']}: {r['ddm-cuda']} s/epoch ({peers})")
    print("; ".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
