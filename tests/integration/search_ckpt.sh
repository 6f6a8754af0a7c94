#!/usr/bin/env bash
# search_ckpt.sh - a fold interrupted mid-training continues from its last
# checkpointed epoch: SIGTERM to the ranks once a checkpoint exists (an
# epoch of a fold finished), resume: the interrupted folds continue from
# their checkpoints (said on stderr), the report equals an uninterrupted
# run fold for fold, and the checkpoint directory is gone at the end; the
# same after kill -9 of mpirun and its ranks. While running, the directory
# never holds more checkpoints than there are ranks.
. "$(dirname "$0")/search_common.bash"
make_data
# 8 epochs of ~0.08 s here: a fold outlives the signal sent when its first
# checkpoint appears
EPOCHS=${RCN_TEST_CKPT_EPOCHS:-8} write_job "$T/job.json" '{"batch_size": [16], "lr": [0.02, 0.05, 0.1]}' 2
total=6

base_run "$T/job.json"
[ ! -e "$T/base.ckpt" ] || bad "uninterrupted run left $T/base.ckpt"

# wait_ckpt DIR PID: waits until DIR holds a checkpoint (or PID ends); fails
# if it ever holds more than 2 (one per rank)
wait_ckpt() {
    local i n
    for i in $(seq 1 1200); do
        n=$(ls "$1" 2>/dev/null | grep -c '\.ckpt$')
        [ "$n" -le 2 ] || bad "$n checkpoints at once with 2 ranks"
        [ "$n" -ge 1 ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

# round NAME OUT SIGNAL: runs to the first checkpoint, delivers SIGNAL
# (TERM: to the ranks; KILL: to mpirun and the ranks), resumes to the end
round() {
    local name=$1 out=$2 sig=$3 ckpt=${2%.json}.ckpt pid left f
    "${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" 2>"$T/$name.stderr1" \
        >/dev/null &
    pid=$!
    # stop the ranks as soon as a checkpoint is seen, so the fold cannot
    # finish (and drop it) before the signal however loaded the machine is;
    # if it did finish before they stopped, let them go on to the next one
    local ranks try caught=0
    for try in 1 2 3 4 5 6; do
        wait_ckpt "$ckpt" $pid || break
        ranks=$(pgrep -P $pid)
        kill -STOP $ranks
        if ls "$ckpt" 2>/dev/null | grep -q '\.ckpt$'; then caught=1; break; fi
        kill -CONT $ranks
    done
    if [ $caught = 1 ]; then
        if [ "$sig" = TERM ]; then kill -TERM $ranks; kill -CONT $ranks; else kill -9 $pid $ranks; fi
    else
        bad "$name: no checkpoint appeared"
    fi
    wait $pid 2>/dev/null
    left=$(cd "$ckpt" 2>/dev/null && ls | grep '\.ckpt$')
    [ -n "$left" ] || bad "$name: no checkpoint left to continue from"
    echo "$name: $(journal_folds "${out%.json}.journal.jsonl") of $total folds journaled;" \
        "checkpoints:" $left
    "${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" 2>"$T/$name.stderr2" \
        >/dev/null || bad "$name: resume failed: $(tail -3 "$T/$name.stderr2")"
    for f in $left; do
        local c=${f#cell} fo=${f#*-fold}
        c=${c%%-*} fo=${fo%.ckpt}
        grep -Eq "continuing cell $c fold $fo from epoch [1-9]" "$T/$name.stderr2" ||
            bad "$name: cell $c fold $fo did not continue from its checkpoint"
    done
    grep "continuing" "$T/$name.stderr2"
    [ "$(jq -r .meta.status "$out")" = complete ] || bad "$name: status $(jq -r .meta.status "$out")"
    folds "$out" | cmp -s - "$T/base.folds" || {
        bad "$name: resumed folds differ from the uninterrupted run"
        diff <(folds "$out") "$T/base.folds" | head -4
    }
    [ ! -e "$ckpt" ] || bad "$name: $ckpt left at the end: $(ls "$ckpt")"
}

round sigterm "$T/term.json" TERM
round kill9 "$T/kill.json" KILL
finish
