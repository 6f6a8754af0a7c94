#!/usr/bin/env bash
# bench_cli.sh - `rcn bench` prints the throughput, peak and per-layer
# figures it promises (text and --json, --out written atomically), every
# figure a positive number; bad options exit 2 with a message, an unwritable
# --out exits 1; scripts/bench.sh writes its summary JSON. Asserts no
# timings (the machine is shared): only that the numbers are there.
set -u
: "${RCN:?RCN must point at bin/rcn}" "${TMPDIR_TEST:?}"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
quick=(--batch-size 4 --steps 2 --warmup 1 --min-seconds 0)

# JSON: every promised key, with a positive number.
out=$TMPDIR_TEST/b.json
"$RCN" bench --preset rcn8 "${quick[@]}" --json --out "$out" >"$TMPDIR_TEST/stdout" ||
    bad "bench --json exited $?"
for k in train_images_per_second train_images_per_cpu_second eval_images_per_second \
    eval_images_per_cpu_second train_gflops_cpu eval_gflops_cpu sgemm_gflops \
    fma_peak_gflops train_percent_of_fma_peak peak_memory_bytes net_bytes \
    forward_flops_per_image cpu_seconds_per_step; do
    grep -Eq "\"$k\": [0-9.e+]+" "$TMPDIR_TEST/stdout" || bad "--json lacks a number for $k"
done
for k in conv_forward conv_backward_data conv_backward_weights conv_transforms batchnorm \
    other convolutions; do
    grep -q "\"$k\":" "$TMPDIR_TEST/stdout" || bad "--json lacks layers.$k"
done
grep -q '"batch_size": 4,' "$TMPDIR_TEST/stdout" || bad "--json batch_size is not 4"
grep -Eq '"(train|eval)_images_per_second": (0|-|null)' "$TMPDIR_TEST/stdout" &&
    bad "a zero, negative or null throughput"
cmp -s "$out" "$TMPDIR_TEST/stdout" || bad "--out differs from the printed JSON"
ls "$TMPDIR_TEST" | grep -q '\.tmp' && bad "a temp file was left behind"

# Text, another preset, skipping parts.
txt=$("$RCN" bench --preset rcn14 "${quick[@]}" --no-peak --verbose) || bad "text run exited $?"
for w in "train:" "eval:" "memory:" "conv_transforms" "batchnorm" "16->16"; do
    grep -q -- "$w" <<<"$txt" || bad "text output lacks '$w'"
done
grep -q "peak (CPU time)" <<<"$txt" && bad "--no-peak still measured the peak"
txt=$("$RCN" bench "${quick[@]}" --no-train --no-layers --no-peak) || bad "--no-train exited $?"
grep -q "train:" <<<"$txt" && bad "--no-train still timed training"
grep -q "eval:" <<<"$txt" || bad "--no-train dropped the eval figure"
"$RCN" bench --spec '{"stem": {"kernel": 3, "stride": 1, "channels": 8, "maxpool": false}, "stages": [{"channels": 8, "blocks": 1}]}' \
    "${quick[@]}" --no-layers --no-peak >/dev/null || bad "--spec run exited $?"

# Usage errors: exit 2 and say what is wrong.
usage() { # EXPECTED-WORD ARGS...
    local want=$1 rc
    shift
    "$RCN" bench "$@" >"$TMPDIR_TEST/u.out" 2>"$TMPDIR_TEST/u.err"
    rc=$?
    [ $rc -eq 2 ] || bad "bench $* exited $rc, want 2"
    grep -q -- "$want" "$TMPDIR_TEST/u.err" || bad "bench $*: no '$want' in: $(cat "$TMPDIR_TEST/u.err")"
}
usage "batch-size" --batch-size 0
usage "batch-size" --batch-size x
usage "preset" --preset nope
usage "steps" --steps -3
usage "min-seconds" --min-seconds nan
usage "threads" --threads 0
usage "spec" --spec '{'
usage "unknown option" --frobnicate
usage "unexpected argument" extra
"$RCN" bench --help | grep -q "usage: rcn bench" || bad "--help"

# Runtime error: an --out that cannot be written.
"$RCN" bench "${quick[@]}" --no-layers --no-peak --out /nonexistent-dir/b.json \
    >/dev/null 2>"$TMPDIR_TEST/e.err"
rc=$?
[ $rc -eq 1 ] || bad "unwritable --out exited $rc, want 1"
grep -q "nonexistent-dir" "$TMPDIR_TEST/e.err" || bad "unwritable --out: no file name in the error"

# The sweep script: one small configuration, no PyTorch, its JSON (with
# the CPU, the vector path and a fold-based projection on a synthetic set).
sweep=$TMPDIR_TEST/sweep.json
"$RCN" synth --out "$TMPDIR_TEST/synth" --train 200 --test 10 >/dev/null || bad "synth exited $?"
RCN_BENCH_OUT=$sweep RCN_BENCH_PRESETS=rcn8 RCN_BENCH_BATCHES=4 RCN_BENCH_GRID=4 \
    RCN_BENCH_DATA=$TMPDIR_TEST/synth RCN_BENCH_FOLD_IMAGES=40 \
    RCN_BENCH_ROUNDS=1 RCN_BENCH_SECONDS=0 RCN_BENCH_TORCH=0 RCN_BENCH_SEARCH=0 scripts/bench.sh \
    >"$TMPDIR_TEST/sweep.log" 2>&1 || { bad "scripts/bench.sh exited $?"; tail "$TMPDIR_TEST/sweep.log"; }
for k in '"runs"' '"train_images_per_cpu_second"' '"table2_projection"' '"core_hours"' \
    '"fma_peak_gflops"' '"family_name"' '"vector_path"' '"fold_core_hours"' \
    '"fold_overhead_percent"'; do
    grep -q "$k" "$sweep" 2>/dev/null || bad "bench.sh JSON lacks $k"
done
grep -q "vector path" "$TMPDIR_TEST/sweep.log" || bad "bench.sh table does not name the vector path"
tag=$(scripts/cpu_family.py --tag not-a-path) || bad "cpu_family.py --tag exited $?"
case $tag in *-not-a-path) ;; *) bad "cpu_family.py --tag: '$tag' does not name the path" ;; esac
RCN_BENCH_TORCH=maybe scripts/bench.sh >/dev/null 2>&1
[ $? -eq 2 ] || bad "bench.sh accepted RCN_BENCH_TORCH=maybe"
exit $fail
