#!/usr/bin/env bash
# report_tables.sh - `rcn report` prints the paper's tables: the text (and
# Markdown) output for the committed fixture reports of tests/report matches
# the expected files byte for byte; a journal of a running search (read
# directly, or in place of a report not written yet) gives the same tables.
set -euo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
fx=tests/report
fail=0

same() { # name expected actual
    if ! diff -u "$2" "$3"; then echo "FAIL: $1 differs from $2"; fail=1; else echo "ok: $1"; fi
}

for f in grid partial test sens_lr; do
    "$RCN" report "$fx/$f.json" >"$TMPDIR_TEST/$f.txt"
    same "$f" "$fx/$f.expected.txt" "$TMPDIR_TEST/$f.txt"
done
"$RCN" report --markdown --top 3 "$fx/grid.json" >"$TMPDIR_TEST/grid.md"
same "grid --markdown --top 3" "$fx/grid.top3.expected.md" "$TMPDIR_TEST/grid.md"
# option spellings: --top=N is --top N
"$RCN" report --top=3 --markdown "$fx/grid.json" >"$TMPDIR_TEST/grid2.md"
same "grid --top=3" "$fx/grid.top3.expected.md" "$TMPDIR_TEST/grid2.md"

# Table 2 keeps the paper's "Divergence"; the diverged cells are ranked last
grep -Eq '^ +32 +Divergence +Divergence +3 +2$' "$TMPDIR_TEST/grid.txt" || { echo "FAIL: no Divergence row"; fail=1; }
grep -Eq '^ +- +2 +32 +0\.3 .*diverged \(3/3 folds, epoch 1\)$' "$TMPDIR_TEST/grid.txt" || { echo "FAIL: diverged cell row"; fail=1; }
# a test run has Table 1 with one row per epoch
[ "$(grep -c '^ *[123]  ' <(sed -n '/^Table 1/,$p' "$TMPDIR_TEST/test.txt"))" = 3 ] || { echo "FAIL: Table 1 rows"; fail=1; }

# the journal of the same (interrupted) search: same Table 2 and ranking
"$RCN" report "$fx/running.journal.jsonl" >"$TMPDIR_TEST/journal.txt"
grep -q 'journal of a running or unfinished search' "$TMPDIR_TEST/journal.txt" || { echo "FAIL: journal not said"; fail=1; }
grep -q 'status: incomplete, 11 of 18 fold trainings done' "$TMPDIR_TEST/journal.txt" || { echo "FAIL: journal progress"; fail=1; }
diff <(sed -n '/^Table 2/,/^$/p' "$fx/partial.expected.txt") \
     <(sed -n '/^Table 2/,/^$/p' "$TMPDIR_TEST/journal.txt") || { echo "FAIL: journal Table 2"; fail=1; }
diff <(sed -n '/^Best cell/,$p' "$fx/partial.expected.txt") \
     <(sed -n '/^Best cell/,$p' "$TMPDIR_TEST/journal.txt") || { echo "FAIL: journal best cell"; fail=1; }

# a search still running has no report yet: its journal is read instead
cp "$fx/running.journal.jsonl" "$TMPDIR_TEST/live.journal.jsonl"
"$RCN" report "$TMPDIR_TEST/live.json" >"$TMPDIR_TEST/live.txt"
grep -q "file: $TMPDIR_TEST/live.journal.jsonl (journal" "$TMPDIR_TEST/live.txt" || { echo "FAIL: journal fallback"; fail=1; }
# ... and a torn last line (being written) is ignored, even without the torn tail
head -n 5 "$fx/running.journal.jsonl" >"$TMPDIR_TEST/early.journal.jsonl"
"$RCN" report "$TMPDIR_TEST/early.journal.jsonl" >"$TMPDIR_TEST/early.txt"
grep -q 'status: incomplete, 4 of 18 fold' "$TMPDIR_TEST/early.txt" || { echo "FAIL: early journal"; fail=1; }

"$RCN" report --help >"$TMPDIR_TEST/help.txt"
grep -q -- '--plots DIR' "$TMPDIR_TEST/help.txt" || { echo "FAIL: --help"; fail=1; }
[ "$fail" = 0 ] && echo "all report tables as expected"
exit $fail
