# test_lose.sh - a node lost mid-run, as a power cut: its link goes down and
# every process in it is killed (slurmd, slurmstepd, ranks; for node1 also
# the batch script and rank 0). Twice: a worker's node (node3), then rank
# 0's node (node1). Each time the job ends within a bounded time (Slurm
# marks the node down after SlurmdTimeout and ends the job NODE_FAIL; a
# surviving batch script exits non-zero; the time is measured and printed),
# the journal keeps every fold finished before the loss, and the same job
# resubmitted on the two remaining nodes resumes from it and finishes with
# a report equal fold for fold to a single-node run.
set -u
. tests/cluster/common.sh

test_job "$(cluster_job)" run
ms() { date +%s%3N; }

# lose K NAME: runs the job on 3 nodes, loses node K after 3 folds, resumes
# on the other two; restores node K at the end.
lose() {
    local k="$1" name="$2" p="$TEST_DIR/$2" rep="$TEST_DIR/$2.json" jnl="$TEST_DIR/$2.journal.jsonl"
    local id st n_lost n t0 det ec
    # --no-requeue: end the job rather than wait for a third node again.
    id=$(submit_nodes 3 slurm/quick.sbatch "$p" --no-requeue -- "$job" "$rep")
    [ -n "$id" ] || fail "$name: sbatch"
    wait_file_lines "$jnl" '"type": *"fold"' 3 60 || { show_job "$id" "$p"; fail "$name: no 3 folds journaled"; }
    t0=$(ms)
    cluster_lose "$k"
    n_lost=$(journal_count "$jnl")
    note "$name: node$k lost with $n_lost of $total folds journaled"
    st=$(wait_job "$id" "$TERMINAL_STATES" 120) || { show_job "$id" "$p"; fail "$name: job not ended"; }
    det=$(( $(ms) - t0 ))
    [ "$st" = NODE_FAIL ] || { show_job "$id" "$p"; fail "$name: job ended $st, not NODE_FAIL"; }
    # The batch script runs on node1: when it survives it must not exit 0
    # (what `sbatch --wait` returns); when it is lost Slurm records 0:0.
    ec=$(job_field "$id" ExitCode)
    [ "$k" = 1 ] || [ "$ec" != 0:0 ] || { show_job "$id" "$p"; fail "$name: the batch script exited 0"; }
    note "measured: $name: node$k lost -> job $id ended $st (exit $ec) after $((det / 1000)).$((det % 1000 / 100)) s"
    n=$(journal_count "$jnl")
    [ "$n" -ge "$n_lost" ] || fail "$name: journal lost folds ($n_lost -> $n)"
    journal_no_duplicates "$jnl" || fail "$name: journal"

    t0=$SECONDS
    id=$(submit_nodes 2 slurm/quick.sbatch "$p.resume" -- "$job" "$rep")
    [ -n "$id" ] || fail "$name: resubmission"
    st=$(wait_job "$id" "$TERMINAL_STATES" 120)
    [ "$st" = COMPLETED ] || { show_job "$id" "$p.resume"; fail "$name: resubmitted job ended $st"; }
    grep -q "start: srun, 2 ranks on " "$p.resume.out" || fail "$name: resubmission not on 2 ranks"
    grep -q "node$k" <<<"$(job_field "$id" NodeList)" && fail "$name: resubmission ran on the lost node$k"
    grep -q "= $total fold jobs, $n done before" "$p.resume.err" ||
        { show_job "$id" "$p.resume"; fail "$name: resubmission did not resume the $n journaled folds"; }
    note "measured: $name: resubmitted on $(job_field "$id" NodeList), resumed $n of $total folds, COMPLETED in $((SECONDS - t0))s"
    report_complete "$rep" || fail "$name: report not complete"
    journal_no_duplicates "$jnl" || fail "$name: a fold was trained twice to completion"
    [ "$(journal_count "$jnl")" -eq "$total" ] || fail "$name: journal has $(journal_count "$jnl") folds, want $total"
    note "journal of $name: $n folds kept across the loss, $total at the end, none twice"
    reports_equal "$rep" "$SLT/ref/cluster.json" || fail "$name: report differs from the single-node one"
    t0=$(ms)
    cluster_restore "$k" || fail "node$k did not come back"
    note "measured: node$k back (link up, slurmd, idle) in $(( $(ms) - t0 )) ms"
}

lose 3 worker-node
lose 1 rank0-node
