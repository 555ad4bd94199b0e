#!/bin/sh
# Command-line contract checks: exit codes, one-line errors, run directories that are never
# half-written or silently overwritten. Uses synthetic data so it runs in seconds.
set -u
LETHE="$1"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail=0
ok() { if ! "$@" >"$T/out" 2>"$T/err"; then echo "FAIL (exit $?): $*"; cat "$T/err"; fail=1; fi; }
bad() {
  if "$@" >"$T/out" 2>"$T/err"; then echo "FAIL (accepted): $*"; fail=1; return; fi
  lines=$(grep -c . "$T/err")
  if [ "$lines" -gt 3 ]; then echo "FAIL (error is $lines lines): $*"; cat "$T/err"; fail=1; fi
}

ok "$LETHE" info
grep -q '"gemm_isa"' "$T/out" || { echo "FAIL: info lacks gemm_isa"; fail=1; }
bad "$LETHE" no-such-command
bad "$LETHE" info --no-such-option

DATA="synthetic:mixture:3:4:300"
ok "$LETHE" train --model logreg --data "$DATA" --epochs 2 --batch 32 --lr 0.1 --augment none \
  --out "$T/run"
for f in config.json model.safetensors metrics.json log.jsonl; do
  [ -s "$T/run/$f" ] || { echo "FAIL: run directory lacks $f"; fail=1; }
done
grep -q '"test_acc"' "$T/run/metrics.json" || { echo "FAIL: metrics.json lacks test_acc"; fail=1; }
[ "$(grep -c . "$T/run/log.jsonl")" -eq 2 ] || { echo "FAIL: log.jsonl should have 2 lines"; fail=1; }
cp "$T/run/metrics.json" "$T/metrics.before"
bad "$LETHE" train --model logreg --data "$DATA" --epochs 1 --augment none --out "$T/run"
cmp -s "$T/run/metrics.json" "$T/metrics.before" || { echo "FAIL: results overwritten"; fail=1; }
grep -q "overwrite" "$T/err" || { echo "FAIL: refusal does not mention --overwrite"; fail=1; }
grep -q '"kernels": "own"' "$T/run/metrics.json" || { echo "FAIL: metrics.json lacks device_options"; fail=1; }
bad "$LETHE" train --model logreg --data "$DATA" --kernels cudnn --out "$T/k"
grep -q -- "--kernels: unknown 'cudnn'" "$T/err" || { echo "FAIL: --kernels error"; fail=1; }
bad "$LETHE" eval --from "$T/run" --tf32 yes --out "$T/k"
grep -q -- "--tf32: unknown 'yes'" "$T/err" || { echo "FAIL: --tf32 error"; fail=1; }
ok "$LETHE" train --model logreg --data "$DATA" --epochs 1 --batch 32 --augment none --device emu \
  --kernels vendor --tf32 on --out "$T/vendor"
grep -q '"kernels": "vendor"' "$T/vendor/metrics.json" || { echo "FAIL: --kernels vendor not recorded"; fail=1; }
bad "$LETHE" train --model logreg --data "$DATA" --device cuda --out "$T/cuda"
grep -q "no CUDA device is available" "$T/err" || { echo "FAIL: --device cuda error does not say no CUDA device"; fail=1; }
[ "$(grep -c . "$T/err")" -eq 1 ] || { echo "FAIL: --device cuda error is not one line"; fail=1; }
[ ! -e "$T/cuda/metrics.json" ] || { echo "FAIL: --device cuda wrote results"; fail=1; }
# The same training on the emulated CUDA kernels reaches the same accuracy as on the CPU (float
# rounding differs, so at most one test prediction of the 60 may flip: 1.67 points).
ok "$LETHE" train --model logreg --data "$DATA" --epochs 2 --batch 32 --lr 0.1 --augment none \
  --device emu --out "$T/emu"
python3 - "$T/run/metrics.json" "$T/emu/metrics.json" <<'PY' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if abs(a["test_acc"] - b["test_acc"]) > 1.7 or b["device"] != "emu":
    print("FAIL: emu training differs from cpu:", a["test_acc"], b["test_acc"], b["device"]); sys.exit(1)
PY
bad "$LETHE" train --model logreg --data "nosuch:thing" --out "$T/x"
bad "$LETHE" train --model nosuchnet --data "$DATA" --out "$T/y"
bad "$LETHE" train --model logreg --data "$DATA" --lr -1 --out "$T/z"

ok "$LETHE" train --model mlp --data "$DATA" --epochs 1 --augment none --exclude class:1 \
  --out "$T/retrain"
[ -s "$T/retrain/forget.txt" ] || { echo "FAIL: --exclude did not write forget.txt"; fail=1; }
grep -q '"forget_acc"' "$T/retrain/metrics.json" || { echo "FAIL: no forget_acc"; fail=1; }
ok "$LETHE" eval --from "$T/retrain" --out "$T/eval"
grep -q '"retain_acc"' "$T/eval/metrics.json" || { echo "FAIL: eval lacks retain_acc"; fail=1; }
bad "$LETHE" eval --from "$T/missing" --out "$T/eval2"
ok "$LETHE" eval --from "$T/retrain" --out "$T/eval-robust" --attack-samples 40 \
  --attack "fgsm:eps=0.1,pgd-linf:eps=0.1,steps=2,min-eps:steps=3,doublings=2"
grep -q '"pgd-linf"' "$T/eval-robust/metrics.json" || { echo "FAIL: eval lacks robust"; fail=1; }
[ -s "$T/eval-robust/min_eps.csv" ] || { echo "FAIL: eval wrote no min_eps.csv"; fail=1; }
[ -s "$T/eval-robust/confidence.svg" ] || { echo "FAIL: eval wrote no confidence.svg"; fail=1; }
# --norm-stats (BatchNorm and LayerNorm) and its older name --bn-stats give the same statistics.
ok "$LETHE" eval --from "$T/retrain" --out "$T/eval-norm" --norm-stats --norm-stats-split forget
grep -q '"bn_stats"' "$T/eval-norm/metrics.json" || { echo "FAIL: eval --norm-stats lacks bn_stats"; fail=1; }
ok "$LETHE" eval --from "$T/retrain" --out "$T/eval-bn" --bn-stats --bn-stats-split forget
python3 - "$T/eval-norm/metrics.json" "$T/eval-bn/metrics.json" <<'PY' || fail=1
import json, sys
a, b = (json.load(open(p))["bn_stats"] for p in sys.argv[1:3])
if a != b or a.get("split") != "forget":
    print("FAIL: --norm-stats and --bn-stats differ:", a, b); sys.exit(1)
PY
bad "$LETHE" eval --from "$T/retrain" --out "$T/eval-bad" --attack "cw:eps=1"
[ -e "$T/eval-bad" ] && { echo "FAIL: a rejected eval created its --out"; fail=1; }
ok "$LETHE" train --model mlp --data "$DATA" --epochs 1 --augment none \
  --adv-train "pgd:eps=0.1,steps=2" --out "$T/adv"
grep -q '"adv_train": "pgd:eps=0.1,steps=2"' "$T/adv/config.json" || { echo "FAIL: adv_train not in config"; fail=1; }
bad "$LETHE" train --model mlp --data "$DATA" --epochs 1 --adv-train "min-eps" --out "$T/adv2"

ok "$LETHE" profile --from "$T/retrain" --method ft --layers head --forget random:8 --retain 32 \
  --batch 16 --out "$T/prof"
for f in profile.json profile.csv config.json; do
  [ -s "$T/prof/$f" ] || { echo "FAIL: profile did not write $f"; fail=1; }
done
grep -q '"peak_bytes"' "$T/prof/profile.json" || { echo "FAIL: profile lacks peak_bytes"; fail=1; }
# Three repeats by default, the spread beside the median repeat; the same FLOPs every time.
python3 - "$T/prof/profile.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))["repeats"]
w = r["wall_s"]
if r["n"] != 3 or len(w) != 3 or not r["flops_identical"] or not (r["wall_s_min"] <= r["wall_s_median"] <= r["wall_s_max"]):
    print("FAIL: profile repeats:", r); sys.exit(1)
if "head" not in r["modules"]:
    print("FAIL: profile repeats lack the per-module spread"); sys.exit(1)
PY
bad "$LETHE" profile --from "$T/retrain" --method ft --out "$T/prof"
bad "$LETHE" profile --method train --out "$T/prof2"
bad "$LETHE" profile --from "$T/retrain" --method nosuch --out "$T/prof3"
ok "$LETHE" profile --from "$T/retrain" --method train --steps 2 --batch 16 --out "$T/prof4"

# An unlearned model of a --subset run is evaluated on the same rows unlearn measured it on.
ok "$LETHE" train --model mlp --data "$DATA" --subset 120 --epochs 1 --augment none --out "$T/sub"
ok "$LETHE" unlearn --from "$T/sub" --method ft --epochs 1 --forget random:20 --out "$T/sub-ft"
ok "$LETHE" eval --from "$T/sub-ft" --out "$T/sub-ft-eval"
# Per-layer effect against the original, beside another run's (the reference).
ok "$LETHE" unlearn --from "$T/sub" --method retrain --forget random:20 --out "$T/sub-re"
ok "$LETHE" eval --from "$T/sub-ft" --against "$T/sub" --reference "$T/sub-re" --out "$T/sub-ft-effect"
[ -s "$T/sub-ft-effect/layer_effect.csv" ] || { echo "FAIL: eval --against wrote no layer_effect.csv"; fail=1; }
grep -q '"rel_change_reference"' "$T/sub-ft-effect/metrics.json" || { echo "FAIL: eval --against lacks the reference"; fail=1; }
bad "$LETHE" eval --from "$T/sub-ft" --reference "$T/sub-re" --out "$T/sub-ft-effect2"
grep -q -- "--reference needs --against" "$T/err" || { echo "FAIL: --reference without --against"; fail=1; }
# The same unlearning with the model resident on the emulated device: recorded as such, and the
# same forget accuracy (20 rows: the rounding difference flips no prediction of this model).
ok "$LETHE" unlearn --from "$T/sub" --method ft --epochs 1 --forget random:20 --device emu \
  --out "$T/sub-ft-emu"
grep -q '"device": "emu"' "$T/sub-ft-emu/metrics.json" || { echo "FAIL: unlearn --device emu not recorded"; fail=1; }
# The forget set is the original's rows (its seed), whatever the method's --seed; compare refuses
# runs on different forget sets.
ok "$LETHE" unlearn --from "$T/sub" --method ft --epochs 1 --forget random:20 --seed 7 \
  --out "$T/sub-ft7"
cmp -s "$T/sub-ft/forget.txt" "$T/sub-ft7/forget.txt" || { echo "FAIL: --seed changed the forget set"; fail=1; }
ok "$LETHE" unlearn --from "$T/sub" --method ft --epochs 1 --forget random:21 --out "$T/sub-ft21"
bad "$LETHE" compare "$T/sub-ft" "$T/sub-ft21"
grep -q -- "--allow-different-forget" "$T/err" || { echo "FAIL: compare accepted two forget sets"; fail=1; }
ok "$LETHE" compare "$T/sub-ft" "$T/sub-ft21" --allow-different-forget
# Rank correlation of two columns across runs, with its scatter plot; a column no run has is one line.
ok "$LETHE" correlate "$T/sub-ft" "$T/sub-ft7" "$T/sub-ft21" "$T/sub-re" --x test --y retain --out "$T/corr"
for f in correlate.md correlate.csv correlate.json correlate.svg; do
  [ -s "$T/corr/$f" ] || { echo "FAIL: correlate did not write $f"; fail=1; }
done
grep -q '"n": 4' "$T/corr/correlate.json" || { echo "FAIL: correlate did not use the 4 runs"; fail=1; }
# The CSV: a header naming both columns and one row per run used.
[ "$(head -1 "$T/corr/correlate.csv")" = "run,method,test,retain" ] && \
  [ "$(wc -l < "$T/corr/correlate.csv")" -eq 5 ] || { echo "FAIL: correlate.csv"; fail=1; }
bad "$LETHE" correlate "$T/sub-ft" "$T/sub-ft7" "$T/sub-ft21" --y "pgd-linf acc"
grep -q "only 0 runs have both" "$T/err" || { echo "FAIL: correlate on a missing column"; fail=1; }
# --seeds: one run per seed in --out/seed-S, one row (mean ± sd) in compare; lethe tune scores a
# grid against an evaluated retrain and keeps the winner; its errors are one line.
ok "$LETHE" unlearn --from "$T/sub" --method ft --epochs 1 --forget random:20 --seeds 2 --seed 3 \
  --out "$T/sub-ft-seeds"
[ -s "$T/sub-ft-seeds/seed-3/metrics.json" ] && [ -s "$T/sub-ft-seeds/seed-4/metrics.json" ] ||
  { echo "FAIL: unlearn --seeds 2 --seed 3 lacks seed-3/ or seed-4/"; fail=1; }
ok "$LETHE" compare "$T/sub-ft-seeds" "$T/sub-ft"
grep -q "ft (2 seeds)" "$T/out" || { echo "FAIL: compare did not read the seeds group"; fail=1; }
ok "$LETHE" unlearn --from "$T/sub" --method retrain --forget random:20 --out "$T/sub-rt"
ok "$LETHE" eval --from "$T/sub-rt" --mia svc --out "$T/sub-rt-eval"
ok "$LETHE" tune --from "$T/sub" --method ft --forget random:20 --reference "$T/sub-rt-eval" \
  --gap svc --grid lr=0.01,0.1 epochs=1 --out "$T/sub-tune"
[ -s "$T/sub-tune/winner/model.safetensors" ] && [ -s "$T/sub-tune/tune.tsv" ] ||
  { echo "FAIL: lethe tune wrote no winner or table"; fail=1; }
bad "$LETHE" tune --from "$T/sub" --method ft --forget random:20 --reference "$T/sub-rt-eval" \
  --gap svc --grid lr --out "$T/sub-tune2"
grep -q -- "--grid 'lr'" "$T/err" || { echo "FAIL: lethe tune --grid error"; fail=1; }
bad "$LETHE" tune --from "$T/sub" --method ft --forget random:20 --reference "$T/sub-rt-eval" \
  --grid lr=0.1 --out "$T/sub-tune3"
grep -q -- "--references" "$T/err" || { echo "FAIL: lethe tune --gap amun without references"; fail=1; }
bad "$LETHE" unlearn --from "$T/sub" --method ft --forget random:20 --device tpu --out "$T/sub-tpu"
grep -q -- "--device: unknown 'tpu'" "$T/err" || { echo "FAIL: unlearn --device error"; fail=1; }
acc() { grep -o "\"$1\": [0-9.e+-]*" "$2" | head -1; }
[ "$(acc forget_acc "$T/sub-ft/metrics.json")" = "$(acc forget_acc "$T/sub-ft-eval/metrics.json")" ] ||
  { echo "FAIL: eval of an unlearned subset run measured other rows"; fail=1; }
[ "$(acc forget_acc "$T/sub-ft/metrics.json")" = "$(acc forget_acc "$T/sub-ft-emu/metrics.json")" ] ||
  { echo "FAIL: unlearn --device emu forgets differently from the cpu"; fail=1; }

ok "$LETHE" eval --from "$T/retrain" --mia all --out "$T/eval_mia"
grep -q '"efficacy"' "$T/eval_mia/metrics.json" || { echo "FAIL: eval --mia lacks efficacy"; fail=1; }
bad "$LETHE" eval --from "$T/retrain" --mia loss,nosuch --out "$T/eval_mia2"
grep -q "m-entropy" "$T/err" || { echo "FAIL: --mia error does not list the attacks"; fail=1; }
[ ! -e "$T/eval_mia2" ] || { echo "FAIL: a bad --mia created the output directory"; fail=1; }
bad "$LETHE" eval --from "$T/retrain" --mia rmia-offline --references "$T/none" --out "$T/eval_mia3"
[ ! -e "$T/eval_mia3" ] || { echo "FAIL: missing --references created the output directory"; fail=1; }

# Fair logistic regression (issue 19): group-fairness metrics, the float64 Newton solver with the
# eo penalty, fair-newton over two requests against the fair retrain, newton on softmax and on a
# network's head, and the errors.
G="csv:$SRC/tests/data/german_credit.csv:label=Class:protected=Age<25"
ok "$LETHE" train --model logreg --data "$G" --wd 1e-2 --fair eo:lambda=2 --out "$T/fair"
ok "$LETHE" unlearn --from "$T/fair" --method fair-newton --forget random:20 --requests 2 \
  --out "$T/fair-fn"
ok "$LETHE" unlearn --from "$T/fair" --method retrain --forget random:20 --out "$T/fair-rt"
ok "$LETHE" eval --from "$T/fair-fn" --out "$T/fair-fn-eval"
ok "$LETHE" compare "$T/fair-fn-eval" "$T/fair-rt" --reference "$T/fair-rt"
grep -q "param dist" "$T/out" || { echo "FAIL: compare lacks param dist"; fail=1; }
grep -q "test EOdds diff" "$T/out" || { echo "FAIL: compare lacks test EOdds diff"; fail=1; }
python3 - "$T/fair" "$T/fair-fn" "$T/fair-fn-eval" <<'PY' || fail=1
import json, sys
tr, fn, ev = (json.load(open(d + "/metrics.json")) for d in sys.argv[1:4])
c = tr["convex"]
if not (c["converged"] and c["grad_norm"] <= 1e-10):
    print("FAIL: newton solver did not reach 1e-10:", c); sys.exit(1)
if not isinstance(tr["fairness"]["splits"]["test"]["equalized_odds_difference"], float):
    print("FAIL: train metrics lack fairness"); sys.exit(1)
req = fn["method_report"]["requests"]
if len(req) != 2 or any(r["residual_norm"] > min(r["bound"], r["accumulated_bound"]) for r in req):
    print("FAIL: fair-newton requests or residual bound:", req); sys.exit(1)
if set(ev["fairness"]["splits"]) != {"test", "forget", "retain", "train"}:
    print("FAIL: eval fairness splits:", list(ev["fairness"]["splits"])); sys.exit(1)
PY
bad "$LETHE" train --model logreg --data "csv:$SRC/tests/data/german_credit.csv:protected=Age" \
  --out "$T/fair2"
grep -q "53 distinct values" "$T/err" || { echo "FAIL: protected=Age error"; fail=1; }
bad "$LETHE" train --model mlp --data "$G" --fair eo:lambda=1 --out "$T/fair3"
bad "$LETHE" train --model logreg --data "$G" --fair eo:lambda=x --out "$T/fair4"
bad "$LETHE" unlearn --from "$T/run" --method fair-newton --forget random:5 --out "$T/fn-plain"
grep -q "no fairness penalty" "$T/err" || { echo "FAIL: fair-newton on a plain run"; fail=1; }
ok "$LETHE" unlearn --from "$T/run" --method newton --forget random:5 --out "$T/newton-softmax"
bad "$LETHE" unlearn --from "$T/retrain" --method newton --forget random:5 --out "$T/newton-mlp"
grep -q "layers head" "$T/err" || { echo "FAIL: newton on a whole mlp"; fail=1; }
ok "$LETHE" unlearn --from "$T/retrain" --method newton --layers head --forget random:5 \
  --out "$T/newton-head"
# A network's fair head (item 4): an mlp trained by SGD, its head re-solved with the penalty over
# the frozen prefix, fair-newton and retrain on that head.
ok "$LETHE" train --model mlp --data "$G" --epochs 1 --augment none --out "$T/mlp-g"
ok "$LETHE" train --model mlp --data "$G" --head-from "$T/mlp-g" --wd 1e-2 --fair eo:lambda=2 \
  --out "$T/mlp-fair"
ok "$LETHE" unlearn --from "$T/mlp-fair" --method fair-newton --layers head --forget group:1:8 \
  --out "$T/mlp-fn"
ok "$LETHE" unlearn --from "$T/mlp-fair" --method retrain --forget group:1:8 --out "$T/mlp-rt"
python3 - "$T/mlp-fair" "$T/mlp-fn" <<'PY' || fail=1
import json, sys
tr, fn = (json.load(open(d + "/metrics.json")) for d in sys.argv[1:3])
r = fn["method_report"]["requests"][0]
if tr["convex"]["grad_norm"] > 1e-10 or r["residual_norm"] > r["bound"]:
    print("FAIL: fair head on an mlp:", tr["convex"], r); sys.exit(1)
PY
bad "$LETHE" train --model logreg --data "$G" --head-from "$T/mlp-g" --fair eo:lambda=1 --out "$T/x2"
grep -q "holds a mlp" "$T/err" || { echo "FAIL: --head-from model mismatch"; fail=1; }

ok "$LETHE" verify "$SRC/tests/golden/vit_d32.safetensors"
bad "$LETHE" verify "$SRC/tests/golden/ops.safetensors"
bad "$LETHE" verify "$T/none.safetensors"
printf 'garbage' > "$T/trunc.safetensors"
bad "$LETHE" verify "$T/trunc.safetensors"

[ $fail -eq 0 ] && echo "cli: all checks passed"
exit $fail
