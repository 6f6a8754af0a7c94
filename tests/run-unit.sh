#!/usr/bin/env bash
# run-unit.sh - runs each C unit test binary given; fails if any fails.
set -u
fail=0
for t in "$@"; do
    if "$t" >"build/tests/$(basename "$t").log" 2>&1; then
        echo "PASS $(basename "$t")"
    else
        echo "FAIL $(basename "$t")"; tail -n 30 "build/tests/$(basename "$t").log"; fail=1
    fi
done
exit $fail
