#!/bin/sh
# Command-line contract checks: exit codes and one-line errors.
set -u
LETHE="$1"
fail=0
check() { if ! "$@"; then echo "FAIL: $*"; fail=1; fi; }
out=$("$LETHE" info) || { echo "FAIL: lethe info exited non-zero"; exit 1; }
echo "$out" | grep -q '"gemm_isa"' || { echo "FAIL: info lacks gemm_isa"; fail=1; }
if "$LETHE" no-such-command >/dev/null 2>&1; then echo "FAIL: unknown subcommand accepted"; fail=1; fi
if "$LETHE" info --no-such-option >/dev/null 2>&1; then echo "FAIL: unknown option accepted"; fail=1; fi
[ $fail -eq 0 ] && echo "cli: all checks passed"
exit $fail
