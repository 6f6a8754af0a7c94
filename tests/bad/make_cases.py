#!/usr/bin/env python3
"""make_cases.py - writes the bad input files of tests/bad/{idx,safetensors,
journal,report,limits}/ (committed; rerun after a format change, then
review `git diff`). Deterministic: the same files every run.

Inputs: tests/bad/safetensors/good.safetensors (a tiny model saved by
`rcn train --save`, made by make_cases.sh) and tests/fuzz/seeds/report/
kfold.json + journal/whole.jsonl (a real tiny search with diverged cells).
The cases, their commands and the exact errors expected are the table
tests/bad/cases.txt, run by tests/integration/bad_inputs.sh."""
import gzip
import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))


def out(kind, name, data):
    d = os.path.join(ROOT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


# ---- IDX ------------------------------------------------------------------
def idx3(n, rows, cols, pixels=None, magic=0x803):
    body = pixels if pixels is not None else bytes((i * 37 + 11) % 256 for i in range(n * rows * cols))
    return struct.pack('>IIII', magic, n, rows, cols) + body


def idx1(labels, n=None, magic=0x801):
    return struct.pack('>II', magic, len(labels) if n is None else n) + bytes(labels)


good_images = idx3(3, 28, 28)
good_labels = idx1([3, 1, 4])
out('idx', 'good-images', good_images)
out('idx', 'good-labels', good_labels)

out('idx', 'images_truncated', good_images[:2000])
out('idx', 'images_truncated_header', good_images[:10])
out('idx', 'images_empty', b'')
out('idx', 'images_trailing', good_images + b'\x00' * 5)
out('idx', 'images_is_labels', good_labels)
out('idx', 'images_not_idx', b'hello, this is not an IDX file\n')
out('idx', 'images_type_float', struct.pack('>BBBB', 0, 0, 0x0D, 3) + good_images[4:])
out('idx', 'images_32x32', idx3(3, 32, 32))
out('idx', 'images_side_zero', idx3(3, 0, 28, b''))
out('idx', 'images_side_huge', idx3(1, 5000, 5000, b''))
out('idx', 'images_billions', idx3(3000000000, 28, 28, good_images[16:]))
out('idx', 'images_claims_60000', idx3(60000, 28, 28, good_images[16:]))
out('idx', 'images_zero_items', idx3(0, 28, 28, b''))
g = gz(good_images)
out('idx', 'images_gz_truncated', g[:len(g) // 2])
bad_crc = bytearray(g)
bad_crc[-8] ^= 0xff  # CRC32 of the gzip trailer
out('idx', 'images_gz_bad_crc', bytes(bad_crc))
out('idx', 'images_gz_claims_99999999', gz(idx3(99999999, 28, 28, good_images[16:])))
out('idx', 'images_gz_trailing', gz(good_images + b'\x07' * 3))
out('idx', 'labels_out_of_range', idx1([3, 10, 4]))
out('idx', 'labels_255', idx1([3, 1, 255]))
out('idx', 'labels_fewer', idx1([3, 1]))
out('idx', 'labels_more', idx1([3, 1, 4, 1]))
out('idx', 'labels_is_images', good_images)
out('idx', 'labels_truncated', idx1([3, 1, 4])[:9])
out('idx', 'labels_empty', b'')
out('idx', 'labels_gz_out_of_range', gz(idx1([3, 1, 12])))

# ---- safetensors -----------------------------------------------------------
with open(os.path.join(ROOT, 'safetensors', 'good.safetensors'), 'rb') as f:
    model = f.read()
hlen = struct.unpack('<Q', model[:8])[0]
header = json.loads(model[8:8 + hlen])
data = model[8 + hlen:]


def st(name, hdr, body, pad=True, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(hdr, separators=(',', ':')).encode()
    if pad:
        h += b' ' * (-len(h) % 8)
    out('safetensors', name, struct.pack('<Q', len(h)) + h + body)


def tensors():
    return [k for k in header if k != '__metadata__']


def mutate(fn):
    h = json.loads(json.dumps(header))
    fn(h)
    return h


def drop(h, name):
    """Removes tensor `name` and its bytes, shifting later offsets."""
    b, e = h[name]['data_offsets']
    del h[name]
    for k in tensors():
        if k in h and h[k]['data_offsets'][0] >= e:
            h[k]['data_offsets'] = [h[k]['data_offsets'][0] - (e - b), h[k]['data_offsets'][1] - (e - b)]
    return data[:b] + data[e:]


last = max(tensors(), key=lambda k: header[k]['data_offsets'][1])
first = min(tensors(), key=lambda k: header[k]['data_offsets'][0])
st('st_empty', None, b'', raw_header=b'')
out('safetensors', 'st_empty', b'')
out('safetensors', 'st_short', model[:5])
out('safetensors', 'st_header_len_past_end', struct.pack('<Q', 1000000) + model[8:])
out('safetensors', 'st_header_len_huge', struct.pack('<Q', 0xfffffffffffffff0) + model[8:])
st('st_header_not_json', None, data, raw_header=b'{"fc.weight": {"dtype": "F32", ')
st('st_header_array', None, b'', raw_header=b'[]')
st('st_dtype_f16', mutate(lambda h: h[first].__setitem__('dtype', 'F16')), data)
st('st_shape_lies', mutate(lambda h: h[last].__setitem__('shape', [h[last]['shape'][0] + 1])), data)
st('st_offsets_past_end', mutate(lambda h: h[last].__setitem__(
    'data_offsets', [h[last]['data_offsets'][0] + 8, h[last]['data_offsets'][1] + 8])), data)


def overlap(h):
    """The later of two same-shaped tensors claims the earlier one's bytes."""
    ts = sorted(tensors(), key=lambda k: h[k]['data_offsets'][0])
    a, b = [(x, y) for i, x in enumerate(ts) for y in ts[i + 1:] if h[x]['shape'] == h[y]['shape']][0]
    h[b]['data_offsets'] = list(h[a]['data_offsets'])


st('st_offsets_overlap', mutate(overlap), data)
st('st_offsets_gap', mutate(lambda h: h[first].__setitem__('data_offsets', [4, h[first]['data_offsets'][1]])
                            or h[first].__setitem__('shape', [(h[first]['data_offsets'][1] - 4) // 4])), data)
st('st_trailing_bytes', header, data + b'\x00\x00\x80\x3f')
out('safetensors', 'st_truncated_data', model[:-4])
st('st_shape_huge', mutate(lambda h: h[first].__setitem__('shape', [1000000000000000000])), data)
st('st_shape_negative', mutate(lambda h: h[first].__setitem__('shape', [-4])), data)
st('st_no_metadata', mutate(lambda h: h.pop('__metadata__')), data)
st('st_no_arch', mutate(lambda h: h['__metadata__'].pop('arch')), data)
st('st_arch_not_json', mutate(lambda h: h['__metadata__'].__setitem__('arch', '{"stem": ')), data)
huge_arch = {"stem": {"kernel": 3, "stride": 1, "channels": 4096, "maxpool": False},
             "stages": [{"channels": 4096, "blocks": 64}, {"channels": 4096, "blocks": 64}],
             "dropout": 0.5}
st('st_arch_lies_huge', mutate(lambda h: h['__metadata__'].__setitem__(
    'arch', json.dumps(huge_arch, separators=(',', ':')))), data)
h_missing = json.loads(json.dumps(header))
d_missing = drop(h_missing, 'fc.bias')
st('st_missing_tensor', h_missing, d_missing)


def transpose_fc(h):
    s = h['fc.weight']['shape']
    h['fc.weight']['shape'] = [s[1], s[0]]


st('st_wrong_shape', mutate(transpose_fc), data)


def rename(h):
    h['fc.bias_renamed'] = h.pop('fc.bias')


st('st_unknown_tensor', mutate(rename), data)
st('st_metadata_number', None, data,
   raw_header=json.dumps(header, separators=(',', ':')).encode().replace(
       b'"format":"rcn"', b'"format":7', 1))
raw = json.dumps(header, separators=(',', ':')).encode()
dup = raw[:-1] + b',"fc.bias":' + json.dumps(header['fc.bias'], separators=(',', ':')).encode() + b'}'
st('st_duplicate_tensor', None, data, raw_header=dup)

# not an error: non-finite weights are a result (loss NaN -> null), not UB
nan_data = bytearray(data)
b, e = header['fc.bias']['data_offsets']
nan_data[b:b + 8] = struct.pack('<2f', float('nan'), float('inf'))
st('st_nan_weights', header, bytes(nan_data))

# ---- journals (rcn status / rcn report) -------------------------------------
seeds = os.path.join(ROOT, '..', 'fuzz', 'seeds')
with open(os.path.join(seeds, 'journal', 'whole.jsonl')) as f:
    jl = f.read().splitlines(keepends=True)
hdr, folds = jl[0], jl[1:]
out('journal', 'torn_last_line.jsonl', hdr + ''.join(folds[:3]) + folds[3][:60])
out('journal', 'header_only.jsonl', hdr)
out('journal', 'torn_header.jsonl', hdr[:40])
out('journal', 'empty.jsonl', '')
out('journal', 'not_json.jsonl', 'this is a log file, not a journal\nsecond line\n')
out('journal', 'damaged_middle.jsonl', hdr + folds[0] + folds[1][:70] + '\n' + ''.join(folds[2:]))
out('journal', 'no_header.jsonl', ''.join(folds))
f0 = json.loads(folds[0])
out('journal', 'fold_cell_out_of_range.jsonl',
    hdr + json.dumps(dict(f0, cell=99), separators=(',', ':')) + '\n')
out('journal', 'fold_cell_string.jsonl',
    hdr + json.dumps(dict(f0, cell="0"), separators=(',', ':')) + '\n')
out('journal', 'fold_bad_status.jsonl',
    hdr + json.dumps(dict(f0, status="maybe"), separators=(',', ':')) + '\n')
h0 = json.loads(hdr)
out('journal', 'header_no_hash.jsonl', json.dumps({k: v for k, v in h0.items() if k != 'job_hash'},
                                                  separators=(',', ':')) + '\n' + ''.join(folds))
h1 = json.loads(hdr)
h1['job']['validation'] = {'kind': 'kfold', 'folds': 0}
out('journal', 'header_bad_job.jsonl', json.dumps(h1, separators=(',', ':')) + '\n' + ''.join(folds))

# ---- reports (rcn report) ---------------------------------------------------
with open(os.path.join(seeds, 'report', 'kfold.json')) as f:
    rep_text = f.read()
rep = json.loads(rep_text)
out('report', 'good_with_nulls.json', rep_text)  # diverged cells: nulls + status


def rmut(name, fn):
    r = json.loads(rep_text)
    fn(r)
    out('report', name, json.dumps(r, indent=2) + '\n')


out('report', 'empty.json', '')
out('report', 'not_json.json', '{"meta": {"format": "rcn-report",\n  "format_version": 1,,\n')
out('report', 'array.json', '[1, 2, 3]\n')
rmut('wrong_format.json', lambda r: r['meta'].__setitem__('format', 'something-else'))
rmut('version_2.json', lambda r: r['meta'].__setitem__('format_version', 2))
rmut('folds_not_array.json', lambda r: r.__setitem__('folds', 3))
rmut('val_loss_string.json', lambda r: r['folds'][2].__setitem__('val_loss', 'low'))
rmut('cell_index_out_of_range.json', lambda r: r['cells'][1].__setitem__('index', 42))
rmut('no_cells.json', lambda r: r.pop('cells'))
out('report', 'nan_literal.json', rep_text.replace('"val_loss": null', '"val_loss": NaN', 1))

# ---- resource limits (rcn search JOB) ----------------------------------------
lim = {
    'huge_batch.json': {"data": {"dir": "tests/bad/jobs/data"}, "model": "resnet18",
                        "batch_size": 10000000, "epochs": 1},
    'huge_grid_batch.json': {"data": {"dir": "tests/bad/jobs/data"}, "model": "rcn8", "epochs": 1,
                             "grid": {"batch_size": [64, 9000000]}},
    'huge_model.json': {"data": {"dir": "tests/bad/jobs/data"}, "epochs": 1, "batch_size": 1,
                        "model": huge_arch},
    'too_many_blocks.json': {"data": {"dir": "tests/bad/jobs/data"}, "epochs": 1,
                             "model": {"stages": [{"channels": 8, "blocks": 64}] * 3}},
}
for name, job in lim.items():
    out('limits', name, json.dumps(job, indent=2) + '\n')
print('cases written under', ROOT)
