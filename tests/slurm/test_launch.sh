# test_launch.sh - the batch scripts and launchers without rcn: the shared
# body of slurm/*.sbatch is identical, Slurm accepts their options, an MPI
# hello world runs through each script with srun --mpi=pmix and with the
# mpirun fallback (one rank per task, OpenBLAS threads 1), and
# scripts/mpirun.sh picks --bind-to core / --oversubscribe by core count.
set -u
. tests/slurm/common.sh

body() { sed -n '/^# ---- common body/,$p' "$1"; }
for s in slurm/*.sbatch; do
    bash -n "$s" || fail "$s: syntax"
    [ -n "$(body "$s")" ] || fail "$s: no common body marker"
    [ "$(body "$s")" = "$(body slurm/table2.sbatch)" ] || fail "$s: common body differs from table2.sbatch"
done

# Slurm accepts every #SBATCH line (cluster size overridden for this node).
for s in slurm/*.sbatch; do
    out=$(sbatch --test-only --nodes=1 --ntasks=2 --ntasks-per-node=2 --time=10 \
          --output=/dev/null --error=/dev/null "$s" 2>&1)
    echo "$out" | grep -q "to start at" || fail "$s: sbatch --test-only: $out"
done

# An MPI program standing in for rcn: prints rank, size, the arguments and
# the BLAS thread setting.
cat >"$TEST_DIR/hello.c" <<'C'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    int r, n;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    const char *t = getenv("OPENBLAS_NUM_THREADS");
    printf("hello rank %d of %d threads=%s args:", r, n, t ? t : "unset");
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    MPI_Finalize();
    return 0;
}
C
mpicc -O1 -o "$TEST_DIR/hello" "$TEST_DIR/hello.c" || fail "mpicc hello"

for launcher in srun mpirun; do
    for s in quick table2; do
        p="$TEST_DIR/$s-$launcher"
        id=$(RCN="$TEST_DIR/hello" RCN_LAUNCHER=$launcher submit "slurm/$s.sbatch" "$p" -- some/job.json out.json)
        [ -n "$id" ] || fail "sbatch $s.sbatch"
        st=$(wait_job "$id" "$TERMINAL_STATES" 60)
        [ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "$s.sbatch with $launcher: $st"; }
        n=$(grep -c "^hello rank [01] of 2 threads=1 args: search some/job.json --out out.json$" "$p.out")
        [ "$n" -eq 2 ] || { show_job "$id" "$p"; fail "$s.sbatch with $launcher: expected 2 ranks of 2"; }
        grep -q "start: $launcher, 2 ranks" "$p.out" || fail "$s.sbatch: launcher line missing"
    done
done
note "measured: quick/table2.sbatch ran a 2-rank MPI program with srun --mpi=pmix and with mpirun"

# Workstation launcher: choices by core count, and a real oversubscribed run.
cores=$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)
d=$(scripts/mpirun.sh --dry-run -np "$cores" true)
case "$d" in *"--bind-to core"*) ;; *) fail "mpirun.sh -np $cores: no --bind-to core: $d" ;; esac
case "$d" in *--oversubscribe*) fail "mpirun.sh -np $cores oversubscribes: $d" ;; esac
case "$d" in *"--mca btl self,vader"*) ;; *) fail "mpirun.sh: not shared-memory only: $d" ;; esac
d=$(scripts/mpirun.sh --dry-run -np $((cores + 1)) true)
case "$d" in *--oversubscribe*"--bind-to none"*) ;; *) fail "mpirun.sh -np $((cores + 1)): $d" ;; esac
scripts/mpirun.sh -np $((cores + 1)) "$TEST_DIR/hello" x >"$TEST_DIR/ws.out" 2>&1 || { cat "$TEST_DIR/ws.out"; fail "mpirun.sh run"; }
n=$(grep -c "of $((cores + 1)) threads=1 args: x$" "$TEST_DIR/ws.out")
[ "$n" -eq $((cores + 1)) ] || { cat "$TEST_DIR/ws.out"; fail "mpirun.sh: $n ranks answered"; }
scripts/mpirun.sh -np 0 true 2>/dev/null && fail "mpirun.sh accepted -np 0"
true
