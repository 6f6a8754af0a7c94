#!/usr/bin/env bash
# run.sh - `make test-cluster`: starts a private 3-node Slurm cluster on this
# machine (tests/cluster/lib.sh: one network + UTS namespace per node on a
# bridge, munged, slurmctld, one slurmd per node), runs every
# tests/cluster/test_*.sh against it and tears everything down, by pid and
# by name, however the run ends. Needs root (namespaces, slurmd); elsewhere
# it says why it skips and exits 0.
#
#   tests/cluster/run.sh [NAME...]    e.g. tests/cluster/run.sh lose
#
# Each test runs from the repo root, in its own process group, under
# `timeout` ($RCN_CLUSTER_TEST_TIMEOUT, default 300 s), with REPO, RCN (a
# copy of bin/rcn), SLT (shared scratch: data/, jobs/, ref/), TEST_DIR, the
# cluster's SLURM_CONF and CLUSTER_* exported; exit 0 = pass, 77 = skipped.
# Scratch is kept on failure (and with RCN_SLURM_KEEP=1).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
export REPO RCN="${RCN:-$REPO/bin/rcn}"
suite_start=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP test-cluster: needs root (network namespaces, bridges, slurmd; here: uid $(id -u))"
    exit 0
fi
for c in ip nsenter unshare ss; do
    command -v "$c" >/dev/null || { echo "SKIP test-cluster: no '$c' (iproute2, util-linux)"; exit 0; }
done
if ! ip netns list >/dev/null 2>&1 || ! unshare --net --uts true 2>/dev/null; then
    echo "SKIP test-cluster: this machine does not allow network/UTS namespaces (a container without CAP_SYS_ADMIN?)"
    exit 0
fi

# shellcheck source=tests/slurm/lib.sh
. tests/slurm/lib.sh
# shellcheck source=tests/slurm/common.sh
. tests/slurm/common.sh
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh

slurm_install_deps || { echo "FAIL test-cluster: cannot install ${SLURM_PKGS[*]}"; exit 1; }
missing=$(rcn_missing)
[ -z "$missing" ] || { echo "FAIL test-cluster: needs $missing"; exit 1; }

SLT=$(mktemp -d /tmp/rcn-cluster.XXXXXX) || exit 1
chmod 0755 "$SLT"
export SLT
mkdir -p "$SLT/data" "$SLT/jobs" "$SLT/ref"
failed=0
test_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$test_pid" ]; then
        echo "test-cluster: interrupted during $name; stopping it and the cluster"
        kill -TERM -- "-$test_pid" 2>/dev/null
        sleep 1
        kill -KILL -- "-$test_pid" 2>/dev/null
        failed=1
    fi
    cluster_stop
    if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && [ -z "${RCN_SLURM_KEEP:-}" ]; then
        rm -rf "$SLT"
    else
        echo "test-cluster: scratch, Slurm logs and job outputs kept in $SLT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s%N)
cluster_start "$SLT/cluster" 3 || { failed=1; echo "FAIL test-cluster: the cluster did not start"; exit 1; }
note "measured: cluster up (3 nodes, network, munged, slurmctld, slurmds) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# One binary for the whole suite; the same data everywhere (shared filesystem).
cp "$RCN" "$SLT/rcn" && RCN="$SLT/rcn" || { failed=1; echo "FAIL test-cluster: cannot copy $RCN"; exit 1; }
"$RCN" synth --out "$SLT/data" --train 600 --test 200 --seed 1 >"$SLT/data/synth.log" 2>&1 ||
    { cat "$SLT/data/synth.log"; failed=1; echo "FAIL test-cluster: rcn synth failed"; exit 1; }
export RCN_DATA_DIR="$SLT/data"
# What a site sets for its network: the ranks' TCP on the cluster's subnet.
export OMPI_MCA_btl_tcp_if_include="$CLUSTER_NET" OMPI_MCA_oob_tcp_if_include="$CLUSTER_NET"

tests=()
if [ $# -gt 0 ]; then
    for n in "$@"; do tests+=("tests/cluster/test_${n#test_}"); tests[-1]="${tests[-1]%.sh}.sh"; done
else
    tests=(tests/cluster/test_*.sh)
fi
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    [ -f "$t" ] || { echo "FAIL $name: no such test"; failed=1; continue; }
    export TEST_DIR="$SLT/$name"
    mkdir -p "$TEST_DIR"
    start=$SECONDS
    setsid timeout -k 5 "${RCN_CLUSTER_TEST_TIMEOUT:-300}" bash "$t" >"$TEST_DIR/log" 2>&1 &
    test_pid=$!
    wait "$test_pid"
    rc=$?
    test_pid=""
    if [ $rc -eq 0 ]; then
        echo "PASS $name ($((SECONDS - start))s)"
        grep -E '^\[..:..:..\] (reports equal|measured|journal|hosts|tcp|second)' "$TEST_DIR/log" | sed 's/^/    /'
    else
        [ $rc -eq 124 ] && echo "test-cluster: $name timed out"
        echo "FAIL $name ($((SECONDS - start))s; log: $TEST_DIR/log)"
        tail -n 40 "$TEST_DIR/log"
        failed=1
    fi
    # A failed test may leave a node lost: bring every node back.
    for k in $(seq 1 "$CLUSTER_NODES"); do
        [ -n "$(ip netns pids "$(cluster_ns "$k")")" ] || cluster_restore "$k" || failed=1
    done
done
echo "test-cluster: $((SECONDS - suite_start))s in all"
exit $failed
