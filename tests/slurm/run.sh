#!/usr/bin/env bash
# run.sh - `make test-slurm`: installs Slurm and munge from Debian when
# missing, starts a private one-node Slurm on localhost (tests/slurm/lib.sh),
# runs every tests/slurm/test_*.sh against it and stops every daemon it
# started, by pid, however the run ends. Needs root (slurmd).
#
#   tests/slurm/run.sh [NAME...]    e.g. tests/slurm/run.sh preempt
#
# Each test runs from the repo root with REPO, RCN (a copy of bin/rcn made
# at the start), SLT (shared scratch: data/, jobs/, ref/), TEST_DIR (its own
# scratch) and SLURM_CONF exported (tests/slurm/suite.sh); exit 0 = pass,
# 77 = skipped (prints why). Scratch is kept on failure (and with
# RCN_SLURM_KEEP=1).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/slurm/suite.sh
. tests/slurm/suite.sh
suite_begin test-slurm "slurmd runs jobs as any user"
# shellcheck source=tests/slurm/common.sh
. tests/slurm/common.sh

t0=$SECONDS
slurm_install_deps || suite_fail "cannot install ${SLURM_PKGS[*]}"
note "packages ready ($((SECONDS - t0))s)"

suite_scratch slurm_stop
t0=$SECONDS
slurm_start "$SLT/cluster" || suite_fail "Slurm did not start"
note "slurm started ($((SECONDS - t0))s)"

missing=$(rcn_missing)
[ -n "$missing" ] || suite_rcn_data
export RCN_MISSING="$missing"

suite_run_tests tests/slurm "$@"
if [ -n "$missing" ]; then
    echo "test-slurm: INCOMPLETE: the rcn tests need $missing"
    failed=1
fi
exit $failed
