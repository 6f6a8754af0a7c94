# tests/slurm/suite.sh - the runner shared by tests/slurm/run.sh and
# tests/cluster/run.sh (sourced from the repo root, before the suite's
# lib.sh and common.sh, which define the STOP it calls): the suite's scratch
# directory, one copy of bin/rcn and its synthetic data, every test
# in its own process group, PASS / SKIP / FAIL lines, and a cleanup that
# stops the running test and the cluster however the run ends.
#
#   suite_begin SUITE WHY   SUITE is the label (test-slurm); exports REPO (the
#                           current directory) and RCN (default bin/rcn);
#                           without root: says it skips (needs root for WHY)
#                           and exits 0
#   suite_scratch STOP      SLT=/tmp/rcn-<kind>.XXXXXX (exported; data/, jobs/,
#                           ref/); on exit: the running test killed, STOP run,
#                           SLT removed unless something failed or
#                           RCN_SLURM_KEEP is set
#   suite_fail MSG          "FAIL $SUITE: MSG", exit 1
#   suite_rcn_data          RCN copied into SLT, synthetic data in $SLT/data
#                           (exports RCN_DATA_DIR)
#   suite_run_tests DIR [NAME...]   DIR/test_NAME.sh (default: every
#                           DIR/test_*.sh) with TEST_DIR=$SLT/test_NAME; the
#                           summary line last
#
# Optional, set by the caller: SUITE_TIMEOUT (seconds a test may run),
# SUITE_SHOW (more "[hh:mm:ss] WORD" log lines copied under a PASS, as an
# ERE alternation) and a function suite_after_test, run after each test (its
# failure fails the suite). Sets failed (0/1), skipped (a count), name (the
# running test) and test_pid (its process group).

failed=0
skipped=0
test_pid=""

suite_begin() {
    SUITE="$1" suite_start=$SECONDS REPO=$PWD
    export REPO RCN="${RCN:-$REPO/bin/rcn}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP $SUITE: needs root ($2; here: uid $(id -u))"
        exit 0
    fi
}

suite_fail() { failed=1; echo "FAIL $SUITE: $*"; exit 1; }

_suite_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$test_pid" ]; then
        echo "$SUITE: interrupted during $name; stopping it and the cluster"
        kill -TERM -- "-$test_pid" 2>/dev/null
        sleep 1
        kill -KILL -- "-$test_pid" 2>/dev/null
        failed=1
    fi
    "$SUITE_STOP"
    if [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && [ -z "${RCN_SLURM_KEEP:-}" ]; then
        rm -rf "$SLT"
    else
        echo "$SUITE: scratch, Slurm logs and job outputs kept in $SLT"
    fi
    exit "$rc"
}

suite_scratch() {
    SUITE_STOP="$1"
    SLT=$(mktemp -d "/tmp/rcn-${SUITE#test-}.XXXXXX") || exit 1
    chmod 0755 "$SLT"
    export SLT
    mkdir -p "$SLT/data" "$SLT/jobs" "$SLT/ref"
    trap _suite_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# One binary for the whole suite, even if bin/rcn is rebuilt meanwhile:
# reports are compared across runs made minutes apart. The data is the same
# for every node (a shared filesystem).
suite_rcn_data() {
    cp "$RCN" "$SLT/rcn" && RCN="$SLT/rcn" || suite_fail "cannot copy $RCN"
    "$RCN" synth --out "$SLT/data" --train 600 --test 200 --seed 1 >"$SLT/data/synth.log" 2>&1 ||
        { cat "$SLT/data/synth.log"; suite_fail "rcn synth failed"; }
    export RCN_DATA_DIR="$SLT/data"
}

# _suite_run_one T: runs test script T, prints its PASS / SKIP / FAIL line.
_suite_run_one() {
    local t="$1" start rc run
    name=$(basename "$t" .sh)
    [ -f "$t" ] || { echo "FAIL $name: no such test"; failed=1; return; }
    export TEST_DIR="$SLT/$name"
    mkdir -p "$TEST_DIR"
    start=$SECONDS
    run=(bash "$t")
    [ -z "${SUITE_TIMEOUT:-}" ] || run=(timeout -k 5 "$SUITE_TIMEOUT" "${run[@]}")
    # In its own process group (killed as a whole on Ctrl-C), in the
    # background so that our traps run at once.
    setsid "${run[@]}" >"$TEST_DIR/log" 2>&1 &
    test_pid=$!
    wait "$test_pid"
    rc=$?
    test_pid=""
    if [ $rc -eq 0 ]; then
        echo "PASS $name ($((SECONDS - start))s)"
        grep -E "^\[..:..:..\] (reports equal|measured|journal${SUITE_SHOW:+|$SUITE_SHOW})" "$TEST_DIR/log" |
            sed 's/^/    /'
    elif [ $rc -eq 77 ]; then
        echo "SKIP $name: $(tail -n 1 "$TEST_DIR/log")"
        skipped=$((skipped + 1))
    else
        [ -n "${SUITE_TIMEOUT:-}" ] && [ $rc -eq 124 ] && echo "$SUITE: $name timed out"
        echo "FAIL $name ($((SECONDS - start))s; log: $TEST_DIR/log)"
        tail -n 40 "$TEST_DIR/log"
        failed=1
    fi
}

suite_run_tests() {
    local dir="$1" t n tests=(); shift
    if [ $# -gt 0 ]; then
        for n in "$@"; do tests+=("$dir/test_${n#test_}"); tests[-1]="${tests[-1]%.sh}.sh"; done
    else
        tests=("$dir"/test_*.sh)
    fi
    for t in "${tests[@]}"; do
        _suite_run_one "$t"
        ! declare -F suite_after_test >/dev/null || suite_after_test || failed=1
    done
    echo "$SUITE: $((SECONDS - suite_start))s in all$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
}
