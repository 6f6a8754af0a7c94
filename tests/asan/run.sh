#!/usr/bin/env bash
# run.sh - `make test-asan`: builds rcn and every unit test with
# AddressSanitizer + UndefinedBehaviorSanitizer (tests/asan/asan.mk, into
# build/asan/) and runs the whole unit and integration suite on them.
#
# Any ASan error, any UBSan report (non-recoverable: the program aborts),
# and any leak not matched by tests/asan/lsan.supp (third-party one-time
# allocations only, nothing of rcn's) fails the run. Sanitizer reports go to
# build/asan/logs/<program>.<pid> as well as to the failing test's log, and
# a run that wrote any report fails even if the test itself passed (a test
# might have expected a crash or swallowed stderr).
#
# The integration tests run as in tests/run-integration.sh (the
# timing-dependent ones alone, the others two at a time: tests/lib/pool.bash),
# but for two whose subject is another program, which the normal suite runs:
# report_html.sh (the page in headless chromium) and report_csv.sh (the CSV
# read by pandas). The rcn commands they run (`rcn report --html` on a
# complete report, a racing journal and a search just started; `rcn report
# --csv` with and without --folds) run here instead, under the sanitizers
# (asan_report_formats). report_plots.sh stays: most of what it checks is
# rcn's own (data and scripts written, errors without gnuplot).
# Two more are left out for their time under the sanitizers (~80 s each),
# their code being covered here otherwise: search_slow.sh (backup copies of
# a slow rank's folds: search_hung.sh runs the same copies and cancels for
# a stopped rank) and train_progress.sh (the progress line on a terminal:
# asan_progress_line shows it once, on a small set).
#
# Then tests/asan/valgrind.sh: one valgrind memcheck run of a small search
# and its readers (normal build): 0 errors, 0 bytes definitely lost.
#
# Usage: tests/asan/run.sh [unit|integration|suite|valgrind|all]   (default all;
#        suite = unit + integration, what CI runs)
#        ASAN_JOBS=N  parallel compile jobs (default 2)
set -u
cd "$(dirname "$0")/../.."
what=${1:-all}
B=build/asan
logs=$PWD/$B/logs

# gcc's sanitizer runtimes (libasan, libubsan) come with gcc on Debian.
make -s -f tests/asan/asan.mk -j"${ASAN_JOBS:-2}" all || { echo "FAIL: asan build"; exit 1; }

rm -rf "$logs" && mkdir -p "$logs"
# detect_stack_use_after_return stays off: gcc 12 moves locals that vector
# code loads as 64-byte vectors (the AVX-512 kernels) into ASan's fake stack
# without their 64-byte alignment, and the aligned loads then fault (SEGV in
# _mm512_loadu_si512 of a local array, under the fake stack only).
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:halt_on_error=1:exitcode=86:detect_stack_use_after_return=0:check_initialization_order=1:strict_string_checks=1:log_path=$logs/asan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/asan/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:log_exe_name=1"
# Open MPI as root, oversubscribed, shared memory only (as the tests' own setup).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1

. tests/lib/pool.bash

# asan_report_formats: the rcn commands of report_html.sh and report_csv.sh
# (left out here, see above), each to exit 0 with its output written.
asan_report_formats() {
    local d r=results/table2-mini.json rc=0
    d=$(mktemp -d /tmp/rcn-asan-formats.XXXXXX)
    head -n 92 results/table2-mini-race.journal.jsonl >"$d/racing.journal.jsonl"
    head -n 1 results/table2-mini.journal.jsonl >"$d/started.journal.jsonl"
    "$RCN" report --html "$d/page" "$r" >>"$d/log" 2>&1 && [ -s "$d/page/index.html" ] &&
        "$RCN" report --html "$d/racing" "$d/racing.journal.jsonl" >>"$d/log" 2>&1 &&
        [ -s "$d/racing/index.html" ] &&
        "$RCN" report --html "$d/started" "$d/started.json" >>"$d/log" 2>&1 &&
        [ -s "$d/started/index.html" ] &&
        "$RCN" report --csv "$r" >"$d/cells.csv" 2>>"$d/log" && [ -s "$d/cells.csv" ] &&
        "$RCN" report --csv --folds "$r" >"$d/folds.csv" 2>>"$d/log" && [ -s "$d/folds.csv" ] ||
        rc=1
    if [ $rc = 0 ]; then
        echo "PASS asan report --html/--csv"; rm -rf "$d"
    else
        echo "FAIL asan report --html/--csv (log: $d/log)"; tail -n 20 "$d/log"
    fi
    return $rc
}

# asan_progress_line: `rcn train` on a pseudo-terminal (script(1)), as in
# train_progress.sh, on a small set: exit 0 and a progress line shown.
asan_progress_line() {
    local d rc=0
    d=$(mktemp -d /tmp/rcn-asan-progress.XXXXXX)
    "$RCN" synth --out "$d/data" --train 1000 --test 100 --seed 7 >"$d/log" 2>&1 &&
        script -qec "$RCN train --data $d/data --batch-size 32 --epochs 1 --seed 3" /dev/null \
            >"$d/tty.out" 2>&1 && grep -aq $'\r\033\\[Kepoch 1/1: ' "$d/tty.out" || rc=1
    if [ $rc = 0 ]; then
        echo "PASS asan train progress line"; rm -rf "$d"
    else
        echo "FAIL asan train progress line (log: $d)"; tail -c 400 "$d/tty.out"
    fi
    return $rc
}

fail=0
start=$(date +%s)

case $what in unit|integration|suite|valgrind|all) ;;
*) echo "usage: tests/asan/run.sh [unit|integration|suite|valgrind|all]" >&2; exit 2 ;; esac

if [ "$what" = all ] || [ "$what" = suite ] || [ "$what" = unit ]; then
    for t in "$B"/tests/test_*; do
        case $t in *.d|*.log) continue ;; esac
        if "$t" >"$t.log" 2>&1; then
            echo "PASS asan $(basename "$t")"
        else
            echo "FAIL asan $(basename "$t") (log: $t.log)"; tail -n 30 "$t.log"; fail=1
        fi
    done
fi

if [ "$what" = all ] || [ "$what" = suite ] || [ "$what" = integration ]; then
    # As tests/run-integration.sh, with $RCN the sanitized binary.
    export RCN="$PWD/$B/bin/rcn"
    export RCN_BAD_JOB_COMMAND=train # see tests/integration/bad_inputs.sh
    # folds run ~3x slower under the sanitizers: search_sigterm.sh needs
    # fewer epochs per fold for the same margin against its signal race,
    # launcher.sh fewer for the same number of socket samples
    export RCN_TEST_SIGNAL_EPOCHS=2 RCN_TEST_SLOW_EPOCHS=3 RCN_TEST_LAUNCHER_EPOCHS=6
    rcn_pool_integration "asan " /tmp/rcn-asan-it report_html report_csv search_slow \
        train_progress || fail=1
    asan_report_formats || fail=1
    asan_progress_line || fail=1
fi

if [ "$what" = all ] || [ "$what" = valgrind ]; then
    # one memcheck run of a small search and its readers, normal build
    make -s bin/rcn >/dev/null || { echo "FAIL: build bin/rcn"; exit 1; }
    tests/asan/valgrind.sh "$PWD/bin/rcn" || fail=1
fi

# Reports written by any sanitized process (also those whose failure a test
# expected, or whose stderr it discarded).
reports=$(find "$logs" -type f -size +0 2>/dev/null | sort)
if [ -n "$reports" ]; then
    fail=1
    echo "FAIL: sanitizer reports:"
    for r in $reports; do
        echo "---- $r"; head -n 40 "$r"
    done
fi
[ $fail = 0 ] && echo "asan: clean ($what, $(( $(date +%s) - start ))s)"
exit $fail
