#!/bin/sh
# The first-GPU check, one command: scripts/gpu_check.sh [--device cuda|emu] [--out FILE]
#
# --device cuda (default; needs an NVIDIA GPU, its driver and compute-sanitizer from the CUDA
#   toolkit): builds the `cuda` preset, runs the kernel and op suites on the device under
#   compute-sanitizer (memcheck, racecheck, synccheck, initcheck), times Lethe's own GEMM, conv,
#   batch-norm and softmax kernels against cuBLAS/cuDNN on the ResNet-50 and vit-small shapes
#   (bench/bench_device), and times a whole training step (lethe train, one epoch).
# --device emu: the same script on the SIMT emulator with tiny shapes and no sanitizer (the
#   emulator checks bounds, guard bytes and barriers itself) — how it is exercised without a GPU.
#   Emulator times are never GPU times.
# Writes one JSON (default gpu_check.json) and prints it; exits non-zero when a suite fails.
set -eu
cd "$(dirname "$0")/.."
DEVICE=cuda
OUT=gpu_check.json
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "gpu_check: unknown option $1 (use --device cuda|emu, --out FILE)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cuda) PRESET="${PRESET:-cuda}"; SHAPES=studies ;;
  emu) PRESET="${PRESET:-cpu-release}"; SHAPES=tiny ;;
  *) echo "gpu_check: --device must be cuda or emu, got '$DEVICE'" >&2; exit 2 ;;
esac
BUILD="build/$PRESET"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ "$DEVICE" = cuda ]; then
  command -v nvidia-smi >/dev/null || { echo "gpu_check: nvidia-smi not found: no NVIDIA driver here (try --device emu)" >&2; exit 2; }
  SANITIZER="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
  [ -x "$SANITIZER" ] || { echo "gpu_check: compute-sanitizer not found (CUDA toolkit)" >&2; exit 2; }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$WORK/gpu.txt"
else
  echo "emulator (no GPU)" > "$WORK/gpu.txt"
fi

echo "gpu_check: building $PRESET" >&2
cmake --preset "$PRESET" > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target lethe lethe_tests bench_device > /dev/null

# suite NAME COMMAND...: runs it, records pass/fail and seconds in $WORK/suites.txt.
suite() {
  name="$1"; shift
  echo "gpu_check: $name" >&2
  t0=$(date +%s)
  if "$@" > "$WORK/$name.log" 2>&1; then st=pass; else st=fail; tail -20 "$WORK/$name.log" >&2; fi
  echo "$name $st $(( $(date +%s) - t0 ))" >> "$WORK/suites.txt"
}
: > "$WORK/suites.txt"
if [ "$DEVICE" = cuda ]; then
  # The op suite compares every backend present, the `cuda` backend included when a device
  # answers; lethe_cuda_tests --device-tests runs the kernels on the device.
  for tool in memcheck racecheck synccheck initcheck; do
    suite "ops-$tool" "$SANITIZER" --tool "$tool" --error-exitcode 1 "$BUILD/lethe_tests" --test-suite=ops
    suite "device-$tool" "$SANITIZER" --tool "$tool" --error-exitcode 1 "$BUILD/lethe_cuda_tests" --device-tests
  done
else
  suite kernels "$BUILD/lethe_tests" --test-suite=kernels
  suite ops "$BUILD/lethe_tests" --test-suite=ops
fi

echo "gpu_check: own kernels vs vendor ($SHAPES shapes)" >&2
"$BUILD/bench_device" --device "$DEVICE" --shapes "$SHAPES" > "$WORK/bench.json"

echo "gpu_check: a training step" >&2
# On a GPU: ResNet-50 on 2048 Fashion-MNIST images (make deps installs the dataset). On the
# emulator: a width-8 ResNet-18 on a 64/32-image IDX set of random 28×28 images written here (the
# full 10,000-image test evaluation would take the emulator many minutes).
if [ "$DEVICE" = cuda ]; then
  DATA="fashion-mnist"; TRAIN="--model resnet50 --subset 2048 --batch 32"
else
  python3 - "$WORK/idx" <<'PY'
import os, random, struct, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True); rng = random.Random(0)
for prefix, n in (("train", 64), ("t10k", 32)):
    with open(os.path.join(d, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(rng.randrange(256) for _ in range(n * 784)))
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(rng.randrange(10) for _ in range(n)))
PY
  DATA="mnist:$WORK/idx"; TRAIN="--model resnet18 --width 8 --batch 32"
fi
# shellcheck disable=SC2086
"$BUILD/lethe" train $TRAIN --data "$DATA" --epochs 1 --augment none --eval-every 0 \
  --device "$DEVICE" --out "$WORK/train" > /dev/null

python3 - "$WORK" "$DEVICE" "$PRESET" "$OUT" <<'PY'
import json, os, subprocess, sys
work, device, preset, out = sys.argv[1:5]
suites = {}
for line in open(os.path.join(work, "suites.txt")):
    name, st, secs = line.split()
    suites[name] = {"status": st, "seconds": int(secs)}
log = [json.loads(l) for l in open(os.path.join(work, "train", "log.jsonl"))]
metrics = json.load(open(os.path.join(work, "train", "metrics.json")))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
result = {
    "device": device,
    "gpu": open(os.path.join(work, "gpu.txt")).read().strip(),
    "preset": preset,
    "commit": commit,
    "note": "emulator times are not GPU times" if device == "emu" else "measured on the GPU above",
    "suites": suites,
    "kernels": json.load(open(os.path.join(work, "bench.json"))),
    "train_step": {"epoch": log[-1], "device_options": metrics.get("device_options"),
                   "wall_s": metrics.get("wall_s", metrics.get("train_s"))},
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(result, f, indent=2)
os.replace(tmp, out)
print(json.dumps(result, indent=2))
sys.exit(0 if all(s["status"] == "pass" for s in suites.values()) else 1)
PY
