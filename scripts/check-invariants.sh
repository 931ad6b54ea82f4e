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

# The shipped binary has no simulator and no SPECIMEN data: `cargo deb -p kiosk`
# (image-build/build.sh) builds kiosk alone with its default features, and
# nothing on that path may turn on kiosk's `demo`, a driver's `sim` or a
# crate's `test-utils` feature. `cargo tree` resolves the features without
# building; dev-dependencies (which do enable them, for the tests) are left
# out, as in that build.
test_features='\[([^]]*,)?(demo|sim|test-utils)(,[^]]*)?\]'
features_of_kiosk() {
  cargo tree -p kiosk -e normal,build --prefix none --format '{p} [{f}]' "$@" | sort -u
}
shipped=$(features_of_kiosk)
with_demo=$(features_of_kiosk --features demo)
# The pattern must match where the features are on, or the check proves nothing.
if ! echo "$with_demo" | grep -E "^kiosk-idcard .*$test_features" >/dev/null; then
  echo "cannot see the simulator features in cargo tree's output"; fail=1
fi
if echo "$shipped" | grep -E "$test_features"; then
  echo "invariant broken: the shipped kiosk is built with the features above"; fail=1
fi
# ... and neither the image build nor cargo-deb's metadata adds features.
if grep -nE 'cargo deb.*--(all-)?features' image-build/*.sh; then
  echo "invariant broken: the image build turns on features of kiosk"; fail=1
fi
deb_features=$(cargo metadata --no-deps --format-version 1 |
  jq -r '.packages[] | select(.name == "kiosk") | .metadata.deb | (.features // []) + [if ."all-features" then "all-features" else empty end] | join(" ")')
if [ -n "$deb_features" ]; then
  echo "invariant broken: [package.metadata.deb] of kiosk enables features: $deb_features"; fail=1
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
