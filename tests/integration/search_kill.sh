#!/usr/bin/env bash
# search_kill.sh - SIGKILL at any moment loses only the folds in flight:
# kill -9 of mpirun with its ranks after some folds are journaled, resume,
# kill -9 of rank 0, resume, kill -9 of a worker, resume to the end: the
# per-fold results equal an uninterrupted run and no fold is journaled twice.
. "$(dirname "$0")/search_common.bash"
make_data
EPOCHS=2 write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1, 0.2]}' 4
total=32

base_run "$T/job.json"
[ "$(wc -l <"$T/base.folds")" = $total ] || bad "baseline has $(wc -l <"$T/base.folds") folds"

out=$T/run.json
journal=$T/run.journal.jsonl
run_bg() { "${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" \
               >>"$T/run.stdout" 2>>"$T/run.stderr" & pid=$!; }

# kill_rank N FOLDS: starts a run, kill -9 of rank N once FOLDS folds are journaled
kill_rank() {
    run_bg
    local r
    if wait_folds "$journal" "$2" $pid && r=$(rank_pid $pid "$1"); then
        kill -9 "$r"
    else
        bad "kill of rank $1: no $2 folds journaled, or no such rank"
    fi
    wait $pid
    [ $? != 0 ] || bad "run ended with status 0 although rank $1 was killed"
}

# 1: kill -9 of mpirun and its ranks at once (a node lost) once 3 folds are
# journaled (killing mpirun alone leaves orphaned ranks that go on working)
run_bg
if wait_folds "$journal" 3 $pid; then
    kill -9 $pid $(pgrep -P $pid)
else
    bad "run 1: no 3 folds journaled"
fi
wait $pid 2>/dev/null
n0=$(journal_folds "$journal")
[ "$n0" -ge 3 ] && [ "$n0" -lt $total ] || bad "after killing everything: $n0 folds journaled"
echo "kill -9 of mpirun and the ranks: $n0 of $total folds journaled"

# 2: resume, kill -9 rank 0 (the only rank that journals) two folds later
kill_rank 0 $((n0 + 2))
n1=$(journal_folds "$journal")
[ "$n1" -ge $((n0 + 2)) ] && [ "$n1" -lt $total ] || bad "after killing rank 0: $n1 folds journaled"
grep -q "$n0 done before" "$T/run.stderr" || bad "run 2 did not resume $n0 folds"
echo "kill -9 rank 0: $n1 of $total folds journaled"

# 3: resume, kill -9 a worker two folds later: mpirun ends the job (rank 0
# may finish a few more folds before it does)
kill_rank 1 $((n1 + 2))
n2=$(journal_folds "$journal")
[ "$n2" -ge $((n1 + 2)) ] || bad "after killing rank 1: $n2 folds journaled"
echo "kill -9 rank 1: $n2 of $total folds journaled"

# 4: resume to the end
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >"$T/run3.stdout" 2>"$T/run3.stderr" ||
    bad "final resume failed: $(tail -3 "$T/run3.stderr")"
grep -q "$n2 done before" "$T/run3.stderr" || bad "final run did not resume $n2 folds"
[ "$(journal_folds "$journal")" = $total ] || bad "journal has $(journal_folds "$journal") fold lines"
dups=$(grep '^{"type":"fold"' "$journal" | jq -c '[.cell, .fold]' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || bad "$dups folds journaled twice"
jq -e . "$journal" >/dev/null || bad "journal has an unparsable line"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "status $(jq -r .meta.status "$out")"
folds "$out" | cmp -s - "$T/base.folds" || {
    bad "resumed folds differ from the uninterrupted run"
    diff <(folds "$out") "$T/base.folds" | head -4
}
finish
