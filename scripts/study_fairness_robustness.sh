#!/bin/sh
# Tran & Woo's conjecture ("Fairness and Robustness in Machine Unlearning"): the larger a model's
# fairness gap on its normalization layers (max_c σ_c − min_c σ_c), the less robust it is; and
# unlearning at the last layers or at all layers moves both. For a ResNet-18 (BatchNorm) and a
# ViT (LayerNorm) on Fashion-MNIST: the original, each scope's retrain, the full retrain, newton
# at the head, and every method at every scope (lethe sweep), each evaluated with the
# normalization statistics and PGD; then Spearman's ρ (bootstrap interval) of the mean and of each
# layer's gap against robust accuracy (lethe correlate, scatter SVG), and per method which layers'
# gaps move most under head-only vs full unlearning (lethe eval --against, layer_effect.csv).
# Resumes where it stopped (finished sweeps runs and evaluations are kept); prints its total time.
# Results: $OUT/{resnet,vit}-correlate/correlate.{md,csv,svg}, $OUT/{resnet,vit}-sweep/sweep.md,
# $OUT/{resnet,vit}-effect-<method>-<scope>/layer_effect.csv. The environment scales it
# (QUICK=1: a few minutes, for checking the script, not for conclusions).
set -eu
LETHE="${LETHE:-build/cpu-release/lethe}"
OUT="${OUT:-runs/study-fairness-robustness}"
SUBSET="${SUBSET:-5000}"
EPOCHS="${EPOCHS:-12}"           # ResNet original and retrain (the main job's recipe)
VIT_EPOCHS="${VIT_EPOCHS:-15}"
WIDTH="${WIDTH:-8}"
FORGET="${FORGET:-random:0.1}"
METHODS="${METHODS:-ft,amun,scrub,l1}"
SCOPES="${SCOPES:-head,last:1,last:2,all}"
UNLEARN_EPOCHS="${UNLEARN_EPOCHS:-3}"
ATTACK="${ATTACK:-pgd-linf:eps=8/255,steps=10}"
ATTACK_SAMPLES="${ATTACK_SAMPLES:-500}"
THREADS="${THREADS:-0}"
if [ "${QUICK:-0}" = 1 ]; then
  SUBSET=400 EPOCHS=2 VIT_EPOCHS=2 WIDTH=4 METHODS=ft SCOPES=head,all UNLEARN_EPOCHS=1
  ATTACK="pgd-linf:eps=8/255,steps=2" ATTACK_SAMPLES=50
fi
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
start=$(date +%s)
mkdir -p "$OUT"

train() {  # name, then lethe train options
  name=$1
  shift
  [ -f "$OUT/$name/metrics.json" ] && return 0
  echo "study: training $name" >&2
  "$LETHE" train --data fashion-mnist --subset "$SUBSET" --augment none --seed 0 --eval-every 0 \
    --threads "$THREADS" --out "$OUT/$name" --overwrite "$@" > /dev/null
}
train resnet-original --model resnet18 --width "$WIDTH" --epochs "$EPOCHS" --batch 128 \
  --lr 0.05 --schedule cosine
train vit-original --model vit-tiny --epochs "$VIT_EPOCHS" --batch 128 --optimizer adamw \
  --lr 1e-3 --wd 0.05 --schedule cosine

for arch in resnet vit; do
  "$LETHE" sweep --from "$OUT/$arch-original" --method "$METHODS" --layers "$SCOPES" \
    --forget "$FORGET" --epochs "$UNLEARN_EPOCHS" --mia loss --attack "$ATTACK" \
    --attack-samples "$ATTACK_SAMPLES" --threads "$THREADS" --out "$OUT/$arch-sweep" > /dev/null
  # The original on the same forget set, with the same measurements.
  if [ ! -f "$OUT/$arch-original-eval/metrics.json" ]; then
    "$LETHE" eval --from "$OUT/$arch-original" --forget-file "$OUT/$arch-sweep/retrain-all/forget.txt" \
      --mia loss --norm-stats --attack "$ATTACK" --attack-samples "$ATTACK_SAMPLES" \
      --threads "$THREADS" --out "$OUT/$arch-original-eval" --overwrite > /dev/null
  fi
  "$LETHE" correlate "$OUT/$arch-original-eval" "$OUT"/$arch-sweep/*-eval \
    --x "fairness gap" --y "$ATTACK acc" --per-layer --out "$OUT/$arch-correlate" > /dev/null
  # Which layers' gaps move: per method, head-only and full unlearning against the original,
  # beside the full retrain.
  for m in $(echo "$METHODS" | tr ',' ' '); do
    for s in head all; do
      d="$OUT/$arch-effect-$m-$s"
      [ -f "$d/layer_effect.csv" ] && continue
      "$LETHE" eval --from "$OUT/$arch-sweep/$m-$s" --against "$OUT/$arch-original" \
        --reference "$OUT/$arch-sweep/retrain-all" --mia loss --threads "$THREADS" \
        --out "$d" --overwrite > /dev/null
    done
  done
done

for arch in resnet vit; do
  echo "## $arch"
  echo
  cat "$OUT/$arch-correlate/correlate.md"
  echo
done
echo "study: total $(( $(date +%s) - start )) s (this invocation; finished parts were kept)"
