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
# scratch) and SLURM_CONF exported;
# exit 0 = pass, 77 = skipped (prints why). Scratch is kept on failure (and
# with RCN_SLURM_KEEP=1).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
export REPO RCN="${RCN:-$REPO/bin/rcn}"
suite_start=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP test-slurm: needs root (slurmd runs jobs as any user; here: uid $(id -u))"
    exit 0
fi

# shellcheck source=tests/slurm/lib.sh
. tests/slurm/lib.sh
# shellcheck source=tests/slurm/common.sh
. tests/slurm/common.sh

t0=$SECONDS
slurm_install_deps || { echo "FAIL test-slurm: cannot install ${SLURM_PKGS[*]}"; exit 1; }
note "packages ready ($((SECONDS - t0))s)"

SLT=$(mktemp -d /tmp/rcn-slurm.XXXXXX) || exit 1
chmod 0755 "$SLT"
export SLT
mkdir -p "$SLT/data" "$SLT/jobs" "$SLT/ref"
failed=0
test_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$test_pid" ]; then
        echo "test-slurm: interrupted during $name; stopping it and the cluster"
        kill -TERM -- "-$test_pid" 2>/dev/null
        sleep 1
        kill -KILL -- "-$test_pid" 2>/dev/null
        failed=1
    fi
    slurm_stop
    if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && [ -z "${RCN_SLURM_KEEP:-}" ]; then
        rm -rf "$SLT"
    else
        echo "test-slurm: scratch, Slurm logs and job outputs kept in $SLT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
slurm_start "$SLT/cluster" || { failed=1; echo "FAIL test-slurm: Slurm did not start"; exit 1; }
note "slurm started ($((SECONDS - t0))s)"

missing=$(rcn_missing)
if [ -z "$missing" ]; then
    # One binary for the whole suite, even if bin/rcn is rebuilt meanwhile:
    # reports are compared across runs made minutes apart.
    cp "$RCN" "$SLT/rcn" && RCN="$SLT/rcn" || { failed=1; echo "FAIL test-slurm: cannot copy $RCN"; exit 1; }
    "$RCN" synth --out "$SLT/data" --train 600 --test 200 --seed 1 >"$SLT/data/synth.log" 2>&1 ||
        { cat "$SLT/data/synth.log"; failed=1; echo "FAIL test-slurm: rcn synth failed"; exit 1; }
    export RCN_DATA_DIR="$SLT/data"
fi
export RCN_MISSING="$missing"

tests=()
if [ $# -gt 0 ]; then
    for n in "$@"; do tests+=("tests/slurm/test_${n#test_}"); tests[-1]="${tests[-1]%.sh}.sh"; done
else
    tests=(tests/slurm/test_*.sh)
fi
skipped=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    [ -f "$t" ] || { echo "FAIL $name: no such test"; failed=1; continue; }
    export TEST_DIR="$SLT/$name"
    mkdir -p "$TEST_DIR"
    start=$SECONDS
    # In its own process group (killed as a whole on Ctrl-C), in the
    # background so that our traps run at once.
    setsid bash "$t" >"$TEST_DIR/log" 2>&1 &
    test_pid=$!
    wait "$test_pid"
    rc=$?
    test_pid=""
    if [ $rc -eq 0 ]; then
        echo "PASS $name ($((SECONDS - start))s)"
        grep -E '^\[..:..:..\] (reports equal|measured|journal)' "$TEST_DIR/log" | sed 's/^/    /'
    elif [ $rc -eq 77 ]; then
        echo "SKIP $name: $(tail -n 1 "$TEST_DIR/log")"
        skipped=$((skipped + 1))
    else
        echo "FAIL $name ($((SECONDS - start))s; log: $TEST_DIR/log)"
        tail -n 40 "$TEST_DIR/log"
        failed=1
    fi
done
echo "test-slurm: $((SECONDS - suite_start))s in all$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
if [ -n "$missing" ]; then
    echo "test-slurm: INCOMPLETE: the rcn tests need $missing"
    failed=1
fi
exit $failed
