#!/usr/bin/env bash
# make_cases.sh - regenerates the bad input files of tests/bad/ (except
# tests/bad/jobs/, written by hand): the good model with bin/rcn, then every
# mutation with make_cases.py. Review `git diff tests/bad` afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/rcn-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
bin/rcn synth --out "$T/data" --train 60 --test 20 --seed 5 >/dev/null
mkdir -p tests/bad/safetensors
bin/rcn train --data "$T/data" --epochs 1 --batch-size 20 --quiet --seed 2 \
    --spec '{"stem": {"kernel": 3, "stride": 2, "channels": 2, "maxpool": false},
             "stages": [{"channels": 2, "blocks": 1}, {"channels": 3, "blocks": 1}],
             "dropout": 0.5}' \
    --save tests/bad/safetensors/good.safetensors >/dev/null
python3 tests/bad/make_cases.py
