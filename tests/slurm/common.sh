# tests/slurm/common.sh - rcn-specific functions for the Slurm tests (sourced
# from the repo root; sources lib.sh): the test jobs, reference runs with
# scripts/mpirun.sh, report and journal checks with jq, and sbatch wrappers
# for our batch scripts.
#
# Environment set by run.sh: REPO (repo root), RCN (bin/rcn), SLT (the
# suite's scratch dir: data/, jobs/, ref/), RCN_DATA_DIR, RCN_MISSING.

# shellcheck source=tests/slurm/lib.sh
. tests/slurm/lib.sh

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "[$(date +%H:%M:%S)] $*"; }

# What is missing for the rcn-based tests, or nothing.
rcn_missing() {
    [ -x "$RCN" ] || { echo "bin/rcn (run make)"; return; }
    local c
    for c in search synth; do
        if "$RCN" "$c" --help 2>&1 | grep -q "not built into this binary"; then
            echo "'rcn $c' (not built into bin/rcn yet)"; return
        fi
    done
}

# The smoke job: jobs/smoke.json when it exists (its data dir is replaced by
# RCN_DATA_DIR), else an equivalent written here.
smoke_job() {
    if [ -f "$REPO/jobs/smoke.json" ]; then
        echo "$REPO/jobs/smoke.json"
        return
    fi
    local j="$SLT/jobs/smoke.json"
    [ -f "$j" ] || cat >"$j" <<EOF
{"name": "smoke", "data": {"dir": "$SLT/data"}, "train_limit": 300,
 "model": {"stem": {"kernel": 3, "stride": 2, "channels": 4, "maxpool": false},
           "stages": [{"channels": 4, "blocks": 1}], "dropout": 0},
 "epochs": 1, "momentum": 0.5, "seed": 1,
 "grid": {"batch_size": [32, 64], "lr": [0.05, 0.1]},
 "validation": {"kind": "kfold", "folds": 3}, "output": "$SLT/smoke-default.json"}
EOF
    echo "$j"
}

# The long job: enough fold jobs (~$LONG_FOLDS) to interrupt one mid-run.
long_job() {
    local j="$SLT/jobs/long.json"
    [ -f "$j" ] || cat >"$j" <<EOF
{"name": "long", "data": {"dir": "$SLT/data"},
 "model": {"stem": {"kernel": 3, "stride": 1, "channels": 4, "maxpool": true},
           "stages": [{"channels": 8, "blocks": 1}], "dropout": 0},
 "epochs": 4, "momentum": 0.5, "seed": 7,
 "grid": {"batch_size": [16, 32], "lr": [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16]},
 "validation": {"kind": "kfold", "folds": 3}, "output": "$SLT/long-default.json"}
EOF
    echo "$j"
}

# reference JOB OUT: an uninterrupted run with the workstation launcher
# (cached: the same job gives the same report).
reference() {
    local job="$1" out="$2"
    if [ -f "$out" ] && jq -e '.meta.status == "complete"' "$out" >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$(dirname "$out")"
    local t0=$SECONDS
    "$REPO/scripts/mpirun.sh" -np 2 "$RCN" search "$job" --out "$out" \
        >"$out.stdout" 2>"$out.stderr" || {
        tail -n 20 "$out.stderr" >&2; fail "reference run of $job failed"; }
    note "reference: scripts/mpirun.sh -np 2 bin/rcn search $(basename "$job") ($((SECONDS - t0))s)"
}

# test_job JOB PREFIX: a test's job file JOB (NAME.json) and where its runs
# go, set as globals: job=JOB; ref=$SLT/ref/NAME.json, its uninterrupted run
# (made now, see reference); total, that run's fold count; p=$TEST_DIR/PREFIX
# (sbatch log prefix); rep=$TEST_DIR/NAME.json and
# jnl=$TEST_DIR/NAME.journal.jsonl (a run's report and journal). Exits 77
# (skipped) when run.sh found rcn missing.
# shellcheck disable=SC2034 # globals for the test script
test_job() {
    [ -z "${RCN_MISSING:-}" ] || { echo "needs $RCN_MISSING"; exit 77; }
    local name
    job="$1"; name=$(basename "$job" .json)
    ref="$SLT/ref/$name.json"
    reference "$job" "$ref"
    total=$(jq '.meta.folds_total' "$ref")
    p="$TEST_DIR/$2" rep="$TEST_DIR/$name.json" jnl="$TEST_DIR/$name.journal.jsonl"
}

# The comparable part of a report: per-fold numbers (no timings), cells,
# marginals, best.
report_view() {
    jq -S '{folds: [.folds[] | del(.seconds) | .epochs |= map(del(.seconds, .images_per_second))],
            cells: [.cells[] | del(.mean_fit_time)], marginals, best}' "$1"
}

# reports_equal A B: fold for fold (ignoring timing fields).
reports_equal() {
    local a b
    a=$(report_view "$1") || fail "cannot read report $1"
    b=$(report_view "$2") || fail "cannot read report $2"
    if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") | head -n 20 >&2
        return 1
    fi
    local n
    n=$(jq '.folds | length' "$1")
    note "reports equal fold for fold: $1 == $2 ($n folds)"
}

report_complete() {
    jq -e '.meta.status == "complete" and .meta.folds_done == .meta.folds_total
           and (.folds | length) == .meta.folds_total' "$1" >/dev/null 2>&1
}

# Fold lines of a journal that parse (a torn last line is skipped).
journal_folds() {
    jq -R 'fromjson? // empty | select(.type == "fold") | "\(.cell),\(.fold)"' "$1" 2>/dev/null
}
journal_count() { journal_folds "$1" | wc -l; }
# No (cell, fold) journaled twice: no fold trained twice to completion.
journal_no_duplicates() {
    local dup
    dup=$(journal_folds "$1" | sort | uniq -d)
    [ -z "$dup" ] || { echo "journaled more than once: $dup" >&2; return 1; }
}

# submit SCRIPT OUTPREFIX [sbatch options...] -- [script args...]: prints the
# job id. Overrides the scripts' cluster-size lines for the one 2-core node
# and sends the logs to OUTPREFIX.out/.err.
submit() {
    local script="$1" prefix="$2"; shift 2
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    (cd "$REPO" && sbatch --parsable --nodes=1 --ntasks=2 --ntasks-per-node=2 --time=10 \
        --output="$prefix.out" --error="$prefix.err" "${opts[@]}" "$script" "$@") | cut -d';' -f1
}

# show_job ID PREFIX: state and logs, for failures.
show_job() {
    scontrol show job "$1" 2>&1 | grep -E 'JobState|ExitCode|Restarts' >&2
    echo "--- $2.out" >&2; tail -n 30 "$2.out" >&2 2>/dev/null
    echo "--- $2.err" >&2; tail -n 30 "$2.err" >&2 2>/dev/null
}

TERMINAL_STATES="COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY BOOT_FAIL DEADLINE PREEMPTED"
