#!/usr/bin/env bash
# gpu_dry_run.sh — scripts/gpu/first_run.sh end to end on this machine, without a GPU (make test).
#
# Stand-ins play the bare GPU machine: nvidia-smi names a device; compute-sanitizer and ncu refuse
# it as a sandbox does; the loader cache (ldconfig) and the toolkit (CUDA_HOME) hold no CUDA
# library, which must then be found inside a Python wheel (PYTHONPATH: nvidia/cu13/lib links to
# this machine's CUDA libraries; in a CPU build SLEEF, taken out of the bundle, plays one). The bundle is made by scripts/gpu/bundle.sh from this build's
# ddm_gpu, tests and bench_ddm. Every CUDA step then fails (no device): the table must say FAIL
# or SKIP with the reason at each row, and PASS where the step can run here. Also checks the
# table when the archive is missing and when the budget is spent, and the two helpers that turn
# results into figures (compare_h5.py, bench_figure.py) on a pass and on a failure.
# Usage: tests/gpu_dry_run.sh DDM_GPU DDM_TESTS BENCH_DDM
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: tests/gpu_dry_run.sh DDM_GPU DDM_TESTS BENCH_DDM" >&2; exit 2; }
start=$(date +%s)
set -- "$(realpath "$1")" "$(realpath "$2")" "$(realpath "$3")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # DESCRIPTION COMMAND...: one line per assertion, and the count of failures
    if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
has_row() { grep -q -E "^\| $2 \| $3 \| .*$4" "$1/summary.md"; }

# the stand-ins
mkdir -p "$tmp/bin" "$tmp/toolkit/lib64" "$tmp/site/nvidia/cu13/lib"
cat >"$tmp/bin/nvidia-smi" <<'EOF'
#!/bin/sh
case "$*" in
*query-gpu*) echo "NVIDIA H100 80GB HBM3 (stand-in), 580.65.06, 81559 MiB, 9.0" ;;
*) echo "stand-in nvidia-smi: NVIDIA H100 80GB HBM3, driver 580.65.06" ;;
esac
EOF
cat >"$tmp/bin/compute-sanitizer" <<'EOF'
#!/bin/sh
echo "========= Error: Target application terminated before first instrumented API call"
echo "========= Error: Device not supported or the sandbox refuses it"
exit 1
EOF
cat >"$tmp/bin/ncu" <<'EOF'
#!/bin/sh
echo "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters"
exit 1
EOF
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/ldconfig"
chmod +x "$tmp"/bin/*

bash scripts/gpu/bundle.sh "$tmp/bundle.tar.xz" "$@" >"$tmp/bundle.log"
check "bundle.sh makes an archive" test -s "$tmp/bundle.tar.xz"
# the CUDA libraries the bundle leaves to the machine, from this machine, as a torch wheel has them
tar -xOf "$tmp/bundle.tar.xz" ddm_gpu_bundle/cuda_libs.txt >"$tmp/cuda_libs.txt"
while read -r name; do
    path=$(ldd "$@" | awk -v n="$name" '$1 == n && !seen {print $3; seen = 1}')
    if [ -n "$path" ]; then ln -s "$path" "$tmp/site/nvidia/cu13/lib/$name"; fi
done <"$tmp/cuda_libs.txt"
if [ ! -s "$tmp/cuda_libs.txt" ]; then
    # a CPU build (CI) needs no CUDA library: SLEEF then plays one, moved into the wheel
    mkdir "$tmp/repack"
    tar -xf "$tmp/bundle.tar.xz" -C "$tmp/repack"
    mv "$tmp"/repack/ddm_gpu_bundle/lib/libsleef.so.* "$tmp/site/nvidia/cu13/lib/"
    (cd "$tmp/site/nvidia/cu13/lib" && ls libsleef.so.*) >"$tmp/repack/ddm_gpu_bundle/cuda_libs.txt"
    tar -C "$tmp/repack" -czf "$tmp/bundle.tar.xz" ddm_gpu_bundle # tar finds gzip as well
fi

dry_run() { # OUT ARCHIVE BUDGET
    env PATH="$tmp/bin:$PATH" CUDA_HOME="$tmp/toolkit" PYTHONPATH="$tmp/site" OUT="$1" \
        DDM_FIRST_RUN_BUDGET="$3" DDM_FIRST_RUN_BENCH=64x32 DDM_FIRST_RUN_BENCH_SECONDS=0.05 \
        DDM_FIRST_RUN_TESTS='cuda_parity/*_cuda' \
        bash scripts/gpu/first_run.sh "$2" >"$1.stdout" 2>"$1.stderr"
}
out=$tmp/out
check "first_run.sh exits 0 though steps fail" dry_run "$out" "$tmp/bundle.tar.xz" 480
cat "$out/summary.md"
rows=$(grep -c -E '^\| .* \| (PASS|FAIL|SKIP) \| ' "$out/summary.md" || true)
check "14 rows" [ "$rows" -eq 14 ]
check "the header" grep -q '^| step | result | figure |$' "$out/summary.md"
check "every row: step | PASS, FAIL or SKIP | figure" \
    bash -c "! grep '^| ' '$out/summary.md' | grep -v -E '^\| step |^\|---' |
             grep -v -E '^\| [^|]+ \| (PASS|FAIL|SKIP) \| [^|]+ \|$'"
check "machine: the stand-in GPU" has_row "$out" machine PASS "H100 80GB HBM3 \(stand-in\), 580"
check "unpack: binaries and libraries" has_row "$out" unpack PASS "4 binaries, [0-9]+ libraries"
check "libraries: from the wheel" has_row "$out" libraries PASS "from the Python wheels: .*lib(cudart|sleef)"
check "parity: FAIL, with DDM_REQUIRE_GPU's reason" \
    has_row "$out" "parity \(DDM_REQUIRE_GPU=1\)" FAIL "Failing: [1-9].*DDM_REQUIRE_GPU"
for shape in N4_R4 N8_R2 N2_R2 N2_R8; do
    check "shape $shape: FAIL, the CUDA run's reason" \
        has_row "$out" "shape $shape CPU vs CUDA" FAIL "CUDA run .* failed: .*CUDA"
done
for tool in memcheck racecheck synccheck; do
    check "compute-sanitizer $tool: SKIP, refused" \
        has_row "$out" "compute-sanitizer $tool" SKIP "refused here: .*not supported"
done
check "bench: FAIL, no CUDA figure" has_row "$out" "bench B=64 n=32 k=3" FAIL "no ddm-cuda figure"
check "kernels/dev: SKIP, not bundled" has_row "$out" "kernels/dev versions" SKIP "not in the bundle"
check "ncu: SKIP, refused" has_row "$out" "ncu, one rnn_step launch" SKIP "ERR_NVGPUCTRPERM"
check "at most 8 files back" [ "$(find "$out" -type f | wc -l)" -le 8 ]
check "machine.txt, bench.txt, logs.tar.gz" test -s "$out/machine.txt" -a -s "$out/bench.txt" \
    -a -s "$out/logs.tar.gz"
tar -xzf "$out/logs.tar.gz" -C "$tmp"
check "the binaries load cuBLAS (or SLEEF) from the wheel" \
    grep -q -E "lib(cublas|sleef).so.* => $tmp/site/nvidia/cu13/lib/" "$tmp/logs/libraries.log"
check "the parity log holds the tests' output" grep -q 'Synthesis' "$tmp/logs/parity.log"

out=$tmp/no_archive
check "no archive: exits 0" dry_run "$out" "$tmp/none.tar.xz" 480
check "no archive: unpack FAIL" has_row "$out" unpack FAIL "no archive at"
check "no archive: the rest SKIP" [ "$(grep -c '| SKIP | no bundle' "$out/summary.md")" -eq 12 ]
out=$tmp/no_budget
check "spent budget: exits 0" dry_run "$out" "$tmp/bundle.tar.xz" 20
check "spent budget: 14 SKIP rows" [ "$(grep -c '| SKIP | budget of 20 s spent' "$out/summary.md")" -eq 14 ]

# the helpers on a pass and a failure: two runs that differ only in the seed
for seed in 1 2; do
    "$1" tests/valgrind.ini --stages train,simulate --set network.seed=$seed \
        --output "$tmp/seed$seed.h5" --quiet >/dev/null
done
export H5DUMP=${H5DUMP:-h5dump}
check "compare_h5: a run against itself" \
    python3 scripts/gpu/compare_h5.py "$tmp/seed1.h5" "$tmp/seed1.h5" /simulate/latent
check "compare_h5: two seeds differ" bash -c "! python3 scripts/gpu/compare_h5.py \
    '$tmp/seed1.h5' '$tmp/seed2.h5' /simulate/latent /simulate/traces >'$tmp/cmp.txt'"
check "compare_h5: says by how much" grep -q 'latent max |Δ| .* of the tolerance' "$tmp/cmp.txt"
sed 's/ddm-cpu/ddm-cuda/g' "$tmp/logs/bench.log" >"$tmp/bench_cuda.log"
check "bench_figure: a ddm-cuda table gives µs per step" \
    bash -c "python3 scripts/gpu/bench_figure.py '$tmp/bench_cuda.log' | grep -q 'B 64 n 32: .* µs/step'"

echo "gpu dry run: $failures failed checks ($(($(date +%s) - start)) s)"
[ "$failures" -eq 0 ]
