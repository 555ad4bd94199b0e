#!/usr/bin/python3
"""Optional: the same training-step, inference and PGD workloads as `lethe bench`, in PyTorch,
side by side with Lethe, for every PyTorch found (Debian's python3-torch 1.13 in /usr/bin/python3,
PyTorch 2.x from PyPI in /opt/torch2 — bench/../shared/tools/install_torch2.sh). Never a
dependency: the script itself needs no torch; each PyTorch runs in its own worker process.

Usage: bench/compare_pytorch.py [--lethe build/cpu-release/lethe] [--threads 2] [--steps 5]
                                [--rounds 2] [--only narrow,resnet18,...] [--pgd-steps 10]
                                [--python /usr/bin/python3,/opt/torch2/bin/python]
Prints the host's CPU and Lethe's ISA path, then a markdown table per workload: each PyTorch's and
Lethe's training step (median s), Lethe's ratio to each and to the faster, inference img/s, PGD
steps per image per second (the input-gradient pass of AMUN's search and of robustness
evaluation: 10-step L∞ PGD, eval mode, gradients to the input only) and peak RSS. Raw numbers go
to bench_compare.json. With --rounds R every side runs R times per workload, interleaved with the
order rotating between rounds, so a slow spell of a shared machine hits all sides; the table
gives the median over rounds of each round's median step.

Workloads (the narrow model first — the one `make run`, the unlearning protocols and the
reference models train): ResNet-18 width 16 on 1×28×28 (Fashion-MNIST) at batch 128; ResNet-18
width 64, ResNet-50 and vit-small on 3×32×32. The models are built here to match Lethe's
(torchvision ResNet with the CIFAR stem: 3×3 stride-1 conv, no max-pool; a ViT with patch 4, dim
192, depth 6, heads 3, mlp ratio 4, class token) so the parameter counts agree; the table prints
both counts.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

# name: (model, width, channels, image, batch)
WORKLOADS = {
    "narrow": ("resnet18", 16, 1, 28, 128),
    "resnet18": ("resnet18", 64, 3, 32, 64),
    "resnet50": ("resnet50", 64, 3, 32, 32),
    "vit-small": ("vit-small", 0, 3, 32, 64),
}
LABEL = {
    "narrow": "ResNet-18 width 16, 1×28×28",
    "resnet18": "ResNet-18 width 64, 3×32×32",
    "resnet50": "ResNet-50, 3×32×32",
    "vit-small": "vit-small p4 d192 L6, 3×32×32",
}


def torch_models():
    # Defined inside a function: only worker processes import torch.
    import torch
    import torch.nn as nn
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
        def __init__(self, block, layers, classes=10, width=64, channels=3):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
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


    def build(name, width, channels, image):
        if name == "resnet18":
            return ResNetCifar(BasicBlock, [2, 2, 2, 2], width=width, channels=channels)
        if name == "resnet50":
            return ResNetCifar(Bottleneck, [3, 4, 6, 3], width=width, channels=channels)
        return ViT(image=image)

    return torch, nn, build


def bench_torch(workload, steps, warmup, pgd_steps):
    torch, nn, build = torch_models()
    name, width, channels, image, batch = WORKLOADS[workload]
    torch.manual_seed(0)
    model = build(name, width, channels, image)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, channels, image, image)
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

    def attack():  # 10-step L∞ PGD as eval/attacks/pgd.cpp: random start, ε 8/255, step 2/255
        model.eval()
        eps, step = 8 / 255, 2 / 255
        xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(pgd_steps):
            xa.requires_grad_(True)
            g, = torch.autograd.grad(loss_fn(model(xa), y), xa)  # no weight gradients
            with torch.no_grad():
                xa = torch.min(torch.max(xa + step * g.sign(), x - eps), x + eps).clamp(0, 1)
        return xa

    def measure(fn, n=steps):
        for _ in range(warmup):
            fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts), min(ts)

    t, t_min = measure(train)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    i, _ = measure(infer)
    out = {"train_s": t, "train_min_s": t_min, "infer_img_s": batch / i, "peak_rss": rss,
           "params": sum(p.numel() for p in model.parameters()), "version": torch.__version__}
    if pgd_steps:
        a, _ = measure(attack, 3)
        out["pgd_img_steps_s"] = batch * pgd_steps / a
    out["blas"] = loaded_blas()
    return out


def loaded_blas():
    # The BLAS library this process mapped (after a step ran, so it is loaded): Debian's torch 1.13
    # calls whatever libblas.so.3 the alternatives name, and with the reference BLAS its Linear
    # layers run ~30x slower (a vit-small step took 19.5 s instead of ~0.5 s).
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if any(k in os.path.basename(path) for k in ("blas", "mkl")):
                libs.add(path)
    return sorted(libs)


def reference_blas(libs):
    # Debian's reference BLAS lives in .../blas/libblas.so.3; OpenBLAS in .../openblas-*/.
    return any("/blas/libblas" in p for p in libs) and not any("openblas" in p or "mkl" in p
                                                               for p in libs)


def bench_torch_subprocess(python, workload, steps, warmup, threads, pgd_steps):
    # Its own process per workload, so the peak RSS (ru_maxrss) is this workload's alone.
    out = subprocess.run([python, __file__, "--worker", workload, "--steps", str(steps),
                          "--warmup", str(warmup), "--threads", str(threads),
                          "--pgd-steps", str(pgd_steps)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_lethe(lethe, workload, steps, warmup, threads, pgd_steps):
    name, width, channels, image, batch = WORKLOADS[workload]
    cmd = [lethe, "bench", "--model", name, "--batch", str(batch), "--channels", str(channels),
           "--image", str(image), "--steps", str(steps), "--warmup", str(warmup), "--threads",
           str(threads), "--pgd-steps", str(pgd_steps)]
    if width:
        cmd += ["--width", str(width)]
    j = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    out = {"train_s": j["train_step_s"]["median"], "train_min_s": j["train_step_s"]["min"],
           "infer_img_s": j["infer_images_per_s"], "peak_rss": j["peak_rss_bytes_train"],
           "isa": j.get("isa", "?"), "params": j.get("params")}
    if j.get("pgd"):
        out["pgd_img_steps_s"] = j["pgd"]["pgd_steps_per_image_per_s"]
    return out


def has_torch(python):
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


def torch_pythons(spec):
    """The interpreters of a comma-separated --python list that exist and import torch."""
    return [p for p in spec.split(",") if p and os.path.exists(p) and has_torch(p)]


def write_json_atomic(path, obj):
    """Writes obj as JSON to a temporary name, then renames it (never a half-written file)."""
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(path + ".tmp", path)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lethe", default="build/cpu-release/lethe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pgd-steps", type=int, default=10, help="PGD steps per attack on the narrow "
                    "model (0 skips the PGD column)")
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--python", default="/usr/bin/python3,/opt/torch2/bin/python",
                    help="interpreters whose torch is measured (those without torch are skipped)")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)  # workload name, internal
    a = ap.parse_args()
    if a.worker:
        import torch
        torch.set_num_threads(a.threads)
        print(json.dumps(bench_torch(a.worker, a.steps, a.warmup, a.pgd_steps)))
        return
    pythons = torch_pythons(a.python)
    if not pythons:
        print("compare_pytorch: no interpreter with torch (apt-get install python3-torch, or "
              "../shared/tools/install_torch2.sh)")
        return
    workloads = [w for w in WORKLOADS if not a.only or w in a.only.split(",")]
    raw, rows = {}, []
    isa = "?"
    for w in workloads:
        pgd = a.pgd_steps if w == "narrow" else 0
        sides = {p: [] for p in pythons}
        sides["lethe"] = []
        order = list(sides)
        for r in range(a.rounds):
            rot = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
            for s in rot:
                if s == "lethe":
                    sides[s].append(bench_lethe(a.lethe, w, a.steps, a.warmup, a.threads, pgd))
                    isa = sides[s][-1]["isa"]
                else:
                    sides[s].append(bench_torch_subprocess(s, w, a.steps, a.warmup, a.threads, pgd))
                    if reference_blas(sides[s][-1].get("blas", [])):
                        print(f"compare_pytorch: {s} runs torch on the reference BLAS "
                              f"({', '.join(sides[s][-1]['blas'])}): its matrix products are not "
                              "representative (apt-get install libopenblas0-openmp, or make bench)",
                              file=sys.stderr)
            print(f"{w} round {r + 1}/{a.rounds}: " + ", ".join(
                f"{'Lethe' if s == 'lethe' else 'torch ' + sides[s][-1]['version']} "
                f"{sides[s][-1]['train_s']:.3f} s" for s in order), file=sys.stderr)
        raw[w] = sides
        med = {s: statistics.median(x["train_s"] for x in sides[s]) for s in order}
        lt = med["lethe"]
        best = min(med[p] for p in pythons)
        row = [LABEL[w], str(WORKLOADS[w][4])]
        row += [f"{med[p]:.3f}" for p in pythons] + [f"{lt:.3f}"]
        row += [f"{lt / med[p]:.2f}" for p in pythons] + [f"**{lt / best:.2f}**"]
        inf = {s: statistics.median(x["infer_img_s"] for x in sides[s]) for s in order}
        row += ["/".join(f"{inf[s]:.0f}" for s in order)]
        if pgd:
            pg = {s: statistics.median(x["pgd_img_steps_s"] for x in sides[s]) for s in order}
            row += ["/".join(f"{pg[s]:.0f}" for s in order)]
        else:
            row += ["–"]
        row += ["/".join(f"{max(x['peak_rss'] for x in sides[s]) / 2**20:.0f}" for s in order)]
        row += ["/".join(str(sides[s][0].get("params")) for s in order)]
        rows.append("| " + " | ".join(row) + " |")
        print(rows[-1], file=sys.stderr)
    versions = [raw[workloads[0]][p][0]["version"] for p in pythons]
    names = [f"torch {v}" for v in versions]
    print(f"{cpu_model()}; Lethe ISA path {isa}; {a.threads} threads; median of {a.steps} steps "
          f"after {a.warmup} warm-up; {a.rounds} interleaved round(s), medians over rounds")
    sides_s = " / ".join(names + ["Lethe"])
    print("| workload | batch | " + " | ".join(f"{n} train s" for n in names) + " | Lethe train s | "
          + " | ".join(f"Lethe / {n}" for n in names) + " | Lethe / faster | "
          f"infer img/s ({sides_s}) | PGD steps·img/s ({sides_s}) | peak RSS MiB ({sides_s}) | "
          f"params ({sides_s}) |")
    print("|" + "---|" * (2 + 2 * len(names) + 2 + 4))
    for r in rows:
        print(r)
    raw["host"] = {"cpu": cpu_model(), "isa": isa, "threads": a.threads, "torch": versions}
    write_json_atomic("bench_compare.json", raw)


if __name__ == "__main__":
    main()
