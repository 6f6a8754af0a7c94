#!/usr/bin/env bash
# make_seeds.sh - regenerates the small seed corpora in tests/fuzz/seeds/
# (committed; run again when a file format changes). Needs bin/rcn and
# python3. Job seeds are not stored: tests/fuzz/run.sh adds jobs/*.json and
# tests/bad/jobs/*.json (the real files) to the job corpus at each run.
#
#   seeds/idx/          byte 0 = fuzz_idx mode, then an IDX file (raw/gzip)
#   seeds/safetensors/  models saved by `rcn train --save`, and hand-made files
#   seeds/journal/      journals of a real tiny search (whole, torn, resumed)
#   seeds/report/       reports of the same search and tests/report fixtures
set -euo pipefail
cd "$(dirname "$0")/../.."
RCN=${RCN:-$PWD/bin/rcn}
S=tests/fuzz/seeds
T=$(mktemp -d /tmp/rcn-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
rm -rf "$S" && mkdir -p "$S"/{idx,safetensors,journal,report}

"$RCN" synth --out "$T/data" --train 60 --test 20 --seed 3 >/dev/null
"$RCN" synth --out "$T/gz" --train 3 --test 2 --seed 4 --gz >/dev/null
"$RCN" synth --out "$T/tiny" --train 3 --test 2 --seed 4 >/dev/null

# ---- idx: mode byte + content ------------------------------------------
python3 - "$T" "$S/idx" <<'PY'
import sys, os, struct
T, out = sys.argv[1], sys.argv[2]
def rd(p): return open(p, 'rb').read()
def put(name, mode, body): open(os.path.join(out, name), 'wb').write(bytes([mode]) + body)
img, lab = rd(T + '/tiny/train-images-idx3-ubyte'), rd(T + '/tiny/train-labels-idx1-ubyte')
put('images_raw', 0, img)
put('labels_raw', 1, lab)
put('images_gz', 0, rd(T + '/gz/train-images-idx3-ubyte.gz'))
put('labels_gz', 1, rd(T + '/gz/train-labels-idx1-ubyte.gz'))
put('images_raw_to_gz', 4, img)
put('labels_raw_to_gz', 5, lab)
# pair: byte 1 = split point in 1/256ths of the rest
body = img + lab
cut = len(img) * 256 // (len(body)) + 1
while cut * (len(body)) // 256 > len(img): cut -= 1
while cut * (len(body)) // 256 < len(img): cut += 1
put('pair_raw', 2, bytes([cut]) + body)
put('pair_gz', 6, bytes([cut]) + body)
# small odd ones: 1x1 images, zero items, a 2-d file
put('images_1x1', 0, struct.pack('>IIII', 0x803, 2, 1, 1) + b'\x00\xff')
put('images_zero', 0, struct.pack('>IIII', 0x803, 0, 28, 28))
put('labels_zero', 1, struct.pack('>II', 0x801, 0))
put('idx2', 0, struct.pack('>III', 0x802, 1, 1) + b'\x01')
PY

# ---- safetensors ----------------------------------------------------------
spec='{"stem": {"kernel": 3, "stride": 2, "channels": 2, "maxpool": true},
       "stages": [{"channels": 2, "blocks": 1}, {"channels": 3, "blocks": 1}], "dropout": 0.5}'
"$RCN" train --data "$T/data" --spec "$spec" --epochs 1 --batch-size 16 --quiet \
    --save "$S/safetensors/tiny.safetensors" >/dev/null
spec1='{"stem": {"kernel": 1, "stride": 4, "channels": 1, "maxpool": false},
        "stages": [{"channels": 1, "blocks": 1}], "dropout": 0}'
"$RCN" train --data "$T/data" --spec "$spec1" --epochs 1 --batch-size 16 --lr 50 --quiet \
    --save "$S/safetensors/smallest.safetensors" >/dev/null
python3 - "$S/safetensors" <<'PY'
import sys, os, struct, json
out = sys.argv[1]
def st(name, header, data):
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    open(os.path.join(out, name), 'wb').write(struct.pack('<Q', len(h)) + h + data)
f = struct.pack('<4f', 1.0, -2.5, float('nan'), float('inf'))
st('generic.safetensors', {"__metadata__": {"k": "v"},
   "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
   "b": {"dtype": "F32", "shape": [0], "data_offsets": [16, 16]},
   "c": {"dtype": "F32", "shape": [], "data_offsets": [16, 20]}}, f + struct.pack('<f', 3.0))
st('empty.safetensors', {}, b'')
PY

# ---- a real tiny search: journal and report ------------------------------
cat >"$T/job.json" <<JOB
{"name": "seed", "data": {"dir": "$T/data"}, "train_limit": 40,
 "model": {"stem": {"kernel": 3, "stride": 2, "channels": 2, "maxpool": false},
           "stages": [{"channels": 2, "blocks": 1}], "dropout": 0.5},
 "epochs": 2, "grid": {"batch_size": [8, 16], "lr": [0.1, 1000]},
 "validation": {"kind": "kfold", "folds": 2}, "output": "$T/out/seed.json"}
JOB
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$RCN" search "$T/job.json" --quiet >/dev/null
cp "$T/out/seed.json" "$S/report/kfold.json"
J=$T/out/seed.journal.jsonl
cp "$J" "$S/journal/whole.jsonl"
head -n 3 "$J" >"$S/journal/partial.jsonl"
{ head -n 3 "$J"; sed -n 4p "$J" | head -c 50; } >"$S/journal/torn.jsonl"
head -n 1 "$J" >"$S/journal/header_only.jsonl"
head -n 1 "$J" | head -c 40 >"$S/journal/torn_header.jsonl"
sed 's/"fold"/"future"/' "$J" >"$S/journal/unknown_type.jsonl"

sed -e 's/"kfold", "folds": 2/"test"/' -e 's/"seed"/"seedt"/' -e 's/seed\.json/seedt.json/' \
    "$T/job.json" >"$T/jobt.json"
"$RCN" search "$T/jobt.json" --quiet >/dev/null
cp "$T/out/seedt.json" "$S/report/test.json"
cp "$T/out/seedt.journal.jsonl" "$S/journal/test.jsonl"
for f in tests/report/*.json; do cp "$f" "$S/report/fixture_$(basename "$f")"; done
for f in tests/report/*.jsonl; do cp "$f" "$S/journal/fixture_$(basename "$f")"; done

# absolute scratch paths inside the seeds mean nothing elsewhere: neutralise them
grep -rl "$T" "$S" | xargs -r sed -i "s#$T#/tmp/seed#g"
echo "seeds: $(find "$S" -type f | wc -l) files, $(du -sh "$S" | cut -f1)"
