#!/usr/bin/env bash
# search_sigterm.sh - SIGTERM to the ranks (as Slurm's scancel does) and
# SIGUSR1 to mpirun (which forwards it) stop the search cleanly: exit 75 on
# every rank, partial report with meta.status "interrupted" holding exactly
# the journaled folds, journal intact; resuming completes with per-fold
# results equal to an uninterrupted run.
. "$(dirname "$0")/search_common.bash"
make_data
# 5 epochs: ~0.4 s a fold here, so the folds left after a signal cannot all
# finish in the time mpirun takes to forward it (1 epoch raced on CI); the
# sanitizer build, ~3x slower, sets RCN_TEST_SIGNAL_EPOCHS=2
EPOCHS=${RCN_TEST_SIGNAL_EPOCHS:-5} write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1]}' 4
total=24

base_run "$T/job.json"

out=$T/run.json
journal=$T/run.journal.jsonl
check_interrupted() { # ROUND RC
    [ "$2" = 75 ] || bad "$1: mpirun exit $2, want 75"
    [ "$(jq -r .meta.status "$out")" = interrupted ] || bad "$1: status $(jq -r .meta.status "$out")"
    local n
    n=$(journal_folds "$journal")
    [ "$(jq .meta.folds_done "$out")" = "$n" ] || bad "$1: report has $(jq .meta.folds_done "$out") folds, journal $n"
    [ "$(jq '.folds | length' "$out")" = "$n" ] || bad "$1: report folds array"
    [ "$n" -lt $total ] || bad "$1: all folds done before the signal"
    [ "$(tail -c 1 "$journal" | od -An -c | tr -d ' ')" = '\n' ] || bad "$1: journal ends in a torn line"
    jq -e . "$journal" >/dev/null || bad "$1: journal line unparsable"
    grep -q "interrupted" "$T/run.stderr" || bad "$1: no interruption message"
    echo "$1: $n of $total folds journaled"
}

# 1: SIGTERM to every rank process once 3 folds are journaled
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" 2>"$T/run.stderr" >/dev/null &
pid=$!
if wait_folds "$journal" 3 $pid; then
    kill -TERM $(pgrep -P $pid)
else
    bad "round 1: no 3 folds journaled"
fi
wait $pid
check_interrupted "SIGTERM to the ranks" $?
n1=$(journal_folds "$journal")
"$RCN" status "$journal" | grep -q "folds: *$n1/$total done" || bad "rcn status of the journal"

# 2: resume with the partial report rewritten after every fold, then
# SIGUSR1 to mpirun 2 folds later
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" --report-every 0 \
    2>"$T/run.stderr" >/dev/null &
pid=$!
if wait_folds "$journal" $((n1 + 2)) $pid; then
    [ "$(jq -r .meta.status "$out")" = incomplete ] && [ "$(jq .meta.folds_done "$out")" -gt "$n1" ] ||
        bad "no fresh partial report while running: $(jq -c '.meta | [.status, .folds_done]' "$out")"
    kill -USR1 $pid
else
    bad "round 2: no 2 more folds"
fi
wait $pid
check_interrupted "SIGUSR1 to mpirun" $?
grep -q "$n1 done before" "$T/run.stderr" || bad "round 2 did not resume the $n1 folds"

# 3: resume to the end
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" --quiet >/dev/null ||
    bad "final resume failed"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "final status $(jq -r .meta.status "$out")"
[ "$(journal_folds "$journal")" = $total ] || bad "journal has $(journal_folds "$journal") folds"
folds "$out" | cmp -s - "$T/base.folds" || bad "resumed folds differ from the uninterrupted run"
finish
