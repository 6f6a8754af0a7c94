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
# Each test runs as in tests/slurm/run.sh (tests/slurm/suite.sh), under
# `timeout` ($RCN_CLUSTER_TEST_TIMEOUT, default 300 s), with the cluster's
# SLURM_CONF and CLUSTER_* exported too; exit 0 = pass, 77 = skipped.
# Scratch is kept on failure (and with RCN_SLURM_KEEP=1).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/slurm/suite.sh
. tests/slurm/suite.sh
suite_begin test-cluster "network namespaces, bridges, slurmd"
for c in ip nsenter unshare ss; do
    command -v "$c" >/dev/null || { echo "SKIP test-cluster: no '$c' (iproute2, util-linux)"; exit 0; }
done
if ! ip netns list >/dev/null 2>&1 || ! unshare --net --uts true 2>/dev/null; then
    echo "SKIP test-cluster: this machine does not allow network/UTS namespaces (a container without CAP_SYS_ADMIN?)"
    exit 0
fi

# shellcheck source=tests/cluster/common.sh
. tests/cluster/common.sh
SUITE_TIMEOUT=${RCN_CLUSTER_TEST_TIMEOUT:-300} SUITE_SHOW="hosts|tcp|second"

slurm_install_deps || suite_fail "cannot install ${SLURM_PKGS[*]}"
missing=$(rcn_missing)
[ -z "$missing" ] || suite_fail "needs $missing"

suite_scratch cluster_stop
t0=$(date +%s%N)
cluster_start "$SLT/cluster" 3 || suite_fail "the cluster did not start"
note "measured: cluster up (3 nodes, network, munged, slurmctld, slurmds) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

suite_rcn_data
# What a site sets for its network: the ranks' TCP on the cluster's subnet.
export OMPI_MCA_btl_tcp_if_include="$CLUSTER_NET" OMPI_MCA_oob_tcp_if_include="$CLUSTER_NET"

# A failed test may leave a node lost: bring every node back.
suite_after_test() {
    local k rc=0
    for k in $(seq 1 "$CLUSTER_NODES"); do
        [ -n "$(ip netns pids "$(cluster_ns "$k")")" ] || cluster_restore "$k" || rc=1
    done
    return $rc
}

suite_run_tests tests/cluster "$@"
exit $failed
