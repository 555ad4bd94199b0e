#!/usr/bin/python3
"""Optional: the same training-step and inference workloads as `lethe bench`, in PyTorch, side by
side. Runs only where /usr/bin/python3 has torch (Debian's python3-torch); never a dependency.

Usage: bench/compare_pytorch.py [--lethe build/cpu-release/lethe] [--threads 2] [--steps 5]
                                [--rounds 1]
Prints a markdown table: model, batch, PyTorch and Lethe train step (median s), inference img/s,
peak RSS, and the ratios; writes the raw numbers to bench_compare.json. With --rounds R each
workload runs R times on each side, interleaved (PyTorch, Lethe, Lethe, PyTorch, ...), so that a
slow spell of a shared machine hits both; the table gives the median over rounds of each
round's median step, and the per-round train ratios. Lethe's PGD throughput (AMUN's search) is
measured once, on resnet18, in the last round.

The models are built here to match Lethe's (torchvision ResNet with the CIFAR stem: 3x3 stride-1
conv, no max-pool; a ViT with patch 4, dim 192, depth 6, heads 3, mlp ratio 4, class token) so
the parameter counts agree; the script prints both counts.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("compare_pytorch: torch is not installed for this python (apt-get install python3-torch)")
    sys.exit(0)

WORKLOADS = [("resnet18", 64), ("resnet50", 32), ("vit-small", 64)]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != c:
            self.down = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c * 4)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != c * 4:
            self.down = nn.Sequential(nn.Conv2d(cin, c * 4, 1, stride, bias=False), nn.BatchNorm2d(c * 4))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.down(x) if self.down is not None else x))


class ResNetCifar(nn.Module):
    def __init__(self, block, layers, classes=10, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        cin, stages = width, []
        for i, n in enumerate(layers):
            c = width * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, c, 2 if (j == 0 and i > 0) else 1))
                cin = c * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class ViT(nn.Module):
    def __init__(self, image=32, patch=4, dim=192, depth=6, heads=3, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def build(name):
    if name == "resnet18":
        return ResNetCifar(BasicBlock, [2, 2, 2, 2])
    if name == "resnet50":
        return ResNetCifar(Bottleneck, [3, 4, 6, 3])
    return ViT()


def bench_torch(name, batch, steps, warmup):
    torch.manual_seed(0)
    model = build(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    loss_fn = nn.CrossEntropyLoss()

    def train():
        model.train()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x)

    def measure(fn):
        for _ in range(warmup):
            fn()
        ts = []
        for _ in range(steps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts), min(ts)

    t, t_min = measure(train)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    i, _ = measure(infer)
    return {"train_s": t, "train_min_s": t_min, "infer_img_s": batch / i, "peak_rss": rss,
            "params": sum(p.numel() for p in model.parameters())}


def bench_torch_subprocess(name, batch, steps, warmup, threads):
    # Its own process per workload, so the peak RSS (ru_maxrss) is this workload's alone.
    out = subprocess.run([sys.executable, __file__, "--worker", f"{name}:{batch}", "--steps", str(steps),
                          "--warmup", str(warmup), "--threads", str(threads)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_lethe(lethe, name, batch, steps, warmup, threads, pgd_steps=0):
    out = subprocess.run([lethe, "bench", "--model", name, "--batch", str(batch), "--steps", str(steps),
                          "--warmup", str(warmup), "--threads", str(threads), "--pgd-steps", str(pgd_steps)],
                         capture_output=True, text=True, check=True).stdout
    j = json.loads(out)
    return {"train_s": j["train_step_s"]["median"], "train_min_s": j["train_step_s"]["min"],
            "infer_img_s": j["infer_images_per_s"], "peak_rss": j["peak_rss_bytes_train"], "json": j}


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lethe", default="build/cpu-release/lethe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated subset of resnet18,resnet50,vit-small")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)  # NAME:BATCH, internal
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.worker:
        name, batch = a.worker.split(":")
        print(json.dumps(bench_torch(name, int(batch), a.steps, a.warmup)))
        return
    rows, raw, pgd = [], {}, None
    for name, batch in WORKLOADS:
        if a.only and name not in a.only.split(","):
            continue
        ps, ls = [], []
        for r in range(a.rounds):
            # Each side in its own process, one after the other, so they never share the cores;
            # the order alternates between rounds.
            last = r == a.rounds - 1
            pgd_steps = 10 if last and name == "resnet18" else 0
            run_p = lambda: ps.append(bench_torch_subprocess(name, batch, a.steps, a.warmup, a.threads))
            run_l = lambda: ls.append(bench_lethe(a.lethe, name, batch, a.steps, a.warmup, a.threads,
                                                  pgd_steps))
            for fn in ((run_p, run_l) if r % 2 == 0 else (run_l, run_p)):
                fn()
            print(f"{name} round {r + 1}/{a.rounds}: PyTorch {ps[-1]['train_s']:.3f} s, "
                  f"Lethe {ls[-1]['train_s']:.3f} s", file=sys.stderr)
            if pgd_steps:
                pgd = ls[-1]["json"].get("pgd")
        raw[name] = {"pytorch": ps, "lethe": ls}
        pt, lt = median_of(ps, "train_s"), median_of(ls, "train_s")
        pi, li = median_of(ps, "infer_img_s"), median_of(ls, "infer_img_s")
        prss, lrss = max(p["peak_rss"] for p in ps), max(l["peak_rss"] for l in ls)
        per_round = ", ".join(f"{l['train_s'] / p['train_s']:.2f}" for p, l in zip(ps, ls))
        rows.append(f"| {name} | {batch} | {pt:.3f} | {lt:.3f} | {lt / pt:.2f} ({per_round}) | "
                    f"{min(p['train_min_s'] for p in ps):.3f} | {min(l['train_min_s'] for l in ls):.3f} | "
                    f"{pi:.0f} | {li:.0f} | {li / pi:.2f} | {prss / 2**20:.0f} | {lrss / 2**20:.0f} | "
                    f"{ps[0]['params']} |")
        print(rows[-1], file=sys.stderr)
    print(f"torch {torch.__version__}, {a.threads} threads, median of {a.steps} steps after {a.warmup} "
          f"warm-up, {a.rounds} interleaved round(s): medians over rounds")
    print("| model | batch | PyTorch train s | Lethe train s | Lethe/PyTorch (per round) | "
          "PyTorch min step s | Lethe min step s | PyTorch infer img/s | Lethe infer img/s | "
          "Lethe/PyTorch | PyTorch peak RSS MiB | Lethe peak RSS MiB | params (torch) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    if pgd:
        print(f"Lethe AMUN PGD search (resnet18, batch 64, {pgd['steps']} steps per attack): "
              f"{pgd['pgd_steps_per_image_per_s']:.1f} PGD steps per image per second")
        raw["pgd"] = pgd
    tmp = "bench_compare.json.tmp"
    with open(tmp, "w") as f:
        json.dump(raw, f, indent=2)
    os.replace(tmp, "bench_compare.json")


if __name__ == "__main__":
    main()
