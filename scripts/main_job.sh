#!/bin/sh
# The main job (`make run`): train a small ResNet on Fashion-MNIST until it memorizes its
# training set (no augmentation — an original that has not memorized leaves nothing to forget),
# forget a random 10% with retrain, ft and amun, evaluate every model with SVC-MIA and threshold
# membership attacks, and print the table of forget/retain/test accuracy, MIA, time and the gap
# to retrain (scripts/eval_job.sh adds LiRA/RMIA, robustness and fairness gaps). Sized to finish
# in 5-20 minutes on 2 cores (18 min on a slow day); the environment variables below scale it.
set -eu
LETHE="${LETHE:-build/cpu-release/lethe}"
OUT="${OUT:-runs/main}"
SUBSET="${SUBSET:-5000}"       # training images (of 60000)
EPOCHS="${EPOCHS:-12}"         # original and retrain
WIDTH="${WIDTH:-8}"            # ResNet-18 width (64 = torchvision)
FORGET="${FORGET:-random:0.1}"
FT_EPOCHS="${FT_EPOCHS:-5}"
AMUN_EPOCHS="${AMUN_EPOCHS:-3}"   # lr decays ×0.1 per epoch: later epochs barely move the model
METHODS="${METHODS:-ft amun}"
MIA="${MIA:-svc,loss,m-entropy}"

mkdir -p "$OUT"
"$LETHE" train --model resnet18 --width "$WIDTH" --data fashion-mnist --subset "$SUBSET" \
  --epochs "$EPOCHS" --batch 128 --lr 0.05 --schedule cosine --augment none --seed 0 \
  --eval-every 0 \
  --out "$OUT/original" --overwrite > /dev/null
"$LETHE" unlearn --from "$OUT/original" --method retrain --forget "$FORGET" \
  --out "$OUT/retrain" --overwrite > /dev/null
# Every model measured on the same forget/retain split.
evaluate() {
  "$LETHE" eval --from "$OUT/$1" --forget-file "$OUT/retrain/forget.txt" --mia "$MIA" \
    --out "$OUT/$1-eval" --overwrite > /dev/null
}
evaluate original
evaluate retrain
dirs="$OUT/original-eval $OUT/retrain-eval"
for m in $METHODS; do
  extra=""
  [ "$m" = "ft" ] && extra="--epochs $FT_EPOCHS"
  [ "$m" = "amun" ] && extra="--epochs $AMUN_EPOCHS"
  if "$LETHE" unlearn --from "$OUT/original" --method "$m" --forget "$FORGET" $extra \
      --out "$OUT/$m" --overwrite > /dev/null; then
    evaluate "$m"
    dirs="$dirs $OUT/$m-eval"
  else
    echo "main job: method $m failed (see the error above)" >&2
    exit 1
  fi
done
"$LETHE" compare $dirs --reference "$OUT/retrain-eval" --gap svc --out "$OUT"
