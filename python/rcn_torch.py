"""rcn_torch.py - rcn's network in PyTorch: the model of docs/MODEL.md
(written from the spec, not from rcn's C code), the loading of the
.safetensors models rcn writes (`rcn train --save`, a search's refit), and
MNIST's IDX files (raw or gzip). Needs only torch (Debian: python3-torch).
The same module is the reference of rcn's PyTorch cross-check
(tests/torch/check.py).

    import torch, rcn_torch
    model, meta, arch = rcn_torch.load_model("results/table2-mini.refit.safetensors")
    model.eval()
    x = rcn_torch.normalise(rcn_torch.read_idx("data/mnist/t10k-images-idx3-ubyte"))
    predicted = model(x[:100]).argmax(1)

load_model builds the network of the file's metadata.arch in float64 by
default (dtype=torch.float32 for speed) and checks every tensor's name and
shape. State-dict names follow MODEL.md "Saved models":
  stem.conv.weight, stem.bn.{weight,bias,running_mean,running_var},
  stages.{i}.{j}.conv1/bn1/conv2/bn2, stages.{i}.{j}.shortcut.conv/bn,
  fc.weight, fc.bias
(BatchNorm's num_batches_tracked is PyTorch bookkeeping; it is not saved.)
"""
import gzip
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081
PRESETS = {
    "rcn8": {"stem": {"kernel": 3, "stride": 1, "channels": 16, "maxpool": False},
             "stages": [{"channels": 16, "blocks": 1}, {"channels": 32, "blocks": 1},
                        {"channels": 64, "blocks": 1}], "dropout": 0.5},
    "rcn14": {"stem": {"kernel": 3, "stride": 1, "channels": 16, "maxpool": False},
              "stages": [{"channels": 16, "blocks": 2}, {"channels": 32, "blocks": 2},
                         {"channels": 64, "blocks": 2}], "dropout": 0.5},
    "resnet18": {"stem": {"kernel": 7, "stride": 2, "channels": 64, "maxpool": True},
                 "stages": [{"channels": 64, "blocks": 2}, {"channels": 128, "blocks": 2},
                            {"channels": 256, "blocks": 2}, {"channels": 512, "blocks": 2}],
                 "dropout": 0.5},
}


# ---- the network ----------------------------------------------------------

def conv(k, s, cin, cout):
    """k x k convolution, stride s, zero padding (k-1)/2, no bias."""
    return nn.Conv2d(cin, cout, k, stride=s, padding=(k - 1) // 2, bias=False)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


# Every ReLU goes through relu(x, tag) so a test can watch its inputs or
# flip single decisions (tests/torch/check.py). Tags: "stem",
# "stages.i.j.relu1" (inside block), "stages.i.j.out" (after the join).
RELU_HOOK = None


def relu(x, tag):
    return F.relu(x) if RELU_HOOK is None else RELU_HOOK(x, tag)


class Stem(nn.Module):
    def __init__(self, k, s, c, maxpool):
        super().__init__()
        self.tag = "stem"
        self.conv = conv(k, s, 1, c)
        self.bn = bn(c)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1) if maxpool else None

    def forward(self, x):
        x = relu(self.bn(self.conv(x)), self.tag)
        return self.pool(x) if self.pool is not None else x


class Shortcut(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.conv = conv(1, s, cin, cout)
        self.bn = bn(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, s, tag):
        super().__init__()
        self.tag = tag
        self.conv1 = conv(3, s, cin, cout)
        self.bn1 = bn(cout)
        self.conv2 = conv(3, 1, cout, cout)
        self.bn2 = bn(cout)
        self.shortcut = Shortcut(cin, cout, s) if (s != 1 or cin != cout) else None

    def forward(self, x):
        y = relu(self.bn1(self.conv1(x)), self.tag + ".relu1")
        y = self.bn2(self.conv2(y))
        sc = self.shortcut(x) if self.shortcut is not None else x
        return relu(y + sc, self.tag + ".out")


class RCNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        st = arch["stem"]
        self.stem = Stem(st["kernel"], st["stride"], st["channels"], st.get("maxpool", False))
        c = st["channels"]
        stages = []
        for i, sp in enumerate(arch["stages"]):
            blocks = []
            for j in range(sp.get("blocks", 1)):
                s = 2 if (i > 0 and j == 0) else 1
                blocks.append(Block(c, sp["channels"], s, f"stages.{i}.{j}"))
                c = sp["channels"]
            stages.append(nn.ModuleList(blocks))
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(arch.get("dropout", 0.5))
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            for block in stage:
                x = block(x)
        x = x.mean(dim=(2, 3))
        return self.fc(self.dropout(x))

    def tensors(self):
        """state_dict without num_batches_tracked: MODEL.md's tensor table."""
        return {k: v for k, v in self.state_dict().items()
                if not k.endswith("num_batches_tracked")}


def resolve_arch(arch):
    """The arch JSON of a model's metadata -> a full spec dict."""
    if isinstance(arch, str):
        return dict(PRESETS[arch])
    if "preset" in arch:
        spec = dict(PRESETS[arch["preset"]])
        if "dropout" in arch:
            spec["dropout"] = arch["dropout"]
        return spec
    spec = {"stem": {"kernel": 3, "stride": 1, "channels": 16, "maxpool": False},
            "dropout": 0.5}
    spec.update({k: v for k, v in arch.items() if k != "name"})
    return spec


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def load_model(path, dtype=torch.float64, dropout=0.0):
    """Builds the model of a safetensors file's metadata.arch and loads every
    tensor, checking the file's names and shapes match exactly."""
    tensors, meta = read_safetensors(path)
    if "arch" not in meta:
        raise ValueError(f"{path}: no arch in __metadata__")
    arch = resolve_arch(json.loads(meta["arch"]))
    arch["dropout"] = dropout
    model = RCNet(arch).to(dtype)
    want = model.tensors()
    missing = sorted(set(want) - set(tensors))
    unknown = sorted(set(tensors) - set(want))
    if missing or unknown:
        raise ValueError(f"{path}: missing tensors {missing}, unknown tensors {unknown}")
    for k, v in want.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ValueError(f"{path}: {k}: shape {tuple(tensors[k].shape)}, "
                             f"model needs {tuple(v.shape)}")
    with torch.no_grad():
        for k, v in want.items():
            v.copy_(tensors[k].to(dtype))
    return model, meta, arch


# ---- safetensors ------------------------------------------------------------

def read_safetensors(path):
    """-> ({name: float32 tensor}, metadata dict). F32 only; checks that the
    offsets tile the data section exactly."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: truncated ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    out, spans = {}, []
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: {name}: dtype {e['dtype']}")
        b, en = e["data_offsets"]
        numel = 1
        for d in e["shape"]:
            numel *= d
        if en - b != 4 * numel or en > len(data):
            raise ValueError(f"{path}: {name}: bad data_offsets {e['data_offsets']}")
        spans.append((b, en, name))
        t = torch.frombuffer(bytearray(data[b:en]), dtype=torch.float32) if numel else \
            torch.zeros(0, dtype=torch.float32)
        out[name] = t.reshape(e["shape"]).clone()
    at = 0
    for b, en, name in sorted(spans):
        if b != at:
            raise ValueError(f"{path}: {name}: data not contiguous at {at}")
        at = en
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} trailing data bytes")
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: tensor} (stored as little-endian float32)."""
    header, chunks, at = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


# ---- IDX ----------------------------------------------------------------------

def read_idx(path):
    """-> uint8 tensor of the file's dims (raw or gzip, by content)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    if blob[0] != 0 or blob[1] != 0 or blob[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    nd = blob[3]
    dims = struct.unpack(">" + "I" * nd, blob[4:4 + 4 * nd])
    numel = 1
    for d in dims:
        numel *= d
    body = blob[4 + 4 * nd:]
    if len(body) != numel:
        raise ValueError(f"{path}: {len(body)} data bytes, dims {dims} need {numel}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims).clone()


def normalise(images_u8, dtype=torch.float64):
    """(n, 28, 28) uint8 -> (n, 1, 28, 28): (x/255 - 0.1307) / 0.3081."""
    x = images_u8.to(dtype) / 255.0
    return ((x - PIXEL_MEAN) / PIXEL_STD).unsqueeze(1)
