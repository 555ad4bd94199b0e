#!/usr/bin/env python3
"""The largest functions of the tree, by lines from signature to closing brace. Relies on the
formatting (.clang-format, Google style): a definition starts at column 0 and ends at the next
'}' alone at column 0. Usage: scripts/function_sizes.py [N] [ROOT] — prints the N largest
(default 15) of engine, kernels, data, models, eval, train, unlearn and apps."""
import pathlib
import re
import sys

FOLDERS = ["engine", "kernels", "data", "models", "eval", "train", "unlearn", "apps"]
NOT_FUNCTION = re.compile(r"^(namespace|struct|class|enum|union|template|using|typedef|extern|static_assert|#|//|/\*|\}|\s|$)")


def functions(path):
    lines = path.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not NOT_FUNCTION.match(line) and "(" in line and not line.rstrip().endswith(";"):
            start = i
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("{"):
                k = j + 1
                while k < len(lines) and lines[k].rstrip() not in ("}", "};"):
                    k += 1
                name = re.sub(r"\s+", " ", line.split("(")[0]).strip().split(" ")[-1]
                yield name, start + 1, k - start + 1
                i = k
        i += 1


def main():
    args = sys.argv[1:]
    n = int(args[0]) if args else 15
    root = pathlib.Path(args[1] if len(args) > 1 else ".")
    found = []
    for folder in FOLDERS:
        for p in sorted((root / folder).rglob("*")):
            if p.suffix in (".cpp", ".cu", ".h", ".cuh") and p.is_file():
                for name, line, size in functions(p):
                    found.append((size, f"{p.relative_to(root)}:{line}", name))
    found.sort(reverse=True)
    for size, where, name in found[:n]:
        print(f"{size:5d}  {name:40s} {where}")


if __name__ == "__main__":
    main()
