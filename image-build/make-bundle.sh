#!/usr/bin/env bash
# Makes a signed RAUC update bundle from a terminal root (build.sh runs it
# with --update-key; run it alone to sign an existing root):
#
#   image-build/make-bundle.sh ROOT.sqfs VERSION KEYDIR OUT.raucb
#
# KEYDIR holds signing.cert.pem and signing.key.pem (update-key.sh). The
# bundle is in RAUC's verity format: one image, the root squashfs, for the
# slot class `rootfs`; its compatible string is the one of
# image-build/rauc/system.conf, so only a kiosk terminal takes it.
set -euo pipefail
root=${1:?usage: $0 ROOT.sqfs VERSION KEYDIR OUT.raucb}
version=${2:?usage: $0 ROOT.sqfs VERSION KEYDIR OUT.raucb}
keys=${3:?usage: $0 ROOT.sqfs VERSION KEYDIR OUT.raucb}
out=${4:?usage: $0 ROOT.sqfs VERSION KEYDIR OUT.raucb}
here=$(cd "$(dirname "$0")" && pwd)
command -v rauc >/dev/null || { echo "rauc is missing (apt install rauc squashfs-tools)" >&2; exit 1; }
[ -f "$keys/signing.cert.pem" ] && [ -f "$keys/signing.key.pem" ] \
    || { echo "$keys has no signing.cert.pem and signing.key.pem (make them with update-key.sh)" >&2; exit 1; }
[[ "$version" =~ ^[A-Za-z0-9._+~-]{1,64}$ ]] || { echo "bad version: $version" >&2; exit 1; }
compatible=$(sed -n 's/^compatible=//p' "$here/rauc/system.conf")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/content"
# A raw slot takes an image named *.img (RAUC picks the handler by name).
cp "$root" "$work/content/root.img"
cat > "$work/content/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version

[bundle]
format=verity

[image.rootfs]
filename=root.img
MANIFEST
rm -f "$out"
rauc bundle --cert "$keys/signing.cert.pem" --key "$keys/signing.key.pem" "$work/content" "$out" >/dev/null
echo "bundle $out: version $version, $(stat -c %s "$out") bytes"
