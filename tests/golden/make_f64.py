#!/usr/bin/python3
"""Generates the float64-truth model reference files tests/golden/*_f64*.safetensors.

Each file holds one model (torchvision-named ResNet or timm-named ViT, written here in plain
torch.nn with exactly those libraries' tensor names), its initial state `param.*`, an input batch
`input.x`/`input.y`, and what PyTorch computes from them: `eval.logits` (eval mode),
`train.logits`, `train.loss` (mean cross-entropy), `grad.<param>` and `grad.input` (train mode,
batch statistics), `after_train.*` (BatchNorm running statistics after that forward) and
`after_sgd.*` (every parameter after one SGD step, lr 0.1, momentum 0.9, weight decay 5e-4).
The expected values are the FLOAT64 results (model and inputs converted to double from the same
float32 initial values), rounded to float32 when stored. The metadata records the model config,
`"truth": "float64"`, and `torch_f32_err`: per group, how far PyTorch's own float32 run of the
same step lands from the float64 truth (per tensor max|a-b| / max|b|, worst tensor of the group).
That is the yardstick a float32 engine is judged by (`lethe verify FILE`).

Run by hand with Debian's PyTorch (torch 1.13; no torchvision or timm needed):

    /usr/bin/python3 tests/golden/make_f64.py --all [--out DIR]
    /usr/bin/python3 tests/golden/make_f64.py --case resnet50_w16_f64 [--out DIR]
    /usr/bin/python3 tests/golden/make_f64.py --check tests/golden/resnet_basic_w64_f64.safetensors

`--check FILE` rebuilds FILE's model from its metadata, loads its `param.*`/`input.*`, and reports
how closely this script reproduces the stored results (a self-test of the model definitions).
Seeds are fixed per case, so re-running produces identical files.

The tests never need PyTorch: the generated files are committed as data. Format reference:
../shared/golden/README.md (safetensors: 8-byte little-endian header length, JSON header with a
`__metadata__` of JSON strings, raw little-endian tensor data).
"""

import argparse
import copy
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SGD = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005, "nesterov": False, "dampening": 0}
ORDER = ("param.* -> eval.logits (eval mode) -> train.logits/loss/grad.* (train mode, batch "
         "stats) -> after_train.* (running stats) -> after_sgd.* (one SGD step from param.* "
         "with grad.*)")

# ---------------------------------------------------------------------------------------------
# Models: torchvision ResNet and timm VisionTransformer, same module and tensor names.


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)  # stride on the 3x3 (torchvision v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


class ResNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        block = BasicBlock if cfg["block"] == "basic" else Bottleneck
        w = cfg["width"]
        if cfg["stem"] == "cifar":
            self.conv1 = nn.Conv2d(cfg["in_chans"], w, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(cfg["in_chans"], w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if cfg["stem"] == "imagenet" else nn.Identity()
        self.inplanes = w
        for i, n in enumerate(cfg["layers"]):
            setattr(self, "layer%d" % (i + 1), self._make_layer(block, w * 2 ** i, n,
                                                                1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.inplanes, cfg["num_classes"])

    def _make_layer(self, block, planes, n, stride):
        layers = []
        for j in range(n):
            s = stride if j == 0 else 1
            ds = None
            if s != 1 or self.inplanes != planes * block.expansion:
                ds = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, s),
                                   nn.BatchNorm2d(planes * block.expansion))
            layers.append(block(self.inplanes, planes, s, ds))
            self.inplanes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class PatchEmbed(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.proj = nn.Conv2d(cfg["in_chans"], cfg["dim"], cfg["patch"], cfg["patch"])

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        dim = cfg["dim"]
        npatch = (cfg["img"] // cfg["patch"]) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + npatch, dim))
        self.patch_embed = PatchEmbed(cfg)
        self.blocks = nn.Sequential(*[Block(dim, cfg["heads"], cfg["mlp_ratio"])
                                      for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, cfg["num_classes"])

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def build(cfg):
    return ResNet(cfg) if cfg["arch"] == "resnet" else VisionTransformer(cfg)


def init_nontrivial(model):
    """Torch default init, plus non-trivial norm affine parameters and BN running statistics."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
            elif isinstance(m, nn.LayerNorm):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0, 0.1)
        if isinstance(model, VisionTransformer):
            model.cls_token.normal_(0, 0.02)
            model.pos_embed.normal_(0, 0.02)


# ---------------------------------------------------------------------------------------------
# Cases. Sizes: a file holds param + grad + after_sgd, ~12 bytes per parameter. Each file stays
# under 25 MB and all of them together under 45 MB, hence the reduced ViT depth and ResNet-34
# width (see the case notes): 17.8 + 4.0 + 16.3 + 1.6 + 3.7 MB.


def resnet_cfg(block, layers, width, in_chans, classes=10, stem="cifar"):
    return {"arch": "resnet", "block": block, "layers": layers, "width": width, "stem": stem,
            "in_chans": in_chans, "num_classes": classes}


CASES = {
    # ResNet-50 depth (bottleneck [3,4,6,3]). At 32x32 and batch 4 its ~3M ReLU inputs put the
    # closest ~4e-7 from 0, so float32 runs (PyTorch's and ours) flip ReLU masks and the recorded
    # gradient error (~1e-1) measures kinks, not conditioning. At 16x16, batch 2, with BN biases
    # +1 (about a fifth of the ReLUs still off), the closest is 5e-5 from 0 and no mask flips.
    "resnet50_w16_f64": dict(cfg=resnet_cfg("bottleneck", [3, 4, 6, 3], 16, 3),
                             x=(2, 3, 16, 16), seed=5016, bn_bias_shift=1.0),
    # ResNet-34 depth (basic [3,4,6,3]) on Fashion-MNIST-shaped input; width 8, not 16, to fit the
    # size budget (width 16 is 16 MB).
    "resnet34_w8_f64": dict(cfg=resnet_cfg("basic", [3, 4, 6, 3], 8, 1),
                            x=(4, 1, 28, 28), seed=3408),
    # vit-small's width (dim 192, 3 heads of 64, MLP ratio 4, patch 4 on 32x32) at depth 3: the
    # full depth 6 is 32 MB, over the per-file budget.
    "vit_small_f64": dict(cfg={"arch": "vit", "img": 32, "patch": 4, "in_chans": 3, "dim": 192,
                               "depth": 3, "heads": 3, "mlp_ratio": 4.0, "num_classes": 10},
                          x=(2, 3, 32, 32), seed=192),
    # Tiny, for the (slow) emulated CUDA backend.
    "resnet_bottleneck_w8_f64_emu": dict(cfg=resnet_cfg("bottleneck", [1, 1, 1, 1], 8, 1),
                                         x=(2, 1, 16, 16), seed=808),
    # Catches a one-pass (E[x^2] - E[x]^2) batch-norm variance: the input has a large common
    # offset and conv1 a non-zero-mean (centre-heavy) kernel, so bn1 sees channels whose mean is
    # ~90x their spread (see make_case).
    "resnet_offset_w16_f64": dict(cfg=resnet_cfg("basic", [1, 1, 1, 1], 16, 3),
                                  x=(4, 3, 32, 32), seed=1650, offset=True, bn_bias_shift=2.5),
}

OFFSET = 50.0  # offset case: input = OFFSET + N(0, 1)
CORNER = 40.0  # offset case: added to image 0's top-left pixel


def make_case(case):
    torch.manual_seed(case["seed"])
    cfg = case["cfg"]
    model = build(cfg)
    init_nontrivial(model)
    B = case["x"][0]
    if case.get("bn_bias_shift"):
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.bias.add_(case["bn_bias_shift"])
    if case.get("offset"):
        with torch.no_grad():
            # Non-zero-mean kernel. The constant sits on the centre tap and the off-centre taps are
            # damped: zero padding at the image border removes off-centre taps, and with a plain
            # +0.2 on every tap those border pixels alone give bn1's input a spread ~1/9 of its
            # mean, too little to expose a one-pass variance. This way mean^2/var ~ 7e3.
            w = model.conv1.weight
            w.mul_(0.1)
            w[:, :, 1, 1] += 0.2 + 0.8 * torch.rand(w.shape[0], w.shape[1])
            # The offset makes every float32 activation ~1e-5 uncertain (|conv1 out| ~ 90x its
            # spread), enough to flip a ReLU whose input lies that close to 0, and one flip puts
            # 1e-2..1e-1 into the gradients. Biases +2.5 (bn_bias_shift) keep every pre-ReLU
            # value > 1e-4 from 0.
        x = OFFSET + torch.randn(*case["x"])
        # Image 0's corner pixel (each channel's first element) far from the rest: a one-pass
        # variance shifted by the first element, as Lethe's CPU once had, cancels there too.
        x[0, :, 0, 0] += CORNER
    elif cfg["arch"] == "vit":
        x = torch.randn(*case["x"])
    else:
        x = torch.rand(*case["x"])
    y = torch.randint(0, cfg["num_classes"], (B,))
    return model, x, y


# ---------------------------------------------------------------------------------------------
# One step: eval forward, train forward/backward, running stats, one SGD step.


def bn_buffers(model):
    return [(n, b) for n, b in model.named_buffers()
            if n.endswith(("running_mean", "running_var", "num_batches_tracked"))]


def run_step(model, x, y, dtype):
    """Runs the reference step on a copy of model converted to dtype; returns named results."""
    m = copy.deepcopy(model).to(dtype)
    xin = x.to(dtype)
    r = {}
    m.eval()
    with torch.no_grad():
        r["eval.logits"] = m(xin)
    m.train()
    xin = xin.clone().requires_grad_(True)
    logits = m(xin)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    r["train.logits"] = logits.detach()
    r["train.loss"] = loss.detach().reshape(1)
    r["grad.input"] = xin.grad
    for n, p in m.named_parameters():
        r["grad." + n] = p.grad
    for n, b in bn_buffers(m):
        r["after_train." + n] = b.reshape(1) if b.dim() == 0 else b
    opt = torch.optim.SGD(m.parameters(), **SGD)
    opt.step()
    for n, p in m.named_parameters():
        r["after_sgd." + n] = p.detach()
    return {k: v.detach().clone() for k, v in r.items()}


def rel_err(a, b):
    a, b = a.double(), b.double()
    d = (a - b).abs().max().item()
    s = b.abs().max().item()
    return d / s if s > 0 else d


def group_of(name):
    if name.startswith("grad.") and name != "grad.input":
        return "grad.params"
    if name.startswith("after_train."):
        return "after_train"
    if name.startswith("after_sgd."):
        return "after_sgd"
    return name


GROUPS = ["eval.logits", "train.logits", "train.loss", "grad.params", "grad.input",
          "after_train", "after_sgd"]


def group_errors(ours, truth):
    errs, worst = {}, {}
    for k, t in truth.items():
        if k not in ours:
            continue
        g = group_of(k)
        e = rel_err(ours[k], t)
        if g not in errs or e > errs[g]:
            errs[g], worst[g] = e, k
    return {g: errs[g] for g in GROUPS if g in errs}, worst


# ---------------------------------------------------------------------------------------------
# safetensors I/O (no `safetensors` package needed).

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.float64: "F64"}
RDTYPES = {"F32": torch.float32, "I64": torch.int64, "F64": torch.float64}


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()  # host order: little-endian on every machine we run
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, v in header.items():
        a, b = v["data_offsets"]
        t = torch.frombuffer(bytearray(buf[8 + n + a:8 + n + b]), dtype=RDTYPES[v["dtype"]])
        out[name] = t.reshape(v["shape"]).clone()
    return out, meta


# ---------------------------------------------------------------------------------------------


class OnePassBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm with the one-pass variance E[d^2] - E[d]^2 of d = x - shift (the defect the offset
    case catches): shift 0, or (shift_first) each channel's first element, as Lethe's CPU backend
    once did."""

    shift_first = False

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        s = (1, -1, 1, 1)
        shift = x[0, :, 0, 0].detach() if self.shift_first else torch.zeros_like(x[0, :, 0, 0])
        d = x - shift.view(s)
        mean_d = d.mean((0, 2, 3))
        var = ((d * d).mean((0, 2, 3)) - mean_d * mean_d).clamp_min(0)
        mean = shift + mean_d
        n = x.numel() // x.shape[1]
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
            self.num_batches_tracked += 1
        return ((x - mean.view(s)) / torch.sqrt(var.view(s) + self.eps) * self.weight.view(s)
                + self.bias.view(s))


def with_one_pass_bn(model, shift_first=False):
    model = copy.deepcopy(model)
    for mod in list(model.modules()):
        for name, ch in list(mod.named_children()):
            if type(ch) is nn.BatchNorm2d:
                bn = OnePassBatchNorm2d(ch.num_features, ch.eps, ch.momentum)
                bn.shift_first = shift_first
                bn.load_state_dict(ch.state_dict())
                setattr(mod, name, bn)
    return model


def pre_relu_min(model, x):
    """Smallest |input| of any ReLU in the float64 train forward (how close a kink is)."""
    m = copy.deepcopy(model).double().train()
    found = []
    for mod in m.modules():
        if isinstance(mod, nn.ReLU):
            mod.inplace = False
            mod.register_forward_hook(lambda mod, i, o: found.append(i[0].abs().min().item()))
    with torch.no_grad():
        m(x.double())
    return min(found)


def generate(name, out_dir):
    case = CASES[name]
    cfg = case["cfg"]
    model, x, y = make_case(case)
    truth = run_step(model, x, y, torch.float64)
    f32 = run_step(model, x, y, torch.float32)
    errs, worst = group_errors(f32, truth)

    notes = []
    if cfg["arch"] == "resnet":
        notes.append("  min |pre-ReLU value| in the float64 train forward: %.1e"
                     % pre_relu_min(model, x))
    if case.get("offset"):
        with torch.no_grad():
            h = copy.deepcopy(model.conv1).double()(x.double())
        notes.append("  bn1 input: max mean^2/var over channels %.3g"
                     % (h.mean((0, 2, 3)) ** 2 / h.var((0, 2, 3))).max().item())
        bad = {g: e for g, e in errs.items() if e > 1e-4}
        if bad:
            sys.exit("%s: PyTorch float32 itself is far from the truth: %s" % (name, bad))
        for shift_first, what in ((False, "plain"), (True, "shifted by the first element")):
            one, _ = group_errors(
                run_step(with_one_pass_bn(model, shift_first), x, y, torch.float32), truth)
            notes.append("  a float32 one-pass BN variance (%s) would land at (x = multiple of "
                         "max(4*torch_f32_err, 1e-5), the verify tolerance):" % what)
            for g, e in one.items():
                notes.append("    %-13s %.2e  x%.1f" % (g, e, e / max(4 * errs[g], 1e-5)))
            if max(e / max(4 * errs[g], 1e-5) for g, e in one.items()) < 4:
                sys.exit("%s: a one-pass variance (%s) would not be caught" % (name, what))

    tensors = {}
    for n, t in model.state_dict().items():
        tensors["param." + n] = t.reshape(1) if t.dim() == 0 else t
    tensors["input.x"] = x
    tensors["input.y"] = y
    for k, t in truth.items():
        tensors[k] = t if t.dtype == torch.int64 else t.to(torch.float32)
    meta = {"model": json.dumps(cfg), "case": name, "loss": "cross_entropy(mean)",
            "sgd": json.dumps(SGD), "order": ORDER, "truth": "float64",
            "torch_f32_err": json.dumps(errs)}
    path = os.path.join(out_dir, name + ".safetensors")
    write_safetensors(path, tensors, meta)
    # The written file reads back to what was written.
    back, _ = read_safetensors(path)
    assert back.keys() == tensors.keys()
    assert all(torch.equal(back[k], tensors[k].to(back[k].dtype)) for k in tensors)

    nparam = sum(p.numel() for p in model.parameters())
    print("%s: %d parameters, %s, %.2f MB" % (name, nparam, path, os.path.getsize(path) / 1e6))
    print("  torch float32 error vs float64 truth (worst tensor of each group):")
    for g, e in errs.items():
        print("    %-13s %.2e  (%s)" % (g, e, worst[g]))
    print("\n".join(notes))
    return path


def check(path, dtype):
    """Rebuilds FILE's model, loads its param.*/input.*, and compares with its stored results."""
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["model"])
    model = build(cfg)
    sd = {}
    for n, t in model.state_dict().items():
        sd[n] = tensors["param." + n].reshape(t.shape)
    model.load_state_dict(sd, strict=True)
    extra = [k for k in tensors if k.startswith("param.") and k[6:] not in sd]
    assert not extra, "unused tensors in %s: %s" % (path, extra)
    ours = run_step(model, tensors["input.x"], tensors["input.y"], dtype)
    missing = [k for k in tensors if not k.startswith(("param.", "input.")) and k not in ours]
    assert not missing, "not reproduced: %s" % missing
    ref = {k: t for k, t in tensors.items() if k in ours}
    errs, worst = group_errors(ours, ref)
    print("%s (run in %s): max relative error per group" % (path, str(dtype).split(".")[1]))
    for g, e in errs.items():
        print("    %-13s %.2e  (%s)" % (g, e, worst[g]))
    return max(errs.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--check", metavar="FILE", action="append", default=[])
    ap.add_argument("--check-dtype", choices=["float64", "float32"], default="float64")
    a = ap.parse_args()
    if not (a.case or a.all or a.check):
        ap.error("give --case NAME, --all or --check FILE")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for f in a.check:
        check(f, getattr(torch, a.check_dtype))
    names = sorted(CASES) if a.all else ([a.case] if a.case else [])
    total = 0
    for n in names:
        total += os.path.getsize(generate(n, a.out))
    if len(names) > 1:
        print("total %.2f MB" % (total / 1e6))


if __name__ == "__main__":
    main()
