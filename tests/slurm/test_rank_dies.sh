# test_rank_dies.sh - a worker rank killed with SIGKILL mid-run ends the job
# with a non-zero exit; the journal keeps every finished fold; resubmitting
# the same script finishes the rest; final report == uninterrupted run and
# no fold is journaled twice.
set -u
. tests/slurm/common.sh

test_job "$(long_job)" die
id=$(submit slurm/quick.sbatch "$p" -- "$job" "$rep")
[ -n "$id" ] || fail "sbatch"
wait_file_lines "$jnl" '"type": *"fold"' 2 90 || { show_job "$id" "$p"; fail "no folds journaled"; }

# Rank 1 of step 0: scontrol listpids gives PID JOBID STEPID LOCALID GLOBALID.
pid=""
for i in $(seq 1 50); do
    pid=$(scontrol listpids "$id" 2>/dev/null | awk '$3 == "0" && $5 == "1" {print $1}' | head -n 1)
    [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$RCN")" ] && break
    pid=""; sleep 0.1
done
[ -n "$pid" ] || { scontrol listpids "$id" >&2; fail "rank 1 of job $id not found"; }
n_before=$(journal_count "$jnl")
[ "$n_before" -lt "$total" ] || fail "job too short to interrupt"
kill -KILL "$pid"
note "killed rank 1 (pid $pid) of job $id with $n_before of $total folds journaled"

st=$(wait_job "$id" "$TERMINAL_STATES" 90)
code=$(job_field "$id" ExitCode)
[ "$st" != COMPLETED ] && [ "$code" != "0:0" ] || { show_job "$id" "$p"; fail "job ended $st exit $code after a rank died"; }
grep -q "search failed" "$p.out" || { show_job "$id" "$p"; fail "script did not report the failure"; }
n_after=$(journal_count "$jnl")
[ "$n_after" -ge "$n_before" ] || fail "journal lost folds ($n_before -> $n_after)"
[ "$n_after" -lt "$total" ] || fail "all folds finished despite the dead rank"
journal_no_duplicates "$jnl" || fail "journal"
note "journal after the dead rank: job $st exit $code, $n_after of $total folds kept"

id2=$(submit slurm/quick.sbatch "$p-2" -- "$job" "$rep")
st=$(wait_job "$id2" "$TERMINAL_STATES" 180)
[ "$st" = COMPLETED ] || { show_job "$id2" "$p-2"; fail "resubmitted job ended $st"; }
report_complete "$rep" || fail "final report not complete"
journal_no_duplicates "$jnl" || fail "a fold was trained twice to completion"
[ "$(journal_count "$jnl")" -eq "$total" ] || fail "journal has $(journal_count "$jnl") folds, want $total"
reports_equal "$rep" "$SLT/ref/long.json" || fail "resumed report differs from the uninterrupted one"
