#!/bin/sh
# Checks that the installed OCR models (Tesseract, PP-OCR) match ocr-models/manifest.toml.
#
# Usage: ocr-models/verify.sh [manifest.toml]
# Exit status: 0 when every model is present with the pinned size and sha256,
# 1 on any mismatch or missing file, 2 on a malformed manifest.
set -eu

manifest=${1:-"$(dirname "$0")/manifest.toml"}
[ -r "$manifest" ] || { echo "cannot read $manifest" >&2; exit 2; }

# Emit "path bytes sha256" for each [[model]] table of the manifest.
entries=$(awk '
    function flush() { if (path != "") print path, bytes, sha; path = ""; bytes = ""; sha = "" }
    /^\[\[model\]\]/ { flush(); next }
    /^[ \t]*path[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*"/, "", v); sub(/".*$/, "", v); path = v }
    /^[ \t]*bytes[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t#].*$/, "", v); bytes = v }
    /^[ \t]*sha256[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*"/, "", v); sub(/".*$/, "", v); sha = v }
    END { flush() }
' "$manifest")
[ -n "$entries" ] || { echo "no models in $manifest" >&2; exit 2; }

status=0
echo "$entries" | {
    while read -r path bytes sha; do
        if [ -z "$sha" ] || [ -z "$bytes" ]; then
            echo "incomplete entry for $path" >&2
            exit 2
        fi
        if [ ! -f "$path" ]; then
            echo "missing: $path" >&2
            status=1
            continue
        fi
        actual_bytes=$(wc -c < "$path" | tr -d ' ')
        actual_sha=$(sha256sum "$path" | cut -d' ' -f1)
        if [ "$actual_bytes" != "$bytes" ] || [ "$actual_sha" != "$sha" ]; then
            echo "mismatch: $path (sha256 $actual_sha, $actual_bytes bytes)" >&2
            status=1
        else
            echo "ok: $path"
        fi
    done
    exit $status
}
