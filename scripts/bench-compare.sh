#!/usr/bin/env bash
# bench-compare.sh - `make bench-compare`: installs Debian's python3-torch if
# /usr/bin/python3 lacks it, then runs the bench sweep (scripts/bench.sh)
# with the PyTorch reference (scripts/bench_torch.py) interleaved at every
# preset, batch size and thread count, and prints the ratios. Same
# environment variables as scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
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
RCN_BENCH_TORCH=1 exec scripts/bench.sh
