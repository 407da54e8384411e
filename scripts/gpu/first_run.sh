#!/usr/bin/env bash
# first_run.sh [ARCHIVE] — the first run of ddm_gpu on a bare GPU machine, in one command
# (docs/gpu.md). Installs nothing. With the archive of `make gpu-bundle` (default
# .gpucarry/ddm_gpu_bundle.tar.xz) beside this checkout it records the machine, unpacks the
# archive, resolves the CUDA libraries (the toolkit's, else the loader's, else those inside the
# torch wheels), and runs: the GPU parity tests with DDM_REQUIRE_GPU=1, CPU against CUDA at each
# forced simulation shape, compute-sanitizer memcheck / racecheck / synccheck, the kernel versions
# of kernels/dev, ncu on one launch of the simulation kernel, and the benchmarks against the
# PyTorch and JAX peers. Every step runs under `timeout` within one overall budget; a failing step
# is a FAIL row and the next step runs. Writes to $OUT (default ./gpu_out): summary.md (one table:
# step | result | figure), machine.txt, bench.txt and logs.tar.gz.
# Environment: DDM_FIRST_RUN_BUDGET (seconds, default 480), DDM_FIRST_RUN_BENCH (B,...xn,...,
# default 4096x1024), DDM_FIRST_RUN_BENCH_SECONDS (default 1), DDM_FIRST_RUN_TESTS (the parity
# tests' Criterion filter, default *cuda*).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
archive=$(realpath -m "${1:-$repo/.gpucarry/ddm_gpu_bundle.tar.xz}")
OUT=$(realpath -m "${OUT:-$repo/gpu_out}")
budget=${DDM_FIRST_RUN_BUDGET:-480}
bench_sizes=${DDM_FIRST_RUN_BENCH:-4096x1024}
bench_seconds=${DDM_FIRST_RUN_BENCH_SECONDS:-1}
tests=${DDM_FIRST_RUN_TESTS:-*cuda*}
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
logs=$work/logs
bundle=$work/ddm_gpu_bundle
mkdir -p "$logs" "$OUT"
cd "$repo" || exit 1
# the toolkit's tools (nvcc, compute-sanitizer, ncu) where PATH lacks them
PATH=$PATH:${CUDA_HOME:-/usr/local/cuda}/bin:/usr/local/cuda/bin
: >"$work/rows"

# ---------------------------------------------------------------- the harness

seconds_left() { echo $((budget - ($(date +%s) - start))); }

# limited SECONDS LOG CMD... : CMD under timeout (SECONDS, or what is left of the budget less 20 s
# for the packing), stdout and stderr appended to logs/LOG; the exit status (124: timed out).
limited() {
    local limit=$1 log=$logs/$2 left
    shift 2
    left=$(($(seconds_left) - 20))
    [ "$left" -lt "$limit" ] && limit=$left
    [ "$limit" -lt 1 ] && { echo "budget spent" >>"$log"; return 124; }
    echo "\$ $*" >>"$log"
    timeout -k 5 "$limit" "$@" >>"$log" 2>&1
}

# row STEP RESULT FIGURE: one line of the table ('|' in a figure would split its cell)
row() { printf '| %s | %s | %s |\n' "$1" "$2" "${3//|//}" >>"$work/rows"; }

# step NAME FUNCTION [ARGS]: runs FUNCTION, which sets result and figure; SKIP once the budget
# is spent
step() {
    local name=$1
    shift
    if [ "$(seconds_left)" -lt 30 ]; then
        row "$name" SKIP "budget of ${budget} s spent"
        return
    fi
    result=FAIL figure="no result"
    local began=$SECONDS
    "$@"
    row "$name" "$result" "$figure"
    echo "first_run: $name: $result after $((SECONDS - began)) s ($figure)" >&2
}

# what a sandbox says when it refuses a sanitizer or the profiler counters
refusal='not supported|permission|refused|ERR_NVGPUCTRPERM|unable to (attach|init)'

last_line() { grep -v '^\s*$' "$logs/$1" 2>/dev/null | tail -1 | cut -c1-160; }
timed_out() { [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; }

have_bundle() {
    [ -d "$bundle/bin" ] && return 0
    result=SKIP figure="no bundle (step unpack)"
    return 1
}

# ---------------------------------------------------------------- the steps

machine() {
    local gpu smi_rc
    limited 30 machine.log nvidia-smi
    gpu=$(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
        --format=csv,noheader 2>&1 | head -1)
    smi_rc=$?
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "host: $(uname -srm), $(nproc) CPUs"
        echo "gpu: $gpu"
        echo "nvcc: $(nvcc --version 2>&1 | tail -1)"
        echo "compute-sanitizer: $(compute-sanitizer --version 2>&1 | tail -1)"
        echo "ncu: $(ncu --version 2>&1 | tail -1)"
        timeout 60 python3 -c 'import sys; print("python:", sys.version.split()[0])' 2>&1
        timeout 60 python3 -c 'import torch; print("torch:", torch.__version__, "cuda",
            torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1
        timeout 60 python3 -c 'import jax; print("jax:", jax.__version__, jax.devices())' 2>&1 |
            tail -1
    } >"$OUT/machine.txt"
    cat "$OUT/machine.txt" >>"$logs/machine.log"
    local torch jax
    torch=$(grep '^torch:' "$OUT/machine.txt" | cut -d' ' -f2-4)
    jax=$(grep '^jax:' "$OUT/machine.txt" | cut -d' ' -f2)
    if [ "$smi_rc" -eq 0 ] && [ -n "$gpu" ]; then
        result=PASS
    else
        result=FAIL
    fi
    figure="$gpu; $(grep '^nvcc:' "$OUT/machine.txt"); torch ${torch:-none}; jax ${jax:-none}"
}

unpack() {
    if [ ! -f "$archive" ]; then
        figure="no archive at $archive (make gpu-bundle on the build machine)"
        return
    fi
    # GNU tar finds the compression (xz); where the machine lacks xz, Python's tarfile reads it
    if ! limited 60 unpack.log tar -xf "$archive" -C "$work" &&
        ! limited 60 unpack.log python3 -c 'import sys, tarfile
tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$work"; then
        figure="unpacking failed: $(last_line unpack.log)"
        return
    fi
    cat "$bundle/MANIFEST" >>"$logs/unpack.log"
    result=PASS
    figure="$(ls "$bundle/bin" | wc -l) binaries, $(ls "$bundle/lib" | grep -c '\.so\.') libraries,"
    figure+=" $(($(stat -c %s "$archive") / 1048576)) MiB, $(grep '^commit:' "$bundle/MANIFEST")"
}

# The directory holding library $1: the toolkit, the loader's cache, then the wheels of the
# Python packages (torch ships cuBLAS, cuSOLVER, … as nvidia/<name>/lib in site-packages).
find_library() {
    local dir
    for dir in "${CUDA_HOME:-/usr/local/cuda}/lib64" "${CUDA_HOME:-/usr/local/cuda}/lib"; do
        [ -e "$dir/$1" ] && { echo "$dir"; return; }
    done
    ldconfig -p 2>/dev/null | grep -q "^\s*$1 " && { echo loader; return; }
    for dir in $(python3 -c 'import sys; print(" ".join(p for p in sys.path if p))' 2>/dev/null); do
        for lib in "$dir"/nvidia/*/lib/"$1"; do
            [ -e "$lib" ] && { dirname "$lib"; return; }
        done
    done
}

libraries() {
    have_bundle || return
    export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    local name dir from_wheels="" missing=""
    while read -r name; do
        [ -n "$name" ] || continue
        dir=$(find_library "$name")
        echo "$name: ${dir:-not found}" >>"$logs/libraries.log"
        case "$dir" in
        "") missing+=" $name" ;;
        loader) ;;
        *)
            case ":$LD_LIBRARY_PATH:" in *":$dir:"*) ;; *) LD_LIBRARY_PATH+=":$dir" ;; esac
            case "$dir" in */nvidia/*) from_wheels+=" $name" ;; esac
            ;;
        esac
    done <"$bundle/cuda_libs.txt"
    limited 30 libraries.log ldd "$bundle"/bin/*
    local unresolved
    unresolved=$(grep 'not found' "$logs/libraries.log" | awk '{print $1}' | sort -u | tr '\n' ' ')
    if [ -n "$missing$unresolved" ]; then
        figure="unresolved: ${unresolved:-$missing}"
        return
    fi
    result=PASS
    figure="$(wc -l <"$bundle/cuda_libs.txt") CUDA libraries resolved"
    [ -n "$from_wheels" ] && figure+="; from the Python wheels:$from_wheels"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >>"$logs/libraries.log"
}

parity() {
    have_bundle || return
    local rc synthesis
    DDM_REQUIRE_GPU=1 limited 180 parity.log "$bundle/bin/ddm_tests" --filter "$tests" -j2
    rc=$?
    synthesis=$(grep -a 'Synthesis' "$logs/parity.log" | tail -1 | sed 's/.*Synthesis: //')
    figure="${synthesis:-$(last_line parity.log)}"
    timed_out $rc && figure="timed out; $figure"
    if [ $rc -eq 0 ]; then
        result=PASS
        return
    fi
    local first
    first=$(grep -a -m1 -E 'DDM_REQUIRE_GPU|FAIL' "$logs/parity.log" | cut -c1-140)
    [ -n "$first" ] && figure+="; first: $first"
}

# A small model of n neurons (vdp, ridge start, one epoch) trained on the CPU, for the runs below
model_for() {
    local model=$work/model_$1.h5
    [ -f "$model" ] || limited 60 shapes.log "$bundle/bin/ddm_gpu" tests/valgrind.ini \
        --set network.neurons="$1" --set train.samples=2000 --set train.epochs=1 \
        --stages train --backend cpu --output "$model" --quiet
    echo "$model"
}

simulate() { # BACKEND MODEL OUTPUT [ENV...]: 1063 trajectories, 200 steps, records and traces
    local backend=$1 model=$2 output=$3
    shift 3
    limited 60 shapes.log env "$@" "$bundle/bin/ddm_gpu" tests/valgrind.ini --model "$model" \
        --stages simulate --set simulate.trajectories=1063 --set simulate.steps=200 \
        --set simulate.trace_trajectories=4 --set simulate.trace_neurons=8 --backend "$backend" \
        --output "$output" --overwrite --quiet
}

# CPU against CUDA at one forced shape: latent and traces within the parity tests' 1e-4 abs+rel
shape_parity() {
    have_bundle || return
    local shape=$1 n=$2 model cpu
    model=$(model_for "$n")
    if [ ! -f "$model" ]; then
        figure="training the n = $n model failed: $(last_line shapes.log)"
        return
    fi
    if ! simulate cuda "$model" "$work/cuda_$shape.h5" DDM_SIM_SHAPE="$shape"; then
        figure="CUDA run (n = $n, B = 1063) failed: $(last_line shapes.log)"
        return
    fi
    cpu=$work/cpu_$n.h5
    if [ ! -f "$cpu" ] && ! simulate cpu "$model" "$cpu"; then
        figure="CPU run failed: $(last_line shapes.log)"
        return
    fi
    figure=$(H5DUMP=$bundle/bin/h5dump timeout 60 python3 scripts/gpu/compare_h5.py "$cpu" \
        "$work/cuda_$shape.h5" /simulate/latent /simulate/traces 2>>"$logs/shapes.log")
    case $? in
    0) result=PASS ;;
    1) result=FAIL ;;
    *) result=SKIP ;;
    esac
    figure="n = $n, B = 1063, 200 steps: ${figure:-no comparison}"
}

# compute-sanitizer TOOL on a short train + simulate run on the GPU (every kernel launches)
sanitize() {
    have_bundle || return
    if ! command -v compute-sanitizer >/dev/null; then
        result=SKIP figure="no compute-sanitizer"
        return
    fi
    local tool=$1 rc errors log=$logs/sanitize_$1.log
    limited 50 "sanitize_$tool.log" compute-sanitizer --tool "$tool" --error-exitcode 1 \
        "$bundle/bin/ddm_gpu" tests/valgrind.ini --backend cuda --set train.epochs=1 \
        --set simulate.steps=40 --stages train,simulate --output "$work/sanitize_$tool.h5" \
        --overwrite --quiet
    rc=$?
    errors=$(grep -a -o 'ERROR SUMMARY: [0-9]* error[s]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result=PASS figure="${errors:-ERROR SUMMARY not printed}"
    elif grep -a -q -i -E "$refusal" "$log" && ! grep -a -q -E 'ERROR SUMMARY: [1-9]' "$log"; then
        result=SKIP figure="refused here: $(grep -a -m1 -i -E "$refusal" "$log" | cut -c1-120)"
    else
        figure="${errors:-exit $rc}: $(last_line "sanitize_$tool.log")"
        timed_out $rc && figure="timed out; $figure"
    fi
}

kernel_versions() {
    have_bundle || return
    local versions=$bundle/bin/rnn_step_versions rc
    [ -x "$versions" ] || { result=SKIP figure="rnn_step_versions not in the bundle"; return; }
    limited 60 dev.log "$versions"
    rc=$?
    # without a device it says so and exits 0: that is no result
    [ $rc -eq 0 ] && ! grep -a -q 'no CUDA device' "$logs/dev.log" && result=PASS
    figure="exit $rc: $(last_line dev.log)"
}

profile() {
    have_bundle || return
    command -v ncu >/dev/null || { result=SKIP figure="no ncu"; return; }
    local model rc
    model=$(model_for 1000)
    limited 90 ncu.log ncu --launch-count 1 --kernel-name regex:rnn_step_kernel \
        --section SpeedOfLight --section LaunchStats --section Occupancy \
        "$bundle/bin/ddm_gpu" tests/valgrind.ini --model "$model" --stages simulate \
        --set simulate.trajectories=4096 --set simulate.steps=1000 --backend cuda \
        --output "$work/ncu.h5" --overwrite --quiet
    rc=$?
    if grep -a -q -i -E "$refusal" "$logs/ncu.log"; then
        figure="refused here: $(grep -a -m1 -i -E "$refusal" "$logs/ncu.log" | cut -c1-120)"
        result=SKIP
        return
    fi
    local facts
    local wanted='Duration|Registers Per Thread|Achieved Occupancy|Compute \(SM\) Throughput'
    facts=$(grep -a -E "^\s*($wanted)\s" "$logs/ncu.log" | sed -E 's/^\s+//; s/\s{2,}/ /g' |
        paste -sd ';' | sed 's/;/; /g')
    if [ $rc -eq 0 ] && [ -n "$facts" ]; then
        result=PASS figure="n = 1000, B = 4096, k = 2: $facts"
    else
        figure="exit $rc: $(last_line ncu.log)"
    fi
}

bench() {
    have_bundle || return
    local rc
    limited 240 bench.log python3 scripts/bench/run_bench.py --ddm "$bundle/bin/bench_ddm" \
        --sizes "$bench_sizes" --seconds "$bench_seconds" --timeout 150
    rc=$?
    sed -n '/^simulation/,$p' "$logs/bench.log" >"$OUT/bench.txt"
    figure=$(python3 scripts/gpu/bench_figure.py "$logs/bench.log" 2>>"$logs/bench.log")
    [ $? -eq 0 ] && [ $rc -eq 0 ] && result=PASS
    figure=${figure:-exit $rc: $(last_line bench.log)}
    timed_out $rc && figure="timed out; $figure"
}

# ---------------------------------------------------------------- the run

step machine machine
step unpack unpack
step libraries libraries
step "parity (DDM_REQUIRE_GPU=1)" parity
step "shape N4_R4 CPU vs CUDA" shape_parity N4_R4 1000
step "shape N8_R2 CPU vs CUDA" shape_parity N8_R2 1000
step "shape N2_R2 CPU vs CUDA" shape_parity N2_R2 1000
step "shape N2_R8 CPU vs CUDA" shape_parity N2_R8 33
for tool in memcheck racecheck synccheck; do step "compute-sanitizer $tool" sanitize $tool; done
step "bench B=${bench_sizes%x*} n=${bench_sizes#*x} k=3" bench
step "kernels/dev versions" kernel_versions
step "ncu, one rnn_step launch" profile

{
    echo "# ddm_gpu first run — $(sed -n 's/^gpu: //p' "$OUT/machine.txt" 2>/dev/null)"
    echo
    echo "| step | result | figure |"
    echo "|---|---|---|"
    cat "$work/rows"
    echo
    echo "$(grep -c '| PASS |' "$work/rows") PASS, $(grep -c '| FAIL |' "$work/rows") FAIL," \
        "$(grep -c '| SKIP |' "$work/rows") SKIP in $(($(date +%s) - start)) s (budget ${budget} s)."
    echo "Logs: logs.tar.gz (one log per step); the machine: machine.txt; the benchmark: bench.txt."
} >"$OUT/summary.md"
tar -C "$work" -czf "$OUT/logs.tar.gz" logs
cat "$OUT/summary.md"
