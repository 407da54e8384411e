#!/usr/bin/env python3
"""compare_h5.py REFERENCE.h5 OTHER.h5 DATASET... — CPU against CUDA (scripts/gpu/first_run.sh).

Each dataset of OTHER must match REFERENCE within the parity tests' tolerance, |a − b| ≤ 1e-4 (1 +
|b|), with NaN where REFERENCE has NaN. Prints one line of figures (largest |a − b| and the largest
ratio to the tolerance per dataset). Reads with h5py where it is installed, else with h5dump ($H5DUMP,
default the one on PATH: the bundle carries one). Exit 0 within tolerance, 1 not, 2 cannot compare.
"""
import math
import os
import re
import subprocess
import sys

TOLERANCE = 1e-4
NUMBER = re.compile(r"-?nan|[-+]?inf|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def read(path, name):
    try:
        import h5py
        with h5py.File(path, "r") as f:
            return [float(v) for v in f[name][...].ravel()]
    except ImportError:
        pass
    text = subprocess.run([os.environ.get("H5DUMP", "h5dump"), "-y", "-w", "0", "-m", "%.9g",
                           "-d", name, path], capture_output=True, text=True, check=True).stdout
    data = text[text.index("DATA {") + len("DATA {"):]
    data = data[:data.index("\n   }")]  # the dataset's values end there; its attributes follow
    return [float(v.lstrip("-") if "nan" in v else v) for v in NUMBER.findall(data)]


def compare(reference, other):
    """(largest |a − b|, largest |a − b| / tolerance, NaN mismatches, sizes differ)"""
    if len(reference) != len(other):
        return None
    worst = ratio = 0.0
    nan_mismatch = 0
    for b, a in zip(reference, other):
        if math.isnan(b) or math.isnan(a):
            nan_mismatch += math.isnan(b) != math.isnan(a)
            continue
        worst = max(worst, abs(a - b))
        ratio = max(ratio, abs(a - b) / (TOLERANCE * (1 + abs(b))))
    return worst, ratio, nan_mismatch


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    reference, other, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    figures, passed = [], True
    for name in names:
        try:
            result = compare(read(reference, name), read(other, name))
        except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as failure:
            print(f"cannot read {name}: {failure}".splitlines()[0])
            return 2
        if result is None:
            figures.append(f"{name}: sizes differ")
            passed = False
            continue
        worst, ratio, nan_mismatch = result
        passed &= ratio <= 1 and nan_mismatch == 0
        figures.append(f"{name} max |Δ| {worst:.2g} ({ratio:.2g} of the tolerance"
                       + (f", {nan_mismatch} NaN mismatches)" if nan_mismatch else ")"))
    print("; ".join(figures))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
