#!/usr/bin/env bash
# search_lock.sh - one search per journal: a second run of the same output
# while the first runs exits 1 at once, naming the journal and the first
# run's rank-0 pid; `rcn status` reads the locked journal meanwhile; the
# first run completes with every fold journaled exactly once; a run killed
# with -9 leaves no lock behind (the next run starts and finishes).
. "$(dirname "$0")/search_common.bash"
make_data
EPOCHS=3 write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1]}' 4
total=24
out=$T/run.json
journal=$T/run.journal.jsonl
ms() { date +%s%3N; }

# check_done JOURNAL REPORT WHAT: every fold exactly once, report complete,
# lock file removed
check_done() {
    [ "$(journal_folds "$1")" = $total ] || bad "$3: journal has $(journal_folds "$1") fold lines"
    local dups
    dups=$(grep '^{"type":"fold"' "$1" | jq -c '[.cell, .fold]' | sort | uniq -d | wc -l)
    [ "$dups" = 0 ] || bad "$3: $dups folds journaled twice"
    [ "$(jq -r .meta.status "$2")" = complete ] || bad "$3: status $(jq -r .meta.status "$2")"
    [ ! -e "$1.lock" ] || bad "$3: lock file left behind"
}

# 1: a second run while the first runs
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >"$T/first.stdout" \
    2>"$T/first.stderr" &
pid=$!
for _ in $(seq 1 1200); do # started: the journal exists (created under the lock)
    [ -e "$journal" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
[ -e "$journal" ] || bad "first run: no journal"
r0=$(rank_pid $pid 0) || bad "first run: no rank 0"
# hold the first run still (its ranks stopped, the lock still theirs) so it
# cannot finish before the second run has given up, however fast the machine
ranks=$(pgrep -P $pid)
kill -STOP $ranks
t0=$(ms)
timeout 60 "${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" \
    >"$T/second.stdout" 2>"$T/second.stderr"
rc=$? took=$(( $(ms) - t0 ))
[ $rc = 1 ] || bad "second run: exit $rc, want 1"
[ $took -lt 10000 ] || bad "second run took $took ms to give up"
msg="$journal is in use by pid $r0 on host $(hostname) since "
grep -qF "rcn search: $msg" "$T/second.stderr" || bad "second run's error: $(cat "$T/second.stderr")"
grep -qF "(one search per journal)" "$T/second.stderr" || bad "second run's error: no reason"
[ ! -s "$T/second.stdout" ] || bad "second run printed a summary"
kill -0 $pid 2>/dev/null || bad "the first run ended before the second gave up"
echo "second run refused in $took ms: $(head -1 "$T/second.stderr")"
"$RCN" status "$journal" | grep -q "folds: *[0-9]*/$total done" || bad "rcn status of the locked journal"
kill -CONT $ranks
wait $pid
rc=$?
[ $rc = 0 ] || bad "first run: exit $rc: $(tail -3 "$T/first.stderr")"
grep -q "in use" "$T/first.stderr" && bad "first run saw the lock"
check_done "$journal" "$out" "first run"

# 2: kill -9 of mpirun and its ranks mid-way; the next run starts and finishes
out=$T/k.json
journal=$T/k.journal.jsonl
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >/dev/null 2>"$T/k.stderr" &
pid=$!
if wait_folds "$journal" 3 $pid; then
    r0=$(rank_pid $pid 0)
    kill -9 $pid $(pgrep -P $pid)
else
    bad "killed run: no 3 folds journaled"
fi
wait $pid 2>/dev/null
n=$(journal_folds "$journal")
grep -q "^pid $r0 on host " "$journal.lock" || bad "no stale holder line in $journal.lock"
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >/dev/null 2>"$T/k2.stderr" ||
    bad "run after kill -9: $(tail -3 "$T/k2.stderr")"
grep -q "$n done before" "$T/k2.stderr" || bad "run after kill -9 did not resume $n folds"
check_done "$journal" "$out" "run after kill -9"
echo "kill -9 after $n of $total folds: the next run resumed and finished"
finish
