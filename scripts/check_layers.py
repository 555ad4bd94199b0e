#!/usr/bin/env python3
"""The layer rule of docs/ARCHITECTURE.md: a source file includes only its own layer and the
layers below it. Layers, lowest first (kernels/common < kernels/cpu, kernels/cuda, kernels/emu):

    kernels -> engine -> data -> models -> eval -> train -> unlearn -> apps

tests/ and bench/ may include anything. Prints the include graph by layer (edge counts) and every
upward include; exits 1 when there is one. Usage: scripts/check_layers.py [REPO_ROOT] [--quiet]"""
import collections
import pathlib
import re
import sys

LAYERS = ["kernels", "engine", "data", "models", "eval", "train", "unlearn", "apps"]
SOURCES = (".h", ".hpp", ".cpp", ".cu", ".cuh", ".in")


def layer_of(path):
    top = path.split("/", 1)[0]
    return top if top in LAYERS else None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quiet = "--quiet" in sys.argv
    root = pathlib.Path(args[0] if args else ".").resolve()
    edges = collections.Counter()
    upward = []
    for layer in LAYERS:
        for p in sorted((root / layer).rglob("*")):
            if p.suffix not in SOURCES or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                target = layer_of(m.group(1))
                if target is None or target == layer:
                    continue
                edges[(layer, target)] += 1
                if LAYERS.index(target) > LAYERS.index(layer):
                    upward.append(f"{rel}:{n} includes {m.group(1)} ({layer} -> {target})")
    if not quiet:
        print("include graph by layer (lowest first; edges point down):")
        for a in LAYERS:
            outs = [f"{b} {edges[(a, b)]}" for b in LAYERS if edges[(a, b)]]
            print(f"  {a:8s} -> {', '.join(outs) if outs else '(nothing)'}")
    if upward:
        print(f"{len(upward)} upward include(s):")
        for u in upward:
            print("  " + u)
        return 1
    print("no upward include")
    return 0


if __name__ == "__main__":
    sys.exit(main())
