#!/bin/sh
# AMUN's ablation (issue 23, item 3; AMUN §5): what the fine-tune after the adversarial search
# trains on — D ∪ D_A (the method), D_F ∪ D_A, or D_A alone — and the method without the retain
# set (`--no-retain`: only D_F is available, so it trains on D_F ∪ D_A). The paper's claim: none of
# these collapses the model (no catastrophic forgetting): retain and test accuracy stay close to
# the method's.
#
# Runs on the paper table's protocol and reuses its directory ($OUT, default runs/paper): the
# original, the reference models for RMIA and the retrain seeds (prepared by
# `METHODS=" " scripts/paper_table.sh` when missing), and AMUN's tuned setting ($OUT/amun.args,
# written by the paper table; AMUN's defaults when it is not there yet — the table says which).
# Every setting runs with SEEDS seeds on the same forget set and is evaluated with online RMIA
# (FT AUC) and SVC-MIA; `lethe compare` writes $ABL/table/compare.md and .csv beside retrain.
#
# Resumable like the paper table: a run whose metrics.json exists is not redone. Prints its total
# time. Everything is an environment variable (LETHE, OUT, ABL, SEEDS, THREADS, MIA, FORGET).
set -eu
LETHE="${LETHE:-build/cpu-release/lethe}"
OUT="${OUT:-runs/paper}"
ABL="${ABL:-runs/amun-ablation}"
SEEDS="${SEEDS:-3}"
THREADS="${THREADS:-1}"
MIA="${MIA:-rmia-online,svc}"
FORGET="${FORGET:-random:0.1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
T0=$(date +%s)
stamp() { echo "[amun_ablation $(date +%H:%M:%S), +$(($(date +%s) - T0)) s] $*" >&2; }
done_run() { [ -s "$1/metrics.json" ]; }

if ! done_run "$OUT/original" || ! done_run "$OUT/refs" || ! done_run "$OUT/retrain-eval/seed-0"; then
  stamp "the paper table's original, reference models and retrain seeds (METHODS=' ' paper_table.sh)"
  LETHE="$LETHE" OUT="$OUT" SEEDS="$SEEDS" THREADS="$THREADS" MIA="$MIA" FORGET="$FORGET" METHODS=" " \
    scripts/paper_table.sh > /dev/null
fi
ARGS=""
TUNED="AMUN's defaults (no $OUT/amun.args yet)"
if [ -s "$OUT/amun.args" ]; then
  ARGS=$(cat "$OUT/amun.args")
  TUNED="the paper table's tuned setting: $ARGS"
fi
mkdir -p "$ABL"
# A changed tuned setting makes every run here stale.
if [ -f "$ABL/amun.args" ] && [ "$(cat "$ABL/amun.args")" != "$ARGS" ]; then
  stamp "tuned setting changed: starting over"
  rm -rf "$ABL"/train_on-* "$ABL"/no-retain*
fi
echo "$ARGS" > "$ABL/amun.args"

# setting name, then the options that make it
run_setting() {
  name="$1"
  shift
  s=0
  while [ "$s" -lt "$SEEDS" ]; do
    d="$ABL/$name/seed-$s"
    # shellcheck disable=SC2086
    done_run "$d" ||
      "$LETHE" unlearn --from "$OUT/original" --method amun --forget "$FORGET" --seed "$s" \
        --threads "$THREADS" $ARGS "$@" --out "$d" --overwrite > /dev/null
    done_run "$ABL/$name-eval/seed-$s" ||
      "$LETHE" eval --from "$d" --forget-file "$d/forget.txt" --mia "$MIA" \
        --references "$OUT/refs" --threads "$THREADS" --out "$ABL/$name-eval/seed-$s" \
        --overwrite > /dev/null
    s=$((s + 1))
  done
}

stamp "AMUN with $TUNED, $SEEDS seeds per setting"
# train_on=all is the method itself: the paper table's amun runs are that command with the same
# options, seeds and forget set, so they are reused when they exist (their eval beside the rest).
ALL_EVAL="$ABL/train_on-all-eval"
if [ -n "$ARGS" ] && done_run "$OUT/amun-eval/seed-$((SEEDS - 1))"; then
  ALL_EVAL="$OUT/amun-eval"
  stamp "train_on=all (D ∪ D_A, the method): the paper table's $OUT/amun runs"
else
  stamp "train_on=all (D ∪ D_A, the method)"
  run_setting train_on-all --opt train_on=all
fi
stamp "train_on=forget_adv (D_F ∪ D_A)"
run_setting train_on-forget_adv --opt train_on=forget_adv
stamp "train_on=adv (D_A alone)"
run_setting train_on-adv --opt train_on=adv
stamp "--no-retain (only D_F available: D_F ∪ D_A)"
run_setting no-retain --no-retain

"$LETHE" compare "$OUT/retrain-eval" "$ALL_EVAL" "$ABL/train_on-forget_adv-eval" \
  "$ABL/train_on-adv-eval" "$ABL/no-retain-eval" --reference "$OUT/retrain-eval" \
  --out "$ABL/table" > /dev/null
cat >> "$ABL/table/compare.md" <<TXT

AMUN run with $TUNED. The paper's claim (AMUN §5, CIFAR-10, ResNet-18): fine-tuning on D ∪ D_A,
on D_F ∪ D_A or on D_A alone does not cause catastrophic forgetting — retain and test accuracy
stay near the method's.
TXT
stamp "done in $(($(date +%s) - T0)) s: $ABL/table/compare.md"
cat "$ABL/table/compare.md"
