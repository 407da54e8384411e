#!/usr/bin/env bash
# shared_machine.sh — how much one competing busy process slows a run (docs/performance.md).
#
# Times `ddm_gpu INI --stages train --quiet` quiet and with one `yes > /dev/null` running beside
# it, under three OpenMP wait policies:
#   spin-300k  GOMP_SPINCOUNT=300000: libgomp's own default (each thread spins 300 000 times at a
#              barrier before it sleeps), what every run did before the engine chose a policy
#   active     OMP_WAIT_POLICY=active: spin without ever sleeping
#   default    neither variable set: the engine re-executes itself with OMP_WAIT_POLICY=passive
# Each case runs REPEATS times, interleaved; the median is printed, with loaded/quiet and each
# policy's loaded time over the default's loaded time. `uptime` before and after says how quiet
# "quiet" was: on a shared machine compare the ratios, not the seconds.
# Usage: bash scripts/bench/shared_machine.sh [INI] [REPEATS]   (defaults: experiments/vdp.ini, 3)
# Environment: DDM_GPU (default ./ddm_gpu), RUN_TIMEOUT (seconds per run, default 300).
set -euo pipefail
ini=${1:-experiments/vdp.ini}
repeats=${2:-3}
ddm=${DDM_GPU:-./ddm_gpu}
limit=${RUN_TIMEOUT:-300}
[[ -x $ddm ]] || { echo "shared_machine.sh: $ddm not found (run make, or set DDM_GPU)" >&2; exit 2; }
[[ -r $ini ]] || { echo "shared_machine.sh: $ini not readable" >&2; exit 2; }
work=$(mktemp -d)
hog=
cleanup() {
    [[ -n $hog ]] && kill "$hog" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

policies=(spin-300k active default)
policy_env() {
    case $1 in
    spin-300k) echo "GOMP_SPINCOUNT=300000" ;;
    active) echo "OMP_WAIT_POLICY=active" ;;
    default) echo "" ;;
    esac
}

# seconds of one run (wall clock), or "timeout"
one_run() {
    local -a env_args=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT)
    local setting
    setting=$(policy_env "$1")
    [[ -n $setting ]] && env_args+=("$setting")
    local t0 t1
    t0=$(date +%s.%N)
    if ! timeout "$limit" "${env_args[@]}" "$ddm" "$ini" --stages train --output "$work/run.h5" \
        --overwrite --quiet >/dev/null; then
        echo timeout
        return
    fi
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "# $(uptime)"
echo "# $ddm $ini --stages train --quiet; $repeats runs each, median; $(nproc) CPUs"
declare -A times
for load in quiet loaded; do
    if [[ $load == loaded ]]; then
        yes >/dev/null &
        hog=$!
    fi
    for _ in $(seq "$repeats"); do
        for policy in "${policies[@]}"; do
            times[$policy.$load]+="$(one_run "$policy") "
        done
    done
    if [[ $load == loaded ]]; then
        kill "$hog"
        wait "$hog" 2>/dev/null || true
        hog=
    fi
done
echo "# $(uptime)"
default_loaded=$(tr ' ' '\n' <<<"${times[default.loaded]}" | grep -v '^$' | median)
printf '%-10s %10s %10s %14s %18s\n' policy quiet_s loaded_s loaded/quiet loaded/default
for policy in "${policies[@]}"; do
    if [[ ${times[$policy.quiet]}${times[$policy.loaded]} == *timeout* ]]; then
        printf '%-10s   (a run took over %s s: %s | %s)\n' "$policy" "$limit" \
            "${times[$policy.quiet]}" "${times[$policy.loaded]}"
        continue
    fi
    quiet=$(tr ' ' '\n' <<<"${times[$policy.quiet]}" | grep -v '^$' | median)
    loaded=$(tr ' ' '\n' <<<"${times[$policy.loaded]}" | grep -v '^$' | median)
    printf '%-10s %10.3f %10.3f %13.2fx %17.2fx\n' "$policy" "$quiet" "$loaded" \
        "$(echo "$loaded / $quiet" | bc -l)" "$(echo "$loaded / $default_loaded" | bc -l)"
done
