# test_preempt.sh - the time-limit warning path: a running table2.sbatch job
# gets Slurm's warning signal (scancel --batch --signal=USR1, what
# --signal=B:USR1@T delivers), forwards it, rcn writes the partial report
# (status interrupted) and exits 75, the script requeues the job, the
# requeued run (SLURM_RESTART_COUNT 1) resumes from the journal and
# finishes: no fold journaled twice, final report == uninterrupted run.
set -u
. tests/slurm/lib.sh
. tests/slurm/common.sh
[ -z "$RCN_MISSING" ] || { echo "needs $RCN_MISSING"; exit 77; }

job=$(long_job)
reference "$job" "$SLT/ref/long.json"
total=$(jq '.meta.folds_total' "$SLT/ref/long.json")

p="$TEST_DIR/pre"
rep="$TEST_DIR/long.json"
jnl="$TEST_DIR/long.journal.jsonl"
t0=$SECONDS
id=$(submit slurm/table2.sbatch "$p" -- "$job" "$rep")
[ -n "$id" ] || fail "sbatch"
wait_file_lines "$jnl" '"type": *"fold"' 2 90 || { show_job "$id" "$p"; fail "no folds journaled"; }
n_before=$(journal_count "$jnl")
[ "$n_before" -lt "$total" ] || fail "job too short to interrupt ($n_before of $total folds already)"
scancel --batch --signal=USR1 "$id" || fail "scancel --signal=USR1"
note "signalled job $id (USR1 to the batch script) with $n_before of $total folds journaled"

# The script requeues the job: PENDING with one restart (and a ~2 min begin
# delay, which we skip once the old step is gone).
for i in $(seq 1 300); do
    st=$(job_field "$id" JobState); r=$(job_field "$id" Restarts)
    [ "$st" = PENDING ] && [ "${r:-0}" -ge 1 ] && break
    case " $TERMINAL_STATES " in *" $st "*) show_job "$id" "$p"; fail "job ended $st instead of requeueing" ;; esac
    sleep 0.2
done
[ "$st" = PENDING ] || { show_job "$id" "$p"; fail "not requeued (state $st)"; }
grep -q "search interrupted (exit 75)" "$p.out" || { show_job "$id" "$p"; fail "rcn did not exit 75"; }
grep -q "requeueing job $id" "$p.out" || fail "script did not requeue"
jq -e '.meta.status == "interrupted"' "$rep" >/dev/null || fail "partial report status: $(jq -c .meta.status "$rep")"
done_partial=$(jq '.meta.folds_done' "$rep")
[ "$done_partial" -lt "$total" ] || fail "partial report says all folds done"
n_journal=$(journal_count "$jnl")
[ "$n_journal" -eq "$done_partial" ] || fail "partial report has $done_partial folds, journal $n_journal"
note "journal after the interruption: $n_journal of $total folds; partial report status interrupted"
for i in $(seq 1 100); do
    ls "$SLURM_TEST_DIR"/spool/stepd.slurm.pmix."$id".* >/dev/null 2>&1 || break
    sleep 0.1
done
scontrol update JobId="$id" StartTime=now || fail "scontrol update StartTime=now"

st=$(wait_job "$id" "$TERMINAL_STATES" 180)
[ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "requeued job ended $st"; }
[ "$(job_field "$id" Restarts)" = 1 ] || fail "restarts $(job_field "$id" Restarts)"
note "measured: interrupted + requeued job COMPLETED in $((SECONDS - t0))s"
grep -q "run 1\] restart 1: resuming" "$p.out" || { show_job "$id" "$p"; fail "no restart 1 in the log"; }
grep -q ": [0-9]* cells x [0-9]* folds = $total fold jobs, $n_journal done before" "$p.err" ||
    { show_job "$id" "$p"; fail "the requeued run did not resume from the $n_journal journaled folds"; }
report_complete "$rep" || fail "final report not complete"
journal_no_duplicates "$jnl" || fail "a fold was trained twice to completion"
[ "$(journal_count "$jnl")" -eq "$total" ] || fail "journal has $(journal_count "$jnl") folds, want $total"
reports_equal "$rep" "$SLT/ref/long.json" || fail "requeued report differs from the uninterrupted one"
