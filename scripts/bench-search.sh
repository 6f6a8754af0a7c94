#!/usr/bin/env bash
# bench-search.sh - the search-level benchmarks (called by scripts/bench.sh,
# merged into results/bench.json as "search"; also runnable alone):
#
#   dispatch  3,120 trivial fold jobs (1 training sample, 1 epoch, a 2-channel
#             net) at -np 4: the search's wall time (meta.wall_seconds, from
#             rank 0's start to the final report) and the launch-to-exit time
#   scaling   the same real job (rcn8, synthetic digits) at -np 1 and -np 2,
#             interleaved round by round:
#             fold-jobs per second, their ratio, and rank 0's coordinator
#             overhead (meta.coordinator_overhead: the share of the wall time
#             rank 0 spent answering workers, journaling and reporting)
#   memory    rcn8 at batch 256 at -np 2 with a 60,000-image training set
#             held by every rank: each rank's peak resident memory
#
# Writes JSON to $1 (default: stdout). Environment: RCN (bin/rcn),
# RCN_BENCH_SEARCH_ROUNDS (3: dispatch and scaling runs, median taken).
set -euo pipefail
cd "$(dirname "$0")/.."
RCN=$(readlink -f "${RCN:-bin/rcn}")
OUT=${1:-/dev/stdout}
ROUNDS=${RCN_BENCH_SEARCH_ROUNDS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
MPIRUN=(mpirun --oversubscribe --mca btl self,vader)
command -v jq >/dev/null || { echo "bench-search: jq is needed (make deps)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/rcn-bench-search.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$RCN" synth --out "$T/small" --train 1200 --test 100 --seed 5 >/dev/null
"$RCN" synth --out "$T/big" --train 60000 --test 10000 --seed 5 >/dev/null

job() { # FILE NAME DATA TRAIN_LIMIT MODEL EPOCHS GRID FOLDS
    cat >"$1" <<JOB
{"name": "$2", "data": {"dir": "$T/$3"}, "train_limit": $4, "model": $5,
 "epochs": $6, "momentum": 0.5, "seed": 1, "grid": $7,
 "validation": {"kind": "kfold", "folds": $8}, "output": "$T/$2.json"}
JOB
}
run() { # NP JOBFILE NAME -> prints launch-to-exit seconds; report in $T/NAME.json
    rm -f "$T/$3.json" "$T/$3.journal.jsonl"
    local t0 t1
    t0=$(date +%s.%N)
    "${MPIRUN[@]}" -np "$1" "$RCN" search "$2" --quiet >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# ---- dispatch ----------------------------------------------------------------
tiny='{"stem": {"kernel": 3, "stride": 1, "channels": 2, "maxpool": false},
       "stages": [{"channels": 2, "blocks": 1}], "dropout": 0}'
job "$T/dispatch.job" dispatch small 2 "$tiny" 1 \
    '{"batch_size": [1], "lr": {"from": 0.001, "to": 1.56, "step": 0.001}}' 2
: >"$T/dispatch.wall" && : >"$T/dispatch.launch"
for r in $(seq 1 "$ROUNDS"); do
    echo "bench-search: dispatch round $r/$ROUNDS (3,120 trivial fold jobs, -np 4)" >&2
    run 4 "$T/dispatch.job" dispatch >>"$T/dispatch.launch"
    jq -e '.meta.folds_done == 3120' "$T/dispatch.json" >/dev/null ||
        { echo "bench-search: dispatch run incomplete" >&2; exit 1; }
    jq .meta.wall_seconds "$T/dispatch.json" >>"$T/dispatch.wall"
done

# ---- scaling -----------------------------------------------------------------
# 40 fold jobs of ~0.6 s: the last fold leaves a rank idle for at most ~5%
job "$T/scaling.job" scaling small 800 '"rcn8"' 1 \
    '{"batch_size": [32, 64], "lr": [0.02, 0.05, 0.1, 0.2, 0.3]}' 4
# -np 1 and -np 2 interleaved, round by round (this machine's speed drifts
# by 20% over minutes); the speedup is the median of the rounds' ratios
: >"$T/scaling.1" && : >"$T/scaling.2" && : >"$T/scaling.ratio"
for r in $(seq 1 "$ROUNDS"); do
    for np in 1 2; do
        echo "bench-search: scaling round $r/$ROUNDS -np $np (40 rcn8 fold jobs)" >&2
        run "$np" "$T/scaling.job" scaling >/dev/null
        jq -c '.meta | {fold_jobs_per_second, wall_seconds, coordinator_overhead}' \
            "$T/scaling.json" >>"$T/scaling.$np"
    done
    paste <(tail -1 "$T/scaling.2") <(tail -1 "$T/scaling.1") |
        jq -s '.[0].fold_jobs_per_second / .[1].fold_jobs_per_second' >>"$T/scaling.ratio"
done

# ---- memory ------------------------------------------------------------------
echo "bench-search: memory (rcn8, batch 256, 60,000 images per rank, -np 2)" >&2
job "$T/memory.job" memory big 1024 '"rcn8"' 1 '{"batch_size": [256], "lr": [0.05]}' 2
run 2 "$T/memory.job" memory >/dev/null

med() { jq -r "$1" "$2" | median; }
jq -n \
    --argjson dwall "$(median <"$T/dispatch.wall")" \
    --argjson dlaunch "$(median <"$T/dispatch.launch")" \
    --argjson d "$(jq -c '.meta | {coordinator_seconds, coordinator_overhead, rank_stats}' "$T/dispatch.json")" \
    --argjson s1 "$(med .fold_jobs_per_second "$T/scaling.1")" \
    --argjson s2 "$(med .fold_jobs_per_second "$T/scaling.2")" \
    --argjson o2 "$(med .coordinator_overhead "$T/scaling.2")" \
    --argjson ratio "$(median <"$T/scaling.ratio")" \
    --argjson ratios "$(jq -s -c . "$T/scaling.ratio")" \
    --argjson w1 "$(med .wall_seconds "$T/scaling.1")" \
    --argjson w2 "$(med .wall_seconds "$T/scaling.2")" \
    --argjson mem "$(jq -c '.meta.rank_stats | map({rank, peak_rss_mib})' "$T/memory.json")" \
    --argjson rounds "$ROUNDS" '
{what: "search benchmarks (scripts/bench-search.sh): medians of \($rounds) runs",
 dispatch: {fold_jobs: 3120, ranks: 4, job: "1 training sample, 1 epoch, 2-channel net, 2 folds",
            search_wall_seconds: $dwall, launch_to_exit_seconds: $dlaunch,
            fold_jobs_per_second: (3120 / $dwall), last_run: $d},
 scaling: {job: "rcn8, 40 fold jobs (600 training images x 1 epoch each), synthetic digits",
           np1: {fold_jobs_per_second: $s1, wall_seconds: $w1},
           np2: {fold_jobs_per_second: $s2, wall_seconds: $w2, coordinator_overhead: $o2},
           speedup: $ratio, speedup_per_round: $ratios},
 memory: {job: "rcn8, batch 256, 60,000 + 10,000 images held by every rank", ranks: $mem}}' >"$T/out.json"
cat "$T/out.json" >"$OUT"
