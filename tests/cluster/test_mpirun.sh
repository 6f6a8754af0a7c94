# test_mpirun.sh - the workstation launcher's multi-host form without Slurm:
# scripts/mpirun.sh --hostfile (node1-3, one slot each) --net <subnet>, its
# daemons started on the nodes by an rsh agent (as ssh would): ranks on
# three hosts, TCP between node addresses, the report equal fold for fold
# to a single-node run.
set -u
. tests/cluster/common.sh

test_job "$(cluster_job)" run
printf 'node%s slots=1\n' $(seq 1 "$CLUSTER_NODES") >"$TEST_DIR/hosts"

# --bind-to none: the three "hosts" share this machine's cores.
t0=$SECONDS
RCN_MPIRUN_ARGS="--mca plm_rsh_agent $CLUSTER_AGENT --bind-to none" timeout 120 \
    "$REPO/scripts/mpirun.sh" --hostfile "$TEST_DIR/hosts" --net "$CLUSTER_NET" \
    "$RCN" search "$job" --out "$rep" >"$TEST_DIR/run.out" 2>"$TEST_DIR/run.err" &
pid=$!
sample_tcp "$TEST_DIR/tcp" "$pid"
wait "$pid" || { tail -n 30 "$TEST_DIR/run.err"; fail "mpirun.sh --hostfile: exit $?"; }
note "measured: scripts/mpirun.sh --hostfile (3 hosts, cluster job): done in $((SECONDS - t0))s"
check_spread "$rep" "$TEST_DIR/tcp"
reports_equal "$rep" "$SLT/ref/cluster.json" || fail "3-host mpirun report differs from the single-node one"
