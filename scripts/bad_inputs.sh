#!/usr/bin/env bash
# bad_inputs.sh — runs ddm_gpu on every malformed config in tests/bad_inputs/ and prints a Markdown
# table: file | what is wrong | exit code | stderr line.
#
# Each file says what is wrong in its first comment ("; wrong: ...") and, when it is not a
# configuration error (exit 2), the exit code it must give ("; exit: 1"); "; args: ..." adds
# command-line options (e.g. a bad --shard), placed after the file name. A case fails when the exit
# code differs, when the program crashed (exit >= 128, or a sanitizer report), hung (20 s), did
# not answer with exactly one line "ddm_gpu: error: ..." on stderr, or changed the case's own file
# (some cases name it as the output, the --model or the --resume file: a refused file is left as it
# is). The script exits 1 if any case failed. A missing config file is checked too (it has no file
# in the folder, by its nature).
#
#   scripts/bad_inputs.sh                    uses ./ddm_gpu (run `make` first)
#   DDM_GPU=/path/to/ddm_gpu scripts/bad_inputs.sh   e.g. a build with -fsanitize=address,undefined
#
# The runs happen in a temporary directory holding copies of the files, so messages show short
# names and outputs of the cases that get past loading (*.h5) land there and are removed after each
# case (a run refuses to replace an existing output file, so one case's file would change the next).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DDM_GPU:-$root/ddm_gpu}
cases=$root/tests/bad_inputs
if [[ ! -x $bin ]]; then
    echo "bad_inputs.sh: $bin not found; run make first (or set DDM_GPU)" >&2
    exit 2
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d /tmp/ddm_bad_inputs.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$cases"/*.ini "$work"/
# the data files of the [system] data cases (not *.h5: those are removed after each case)
cp "$cases"/*.csv "$cases"/*.npy "$cases"/*.hdf5 "$cases"/*.txt "$work"/ 2>/dev/null
cd "$work" || exit 2

failures=0
total=0
failed_names=()

# Escapes a cell of a Markdown table.
cell() {
    local s=${1//|/\\|}
    printf '%s' "${s//$'\n'/ ⏎ }"
}

# run_case FILE WHAT EXPECTED_EXIT [OPTION...]
run_case() {
    local file=$1 what=$2 want=$3 code problem="" line
    shift 3
    total=$((total + 1))
    timeout 20 env -u SLURM_ARRAY_TASK_ID "$bin" "$file" "$@" --quiet >stdout.txt 2>stderr.txt
    code=$?
    line=$(head -c 2000 stderr.txt)
    if ((code == 124)); then
        problem="hung (killed after 20 s)"
    elif ((code >= 128)); then
        problem="crashed (signal $((code - 128)))"
    elif grep -aqE 'Sanitizer|runtime error:|LeakSanitizer|Assertion .* failed' stderr.txt; then
        problem="sanitizer or assertion report"
    elif ((code != want)); then
        problem="exit $code, expected $want"
    elif [[ $(wc -l <stderr.txt) -ne 1 ]] || ! grep -q '^ddm_gpu: error: ' stderr.txt; then
        problem="stderr is not one 'ddm_gpu: error: ...' line"
    elif [[ -f $cases/$file ]] && ! cmp -s "$file" "$cases/$file"; then
        problem="the case's own file was changed"
    fi
    if [[ -n $problem ]]; then
        failures=$((failures + 1))
        failed_names+=("$file: $problem")
        code="$code ✗ ($problem)"
    fi
    printf '| %s | %s | %s | %s |\n' "$(cell "$file")" "$(cell "$what")" "$code" "$(cell "$line")"
}

echo "| file | what is wrong | exit code | stderr line |"
echo "|---|---|---|---|"
for path in "$cases"/*.ini; do
    file=$(basename "$path")
    what=$(grep -a -m1 '^; wrong:' "$file" | sed 's/^; wrong: *//')
    want=$(grep -a -m1 '^; exit:' "$file" | sed 's/^; exit: *//')
    read -r -a options <<<"$(grep -a -m1 '^; args:' "$file" | sed 's/^; args: *//')"
    [[ ${#options[@]} -gt 0 ]] && what="$what (${options[*]})"
    run_case "$file" "${what:-?}" "${want:-2}" "${options[@]}"
    rm -f ./*.h5
done
run_case missing.ini "the config file does not exist" 2

echo
if ((failures)); then
    echo "$failures of $total cases failed:"
    printf '  %s\n' "${failed_names[@]}"
    exit 1
fi
echo "all $total cases gave the expected exit code with one error line, and none crashed"
