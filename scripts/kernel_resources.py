#!/usr/bin/env python3
"""Tables nvcc's --resource-usage reports of a CUDA build (BUILD/cuda_resource_usage/*.txt, written
by scripts/nvcc_resource_log.sh) as markdown: one row per kernel, registers / static shared memory
/ spills per architecture. Usage: scripts/kernel_resources.py build/cpu-release"""
import re
import subprocess
import sys
from pathlib import Path


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
    return dict(zip(names, out))


def parse_reports(report_dir):
    """The reports of scripts/nvcc_resource_log.sh in report_dir: ({(object, mangled): {arch: [regs,
    smem, spill]}} as strings, {mangled: {arch: max threads per block}} of the __launch_bounds__)."""
    rows, bounds = {}, {}
    for f in sorted(Path(report_dir).glob("*.txt")):
        obj = f.name.split(".")[0]
        cur = None
        for line in f.read_text().splitlines():
            m = re.search(r"^lethe maxntid '(\w+)' for '(sm_\d+)': (\d+) (\d+) (\d+)", line)
            if m:
                bounds.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3)) * int(m.group(4)) * int(m.group(5))
                continue
            m = re.search(r"Compiling entry function '(\w+)' for '(sm_\d+)'", line)
            if m:
                cur = (m.group(1), m.group(2))
                rows.setdefault((obj, cur[0]), {})[cur[1]] = ["?", "0", "0"]
                continue
            if cur is None:
                continue
            entry = rows[(obj, cur[0])][cur[1]]
            m = re.search(r"(\d+) bytes spill stores", line)
            if m:
                entry[2] = m.group(1)
            m = re.search(r"Used (\d+) registers", line)
            if m:
                entry[0] = m.group(1)
                s = re.search(r"(\d+) bytes smem", line)
                entry[1] = s.group(1) if s else "0"
    return rows, bounds


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "build/cpu-release")
    rows, _ = parse_reports(build / "cuda_resource_usage")
    names = demangle(sorted({k[1] for k in rows}))
    print("| file | kernel | sm_80 regs / smem B / spill B | sm_90 regs / smem B / spill B |")
    print("|---|---|---|---|")
    for (obj, mangled), archs in sorted(rows.items()):
        pretty = names.get(mangled, mangled)
        # Name and template arguments only: drop the return type, namespaces and parameters.
        pretty = re.sub(r"^void ", "", pretty)
        depth, cut = 0, len(pretty)
        for i, ch in enumerate(pretty):
            depth += ch == "<"
            depth -= ch == ">"
            if ch == "(" and depth == 0 and not pretty[:i].endswith("anonymous namespace"):
                if not pretty[i:].startswith("(anonymous"):
                    cut = i
                    break
        pretty = pretty[:cut]
        pretty = re.sub(r"\(anonymous namespace\)::|lethe::kcuda::|lethe::fn::", "", pretty).replace("|", "\\|")
        cells = [" / ".join(archs[a]) if a in archs else "-" for a in ("sm_80", "sm_90")]
        print(f"| {obj} | `{pretty}` | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
