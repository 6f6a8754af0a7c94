#!/usr/bin/env bash
# bench_fold.sh - `rcn bench --fold` runs one real fold on an IDX set
# (here a small synthetic one from `rcn synth`) and reports it against the
# step-rate model: every promised JSON key, the image counts of the 10-fold
# split, positive times, a finite overhead, a breakdown that adds up to the
# fold; text output names the parts; bad fold options exit 2, a missing
# data directory exits 1. Asserts no timings (the machine is shared).
set -u
: "${RCN:?RCN must point at bin/rcn}" "${TMPDIR_TEST:?}"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
quick=(--batch-size 8 --steps 2 --warmup 1 --min-seconds 0)
d=$TMPDIR_TEST/data
"$RCN" synth --out "$d" --train 400 --test 20 >/dev/null || bad "synth exited $?"

out=$TMPDIR_TEST/fold.json
"$RCN" bench --preset rcn8 "${quick[@]}" --fold --data "$d" --epochs 2 --fold-images 90 \
    --json >"$out" || bad "bench --fold --json exited $?"
python3 - "$out" <<'PY' || bad "bench --fold JSON: see above"
import json, math, sys
j = json.load(open(sys.argv[1]))
ok = True
def fail(msg):
    global ok
    print("FAIL:", msg)
    ok = False
for k in ("vector_path", "train_images_per_cpu_second", "eval_images_per_cpu_second", "fold"):
    if k not in j:
        fail(f"no {k}")
if j.get("vector_path") not in ("avx512", "avx2", "portable"):
    fail(f"vector_path {j.get('vector_path')!r}")
if "layers" in j or "sgemm_gflops" in j:
    fail("--fold still ran the breakdown or the peak")
f = j.get("fold", {})
keys = ["data", "folds", "train_images", "validation_images", "epochs", "epochs_trained",
        "diverged", "fold_cpu_seconds", "fold_wall_seconds", "train_images_per_cpu_second",
        "eval_images_per_cpu_second", "model_train_cpu_seconds", "model_eval_cpu_seconds",
        "model_cpu_seconds", "overhead_percent", "fold_train_images_per_cpu_second",
        "fold_eval_images_per_cpu_second", "train_batches", "validation_batches", "breakdown"]
for k in keys:
    if k not in f:
        fail(f"fold lacks {k}")
if not ok:
    sys.exit(1)
# 90 training images asked: a subset of 100, 10 folds of 10.
if (f["folds"], f["train_images"], f["validation_images"]) != (10, 90, 10):
    fail(f"split {f['folds']} / {f['train_images']} / {f['validation_images']}, want 10 / 90 / 10")
if (f["epochs"], f["epochs_trained"], f["diverged"]) != (2, 2, False):
    fail(f"epochs {f['epochs']} trained {f['epochs_trained']} diverged {f['diverged']}")
if (f["train_batches"], f["validation_batches"]) != (2 * 12, 2 * 2):
    fail(f"batches {f['train_batches']} / {f['validation_batches']}, want 24 / 4")
for k in ("fold_cpu_seconds", "fold_wall_seconds", "model_cpu_seconds", "model_train_cpu_seconds",
          "model_eval_cpu_seconds", "train_images_per_cpu_second", "eval_images_per_cpu_second",
          "fold_train_images_per_cpu_second", "fold_eval_images_per_cpu_second"):
    if not (isinstance(f[k], (int, float)) and f[k] > 0 and math.isfinite(f[k])):
        fail(f"{k} = {f[k]!r}, want a positive number")
o = f["overhead_percent"]
if not (isinstance(o, (int, float)) and math.isfinite(o) and o > -100):
    fail(f"overhead_percent = {o!r}")
m = 2 * 90 / f["train_images_per_cpu_second"] + 2 * 10 / f["eval_images_per_cpu_second"]
if abs(m - f["model_cpu_seconds"]) > 1e-6 * m:
    fail(f"model_cpu_seconds {f['model_cpu_seconds']} != images / rates {m}")
parts = ["train_steps", "train_batch_assembly", "shuffle", "validation_forward",
         "validation_batch_assembly", "epoch_bookkeeping", "setup"]
b = f["breakdown"]
total = 0.0
for p in parts:
    e = b.get(p)
    if not e or not isinstance(e.get("cpu_seconds"), (int, float)) or "percent_of_fold" not in e:
        fail(f"breakdown.{p} = {e!r}")
        continue
    total += e["cpu_seconds"]
if ok and abs(total - f["fold_cpu_seconds"]) > 1e-6 * f["fold_cpu_seconds"]:
    fail(f"breakdown sums to {total}, the fold took {f['fold_cpu_seconds']}")
if ok and not b["train_steps"]["cpu_seconds"] > 0:
    fail("no time in training steps")
sys.exit(0 if ok else 1)
PY

# Text: the fold's lines.
txt=$("$RCN" bench "${quick[@]}" --fold --data "$d" --fold-images 40) || bad "text --fold exited $?"
for w in "kernels" "fold (" "model:" "overhead:" "training steps" "training batch assembly" \
    "validation forward" "per-epoch bookkeeping" "setup"; do
    grep -q -- "$w" <<<"$txt" || bad "text output lacks '$w'"
done

# Usage errors exit 2; a data directory that is not there exits 1 naming it.
for args in "--epochs 0" "--fold-images 0" "--fold-images x" "--fold --no-train" "--fold --no-eval"; do
    "$RCN" bench $args >/dev/null 2>"$TMPDIR_TEST/u.err"
    rc=$?
    [ $rc -eq 2 ] || bad "bench $args exited $rc, want 2"
done
"$RCN" bench "${quick[@]}" --fold --data "$TMPDIR_TEST/nope" >/dev/null 2>"$TMPDIR_TEST/e.err"
rc=$?
[ $rc -eq 1 ] || bad "--data missing exited $rc, want 1"
grep -q "nope" "$TMPDIR_TEST/e.err" || bad "missing --data: no directory in: $(cat "$TMPDIR_TEST/e.err")"
exit $fail
