#!/usr/bin/env bash
# report_bad.sh - `rcn report` on input that is not an rcn report, or a
# damaged one: exit 1 with "rcn report: FILE: <reason>" naming what is wrong
# (JSON path, line, byte), never a crash; bad options exit 2.
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
fx=tests/report/grid.json
d=$TMPDIR_TEST
fail=0

# expect NAME FILE EXIT PATTERN: runs `rcn report FILE`, checks the exit
# status and that stderr has "rcn report: FILE: " and matches PATTERN.
expect() {
    local name=$1 file=$2 want=$3 pat=$4 rc
    "$RCN" report "$file" >"$d/out" 2>"$d/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $name: exit $rc, want $want"; cat "$d/err"; fail=1; return
    fi
    if ! grep -qF "rcn report: $file: " "$d/err" || ! grep -qE "$pat" "$d/err"; then
        echo "FAIL: $name: message does not name the file or match /$pat/:"; cat "$d/err"; fail=1; return
    fi
    [ -s "$d/out" ] && { echo "FAIL: $name: printed tables anyway"; fail=1; return; }
    echo "ok: $name: $(cat "$d/err")"
}

# edit NAME SED-EXPR: a copy of the fixture with one change
edit() { sed "$2" "$fx" >"$d/$1.json"; cmp -s "$fx" "$d/$1.json" && { echo "FAIL: edit $1 changed nothing"; fail=1; }; }

expect "missing file" "$d/nope.json" 1 "cannot open: No such file"
expect "a directory" "$d" 1 "is a directory"
: >"$d/empty.json";          expect "empty file" "$d/empty.json" 1 "empty file"
echo 'hello, world' >"$d/text.json"; expect "not JSON" "$d/text.json" 1 "line 1, column [0-9]+.*not valid JSON"
head -c 2000 "$fx" >"$d/trunc.json"; expect "truncated" "$d/trunc.json" 1 "not valid JSON.*truncated"
printf '{"meta": {"format": "rcn-report", \0\0\0' >"$d/nul.json"; expect "binary" "$d/nul.json" 1 "byte [0-9]+: a NUL byte"
echo '[1, 2, 3]' >"$d/array.json";  expect "JSON array" "$d/array.json" 1 "not an rcn report \(the top level is an array"
echo '{"name": "x", "grid": {}}' >"$d/job.json"; expect "a job file" "$d/job.json" 1 "not an rcn report \(no \"meta\""
edit fmt 's/"format": "rcn-report"/"format": "something-else"/'
expect "other format" "$d/fmt.json" 1 'meta.format is "something-else"'
edit ver '0,/"format_version": 1/s//"format_version": 2/'
expect "newer version" "$d/ver.json" 1 "meta.format_version: 2 is not supported"
edit std 's/"std_val_loss": 0.011299/"std_val_loss": "small"/'
expect "string for a number" "$d/std.json" 1 "cells\[0\]\.std_val_loss: expected a number or null, got a string"
edit acc 's/"mean_val_accuracy": 0.897818/"mean_val_accuracy": 89.78/'
expect "accuracy not a fraction" "$d/acc.json" 1 "cells\[0\]\.mean_val_accuracy: 89.78 is out of range \[0, 1\]"
edit st '0,/"status": "ok"/s//"status": "fine"/'
expect "bad fold status" "$d/st.json" 1 'folds\[0\]\.status: "fine" is not "ok" or "diverged"'
edit fold '0,/"fold": 1,/s//"fold": 7,/'
expect "fold beyond K" "$d/fold.json" 1 "cell 0 has fold 7, but n_folds is 3"
edit nocells 's/"cells": \[/"cellz": [/'
expect "missing cells" "$d/nocells.json" 1 "cells: missing"
edit best '/"best": {/,/}/ s/"cell": 4,/"cell": 99,/'
expect "best names no cell" "$d/best.json" 1 "best.cell: 99 is not a cell"
edit div '0,/"diverged": null/s//"diverged": 3/'
expect "diverged wrong type" "$d/div.json" 1 "folds\[0\]\.diverged: expected null or an object, got an integer"

# journals: damaged in the middle, or not a journal at all
j=tests/report/running.journal.jsonl
{ sed -n 1,3p "$j"; echo '{"type":"fold", oops'; sed -n 4,6p "$j"; } >"$d/mid.journal.jsonl"
expect "journal damaged in the middle" "$d/mid.journal.jsonl" 1 "line 4: invalid JSON"
sed -n 1p "$j" | sed 's/"rcn-journal"/"other"/' >"$d/hdr.journal.jsonl"
expect "journal of another format" "$d/hdr.journal.jsonl" 1 "journal|header"
{ sed -n 1p "$j"; echo '{"type":"fold","cell":999,"fold":0,"status":"ok"}'; } >"$d/cell.journal.jsonl"
expect "journal fold outside the grid" "$d/cell.journal.jsonl" 1 "cell"

# usage errors: exit 2
for args in "--bogus $fx" "--top abc $fx" "--top -1 $fx" "--plots" "$fx $fx" ""; do
    # shellcheck disable=SC2086
    "$RCN" report $args >/dev/null 2>"$d/err"
    rc=$?
    if [ "$rc" != 2 ] || ! grep -q '^rcn report: ' "$d/err"; then
        echo "FAIL: usage '$args': exit $rc"; cat "$d/err"; fail=1
    else
        echo "ok: usage '$args': $(head -n 1 "$d/err")"
    fi
done
exit $fail
