#!/usr/bin/env bash
# Architecture invariants and tidiness checks (see ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

# The IO-free crates never pull in a UI, database, network or image library.
for krate in intake idcard-proto kiosk-privacy; do
  deps=$(cargo tree -p "$krate" -e normal --prefix none --offline 2>/dev/null | awk '{print $1}' | sort -u)
  for heavy in slint rusqlite reqwest opencv tesseract tokio serialport axum; do
    if echo "$deps" | grep -qx "$heavy"; then
      echo "invariant broken: $krate depends on $heavy"; fail=1
    fi
  done
done

# Every Rust file opens with a //! doc comment.
while IFS= read -r f; do
  first=$(grep -v '^\s*$' "$f" | head -1)
  case "$first" in
    '//!'*) ;;
    *) echo "missing //! module doc: $f"; fail=1 ;;
  esac
done < <(git ls-files '*.rs')

# No debugging output left in library code.
if git grep -nE '\bdbg!\(' -- '*.rs' >/dev/null; then
  echo "dbg! found:"; git grep -nE '\bdbg!\(' -- '*.rs'; fail=1
fi

[ $fail -eq 0 ] && echo "invariants hold"
exit $fail
