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
# shellcheck source=submit_common.sh
source "$(dirname "$0")/submit_common.sh"
points=$("$DDM_GPU" "$config" --list-sweep "$@" | grep -vc '^#')
job=$(submit --gres="gpu:${NGPU:-0}" --array="0-$((points - 1))" \
    --output="$runs/logs/%x_%A_%a.out" "$here/sweep.sbatch" "$config" "$runs" "$@")
echo "sweep of $points points: array job $job; output in $runs"
