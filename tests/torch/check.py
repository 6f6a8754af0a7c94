"""check.py - compares rcn's tensors with the independent PyTorch model of
python/rcn_torch.py (the module users import).

  check.py params
      parameter counts of the presets against MODEL.md's table.
  check.py perturb IN OUT [--seed S]
      copies model IN to OUT with non-trivial BN statistics, gamma, beta and
      FC bias (so eval mode and the BN backward are really exercised); OUT is
      written by Python, so rcn's reader is also tested on a foreign writer.
  check.py dump --model M --dump D --images IDX --labels IDX
      recomputes what `rcn dump` wrote into D (its __metadata__ says mode,
      batch, offset, lr, momentum, weight decay, steps) and compares input,
      logits, loss, and for every SGD step (each started from rcn's own
      state after the previous one) every gradient, every tensor after the
      step, the momentum buffers and the change (update = after - before).
  check.py evalset --model M --images IDX --labels IDX [--expect NAME L A]...
      eval-mode loss/accuracy over a whole IDX set against rcn's (each
      --expect: who computed them, loss, accuracy).

The reference runs in float64; rcn runs in float32. A tensor passes when
    max |rcn - ref| <= RTOL * max(|ref|) + ATOL + ties
i.e. the error is judged relative to the tensor's scale (for update.<name>,
ATOL also allows the float32 rounding of the weight itself).

`ties` covers the one legitimate discontinuity: a ReLU input so close to 0
that float32 rounding decides its sign (rcn and float64 then route that
element's gradient differently). Each ReLU input within TIE_FACTOR times
its float32 error (as PyTorch's own float32 run made it, but at least that
tensor's RMS error) of 0 is a candidate; the step is recomputed with that one decision flipped,
and the change it makes to each tensor is added to `ties`. Usually there is
no candidate and ties = 0; lines that need the allowance are marked (tie).

Each line shows scale (max |ref|), abs and rel error of rcn, the rel error
of PyTorch's float32 run for comparison, and ties relative to scale. Exit
status 1 on any mismatch.
"""
import argparse
import functools
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import rcn_torch as rt  # noqa: E402

RTOL = 1e-4
ATOL = 1e-7
TIE_FACTOR = 4
MAX_TIES = 32  # flip candidates examined per step (the closest to 0 first)


class Report:
    def __init__(self, title):
        self.title = title
        self.fails = 0
        self.ties = 0
        self.worst = {}  # group (grad, after, ..., or the tensor) -> (rel err, name)
        print(f"== {title}")
        print(f"   {'tensor':<42} {'shape':<16} {'scale':>9} {'abs err':>9} {'rel err':>9} "
              f"{'torch32':>9} {'ties':>9}")

    def compare(self, name, got, ref, ref32=None, atol=ATOL, tie=0.0):
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
        finite = bool(torch.isfinite(got).all())
        strict = err <= RTOL * scale + atol and finite
        ok = finite and err <= RTOL * scale + atol + tie
        self.ties += ok and not strict
        parts = name.split(".")
        group = parts[1] if parts[0].startswith("step") else parts[0] if len(parts) > 1 \
            else name
        if rel >= self.worst.get(group, (-1.0, ""))[0]:
            self.worst[group] = (rel, name)
        shape = "x".join(str(s) for s in got.shape) or "scalar"
        print(f"   {name:<42} {shape:<16} {scale:9.3e} {err:9.2e} {rel:9.2e} {e32:>9} "
              f"{(tie / scale if scale > 0 else tie):9.2e}"
              f"{'' if strict else '  (tie)' if ok else '  FAIL'}")
        self.fails += 0 if ok else 1

    def done(self):
        print(f"   -> {self.title}: {'OK' if not self.fails else f'{self.fails} FAILED'} "
              f"(tolerance: rtol {RTOL:g} of the tensor's max |value| + atol {ATOL:g} + ties)")
        if self.ties:
            print(f"      {self.ties} tensors passed only thanks to a float32 ReLU tie")
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


@functools.lru_cache(maxsize=4)
def read_idx(path):
    return rt.read_idx(path)


def load_batch(args, offset, n, dtype):
    images = read_idx(args.images)[offset:offset + n]
    labels = read_idx(args.labels)[offset:offset + n].to(torch.long)
    return rt.normalise(images, dtype), labels


def step_prefix(k, steps, kind):
    """Tensor-name prefix of step k's `kind` (grad, after, momentum, update)
    in a dump of `steps` steps (see rcn dump --help)."""
    if kind == "grad":
        return "grad." if k == 1 else f"step{k}.grad."
    return f"{kind}." if k == steps else f"step{k}.{kind}."


def recorder(store):
    """A ReLU hook that keeps each ReLU's input."""
    def hook(x, tag):
        store[tag] = x.detach().clone()
        return F.relu(x)
    return hook


def flipper(tag0, index):
    """A ReLU hook that flips the decision for one element of one ReLU."""
    def hook(x, tag):
        if tag != tag0:
            return F.relu(x)
        mask = x > 0
        mask[index] = ~mask[index]
        return x * mask.to(x.dtype)
    return hook


def run_eval(args, meta, dtype):
    model, _, _ = rt.load_model(args.model, dtype)
    x, y = load_batch(args, int(meta["offset"]), int(meta["batch"]), dtype)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return {"input": x, "logits": logits, "loss": F.cross_entropy(logits, y).reshape(1)}


def run_step(args, meta, dtype, got, k, hook=None):
    """SGD step k as rcn dump did it, in `dtype`, from the model file (k = 1)
    or from rcn's own dumped state after step k-1 (weights, running stats,
    momentum), so every step is checked on its own and float32 rounding
    cannot compound across steps. Returns tensors named like the dump's."""
    steps = int(meta["steps"])
    lr, mom, wd = float(meta["lr"]), float(meta["momentum"]), float(meta["weight_decay"])
    model, _, _ = rt.load_model(args.model, dtype)
    x, y = load_batch(args, int(meta["offset"]), int(meta["batch"]), dtype)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom, weight_decay=wd,
                          dampening=0, nesterov=False)
    params = dict(model.named_parameters())
    if k > 1:
        pre = step_prefix(k - 1, steps, "after")
        mpre = step_prefix(k - 1, steps, "momentum")
        with torch.no_grad():
            for name, t in model.tensors().items():
                t.copy_(got[pre + name].to(dtype))
        if mom != 0:
            for name, p in params.items():
                opt.state[p]["momentum_buffer"] = got[mpre + name].to(dtype).clone()
    before = {name: p.detach().clone() for name, p in params.items()}
    out = {}
    rt.RELU_HOOK = hook
    try:
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
    finally:
        rt.RELU_HOOK = None
    if k == 1:
        out["input"] = x
        out["logits"], out["loss"] = logits.detach(), loss.detach().reshape(1)
    for name, p in params.items():
        out[step_prefix(k, steps, "grad") + name] = p.grad.detach().clone()
    opt.step()
    for name, t in model.tensors().items():
        out[step_prefix(k, steps, "after") + name] = t.detach().clone()
    for name, p in params.items():
        buf = opt.state[p].get("momentum_buffer") if mom != 0 else None
        if buf is None:  # momentum 0: the step used g + wd*w
            buf = p.grad + wd * before[name]
        out[step_prefix(k, steps, "momentum") + name] = buf.detach().clone()
    return out


def tie_allowance(args, meta, got, k, ref, ties):
    """Finds ReLU inputs of step k within float32 reach of 0, flips each in
    turn and adds the change it makes to every tensor to ties[name]."""
    rec64, rec32 = {}, {}
    run_step(args, meta, torch.float64, got, k, recorder(rec64))
    run_step(args, meta, torch.float32, got, k, recorder(rec32))
    cands = []
    for tag, v in rec64.items():
        # float32 error of each element, as PyTorch's float32 run made it,
        # but at least the tensor's RMS error (rcn's rounding differs)
        e = (rec32[tag].to(torch.float64) - v).abs()
        reach = TIE_FACTOR * torch.clamp(e, min=e.pow(2).mean().sqrt().item())
        near = (v.abs() <= reach).nonzero()
        for idx in near.tolist():
            idx = tuple(idx)
            cands.append((abs(v[idx].item()) / max(reach[idx].item(), 1e-300), tag, idx))
    cands.sort()
    if cands:
        print(f"   step {k}: {len(cands)} ReLU inputs within {TIE_FACTOR}x float32 error of 0"
              f" (examining {min(len(cands), MAX_TIES)}): "
              + ", ".join(f"{t}{list(i)}" for _, t, i in cands[:4])
              + (" ..." if len(cands) > 4 else ""))
    for _, tag, idx in cands[:MAX_TIES]:
        variant = run_step(args, meta, torch.float64, got, k, flipper(tag, idx))
        for name, t in variant.items():
            if name in ("input", "logits", "loss"):
                continue  # the forward is continuous: a flip moves it by |v|
            ties[name] = ties.get(name, 0.0) + (t - ref[name]).abs().max().item()


def add_updates(tensors, initial, got, steps):
    """update.<name> = state after a step - state before it (rcn's): the
    SGD step itself, judged against its own scale (not drowned by the
    weights')."""
    for k in range(1, steps + 1):
        prev = initial if k == 1 else \
            {n: got[step_prefix(k - 1, steps, "after") + n] for n in initial}
        for name, t0 in prev.items():
            a = step_prefix(k, steps, "after") + name
            if a in tensors:
                tensors[step_prefix(k, steps, "update") + name] = \
                    tensors[a].to(torch.float64) - t0.to(torch.float64)


def cmd_dump(args):
    got, meta = rt.read_safetensors(args.dump)
    title = args.title or f"{args.dump} ({meta['mode']})"
    ties = {}
    if meta["mode"] == "train":
        steps = int(meta["steps"])
        ref, ref32 = {}, {}
        for k in range(1, steps + 1):
            ref.update(run_step(args, meta, torch.float64, got, k))
            ref32.update(run_step(args, meta, torch.float32, got, k))
            tie_allowance(args, meta, got, k, ref, ties)
        initial, _ = rt.read_safetensors(args.model)
        for t in (ref, ref32, got):  # got last: the others use its states
            add_updates(t, initial, got, steps)
        for name in list(ties):
            if ".after." in "." + name:
                ties[name.replace("after.", "update.", 1)] = ties[name]
    else:
        ref = run_eval(args, meta, torch.float64)
        ref32 = run_eval(args, meta, torch.float32)
    rep = Report(title)
    missing = sorted(set(ref) - set(got))
    extra = sorted(set(got) - set(ref))
    if missing or extra:
        print(f"   tensors missing from the dump: {missing}; unexpected: {extra}  FAIL")
        rep.fails += 1
    for name in ref:
        if name in got:
            atol = ATOL
            if ".update." in "." + name:
                # after and before are float32: each carries half an ulp of
                # the weight's own size, whatever the size of the update.
                after = ref[name.replace("update.", "after.", 1)]
                atol += 2 * 2.0 ** -24 * after.abs().max().item()
            rep.compare(name, got[name], ref[name], ref32[name], atol, ties.get(name, 0.0))
    return 1 if rep.done() else 0


def cmd_evalset(args):
    """Eval-mode loss/accuracy of the whole set, in float32 (per-sample
    losses summed in float64), against each --expect NAME LOSS ACCURACY."""
    model, _, _ = rt.load_model(args.model, torch.float32)
    model.eval()
    images = read_idx(args.images)
    labels = read_idx(args.labels).to(torch.long)
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(labels), 500):
            logits = model(rt.normalise(images[i:i + 500], torch.float32))
            total += F.cross_entropy(logits.double(), labels[i:i + 500], reduction="sum").item()
            correct += (logits.argmax(1) == labels[i:i + 500]).sum().item()
    n = len(labels)
    loss, acc = total / n, correct / n
    print(f"== eval of {args.model} on {n} samples: torch loss {loss:.8f}, "
          f"accuracy {acc:.6f} ({correct}/{n})")
    bad = 0
    for name, rl, ra in args.expect:
        rl, ra = float(rl), float(ra)
        dl = abs(loss - rl)
        ok_loss = dl <= RTOL * abs(loss) + ATOL
        ok_acc = abs(acc - ra) <= 0.5 / n
        print(f"   {name}: loss {rl:.8f} (rel err {dl / max(loss, 1e-30):.2e})"
              f"{'' if ok_loss else '  FAIL'}, accuracy {ra:.6f}{'' if ok_acc else '  FAIL'}")
        bad += not (ok_loss and ok_acc)
    return 1 if bad else 0


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
    p.add_argument("--expect", nargs=3, action="append", default=[],
                   metavar=("NAME", "LOSS", "ACCURACY"))
    args = ap.parse_args()
    return {"params": cmd_params, "perturb": cmd_perturb, "dump": cmd_dump,
            "evalset": cmd_evalset}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
