#!/usr/bin/python3
"""Optional: a whole training run of the unlearning protocols' model, in every installed PyTorch
and in Lethe, on the same data, timed end to end (issue 22: "a whole 15-epoch protocol run faster
than PyTorch's"). Never a dependency: this script needs no torch; each PyTorch runs in a worker.

The run: ResNet-18 width 16 with the CIFAR stem on 1×28×28 Fashion-MNIST (Debian's
dataset-fashion-mnist), a subset of SUBSET training images, EPOCHS epochs of SGD (lr 0.05, momentum
0.9, weight decay 5e-4, cosine decay per epoch as Lethe's `--schedule cosine`), batch
128, no augmentation, inputs normalized by the training set's mean and std, then test accuracy
on the 10,000 test images. Lethe runs
  lethe train --model resnet18 --width 16 --data fashion-mnist --subset SUBSET --epochs EPOCHS
              --batch 128 --lr 0.05 --schedule cosine --augment none --seed 0 --eval-every 0
The PyTorch side draws its own subset (seeded; the timing does not depend on which images).

Usage: bench/protocol_pytorch.py [--lethe build/cpu-release/lethe] [--threads 2] [--subset 12000]
                                 [--epochs 15] [--python /usr/bin/python3,/opt/torch2/bin/python]
Prints one markdown row per side: wall seconds (data loading to final test accuracy), seconds per
epoch, train and test accuracy, peak RSS; writes protocol_compare.json.
"""
import argparse
import gzip
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return data[4 + 4 * dims:], shape


def worker(a):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare_pytorch import torch_models  # the same ResNet as the step benchmark

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    _, _, build = torch_models()

    def tensors(split):
        xb, xs = load_idx(f"{FMNIST}/{split}-images-idx3-ubyte.gz")
        yb, _ = load_idx(f"{FMNIST}/{split}-labels-idx1-ubyte.gz")
        x = torch.frombuffer(bytearray(xb), dtype=torch.uint8).reshape(xs[0], 1, 28, 28)
        return x.float() / 255, torch.frombuffer(bytearray(yb), dtype=torch.uint8).long()

    xtr, ytr = tensors("train")
    xte, yte = tensors("t10k")
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(xtr.shape[0], generator=g)[:a.subset]
    xtr, ytr = xtr[idx], ytr[idx]
    mean, std = xtr.mean().item(), xtr.std().item()
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    torch.manual_seed(0)
    model = build("resnet18", 16, 1, 28)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    n, batch = xtr.shape[0], 128
    epoch_s = []
    for e in range(a.epochs):
        for group in opt.param_groups:  # cosine decay per epoch, from lr at epoch 0
            group["lr"] = 0.05 * 0.5 * (1 + math.cos(math.pi * e / a.epochs))
        model.train()
        te = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, batch):
            b = perm[s:s + batch]
            opt.zero_grad()
            loss_fn(model(xtr[b]), ytr[b]).backward()
            opt.step()
        epoch_s.append(time.perf_counter() - te)
        print(f"torch epoch {e + 1}/{a.epochs} {epoch_s[-1]:.1f} s", file=sys.stderr)

    def accuracy(x, y):
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, x.shape[0], 512):
                correct += (model(x[s:s + 512]).argmax(1) == y[s:s + 512]).sum().item()
        return 100.0 * correct / x.shape[0]

    out = {"side": f"torch {torch.__version__}", "train_acc": accuracy(xtr, ytr),
           "test_acc": accuracy(xte, yte), "epoch_s": sum(epoch_s) / len(epoch_s),
           "wall_s": time.perf_counter() - t0,
           "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    print(json.dumps(out))


def run_lethe(a):
    with tempfile.TemporaryDirectory() as d:
        cmd = [a.lethe, "train", "--model", "resnet18", "--width", "16", "--data", "fashion-mnist",
               "--subset", str(a.subset), "--epochs", str(a.epochs), "--batch", "128", "--lr", "0.05",
               "--schedule", "cosine", "--augment", "none", "--seed", "0", "--eval-every", "0",
               "--threads", str(a.threads), "--out", d + "/run"]
        timer = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
        t0 = time.perf_counter()
        p = subprocess.run(timer + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           check=True)
        wall = time.perf_counter() - t0
        with open(d + "/run/metrics.json") as f:
            m = json.load(f)
        with open(d + "/run/log.jsonl") as f:
            epochs = [json.loads(line)["epoch_s"] for line in f if '"epoch_s"' in line]
    rss = int(p.stderr.strip().splitlines()[-1]) * 1024 if timer else None
    return {"side": "Lethe", "train_acc": m.get("train_acc"), "test_acc": m.get("test_acc"),
            "epoch_s": sum(epochs) / len(epochs) if epochs else None, "wall_s": wall,
            "peak_rss": rss}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lethe", default="build/cpu-release/lethe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--subset", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--python", default="/usr/bin/python3,/opt/torch2/bin/python")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    rows = []
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    # (compare_pytorch imports torch only in its workers)
    from compare_pytorch import torch_pythons, write_json_atomic
    for py in torch_pythons(a.python):
        out = subprocess.run([py, __file__, "--worker", "--threads", str(a.threads), "--subset",
                              str(a.subset), "--epochs", str(a.epochs)],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        rows.append(json.loads(out))
        print(f"{rows[-1]['side']}: {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    rows.append(run_lethe(a))
    print(f"Lethe: {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    print(f"ResNet-18 width 16, Fashion-MNIST subset {a.subset}, {a.epochs} epochs, batch 128, "
          f"{a.threads} threads")
    print("| side | wall s | s per epoch | train acc | test acc | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ep = f"{r['epoch_s']:.1f}" if r["epoch_s"] else "?"
        tr = f"{r['train_acc']:.2f}" if r["train_acc"] is not None else "?"
        te = f"{r['test_acc']:.2f}" if r["test_acc"] is not None else "?"
        rss = f"{r['peak_rss'] / 2**20:.0f}" if r["peak_rss"] else "?"
        print(f"| {r['side']} | {r['wall_s']:.1f} | {ep} | {tr} | {te} | {rss} |")
    write_json_atomic("protocol_compare.json", rows)


if __name__ == "__main__":
    main()
