#!/bin/sh
# Fair machine unlearning, the experiment of Oesterling, Ma, Calmon, Lakkaraju (AISTATS 2024)
# regenerated on German credit (protected: Age<25) and HMDA (protected: afam): a fair logistic
# regression (--fair eo:lambda=GAMMA, float64 Newton), then 1%, 5% and 10% of the training rows
# removed at random and all from the minority group, by retrain, fair-newton, newton, ft and ga;
# accuracy, group-fairness differences, distance to the retrained parameters and time. Also a
# γ-sweep (the accuracy–fairness curve), the same on an MLP's head (hmda-mlp), and sequential
# certified removal. Writes OUT/table.md, OUT/*.svg. Under a minute on 2 cores.
#
#   scripts/fair_unlearning.sh                  # LETHE=build/cpu-release/lethe OUT=runs/fair
#   GAMMA=1 L2=1e-3 METHODS="retrain fair-newton newton" scripts/fair_unlearning.sh
set -eu
cd "$(dirname "$0")/.."
LETHE=${LETHE:-build/cpu-release/lethe}
OUT=${OUT:-runs/fair}
DATA=${DATA:-../shared/data}
[ -f "$DATA/hmda.csv" ] || DATA=tests/data
DATA=$(cd "$DATA" && pwd)  # runs record their data spec: absolute, so they work from anywhere
L2=${L2:-1e-3}
GAMMA=${GAMMA:-1}
SWEEP=${SWEEP:-"0 0.01 0.03 0.1 0.3 1 3 10"}
FRACS=${FRACS:-"0.01 0.05 0.1"}
METHODS=${METHODS:-"retrain fair-newton newton ft ga"}
SEED=${SEED:-0}
[ -x "$LETHE" ] || { echo "fair_unlearning: $LETHE not built (cmake --build build/cpu-release)" >&2; exit 1; }
mkdir -p "$OUT"

run() { # quiet unless it fails
  if ! "$@" >"$OUT/last.log" 2>&1; then cat "$OUT/last.log" >&2; exit 1; fi
}

# hmda-mlp: the same on deep features (item 4): an MLP (256-256) trained by SGD, its head re-solved
# with the penalty over the frozen prefix (--head-from), every method scoped to the head.
for ds in german hmda hmda-mlp; do
  layers=all
  case $ds in
    german) spec="csv:$DATA/german_credit.csv:label=Class:protected=Age<25"; group="Age<25" ;;
    hmda) spec="csv:$DATA/hmda.csv:label=deny:protected=afam"; group="yes" ;;
    hmda-mlp) spec="csv:$DATA/hmda.csv:label=deny:protected=afam"; group="yes"; layers=head ;;
  esac
  D="$OUT/$ds"
  mkdir -p "$D"
  if [ $ds = hmda-mlp ]; then
    run "$LETHE" train --model mlp --data "$spec" --epochs 20 --batch 64 --lr 0.05 --augment none \
      --seed "$SEED" --overwrite --out "$D/mlp"
    run "$LETHE" train --model mlp --data "$spec" --head-from "$D/mlp" --wd "$L2" \
      --fair "eo:lambda=$GAMMA" --seed "$SEED" --overwrite --out "$D/fair"
  else
    mkdir -p "$D/sweep"
    for g in $SWEEP; do
      run "$LETHE" train --model logreg --data "$spec" --wd "$L2" --fair "eo:lambda=$g" \
        --seed "$SEED" --overwrite --out "$D/sweep/eo-$g"
    done
    run "$LETHE" train --model logreg --data "$spec" --wd "$L2" --fair "eo:lambda=$GAMMA" \
      --seed "$SEED" --overwrite --out "$D/fair"
  fi
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['train_size'])" "$D/fair/config.json")
  for f in $FRACS; do
    k=$(python3 -c "import sys; print(max(1, round(float(sys.argv[1]) * int(sys.argv[2]))))" "$f" "$n")
    for mode in random group; do
      if [ $mode = random ]; then forget="random:$k"; else forget="group:$group:$k"; fi
      for m in $METHODS; do
        echo "fair_unlearning: $ds $mode $f ($forget) $m" >&2
        run "$LETHE" unlearn --from "$D/fair" --method "$m" --forget "$forget" --seed "$SEED" \
          --layers $layers --overwrite --out "$D/$mode-$f/$m"
      done
    done
  done
done
# Certified removal in sequence: HMDA trained with the objective perturbation (σ = SIGMA), 10% of
# the rows removed from the minority group in 10 requests by fair-newton; Guo et al.'s bound per
# request, accumulated, against the (ε = 1, δ = 1e-4) budget σε/c.
SIGMA=${SIGMA:-10}
D="$OUT/hmda"
run "$LETHE" train --model logreg --data "csv:$DATA/hmda.csv:label=deny:protected=afam" --wd "$L2" \
  --fair "eo:lambda=$GAMMA" --perturb "$SIGMA" --seed "$SEED" --overwrite --out "$D/fair-perturbed"
n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['train_size'])" "$D/fair/config.json")
k=$(python3 -c "import sys; print(round(0.1 * int(sys.argv[1])))" "$n")
for m in fair-newton newton; do
  run "$LETHE" unlearn --from "$D/fair-perturbed" --method $m --forget "group:yes:$k" --requests 10 \
    --opt eps=1 --opt delta=1e-4 --seed "$SEED" --overwrite --out "$D/certified-$m"
done
run "$LETHE" unlearn --from "$D/fair-perturbed" --method retrain --forget "group:yes:$k" \
  --seed "$SEED" --overwrite --out "$D/certified-retrain"
python3 scripts/fair_unlearning_table.py "$OUT" "$METHODS" "$FRACS" > "$OUT/table.md"
cat "$OUT/table.md"
