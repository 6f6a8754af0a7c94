#!/usr/bin/env bash
# run-integration.sh - runs every tests/integration/*.sh from the repo root;
# each gets a fresh temp dir in $TMPDIR_TEST and must exit 0.
set -u
fail=0
export RCN="$PWD/bin/rcn"
for t in tests/integration/*.sh; do
    [ -e "$t" ] || continue
    d=$(mktemp -d /tmp/rcn-it.XXXXXX)
    start=$(date +%s)
    if TMPDIR_TEST="$d" bash "$t" >"$d/log" 2>&1; then
        echo "PASS $(basename "$t") ($(( $(date +%s) - start ))s)"; rm -rf "$d"
    else
        echo "FAIL $(basename "$t") (log: $d/log)"; tail -n 40 "$d/log"; fail=1
    fi
done
exit $fail
