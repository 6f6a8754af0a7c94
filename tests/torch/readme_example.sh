#!/usr/bin/env bash
# readme_example.sh - runs the README's PyTorch example exactly as written
# (the ```python block after the line naming this script) with
# PYTHONPATH=python, and checks that it prints the test accuracy
# `rcn eval` prints for the same model: the same correct count of 10,000.
# Fetches MNIST (scripts/fetch-mnist.sh) when data/mnist lacks it.
#
#   tests/torch/readme_example.sh     (from the repository root; RCN=bin/rcn)
set -euo pipefail
cd "$(dirname "$0")/../.."
RCN=${RCN:-bin/rcn}
PY=/usr/bin/python3
MODEL=results/table2-mini.refit.safetensors
T=$(mktemp -d "${TMPDIR:-/tmp}/rcn-readme.XXXXXX")
trap 'rm -rf "$T"' EXIT

awk '/readme_example.sh` runs this block/ { found = 1; next }
     found == 1 && /^```python$/ { found = 2; next }
     found == 2 && /^```$/ { exit }
     found == 2 { print }' README.md >"$T/example.py"
[ -s "$T/example.py" ] || { echo "readme example: no python block in README.md"; exit 1; }
[ -f data/mnist/t10k-images-idx3-ubyte ] || scripts/fetch-mnist.sh data/mnist

t0=$(date +%s)
got=$(OMP_NUM_THREADS=1 PYTHONPATH=python $PY "$T/example.py")
echo "README example ($(($(date +%s) - t0)) s): $got"
want=$("$RCN" eval "$MODEL" data/mnist)
echo "rcn eval: $want"
acc_got=$(grep -o 'accuracy [0-9.]*%' <<<"$got")
acc_want=$(grep -o 'accuracy [0-9.]*%' <<<"$want")
n_want=$("$RCN" eval --json "$MODEL" data/mnist |
    $PY -c "import json,sys; e=json.load(sys.stdin); print(round(e['accuracy'] * e['n']))")
if [ -z "$acc_got" ] || [ "$acc_got" != "$acc_want" ] || ! grep -q "($n_want/10000)" <<<"$got"; then
    echo "readme example: FAILED ('$acc_got' vs rcn eval's '$acc_want', $n_want correct)"
    exit 1
fi
echo "readme example: OK, $acc_got as rcn eval"
