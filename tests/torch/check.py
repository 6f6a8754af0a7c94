"""check.py - compares rcn's tensors with the independent PyTorch model of
rcn_torch.py.

  check.py params
      parameter counts of the presets against MODEL.md's table.
  check.py perturb IN OUT [--seed S]
      copies model IN to OUT with non-trivial BN statistics, gamma, beta and
      FC bias (so eval mode and the BN backward are really exercised); OUT is
      written by Python, so rcn's reader is also tested on a foreign writer.
  check.py dump --model M --dump D --images IDX --labels IDX
      recomputes what `rcn dump` wrote into D (its __metadata__ says mode,
      batch, offset, lr, momentum, weight decay, steps) and compares input,
      logits, loss, every gradient, every tensor after the SGD steps and
      its change (update.<name> = after - before).
  check.py evalset --model M --images IDX --labels IDX --loss L --accuracy A
      eval-mode loss/accuracy over a whole IDX set against rcn eval's.

The reference runs in float64; rcn runs in float32. A tensor passes when
    max |rcn - ref| <= RTOL * max(|ref|) + ATOL
i.e. the error is judged relative to the tensor's scale (for update.<name>,
ATOL also allows the float32 rounding of the weight itself). For context each
line also shows the same error of PyTorch's own float32 run. Exit status 1
on any mismatch.
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

import rcn_torch as rt

RTOL = 1e-4
ATOL = 1e-7


class Report:
    def __init__(self, title):
        self.title = title
        self.fails = 0
        self.worst = {}  # group (grad, after, update, or the tensor) -> (rel err, name)
        print(f"== {title}")
        print(f"   {'tensor':<42} {'shape':<16} {'scale':>9} {'abs err':>9} {'rel err':>9} "
              f"{'torch32':>9}")

    def compare(self, name, got, ref, ref32=None, atol=ATOL):
        got = got.to(torch.float64)
        ref = ref.detach().to(torch.float64)
        if tuple(got.shape) != tuple(ref.shape):
            print(f"   {name:<42} shape {tuple(got.shape)} != reference {tuple(ref.shape)}  FAIL")
            self.fails += 1
            return
        scale = ref.abs().max().item() if ref.numel() else 0.0
        err = (got - ref).abs().max().item() if ref.numel() else 0.0
        rel = err / scale if scale > 0 else err
        e32 = ""
        if ref32 is not None and ref.numel():
            d = (ref32.detach().to(torch.float64) - ref).abs().max().item()
            e32 = f"{(d / scale if scale > 0 else d):9.2e}"
        ok = err <= RTOL * scale + atol and bool(torch.isfinite(got).all())
        group = name.split(".")[0] if "." in name else name
        if rel >= self.worst.get(group, (-1.0, ""))[0]:
            self.worst[group] = (rel, name)
        shape = "x".join(str(s) for s in got.shape) or "scalar"
        print(f"   {name:<42} {shape:<16} {scale:9.3e} {err:9.2e} {rel:9.2e} {e32:>9}"
              f"{'' if ok else '  FAIL'}")
        self.fails += 0 if ok else 1

    def done(self):
        print(f"   -> {self.title}: {'OK' if not self.fails else f'{self.fails} FAILED'} "
              f"(tolerance: rtol {RTOL:g} of the tensor's max |value| + atol {ATOL:g})")
        for group, (rel, name) in self.worst.items():
            print(f"      max rel err {group + ':':<8} {rel:9.2e}  ({name})")
        return self.fails


def cmd_params(_args):
    want = {"rcn8": 77754, "rcn14": 174970, "resnet18": 11175370}
    bad = 0
    for name, n in want.items():
        got = rt.param_count(rt.RCNet(rt.PRESETS[name]))
        print(f"   {name}: {got} parameters (MODEL.md: {n}){'' if got == n else '  FAIL'}")
        bad += got != n
    return 1 if bad else 0


def cmd_perturb(args):
    tensors, meta = rt.read_safetensors(args.input)
    g = torch.Generator().manual_seed(args.seed)
    out = {}
    for k, v in tensors.items():
        n = v.numel()
        if k.endswith("running_mean"):
            v = 0.2 * torch.randn(n, generator=g, dtype=torch.float64)
        elif k.endswith("running_var"):
            v = 0.5 + torch.rand(n, generator=g, dtype=torch.float64)
        elif k.endswith("bn.weight") or k.endswith("bn1.weight") or k.endswith("bn2.weight"):
            v = 0.8 + 0.4 * torch.rand(n, generator=g, dtype=torch.float64)
        elif k.endswith("bn.bias") or k.endswith("bn1.bias") or k.endswith("bn2.bias") \
                or k == "fc.bias":
            v = 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
        out[k] = v.reshape(tensors[k].shape).to(torch.float32)
    meta = dict(meta)
    meta["perturbed_by"] = "tests/torch/check.py"
    rt.write_safetensors(args.output, out, meta)
    return 0


def load_batch(args, offset, n, dtype):
    images = rt.read_idx(args.images)[offset:offset + n]
    labels = rt.read_idx(args.labels)[offset:offset + n].to(torch.long)
    return rt.normalise(images, dtype), labels


def run_reference(args, meta, dtype):
    """Does what rcn dump did, in `dtype`. Returns a dict of tensors."""
    model, _, _ = rt.load_model(args.model, dtype)
    n, offset = int(meta["batch"]), int(meta["offset"])
    x, y = load_batch(args, offset, n, dtype)
    out = {"input": x}
    train = meta["mode"] == "train"
    model.train(train)
    if not train:
        with torch.no_grad():
            logits = model(x)
            out["logits"], out["loss"] = logits, F.cross_entropy(logits, y).reshape(1)
        return out
    lr, mom, wd = float(meta["lr"]), float(meta["momentum"]), float(meta["weight_decay"])
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom, weight_decay=wd,
                          dampening=0, nesterov=False)
    for step in range(int(meta["steps"])):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            out["logits"], out["loss"] = logits.detach(), loss.detach().reshape(1)
            for name, p in model.named_parameters():
                out["grad." + name] = p.grad.detach().clone()
        opt.step()
    for name, t in model.tensors().items():
        out["after." + name] = t.detach().clone()
    return out


def add_updates(tensors, initial):
    """update.<name> = after.<name> - initial value: the SGD step itself,
    judged against its own scale (not drowned by the weights')."""
    for name, t0 in initial.items():
        if "after." + name in tensors:
            tensors["update." + name] = tensors["after." + name].to(torch.float64) - \
                t0.to(torch.float64)


def cmd_dump(args):
    got, meta = rt.read_safetensors(args.dump)
    ref = run_reference(args, meta, torch.float64)
    ref32 = run_reference(args, meta, torch.float32)
    if meta["mode"] == "train":
        initial, _ = rt.read_safetensors(args.model)
        for t in (got, ref, ref32):
            add_updates(t, initial)
    title = args.title or f"{args.dump} ({meta['mode']})"
    rep = Report(title)
    missing = sorted(set(ref) - set(got))
    extra = sorted(set(got) - set(ref))
    if missing or extra:
        print(f"   tensors missing from the dump: {missing}; unexpected: {extra}  FAIL")
        rep.fails += 1
    for name in ref:
        if name in got:
            atol = ATOL
            if name.startswith("update."):
                # after and before are float32: each carries half an ulp of
                # the weight's own size, whatever the size of the update.
                after = ref["after." + name[len("update."):]]
                atol += 2 * 2.0 ** -24 * after.abs().max().item()
            rep.compare(name, got[name], ref[name], ref32[name], atol)
    return 1 if rep.done() else 0


def cmd_evalset(args):
    model, _, _ = rt.load_model(args.model, torch.float64)
    model.eval()
    images = rt.read_idx(args.images)
    labels = rt.read_idx(args.labels).to(torch.long)
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            logits = model(rt.normalise(images[i:i + 1000]))
            total += F.cross_entropy(logits, labels[i:i + 1000], reduction="sum").item()
            correct += (logits.argmax(1) == labels[i:i + 1000]).sum().item()
    n = len(labels)
    loss, acc = total / n, correct / n
    dl = abs(loss - args.loss)
    ok_loss = dl <= RTOL * abs(loss) + ATOL
    ok_acc = abs(acc - args.accuracy) <= 0.5 / n
    print(f"== eval of {args.model} on {n} samples")
    print(f"   loss: rcn {args.loss:.8f}, torch {loss:.8f}, rel err {dl / max(loss, 1e-30):.2e}"
          f"{'' if ok_loss else '  FAIL'}")
    print(f"   accuracy: rcn {args.accuracy:.6f}, torch {acc:.6f} ({correct}/{n})"
          f"{'' if ok_acc else '  FAIL'}")
    return 0 if ok_loss and ok_acc else 1


def main():
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("params")
    p = sub.add_parser("perturb")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("dump")
    for a in ("--model", "--dump", "--images", "--labels"):
        p.add_argument(a, required=True)
    p.add_argument("--title")
    p = sub.add_parser("evalset")
    for a in ("--model", "--images", "--labels"):
        p.add_argument(a, required=True)
    p.add_argument("--loss", type=float, required=True)
    p.add_argument("--accuracy", type=float, required=True)
    args = ap.parse_args()
    return {"params": cmd_params, "perturb": cmd_perturb, "dump": cmd_dump,
            "evalset": cmd_evalset}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
