#!/usr/bin/env bash
# docs_figures.sh — the small pictures of the README (docs/figures/*.png), made from one real,
# short van der Pol run and scripts/plot.py, so that they can be made again with one command
# whenever the figures change:
#
#     bash scripts/docs_figures.sh            # needs ./ddm_gpu (make) and /usr/bin/python3
#
# The run is vdp.ini with fewer epochs and trajectories (about a minute on 2 cores). Each figure
# of plot.py is found by what it shows (its name ends in _traces, _latent, ...: both the old
# run_*.png and names after the run work), shrunk to 640 pixels wide and stored with a
# 64-colour palette, so all of them together stay well under 1.5 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=/usr/bin/python3
[ -x "$python" ] || python=python3
[ -x ./ddm_gpu ] || { echo "docs_figures.sh: ./ddm_gpu is missing; run make first" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./ddm_gpu experiments/vdp.ini --output "$work/vdp.h5" --quiet \
    --set train.epochs=30 --set simulate.trajectories=64 --set simulate.steps=20000 \
    --set analysis.lyapunov_starts=4 --set analysis.lyapunov_steps=10000
# plot.py may gain --format (png|pdf|svg): ask for PNGs where it has it
format=()
if "$python" scripts/plot.py --help 2>/dev/null | grep -q -- '--format'; then format=(--format png); fi
"$python" scripts/plot.py "$work/vdp.h5" --out "$work/plots" "${format[@]}" >/dev/null

mkdir -p docs/figures
rm -f docs/figures/vdp_*.png
"$python" - "$work/plots" "$repo/docs/figures" <<'PY'
import glob, os, sys
from PIL import Image

plots, dest = sys.argv[1], sys.argv[2]
kinds = ["traces", "latent", "train", "pca", "decomposition", "hhd", "marginals", "lyapunov"]
total = 0
for kind in kinds:
    found = sorted(glob.glob(os.path.join(plots, f"*_{kind}.png")))
    if not found:
        sys.exit(f"docs_figures.sh: plot.py wrote no *_{kind}.png in {plots}")
    image = Image.open(found[0]).convert("RGB")
    width = 640
    height = round(image.height * width / image.width)
    image = image.resize((width, height), Image.LANCZOS).quantize(colors=64)
    path = os.path.join(dest, f"vdp_{kind}.png")
    image.save(path, optimize=True)
    total += os.path.getsize(path)
    print(f"{path}  {os.path.getsize(path) / 1024:.0f} kB")
print(f"total {total / 1024:.0f} kB")
if total > 1.5e6:
    sys.exit("docs_figures.sh: the figures take more than 1.5 MB")
PY
