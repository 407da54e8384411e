#!/usr/bin/env bash
# submit_ensemble.sh — one big ensemble on a SLURM cluster: train once, N shards, merge + analyze,
# chained with dependencies (afterok), so the whole pipeline is one command.
#
#   scripts/slurm/submit_ensemble.sh CONFIG.ini RUNS N [ddm_gpu options, e.g. --set ...]
#   NGPU=1 scripts/slurm/submit_ensemble.sh ...          # one GPU per training and shard job
#   SBATCH_ARGS="--partition=gpu --account=me" scripts/slurm/submit_ensemble.sh ...
#
# Writes RUNS/model.h5, RUNS/shard_{0..N-1}.h5, RUNS/merged.h5 and RUNS/logs/; prints the job ids.
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
config=$1 runs=$2 count=$3
shift 3
# shellcheck source=submit_common.sh
source "$(dirname "$0")/submit_common.sh"

train=$(submit --gres="gpu:${NGPU:-0}" --output="$runs/logs/%x_%j.out" \
    "$here/train.sbatch" "$config" "$runs" "$@")
shards=$(submit --gres="gpu:${NGPU:-0}" --dependency="afterok:$train" --array="0-$((count - 1))" \
    --output="$runs/logs/%x_%A_%a.out" "$here/ensemble.sbatch" "$config" "$runs" "$count" "$@")
merge=$(submit --dependency="afterok:$shards" --output="$runs/logs/%x_%j.out" \
    "$here/merge.sbatch" "$runs" "$count" "$config" "$@")
echo "train $train -> shards $shards (array 0-$((count - 1))) -> merge $merge; output in $runs"
