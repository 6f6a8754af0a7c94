#!/usr/bin/env bash
# valgrind.sh - one memcheck run of a small search (2 learning rates, one
# diverging, 2 folds, refit: training, evaluation, journal, report, model
# save) and of the readers of what it wrote (rcn status, rcn report, rcn
# eval on the saved model), with the normal build (bin/rcn). Passes when
# every run has 0 errors and 0 bytes definitely lost; Open MPI's own
# allocations in MPI_Init/MPI_Finalize are suppressed (tests/asan/
# valgrind.supp and Open MPI's openmpi-valgrind.supp), nothing of rcn's.
# Usage: tests/asan/valgrind.sh [RCN]   (run by tests/asan/run.sh)
set -u
cd "$(dirname "$0")/../.."
RCN=${1:-$PWD/bin/rcn}
if ! command -v valgrind >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "valgrind: installing Debian's valgrind (apt-get)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends valgrind \
        >/dev/null 2>&1 || { echo "FAIL valgrind: not installed (apt-get install valgrind)"; exit 1; }
fi
T=$(mktemp -d /tmp/rcn-valgrind.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
supp=(--suppressions="$PWD/tests/asan/valgrind.supp")
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] &&
    supp+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)
"$RCN" synth --out "$T/data" --train 150 --test 40 --seed 2 >/dev/null || exit 1
cat >"$T/vg.json" <<JOB
{"name": "vg", "data": {"dir": "$T/data"}, "train_limit": 120,
 "model": {"stem": {"kernel": 3, "stride": 2, "channels": 2, "maxpool": false},
           "stages": [{"channels": 2, "blocks": 1}, {"channels": 3, "blocks": 1}],
           "dropout": 0.5},
 "epochs": 2, "batch_size": 16, "grid": {"lr": [0.05, 1000]},
 "validation": {"kind": "kfold", "folds": 2}, "refit": true, "output": "$T/out/vg.json"}
JOB
fail=0
memcheck() { # NAME ARGS...
    local name=$1
    shift
    valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --error-exitcode=99 --num-callers=40 "${supp[@]}" --log-file="$T/$name.vg" \
        "$RCN" "$@" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    local errs lost
    errs=$(grep -o 'ERROR SUMMARY: [0-9,]* errors' "$T/$name.vg" | grep -o '[0-9,]*' | head -1)
    lost=$(grep -o 'definitely lost: [0-9,]* bytes' "$T/$name.vg" | grep -o '[0-9,]*' | head -1)
    if [ $rc = 0 ] && [ "${errs:-x}" = 0 ] && [ "${lost:-0}" = 0 ]; then
        echo "PASS valgrind $name: 0 errors, ${lost:-0} bytes definitely lost"
    else
        echo "FAIL valgrind $name: exit $rc, ${errs:-?} errors, ${lost:-?} bytes definitely lost (log: $T/$name.vg)"
        grep -A20 -m3 -E "Invalid|uninitialised|definitely lost in" "$T/$name.vg" | head -60
        fail=1
    fi
}
memcheck search search "$T/vg.json" --quiet
memcheck status status "$T/out/vg.journal.jsonl"
memcheck report report "$T/out/vg.json"
memcheck eval eval "$T/out/vg.refit.safetensors" "$T/data"
[ $fail = 0 ] && rm -rf "$T"
exit $fail
