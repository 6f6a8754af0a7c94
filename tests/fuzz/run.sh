#!/usr/bin/env bash
# run.sh - `make fuzz` / `make fuzz-ci`: builds the libFuzzer targets
# (tests/fuzz/fuzz.mk, clang + ASan + UBSan, into build/fuzz/) and runs each
# for SECONDS, at nice 19, two targets at a time (tests/lib/pool.bash).
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (default 60 s; all targets)
#        tests/fuzz/run.sh build    installs what it needs and builds, no more
#   FUZZ_JOBS=N   libFuzzer -fork=N processes per target (default 1)
#   FUZZ_LANES=N  targets fuzzed at once (default 2)
#
# Corpus: build/fuzz/corpus/<target>/ (kept between runs, so longer runs
# build on earlier ones), seeded each time from tests/fuzz/seeds/<target>/,
# tests/fuzz/regress/<target>/ and, for fuzz_job, jobs/*.json and
# tests/bad/jobs/*.json. Before fuzzing, every file in
# tests/fuzz/regress/<target>/ (inputs that once crashed: regression tests)
# must run clean. A crash, leak, UB report, timeout (> 60 s per input:
# generous, as the runs are niced on a shared machine and inputs normally
# take milliseconds), out-of-memory (> 2 GiB) or failed property saves the input under
# build/fuzz/artifacts/<target>/ and fails the run; copy it to
# tests/fuzz/regress/<target>/ once the bug is fixed. Leak stacks through
# jansson (built without frame pointers) are cut short: rerun the artifact
# with ASAN_OPTIONS=fast_unwind_on_malloc=0 for the whole stack.
# Prints one line per target: executions, corpus size, result; the logs are
# build/fuzz/logs/<target>.log.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/pool.bash
SECS=${1:-60}
shift || true
ROOT=$PWD
B=$ROOT/build/fuzz

need_pkgs=()
command -v clang >/dev/null || need_pkgs+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    need_pkgs+=(libclang-rt-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "fuzz: installing ${need_pkgs[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
            "${need_pkgs[@]}" >/dev/null; } || { echo "FAIL: cannot install ${need_pkgs[*]}"; exit 1; }
fi

nice -n 10 make -s -f tests/fuzz/fuzz.mk -j"${FUZZ_MAKE_JOBS:-2}" all >"$B.build.log" 2>&1 || {
    mkdir -p "$B"; tail -n 30 "$B.build.log"; echo "FAIL: fuzz build (log: $B.build.log)"; exit 1; }

[ "$SECS" = build ] && exit 0
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(idx job safetensors journal report)

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OPENBLAS_NUM_THREADS=1
mkdir -p "$B/logs"
# fuzz_one TARGET: replays TARGET's regression inputs, then fuzzes it for
# SECS; prints its line, returns non-zero on any failure.
fuzz_one() {
    local t=$1 bin corpus art log scratch seeds=() t0 rc execs ncorp
    bin=$B/fuzz_$t
    [ -x "$bin" ] || { echo "FAIL: no fuzz target $t"; return 1; }
    corpus=$B/corpus/$t art=$B/artifacts/$t log=$B/logs/$t.log
    mkdir -p "$corpus" "$art"
    # scratch files on tmpfs when there is one: the journal target fsyncs
    scratch=$(mktemp -d "$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp)/rcn-fuzz-run.XXXXXX")
    [ -d "$ROOT/tests/fuzz/seeds/$t" ] && seeds+=("$ROOT/tests/fuzz/seeds/$t")
    [ -d "$ROOT/tests/fuzz/regress/$t" ] && seeds+=("$ROOT/tests/fuzz/regress/$t")
    if [ "$t" = job ]; then
        mkdir -p "$scratch/jobseeds"
        cp "$ROOT"/jobs/*.json "$ROOT"/tests/bad/jobs/*.json "$scratch/jobseeds/" 2>/dev/null
        seeds+=("$scratch/jobseeds")
    fi
    # regression inputs first: each must pass
    if [ -d "$ROOT/tests/fuzz/regress/$t" ] && [ -n "$(ls -A "$ROOT/tests/fuzz/regress/$t")" ]; then
        if ! TMPDIR=$scratch "$bin" -runs=1 "$ROOT"/tests/fuzz/regress/$t/* >"$log.regress" 2>&1; then
            echo "FAIL fuzz_$t: a regression input crashes again (log: $log.regress)"
            grep -m5 -E "ERROR|SUMMARY|fuzz property" "$log.regress"
            rm -rf "$scratch"; return 1
        fi
    fi
    t0=$(date +%s)
    TMPDIR=$scratch nice -n 19 "$bin" -max_total_time="$SECS" -timeout=60 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
        ${FUZZ_JOBS:+-fork=$FUZZ_JOBS -ignore_crashes=0} \
        "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    rm -rf "$scratch"
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    ncorp=$(ls "$corpus" | wc -l)
    if [ $rc -eq 0 ]; then
        echo "PASS fuzz_$t: ${execs:-?} executions in $(( $(date +%s) - t0 ))s, corpus $ncorp, 0 crashes"
    else
        echo "FAIL fuzz_$t (exit $rc) after ${execs:-?} executions: $(ls "$art" | tail -3 | tr '\n' ' ') (log: $log)"
        grep -m8 -E "ERROR|SUMMARY|fuzz property|runtime error|Test unit written" "$log"
        return 1
    fi
}
fail=0
rcn_pool "${FUZZ_LANES:-2}" fuzz_one "${targets[@]}" || fail=1
exit $fail
