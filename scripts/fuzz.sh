#!/bin/sh
# Builds the libFuzzer targets fuzz/fuzz_*.cpp with clang and runs each for FUZZ_SECONDS
# (default 60), or, with FUZZ_RUNS=N, for N executions (the CI smoke run). Needs the release
# build (build/cpu-release): the parsers below are compiled again with coverage, ASan and UBSan
# instrumentation; the rest of the engine is linked from the release libraries (why: a whole
# second, instrumented build of the engine takes longer than the fuzzing itself on 2 cores).
# Findings go to build/fuzz/findings/<target>/; corpora grow in build/fuzz/corpus/<target>/,
# seeded from fuzz/corpus/<target>/.
# Usage: scripts/fuzz.sh [target...]    (targets: safetensors idx cifar image csv config forget manifest)
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# FUZZ_RELEASE: another copy of the release libraries (e.g. a snapshot, while the build changes).
REL="${FUZZ_RELEASE:-$ROOT/build/cpu-release}"
OUT="$ROOT/build/fuzz"
CXX="${FUZZ_CXX:-clang++}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
[ -f "$REL/liblethe_train.a" ] || { echo "fuzz: build the release first (make build)" >&2; exit 1; }
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (scripts/deps.sh clang libclang-rt-14-dev)" >&2; exit 1; }

# The parsers of outside data, instrumented.
PARSERS="engine/io/safetensors.cpp engine/io/tensor_io.cpp data/idx.cpp data/cifar.cpp data/csv.cpp
data/tabular.cpp data/image_folder.cpp data/forget.cpp data/normalization.cpp models/checkpoint.cpp
models/registry.cpp train/sisa_train.cpp train/amnesiac.cpp"
mkdir -p "$OUT/obj"
FLAGS="-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -I$ROOT -isystem /usr/include/stb"
OBJS=""
for src in $PARSERS; do
  obj="$OUT/obj/$(echo "$src" | tr / _).o"
  # Again when the source or any release library changed (headers are not tracked here).
  if [ ! -f "$obj" ] || [ "$ROOT/$src" -nt "$obj" ] || [ "$REL/liblethe_train.a" -nt "$obj" ]; then
    echo "fuzz: compiling $src"
    $CXX $FLAGS -fsanitize=fuzzer-no-link -c "$ROOT/$src" -o "$obj"
  fi
  OBJS="$OBJS $obj"
done
# The libraries `lethe` itself links, read from CMake's link line for it: whatever this build
# has (MPI, the CUDA kernels and runtime, cuDNN) comes along without being listed here.
LINK_TXT="$REL/CMakeFiles/lethe.dir/link.txt"
[ -f "$LINK_TXT" ] || { echo "fuzz: $LINK_TXT missing (build the release first: make build)" >&2; exit 1; }
LIBS=""
first=1
skip=0
for tok in $(cat "$LINK_TXT"); do
  if [ "$first" = 1 ]; then first=0; continue; fi   # the compiler
  if [ "$skip" = 1 ]; then skip=0; continue; fi      # the output name after -o
  case "$tok" in
    -o) skip=1 ;;
    *.o | -O* | -DNDEBUG | -g) ;;                     # lethe's own objects and compile flags
    liblethe_*.a) LIBS="$LIBS $REL/$tok" ;;
    *) LIBS="$LIBS $tok" ;;
  esac
done
LIBS="-Wl,--start-group $LIBS -Wl,--end-group"
SYSLIBS="-lpthread -ldl"

TARGETS="${*:-safetensors idx cifar image csv config forget manifest}"
status=0
for t in $TARGETS; do
  bin="$OUT/fuzz_$t"
  src="$ROOT/fuzz/fuzz_$t.cpp"
  [ -f "$src" ] || { echo "fuzz: no target $t ($src)" >&2; exit 1; }
  echo "fuzz: linking fuzz_$t"
  $CXX $FLAGS -fsanitize=fuzzer "$src" $OBJS $LIBS $SYSLIBS -o "$bin"
  mkdir -p "$OUT/corpus/$t" "$OUT/findings/$t"
  seeds="$ROOT/fuzz/corpus/$t"
  if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$SECONDS_EACH"; fi
  echo "fuzz: running fuzz_$t ($limit)"
  if ! "$bin" "$OUT/corpus/$t" "$seeds" $limit -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$OUT/findings/$t/" -print_final_stats=1 >"$OUT/$t.log" 2>&1; then
    echo "fuzz: fuzz_$t FOUND A FAILURE: $(grep -m1 'ERROR\|SUMMARY\|==ERROR' "$OUT/$t.log")"
    echo "      input in $OUT/findings/$t/, log $OUT/$t.log"
    status=1
  fi
  grep -h "stat::number_of_executed_units\|cov:" "$OUT/$t.log" | tail -2 | sed "s/^/fuzz: $t: /"
done
exit $status
