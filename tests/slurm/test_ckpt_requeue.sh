# test_ckpt_requeue.sh - a table2.sbatch job requeued mid-fold continues the
# interrupted folds from their last checkpointed epoch: a job of a few
# multi-epoch folds is stopped with `scontrol requeue` (TERM, then requeue)
# once a fold has checkpointed an epoch; the requeued run says it continues
# each checkpointed fold from its saved epoch (the interruption cost at most
# the epoch in flight, not the fold), journals no fold twice, ends with a
# report equal fold for fold to an uninterrupted run and leaves no
# checkpoint directory.
set -u
. tests/slurm/common.sh

# The job: 2 cells x 2 folds of $EPOCHS epochs, each epoch ~0.4 s of one
# core on the suite's synthetic data, so that a fold is still in flight when
# its first checkpoint appears and the requeue reaches it.
EPOCHS=3
job="$SLT/jobs/ckpt.json"
cat >"$job" <<EOF
{"name": "ckpt", "data": {"dir": "$SLT/data"},
 "model": {"stem": {"kernel": 3, "stride": 1, "channels": 16, "maxpool": false},
           "stages": [{"channels": 48, "blocks": 1}], "dropout": 0},
 "epochs": $EPOCHS, "momentum": 0.5, "seed": 5,
 "grid": {"batch_size": [16], "lr": [0.05, 0.1]},
 "validation": {"kind": "kfold", "folds": 2}, "output": "$SLT/ckpt-default.json"}
EOF
test_job "$job" ckpt
[ ! -e "${ref%.json}.ckpt" ] || fail "the uninterrupted run left ${ref%.json}.ckpt"
ckdir="$TEST_DIR/ckpt.ckpt"

t0=$SECONDS
id=$(submit slurm/table2.sbatch "$p" -- "$job" "$rep")
[ -n "$id" ] || fail "sbatch"

# The first checkpoint: an epoch of a fold is saved, the fold goes on.
for i in $(seq 1 1200); do
    ls "$ckdir"/*.ckpt >/dev/null 2>&1 && break
    case " $TERMINAL_STATES " in *" $(job_field "$id" JobState) "*) break ;; esac
    sleep 0.05
done
first=$(cd "$ckdir" 2>/dev/null && ls -- *.ckpt 2>/dev/null | paste -sd ' ')
[ -n "$first" ] || { show_job "$id" "$p"; fail "no checkpoint appeared in $ckdir"; }
scontrol requeue "$id" || fail "scontrol requeue"
t_int=$SECONDS
note "interrupted job $id (scontrol requeue) at checkpoint(s) $first"

# TERM: rcn writes the partial report and exits 75; Slurm requeues the job.
for i in $(seq 1 300); do
    st=$(job_field "$id" JobState); r=$(job_field "$id" Restarts)
    [ "$st" = PENDING ] && [ "${r:-0}" -ge 1 ] && break
    case " $TERMINAL_STATES " in *" $st "*) show_job "$id" "$p"; fail "job ended $st instead of requeueing" ;; esac
    sleep 0.2
done
[ "$st" = PENDING ] && [ "$r" = 1 ] || { show_job "$id" "$p"; fail "not requeued (state $st, restarts $r)"; }
for i in $(seq 1 50); do
    grep -q "search interrupted (exit 75)" "$p.out" && break
    sleep 0.2
done
grep -q "search interrupted (exit 75)" "$p.out" || { show_job "$id" "$p"; fail "rcn did not exit 75"; }
jq -e '.meta.status == "interrupted"' "$rep" >/dev/null || fail "partial report status: $(jq -c .meta.status "$rep")"
n_journal=$(journal_count "$jnl")
[ "$n_journal" -eq "$(jq '.meta.folds_done' "$rep")" ] || fail "partial report and journal disagree"
journal_no_duplicates "$jnl" || fail "journal"
# The folds in flight at the interruption, each with its saved epochs.
left=$(cd "$ckdir" 2>/dev/null && ls -- *.ckpt 2>/dev/null)
[ -n "$left" ] || fail "no checkpoint left after the interruption (the folds finished first: make the epochs longer)"
note "journal after the interruption: $n_journal of $total folds; checkpoints left:" $left
err_lines=$(wc -l <"$p.err")

for i in $(seq 1 100); do
    ls "$SLURM_TEST_DIR"/spool/stepd.slurm.pmix."$id".* >/dev/null 2>&1 || break
    sleep 0.1
done
scontrol update JobId="$id" StartTime=now || fail "scontrol update StartTime=now"
st=$(wait_job "$id" "$TERMINAL_STATES" 180)
[ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "requeued job ended $st"; }
[ "$(job_field "$id" Restarts)" = 1 ] || fail "restarts $(job_field "$id" Restarts)"
grep -q "run 1\] restart 1: resuming" "$p.out" || { show_job "$id" "$p"; fail "no restart in the log"; }

# The requeued run's log: resumed from the journal, and every checkpointed
# fold continued from its saved epoch (at least the first), not from 0.
run2=$(tail -n +$((err_lines + 1)) "$p.err")
echo "$run2" | grep -q "= $total fold jobs, $n_journal done before" ||
    { show_job "$id" "$p"; fail "the requeued run did not resume from the $n_journal journaled folds"; }
saved=0
for f in $left; do
    c=${f#cell}; c=${c%%-*}; fo=${f#*-fold}; fo=${fo%.ckpt}
    e=$(echo "$run2" | sed -n "s/^rcn search: continuing cell $c fold $fo from epoch \([0-9]*\)$/\1/p")
    [ -n "$e" ] || { show_job "$id" "$p"; fail "cell $c fold $fo did not continue from its checkpoint"; }
    [ "$e" -ge 1 ] && [ "$e" -lt "$EPOCHS" ] || fail "cell $c fold $fo continued from epoch $e of $EPOCHS"
    secs=$(jq --argjson c "$c" --argjson f "$fo" --argjson e "$e" \
        '[.folds[] | select(.cell == $c and .fold == $f) | .epochs[:$e][].seconds] | add * 100 | round / 100' "$rep")
    note "measured: cell $c fold $fo continued from epoch $e of $EPOCHS: $e epoch(s) (${secs} s) not retrained"
    saved=$((saved + e))
done
note "measured: $saved epoch(s) saved by the checkpoints; requeued job COMPLETED $((SECONDS - t_int))s after the interruption, $((SECONDS - t0))s in all"

report_complete "$rep" || fail "final report not complete"
journal_no_duplicates "$jnl" || fail "a fold was trained twice to completion"
[ "$(journal_count "$jnl")" -eq "$total" ] || fail "journal has $(journal_count "$jnl") folds, want $total"
note "journal at the end: $total folds, none twice"
[ ! -e "$ckdir" ] || fail "$ckdir left at the end: $(ls "$ckdir")"
reports_equal "$rep" "$ref" || fail "requeued report differs from the uninterrupted one"
