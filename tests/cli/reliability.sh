#!/bin/sh
# Reliability contract (issue 20): a yielding OpenMP wait by default, numerical faults stopped
# with one line, runs that survive a kill. Synthetic data and tiny models: seconds.
set -u
LETHE="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail=0

# The yielding default reaches libgomp (it prints its settings with OMP_DISPLAY_ENV): spin count 0
# unless the user chose a policy, or asked to keep libgomp's default.
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$LETHE" info >"$T/out" 2>&1
grep -q "GOMP_SPINCOUNT = '0'" "$T/out" || { echo "FAIL: default OpenMP wait does not yield"; fail=1; }
env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$LETHE" info >"$T/out" 2>&1
grep -q "OMP_WAIT_POLICY = 'ACTIVE'" "$T/out" || { echo "FAIL: user's OMP_WAIT_POLICY overridden"; fail=1; }
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT LETHE_OMP_WAIT=keep OMP_DISPLAY_ENV=verbose "$LETHE" info \
  >"$T/out" 2>&1
grep -q "GOMP_SPINCOUNT = '300000'" "$T/out" || { echo "FAIL: LETHE_OMP_WAIT=keep not honoured"; fail=1; }

# Numerical faults: a diverging learning rate stops the run in one line naming the step and the
# op + module that first overflowed; nothing is written as if the run had finished.
DATA="synthetic:mixture:3:4:300"
one_line_error() {  # expected substring, then the command
  want="$1"
  shift
  if "$@" >"$T/out" 2>"$T/err"; then echo "FAIL (accepted): $*"; fail=1; return; fi
  # stderr also holds progress lines; the error is the one "lethe: error:" line, and the last.
  [ "$(grep -c '^lethe: error: ' "$T/err")" -eq 1 ] && tail -n 1 "$T/err" | grep -q '^lethe: error: ' ||
    { echo "FAIL: not one error line at the end: $*"; cat "$T/err"; fail=1; }
  tail -n 1 "$T/err" | grep -qF -e "$want" || { echo "FAIL: error lacks '$want': $*"; cat "$T/err"; fail=1; }
}
one_line_error "train: epoch 1 step 3: loss is NaN; detect-anomaly: op linear in module head produced Inf from finite inputs" \
  "$LETHE" train --model mlp --data "$DATA" --epochs 3 --batch 32 --lr 1e6 --augment none --out "$T/nan"
[ ! -e "$T/nan/model.safetensors" ] && [ ! -e "$T/nan/metrics.json" ] || { echo "FAIL: a failed run wrote results"; fail=1; }
# --detect-anomaly searches from the start: the same op, found during the forward itself.
one_line_error "train: epoch 1 step 3: detect-anomaly: op linear in module head produced Inf from finite inputs" \
  "$LETHE" train --model mlp --data "$DATA" --epochs 3 --batch 32 --lr 1e6 --augment none --detect-anomaly --out "$T/nan2"
"$LETHE" train --model mlp --data "$DATA" --epochs 2 --batch 32 --lr 0.1 --augment none --detect-anomaly \
  --out "$T/good" >/dev/null 2>"$T/err" || { echo "FAIL: --detect-anomaly on a healthy run"; cat "$T/err"; fail=1; }
one_line_error "unlearn fine-tune: epoch 2 step 1: loss is NaN; detect-anomaly: op linear in module head produced Inf" \
  "$LETHE" unlearn --from "$T/good" --method ft --forget random:0.1 --lr 1e6 --epochs 3 --out "$T/ft-nan"
[ ! -e "$T/ft-nan/metrics.json" ] || { echo "FAIL: a failed unlearning wrote results"; fail=1; }

# Runs that survive a kill: a run SIGKILLed at random moments (several times) and continued with
# --resume ends with a model.safetensors byte-identical to the uninterrupted run's (same threads,
# same ISA path); SIGTERM stops it between steps with one line and the signal's exit status.
DK="synthetic:mixture:4:128:20000"
TR="--model mlp --data $DK --epochs 5 --batch 64 --lr 0.01 --augment none --threads 1"
seed=$(date +%s)
echo "kill points drawn with seed $seed"
rand_sleep() {  # a random delay in [lo, lo + span) seconds, from $seed (advance it first)
  awk -v s="$seed" -v lo="$1" -v span="$2" 'BEGIN { srand(s); printf "%.2f", lo + rand() * span }'
}
# A run is finished once metrics.json is written and its checkpoint deleted (in that order).
finished() { [ -e "$1/metrics.json" ] && [ ! -e "$1/resume.safetensors" ]; }
kill_and_resume() {  # name, then the command (without --resume); kills it 4 times, then finishes
  name="$1"
  shift
  out="$T/$name-killed"
  for i in 1 2 3 4; do
    finished "$out" && break
    "$@" --resume --out "$out" >/dev/null 2>>"$T/$name.attempts" &
    pid=$!
    seed=$((seed + 1))
    d=$(rand_sleep 0.3 1.2)
    sleep "$d"
    if kill -9 "$pid" 2>/dev/null; then
      echo "$name: SIGKILL after ${d}s ($(ls "$out" 2>/dev/null | tr '\n' ' '))"
    fi
    wait "$pid" 2>/dev/null
  done
  if ! finished "$out"; then
    "$@" --resume --out "$out" >/dev/null 2>"$T/err" || { echo "FAIL: $name: resume"; cat "$T/err"; fail=1; }
  fi
  for f in ${RESULT_FILES:-model.safetensors}; do
    cmp -s "$out/$f" "${WHOLE:-$T/$name-whole}/$f" ||
      { echo "FAIL: $name: killed and resumed $f differs from the uninterrupted one's"; fail=1; }
  done
  if find "$out" -name 'resume.safetensors*' | grep -q .; then
    echo "FAIL: $name: resume checkpoint (or a temporary of it) left behind"; fail=1
  fi
}
"$LETHE" train $TR --out "$T/train-whole" >/dev/null 2>&1 || { echo "FAIL: train"; fail=1; }
[ "$(grep -c . "$T/train-whole/log.jsonl")" -eq 5 ] || { echo "FAIL: log.jsonl"; fail=1; }
kill_and_resume train "$LETHE" train $TR
[ "$(grep -c . "$T/train-killed/log.jsonl")" -eq 5 ] || { echo "FAIL: resumed log.jsonl is not 5 lines"; fail=1; }
UF="--forget random:60 --epochs 5 --threads 1"
for m in ft amun; do
  "$LETHE" unlearn --from "$T/train-whole" --method $m $UF --out "$T/$m-whole" >/dev/null 2>&1 ||
    { echo "FAIL: unlearn $m"; fail=1; }
  kill_and_resume "$m" "$LETHE" unlearn --from "$T/train-whole" --method $m $UF
done
# Checkpoints inside epochs (--checkpoint-every N steps): killed and resumed mid-epoch, the same
# bytes; the log keeps one line per epoch.
WHOLE="$T/train-whole" kill_and_resume train-steps "$LETHE" train $TR --checkpoint-every 7
echo "train-steps: $(grep -c 'resuming after step' "$T/train-steps.attempts") mid-epoch resumes"
[ "$(grep -c . "$T/train-steps-killed/log.jsonl")" -eq 5 ] || { echo "FAIL: train-steps: log.jsonl is not 5 lines"; fail=1; }
WHOLE="$T/amun-whole" kill_and_resume amun-steps "$LETHE" unlearn --from "$T/train-whole" --method amun $UF --checkpoint-every 3
echo "amun-steps: $(grep -c 'resuming after step' "$T/amun-steps.attempts") mid-epoch resumes"
# rl's SalUn schedule checkpoints its passes (a forget pass, then a retain pass, per epoch).
"$LETHE" unlearn --from "$T/train-whole" --method rl --opt schedule=salun $UF --out "$T/rl-salun-whole" \
  >/dev/null 2>&1 || { echo "FAIL: unlearn rl schedule=salun"; fail=1; }
kill_and_resume rl-salun "$LETHE" unlearn --from "$T/train-whole" --method rl --opt schedule=salun $UF --checkpoint-every 3
# SIGTERM once the first mid-epoch checkpoint exists: a clean stop between steps, one line, exit
# status 128 + 15; the stop saves its step, and the resumed run ends with the uninterrupted run's
# bytes. (Waiting for the checkpoint rather than a random delay: the runs here take ~2 s.)
term_at_checkpoint() {  # out dir, then the command; SIGTERM once its first checkpoint exists (rc)
  dir="$1"
  shift
  "$@" --checkpoint-every 5 --resume --out "$dir" >/dev/null 2>"$T/err" &
  pid=$!
  for i in $(seq 200); do [ -e "$dir/resume.safetensors" ] && break; sleep 0.02; done
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
}
stop_mid_epoch() {  # name, whole-run dir, then the command (without --resume/--out)
  name="$1"
  whole="$2"
  shift 2
  term_at_checkpoint "$T/$name" "$@"
  if [ -e "$T/$name/metrics.json" ]; then
    echo "$name: SIGTERM came after the run finished; not checked"
  else
    [ "$rc" -eq 143 ] || { echo "FAIL: $name: SIGTERM exit status $rc, not 143"; fail=1; }
    tail -n 1 "$T/err" | grep -q "^lethe: error: [a-z ]*: epoch [0-9]* step [0-9]*: stopped by SIGTERM; --resume continues after step [0-9]* of epoch [0-9]*$" ||
      { echo "FAIL: $name: SIGTERM message"; cat "$T/err"; fail=1; }
    "$@" --checkpoint-every 5 --resume --out "$T/$name" >/dev/null 2>"$T/err" ||
      { echo "FAIL: $name: resume after SIGTERM"; cat "$T/err"; fail=1; }
    grep -q "resuming after step" "$T/err" || { echo "FAIL: $name: did not resume mid-epoch"; cat "$T/err"; fail=1; }
    echo "$name: stopped by SIGTERM, resumed: $(grep 'resuming after step' "$T/err")"
  fi
  cmp -s "$T/$name/model.safetensors" "$whole/model.safetensors" ||
    { echo "FAIL: $name: stopped mid-epoch and resumed model differs"; fail=1; }
}
stop_mid_epoch term-steps "$T/train-whole" "$LETHE" train $TR
stop_mid_epoch term-amun "$T/amun-whole" "$LETHE" unlearn --from "$T/train-whole" --method amun $UF
one_line_error "--checkpoint-every needs --resume" \
  "$LETHE" train $TR --checkpoint-every 5 --out "$T/noresume"
# A kill inside the finish (after model.safetensors, or after metrics.json, but before the
# checkpoint is deleted) leaves results beside resume.safetensors: --resume must take the
# directory as unfinished and end with the uninterrupted bytes, not refuse it as finished.
# Made deterministic by SIGTERM at a checkpoint, then the whole run's result files copied in.
cut_finish() {  # name, whole-run dir, files of the finish already written, then the command
  name="$1"
  whole="$2"
  files="$3"
  shift 3
  term_at_checkpoint "$T/$name" "$@"
  if finished "$T/$name"; then echo "$name: SIGTERM came after the run finished; not checked"; return; fi
  for f in $files; do cp "$whole/$f" "$T/$name/$f"; done
  printf 'garbage' >"$T/$name/model.safetensors"  # a result of the cut finish, not the final one
  "$@" --checkpoint-every 5 --resume --out "$T/$name" >/dev/null 2>"$T/err" ||
    { echo "FAIL: $name: resume after a cut finish ($files)"; cat "$T/err"; fail=1; }
  cmp -s "$T/$name/model.safetensors" "$whole/model.safetensors" ||
    { echo "FAIL: $name: resumed after a cut finish, model differs"; fail=1; }
  [ ! -e "$T/$name/resume.safetensors" ] || { echo "FAIL: $name: checkpoint left behind"; fail=1; }
  echo "$name: finish cut after $files, resumed"
}
cut_finish cut-ft-model "$T/ft-whole" "config.json forget.txt" \
  "$LETHE" unlearn --from "$T/train-whole" --method ft $UF
cut_finish cut-train-metrics "$T/train-whole" "config.json metrics.json" "$LETHE" train $TR

# A full disk (here a file-size limit, which fails writes with EFBIG as a full disk does with
# ENOSPC): one line naming the file, and the previous result intact, byte for byte.
cp -r "$T/train-whole" "$T/full"
one_line_error "model.safetensors" \
  sh -c "ulimit -f 100; exec \"$LETHE\" train $TR --seed 9 --overwrite --out \"$T/full\""
tail -n 1 "$T/err" | grep -q "File too large" || { echo "FAIL: the write error does not say why"; cat "$T/err"; fail=1; }
cmp -s "$T/train-whole/model.safetensors" "$T/full/model.safetensors" ||
  { echo "FAIL: a failed write damaged the previous model.safetensors"; fail=1; }
if ls "$T/full" | grep -q '\.tmp\.'; then echo "FAIL: temporary files left after a failed write"; fail=1; fi
echo "disk full: $(tail -n 1 "$T/err")"

# A batch that cannot fit is refused before it is allocated, naming the estimate: against the
# machine's available memory (a full-width ResNet-18 on all of Fashion-MNIST in one batch needs
# ~200 GiB) and against --max-memory; unlearn likewise.
one_line_error "train: --batch 60000 needs an estimated" \
  "$LETHE" train --model resnet18 --data fashion-mnist --batch 60000 --epochs 1 --out "$T/huge"
tail -n 1 "$T/err" | grep -q "of available memory (MemAvailable); lower --batch" ||
  { echo "FAIL: the refusal does not name the limit"; cat "$T/err"; fail=1; }
one_line_error "more than the 1.0 MiB of --max-memory" \
  "$LETHE" train $TR --max-memory 1M --out "$T/small"
one_line_error "unlearn ft: --batch 64 needs an estimated" \
  "$LETHE" unlearn --from "$T/train-whole" --method ft --forget random:60 --batch 64 --max-memory 1M --out "$T/small-ft"
one_line_error "--max-memory: '4 apples' is not a size" "$LETHE" train $TR --max-memory "4 apples" --out "$T/bad"

# SISA training (--sisa S:R): a shard continues after its last complete slice checkpoint; every
# shard's checkpoints, the manifest and model.safetensors byte-identical to the unbroken run's.
"$LETHE" train $TR --sisa 3:2 --out "$T/sisa-whole" >/dev/null 2>&1 || { echo "FAIL: train --sisa"; fail=1; }
RESULT_FILES="model.safetensors sisa/manifest.json $(cd "$T/sisa-whole" && find sisa -name '*.safetensors' | sort | tr '\n' ' ')" \
  kill_and_resume sisa "$LETHE" train $TR --sisa 3:2
echo "sisa: $(grep -c 'resumes after slice' "$T/sisa.attempts") shards resumed after a slice"
[ "$(grep -c . "$T/sisa-killed/log.jsonl")" -eq 6 ] || { echo "FAIL: resumed SISA log.jsonl is not 6 lines"; fail=1; }

# The reference-model job (its models resume at their epoch checkpoints): every model's weights
# and pool logits, and the cache the attacks read, byte-identical to the uninterrupted job's.
"$LETHE" train $TR --reference-models 3 --out "$T/refs-whole" >/dev/null 2>&1 ||
  { echo "FAIL: reference models"; fail=1; }
RESULT_FILES="ref_0/model.safetensors ref_1/model.safetensors ref_2/model.safetensors
  ref_0/logits.safetensors ref_2/logits.safetensors logits.safetensors inclusion.safetensors" \
  kill_and_resume refs "$LETHE" train $TR --reference-models 3
[ "$(grep -c . "$T/refs-killed/log.jsonl")" -eq 15 ] || { echo "FAIL: resumed reference log.jsonl is not 15 lines"; fail=1; }
one_line_error "--resume: --method scrub does not checkpoint its epochs" \
  "$LETHE" unlearn --from "$T/train-whole" --method scrub $UF --resume --out "$T/scrub"
# A checkpoint written with other options is refused, naming the option: kill a run as soon as
# its first epoch checkpoint exists, then resume it with another --lr.
"$LETHE" train $TR --resume --out "$T/other" >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -e "$T/other/resume.safetensors" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -e "$T/other/resume.safetensors" ] || { echo "FAIL: no epoch checkpoint appeared"; fail=1; }
one_line_error "was written with lr = 0.01, this run has 0.02" \
  "$LETHE" train $(echo "$TR" | sed 's/--lr 0.01/--lr 0.02/') --resume --out "$T/other"

exit $fail
