#!/usr/bin/env bash
# Builds the flashable terminal image with one command (as root):
#
#   image-build/build.sh --provisioning-key provisioning.pub [--fast] [--provision FILE] [-- MKOSI-OPTIONS…]
#
#   --provisioning-key PUB  the deployment's public provisioning key (from
#                     `kiosk provision keygen`), built into the image as
#                     /usr/share/kiosk/provisioning.pub: the terminal
#                     installs only files signed with its secret half
#   --fast            build the kiosk with the dev profile (minutes, not half
#                     an hour; for bench images and the boot test only)
#   --provision FILE  pre-provision the image with a file from `kiosk provision make`
#                     (signed with that key)
#   --test-hooks      add the boot-test agent (mkosi/test-hooks/); test images only
#
# Steps: install the build tools (mkosi, cargo-deb) if missing, build the kiosk
# Debian package with cargo-deb, the operating system tree with mkosi from
# image-build/mkosi/, then the disk image from the tree with assemble.sh.
# Output: image-build/out/kiosk.raw, kiosk.raw.bmap and SHA256SUMS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
profile=release
provision=""
provisioning_key=""
mkosi_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --fast) profile=dev ;;
        --provision) provision=$2; shift ;;
        --provisioning-key) provisioning_key=$2; shift ;;
        # Naming one extra tree replaces the default mkosi.extra/: name both.
        --test-hooks) mkosi_args+=(--extra-tree "$here/mkosi/mkosi.extra" --extra-tree "$here/mkosi/test-hooks") ;;
        --) shift; mkosi_args+=("$@"); break ;;
        *) echo "usage: $0 --provisioning-key PUB [--fast] [--provision FILE] [--test-hooks] [-- MKOSI-OPTIONS]" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$provisioning_key" ] && grep -q '^kiosk-provision-public-v1:' "$provisioning_key" || {
    echo "name the deployment's public provisioning key: --provisioning-key provisioning.pub" >&2
    echo "(make the pair once with \`kiosk provision keygen --out DIR\`; keep provisioning.key off the terminals)" >&2
    exit 2
}
[ "$(id -u)" -eq 0 ] || { echo "run as root (mkosi installs Debian into a tree with systemd-nspawn)" >&2; exit 1; }

# Build tools: Debian 12's mkosi 14 and its helpers; cargo-deb from crates.io.
need=()
for p in mkosi debootstrap systemd-container squashfs-tools dosfstools e2fsprogs \
         mtools fdisk bmap-tools zstd systemd-boot; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.6.2

"$repo/scripts/install-deps.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/kiosk-target} OMP_THREAD_LIMIT=1
cd "$repo"
deb=$(cargo deb -p kiosk --profile "$profile" 2>&1 | tee /dev/stderr | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb did not report a package path" >&2; exit 1; }

# Stage the package (and the provisioning file) into the image tree.
stage="$here/mkosi/mkosi.extra/root"
keydir="$here/mkosi/mkosi.extra/usr/share/kiosk"
# PP-OCR's models, as install-deps.sh installed and verify.sh checked them on
# this machine, at the same path in the image (the postinst checks them again).
modeldir="$here/mkosi/mkosi.extra/usr/local/share/kiosk"
rm -rf "$stage" "$keydir" "$modeldir"
mkdir -p "$stage" "$keydir" "$modeldir/ocr-models"
trap 'rm -rf "$stage" "$keydir" "$modeldir"' EXIT
cp "$deb" "$stage/kiosk.deb"
cp -r /usr/local/share/kiosk/ocr-models/ppocr "$modeldir/ocr-models/"
install -m 0644 "$provisioning_key" "$keydir/provisioning.pub"
[ -z "$provision" ] || install -m 0600 "$provision" "$stage/provision.toml"

mkdir -p "$here/out"
cd "$here/mkosi"
started=$(date +%s)
if [ "$(stat -f -c %T /run)" = tmpfs ]; then
    mkosi --force --output-dir "$here/out" "${mkosi_args[@]}" build
else
    # A container without systemd: /run is not a tmpfs, and systemd-nspawn
    # (which mkosi runs the postinst in) refuses to clean up its propagation
    # directory on a disk file system. Give it a tmpfs in a private mount
    # namespace.
    unshare --mount --propagation private -- sh -c \
        'mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && exec "$@"' sh \
        mkosi --force --output-dir "$here/out" "${mkosi_args[@]}" build
fi
tree=$(find "$here/out" -maxdepth 2 -type d -name kiosk | head -n 1)
[ -n "$tree" ] || { echo "mkosi left no tree in $here/out" >&2; exit 1; }
"$here/assemble.sh" "$tree" "$here/out/kiosk.raw"
echo "image built in $(( $(date +%s) - started )) s:"
ls -l "$here/out"
