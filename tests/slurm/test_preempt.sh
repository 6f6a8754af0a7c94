# test_preempt.sh - interruption and requeue of a running table2.sbatch job,
# both ways a job is stopped early on a cluster:
#  1. the time-limit warning: USR1 to the batch script (what
#     --signal=B:USR1@T delivers; here scancel --batch --signal=USR1): the
#     script forwards it, rcn writes the partial report (status interrupted)
#     and exits 75, the script requeues the job itself;
#  2. preemption / scontrol requeue: Slurm sends TERM to the job and requeues
#     it; rcn saves its work the same way.
# Each requeued run (SLURM_RESTART_COUNT 1, 2) resumes from the journal;
# the job finishes with no fold journaled twice and a final report equal,
# fold for fold, to an uninterrupted run.
set -u
. tests/slurm/common.sh

test_job "$(long_job)" pre

# interrupt HOW RESTARTS: waits for 2 more journaled folds, stops the job
# (HOW: usr1 | requeue), checks the partial report and the requeue, and
# starts the requeued run at once.
interrupt() {
    local how="$1" want="$2" have i st r
    have=$(journal_count "$jnl" 2>/dev/null || echo 0)
    wait_file_lines "$jnl" '"type": *"fold"' $((have + 2)) 90 || { show_job "$id" "$p"; fail "no folds journaled"; }
    have=$(journal_count "$jnl")
    [ "$have" -lt "$total" ] || fail "job too short to interrupt ($have of $total folds already)"
    case "$how" in
        usr1) scancel --batch --signal=USR1 "$id" || fail "scancel --signal=USR1" ;;
        requeue) scontrol requeue "$id" || fail "scontrol requeue" ;;
    esac
    note "interrupted job $id ($how) with $have of $total folds journaled"
    # Requeued: PENDING with one more restart (and a ~2 min begin delay,
    # skipped below once the old step is gone).
    for i in $(seq 1 300); do
        st=$(job_field "$id" JobState); r=$(job_field "$id" Restarts)
        [ "$st" = PENDING ] && [ "${r:-0}" -ge "$want" ] && break
        case " $TERMINAL_STATES " in *" $st "*) show_job "$id" "$p"; fail "job ended $st instead of requeueing" ;; esac
        sleep 0.2
    done
    [ "$st" = PENDING ] && [ "$r" = "$want" ] || { show_job "$id" "$p"; fail "not requeued (state $st, restarts $r)"; }
    # The run's log: rcn exited 75 and, for USR1, the script requeued.
    for i in $(seq 1 50); do
        [ "$(grep -c "search interrupted (exit 75)" "$p.out")" -ge "$want" ] && break
        sleep 0.2
    done
    [ "$(grep -c "search interrupted (exit 75)" "$p.out")" -ge "$want" ] || { show_job "$id" "$p"; fail "rcn did not exit 75"; }
    [ "$how" != usr1 ] || grep -q "run $((want - 1))\] requeueing job $id" "$p.out" || fail "script did not requeue"
    jq -e '.meta.status == "interrupted"' "$rep" >/dev/null || fail "partial report status: $(jq -c .meta.status "$rep")"
    local done_partial n_journal
    done_partial=$(jq '.meta.folds_done' "$rep")
    n_journal=$(journal_count "$jnl")
    [ "$done_partial" -lt "$total" ] || fail "partial report says all folds done"
    [ "$n_journal" -eq "$done_partial" ] || fail "partial report has $done_partial folds, journal $n_journal"
    journal_no_duplicates "$jnl" || fail "journal"
    note "journal after interruption $want ($how): $n_journal of $total folds; partial report status interrupted"
    for i in $(seq 1 100); do
        ls "$SLURM_TEST_DIR"/spool/stepd.slurm.pmix."$id".* >/dev/null 2>&1 || break
        sleep 0.1
    done
    scontrol update JobId="$id" StartTime=now || fail "scontrol update StartTime=now"
    # The restarted run must resume from exactly the journaled folds.
    for i in $(seq 1 300); do
        grep -q "= $total fold jobs, $n_journal done before" "$p.err" && break
        sleep 0.2
    done
    grep -q "= $total fold jobs, $n_journal done before" "$p.err" ||
        { show_job "$id" "$p"; fail "restart $want did not resume from the $n_journal journaled folds"; }
    grep -q "run $want\] restart $want: resuming" "$p.out" || { show_job "$id" "$p"; fail "no restart $want in the log"; }
}

t0=$SECONDS
id=$(submit slurm/table2.sbatch "$p" -- "$job" "$rep")
[ -n "$id" ] || fail "sbatch"
interrupt usr1 1
interrupt requeue 2

st=$(wait_job "$id" "$TERMINAL_STATES" 180)
[ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "requeued job ended $st"; }
[ "$(job_field "$id" Restarts)" = 2 ] || fail "restarts $(job_field "$id" Restarts)"
note "measured: job interrupted twice, requeued, COMPLETED in $((SECONDS - t0))s"
report_complete "$rep" || fail "final report not complete"
journal_no_duplicates "$jnl" || fail "a fold was trained twice to completion"
[ "$(journal_count "$jnl")" -eq "$total" ] || fail "journal has $(journal_count "$jnl") folds, want $total"
note "journal at the end: $total folds, none twice"
reports_equal "$rep" "$SLT/ref/long.json" || fail "requeued report differs from the uninterrupted one"
