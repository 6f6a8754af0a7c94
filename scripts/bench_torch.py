#!/usr/bin/python3
"""bench_torch.py - the PyTorch reference for `rcn bench`: the network of
MODEL.md (written from the spec), timed the same way as rcn bench times its
own: warm-up, then the median of many steps, for a training step (forward,
softmax cross-entropy, backward, SGD with momentum) and an inference step
(eval mode, no autograd) on synthetic 28x28 uint8 images.

Prints one JSON object (keys as rcn bench --json: train_images_per_second,
eval_images_per_second, and the *_cpu variants measured in process CPU
time, which a shared machine disturbs less than the wall clock).

usage: bench_torch.py --preset rcn8 --batch-size 64 [--threads 1]
                      [--steps 10] [--min-seconds 2] [--warmup 3]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    # stem (kernel, stride, channels, maxpool), stages [(channels, blocks)]
    "rcn8": ((3, 1, 16, False), [(16, 1), (32, 1), (64, 1)]),
    "rcn14": ((3, 1, 16, False), [(16, 2), (32, 2), (64, 2)]),
    "resnet18": ((7, 2, 64, True), [(64, 2), (128, 2), (256, 2), (512, 2)]),
}
FORWARD_FLOPS = {}


def conv(k, s, cin, cout):
    return nn.Conv2d(cin, cout, k, stride=s, padding=(k - 1) // 2, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.conv1, self.bn1 = conv(3, s, cin, cout), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv(3, 1, cout, cout), nn.BatchNorm2d(cout)
        self.proj = s != 1 or cin != cout
        if self.proj:
            self.sc_conv, self.sc_bn = conv(1, s, cin, cout), nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.sc_bn(self.sc_conv(x)) if self.proj else x))


class Net(nn.Module):
    def __init__(self, preset, dropout=0.5):
        super().__init__()
        (k, s, c, pool), stages = PRESETS[preset]
        self.stem_conv, self.stem_bn = conv(k, s, 1, c), nn.BatchNorm2d(c)
        self.pool = nn.MaxPool2d(3, 2, 1) if pool else None
        blocks = []
        for i, (co, nb) in enumerate(stages):
            for j in range(nb):
                blocks.append(Block(c, co, 2 if (i > 0 and j == 0) else 1))
                c = co
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(c, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        if self.pool is not None:
            x = self.pool(x)
        x = self.blocks(x).mean(dim=(2, 3))
        return self.fc(self.drop(x))


def time_median(fn, warmup, steps, min_seconds):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    start = time.perf_counter()
    while len(wall) < steps or (time.perf_counter() - start < min_seconds
                                and len(wall) < 100000):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="rcn8", choices=sorted(PRESETS))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-eval", action="store_true")
    a = ap.parse_args()
    if a.batch_size < 1 or a.threads < 1 or a.steps < 1:
        ap.error("--batch-size, --threads and --steps must be >= 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    b = a.batch_size
    model = Net(a.preset)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    pool = max(1024, b)
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (pool, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (pool,), generator=g)
    cursor = [0]

    def batch():
        i = cursor[0]
        idx = torch.arange(i, i + b) % pool
        cursor[0] = (i + b) % pool
        x = (images[idx].float() / 255.0 - 0.1307) / 0.3081
        return x, labels[idx]

    def train_step():
        x, y = batch()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def eval_step():
        x, _ = batch()
        with torch.inference_mode():
            model(x)

    out = {"implementation": "pytorch " + torch.__version__, "preset": a.preset,
           "batch_size": b, "threads": a.threads,
           "params": sum(p.numel() for p in model.parameters())}
    if not a.no_train:
        model.train()
        w, c = time_median(train_step, a.warmup, a.steps, a.min_seconds)
        out["train_images_per_second"] = b / w
        out["train_images_per_cpu_second"] = b / c
    if not a.no_eval:
        model.eval()
        w, c = time_median(eval_step, a.warmup, a.steps, a.min_seconds)
        out["eval_images_per_second"] = b / w
        out["eval_images_per_cpu_second"] = b / c
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
