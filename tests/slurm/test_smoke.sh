# test_smoke.sh - the smoke job submitted with slurm/quick.sbatch on the
# local Slurm (2 tasks, srun --mpi=pmix) completes, and its report equals
# fold for fold an uninterrupted scripts/mpirun.sh run of the same job.
set -u
. tests/slurm/common.sh

test_job "$(smoke_job)" smoke
t0=$SECONDS
id=$(submit slurm/quick.sbatch "$p" -- "$job" "$TEST_DIR/smoke.json")
[ -n "$id" ] || fail "sbatch"
st=$(wait_job "$id" "$TERMINAL_STATES" 120)
[ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "job $id ended $st"; }
[ "$(job_field "$id" ExitCode)" = "0:0" ] || { show_job "$id" "$p"; fail "exit code"; }
note "measured: sbatch quick.sbatch smoke job: COMPLETED in $((SECONDS - t0))s"
grep -q "start: srun, 2 ranks" "$p.out" || { show_job "$id" "$p"; fail "not launched with srun, 2 ranks"; }
report_complete "$TEST_DIR/smoke.json" || fail "report not complete"
jq -e '.meta.ranks == 2' "$TEST_DIR/smoke.json" >/dev/null || fail "meta.ranks is not 2"
reports_equal "$TEST_DIR/smoke.json" "$SLT/ref/smoke.json" || fail "Slurm report differs from mpirun's"
journal_no_duplicates "$TEST_DIR/smoke.journal.jsonl" || fail "journal"
