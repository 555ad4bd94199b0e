#!/bin/sh
# The evaluation study (issue 6): the main job's recipe (ResNet-18 width 8, 5000 Fashion-MNIST
# images, memorized), 4 reference models for LiRA/RMIA, retrain and five unlearning methods on a
# random 10% forget set, each evaluated with SVC-MIA, threshold attacks, LiRA and RMIA, PGD L∞
# robust accuracy and the per-layer fairness gap; then AMUN's per-layer cost with --layers all
# against last:1. Writes runs/eval/{compare.md,compare.csv,fairness_gap.svg} and one directory
# per run. About 30 minutes on 2 cores.
set -eu
LETHE="${LETHE:-build/cpu-release/lethe}"
OUT="${OUT:-runs/eval}"
SUBSET="${SUBSET:-5000}"
EPOCHS="${EPOCHS:-12}"
REFS="${REFS:-4}"
FORGET="${FORGET:-random:0.1}"
METHODS="${METHODS:-ft rl ga salun amun}"
MIA="${MIA:-svc,loss,m-entropy,lira-online,lira-offline,rmia-online,rmia-offline}"
ATTACK="${ATTACK:-pgd-linf:eps=2/255,steps=10}"
ATTACK_SAMPLES="${ATTACK_SAMPLES:-200}"
mkdir -p "$OUT"
recipe="--model resnet18 --width 8 --data fashion-mnist --subset $SUBSET --epochs $EPOCHS \
  --batch 128 --lr 0.05 --schedule cosine --augment none --seed 0 --eval-every 0"
stamp() { echo "[eval_job $(date +%H:%M:%S)] $*" >&2; }

stamp "original"
"$LETHE" train $recipe --out "$OUT/original" --overwrite > /dev/null
stamp "reference models ($REFS)"
"$LETHE" train $recipe --reference-models "$REFS" --out "$OUT/refs" --overwrite > /dev/null
stamp "retrain"
"$LETHE" unlearn --from "$OUT/original" --method retrain --forget "$FORGET" \
  --out "$OUT/retrain" --overwrite > /dev/null
for m in $METHODS; do
  stamp "unlearn $m"
  "$LETHE" unlearn --from "$OUT/original" --method "$m" --forget "$FORGET" \
    --out "$OUT/$m" --overwrite > /dev/null
done
dirs=""
for r in original retrain $METHODS; do
  stamp "eval $r"
  "$LETHE" eval --from "$OUT/$r" --forget-file "$OUT/retrain/forget.txt" --mia "$MIA" \
    --references "$OUT/refs" --attack "$ATTACK" --attack-samples "$ATTACK_SAMPLES" --bn-stats \
    --out "$OUT/$r-eval" --overwrite > /dev/null
  dirs="$dirs $OUT/$r-eval"
done
"$LETHE" compare $dirs --reference "$OUT/retrain-eval" --out "$OUT"
for s in all last:1; do
  tag=$(echo "$s" | tr ':' '-')
  stamp "profile amun --layers $s"
  "$LETHE" profile --from "$OUT/original" --method amun --layers "$s" --forget random:64 \
    --retain 256 --out "$OUT/profile-amun-$tag" --overwrite --depth 1
done
stamp "done"
