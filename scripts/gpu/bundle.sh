#!/usr/bin/env bash
# bundle.sh ARCHIVE BINARY... — `make gpu-bundle`: one archive that runs on a bare GPU machine.
#
# The archive (ddm_gpu_bundle/ inside) holds the binaries in bin/, the closure of the shared
# libraries they need in lib/ (every library ldd lists, except glibc, libstdc++/libgcc_s, which
# every Linux has, and the CUDA libraries, which must match the machine's driver and are found
# there by scripts/gpu/first_run.sh), the names of those CUDA libraries in cuda_libs.txt, the
# headers and linker names to rebuild there (rebuild.sh), and MANIFEST (commit, compiler, ldd).
set -euo pipefail
archive=$1
shift
[ $# -gt 0 ] || { echo "usage: bundle.sh ARCHIVE BINARY..." >&2; exit 2; }
# h5dump travels too: scripts/gpu/compare_h5.py reads the runs with it where h5py is missing
if command -v h5dump >/dev/null; then set -- "$@" "$(command -v h5dump)"; fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/ddm_gpu_bundle
mkdir -p "$root/bin" "$root/lib" "$root/include"
cp "$@" "$root/bin/"
# host debug sections off (the kernels' -lineinfo lives in the fat binary and stays)
strip --strip-debug "$root"/bin/*

# glibc, the C++ runtime and the CUDA libraries stay behind; everything else travels
is_system() {
    case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libmvec.so.* | libdl.so.* | \
        libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | libstdc++.so.* | \
        libgcc_s.so.*) return 0 ;;
    esac
    return 1
}
is_cuda() {
    case "$1" in
    libcuda.so.* | libcudart.so.* | libcublas*.so.* | libcusolver*.so.* | libcusparse.so.* | \
        libcurand.so.* | libcufft*.so.* | libnvJitLink.so.* | libnvrtc*.so.*) return 0 ;;
    esac
    case "$2" in */cuda*/*) return 0 ;; esac
    return 1
}
missing=$(ldd "$@" | grep 'not found' || true)
[ -z "$missing" ] || { echo "bundle.sh: unresolved libraries:"$'\n'"$missing" >&2; exit 1; }
: >"$root/cuda_libs.txt"
ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | while read -r name path; do
    is_system "$name" && continue
    if is_cuda "$name" "$path"; then echo "$name" >>"$root/cuda_libs.txt"; continue; fi
    cp -L "$path" "$root/lib/$name"
    strip --strip-debug "$root/lib/$name" 2>/dev/null || true
done
sort -u -o "$root/cuda_libs.txt" "$root/cuda_libs.txt"

# headers and linker names (-lNAME) of the kept libraries and Criterion, to rebuild there
for dir in $(pkg-config --cflags-only-I hdf5 inih lapacke openblas sleef | sed 's/-I//g'); do
    cp -rL "$dir"/. "$root/include/" 2>/dev/null || true
done
for header in ini.h lapacke.h lapacke_config.h lapacke_mangling.h lapacke_utils.h sleef.h; do
    [ -f "/usr/include/$header" ] && cp -L "/usr/include/$header" "$root/include/"
done
[ -d /usr/include/criterion ] && cp -rL /usr/include/criterion "$root/include/"
link_name() { # libNAME.so → the soname in lib/ that -lNAME must find
    local target
    target=$(cd "$root/lib" && ls $2 2>/dev/null | head -1)
    [ -n "$target" ] && ln -sf "$target" "$root/lib/lib$1.so"
}
link_name hdf5 'libhdf5_serial.so.*'
link_name inih 'libinih.so.*'
link_name lapacke 'liblapacke.so.*'
link_name openblas 'libopenblas.so.*'
link_name sleef 'libsleef.so.*'
link_name criterion 'libcriterion.so.*'
cat >"$root/rebuild.sh" <<'REBUILD'
#!/usr/bin/env bash
# Rebuilds ddm_gpu and its tests from the checkout ($1, default .) against this bundle's headers
# and libraries, into build/gpu (nvcc and a C compiler needed there; nothing installed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "${1:-.}"
make -j"$(nproc)" CUDA=1 BUILD=build/gpu BIN=build/gpu/ddm_gpu \
    PKG_CFLAGS="-I$here/include -I$here/include/hdf5/serial" \
    PKG_LIBS="-L$here/lib -Wl,-rpath,$here/lib -lhdf5 -linih -llapacke -lopenblas -lsleef" \
    build/gpu/ddm_gpu build/gpu/ddm_tests
REBUILD
chmod +x "$root/rebuild.sh"
{
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(ldd --version | head -1)"
    echo "nvcc: $(nvcc --version 2>/dev/null | tail -1 || echo none)"
    echo "binaries: $*"
    echo "cuda libraries (found on the GPU machine): $(tr '\n' ' ' <"$root/cuda_libs.txt")"
    echo "bundled libraries: $(ls "$root/lib" | grep -c '\.so\.')"
    ldd "$@"
} >"$root/MANIFEST"
mkdir -p "$(dirname "$archive")"
# xz preset 1 (fast) with a 64 MiB dictionary: the binaries carry the same device code (the
# kernels' fat binaries), which a 1 MiB window (plain -1: 42 MB with the 64 kernel instances, over
# the 40 MiB of a carry) cannot see from one binary to the next: 23 MB in about 20 s here (single
# thread at this dictionary; decompression needs 64 MiB). Unpacked by tar, or by Python's tarfile
# where xz is missing.
tar -C "$stage" -cf - ddm_gpu_bundle | xz -T0 --lzma2=preset=1,dict=64MiB >"$archive.part"
mv "$archive.part" "$archive"
size=$(stat -c %s "$archive")
echo "$archive: $((size / 1024)) KiB, $(ls "$root/bin" | wc -l) binaries," \
    "$(ls "$root/lib" | grep -c '\.so\.') libraries bundled, CUDA libraries left to the machine:" \
    "$(tr '\n' ' ' <"$root/cuda_libs.txt")"
if [ "$size" -gt $((40 * 1024 * 1024)) ]; then
    echo "bundle.sh: $archive is over 40 MiB" >&2
    exit 1
fi
