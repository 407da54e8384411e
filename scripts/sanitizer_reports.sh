#!/usr/bin/env bash
# sanitizer_reports.sh — the sanitizer logs of a test pass that are real reports.
#
# usage: scripts/sanitizer_reports.sh LOG...   prints the real reports, exits 1 when there is one
#
# Criterion's runner process now and then (a race, about one run in two with -j2, never in a test
# process) leaks one block of its own: a leak whose stack has no frame outside the allocator and
# libcriterion. Such a log is named and passed over; any other report — a leak with a frame of
# ours, an ASan or UBSan error — counts.
set -euo pipefail
status=0
for log in "$@"; do
    [[ -f $log ]] || continue
    if awk '
        /ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error/ { real = 1 }
        /^(Direct|Indirect) leak/ { in_leak = 1; next }
        in_leak && /^ *#[0-9]+ / {
            if ($0 !~ /libcriterion\.so/ && $0 !~ /asan_malloc_linux|__interceptor_/) real = 1
            next
        }
        /^$/ { in_leak = 0 }
        END { exit real ? 0 : 1 }
    ' "$log"; then
        cat "$log"
        status=1
    else
        echo "sanitizer: $(basename "$log"): a leak inside Criterion's runner only (passed over)"
    fi
done
exit $status
