# search_common.bash - shared by tests/integration/search_*.sh (sourced; not
# a test itself): mpirun settings, synthetic data, tiny test jobs, and a
# canonical per-fold view of a report for exact comparisons.
set -u
: "${RCN:?RCN must point at bin/rcn}" "${TMPDIR_TEST:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --oversubscribe --mca btl self,vader)
T=$TMPDIR_TEST
# a private copy: every run of a test uses the same binary even if bin/rcn
# is rebuilt meanwhile (mixing binaries would mix results)
cp "$RCN" "$T/rcn" && RCN=$T/rcn || { echo "FAIL: cannot copy $RCN"; exit 1; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
finish() { [ "$fail" = 0 ] && echo "all checks passed"; exit "$fail"; }

if ! command -v jq >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "jq: installing Debian's jq (apt-get)"
        apt-get install -y --no-install-recommends jq >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends jq >/dev/null 2>&1; }
    fi
    command -v jq >/dev/null || { echo "FAIL: jq is needed (apt-get install jq)"; exit 1; }
fi

# make_data [N_TRAIN] [N_TEST]: synthetic IDX set in $T/data.
make_data() {
    [ -d "$T/data" ] || "$RCN" synth --out "$T/data" --train "${1:-600}" --test "${2:-200}" \
        --seed 7 >/dev/null || { echo "FAIL: rcn synth"; exit 1; }
}

# write_job FILE GRID_JSON FOLDS [EXTRA_JSON_FIELDS]: a tiny job on $T/data
# ($EPOCHS epochs, default 1).
write_job() {
    cat >"$1" <<JOB
{
  "name": "$(basename "$1" .json)",
  "data": {"dir": "$T/data"},
  "train_limit": 400,
  "model": {"stem": {"kernel": 3, "stride": 1, "channels": 4, "maxpool": false},
            "stages": [{"channels": 4, "blocks": 1}, {"channels": 8, "blocks": 1}],
            "dropout": 0.5},
  "epochs": ${EPOCHS:-1}, "momentum": 0.5, "seed": 3,
  "grid": $2,
  "validation": {"kind": "kfold", "folds": $3}${4:+,
  $4}
}
JOB
}

# folds REPORT: one line per fold, everything but the timings.
folds() {
    jq -c '.folds[] | del(.seconds) | .epochs |= map(del(.seconds, .images_per_second))' "$1"
}

# base_run JOB: the uninterrupted search of JOB at -np 2, its report in
# $T/base.json and that report's folds (as above) in $T/base.folds.
base_run() {
    "${MPIRUN[@]}" -np 2 "$RCN" search "$1" --out "$T/base.json" --quiet >/dev/null ||
        bad "uninterrupted run failed"
    folds "$T/base.json" >"$T/base.folds"
}

# journal_folds JOURNAL: number of fold lines (whole lines only).
journal_folds() {
    cat "$1" 2>/dev/null | grep -c '^{"type":"fold"' || true
}

# wait_folds JOURNAL N PID: waits until N folds are journaled (or PID ends).
wait_folds() {
    local i
    for i in $(seq 1 1200); do
        [ "$(journal_folds "$1")" -ge "$2" ] && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# rank_pid MPIRUN_PID RANK: the pid of that rank (a child of mpirun).
rank_pid() {
    local p
    for p in $(pgrep -P "$1"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

checksum() { sha256sum "$1" | cut -d' ' -f1; }
