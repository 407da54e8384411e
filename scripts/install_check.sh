#!/usr/bin/env bash
# install_check.sh — make install into a temporary prefix, use what was installed (the binary on
# an installed experiment, from another directory, and the installed plot.py on its file), then
# make uninstall and check that the prefix is empty again. Run by `make test-install`.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
python=/usr/bin/python3
[ -x "$python" ] || python=python3

make --no-print-directory install PREFIX="$prefix" >/dev/null
for f in bin/ddm_gpu share/ddm_gpu/scripts/plot.py share/ddm_gpu/scripts/slurm/submit_sweep.sh \
         share/ddm_gpu/experiments/vdp.ini share/doc/ddm_gpu/README.md share/doc/ddm_gpu/LICENSE \
         share/doc/ddm_gpu/CITATION.cff share/doc/ddm_gpu/docs/configuration.md; do
    [ -e "$prefix/$f" ] || { echo "install_check: $prefix/$f was not installed" >&2; exit 1; }
done

# the binary and its run files name the commit they were built from, after an incremental build too
commit=$(git describe --always --dirty --abbrev=12 --match=NONE 2>/dev/null || echo unknown)
cd "$work"
"$prefix/bin/ddm_gpu" --version | grep -qF "($commit)" ||
    { echo "install_check: --version does not name the commit $commit: $("$prefix/bin/ddm_gpu" --version)" >&2; exit 1; }
"$prefix/bin/ddm_gpu" "$prefix/share/ddm_gpu/experiments/vdp.ini" --output vdp.h5 --quiet \
    --set train.samples=2000 --set train.epochs=2 --set simulate.trajectories=8 \
    --set simulate.steps=2000 --set analysis.lyapunov_steps=500 --set analysis.pca_trajectories=2
"$python" -c "import h5py, sys; f = h5py.File('vdp.h5', 'r'); sys.exit(0 if f.attrs['complete'] == 1 and f['simulate/latent'].shape == (8, 101, 2) else 1)" \
    || { echo "install_check: the installed binary's vdp.h5 is not a complete run" >&2; exit 1; }
"$python" "$prefix/share/ddm_gpu/scripts/plot.py" vdp.h5 --out plots >/dev/null
[ "$(ls plots | wc -l)" -ge 3 ] || { echo "install_check: the installed plot.py wrote no figures" >&2; exit 1; }
cd - >/dev/null

make --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f)
[ -z "$left" ] || { echo "install_check: make uninstall left: $left" >&2; exit 1; }
echo "install check: make install into $prefix, a run of the installed binary, the installed plot.py, make uninstall: all files gone"
