#!/bin/sh
# Jobs of 2 ranks on this machine (engine/dist): ctest `dist` (MODE suite: the doctest suite
# "dist" under mpirun) and `dist_cli` (MODE cli: lethe train/unlearn data-parallel, reference
# models on 2 ranks bit for bit equal to 1 rank, a failing rank, a restart that reuses units).
# Exit 77 (ctest: skipped) with a message when mpirun is absent or lethe was built without MPI.
set -u
MODE="$1"
LETHE="$2"
TESTS="$3"
MPIRUN="$(command -v mpirun || command -v mpiexec || true)"
if [ -z "$MPIRUN" ]; then
  echo "SKIPPED: no mpirun on PATH (make deps installs openmpi-bin libopenmpi-dev)"
  exit 77
fi
if ! "$LETHE" info | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['mpi']['compiled'] else 1)"; then
  echo "SKIPPED: lethe was built without MPI (install libopenmpi-dev, reconfigure)"
  exit 77
fi
# --oversubscribe: 2 ranks whatever the core count; as root (CI containers) OpenMPI needs
# --allow-run-as-root. One OpenMP thread per rank, waiting passively: 2 ranks share 2 cores.
ROOTFLAG=""
if [ "$(id -u)" -eq 0 ]; then ROOTFLAG="--allow-run-as-root"; fi
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
np() { n="$1"; shift; "$MPIRUN" -np "$n" --oversubscribe --bind-to none $ROOTFLAG "$@"; }

if [ "$MODE" = suite ]; then
  np 2 "$TESTS" --test-suite=dist
  exit $?
fi

T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail=0
ok() { if ! "$@" >"$T/out" 2>"$T/err"; then echo "FAIL (exit $?): $*"; cat "$T/err"; fail=1; fi; }
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
DATA="synthetic:mixture:4:16:400"

# lethe info under mpirun: each rank knows the job's size.
ok np 2 "$LETHE" info
check "grep -q '\"ranks\": 2' '$T/out'" "info under mpirun -np 2 does not report 2 ranks"

# Data-parallel training: rank 0 writes the run directory, rank 1 only its log.
ok np 2 "$LETHE" train --model mlp --data "$DATA" --epochs 2 --batch 64 --lr 0.05 --augment none \
  --threads 1 --out "$T/dp"
for f in config.json model.safetensors metrics.json log.jsonl log.rank-1.jsonl; do
  check "[ -s '$T/dp/$f' ]" "data-parallel run lacks $f"
done
check "[ ! -e '$T/dp/log.rank-0.jsonl' ]" "rank 0 wrote a rank log"
check "grep -q '\"ranks\": 2' '$T/dp/metrics.json'" "metrics.json does not record 2 ranks"
check "[ \"\$(grep -c '\"test_acc\"' '$T/out')\" -eq 1 ]" "metrics printed by more than one rank"
# The main job's model (ResNet-18, width 8, BatchNorm per rank) on Fashion-MNIST, kept short.
ok np 2 "$LETHE" train --model resnet18 --width 8 --data fashion-mnist --subset 128 --epochs 1 \
  --batch 64 --augment none --eval-every 0 --threads 1 --out "$T/resnet"
check "grep -q '\"ranks\": 2' '$T/resnet/metrics.json'" "ResNet data-parallel run lacks metrics.json"
# The same with synchronised batch norm (statistics of the global batch), recorded in config.json.
ok np 2 "$LETHE" train --model resnet18 --width 8 --data fashion-mnist --subset 128 --epochs 1 \
  --batch 64 --augment none --eval-every 0 --threads 1 --sync-bn --out "$T/resnet-sync"
check "grep -q '\"sync_bn\": true' '$T/resnet-sync/config.json'" "--sync-bn is not in config.json"
check "! cmp -s '$T/resnet/model.safetensors' '$T/resnet-sync/model.safetensors'" "--sync-bn changed nothing"
# Data-parallel unlearning (ft's epochs are the shared loop).
ok np 2 "$LETHE" unlearn --from "$T/dp" --method ft --forget random:0.1 --epochs 1 --threads 1 \
  --out "$T/dp-ft"
check "grep -q '\"ranks\": 2' '$T/dp-ft/metrics.json'" "unlearn metrics.json does not record 2 ranks"
# --seeds: seed i is rank i mod 2's unit; each seed's model is the 1-rank run's, seeds.json on rank 0.
SEEDS="unlearn --from $T/dp --method ft --forget random:0.1 --epochs 1 --threads 1 --seeds 3"
ok "$LETHE" $SEEDS --out "$T/seeds1"
ok np 2 "$LETHE" $SEEDS --out "$T/seeds2"
for s in 0 1 2; do
  check "cmp -s '$T/seeds1/seed-$s/model.safetensors' '$T/seeds2/seed-$s/model.safetensors'" \
    "--seeds: seed $s differs between 1 and 2 ranks"
done
check "[ -s '$T/seeds2/seeds.json' ] && grep -q 'rank 1/2: seed 1' '$T/err'" "--seeds on 2 ranks: seed 1 not on rank 1, or no seeds.json"

# Reference models: units spread over 2 ranks, bit for bit the models of 1 rank.
REF="train --model mlp --data $DATA --epochs 1 --batch 32 --augment none --threads 1 --reference-models 8"
ok "$LETHE" $REF --out "$T/ref1"
ok np 2 "$LETHE" $REF --out "$T/ref2"
for f in logits.safetensors inclusion.safetensors ref_0/logits.safetensors ref_3/logits.safetensors \
  ref_1/model.safetensors ref_2/model.safetensors; do
  check "cmp -s '$T/ref1/$f' '$T/ref2/$f'" "reference models: $f differs between 1 and 2 ranks"
done
check "grep -q '\"rank\": 1' '$T/ref2/ref_3/unit.json'" "model 3 was not rank 1's unit"
# A unit that fails on rank 1 (ref_3 cannot be created) fails the job with rank 1's line and
# leaves no metrics.json; the rerun trains only what is missing.
rm -rf "$T/ref2/ref_3" "$T/ref2/metrics.json" "$T/ref2/logits.safetensors"
touch "$T/ref2/ref_3"
if np 2 "$LETHE" $REF --out "$T/ref2" >"$T/out" 2>"$T/err"; then
  echo "FAIL: a failing rank did not fail the job"; fail=1
fi
check "grep -q 'lethe: error: rank 1/2: ' '$T/err'" "the failing rank's error line is missing"
check "[ ! -e '$T/ref2/metrics.json' ]" "a failed job wrote metrics.json"
rm -f "$T/ref2/ref_3"
ok np 2 "$LETHE" $REF --out "$T/ref2"
check "grep -q 'reused' '$T/err'" "the restart did not reuse finished units"
python3 - "$T/ref2/metrics.json" <<'PY' || fail=1
import json, sys
m = json.load(open(sys.argv[1]))["reference_models"]
reused = [u["reused"] for u in m]
if reused != [k != 3 for k in range(8)]:
    sys.exit(f"FAIL: restart reused {reused}, expected every model but 3 reused and 3 trained")
PY
check "cmp -s '$T/ref1/logits.safetensors' '$T/ref2/logits.safetensors'" "restarted job differs from 1 rank"

# SISA shards as units: 2 ranks write the checkpoints 1 rank writes.
SISA="train --model mlp --data $DATA --epochs 2 --batch 32 --augment none --threads 1 --sisa 3:2"
ok "$LETHE" $SISA --out "$T/sisa1"
ok np 2 "$LETHE" $SISA --out "$T/sisa2"
for f in "$T"/sisa1/sisa/shard-*/*.safetensors "$T/sisa1/model.safetensors"; do
  g="$T/sisa2/${f#"$T"/sisa1/}"
  check "cmp -s '$f' '$g'" "SISA: ${f#"$T"/sisa1/} differs between 1 and 2 ranks"
done
check "grep -q '\"shard\":1,' '$T/sisa2/log.rank-1.jsonl'" "SISA: shard 1 was not rank 1's unit"
# SISA deletion: only the shards holding a forgotten row are retrained, each by the rank that
# owns it (s mod 2), and the result is the 1-rank result byte for byte.
ok "$LETHE" unlearn --from "$T/sisa1" --method sisa --forget random:4 --threads 1 --out "$T/sisa1-u"
ok np 2 "$LETHE" unlearn --from "$T/sisa1" --method sisa --forget random:4 --threads 1 \
  --out "$T/sisa2-u"
for f in "$T"/sisa1-u/sisa/shard-*/*.safetensors; do
  g="$T/sisa2-u/${f#"$T"/sisa1-u/}"
  check "cmp -s '$f' '$g'" "SISA deletion: ${f#"$T"/sisa1-u/} differs between 1 and 2 ranks"
done
python3 - "$T/sisa1-u/metrics.json" "$T/sisa2-u/metrics.json" <<'PY' || fail=1
import json, sys
one, two = (json.load(open(p))["method_report"] for p in sys.argv[1:])
r1 = [(x["shard"], x["first_slice"]) for x in one["requests"][0]["shards_retrained"]]
r2 = two["requests"][0]["shards_retrained"]
if r1 != [(x["shard"], x["first_slice"]) for x in r2] or any(x["rank"] != x["shard"] % 2 for x in r2):
    sys.exit(f"FAIL: SISA deletion retrained {r2} on 2 ranks, {r1} on 1")
if not 0 < len(r1) <= 3 or one["work_redone_samples_epochs"] != two["work_redone_samples_epochs"]:
    sys.exit("FAIL: SISA deletion work differs or retrained no shard")
print("sisa deletion: retrained", r2)
PY
# Sweep runs as units: each run's model is the one a 1-rank sweep writes.
SWEEP="sweep --from $T/one --method ft --layers head,all --forget random:0.1 --epochs 1 --mia loss --no-bn-stats --threads 1"
ok "$LETHE" train --model mlp --data "$DATA" --epochs 1 --batch 32 --augment none --threads 1 \
  --out "$T/one"
ok "$LETHE" $SWEEP --out "$T/sweep1"
ok np 2 "$LETHE" $SWEEP --out "$T/sweep2"
for r in retrain-head retrain-all ft-head ft-all; do
  check "cmp -s '$T/sweep1/$r/model.safetensors' '$T/sweep2/$r/model.safetensors'" \
    "sweep: $r differs between 1 and 2 ranks"
done
check "[ -s '$T/sweep2/sweep.json' ]" "sweep on 2 ranks wrote no sweep.json"
# Tune candidates as units: every candidate's model, the tables' scores and the winner equal the
# 1-rank search's; candidates 2 and 4 ran on rank 1; a rerun on 2 ranks redoes nothing.
# (Overlapping classes, so that the candidates score differently.)
ok "$LETHE" train --model mlp --data "synthetic:mixture:4:16:400:sep=0.5" --epochs 3 --batch 32 \
  --augment none --threads 1 --out "$T/tune-orig"
ok "$LETHE" unlearn --from "$T/tune-orig" --method retrain --forget random:0.1 --threads 1 --out "$T/rt"
ok "$LETHE" eval --from "$T/rt" --forget-file "$T/rt/forget.txt" --mia svc --threads 1 --out "$T/rt-eval"
TUNE="tune --from $T/tune-orig --method ft --forget random:0.1 --reference $T/rt-eval --gap svc --grid lr=0.01,0.1 epochs=1,2 --threads 1"
ok "$LETHE" $TUNE --out "$T/tune1"
ok np 2 "$LETHE" $TUNE --out "$T/tune2"
check "grep -q 'tune: rank 1/2: \[2/4\]' '$T/err' && grep -q 'tune: rank 1/2: \[4/4\]' '$T/err'" \
  "tune: candidates 2 and 4 did not run on rank 1"
for c in $(ls "$T/tune1/candidates" | grep -v -- -eval); do
  check "cmp -s '$T/tune1/candidates/$c/model.safetensors' '$T/tune2/candidates/$c/model.safetensors'" \
    "tune: candidate $c differs between 1 and 2 ranks"
done
check "cmp -s '$T/tune1/winner.args' '$T/tune2/winner.args'" "tune: the winner differs between 1 and 2 ranks"
check "[ \"\$(cut -f1-8,10 '$T/tune1/tune.tsv')\" = \"\$(cut -f1-8,10 '$T/tune2/tune.tsv')\" ]" \
  "tune: scores differ between 1 and 2 ranks (tune.tsv without the time column)"
ok np 2 "$LETHE" $TUNE --out "$T/tune2"
check "[ \"\$(grep -c 'complete, read back' '$T/err')\" -ge 4 ]" "tune: a rerun on 2 ranks redid candidates"

[ "$fail" -eq 0 ] && echo "dist cli: all checks passed"
exit "$fail"
