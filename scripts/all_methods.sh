#!/bin/sh
# Every unlearning method on the main job's original model (run scripts/main_job.sh first), the
# SISA and amnesiac variants trained with the same recipe, and the layer-scope cost ratios for
# ft and amun (method defaults: ft 10 epochs, amun 10). Writes runs/main/all-methods/compare.md. About 15 minutes on 2 cores.
set -eu
LETHE="${LETHE:-build/cpu-release/lethe}"
OUT="${OUT:-runs/main}"
FORGET="${FORGET:-random:0.1}"
O="$OUT/original"
[ -f "$O/metrics.json" ] || { echo "all_methods: run scripts/main_job.sh first ($O missing)" >&2; exit 1; }
recipe="--model resnet18 --width 8 --data fashion-mnist --subset 5000 --epochs 12 --batch 128 \
  --lr 0.05 --schedule cosine --augment none --seed 0 --eval-every 0 --overwrite"
dirs=""
for m in ft rl ga l1 bs be salun amun amun-salun; do
  "$LETHE" unlearn --from "$O" --method "$m" --forget "$FORGET" --out "$OUT/all-$m" \
    --overwrite > /dev/null
  dirs="$dirs $OUT/all-$m"
done
"$LETHE" train $recipe --sisa 4:2 --out "$OUT/original-sisa" > /dev/null
"$LETHE" unlearn --from "$OUT/original-sisa" --method sisa --forget "$FORGET" --out "$OUT/sisa" --overwrite > /dev/null
"$LETHE" train $recipe --amnesiac --out "$OUT/original-amnesiac" > /dev/null
"$LETHE" unlearn --from "$OUT/original-amnesiac" --method amnesiac --forget "$FORGET" --out "$OUT/amnesiac" --overwrite > /dev/null
dirs="$dirs $OUT/sisa $OUT/amnesiac"
for m in ft amun; do
  for s in head last:1; do
    tag=$(echo "$s" | tr ':' '-')
    "$LETHE" unlearn --from "$O" --method "$m" --forget "$FORGET" --layers "$s" \
      --out "$OUT/all-$m-$tag" --overwrite > /dev/null
    dirs="$dirs $OUT/all-$m-$tag"
  done
done
# Each run measured as the main job measures its rows (same forget set, SVC-MIA), so that the
# gap has all four of its columns (--gap svc: no reference models here for AMUN's FT AUC).
evals="$OUT/original-eval $OUT/retrain-eval"
for d in $dirs; do
  case "$d" in *-eval) continue ;; esac
  "$LETHE" eval --from "$d" --forget-file "$OUT/retrain/forget.txt" --mia svc --out "$d-eval" \
    --overwrite > /dev/null
  evals="$evals $d-eval"
done
"$LETHE" compare $evals --reference "$OUT/retrain-eval" --gap svc --out "$OUT/all-methods"
