#!/usr/bin/env bash
# Property-based fuzz of the registry's protocol (registry/openapi.yaml) with
# schemathesis, against a real `registry` on loopback with a fresh database,
# a fresh key set, a terminal token and a staff token (the terminal API and
# the staff API each with its own credential, as the document's security
# schemes say; scripts/fuzz_registry_hooks.py makes the sealed bodies).
# Fails on any 5xx (not_a_server_error), on an answer the document does not
# allow (status code, content type, headers, response schema), on a request
# the document forbids that is accepted (negative_data_rejection), and on a
# crash: the registry must still be up and must have logged no panic.
# (positive_data_acceptance is left out: a random body is never a box that
# opens, so every "valid" sealed upload is rightly refused.)
#
# Bounded: FUZZ_EXAMPLES test cases per operation (default 50) and
# FUZZ_MAX_TIME seconds for the whole run (default 90); FUZZ_SEED (default 15)
# fixes the cases, FUZZ_CHECKS replaces the checks. scripts/test-all.sh
# runs it; scripts/install-deps.sh installs schemathesis (pinned, in a venv).
# Needs the `registry` binary: $REGISTRY_BIN, else $CARGO_TARGET_DIR/debug/registry
# (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
registry_bin="${REGISTRY_BIN:-$target/debug/registry}"
venv="${SCHEMATHESIS_VENV:-/var/tmp/kiosk-schemathesis}"
schemathesis="$venv/bin/schemathesis"
examples="${FUZZ_EXAMPLES:-50}"
max_time="${FUZZ_MAX_TIME:-90}"

if [ ! -x "$schemathesis" ]; then
  echo "fuzz-registry: schemathesis not found in $venv (run scripts/install-deps.sh)" >&2
  exit 1
fi
if [ ! -x "$registry_bin" ]; then
  cargo build -p registry --bin registry
fi

work=$(mktemp -d)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ] && kill -0 "$registry_pid" 2>/dev/null; then
    kill "$registry_pid"
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$registry_bin" --init-keys "$work/keys" 2>/dev/null
terminal_token="fuzz-terminal-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
staff_token="fuzz-staff-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "T-FUZZ-01 $terminal_token" >"$work/tokens"
echo "$staff_token" >"$work/staff-tokens"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# History lookups are rate-limited per terminal; the fuzz lifts the limit to
# reach the lookup itself (the limit has its own test).
RUST_LOG=info "$registry_bin" --listen "127.0.0.1:$port" --db "$work/registry.db" \
  --token-file "$work/tokens" --staff-token-file "$work/staff-tokens" \
  --seal-key-file "$work/keys/seal.secret" --lookup-key-file "$work/keys/lookup.key" \
  --history-burst 1000000 --history-per-minute 1000000 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 100); do
  curl -fsS "$base/v1/health" >/dev/null 2>&1 && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/v1/health" >/dev/null

cat >"$work/schemathesis.toml" <<TOML
[auth.openapi.terminalToken]
bearer = "$terminal_token"

[auth.openapi.staffToken]
bearer = "$staff_token"
TOML

start=$(date +%s)
status=0
# Run from the scratch directory: schemathesis keeps a crash cache in ./.schemathesis.
repo=$PWD
(cd "$work" && PYTHONPATH="$repo/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=fuzz_registry_hooks \
  "$schemathesis" --config-file "$work/schemathesis.toml" --no-color run "$repo/registry/openapi.yaml" \
  --url "$base" \
  --checks "${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection}" \
  --max-examples "$examples" --max-time "$max_time" --workers 1 --seed "${FUZZ_SEED:-15}" \
  --generation-database none --suppress-health-check all \
  --report junit --report-junit-path "$target/fuzz-registry.junit.xml") || status=$?
took=$(( $(date +%s) - start ))

if ! kill -0 "$registry_pid" 2>/dev/null; then
  echo "fuzz-registry: the registry died during the fuzz" >&2
  status=1
fi
if grep -n "panicked" "$work/registry.log" >&2; then
  echo "fuzz-registry: the registry panicked (above)" >&2
  status=1
fi
echo "fuzz-registry: $( [ $status -eq 0 ] && echo passed || echo FAILED ) in ${took}s ($examples examples per operation)"
exit $status
