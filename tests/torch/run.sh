#!/usr/bin/env bash
# run.sh - the PyTorch cross-check: rcn's forward, loss, gradients, SGD step
# and running statistics against an independent PyTorch model of MODEL.md
# (python/rcn_torch.py, the module users import), and a model trained by rcn evaluated by both.
# Installs python3-torch from Debian if /usr/bin/python3 lacks it. Exits
# non-zero on any mismatch; prints max abs/rel error per tensor.
#
#   tests/torch/run.sh            (from the repository root; RCN=bin/rcn)
set -euo pipefail
cd "$(dirname "$0")/../.."
RCN=${RCN:-bin/rcn}
PY=/usr/bin/python3 # not the pyenv python3 on PATH: Debian's torch lives here
CHECK="$PY tests/torch/check.py"

if ! $PY -c "import torch, numpy" 2>/dev/null; then
    echo "torch: installing python3-torch python3-numpy (Debian)"
    t0=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    apt_install() {
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
            python3-torch python3-numpy >/tmp/rcn-torch-apt.log 2>&1
    }
    if ! apt_install; then
        apt-get -o DPkg::Lock::Timeout=600 update >>/tmp/rcn-torch-apt.log 2>&1 || true
        apt_install || { tail -20 /tmp/rcn-torch-apt.log; echo "torch: install failed"; exit 1; }
    fi
    echo "torch: installed in $(($(date +%s) - t0)) s"
fi
$PY -c "import torch; print('torch', torch.__version__)"
if ! "$RCN" dump --help >/dev/null 2>&1; then
    echo "torch: '$RCN dump' is not available"; exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/rcn-torch.XXXXXX")
trap 'rm -rf "$T"' EXIT

# Data: real MNIST if it is there, else rcn's synthetic set.
find_idx() { # dir split kind -> path (raw or .gz) or nothing
    for f in "$1/$2-$3" "$1/$2-$3.gz"; do [ -f "$f" ] && { echo "$f"; return 0; }; done
    return 0
}
DATA=data/mnist
IMAGES=$(find_idx $DATA t10k images-idx3-ubyte)
LABELS=$(find_idx $DATA t10k labels-idx1-ubyte)
TRAIN_IMAGES=$(find_idx $DATA train images-idx3-ubyte)
if [ -n "$IMAGES" ] && [ -n "$LABELS" ] && [ -n "$TRAIN_IMAGES" ]; then
    echo "data: MNIST ($DATA)"
    TRAIN_ARGS=(--data "$DATA" --train-limit 2000)
else
    DATA=$T/synth
    "$RCN" synth --out "$DATA" --train 2000 --test 500 --seed 3 >/dev/null
    IMAGES=$DATA/t10k-images-idx3-ubyte
    LABELS=$DATA/t10k-labels-idx1-ubyte
    echo "data: no data/mnist, synthetic set from '$RCN synth'"
    TRAIN_ARGS=(--data "$DATA")
fi
D=(--images "$IMAGES" --labels "$LABELS")

fail=0
check() { # title, then check.py arguments
    local title=$1; shift
    $CHECK "$@" --title "$title" || fail=1
}

$CHECK params || fail=1

# Case 1: rcn8 as initialised, the seed's optimiser defaults, one step.
"$RCN" dump --init --preset rcn8 --seed 1 --out "$T/rcn8.init.safetensors" >/dev/null
"$RCN" dump --model "$T/rcn8.init.safetensors" "${D[@]}" --batch 16 --mode train \
    --lr 0.01 --momentum 0.5 --out "$T/rcn8.init.train.safetensors" >/dev/null
check "rcn8, initial weights, train mode, 1 SGD step" dump --model "$T/rcn8.init.safetensors" \
    --dump "$T/rcn8.init.train.safetensors" "${D[@]}"

# Cases 2-3: non-trivial BN statistics/affine (a file written by Python),
# three steps on the same batch (momentum and weight decay at work), and eval.
SPEC='{"stem": {"kernel": 7, "stride": 2, "channels": 6, "maxpool": true},
       "stages": [{"channels": 8, "blocks": 1}, {"channels": 16, "blocks": 2}], "dropout": 0}'
"$RCN" dump --init --spec "$SPEC" --seed 2 --out "$T/custom.init.safetensors" >/dev/null
for m in rcn8 custom; do
    $CHECK perturb "$T/$m.init.safetensors" "$T/$m.safetensors" --seed 11
    off=0; [ $m = custom ] && off=16
    "$RCN" dump --model "$T/$m.safetensors" "${D[@]}" --batch 16 --offset $off --mode train \
        --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --steps 3 \
        --out "$T/$m.train.safetensors" >/dev/null
    "$RCN" dump --model "$T/$m.safetensors" "${D[@]}" --batch 16 --offset $off --mode eval \
        --out "$T/$m.eval.safetensors" >/dev/null
    check "$m, perturbed BN, train mode, 3 SGD steps (lr 0.1, m 0.9, wd 5e-4)" \
        dump --model "$T/$m.safetensors" --dump "$T/$m.train.safetensors" "${D[@]}"
    check "$m, perturbed BN, eval mode" \
        dump --model "$T/$m.safetensors" --dump "$T/$m.eval.safetensors" "${D[@]}"
done

# Case 4: a model trained a little by rcn (dropout 0.5 as trained), evaluated
# on the whole test set by PyTorch and by rcn.
if "$RCN" train --help >/dev/null 2>&1; then
    "$RCN" train "${TRAIN_ARGS[@]}" --preset rcn8 --epochs 2 --batch-size 64 --lr 0.05 \
        --seed 5 --quiet --out "$T/trained.json" --save "$T/trained.safetensors" >/dev/null
    read -r loss acc < <($PY -c "import json,sys; e=json.load(open(sys.argv[1]))['epochs'][-1]; \
print(repr(e['test_loss']), repr(e['test_accuracy']))" "$T/trained.json")
    expect=(--expect "rcn train (last epoch's test set)" "$loss" "$acc")
    if "$RCN" eval --help >/dev/null 2>&1; then
        "$RCN" eval --json "$T/trained.safetensors" "$IMAGES" "$LABELS" >"$T/eval.json"
        read -r loss acc < <($PY -c "import json,sys; e=json.load(open(sys.argv[1])); \
print(repr(e['loss']), repr(e['accuracy']))" "$T/eval.json")
        expect+=(--expect "rcn eval" "$loss" "$acc")
    else
        echo "skip: '$RCN eval' not built yet"
    fi
    $CHECK evalset --model "$T/trained.safetensors" "${D[@]}" "${expect[@]}" || fail=1
else
    echo "skip: '$RCN train' not built yet"
fi

# The README's example: rcn_torch.py as users load it, scored like rcn eval.
RCN=$RCN tests/torch/readme_example.sh || fail=1

if [ $fail -ne 0 ]; then
    echo "torch cross-check: FAILED"
    exit 1
fi
echo "torch cross-check: all OK"
