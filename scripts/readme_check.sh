#!/usr/bin/env bash
# readme_check.sh — the README's commands, run in order in a fresh temporary clone, as a new user
# would type them, with short settings so that the whole check takes about a minute.
#
#     bash scripts/readme_check.sh        # after make; run by .ci/run
#
# Every ```sh block of README.md is taken in order into one bash script (set -euo pipefail), so
# a here-document that writes an INI file works as it does in a terminal. Two changes only:
#   - `make deps` is left out (it needs root and the network; CI has run it already);
#   - a command that starts with ./ddm_gpu gets short settings appended (--set train.epochs=5,
#     fewer points, trajectories and steps), which take precedence over the README's own.
# The clone reuses this checkout's build (objects copied and touched newer than the clone's
# sources), so its `make` only checks them; READMECHECK_FULL_BUILD=1 builds from scratch.
# At the end every .h5 file the commands wrote must be a complete run, and every figure folder
# must hold figures written after it, and every file the README links to must be committed. HOME is a temporary folder, so nothing outside the clone is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clone=$tmp/clone
git clone -q "$repo" "$clone"
if [ "${READMECHECK_FULL_BUILD:-0}" != 1 ] && [ -x "$repo/ddm_gpu" ] && [ -d "$repo/build" ]; then
    cp -a "$repo/build" "$clone/build"
    rm -rf "$clone/build/sanitize" "$clone/build/valgrind" "$clone/build/fuzz"
    cp -a "$repo/ddm_gpu" "$clone/ddm_gpu"
    find "$clone/build" "$clone/ddm_gpu" -exec touch {} +
fi
# Every local file the README links to (pictures, docs) must be in the clone, i.e. committed: a
# file that exists only in this working tree would be missing on a user's checkout.
missing=0
for link in $(grep -o '](\(docs\|experiments\|scripts\)/[^)#]*' README.md | cut -c3- | sort -u); do
    [ -e "$clone/$link" ] || { echo "readme check: README links to $link, which is not committed" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1

short=(--set train.samples=2000 --set train.epochs=5 --set simulate.trajectories=16
       --set simulate.steps=2000 --set simulate.record_every=20 --set analysis.pca_trajectories=4
       --set analysis.lyapunov_steps=1000 --set analysis.lyapunov_transient=100
       --set analysis.hhd_grid=32 --set analysis.decomposition_grid=21)

script=$tmp/readme_commands.sh
{
    echo 'set -euo pipefail'
    echo "short_settings=(${short[*]})"
    awk '/^```sh$/ { inside = 1; next } /^```$/ { inside = 0; next } inside' README.md |
        sed -e '/^make deps\b/d' \
            -e 's|^\./ddm_gpu \(.*\)$|./ddm_gpu \1 "${short_settings[@]}"|'
} >"$script"
echo "== the README's commands (short settings appended to each ./ddm_gpu):"
grep -v '^short_settings=\|^set -euo' "$script" | sed 's/^/   /'

echo "== running them in $clone"
(cd "$clone" && HOME=$tmp/home && mkdir -p "$HOME" && export HOME && bash "$script") \
    >"$tmp/log" 2>&1 || {
    tail -40 "$tmp/log"
    echo "readme_check: a README command failed (the log's end is above)" >&2
    exit 1
}
grep -E '^(ddm_gpu|output|total) ' "$tmp/log" | sed 's/^/   /'

python=/usr/bin/python3
[ -x "$python" ] || python=python3
# every file a ./ddm_gpu command wrote (its summary's "output" line), wherever it went
files=$(awk '/^output / { print $2 }' "$tmp/log" | sort -u)
[ -n "$files" ] || { echo "readme_check: the README's commands wrote no .h5 file" >&2; exit 1; }
(cd "$clone" && "$python" - $files <<'PY'
import sys, h5py
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        if f.attrs.get("complete") != 1:
            sys.exit(f"readme_check: {path} is not a complete run")
        print(f"   {path}: complete, /simulate/latent {f['simulate/latent'].shape}")
PY
)
for h5 in $files; do
    base=${h5%.h5}
    figures=$(find "$clone" -maxdepth 3 -path "*${base}*" -newer "$clone/$h5" \( -name '*.png' -o -name '*.pdf' -o -name '*.svg' \) | wc -l)
    [ "$figures" -gt 0 ] || [ "$base" = vdp_mu2 ] ||
        { echo "readme_check: no figures of $h5 were written" >&2; exit 1; }
    echo "   $base: $figures figures"
done
echo "readme check: every command of README.md ran in order in a fresh clone ($(( $(date +%s) - start )) s)"
