#!/usr/bin/env bash
# search_hung.sh - a rank that hangs (SIGSTOP, never continued) does not
# hold the search hostage: at -np 3 rank 2 is stopped mid-run; rank 0 names
# it as silent, its folds are trained again by the others as backups, and
# once every fold is journaled rank 0 writes the final report, gives up on
# rank 2 and ends the job with exit status 76 -- within 60 s of the stop
# (the run takes a few seconds; the silence threshold is 4 s). Every fold
# is journaled exactly once and equals an undisturbed run's, fold for fold.
# The same for a racing search: the same fold lines and rungs as -np 1.
. "$(dirname "$0")/search_common.bash"
make_data
EPOCHS=2 write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.05, 0.1]}' 4 \
    '"stragglers": {"silent_after": 2, "silent_min_seconds": 4}'
total=16
BOUND=60

"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$T/base.json" --quiet >/dev/null ||
    bad "undisturbed run failed"
folds "$T/base.json" >"$T/base.folds"
[ "$(wc -l <"$T/base.folds")" = $total ] || bad "baseline has $(wc -l <"$T/base.folds") folds"

out=$T/run.json
journal=$T/run.journal.jsonl
"${MPIRUN[@]}" -np 3 "$RCN" search "$T/job.json" --out "$out" >"$T/run.stdout" 2>"$T/run.stderr" &
pid=$!
stopped=
if wait_folds "$journal" 3 $pid && stopped=$(rank_pid $pid 2); then
    kill -STOP "$stopped"
    t0=$(date +%s)
    echo "rank 2 (pid $stopped) stopped after $(journal_folds "$journal") folds"
else
    bad "no 3 folds journaled, or no rank 2"
fi
# wait for the run, at most BOUND seconds after the stop
for _ in $(seq 1 $((BOUND * 10))); do
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
if kill -0 $pid 2>/dev/null; then
    bad "the search still runs $BOUND s after rank 2 was stopped"
    kill -9 $pid $(pgrep -P $pid) 2>/dev/null
fi
wait $pid
rc=$?
[ -n "$stopped" ] && { kill -CONT "$stopped"; kill -KILL "$stopped"; } 2>/dev/null
[ -n "$stopped" ] && echo "ended with status $rc $(($(date +%s) - t0)) s after the stop"

[ $rc = 76 ] || bad "exit status $rc, not 76 (complete, a rank given up on)"
grep -q "rank 2 on host .* silent for" "$T/run.stderr" || bad "rank 2 not named as silent"
grep -q "giving up on rank 2 on host" "$T/run.stderr" || bad "no word of giving up on rank 2"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "status $(jq -r .meta.status "$out")"
# (a loaded machine may leave another rank briefly silent, never given up on)
jq -e '.meta.silent_ranks | any(.rank == 2 and .abandoned and (.host | length > 0))
       and all(.rank == 2 or (.abandoned | not))' "$out" >/dev/null ||
    bad "meta.silent_ranks: $(jq -c .meta.silent_ranks "$out")"
jq -e '.meta.backups.started >= 1 and .meta.backups.won >= 1' "$out" >/dev/null ||
    bad "meta.backups: $(jq -c .meta.backups "$out")"
[ "$(journal_folds "$journal")" = $total ] || bad "journal has $(journal_folds "$journal") fold lines"
dups=$(grep '^{"type":"fold"' "$journal" | jq -c '[.cell, .fold]' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || bad "$dups folds journaled twice"
folds "$out" | cmp -s - "$T/base.folds" || {
    bad "folds differ from the undisturbed run"
    diff <(folds "$out") "$T/base.folds" | head -4
}
"$RCN" status "$out" | grep -q "rank 2.*silent" || bad "rcn status does not show the silent rank"

# a race: rank 2 stopped during the first rung
grid='{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1, 0.2, 1000]}'
sched='{"kind": "halving", "eta": 3, "rungs": [{"epochs": 1, "folds": 2}, {"epochs": 2, "folds": 3}]}'
EPOCHS=3 write_job "$T/race.json" "$grid" 4 "\"schedule\": $sched,
  \"stragglers\": {\"silent_after\": 2, \"silent_min_seconds\": 4}"
lines() { # JOURNAL: fold and rung lines without timings, sorted
    grep '^{"type":"fold"' "$1" | jq -c 'del(.seconds) | .epochs |= map(del(.seconds, .images_per_second))' | sort
    grep '^{"type":"rung"' "$1" | jq -c '[.rung, .epochs, .folds, [.cells[] | [.cell, .status, .score]]]'
}
"${MPIRUN[@]}" -np 1 "$RCN" search "$T/race.json" --out "$T/rbase.json" --quiet >/dev/null ||
    bad "undisturbed race failed"
"${MPIRUN[@]}" -np 3 "$RCN" search "$T/race.json" --out "$T/race.out.json" >/dev/null \
    2>"$T/race.stderr" &
pid=$!
stopped=
if wait_folds "$T/race.out.journal.jsonl" 4 $pid && stopped=$(rank_pid $pid 2); then
    kill -STOP "$stopped"
else
    bad "race: no 4 fold jobs journaled, or no rank 2"
fi
for _ in $(seq 1 $((BOUND * 10))); do
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -0 $pid 2>/dev/null && { bad "race still runs $BOUND s after the stop"; kill -9 $pid $(pgrep -P $pid); }
wait $pid
rc=$?
[ -n "$stopped" ] && { kill -CONT "$stopped"; kill -KILL "$stopped"; } 2>/dev/null
[ $rc = 76 ] || bad "race: exit status $rc, not 76"
grep -q "giving up on rank 2 on host" "$T/race.stderr" || bad "race: no word of giving up on rank 2"
[ "$(jq -r .meta.status "$T/race.out.json")" = complete ] || bad "race: not complete"
cmp -s <(lines "$T/rbase.journal.jsonl") <(lines "$T/race.out.journal.jsonl") ||
    bad "race: other fold or rung lines than the undisturbed race"
[ ! -e "$T/race.out.ckpt" ] || bad "race: checkpoints left behind"
finish
