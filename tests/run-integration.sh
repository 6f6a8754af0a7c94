#!/usr/bin/env bash
# run-integration.sh - runs every tests/integration/*.sh from the repo root,
# each with a fresh temp dir in $TMPDIR_TEST, and must see each exit 0:
# the timing-dependent tests alone, the others two at a time
# (RCN_TEST_JOBS=N: N at a time; see tests/lib/pool.bash).
set -u
. tests/lib/pool.bash
export RCN="$PWD/bin/rcn"
rcn_pool_integration "" /tmp/rcn-it
