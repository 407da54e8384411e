#!/bin/sh
# Lists the longest C functions below the given folders (default host/), longest first:
# "lines  file:first-line  name". Length is end - start + 1 as Universal Ctags sees it
# (signature to closing brace). The style guide's limit is about 80 lines a function.
#   scripts/dev/long_functions.sh [-n COUNT] [-m MIN_LINES] [DIR...]
set -eu
count=20
min=1
while getopts n:m: opt; do
    case $opt in
    n) count=$OPTARG ;;
    m) min=$OPTARG ;;
    *) echo "usage: $0 [-n COUNT] [-m MIN_LINES] [DIR...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- host
command -v ctags >/dev/null || { echo "long_functions.sh: needs Universal Ctags (apt install universal-ctags)" >&2; exit 2; }
find "$@" -name '*.c' -o -name '*.cu' | sort |
    ctags -L - --languages=C,C++ --map-C++=+.cu --kinds-C=f --kinds-C++=f --fields=+ne -o - |
    awk -F'\t' -v min="$min" '{
        name = $1; file = $2; start = 0; end = 0
        for (i = 4; i <= NF; i++) {
            if ($i ~ /^line:/) start = substr($i, 6)
            if ($i ~ /^end:/) end = substr($i, 5)
        }
        if (start && end && end - start + 1 >= min)
            printf "%5d  %s:%d  %s\n", end - start + 1, file, start, name
    }' | sort -k1,1nr -k2 | head -n "$count"
