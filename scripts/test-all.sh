#!/usr/bin/env bash
# Runs every test of the workspace, then the registry's protocol fuzz
# (scripts/fuzz-registry.sh; SKIP_FUZZ=1 leaves it out), and ends with one
# plain summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
log="${CARGO_TARGET_DIR:-target}/test-all.log"
mkdir -p "$(dirname "$log")"
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
summary=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "workspace: %d passed, %d failed", p, f }' "$log")
fuzz="registry fuzz: skipped"
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  if ./scripts/fuzz-registry.sh 2>&1 | tee "${CARGO_TARGET_DIR:-target}/fuzz-registry.log"; then
    fuzz="registry fuzz: passed"
  else
    fuzz="registry fuzz: FAILED"; status=1
  fi
fi
echo
echo "$summary; $fuzz"
exit $status
