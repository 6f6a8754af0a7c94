#!/usr/bin/env bash
# bench.sh - `make bench`: training and inference throughput of rcn over
# presets x batch sizes, the per-core peak it is measured against, a
# per-layer-kind breakdown, the projected cost of the paper's Table 2 grid,
# and - when PyTorch is there (it is not installed by this script; see
# scripts/bench-compare.sh) - the same network in PyTorch at the same preset,
# batch and thread count, run interleaved with rcn, and the ratio.
#
# Every figure is recorded with the CPU (scripts/cpu_family.py: model name,
# vendor, family and model numbers, family name) and the vector path rcn's
# kernels took (avx512, avx2 or portable; RCN_NO_AVX512=1 forces avx2).
# Each rcn / PyTorch ratio is checked against 2.0 (the goal).
#
# The Table 2 projection (jobs/table2.json's grid) is computed twice: from
# the step rates (images / training rate + validation images / inference
# rate at each batch size) and from a real fold at each batch size
# (`rcn bench --fold` on RCN_BENCH_FOLD_IMAGES training images of
# RCN_BENCH_DATA, scaled to the full fold at the fold's own rates), which
# includes the fold's overhead.
#
# Throughput is per core: the median step in process CPU time (what one
# core delivers when the machine's other work does not time-share it); the
# wall-clock figures are in the JSON too. Writes $RCN_BENCH_OUT
# (results/bench.json) and prints a table.
#
# Environment (all optional):
#   RCN                  the binary (bin/rcn)
#   RCN_BENCH_OUT        output JSON (results/bench.json)
#   RCN_BENCH_PRESETS    "rcn8 rcn14 resnet18"
#   RCN_BENCH_BATCHES    "64 256"
#   RCN_BENCH_GRID       batch sizes timed for the grid projection
#                        ("32 64 96 128 160 192 224 256"; "" skips it)
#   RCN_BENCH_DATA       the real training set of the fold runs (data/mnist;
#                        the fold projection is left out when it is missing)
#   RCN_BENCH_FOLD_IMAGES  training images per fold run (3000; 0 skips them)
#   RCN_BENCH_THREADS    threads for rcn (OpenBLAS) and PyTorch (1)
#   RCN_BENCH_ROUNDS     interleaved rounds per configuration (3)
#   RCN_BENCH_SECONDS    minimum seconds per measurement (2)
#   RCN_BENCH_CPU        the core every timed run is pinned to with taskset
#                        (0; "" leaves them unpinned): rcn and PyTorch of a
#                        round run on the same core, so that cores of
#                        unequal speed (virtual machines) do not bias ratios
#   RCN_BENCH_TORCH      auto (compare if /usr/bin/python3 has torch), 1
#                        (required), 0 (skip)
#   RCN_BENCH_SEARCH     1 (default): also the search-level benchmarks
#                        (scripts/bench-search.sh: dispatch, -np 1 vs -np 2
#                        scaling, coordinator overhead, memory per rank),
#                        stored as "search"; 0 skips them
set -euo pipefail
cd "$(dirname "$0")/.."
RCN=${RCN:-bin/rcn}
OUT=${RCN_BENCH_OUT:-results/bench.json}
PRESETS=${RCN_BENCH_PRESETS:-rcn8 rcn14 resnet18}
BATCHES=${RCN_BENCH_BATCHES:-64 256}
GRID=${RCN_BENCH_GRID-32 64 96 128 160 192 224 256}
THREADS=${RCN_BENCH_THREADS:-1}
ROUNDS=${RCN_BENCH_ROUNDS:-3}
SECS=${RCN_BENCH_SECONDS:-2}
PIN=()
CPU=${RCN_BENCH_CPU-0}
if [ -n "$CPU" ] && command -v taskset >/dev/null && taskset -c "$CPU" true 2>/dev/null; then
    PIN=(taskset -c "$CPU")
    export RCN_BENCH_PINNED=$CPU
fi
DATA=${RCN_BENCH_DATA:-data/mnist}
FOLD_IMAGES=${RCN_BENCH_FOLD_IMAGES:-3000}
TORCH=${RCN_BENCH_TORCH:-auto}
PY=/usr/bin/python3 # Debian's python: where python3-torch lives
# The PyTorch reference runs with glibc malloc tuned as it is usually
# deployed (large blocks kept instead of mmap/munmap per step).
TORCH_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
# With rcn held to AVX2 (RCN_NO_AVX512=1), PyTorch's convolutions (oneDNN)
# are held to AVX2 as well, so that the pair compares the same instruction
# set, as on a CPU without AVX-512; the JSON says so (pytorch_max_isa).
TORCH_ISA=
[ "${RCN_NO_AVX512:-0}" = 1 ] && TORCH_ISA=AVX2
export RCN_BENCH_TORCH_ISA=$TORCH_ISA

[ -x "$RCN" ] || { echo "bench: $RCN not built (make bin/rcn)" >&2; exit 1; }
PYAGG=$PY
[ -x "$PYAGG" ] || PYAGG=python3
case "$TORCH" in
auto) if "$PY" -c "import torch" 2>/dev/null; then TORCH=1; else
          TORCH=0
          echo "bench: PyTorch not found for $PY: rcn only (make bench-compare installs it)"
      fi ;;
1) "$PY" -c "import torch" 2>/dev/null ||
       { echo "bench: RCN_BENCH_TORCH=1 but $PY cannot import torch" >&2; exit 1; } ;;
0) ;;
*) echo "bench: RCN_BENCH_TORCH must be auto, 0 or 1" >&2; exit 2 ;;
esac

T=$(mktemp -d "${TMPDIR:-/tmp}/rcn-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
uptime >"$T/load-start" 2>/dev/null || true
"$PYAGG" scripts/cpu_family.py >"$T/cpu.json"
FOLD=0
if [ "$FOLD_IMAGES" != 0 ] && { [ -e "$DATA/train-images-idx3-ubyte" ] ||
                                [ -e "$DATA/train-images-idx3-ubyte.gz" ]; }; then
    FOLD=1
elif [ -n "$GRID" ] && [ "$FOLD_IMAGES" != 0 ]; then
    echo "bench: no training set in $DATA: the projection leaves out the fold runs"
fi

common=(--threads "$THREADS" --min-seconds "$SECS" --json)
echo "bench: peak (SGEMM, FMA loop)"
${PIN[@]+"${PIN[@]}"} "$RCN" bench --no-train --no-eval --no-layers "${common[@]}" >"$T/peak.json"

for preset in $PRESETS; do
    for b in $BATCHES; do
        for r in $(seq 1 "$ROUNDS"); do
            extra=(--no-layers --no-peak)
            [ "$r" = 1 ] && extra=(--no-peak)
            echo "bench: $preset batch $b round $r/$ROUNDS: rcn"
            ${PIN[@]+"${PIN[@]}"} "$RCN" bench --preset "$preset" --batch-size "$b" \
                "${extra[@]}" "${common[@]}" >"$T/rcn.$preset.$b.$r.json"
            if [ "$TORCH" = 1 ]; then
                echo "bench: $preset batch $b round $r/$ROUNDS: pytorch"
                GLIBC_TUNABLES=$TORCH_TUNABLES ${PIN[@]+"${PIN[@]}"} \
                    env ${TORCH_ISA:+ONEDNN_MAX_CPU_ISA=$TORCH_ISA} "$PY" scripts/bench_torch.py \
                    --preset "$preset" --batch-size "$b" --threads "$THREADS" --min-seconds "$SECS" \
                    >"$T/torch.$preset.$b.$r.json"
            fi
        done
    done
done
for b in $GRID; do
    fold=()
    [ "$FOLD" = 1 ] && fold=(--fold --data "$DATA" --fold-images "$FOLD_IMAGES")
    echo "bench: grid projection, rcn8 batch $b${fold:+ (and a fold of $FOLD_IMAGES images)}"
    ${PIN[@]+"${PIN[@]}"} "$RCN" bench --preset rcn8 --batch-size "$b" --no-layers --no-peak \
        ${fold[@]+"${fold[@]}"} "${common[@]}" >"$T/grid.$b.json"
done
if [ "${RCN_BENCH_SEARCH:-1}" = 1 ]; then
    RCN=$RCN scripts/bench-search.sh "$T/search.json"
fi
uptime >"$T/load-end" 2>/dev/null || true

mkdir -p "$(dirname "$OUT")"
"$PYAGG" - "$T" "$OUT" "$PRESETS" "$BATCHES" "$GRID" "$ROUNDS" "$THREADS" "$TORCH" "$FOLD" <<'EOF'
import json, os, statistics, subprocess, sys, time
d, out, presets, batches, grid, rounds, threads, torch, fold = sys.argv[1:]
fold = fold == "1"
GOAL = 2.0  # rcn / PyTorch, per core, median of the interleaved rounds
presets, batches, grid = presets.split(), [int(b) for b in batches.split()], \
    [int(b) for b in grid.split()]
rounds, threads, torch = int(rounds), int(threads), torch == "1"

def load(name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def read(name):
    try:
        return open(os.path.join(d, name)).read().strip()
    except OSError:
        return None

peak = load("peak.json")
cpu = load("cpu.json")
vpath = peak["vector_path"]
KEYS = ["train_images_per_cpu_second", "eval_images_per_cpu_second",
        "train_images_per_second", "eval_images_per_second"]
runs = []
for p in presets:
    for b in batches:
        rr = [load(f"rcn.{p}.{b}.{r}.json") for r in range(1, rounds + 1)]
        first = rr[0]
        e = {"preset": p, "batch_size": b, "threads": threads,
             "family": cpu["family_name"], "vector_path": first["vector_path"],
             "forward_flops_per_image": first["forward_flops_per_image"],
             "train_flops_per_image": first["train_flops_per_image"]}
        rc = {k: med([x.get(k) for x in rr]) for k in KEYS}
        rc["train_gflops_cpu"] = rc["train_images_per_cpu_second"] * e["train_flops_per_image"] * 1e-9
        rc["eval_gflops_cpu"] = rc["eval_images_per_cpu_second"] * e["forward_flops_per_image"] * 1e-9
        for w in ("train", "eval"):
            rc[f"{w}_percent_of_fma_peak"] = 100 * rc[f"{w}_gflops_cpu"] / peak["fma_peak_gflops"]
            rc[f"{w}_percent_of_sgemm"] = 100 * rc[f"{w}_gflops_cpu"] / peak["sgemm_gflops"]
        rc["peak_memory_bytes"] = max(x["peak_memory_bytes"] for x in rr)
        rc["net_bytes"] = first["net_bytes"]
        rc["layers"] = first.get("layers")
        rc["rounds"] = [{k: x.get(k) for k in KEYS} for x in rr]
        e["rcn"] = rc
        if torch:
            tt = [load(f"torch.{p}.{b}.{r}.json") for r in range(1, rounds + 1)]
            tc = {k: med([x.get(k) for x in tt]) for k in KEYS}
            tc["implementation"] = tt[0]["implementation"]
            tc["rounds"] = [{k: x.get(k) for k in KEYS} for x in tt]
            e["pytorch"] = tc
            # ratio per round (rcn and PyTorch of a round ran back to back), then the median
            e["ratio_to_pytorch"] = {k: med([a.get(k) / t[k] for a, t in zip(rr, tt)
                                             if a.get(k) and t.get(k)]) for k in KEYS}
            q = e["ratio_to_pytorch"]
            e["ratio_passes"] = {w: q[f"{w}_images_per_cpu_second"] is not None and
                                 q[f"{w}_images_per_cpu_second"] >= GOAL
                                 for w in ("train", "eval")}
        runs.append(e)

proj = None
if grid:
    g = {b: load(f"grid.{b}.json") for b in grid}
    # Table 2: 39 learning rates x 10 folds per batch size; each training 10 epochs
    # of 54,000 images, each epoch followed by an evaluation of the 6,000 held out.
    per = []
    total = fold_total = 0.0
    for b in grid:
        tr = 39 * 10 * 10 * 54000 / g[b]["train_images_per_cpu_second"]
        ev = 39 * 10 * 10 * 6000 / g[b]["eval_images_per_cpu_second"]
        total += tr + ev
        pb = {"batch_size": b, "vector_path": g[b]["vector_path"],
              "train_images_per_cpu_second": g[b]["train_images_per_cpu_second"],
              "eval_images_per_cpu_second": g[b]["eval_images_per_cpu_second"],
              "core_hours": (tr + ev) / 3600}
        f = g[b].get("fold")
        if f:
            # the fold's own rates (network creation excluded: a rank keeps
            # one network per batch size), scaled to the full fold
            ftr = 39 * 10 * 10 * 54000 / f["fold_train_images_per_cpu_second"]
            fev = 39 * 10 * 10 * 6000 / f["fold_eval_images_per_cpu_second"]
            fold_total += ftr + fev
            pb.update({"fold_train_images": f["train_images"],
                       "fold_validation_images": f["validation_images"],
                       "fold_overhead_percent": f["overhead_percent"],
                       "fold_train_images_per_cpu_second": f["fold_train_images_per_cpu_second"],
                       "fold_eval_images_per_cpu_second": f["fold_eval_images_per_cpu_second"],
                       "fold_core_hours": (ftr + fev) / 3600})
        per.append(pb)
    if [b for b in grid] != [32 * i for i in range(1, 9)]:
        note = "batch sizes as timed (not the paper's full 32..256 set)"
    else:
        note = "the paper's grid: batch 32..256 step 32 x 39 learning rates x 10 folds"
    proj = {"preset": "rcn8", "trainings": 39 * 10 * len(grid), "epochs": 10,
            "train_images_per_epoch": 54000, "eval_images_per_epoch": 6000,
            "core_hours": total / 3600, "per_batch_size": per, "note": note +
            "; diverged trainings stop early, so this is an upper bound",
            "core_hours_from": "step rates: images / training rate + validation images / "
                               "inference rate, per batch size"}
    if fold:
        proj["fold_core_hours"] = fold_total / 3600
        proj["fold_core_hours_from"] = (
            "one real fold per batch size (rcn bench --fold, fold_train_images of the "
            "training set): its training part (steps, batch assembly, shuffling, per-epoch "
            "bookkeeping) and validation part as images per CPU second, applied to the "
            "full fold; includes the fold's overhead over the step rates")

passing = [(e["preset"], e["batch_size"], w) for e in runs for w in ("train", "eval")
           if e.get("ratio_passes", {}).get(w)]
summary = {"goal": GOAL, "passing": len(passing), "of": 2 * len(runs)} if torch else None

res = {"what": "rcn bench sweep (scripts/bench.sh); throughput per core = median step in "
               "process CPU time; ratios are rcn / PyTorch, per interleaved round, median",
       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
       "git_rev": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip() or None,
       "machine": {**cpu, "cores": os.cpu_count(),
                   "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                   "load_start": read("load-start"), "load_end": read("load-end")},
       "vector_path": vpath, "pytorch_max_isa": os.environ.get("RCN_BENCH_TORCH_ISA") or None,
       "threads": threads, "rounds": rounds,
       "pinned_cpu": int(os.environ["RCN_BENCH_PINNED"]) if os.environ.get("RCN_BENCH_PINNED") else None,
       "peak": {"sgemm_gflops": peak["sgemm_gflops"], "fma_peak_gflops": peak["fma_peak_gflops"],
                "fma_width_bits": peak["fma_width_bits"]},
       "runs": runs, "ratio_summary": summary, "table2_projection": proj,
       "search": load("search.json") if os.path.exists(os.path.join(d, "search.json")) else None}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")
os.replace(tmp, out)

print(f"\nCPU: {cpu['cpu']} ({cpu['vendor']} family {cpu['cpu_family']} model "
      f"{cpu['cpu_model']}), family {cpu['family_name']}, vector path {vpath}"
      + ("" if vpath == cpu["native_vector_path"] else
         f" (not the native {cpu['native_vector_path']})")
      + (f"; PyTorch's oneDNN held to {res['pytorch_max_isa']}" if res["pytorch_max_isa"] else ""))
print(f"peak per core: SGEMM {peak['sgemm_gflops']:.1f} GFLOP/s, FMA loop "
      f"({peak['fma_width_bits']}-bit) {peak['fma_peak_gflops']:.1f} GFLOP/s")
hdr = f"{'preset':<9}{'batch':>6} {'train img/s':>12} {'GFLOP/s':>8} {'%peak':>6} " \
      f"{'eval img/s':>11} {'%peak':>6} {'MiB':>6}"
if torch:
    hdr += f" {'torch train':>12} {'torch eval':>11} {'x train':>8} {'x eval':>7}"
print(hdr)
for e in runs:
    r = e["rcn"]
    line = f"{e['preset']:<9}{e['batch_size']:>6} {r['train_images_per_cpu_second']:>12.0f} " \
           f"{r['train_gflops_cpu']:>8.1f} {r['train_percent_of_fma_peak']:>5.0f}% " \
           f"{r['eval_images_per_cpu_second']:>11.0f} {r['eval_percent_of_fma_peak']:>5.0f}% " \
           f"{r['peak_memory_bytes'] / 1048576:>6.0f}"
    if torch:
        t, q = e["pytorch"], e["ratio_to_pytorch"]
        mark = {w: " " if e["ratio_passes"][w] else "!" for w in ("train", "eval")}
        line += f" {t['train_images_per_cpu_second']:>12.0f} {t['eval_images_per_cpu_second']:>11.0f}" \
                f" {q['train_images_per_cpu_second']:>6.2f}x{mark['train']}" \
                f" {q['eval_images_per_cpu_second']:>5.2f}x{mark['eval']}"
    print(line)
if summary:
    print(f"ratios >= {GOAL:.1f}: {summary['passing']} of {summary['of']}"
          + ("" if summary["passing"] == summary["of"] else " ('!' marks the others)"))
if proj:
    print(f"Table 2 grid (rcn8, {proj['trainings']} trainings x 10 epochs x 54,000 images + "
          f"6,000 evaluated per epoch): {proj['core_hours']:.0f} core-hours from the step rates"
          + (f", {proj['fold_core_hours']:.0f} from the fold runs" if "fold_core_hours" in proj
             else ""))
s = res["search"]
if s:
    dp, sc = s["dispatch"], s["scaling"]
    print(f"search: {dp['fold_jobs']} trivial fold jobs at -np {dp['ranks']} in "
          f"{dp['search_wall_seconds']:.2f} s ({dp['launch_to_exit_seconds']:.2f} s launch to exit); "
          f"-np 2 / -np 1 fold-jobs throughput {sc['speedup']:.2f}x, coordinator overhead "
          f"{100 * sc['np2']['coordinator_overhead']:.2f}%; peak memory per rank (rcn8, batch 256) "
          + ", ".join(f"{r['peak_rss_mib']:.0f}" for r in s["memory"]["ranks"]) + " MiB")
print(f"wrote {out}")
EOF
