#!/usr/bin/python3
"""Optional: the same training-step and inference workloads as `lethe bench`, in PyTorch, side by
side. Runs only where /usr/bin/python3 has torch (Debian's python3-torch); never a dependency.

Usage: bench/compare_pytorch.py [--lethe build/cpu-release/lethe] [--threads 2] [--steps 5]
Prints a markdown table: model, batch, PyTorch and Lethe train step (median s), inference img/s,
peak RSS, and the ratios; writes the raw numbers to bench_compare.json.

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
        return statistics.median(ts)

    t = measure(train)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    i = measure(infer)
    return {"train_s": t, "infer_img_s": batch / i, "peak_rss": rss,
            "params": sum(p.numel() for p in model.parameters())}


def bench_torch_subprocess(name, batch, steps, warmup, threads):
    # Its own process per workload, so the peak RSS (ru_maxrss) is this workload's alone.
    out = subprocess.run([sys.executable, __file__, "--worker", f"{name}:{batch}", "--steps", str(steps),
                          "--warmup", str(warmup), "--threads", str(threads)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_lethe(lethe, name, batch, steps, warmup, threads):
    out = subprocess.run([lethe, "bench", "--model", name, "--batch", str(batch), "--steps", str(steps),
                          "--warmup", str(warmup), "--threads", str(threads), "--pgd-steps", "0"],
                         capture_output=True, text=True, check=True).stdout
    j = json.loads(out)
    return {"train_s": j["train_step_s"]["median"], "infer_img_s": j["infer_images_per_s"],
            "peak_rss": j["peak_rss_bytes_train"], "json": j}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lethe", default="build/cpu-release/lethe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated subset of resnet18,resnet50,vit-small")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)  # NAME:BATCH, internal
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.worker:
        name, batch = a.worker.split(":")
        print(json.dumps(bench_torch(name, int(batch), a.steps, a.warmup)))
        return
    rows, raw = [], {}
    for name, batch in WORKLOADS:
        if a.only and name not in a.only.split(","):
            continue
        # Each side in its own process, one after the other, so they never share the cores.
        p = bench_torch_subprocess(name, batch, a.steps, a.warmup, a.threads)
        l = bench_lethe(a.lethe, name, batch, a.steps, a.warmup, a.threads)
        raw[name] = {"pytorch": p, "lethe": l}
        rows.append(f"| {name} | {batch} | {p['train_s']:.3f} | {l['train_s']:.3f} | "
                    f"{l['train_s'] / p['train_s']:.2f} | {p['infer_img_s']:.0f} | {l['infer_img_s']:.0f} | "
                    f"{l['infer_img_s'] / p['infer_img_s']:.2f} | {p['peak_rss'] / 2**20:.0f} | "
                    f"{l['peak_rss'] / 2**20:.0f} | {p['params']} |")
        print(rows[-1], file=sys.stderr)
    print(f"torch {torch.__version__}, {a.threads} threads, median of {a.steps} steps after {a.warmup} warm-up")
    print("| model | batch | PyTorch train s | Lethe train s | Lethe/PyTorch | PyTorch infer img/s | "
          "Lethe infer img/s | Lethe/PyTorch | PyTorch peak RSS MiB | Lethe peak RSS MiB | params (torch) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    tmp = "bench_compare.json.tmp"
    with open(tmp, "w") as f:
        json.dump(raw, f, indent=2)
    os.replace(tmp, "bench_compare.json")


if __name__ == "__main__":
    main()
