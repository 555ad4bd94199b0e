#!/bin/sh
# Compiler launcher for nvcc: runs the compile given as arguments 2.., writes the
# `--resource-usage` report (registers, shared/local/constant memory per kernel and architecture)
# to DIR/<object>.txt (argument 1), and passes every other diagnostic through.
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
status=0
"$@" >"$log" 2>&1 || status=$?
grep -E "^ptxas info|bytes stack frame" "$log" >"$dir/$obj.txt.tmp" || true
mv "$dir/$obj.txt.tmp" "$dir/$obj.txt"
grep -v -E "^ptxas info|bytes stack frame" "$log" >&2 || true
rm -f "$log"
exit $status
