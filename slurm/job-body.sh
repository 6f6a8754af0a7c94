# job-body.sh - the body shared by every slurm/*.sbatch (sourced, not run):
# starts `rcn search` on the allocation with srun --mpi=pmix (else mpirun),
# forwards the warning signals to the ranks and requeues the job when the
# time limit is near (see slurm/README.md).
#
# Contract with the sourcing script: RCN_DEFAULT_JOB is the job file used
# when no argument is given; the positional arguments are [JOB.json
# [REPORT.json]]. It ends the script (exit): 0 complete, 75 interrupted
# (partial report written, resumable), anything else failed.
#
# Slurm copies a batch script to its spool directory and runs that copy, so
# the .sbatch files source this one from the submit directory:
# "$SLURM_SUBMIT_DIR/slurm/job-body.sh" (submit from the repository root).
set -u
log() { echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ) job ${SLURM_JOB_ID:-?} run ${SLURM_RESTART_COUNT:-0}] $*"; }

cd "${SLURM_SUBMIT_DIR:-.}" || exit 1
job_file=${1:-$RCN_DEFAULT_JOB}
rcn=${RCN:-$PWD/bin/rcn}
restarts=${SLURM_RESTART_COUNT:-0}
max_restarts=${RCN_MAX_RESTARTS:-50}
ntasks=${SLURM_NTASKS:-1}
args=(search "$job_file")
[ $# -ge 2 ] && args+=(--out "$2")
# A requeued run (SLURM_RESTART_COUNT > 0) or a resubmission resumes from the
# journal: rcn search skips every fold journaled for the same job on its own.
# (Not --resume: that would fail a restart whose first run was stopped before
# the journal was created.)

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

launcher=${RCN_LAUNCHER:-}
if [ -z "$launcher" ]; then
    if command -v srun >/dev/null 2>&1 && srun --mpi=list 2>&1 | grep -qw pmix; then
        launcher=srun
    else
        launcher=mpirun
    fi
fi
# Every task touches $marker just before it becomes rcn (exec): srun of
# Slurm 22.05 returns 0 when a step fails to launch, so "exit 0 and no
# marker" means rcn never ran (the launch is then retried).
marker="${TMPDIR:-/tmp}/rcn-started.${SLURM_JOB_ID:-0}.$restarts.$$"
task=(bash -c ': > "$0"; exec "$@"' "$marker" "$rcn" "${args[@]}")
case "$launcher" in
    srun) cmd=(srun --mpi=pmix --kill-on-bad-exit=1 --ntasks="$ntasks" "${task[@]}") ;;
    mpirun) cmd=(mpirun -np "$ntasks" --bind-to core -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS
                 "${task[@]}") ;;
    *) log "RCN_LAUNCHER must be srun or mpirun, not '$launcher'"; exit 2 ;;
esac

# Warning signals: Slurm's --signal=B:USR1 (time limit ahead) and TERM
# (preemption, scancel). Either one is forwarded to the ranks as USR1 (rcn
# treats both alike; mpirun and srun forward USR1 to every rank); rank 0
# stops dispatching, journals what finished, writes the partial report and
# every rank exits 75.
child=""
got_signal=""
pending=""
on_signal() {
    got_signal=$1
    pending=1
    log "received SIG$1; forwarding USR1 to the ranks"
    [ -n "$child" ] && kill -USR1 "$child" 2>/dev/null
}
trap 'on_signal USR1' USR1
trap 'on_signal TERM' TERM

log "start: $launcher, $ntasks ranks on ${SLURM_JOB_NODELIST:-localhost}: $rcn ${args[*]}"
[ "$restarts" -gt 0 ] && log "restart $restarts: resuming from the journal"
rc=75
attempt=1
while [ -z "$got_signal" ]; do
    rm -f "$marker"
    "${cmd[@]}" &
    child=$!
    rc=""
    while :; do
        wait "$child"; r=$?
        # 127: the status was collected by the previous wait already.
        if [ "$r" -eq 127 ] && [ -n "$rc" ]; then break; fi
        rc=$r
        # A trapped signal interrupts wait; wait again for the real status.
        if [ -n "$pending" ]; then pending=""; continue; fi
        break
    done
    child=""
    [ -e "$marker" ] && break
    log "$launcher exited $rc without starting rcn (launch attempt $attempt failed)"
    rc=1
    [ "$attempt" -ge 3 ] && break
    sleep $((attempt * 10))
    attempt=$((attempt + 1))
    rc=75  # in case a warning signal arrived during the sleep
done
rm -f "$marker"

case "$rc" in
    0) # srun of Slurm 22.05 also exits 0 when a lost node cancelled the step
       if [ "$got_signal" = TERM ]; then log "$launcher exited 0 after SIGTERM: completion not confirmed; resubmit"; exit 1; fi
       log "search complete"; exit 0 ;;
    75)
        log "search interrupted (exit 75): partial report written, finished folds journaled"
        if [ "$got_signal" = USR1 ]; then
            if [ "$restarts" -lt "$max_restarts" ]; then
                log "requeueing job $SLURM_JOB_ID (restart $((restarts + 1)) of at most $max_restarts)"
                scontrol requeue "$SLURM_JOB_ID" && exit 0
                log "scontrol requeue failed: resubmit this script to resume"
            else
                log "not requeueing: $restarts restarts reached RCN_MAX_RESTARTS=$max_restarts"
            fi
        fi
        # TERM: preemption requeues the job by itself; scancel ends it.
        exit 75 ;;
    *) log "search failed (exit $rc): finished folds are in the journal; resubmit to resume"
       exit "$rc" ;;
esac
