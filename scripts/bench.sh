#!/usr/bin/env bash
# bench.sh - `make bench`: training and inference throughput of rcn over
# presets x batch sizes, the per-core peak it is measured against, a
# per-layer-kind breakdown, the projected cost of the paper's Table 2 grid,
# and - when PyTorch is there (it is not installed by this script; see
# scripts/bench-compare.sh) - the same network in PyTorch at the same preset,
# batch and thread count, run interleaved with rcn, and the ratio.
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
#   RCN_BENCH_THREADS    threads for rcn (OpenBLAS) and PyTorch (1)
#   RCN_BENCH_ROUNDS     interleaved rounds per configuration (3)
#   RCN_BENCH_SECONDS    minimum seconds per measurement (2)
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
TORCH=${RCN_BENCH_TORCH:-auto}
PY=/usr/bin/python3 # Debian's python: where python3-torch lives
# The PyTorch reference runs with glibc malloc tuned as it is usually
# deployed (large blocks kept instead of mmap/munmap per step).
TORCH_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824

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

common=(--threads "$THREADS" --min-seconds "$SECS" --json)
echo "bench: peak (SGEMM, FMA loop)"
"$RCN" bench --no-train --no-eval --no-layers "${common[@]}" >"$T/peak.json"

for preset in $PRESETS; do
    for b in $BATCHES; do
        for r in $(seq 1 "$ROUNDS"); do
            extra=(--no-layers --no-peak)
            [ "$r" = 1 ] && extra=(--no-peak)
            echo "bench: $preset batch $b round $r/$ROUNDS: rcn"
            "$RCN" bench --preset "$preset" --batch-size "$b" "${extra[@]}" "${common[@]}" \
                >"$T/rcn.$preset.$b.$r.json"
            if [ "$TORCH" = 1 ]; then
                echo "bench: $preset batch $b round $r/$ROUNDS: pytorch"
                GLIBC_TUNABLES=$TORCH_TUNABLES "$PY" scripts/bench_torch.py --preset "$preset" \
                    --batch-size "$b" --threads "$THREADS" --min-seconds "$SECS" \
                    >"$T/torch.$preset.$b.$r.json"
            fi
        done
    done
done
for b in $GRID; do
    echo "bench: grid projection, rcn8 batch $b"
    "$RCN" bench --preset rcn8 --batch-size "$b" --no-layers --no-peak "${common[@]}" \
        >"$T/grid.$b.json"
done
if [ "${RCN_BENCH_SEARCH:-1}" = 1 ]; then
    RCN=$RCN scripts/bench-search.sh "$T/search.json"
fi
uptime >"$T/load-end" 2>/dev/null || true

mkdir -p "$(dirname "$OUT")"
"$PYAGG" - "$T" "$OUT" "$PRESETS" "$BATCHES" "$GRID" "$ROUNDS" "$THREADS" "$TORCH" <<'EOF'
import json, os, platform, statistics, subprocess, sys, time
d, out, presets, batches, grid, rounds, threads, torch = sys.argv[1:]
presets, batches, grid = presets.split(), [int(b) for b in batches.split()], \
    [int(b) for b in grid.split()]
rounds, threads, torch = int(rounds), int(threads), torch == "1"

def load(name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def read(name):
    try:
        return open(os.path.join(d, name)).read().strip()
    except OSError:
        return None

peak = load("peak.json")
KEYS = ["train_images_per_cpu_second", "eval_images_per_cpu_second",
        "train_images_per_second", "eval_images_per_second"]
runs = []
for p in presets:
    for b in batches:
        rr = [load(f"rcn.{p}.{b}.{r}.json") for r in range(1, rounds + 1)]
        first = rr[0]
        e = {"preset": p, "batch_size": b, "threads": threads,
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
        runs.append(e)

proj = None
if grid:
    g = {b: load(f"grid.{b}.json") for b in grid}
    # Table 2: 39 learning rates x 10 folds per batch size; each training 10 epochs
    # of 54,000 images, each epoch followed by an evaluation of the 6,000 held out.
    per = []
    total = 0.0
    for b in grid:
        tr = 39 * 10 * 10 * 54000 / g[b]["train_images_per_cpu_second"]
        ev = 39 * 10 * 10 * 6000 / g[b]["eval_images_per_cpu_second"]
        total += tr + ev
        per.append({"batch_size": b,
                    "train_images_per_cpu_second": g[b]["train_images_per_cpu_second"],
                    "eval_images_per_cpu_second": g[b]["eval_images_per_cpu_second"],
                    "core_hours": (tr + ev) / 3600})
    if [b for b in grid] != [32 * i for i in range(1, 9)]:
        note = "batch sizes as timed (not the paper's full 32..256 set)"
    else:
        note = "the paper's grid: batch 32..256 step 32 x 39 learning rates x 10 folds"
    proj = {"preset": "rcn8", "trainings": 39 * 10 * len(grid), "epochs": 10,
            "train_images_per_epoch": 54000, "eval_images_per_epoch": 6000,
            "core_hours": total / 3600, "per_batch_size": per, "note": note +
            "; diverged trainings stop early, so this is an upper bound"}

res = {"what": "rcn bench sweep (scripts/bench.sh); throughput per core = median step in "
               "process CPU time; ratios are rcn / PyTorch, per interleaved round, median",
       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
       "git_rev": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip() or None,
       "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                   "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                   "load_start": read("load-start"), "load_end": read("load-end")},
       "threads": threads, "rounds": rounds,
       "peak": {"sgemm_gflops": peak["sgemm_gflops"], "fma_peak_gflops": peak["fma_peak_gflops"],
                "fma_width_bits": peak["fma_width_bits"]},
       "runs": runs, "table2_projection": proj,
       "search": load("search.json") if os.path.exists(os.path.join(d, "search.json")) else None}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")
os.replace(tmp, out)

print(f"\npeak per core: SGEMM {peak['sgemm_gflops']:.1f} GFLOP/s, FMA loop "
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
        line += f" {t['train_images_per_cpu_second']:>12.0f} {t['eval_images_per_cpu_second']:>11.0f}" \
                f" {q['train_images_per_cpu_second']:>7.2f}x {q['eval_images_per_cpu_second']:>6.2f}x"
    print(line)
if proj:
    print(f"Table 2 grid (rcn8, {proj['trainings']} trainings x 10 epochs x 54,000 images + "
          f"6,000 evaluated per epoch): {proj['core_hours']:.0f} core-hours")
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
