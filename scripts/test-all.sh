#!/usr/bin/env bash
# Runs every test of the workspace and ends with one plain summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
log="${CARGO_TARGET_DIR:-target}/test-all.log"
mkdir -p "$(dirname "$log")"
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
summary=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "workspace: %d passed, %d failed", p, f }' "$log")
echo
echo "$summary"
exit $status
