#!/usr/bin/env bash
# resumable.sh — runs ddm_gpu inside a SLURM job so that preemption and time limits cost at most
# one block of work: the job templates (sweep, ensemble, train .sbatch) `exec` it, so it is the
# batch shell and receives the job's signals.
#
#   resumable.sh OUT.h5 [CONFIG.ini OPTIONS...]
#
# A first start runs `ddm_gpu CONFIG.ini OPTIONS... --output OUT.h5`; when OUT.h5 exists (the job
# was requeued) it runs `ddm_gpu --resume OUT.h5`, or starts afresh with --overwrite if the file
# holds no checkpoint or is empty (a run killed before it wrote one: there is nothing to lose),
# and ends with success if the run in it is complete (a job requeued after its run ended, e.g. on
# a node failure). Any other refusal (a corrupt file, another configuration) fails the job and
# leaves the file for a person to look at. SIGTERM/SIGINT/SIGUSR1 (--signal=B:TERM@120,
# scancel, preemption) are passed on to ddm_gpu, which finishes its block, writes the checkpoint
# and exits with status 3; the job then requeues itself (sbatch --requeue) and comes back here.
set -uo pipefail

out=${1:?usage: resumable.sh OUT.h5 CONFIG.ini [OPTIONS...]}
shift
ddm=${DDM_GPU:-ddm_gpu}
child=

forward() { [[ -n $child ]] && kill -TERM "$child" 2>/dev/null; }
trap forward TERM INT USR1

# run ARGS...: ddm_gpu in the background, so a signal reaches the trap at once; its exit status
run() {
    "$ddm" "$@" &
    child=$!
    while kill -0 "$child" 2>/dev/null; do wait "$child"; done
    wait "$child"
    local status=$?
    child=
    return $status
}

echo "resumable.sh: job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname -s), $out"
status=0
if [[ -e $out ]]; then
    # ddm_gpu's stderr goes to the log as it comes and to a file, read once tee has finished
    exec 3> >(tee "$out.resume.err" >&2)
    tee_pid=$!
    run --resume "$out" 2>&3 || status=$?
    exec 3>&-
    wait "$tee_pid"
    if ((status == 2)) && grep -q 'has no /checkpoint\|is not an HDF5 file (it is empty)' \
        "$out.resume.err"; then
        echo "resumable.sh: $out has no checkpoint; starting the run again"
        status=0
        run "$@" --output "$out" --overwrite || status=$?
    elif ((status == 2)) && grep -q 'the run in it is complete' "$out.resume.err"; then
        echo "resumable.sh: the run in $out is complete; nothing to do"
        status=0
    fi
    rm -f "$out.resume.err"
else
    run "$@" --output "$out" || status=$?
fi
if ((status == 3)) && [[ -n ${SLURM_JOB_ID:-} ]]; then
    echo "resumable.sh: stopped with a checkpoint in $out; requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
fi
exit "$status"
