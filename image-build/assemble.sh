#!/usr/bin/env bash
# Makes the flashable GPT disk image from the operating system tree that
# mkosi built (build.sh runs it; run it alone to re-assemble a tree):
#
#   image-build/assemble.sh TREE OUT.raw
#
# Partitions, in this order (the data partition last, so that
# systemd-repart can grow it to the whole disk on first boot):
#   1. ESP (vfat, 256 MiB): systemd-boot, slot A's kernel and initrd in
#      /a/, its entry loader/entries/kiosk-a.conf (slot B's come with the
#      first update, see mkosi.extra/usr/lib/kiosk/esp-entries.sh);
#   2. root-a (squashfs, zstd, read-only): the tree without /var (its
#      /boot included: an update bundle carries its own kernel);
#   3. root-b: the same size, empty until the first update is installed;
#   4. /var, "Variable Data Partition" (ext4, 512 MiB): the tree's /var.
# Each root slot is twice the size of today's root. Partition types follow
# the Discoverable Partitions Specification. Nothing here needs a loop
# device or a mount: mksquashfs, mkfs.ext4 -d, mkfs.vfat with mtools, sfdisk
# and dd write into plain files. Writes OUT.raw, OUT.raw.bmap and
# SHA256SUMS next to it, and the root as root.sqfs (make-bundle.sh signs it
# into an update bundle).
set -euo pipefail

tree=${1:?usage: $0 TREE OUT.raw}
out=${2:?usage: $0 TREE OUT.raw}
[ -d "$tree/usr" ] || { echo "$tree is not an operating system tree" >&2; exit 1; }
kver=$(ls "$tree/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$tree/boot/vmlinuz-$kver" ] && [ -f "$tree/boot/initrd.img-$kver" ] \
    || { echo "no kernel and initrd in $tree/boot" >&2; exit 1; }
stub="$tree/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
[ -f "$stub" ] || { echo "no systemd-boot in $tree" >&2; exit 1; }

work=$(mktemp -d "$(dirname "$out")/assemble.XXXXXX")
trap 'rm -rf "$work"' EXIT
esp_mib=256
var_mib=512
root_uuid=$(cat /proc/sys/kernel/random/uuid)
root_b_uuid=$(cat /proc/sys/kernel/random/uuid)
# The kernel command line beyond root= and rauc.slot=, carried by the root
# so that a bundle brings its own (esp-entries.sh reads it from the ESP).
cmdline_extra="console=tty0 console=ttyS0,115200 quiet systemd.show_status=no"
mkdir -p "$tree/usr/lib/kiosk"
echo "$cmdline_extra" > "$tree/usr/lib/kiosk/cmdline"

# Root: everything but the contents of /var (its own partition), which
# stays as an empty mount point.
mksquashfs "$tree" "$work/root.sqfs" -comp zstd -noappend -quiet -no-progress \
    -wildcards -e 'var/*'

# Data partition, from the tree's /var (the kiosk's state directories, the
# /etc/kiosk link target, the provisioning drop).
mkfs.ext4 -q -F -L kiosk-var -d "$tree/var" "$work/var.img" "${var_mib}M"

# ESP: systemd-boot as the removable-media loader, slot A's entry, no menu.
# `default kiosk-*` takes the first entry in systemd-boot's order: the
# highest version line, entries out of tries last (esp-entries.sh).
esp="$work/esp.img"
mkfs.vfat -C -F 32 -n KIOSK-ESP "$esp" $((esp_mib * 1024)) >/dev/null
printf 'timeout 0\ndefault kiosk-*\neditor no\n' > "$work/loader.conf"
printf 'title Petition intake kiosk (a)\nsort-key kiosk\nversion 1\nlinux /a/vmlinuz\ninitrd /a/initrd\noptions root=PARTUUID=%s rootfstype=squashfs ro rauc.slot=a %s\n' \
    "$root_uuid" "$cmdline_extra" > "$work/kiosk-a.conf"
echo "$cmdline_extra" > "$work/cmdline"
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/a
mcopy -i "$esp" "$stub" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/kiosk-a.conf" ::/loader/entries/kiosk-a.conf
mcopy -i "$esp" "$tree/boot/vmlinuz-$kver" ::/a/vmlinuz
mcopy -i "$esp" "$tree/boot/initrd.img-$kver" ::/a/initrd
mcopy -i "$esp" "$work/cmdline" ::/a/cmdline

# The disk: 1 MiB for the GPT, the partitions MiB-aligned, 1 MiB for the
# backup GPT. Each root slot holds twice today's root (64 MiB steps).
root_mib=$(( ($(stat -c %s "$work/root.sqfs") + 1048575) / 1048576 ))
slot_mib=$(( (root_mib * 2 + 63) / 64 * 64 ))
total_mib=$(( 1 + esp_mib + 2 * slot_mib + var_mib + 1 ))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
sector() { echo $(( $1 * 2048 )); }
root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
sfdisk --quiet "$out" <<GPT
label: gpt
first-lba: 2048
start=$(sector 1), size=$(sector "$esp_mib"), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
start=$(sector $((1 + esp_mib))), size=$(sector "$slot_mib"), type=$root_type, uuid=$root_uuid, name="root-a", attrs="GUID:60"
start=$(sector $((1 + esp_mib + slot_mib))), size=$(sector "$slot_mib"), type=$root_type, uuid=$root_b_uuid, name="root-b", attrs="GUID:60"
start=$(sector $((1 + esp_mib + 2 * slot_mib))), size=$(sector "$var_mib"), type=4D21B016-B534-45C2-A9FB-5C16E091FD2D, name="Variable Data Partition"
GPT
put() { dd if="$1" of="$out" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$esp" 1
put "$work/root.sqfs" $((1 + esp_mib))
put "$work/var.img" $((1 + esp_mib + 2 * slot_mib))
cp "$work/root.sqfs" "$(dirname "$out")/root.sqfs"

bmaptool -q create -o "$out.bmap" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" "$(basename "$out").bmap" > SHA256SUMS)
echo "assembled $out: $total_mib MiB (root ${root_mib} MiB squashfs in slot A of ${slot_mib} MiB, slot B empty, kernel $kver)"
sfdisk --list "$out" | sed -n '/^Device/,$p'
