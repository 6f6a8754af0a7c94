#!/usr/bin/env bash
# search_slow.sh - a slow rank (SIGSTOP/SIGCONT cycling: it runs a quarter
# of the time) does not make the others wait for its last folds: at -np 3,
# once no fold job is left the idle ranks train backup copies of the folds
# in flight, the copies win, the report counts them (meta.backups), every
# fold is journaled once, and the per-fold results equal an undisturbed
# run's. The rank is slow, not silent (it sends heartbeats while running):
# nobody is given up on and the exit status is 0. With "backups": false
# the same run starts no copy and gives the same results.
. "$(dirname "$0")/search_common.bash"
make_data
grid='{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1, 0.2]}'
# folds of 10 epochs: long enough that a rank running 1/20 of the time is
# still in its fold when the others run out of jobs, on an idle machine too
# (RCN_TEST_SLOW_EPOCHS: fewer under the sanitizers, where folds run slower)
EPOCHS=${RCN_TEST_SLOW_EPOCHS:-10} write_job "$T/job.json" "$grid" 4
EPOCHS=${RCN_TEST_SLOW_EPOCHS:-10} write_job "$T/off.json" "$grid" 4 '"stragglers": {"backups": false}'
total=32

"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$T/base.json" --quiet >/dev/null ||
    bad "undisturbed run failed"
folds "$T/base.json" >"$T/base.folds"
[ "$(wc -l <"$T/base.folds")" = $total ] || bad "baseline has $(wc -l <"$T/base.folds") folds"

# slowed_run JOB OUT: -np 3 with rank 2 cycled through SIGSTOP/SIGCONT
slowed_run() {
    "${MPIRUN[@]}" -np 3 "$RCN" search "$1" --out "$2" >"$2.stdout" 2>"$2.stderr" &
    local pid=$! r=
    for _ in $(seq 1 200); do
        r=$(rank_pid $pid 2) && break
        sleep 0.05
    done
    [ -n "$r" ] || bad "$2: no rank 2"
    while [ -n "$r" ] && kill -0 $pid 2>/dev/null; do
        kill -STOP "$r" 2>/dev/null; sleep 0.4
        kill -CONT "$r" 2>/dev/null; sleep 0.02
    done
    [ -n "$r" ] && kill -CONT "$r" 2>/dev/null
    wait $pid
}

check_run() { # OUT
    [ "$(jq -r .meta.status "$1")" = complete ] || bad "$1: status $(jq -r .meta.status "$1")"
    [ "$(journal_folds "${1%.json}.journal.jsonl")" = $total ] || bad "$1: journal lines"
    dups=$(grep '^{"type":"fold"' "${1%.json}.journal.jsonl" | jq -c '[.cell, .fold]' |
               sort | uniq -d | wc -l)
    [ "$dups" = 0 ] || bad "$1: $dups folds journaled twice"
    folds "$1" | cmp -s - "$T/base.folds" || {
        bad "$1: folds differ from the undisturbed run"
        diff <(folds "$1") "$T/base.folds" | head -4
    }
    [ "$(jq '.meta.silent_ranks | length' "$1")" = 0 ] || bad "$1: a rank taken as silent"
}

# a copy wins unless the slow rank happened to run at the right moments:
# up to three tries (each a fresh search) for one that shows a win
for try in 1 2 3; do
    rm -rf "$T/run.json" "$T/run.journal.jsonl" "$T/run.ckpt"
    slowed_run "$T/job.json" "$T/run.json"
    rc=$?
    jq -e '.meta.backups.won >= 1' "$T/run.json" >/dev/null 2>&1 && break
done
[ $rc = 0 ] || { bad "slowed run: exit $rc"; tail -3 "$T/run.json.stderr"; }
check_run "$T/run.json"
jq -e '.meta.backups.started >= 1 and .meta.backups.won >= 1
       and .meta.backups.won <= .meta.backups.started' "$T/run.json" >/dev/null ||
    bad "meta.backups after $try tries: $(jq -c .meta.backups "$T/run.json")"
echo "slowed run: backups $(jq -c .meta.backups "$T/run.json"), wall $(jq .meta.wall_seconds "$T/run.json") s"

slowed_run "$T/off.json" "$T/off_run.json"
rc=$?
[ $rc = 0 ] || bad "slowed run without backups: exit $rc"
check_run "$T/off_run.json"
jq -e '.meta.backups.started == 0' "$T/off_run.json" >/dev/null ||
    bad "backups off: $(jq -c .meta.backups "$T/off_run.json")"
echo "without backups: wall $(jq .meta.wall_seconds "$T/off_run.json") s"
finish
