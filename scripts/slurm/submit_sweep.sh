#!/usr/bin/env bash
# submit_sweep.sh — every point of the [sweep] of CONFIG.ini as one SLURM array job.
#
#   scripts/slurm/submit_sweep.sh CONFIG.ini RUNS [ddm_gpu options, e.g. --set ...]
#   NGPU=1 SBATCH_ARGS="--partition=gpu" scripts/slurm/submit_sweep.sh ...
#
# Point i writes RUNS/sweep_i.h5 (its assignment is in the file's root attributes); logs go to
# RUNS/logs/. The points are listed (and checked) first with ddm_gpu --list-sweep.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
config=$1 runs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$runs/logs"
runs=$(cd "$runs" && pwd)
export DDM_SLURM=$here
DDM_GPU=${DDM_GPU:-$(command -v ddm_gpu || echo "$here/../../ddm_gpu")}
export DDM_GPU
points=$("$DDM_GPU" "$config" --list-sweep "$@" | grep -vc '^#')
read -r -a extra <<<"${SBATCH_ARGS:-}"
job=$(sbatch --parsable "${extra[@]}" --gres="gpu:${NGPU:-0}" --array="0-$((points - 1))" \
    --output="$runs/logs/%x_%A_%a.out" "$here/sweep.sbatch" "$config" "$runs" "$@" | cut -d';' -f1)
echo "sweep of $points points: array job $job; output in $runs"
