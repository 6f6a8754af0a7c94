# pool.bash - runs test jobs a few at a time (sourced; not a test itself):
# rcn_pool, a job pool that prints each job's output whole as the job ends
# (tests/fuzz/run.sh fuzzes on it), and on it rcn_pool_integration, the
# integration suite as tests/run-integration.sh and tests/asan/run.sh run it.
#
# Integration tests whose assertions depend on timing (signals sent at
# moments, bounds on how long something takes, a rank stopped or slowed,
# sockets sampled while a search runs) run alone, one after the other, with
# nothing else running; the others then run in $RCN_TEST_JOBS lanes
# (default 2), the longest first. Each gets a fresh directory
# ($TMPDIR_TEST) holding its log, and one line as it ends: "PASS
# <label><name> (Ns)" (its directory removed), or "FAIL <label><name> (log:
# FILE)" and the log's last 40 lines (its directory kept).

# rcn_pool_alone: the timing-dependent integration tests, run alone.
# (train_progress.sh is not among them: it needs an epoch to outlast one
# redraw interval, which a loaded machine only makes likelier.)
rcn_pool_alone=(launcher search_ckpt search_hung search_html search_kill search_lock
                search_sigterm search_slow status_json)
# rcn_pool_longest: the other integration tests that take longest, longest
# first (the rest follow in name order).
rcn_pool_longest=(search_race bad_inputs train_progress search_badinput search_ranks
                  report_plots report_html race_replay report_race search_refit bench_cli)

# rcn_pool LANES FUNCTION ITEM...: runs `FUNCTION ITEM` for each ITEM in
# the order given, each in a subshell in the background, at most LANES at
# once; prints each one's output (stdout and stderr) whole when it ends.
# Returns 1 if any returned non-zero. The ends are read from a pipe each job
# writes "INDEX STATUS" to (not `wait -n`: bash 5.2 misses a job that ended
# while the shell ran another command).
rcn_pool() {
    local lanes=$1 fn=$2
    shift 2
    local items=("$@") fifo fd next=0 running=0 fail=0 i rc
    local -a outs=() pids=()
    [ "$lanes" -ge 1 ] 2>/dev/null || lanes=1
    fifo=$(mktemp -u /tmp/rcn-pool.XXXXXX) && mkfifo "$fifo" || return 1
    exec {fd}<>"$fifo"
    rm -f "$fifo"
    while [ $next -lt ${#items[@]} ] || [ $running -gt 0 ]; do
        while [ $running -lt "$lanes" ] && [ $next -lt ${#items[@]} ]; do
            outs[next]=$(mktemp /tmp/rcn-pool-out.XXXXXX) || return 1
            ( "$fn" "${items[next]}" >"${outs[next]}" 2>&1 {fd}>&-
              echo "$next $?" >&"$fd" ) &
            pids+=($!)
            next=$((next + 1)) running=$((running + 1))
        done
        read -r -u "$fd" i rc || { echo "FAIL: rcn_pool: lost track of its jobs"; return 1; }
        running=$((running - 1))
        cat "${outs[i]}"
        rm -f "${outs[i]}"
        [ "$rc" = 0 ] || fail=1
    done
    exec {fd}>&-
    [ ${#pids[@]} = 0 ] || wait "${pids[@]}"
    return $fail
}

# rcn_pool_test TEST: runs one integration test in a fresh directory
# $rcn_pool_tmp.XXXXXX and prints its line ($rcn_pool_label before the name).
rcn_pool_test() {
    local t=$1 d t0=$EPOCHSECONDS rc
    d=$(mktemp -d "$rcn_pool_tmp.XXXXXX") || return 1
    TMPDIR_TEST="$d" bash "$t" >"$d/log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        echo "PASS $rcn_pool_label$(basename "$t") ($((EPOCHSECONDS - t0))s)"
        rm -rf "$d"
    else
        echo "FAIL $rcn_pool_label$(basename "$t") (log: $d/log)"
        tail -n 40 "$d/log"
    fi
    return $rc
}

# rcn_pool_integration LABEL TMPBASE [SKIP...]: every tests/integration/*.sh
# but the SKIP names (without .sh), each in a directory TMPBASE.XXXXXX: the
# timing-dependent ones alone, then the rest in $RCN_TEST_JOBS lanes,
# longest first. Returns 1 if any failed. $RCN_POOL_BESIDE, if set, is a
# command (a build the next stage needs) run beside the lanes, never
# beside the tests run alone, at the idle scheduling class (SCHED_IDLE: only
# CPU time the tests leave, as they wait on MPI start-up and exit); waited
# for before returning, its failure only noted (the next stage builds again).
rcn_pool_integration() {
    local rcn_pool_label=$1 rcn_pool_tmp=$2
    shift 2
    local -A skip=() alone=() placed=()
    local alone_tests=() pool_tests=() n t fail=0
    for n in "$@"; do skip[$n]=1; done
    for n in "${rcn_pool_alone[@]}"; do alone[$n]=1; done
    for n in "${rcn_pool_alone[@]}" "${rcn_pool_longest[@]}"; do
        t=tests/integration/$n.sh
        [ -e "$t" ] && [ -z "${skip[$n]:-}" ] && [ -z "${placed[$n]:-}" ] || continue
        if [ -n "${alone[$n]:-}" ]; then alone_tests+=("$t"); else pool_tests+=("$t"); fi
        placed[$n]=1
    done
    for t in tests/integration/*.sh; do
        n=$(basename "$t" .sh)
        [ -e "$t" ] && [ -z "${skip[$n]:-}" ] && [ -z "${placed[$n]:-}" ] && pool_tests+=("$t")
    done
    rcn_pool 1 rcn_pool_test "${alone_tests[@]}" || fail=1
    local idle=(chrt --idle 0) beside=
    "${idle[@]}" true 2>/dev/null || idle=(nice -n 19)
    if [ -n "${RCN_POOL_BESIDE:-}" ]; then
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${idle[@]}" bash -c "$RCN_POOL_BESIDE" \
            >"$rcn_pool_tmp.beside.log" 2>&1 &
        beside=$!
    fi
    rcn_pool "${RCN_TEST_JOBS:-2}" rcn_pool_test "${pool_tests[@]}" || fail=1
    if [ -n "$beside" ] && ! wait "$beside"; then
        echo "note: '$RCN_POOL_BESIDE' failed (log: $rcn_pool_tmp.beside.log)"
    fi
    return $fail
}
