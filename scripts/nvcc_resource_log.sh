#!/bin/sh
# Compiler launcher for nvcc: runs the compile given as arguments 2.., writes the
# `--resource-usage` report (registers, shared/local/constant memory per kernel and architecture)
# to DIR/<object>.txt (argument 1), and passes every other diagnostic through. The PTX of the
# compile (kept in a temporary directory) adds one line per kernel with a `__launch_bounds__`:
#   lethe maxntid '<mangled name>' for 'sm_XX': X Y Z
# (scripts/gen_launch_limits.py reads both into the emulator's table of kernel limits).
set -eu
dir=$1
shift
obj=unknown
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then obj=$(basename "$a"); fi
  prev=$a
done
mkdir -p "$dir"
log=$(mktemp)
keep=$(mktemp -d)
status=0
"$@" --keep --keep-dir "$keep" >"$log" 2>&1 || status=$?
grep -E "^ptxas info|bytes stack frame" "$log" >"$dir/$obj.txt.tmp" || true
for ptx in "$keep"/*.ptx; do
  [ -e "$ptx" ] || continue
  arch=$(basename "$ptx" | sed -n 's/.*\.compute_\([0-9]*\)\.ptx$/sm_\1/p')
  awk -v arch="$arch" '
    /\.entry / { name = $0; sub(/.*\.entry[ \t]+/, "", name); sub(/\(.*/, "", name); next }
    name != "" && /^\.maxntid/ { v = $0; sub(/^\.maxntid[ \t]+/, "", v); gsub(/,/, "", v);
      printf "lethe maxntid '\''%s'\'' for '\''%s'\'': %s\n", name, arch, v; name = "" }
    /^\{/ { name = "" }' "$ptx" >>"$dir/$obj.txt.tmp"
done
mv "$dir/$obj.txt.tmp" "$dir/$obj.txt"
grep -v -E "^ptxas info|bytes stack frame" "$log" >&2 || true
rm -rf "$log" "$keep"
exit $status
