#!/usr/bin/env bash
# search_race.sh - a racing search (successive halving over epochs and
# folds) is a pure function of its job: the same fold lines, rung
# decisions and winner at -np 1, 2 and 3, after kill -9 mid-rung and
# resume, and after SIGTERM and resume; the same as `rcn replay` of the
# exhaustive grid's journal (with a constant learning rate the epoch-e
# record of a longer training is the e-epoch training); no checkpoint left
# behind; schedules that cannot run refused with their error.
. "$(dirname "$0")/search_common.bash"
make_data
grid='{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1, 0.2, 1000]}'
sched='{"kind": "halving", "eta": 3, "rungs": [{"epochs": 1, "folds": 2}, {"epochs": 2, "folds": 3}]}'
EPOCHS=3 write_job "$T/race.json" "$grid" 4 "\"schedule\": $sched"
EPOCHS=3 write_job "$T/grid.json" "$grid" 4

# fold_lines JOURNAL: its fold lines without timings, sorted; rung_lines: its rungs
fold_lines() {
    grep '^{"type":"fold"' "$1" | jq -c 'del(.seconds) | .epochs |= map(del(.seconds, .images_per_second))' | sort
}
rung_lines() { grep '^{"type":"rung"' "$1" | jq -c '[.rung, .epochs, .folds, [.cells[] | [.cell, .status, .score]]]'; }
same_race() { # same_race JOURNAL WHAT: its fold lines and rungs are those of -np 1
    cmp -s "$T/base.folds" <(fold_lines "$1") || bad "$2: other fold lines"
    cmp -s "$T/base.rungs" <(rung_lines "$1") || bad "$2: other rungs"
}
start_race() { # start_race NAME: a race at -np 2 in the background into $T/NAME/r.json
    out=$T/$1/r.json
    journal=$T/$1/r.journal.jsonl
    mkdir -p "$T/$1"
    "${MPIRUN[@]}" -np 2 "$RCN" search "$T/race.json" --out "$out" >/dev/null 2>"$T/$1.stderr" &
    pid=$!
}
resume_race() { # resume_race NP WHAT: the race of start_race resumed at -np NP, to the end
    "${MPIRUN[@]}" -np "$1" "$RCN" search "$T/race.json" --out "$out" >/dev/null 2>"$out.resume" ||
        bad "resume after $2: $(tail -3 "$out.resume")"
}
run() { # run NP OUT: a whole race
    mkdir -p "$(dirname "$2")"
    "${MPIRUN[@]}" -np "$1" "$RCN" search "$T/race.json" --out "$2" >"$2.stdout" 2>"$2.stderr" ||
        bad "-np $1: exit $?: $(tail -3 "$2.stderr")"
}

# 1: -np 1, 2, 3 give the same race
for np in 1 2 3; do run $np "$T/np$np/r.json"; done
fold_lines "$T/np1/r.journal.jsonl" >"$T/base.folds"
rung_lines "$T/np1/r.journal.jsonl" >"$T/base.rungs"
[ "$(wc -l <"$T/base.rungs")" = 3 ] || bad "want 3 rung lines, got $(wc -l <"$T/base.rungs")"
for np in 2 3; do same_race "$T/np$np/r.journal.jsonl" "-np $np"; done
dups=$(grep '^{"type":"fold"' "$T/np2/r.journal.jsonl" | jq -c '[.cell, .fold, (.epochs | length)]' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || bad "$dups fold results journaled twice"
for np in 1 2 3; do
    [ ! -e "$T/np$np/r.ckpt" ] || bad "-np $np: checkpoints left: $(ls "$T/np$np/r.ckpt")"
done
grep -q "continuing cell" "$T/np2/r.json.stderr" && bad "an uninterrupted race announced a resumed fold"
echo "-np 1, 2, 3: $(wc -l <"$T/base.folds") fold lines, rungs $(jq -c '[.[0], .[1], .[2], (.[3] | length)]' "$T/base.rungs" | tr '\n' ' ')"

# 2: the live race equals the replay of the exhaustive grid's journal
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/grid.json" --out "$T/grid/r.json" --quiet >/dev/null ||
    bad "exhaustive run failed"
"$RCN" replay --json --schedule "$sched" "$T/grid/r.journal.jsonl" >"$T/replay.json" ||
    bad "replay failed"
jq -c '.rungs | to_entries[] | [.key, .value.epochs, .value.folds, [.value.cells[] | [.cell, .status, .score]]]' \
    "$T/replay.json" >"$T/replay.rungs"
cmp -s "$T/base.rungs" "$T/replay.rungs" ||
    bad "live rungs differ from the replay: $(diff "$T/base.rungs" "$T/replay.rungs" | head -4)"
winner=$(jq -r '.winner.key // .winner' "$T/replay.json")
echo "replay of the exhaustive journal: same rungs, winner $winner"

# 3: kill -9 of everything mid-race, then resume: the same race
start_race k
if wait_folds "$journal" 22 $pid; then # past rung 0 (20 jobs), inside rung 1
    kill -9 $pid $(pgrep -P $pid)
else
    bad "kill run: no 22 folds journaled"
fi
wait $pid 2>/dev/null
n=$(journal_folds "$journal")
resume_race 3 "kill -9"
grep -q "$n done before" "$out.resume" || bad "resume did not start from the $n journaled fold jobs"
same_race "$journal" "kill -9 + resume"
[ ! -e "$T/k/r.ckpt" ] || bad "kill -9 + resume: checkpoints left"
echo "kill -9 after $n fold jobs, resumed at -np 3: the same race"

# 4: SIGTERM to rank 0 mid-race: exit 75, partial report, resume: the same race
start_race t
if wait_folds "$journal" 5 $pid && r0=$(rank_pid $pid 0); then
    kill -TERM "$r0"
else
    bad "sigterm run: no 5 folds journaled"
fi
wait $pid
rc=$?
n=$(journal_folds "$journal")
[ $rc = 75 ] || bad "SIGTERM: exit $rc, want 75"
[ "$(jq -r .meta.status "$out")" = interrupted ] || bad "SIGTERM: report status $(jq -r .meta.status "$out")"
resume_race 1 SIGTERM
same_race "$journal" "SIGTERM + resume"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "after resume: status $(jq -r .meta.status "$out")"
echo "SIGTERM at $n fold jobs: exit 75, resumed: the same race"

# 5: schedules that cannot run are refused before any training
expect_refused() { # expect_refused WHAT SCHEDULE-JSON MESSAGE [VALIDATION]
    EPOCHS=3 write_job "$T/bad.json" "$grid" 4 "\"schedule\": $2"
    "$RCN" search "$T/bad.json" --out "$T/bad/r.json" >/dev/null 2>"$T/bad.err"
    local rc=$?
    [ $rc = 1 ] || bad "$1: exit $rc, want 1"
    grep -qF "$3" "$T/bad.err" || bad "$1: error $(cat "$T/bad.err"), want '$3'"
    [ ! -e "$T/bad/r.journal.jsonl" ] || bad "$1: a journal was written"
}
expect_refused "eta 1" '{"kind": "halving", "eta": 1}' "schedule.eta"
expect_refused "unknown kind" '{"kind": "hyperband"}' "schedule.kind"
expect_refused "rung past the epochs" '{"kind": "halving", "rungs": [{"epochs": 4, "folds": 2}]}' "schedule.rungs"
EPOCHS=3 write_job "$T/bad.json" '{"batch_size": [16, 32], "epochs": [1, 2]}' 4 \
    "\"schedule\": {\"kind\": \"halving\"}"
"$RCN" search "$T/bad.json" --out "$T/bad/r.json" >/dev/null 2>"$T/bad.err" && bad "swept epochs: accepted"
grep -q "schedule" "$T/bad.err" || bad "swept epochs: error $(cat "$T/bad.err")"
finish
