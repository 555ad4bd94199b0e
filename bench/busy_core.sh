#!/bin/sh
# Training-step time of `lethe bench` with 2 threads, on an idle second core and with a competing
# busy process (`yes`), for each OpenMP wait setting. Prints one line per setting and the ratio
# busy/idle. Usage: bench/busy_core.sh [LETHE] [extra bench options...]
# Why: libgomp's default spins ~300000 iterations at every barrier; with a core taken by another
# process the spinning thread steals the time slice the working thread needs (issue 20 item 4).
set -eu
LETHE=${1:-build/cpu-release/lethe}
[ $# -gt 0 ] && shift
OPTS=${*:-"--model resnet18 --width 8 --batch 32 --steps 8 --warmup 2"}
step() { # median training-step seconds of one bench run, env given as arguments
  env "$@" "$LETHE" bench $OPTS --threads 2 --pgd-steps 0 2>/dev/null |
    tr -d ' ,' | awk -F: '/"train_step_s"/{t=1} t&&/"median"/{print $2; exit}'
}
for setting in "LETHE_OMP_WAIT=keep" "OMP_WAIT_POLICY=active" "OMP_WAIT_POLICY=passive" \
               "GOMP_SPINCOUNT=10000" "LETHE_DEFAULT=1"; do
  case $setting in LETHE_DEFAULT=1) e="" ;; *) e=$setting ;; esac
  idle=$(step $e)
  yes >/dev/null & busy_pid=$!
  busy=$(step $e)
  kill "$busy_pid"
  wait "$busy_pid" 2>/dev/null || true
  echo "$setting idle_s=$idle busy_s=$busy ratio=$(echo "$busy $idle" | awk '{printf "%.2f", $1/$2}')"
done
