#!/usr/bin/env python3
"""Compares two .safetensors files tensor by tensor (standard library only): prints, per tensor,
whether its bytes are identical, and the largest absolute difference for F32 tensors. With
--only=PREFIX[,PREFIX] restricts to tensors under one of the module prefixes, --except=...
leaves them out;
--summary prints only the counts. Used to show that a scoped unlearning run left every tensor
outside its scope bit-identical (docs/EXPERIMENTS.md)."""
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: (v["dtype"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    only, skip = [], []
    for a in sys.argv[1:]:
        if a.startswith("--only="):
            only = a[len("--only="):].split(",")
        if a.startswith("--except="):
            skip = a[len("--except="):].split(",")
    summary = "--summary" in sys.argv
    if len(args) != 2:
        sys.exit("usage: safetensors_diff.py A.safetensors B.safetensors [--only=P,Q] [--except=P,Q] [--summary]")
    a, b = load(args[0]), load(args[1])
    same = differ = 0
    for name in a:
        def under(ps):
            return any(name == p or name.startswith(p + ".") for p in ps)
        if (only and not under(only)) or under(skip):
            continue
        if name not in b:
            print(f"{name}: missing in {args[1]}")
            differ += 1
            continue
        (da, ba), (db, bb) = a[name], b[name]
        if ba == bb and da == db:
            same += 1
            if not summary:
                print(f"{name}: identical")
            continue
        differ += 1
        if not summary:
            d = "?"
            if da == db == "F32":
                va = struct.unpack(f"<{len(ba)//4}f", ba)
                vb = struct.unpack(f"<{len(bb)//4}f", bb)
                d = f"{max(abs(x - y) for x, y in zip(va, vb)):.3g}"
            print(f"{name}: differs (max |diff| {d})")
    print(f"{same} identical, {differ} differ")


if __name__ == "__main__":
    main()
