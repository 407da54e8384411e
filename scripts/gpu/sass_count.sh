#!/usr/bin/env bash
# sass_count.sh [OBJECT|CUBIN] [--max X] — issue slots per neuron-step of the simulation kernel
# (rnn_step_kernel<3, N4_R4, 0>: the plain variant), counted from its SASS by
# scripts/gpu/sass_count.py (kernels/NOTES.md).
# OBJECT defaults to build/kernels/rnn_step.o of a CUDA build (-lineinfo). Needs cuobjdump and
# nvdisasm: the toolkit's, else those of the PyPI wheels nvidia-cuda-cuobjdump and
# nvidia-cuda-nvdisasm (pip install; site-packages/nvidia/cu*/bin). Exit 3 when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
object=build/kernels/rnn_step.o
if [ $# -gt 0 ] && [ "$1" != --max ]; then object=$1; shift; fi
find_tool() {
    local dir
    command -v "$1" && return
    [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/$1" ] && { echo "${CUDA_HOME:-/usr/local/cuda}/bin/$1"; return; }
    for dir in $(python3 -c 'import sys; print(" ".join(p for p in sys.path if p))' 2>/dev/null); do
        for tool in "$dir"/nvidia/*/bin/"$1"; do [ -x "$tool" ] && { echo "$tool"; return; }; done
    done
    return 1
}
cuobjdump=$(find_tool cuobjdump) && nvdisasm=$(find_tool nvdisasm) || {
    echo "sass_count.sh: cuobjdump or nvdisasm not found (pip install nvidia-cuda-cuobjdump" \
        "nvidia-cuda-nvdisasm)" >&2
    exit 3
}
[ -f "$object" ] || { echo "sass_count.sh: no $object (a CUDA build: make CUDA=1)" >&2; exit 3; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$object" in
*.cubin) cubin=$object ;;
*)
    (cd "$tmp" && "$cuobjdump" -xelf all "$(realpath "$OLDPWD/$object")" >/dev/null)
    cubin=$(ls "$tmp"/*sm_90*.cubin | head -1)
    ;;
esac
"$nvdisasm" -g -gi -c "$cubin" >"$tmp/kernel.sass" # -gi: the source line at kernel level
python3 scripts/gpu/sass_count.py "$tmp/kernel.sass" kernels/rnn_step.cu "$@"
