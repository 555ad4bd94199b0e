#!/usr/bin/python3
"""Optional: AMUN's adversarial search (the minimal-ε L2 search of `lethe unlearn --method amun`)
on the same model and the same forget images in every installed PyTorch and in Lethe, timed
(issue 22: "the narrow model's AMUN search ... faster than PyTorch's"). Never a dependency: this
script needs no torch; each PyTorch runs in a worker.

The model is a Lethe run's model.safetensors (ResNet-18, CIFAR stem), loaded into the PyTorch
ResNet of compare_pytorch.py by name (layerS.B.X -> layers.S-1.B.X, downsample -> down); the
worker checks that PyTorch's clean predictions on the forget images agree with the labels as
often as Lethe's (printed). The run must be trained on the whole Fashion-MNIST training split
(no --subset), so forget.txt's rows are the dataset's own indices.

The search, as eval/attacks/pgd.cpp: a pool of at most BATCH samples in flight, each at its own ε
level (ε0 0.04, doubling at most 12 times), 50 steps of ε/10 along the per-sample normalized input
gradient of the summed cross-entropy, projected onto the L2 ball around the source and onto
[0,1]; a sample leaves when it is misclassified (checked before every step) or its last level is
spent, and the next source takes its row. Eval mode, parameters frozen (input gradients only).

Lethe's side: `lethe unlearn --from RUN --method amun --forget random:N --opt train_on=adv
--epochs 1 --threads T`; its metrics.json times the search as phases_s["adversarial search"]
and reports the ε found (method_report). The PyTorch side times the search alone.

Usage: bench/amun_search_pytorch.py --run RUN [--lethe build/cpu-release/lethe] [--threads 2]
                                    [--forget 1200] [--python /usr/bin/python3,/opt/torch2/bin/python]
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    return header, data, meta


def worker(a):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare_pytorch import torch_models

    torch.set_num_threads(a.threads)
    _, _, build = torch_models()
    header, data, meta = read_safetensors(os.path.join(a.run, "model.safetensors"))
    mc = json.loads(meta["model"])
    norm = json.loads(meta["normalize"])
    model = build(mc["name"], mc["width"], mc["in_chans"], 28)
    state = {}
    for name, h in header.items():
        if name.endswith("num_batches_tracked"):
            continue
        lo, hi = h["data_offsets"]
        assert h["dtype"] == "F32", name
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32).reshape(h["shape"])
        parts = name.split(".")
        if parts[0].startswith("layer"):
            parts = ["layers", str(int(parts[0][5:]) - 1)] + parts[1:]
        state[".".join(parts).replace("downsample", "down")] = t
    model.load_state_dict(state, strict=False)  # PyTorch's num_batches_tracked are not Lethe's
    missing = set(model.state_dict()) - set(state) - {k for k in model.state_dict() if "num_batches" in k}
    assert not missing, f"weights missing for {sorted(missing)[:5]}"
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    with gzip.open(f"{FMNIST}/train-images-idx3-ubyte.gz", "rb") as f:
        xb = f.read()[16:]
    with gzip.open(f"{FMNIST}/train-labels-idx1-ubyte.gz", "rb") as f:
        yb = f.read()[8:]
    rows = [int(line) for line in open(os.path.join(a.lethe_out, "forget.txt")) if line.strip()]
    x_all = torch.frombuffer(bytearray(xb), dtype=torch.uint8).reshape(-1, 1, 28, 28)
    y_all = torch.frombuffer(bytearray(yb), dtype=torch.uint8).long()
    idx = torch.tensor(rows)
    x01, y = x_all[idx].float() / 255, y_all[idx]
    mean = torch.tensor(norm["mean"]).reshape(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).reshape(1, -1, 1, 1)

    def logits_of(x):
        return model((x - mean) / std)

    with torch.no_grad():
        clean_correct = int((logits_of(x01).argmax(1) == y).sum())

    def per_sample_norm(t):
        return t.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)

    n = x01.shape[0]
    eps0, steps, max_doublings, batch = 0.04, 50, 12, a.batch
    found_eps = [eps0] * n
    never = 0
    grad_rows = 0
    t0 = time.perf_counter()
    idx_p, level, taken, eps = [], [], [], []
    x0 = x = None
    nxt = 0

    def refill():
        nonlocal nxt, x0, x
        take = min(n - nxt, batch - len(idx_p))
        if take <= 0:
            return
        new = list(range(nxt, nxt + take))
        idx_p.extend(new)
        level.extend([0] * take)
        taken.extend([0] * take)
        eps.extend([eps0] * take)
        nxt += take
        fresh = x01[new]
        x0 = fresh if x0 is None else torch.cat([x0, fresh])
        x = fresh.clone() if x is None else torch.cat([x, fresh])

    refill()
    while idx_p:
        yt = y[idx_p]
        xg = x.detach().requires_grad_(True)
        with torch.enable_grad():
            out = logits_of(xg)
            loss = torch.nn.functional.cross_entropy(out, yt, reduction="sum")
            g, = torch.autograd.grad(loss, [xg])
        grad_rows += len(idx_p)
        pred = out.detach().argmax(1)
        flipped = (pred != yt).tolist()
        keep = []
        for j in range(len(idx_p)):
            if flipped[j] or (taken[j] == steps and level[j] == max_doublings):
                found_eps[idx_p[j]] = eps[j]
                never += 0 if flipped[j] else 1
            else:
                if taken[j] == steps:
                    level[j] += 1
                    taken[j] = 0
                    eps[j] *= 2
                keep.append(j)
        if len(keep) < len(idx_p):
            for lst in (idx_p, level, taken, eps):
                lst[:] = [lst[j] for j in keep]
            k = torch.tensor(keep, dtype=torch.long)
            x0, x, g = x0[k], x[k], g[k]
        if idx_p:
            with torch.no_grad():
                e = torch.tensor(eps, dtype=torch.float32).reshape(-1, 1, 1, 1)
                x = x + g / (per_sample_norm(g) + 1e-10) * (e * 0.1)
                d = x - x0
                factor = torch.minimum(e / (per_sample_norm(d) + 1e-12), torch.ones_like(e))
                x = (x0 + d * factor).clamp(0, 1)
            taken[:] = [t + 1 for t in taken]
        refill()  # (a no-op while the pool is full)
    search_s = time.perf_counter() - t0
    found_eps.sort()
    print(json.dumps({"side": f"torch {torch.__version__}", "search_s": search_s, "n": n,
                      "clean_correct": clean_correct, "never_flipped": never,
                      "eps_mean": sum(found_eps) / n, "eps_median": found_eps[n // 2],
                      "gradient_rows": grad_rows}))


def run_lethe(a, out):
    cmd = [a.lethe, "unlearn", "--from", a.run, "--method", "amun", "--forget",
           f"random:{a.forget}", "--opt", "train_on=adv", "--epochs", "1", "--batch",
           str(a.batch), "--threads", str(a.threads), "--seed", "0", "--out", out, "--overwrite"]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    s = m["method_report"]["adversarial_search"]
    return {"side": "Lethe", "search_s": m["phases_s"]["adversarial search"], "n": a.forget,
            "never_flipped": s.get("never_flipped"), "eps_mean": s["eps"]["mean"],
            "eps_median": s["eps"]["median"], "gradient_rows": s.get("input_gradient_rows")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=False, help="a Lethe training run on all of Fashion-MNIST")
    ap.add_argument("--lethe", default="build/cpu-release/lethe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forget", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--python", default="/usr/bin/python3,/opt/torch2/bin/python")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--lethe-out", help=argparse.SUPPRESS)  # the amun run: its forget.txt
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    if not a.run:
        ap.error("--run RUN is required (lethe train --model resnet18 --width 16 --data fashion-mnist)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare_pytorch import torch_pythons, write_json_atomic
    rows = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "amun")
        rows.append(run_lethe(a, out))  # also writes forget.txt, the rows every side searches
        print(f"Lethe: {rows[-1]['search_s']:.1f} s", file=sys.stderr)
        for py in torch_pythons(a.python):
            r = subprocess.run([py, __file__, "--worker", "--threads", str(a.threads), "--batch",
                                str(a.batch), "--run", a.run, "--lethe-out", out],
                               stdout=subprocess.PIPE, text=True, check=True).stdout
            rows.append(json.loads(r))
            print(f"{rows[-1]['side']}: {rows[-1]['search_s']:.1f} s "
                  f"(clean correct {rows[-1]['clean_correct']}/{a.forget})", file=sys.stderr)
    print(f"AMUN search, {a.forget} forget images of {a.run}, batch {a.batch}, {a.threads} threads")
    print("| side | search s | ε mean | ε median | never flipped | input-gradient rows |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['side']} | {r['search_s']:.1f} | {r['eps_mean']:.4f} | {r['eps_median']:.4f} | "
              f"{r['never_flipped']} | {r.get('gradient_rows', '')} |")
    fastest = min(r["search_s"] for r in rows if r["side"] != "Lethe") if len(rows) > 1 else None
    if fastest:
        print(f"Lethe / faster PyTorch: {rows[0]['search_s'] / fastest:.2f}")
    write_json_atomic("amun_search_compare.json", rows)


if __name__ == "__main__":
    main()
