#!/usr/bin/env bash
# Builds the flashable terminal image with one command (as root):
#
#   image-build/build.sh --provisioning-key provisioning.pub --update-key DIR [--version V] [--fast] [--provision FILE] [-- MKOSI-OPTIONS…]
#
#   --provisioning-key PUB  the deployment's public provisioning key (from
#                     `kiosk provision keygen`), built into the image as
#                     /usr/share/kiosk/provisioning.pub: the terminal
#                     installs only files signed with its secret half
#   --update-key DIR  the county's update key (update-key.sh): its
#                     keyring.pem goes into the image (RAUC installs only
#                     bundles signed under it) and the bundle of this
#                     build is signed with its signing certificate
#   --version V       the bundle's version [default: the kiosk's, from
#                     Cargo.toml: what the terminal reports]
#   --fast            build the kiosk with the dev profile (minutes, not half
#                     an hour; for bench images and the boot test only)
#   --provision FILE  pre-provision the image with a file from `kiosk provision make`
#                     (signed with that key)
#   --test-hooks      add the boot-test agent (mkosi/test-hooks/); test images only
#
# Steps: install the build tools (mkosi, cargo-deb) if missing, build the kiosk
# Debian package with cargo-deb, the operating system tree with mkosi from
# image-build/mkosi/, then the disk image from the tree with assemble.sh,
# then the signed update bundle of the same root with make-bundle.sh.
# Output: image-build/out/kiosk.raw, kiosk.raw.bmap, SHA256SUMS, root.sqfs
# and kiosk-VERSION.raucb.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
profile=release
provision=""
provisioning_key=""
update_key=""
version=""
mkosi_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --fast) profile=dev ;;
        --provision) provision=$2; shift ;;
        --provisioning-key) provisioning_key=$2; shift ;;
        --update-key) update_key=$2; shift ;;
        --version) version=$2; shift ;;
        # Naming one extra tree replaces the default mkosi.extra/: name both.
        --test-hooks) mkosi_args+=(--extra-tree "$here/mkosi/mkosi.extra" --extra-tree "$here/mkosi/test-hooks") ;;
        --) shift; mkosi_args+=("$@"); break ;;
        *) echo "usage: $0 --provisioning-key PUB --update-key DIR [--version V] [--fast] [--provision FILE] [--test-hooks] [-- MKOSI-OPTIONS]" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$provisioning_key" ] && grep -q '^kiosk-provision-public-v1:' "$provisioning_key" || {
    echo "name the deployment's public provisioning key: --provisioning-key provisioning.pub" >&2
    echo "(make the pair once with \`kiosk provision keygen --out DIR\`; keep provisioning.key off the terminals)" >&2
    exit 2
}
[ -n "$update_key" ] && [ -s "$update_key/keyring.pem" ] && [ -s "$update_key/signing.cert.pem" ] || {
    echo "name the county's update key: --update-key DIR (make it once with image-build/update-key.sh DIR)" >&2
    exit 2
}
[ "$(id -u)" -eq 0 ] || { echo "run as root (mkosi installs Debian into a tree with systemd-nspawn)" >&2; exit 1; }

# Build tools: Debian 12's mkosi 14 and its helpers; cargo-deb from crates.io.
need=()
for p in mkosi debootstrap systemd-container squashfs-tools dosfstools e2fsprogs \
         mtools fdisk bmap-tools zstd systemd-boot rauc openssl; do
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
[ -n "$version" ] || version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[[ "$version" =~ ^[A-Za-z0-9._+~-]{1,64}$ ]] || { echo "bad version: $version" >&2; exit 2; }
# cargo deb's output goes to the terminal (stderr) and a file of our own
# (tee on /dev/stderr would truncate a log the caller redirects into).
deb_log=$(mktemp)
cargo deb -p kiosk --profile "$profile" 2>&1 | tee "$deb_log" >&2
deb=$(tail -n 1 "$deb_log")
rm -f "$deb_log"
[ -f "$deb" ] || { echo "cargo deb did not report a package path" >&2; exit 1; }

# Stage the package (and the provisioning file) into the image tree.
stage="$here/mkosi/mkosi.extra/root"
keydir="$here/mkosi/mkosi.extra/usr/share/kiosk"
# PP-OCR's models, as install-deps.sh installed and verify.sh checked them on
# this machine, at the same path in the image (the postinst checks them again).
modeldir="$here/mkosi/mkosi.extra/usr/local/share/kiosk"
raucdir="$here/mkosi/mkosi.extra/etc/rauc"
versionfile="$here/mkosi/mkosi.extra/usr/lib/kiosk/version"
rm -rf "$stage" "$keydir" "$modeldir" "$raucdir" "$versionfile"
mkdir -p "$stage" "$keydir" "$modeldir/ocr-models" "$raucdir"
trap 'rm -rf "$stage" "$keydir" "$modeldir" "$raucdir" "$versionfile"' EXIT
# The root's version, the same as its bundle's: the kiosk reports it in its
# heartbeat and compares it with what a roll-out or a stick offers.
printf '%s\n' "$version" > "$versionfile"
# RAUC: the slots and the keyring the terminal checks bundles against.
install -m 0644 "$here/rauc/system.conf" "$raucdir/system.conf"
install -m 0644 "$update_key/keyring.pem" "$keydir/update-keyring.pem"
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
"$here/make-bundle.sh" "$here/out/root.sqfs" "$version" "$update_key" "$here/out/kiosk-$version.raucb"
echo "image and bundle $version built in $(( $(date +%s) - started )) s:"
ls -l "$here/out"
