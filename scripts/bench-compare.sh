#!/usr/bin/env bash
# bench-compare.sh - `make bench-compare`: installs Debian's python3-torch if
# /usr/bin/python3 lacks it, then runs the bench sweep (scripts/bench.sh)
# with the PyTorch reference (scripts/bench_torch.py) interleaved at every
# preset, batch size and thread count, and prints the ratios (each against
# the goal of 2.0, and how many pass).
#
# One results file per CPU family: results/bench-<family>.json
# (scripts/cpu_family.py names the family), other families' files left as
# they are; a run on a vector path that is not the CPU's native one says so
# in the name (RCN_NO_AVX512=1 on Zen 5: results/bench-zen5-avx2.json).
# Same environment variables as scripts/bench.sh, with other defaults:
#   RCN_BENCH_PRESETS "rcn8 rcn14" (resnet18 when named), RCN_BENCH_BATCHES
#   "32 64 256", RCN_BENCH_ROUNDS 5, RCN_BENCH_OUT results/bench-<tag>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RCN=${RCN:-bin/rcn}
[ -x "$RCN" ] || { echo "bench-compare: $RCN not built (make bin/rcn)" >&2; exit 1; }
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "bench-compare: installing python3-torch (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() {
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends python3-torch \
            >/tmp/rcn-bench-apt.log 2>&1
    }
    if ! apt_install; then
        apt-get -o DPkg::Lock::Timeout=600 update >>/tmp/rcn-bench-apt.log 2>&1 || true
        apt_install || { tail -20 /tmp/rcn-bench-apt.log; echo "bench-compare: install failed" >&2
                         exit 1; }
    fi
fi
path=$("$RCN" bench --batch-size 1 --no-train --no-eval --no-layers --no-peak --json |
       "$PY" -c 'import json, sys; print(json.load(sys.stdin)["vector_path"])')
tag=$("$PY" scripts/cpu_family.py --tag "$path")
export RCN RCN_BENCH_OUT=${RCN_BENCH_OUT:-results/bench-$tag.json}
export RCN_BENCH_PRESETS=${RCN_BENCH_PRESETS:-rcn8 rcn14}
export RCN_BENCH_BATCHES=${RCN_BENCH_BATCHES:-32 64 256}
export RCN_BENCH_ROUNDS=${RCN_BENCH_ROUNDS:-5}
echo "bench-compare: CPU family $tag, vector path $path: $RCN_BENCH_OUT"
RCN_BENCH_TORCH=1 exec scripts/bench.sh
