#!/usr/bin/env bash
# status_json.sh - `rcn status --json` and `rcn status --watch` on committed
# results: the finished table2-mini report (ranks, refit), the journal of
# the raced table2-mini cut to its first 60 lines (a race in rung 0, no
# best yet), the same journal whole (the winner), and the exhaustive
# journal cut to 101 lines (running: 100 of 400 folds, an ETA). Every
# object is parsed with jq and its fields checked against the text output
# of the same file; --watch, not on a terminal, repeats plain blocks until
# stopped (a running journal) or stops by itself (a complete report).
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
T=$TMPDIR_TEST
fail=0
bad() { echo "FAIL: $*"; fail=1; }
command -v jq >/dev/null || { echo "FAIL: jq not installed (apt-get install -y jq)"; exit 1; }

head -n 60 results/table2-mini-race.journal.jsonl >"$T/race-mid.journal.jsonl"
head -n 101 results/table2-mini.journal.jsonl >"$T/part.journal.jsonl"

# text_field FILE LABEL: the text after "LABEL:" on its line
text_field() { sed -n "s/^$2: *//p" "$1" | head -n 1; }

# check_common FILE: the counts and best of --json against the text
check_common() {
    local f=$1 b=$T/$(basename "$1")
    "$RCN" status "$f" >"$b.txt" || { bad "status $f: exit $?"; return; }
    "$RCN" status --json "$f" >"$b.json" || { bad "status --json $f: exit $?"; return; }
    jq -e '.format == "rcn-status"' "$b.json" >/dev/null || bad "$f: not an rcn-status object"
    local want got
    want=$(text_field "$b.txt" folds | sed 's/ done.*//')
    got=$(jq -r '"\(.folds_done)/\(.folds_total)"' "$b.json")
    [ "$want" = "$got" ] || bad "$f: folds $got, text says $want"
    want=$(text_field "$b.txt" folds | sed -n 's/.*, \([0-9]*\) diverged/\1/p')
    [ "$want" = "$(jq -r .diverged "$b.json")" ] || bad "$f: diverged differs from the text"
    want=$(text_field "$b.txt" job | sed 's/ (job_hash \(.*\))/ \1/')
    [ "$want" = "$(jq -r '"\(.job) \(.job_hash)"' "$b.json")" ] || bad "$f: job differs: $want"
    want=$(text_field "$b.txt" best | sed 's/: mean val loss.*//')
    got=$(jq -r '.best.key // "none yet (no cell has finished all its folds without diverging)"' \
        "$b.json")
    [ "$want" = "$got" ] || bad "$f: best $got, text says $want"
    if jq -e '.folds_per_minute != null' "$b.json" >/dev/null; then
        want=$(text_field "$b.txt" rate | sed 's/ folds\/min.*//')
        got=$(jq -r '.folds_per_minute * 100 | round / 100 | tostring' "$b.json")
        awk -v a="$want" -v b="$got" 'BEGIN { exit !(a - b < 0.006 && b - a < 0.006) }' ||
            bad "$f: rate $got folds/min, text says $want"
    fi
}

# the finished report: complete, ranks, refit
r=results/table2-mini.json
check_common "$r"
j=$T/table2-mini.json.json
jq -e '.source == "report" and .complete and .status == "complete" and .eta == "done"
       and .eta_seconds == 0 and .ranks == 2 and (.rank_stats | length) == 2
       and ([.rank_stats[].folds] | add) == .folds_total and (.race | not)
       and .refit.test_accuracy > 0' "$j" >/dev/null || bad "$r: report fields: $(cat "$j")"
want=$(grep -c '^rank [0-9]* .*folds, busy' "$T/table2-mini.json.txt")
[ "$want" = "$(jq '.rank_stats | length' "$j")" ] || bad "$r: $want ranks in the text"

# the racing journal mid-race: rung 0, its survivors, no ETA
r=$T/race-mid.journal.jsonl
check_common "$r"
j=$T/race-mid.journal.jsonl.json
jq -e '.source == "journal" and (.complete | not) and .eta == "unknown (racing)"
       and .eta_seconds == null and .best == null and (.race.finished | not)
       and .race.rung.index == 0 and .race.rungs == 3 and (.race.survivors | length) == 40
       and .race.fold_epochs == .folds_done and .race.exhaustive_fold_epochs == 800' "$j" \
    >/dev/null || bad "$r: race fields: $(jq -c .race "$j" | head -c 400)"
grep -q "^rung: *0 of 0..2 in progress.*, 40 cells in it" "$T/race-mid.journal.jsonl.txt" ||
    bad "$r: text shows another rung"

# the whole racing journal: finished, the winner
r=results/table2-mini-race.journal.jsonl
check_common "$r"
j=$T/table2-mini-race.journal.jsonl.json
want=$(sed -n 's/.*winner cell \([0-9]*\) (\(.*\))$/\1 \2/p' "$T/table2-mini-race.journal.jsonl.txt")
[ "$want" = "$(jq -r '"\(.race.winner.cell) \(.race.winner.key)"' "$j")" ] ||
    bad "$r: winner differs from the text ($want)"
jq -e '.complete and .eta == "done" and .race.finished and .best.key == .race.winner.key' "$j" \
    >/dev/null || bad "$r: finished race fields"

# a running exhaustive journal: 100 of 400 folds, an ETA as the text's
r=$T/part.journal.jsonl
check_common "$r"
j=$T/part.journal.jsonl.json
jq -e '.folds_done == 100 and .folds_total == 400 and (.complete | not) and .eta_seconds > 0
       and (.race | not) and .created != null' "$j" >/dev/null || bad "$r: running fields"
want=$(text_field "$T/part.journal.jsonl.txt" rate | sed 's/.*ETA //')
[ "$want" = "$(jq -r .eta "$j")" ] || bad "$r: ETA $(jq -r .eta "$j"), text says $want"

# --watch, not on a terminal: repeated plain blocks until stopped; a
# complete report is shown once and ends the watch by itself
timeout 3 "$RCN" status --watch 1 "$T/part.journal.jsonl" >"$T/watch.txt"
[ $? = 124 ] || bad "--watch on a running journal did not keep watching"
n=$(grep -c '^folds:' "$T/watch.txt")
[ "$n" -ge 2 ] || bad "--watch 1 showed $n blocks in 3 s"
grep -q $'\033' "$T/watch.txt" && bad "--watch not on a terminal wrote escape sequences"
timeout 3 "$RCN" status --watch --json "$T/part.journal.jsonl" >"$T/watch.jsonl"
[ "$(jq -s 'length' "$T/watch.jsonl")" -ge 1 ] || bad "--watch --json: no objects"
timeout 10 "$RCN" status --watch 1 results/table2-mini.json >"$T/watch-done.txt" ||
    bad "--watch on a complete report: exit $? (want 0, at once)"
[ "$(grep -c '^folds:' "$T/watch-done.txt")" = 1 ] || bad "--watch on a complete report repeated"

# usage errors
"$RCN" status --watch 0 "$r" 2>/dev/null; [ $? = 2 ] || bad "--watch 0 accepted"
"$RCN" status --bogus "$r" 2>/dev/null; [ $? = 2 ] || bad "--bogus accepted"

[ $fail = 0 ] && echo "PASS status_json"
exit $fail
