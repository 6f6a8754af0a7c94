#!/usr/bin/env python3
# gen_fixtures.py - writes the hand-made report fixtures of tests/report/
# (grid.json, partial.json, running.journal.jsonl, test.json, sens_lr.json)
# following the contract in include/rcn/report.h. The numbers are made up
# but consistent (cell means are the means of their folds, marginals the
# means of their cells). Run from the repo root; the outputs are committed,
# so the tests never need Python.
import json, math, collections

OUT = "tests/report/"

def r6(x):
    return None if x is None else round(x, 6)

def meta(status, done, total, ranks=2):
    return collections.OrderedDict([
        ("format", "rcn-report"), ("format_version", 1), ("rcn_version", "0.1.0"),
        ("git_revision", "abc1234"), ("job_hash", "0123456789abcdef"), ("ranks", ranks),
        ("hosts", ["node1"]), ("started", "2024-05-01T10:00:00Z"),
        ("finished", "2024-05-01T10:02:03Z" if status == "complete" else None),
        ("wall_seconds", 123.0), ("fold_jobs_per_second", round(done / 123.0, 6)),
        ("status", status), ("folds_done", done), ("folds_total", total),
        ("loss_convention", "mean per-sample cross-entropy")])

def job(name, grid, validation, epochs=3, refit=False):
    return collections.OrderedDict([
        ("name", name), ("data", {"train_images": "data/mnist/train-images-idx3-ubyte.gz",
                                  "train_labels": "data/mnist/train-labels-idx1-ubyte.gz",
                                  "test_images": "data/mnist/t10k-images-idx3-ubyte.gz",
                                  "test_labels": "data/mnist/t10k-labels-idx1-ubyte.gz"}),
        ("train_limit", 600), ("model", "rcn8"), ("epochs", epochs), ("batch_size", 64),
        ("lr", 0.01), ("momentum", 0.5), ("weight_decay", 0), ("dropout", 0.5),
        ("diverge_threshold", 1000), ("seed", 1), ("threads", 1), ("grid", grid),
        ("validation", validation), ("refit", refit), ("output", "results/%s.json" % name)])

def params(bs, lr, mom=0.5, ep=3):
    return collections.OrderedDict([("batch_size", bs), ("lr", lr), ("momentum", mom), ("epochs", ep)])

def curve(base, k, ep):
    """(train_loss, train_acc, val_loss, val_acc) after epoch ep (1-based)."""
    tl = base * (0.55 ** (ep - 1)) * (1 + 0.03 * k)
    vl = base * 0.8 * (0.62 ** (ep - 1)) * (1 + 0.05 * k) + 0.05
    ta = min(0.999, 1 - 0.35 * tl)
    va = min(0.999, 1 - 0.3 * vl)
    return r6(tl), r6(ta), r6(vl), r6(va)

def fold_obj(cell, key, p, k, base, diverge=None, n_epochs=3, secs=10.0):
    """diverge: None or (epoch, batch, loss) - stops at that epoch."""
    eps = []
    last = n_epochs if diverge is None else diverge[0] - 1
    for e in range(1, last + 1):
        tl, ta, vl, va = curve(base, k, e)
        eps.append(collections.OrderedDict([
            ("epoch", e), ("train_loss", tl), ("train_accuracy", ta), ("val_loss", vl),
            ("val_accuracy", va), ("seconds", r6(secs / n_epochs)),
            ("images_per_second", r6(400 / (secs / n_epochs)))]))
    f = collections.OrderedDict([("cell", cell), ("key", key), ("params", p), ("fold", k),
                                 ("status", "ok" if diverge is None else "diverged"),
                                 ("epochs", eps)])
    if diverge is None:
        f["train_loss"], f["train_accuracy"] = eps[-1]["train_loss"], eps[-1]["train_accuracy"]
        f["val_loss"], f["val_accuracy"] = eps[-1]["val_loss"], eps[-1]["val_accuracy"]
        f["diverged"] = None
    else:
        f["train_loss"] = f["train_accuracy"] = f["val_loss"] = f["val_accuracy"] = None
        f["diverged"] = collections.OrderedDict([("epoch", diverge[0]), ("batch", diverge[1]),
                                                 ("loss", diverge[2])])
    f["seconds"] = r6(secs * (last / n_epochs) + 0.5)
    return f

def mean(xs):
    return sum(xs) / len(xs)

def std(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

def cell_obj(index, key, p, folds, K):
    done = [f for f in folds]
    ndiv = sum(1 for f in done if f["status"] == "diverged")
    status = "diverged" if ndiv else ("incomplete" if len(done) < K else "ok")
    c = collections.OrderedDict([("index", index), ("key", key), ("params", p), ("status", status),
                                 ("n_folds", K), ("n_folds_done", len(done)), ("n_diverged", ndiv)])
    if status == "ok":
        tl = [f["train_loss"] for f in done]; vl = [f["val_loss"] for f in done]
        va = [f["val_accuracy"] for f in done]; s = [f["seconds"] for f in done]
        c.update([("mean_train_loss", r6(mean(tl))), ("std_train_loss", r6(std(tl))),
                  ("mean_val_loss", r6(mean(vl))), ("std_val_loss", r6(std(vl))),
                  ("mean_val_accuracy", r6(mean(va))), ("mean_fit_time", r6(mean(s)))])
    else:
        for n in ("mean_train_loss", "std_train_loss", "mean_val_loss", "std_val_loss",
                  "mean_val_accuracy", "mean_fit_time"):
            c[n] = None
    c["rank_val_loss"] = None
    byfold = {f["fold"]: f for f in done}
    for k in range(K):
        c["split%d_val_loss" % k] = byfold[k]["val_loss"] if k in byfold else None
    return c

def rank(cells):
    ok = sorted((c for c in cells if c["status"] == "ok"), key=lambda c: (c["mean_val_loss"], c["index"]))
    for i, c in enumerate(ok):
        c["rank_val_loss"] = i + 1
    return ok[0] if ok else None

def marginal(cells, axis, values):
    rows = []
    for v in values:
        cs = [c for c in cells if c["params"][axis] == v]
        inc = [c for c in cs if c["status"] == "ok"]
        ndiv = sum(1 for c in cs if c["status"] == "diverged")
        if 2 * ndiv > len(cs):
            st = "Divergence"
        elif any(c["status"] == "incomplete" for c in cs):
            st = "incomplete"
        else:
            st = "ok"
        rows.append(collections.OrderedDict([
            ("value", v),
            ("mean_train_loss", r6(mean([c["mean_train_loss"] for c in inc])) if inc and st != "Divergence" else None),
            ("mean_val_loss", r6(mean([c["mean_val_loss"] for c in inc])) if inc and st != "Divergence" else None),
            ("n_cells", len(cs)), ("n_included", len(inc)), ("n_diverged", ndiv), ("status", st)]))
    return rows

def best_obj(b):
    if b is None:
        return None
    return collections.OrderedDict([("cell", b["index"]), ("key", b["key"]), ("params", b["params"]),
                                    ("mean_val_loss", b["mean_val_loss"]),
                                    ("mean_val_accuracy", b["mean_val_accuracy"])])

def dump(path, obj):
    with open(OUT + path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")

# ---- k-fold grid: 2 batch sizes x 3 learning rates x 3 folds ----------------
BS, LR, K = [32, 64], [0.01, 0.1, 0.3], 3
BASE = {(32, 0.01): 0.9, (32, 0.1): None, (32, 0.3): None,
        (64, 0.01): 1.2, (64, 0.1): 0.7, (64, 0.3): 2.5}
# (32, 0.1): fold 1 diverges in epoch 2 (finite loss); (32, 0.3): every fold in epoch 1
DIV = {(32, 0.1): {1: (2, 7, 1523.25)},
       (32, 0.3): {0: (1, 3, None), 1: (1, 2, 4096.5), 2: (1, 4, None)}}

def grid_folds(limit=None):
    folds, cells = [], []
    idx = 0
    for bs in BS:
        for lr in LR:
            key = "batch_size=%d,lr=%s" % (bs, repr(lr))
            p = params(bs, lr)
            fs = []
            for k in range(K):
                if limit is not None and len(folds) >= limit:
                    break
                d = DIV.get((bs, lr), {}).get(k)
                base = BASE[(bs, lr)] or 1.0
                fs.append(fold_obj(idx, key, p, k, base, d, secs=8.0 + 4 * (bs == 32)))
                folds.append(fs[-1])
            cells.append(cell_obj(idx, key, p, fs, K))
            idx += 1
    return folds, cells

grid = collections.OrderedDict([("batch_size", {"from": 32, "to": 64, "step": 32, "values": BS}),
                                ("lr", LR)])
valid = {"kind": "kfold", "folds": K}

folds, cells = grid_folds()
b = rank(cells)
rep = collections.OrderedDict([
    ("meta", meta("complete", len(folds), 18)), ("job", job("grid-small", grid, valid, refit=True)),
    ("folds", folds), ("cells", cells),
    ("marginals", collections.OrderedDict([("batch_size", marginal(cells, "batch_size", BS)),
                                           ("lr", marginal(cells, "lr", LR))])),
    ("best", best_obj(b)),
    ("refit", collections.OrderedDict([
        ("params", b["params"]),
        ("epochs", [collections.OrderedDict([("epoch", e), ("train_loss", curve(0.7, 0, e)[0]),
                                             ("train_accuracy", curve(0.7, 0, e)[1]),
                                             ("val_loss", None), ("val_accuracy", None),
                                             ("seconds", 3.1), ("images_per_second", 193.5)])
                    for e in (1, 2, 3)]),
        ("test_loss", 0.251234), ("test_accuracy", 0.9312),
        ("model", "results/grid-small.safetensors"), ("seconds", 9.8)]))])
dump("grid.json", rep)

# ---- the same search, interrupted after 11 of 18 folds -----------------------
pf, pc = grid_folds(limit=11)
b = rank(pc)
prep = collections.OrderedDict([
    ("meta", meta("interrupted", len(pf), 18)), ("job", job("grid-small", grid, valid, refit=True)),
    ("folds", pf), ("cells", pc),
    ("marginals", collections.OrderedDict([("batch_size", marginal(pc, "batch_size", BS)),
                                           ("lr", marginal(pc, "lr", LR))])),
    ("best", best_obj(b)), ("refit", None)])
dump("partial.json", prep)

# ---- its journal, still being written (torn last line) -----------------------
with open(OUT + "running.journal.jsonl", "w") as f:
    hdr = collections.OrderedDict([("type", "header"), ("format", "rcn-journal"),
                                   ("job_hash", "0123456789abcdef"),
                                   ("job", job("grid-small", grid, valid, refit=True)),
                                   ("created", "2024-05-01T10:00:00Z")])
    f.write(json.dumps(hdr, separators=(",", ":")) + "\n")
    for x in pf:
        line = collections.OrderedDict([("type", "fold")]); line.update(x)
        f.write(json.dumps(line, separators=(",", ":")) + "\n")
    f.write('{"type":"fold","cell":4,"key":"batch_size=64,lr=0.1","par')

# ---- {"kind": "test"}: one cell, 3 epochs (Table 1) --------------------------
tf = fold_obj(0, "default", params(64, 0.01), 0, 0.8, secs=30.0)
tc = [cell_obj(0, "default", params(64, 0.01), [tf], 1)]
b = rank(tc)
dump("test.json", collections.OrderedDict([
    ("meta", meta("complete", 1, 1, ranks=1)), ("job", job("prediction", {}, {"kind": "test"})),
    ("folds", [tf]), ("cells", tc), ("marginals", collections.OrderedDict()),
    ("best", best_obj(b)), ("refit", None)]))

# ---- sensitivity sweep of the learning rate, {"kind": "test"} (Figs 6-19) ----
SL = [0.005, 0.01, 0.1, 0.3]
sf, sc = [], []
for i, lr in enumerate(SL):
    key = "lr=%s" % repr(lr)
    d = (2, 11, None) if lr == 0.3 else None
    sf.append(fold_obj(i, key, params(64, lr), 0, [1.3, 0.9, 0.6, 1.0][i], d, secs=30.0))
    sc.append(cell_obj(i, key, params(64, lr), [sf[-1]], 1))
b = rank(sc)
dump("sens_lr.json", collections.OrderedDict([
    ("meta", meta("complete", 4, 4)), ("job", job("sens-lr", {"lr": SL}, {"kind": "test"})),
    ("folds", sf), ("cells", sc),
    ("marginals", collections.OrderedDict([("lr", marginal(sc, "lr", SL))])),
    ("best", best_obj(b)), ("refit", None)]))
