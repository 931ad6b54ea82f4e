#!/usr/bin/env bash
# Bounded fuzzing of the ID card codec: the frame decoder and the text block
# parser (fuzz/fuzz_targets), each for SECONDS (default 60), starting from
# and adding to the corpus kept in fuzz/corpus/<target>. Not part of
# `make test`.
#
# Uses `cargo fuzz` when it is installed; otherwise builds the same
# libFuzzer harness with cargo and the sanitizer-coverage flags cargo-fuzz
# passes (stable rustc; no address sanitizer, the codec is safe Rust).
#
#   scripts/fuzz-idcard.sh            # both targets, 60 s each
#   SECONDS_PER_TARGET=600 scripts/fuzz-idcard.sh text_block
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
budget="${SECONDS_PER_TARGET:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_decoder text_block)
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/kiosk-fuzz-target}"

if cargo fuzz --help >/dev/null 2>&1; then
  for t in "${targets[@]}"; do
    cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$budget"
  done
  exit 0
fi

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# With an explicit --target, RUSTFLAGS reach the fuzzed code but not build scripts.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --bins --target "$host"
mkdir -p artifacts
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "fuzzing $t for ${budget}s"
  "$CARGO_TARGET_DIR/$host/release/$t" -max_total_time="$budget" -max_len=4096 \
    -artifact_prefix="artifacts/$t/" "corpus/$t"
done
