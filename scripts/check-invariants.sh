#!/usr/bin/env bash
# Architecture invariants and tidiness checks (see ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

# The IO-free crates never pull in a UI, database, network or image library.
for krate in intake idcard-proto kiosk-privacy; do
  deps=$(cargo tree -p "$krate" -e normal --prefix none | awk '{print $1}' | sort -u)
  if ! echo "$deps" | grep -qx "$krate"; then
    echo "cannot list the dependencies of $krate"; fail=1
  fi
  for heavy in slint rusqlite reqwest opencv tesseract tokio serialport axum; do
    if echo "$deps" | grep -qx "$heavy"; then
      echo "invariant broken: $krate depends on $heavy"; fail=1
    fi
  done
done

# No import cycle among the app's modules (the controller, its threads, the
# view, the voice and the configuration import each other one way only).
if ! python3 scripts/module-cycles.py kiosk/app/src; then
  echo "invariant broken: kiosk/app has an import cycle"; fail=1
fi

# Every Rust file opens with a //! doc comment.
while IFS= read -r f; do
  [ -f "$f" ] || continue
  first=$(awk 'NF{print; exit}' "$f")
  case "$first" in
    '//!'*) ;;
    *) echo "missing //! module doc: $f"; fail=1 ;;
  esac
done < <(git ls-files --cached --others --exclude-standard '*.rs')

# No debugging output left in library code.
if git grep -nE '\bdbg!\(' -- '*.rs' >/dev/null; then
  echo "dbg! found:"; git grep -nE '\bdbg!\(' -- '*.rs'; fail=1
fi

[ $fail -eq 0 ] && echo "invariants hold"
exit $fail
