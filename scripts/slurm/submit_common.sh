# shellcheck shell=bash
# submit_common.sh — sourced by the submit_*.sh scripts (not run): with `runs` set to the RUNS
# folder, makes RUNS/logs and RUNS absolute, exports DDM_SLURM (this folder) and DDM_GPU (the
# binary: $DDM_GPU, else ddm_gpu on PATH, else the build of this checkout), and defines
# `submit ARGS...`: sbatch --parsable with $SBATCH_ARGS, printing the job id.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$runs/logs"
runs=$(cd "$runs" && pwd)
export DDM_SLURM=$here
DDM_GPU=${DDM_GPU:-$(command -v ddm_gpu || echo "$here/../../ddm_gpu")}
export DDM_GPU
read -r -a extra <<<"${SBATCH_ARGS:-}"
submit() { sbatch --parsable "${extra[@]}" "$@" | cut -d';' -f1; }
