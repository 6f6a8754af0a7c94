#!/usr/bin/env bash
# search_kill.sh - SIGKILL at any moment loses only the folds in flight:
# kill -9 of rank 0 after some folds are journaled, resume, kill -9 of
# mpirun, resume to the end: the per-fold results equal an uninterrupted run
# and no fold is journaled twice.
. "$(dirname "$0")/search_common.bash"
make_data
write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1]}' 4
total=24

"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$T/base.json" --quiet >/dev/null ||
    bad "uninterrupted run failed"
folds "$T/base.json" >"$T/base.folds"
[ "$(wc -l <"$T/base.folds")" = $total ] || bad "baseline has $(wc -l <"$T/base.folds") folds"

out=$T/run.json
journal=$T/run.journal.jsonl
run_bg() { "${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" --quiet \
               >>"$T/run.stdout" 2>>"$T/run.stderr" & pid=$!; }

# 1: kill -9 rank 0 once 3 folds are journaled
run_bg
if wait_folds "$journal" 3 $pid && r0=$(rank_pid $pid 0); then
    kill -9 "$r0"
else
    bad "run 1: no 3 folds journaled, or no rank 0 found"
fi
wait $pid
rc=$?
[ $rc != 0 ] || bad "run 1 ended with status 0 although rank 0 was killed"
n1=$(journal_folds "$journal")
[ "$n1" -ge 3 ] && [ "$n1" -lt $total ] || bad "after kill 1: $n1 folds journaled"
echo "kill -9 rank 0: $n1 of $total folds journaled"

# 2: resume, kill -9 mpirun and its ranks at once (a node lost) a few folds
# later (orphaned ranks would otherwise go on journaling)
run_bg
if wait_folds "$journal" $((n1 + 3)) $pid; then
    kill -9 $pid $(pgrep -P $pid)
else
    bad "run 2: did not get 3 more folds"
fi
wait $pid 2>/dev/null
n2=$(journal_folds "$journal")
[ "$n2" -ge $((n1 + 3)) ] && [ "$n2" -lt $total ] || bad "after kill 2: $n2 folds journaled"
echo "kill -9 mpirun: $n2 of $total folds journaled"

# 3: resume to the end
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
