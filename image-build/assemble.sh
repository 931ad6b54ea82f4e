#!/usr/bin/env bash
# Makes the flashable GPT disk image from the operating system tree that
# mkosi built (build.sh runs it; run it alone to re-assemble a tree):
#
#   image-build/assemble.sh TREE OUT.raw
#
# Partitions, in this order (the data partition last, so that
# systemd-repart can grow it to the whole disk on first boot):
#   1. ESP (vfat, 256 MiB): systemd-boot, one loader entry, kernel, initrd;
#   2. root (squashfs, zstd, read-only): the tree without /boot and /var;
#   3. /var, "Variable Data Partition" (ext4, 512 MiB): the tree's /var.
# Partition types follow the Discoverable Partitions Specification. Nothing
# here needs a loop device or a mount: mksquashfs, mkfs.ext4 -d, mkfs.vfat
# with mtools, sfdisk and dd write into plain files. Writes OUT.raw,
# OUT.raw.bmap and SHA256SUMS next to it.
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
cmdline="root=PARTUUID=$root_uuid rootfstype=squashfs ro console=tty0 console=ttyS0,115200 quiet systemd.show_status=no"

# Root: everything but the contents of /boot (on the ESP) and /var (its own
# partition); both stay as empty mount points.
mksquashfs "$tree" "$work/root.sqfs" -comp zstd -noappend -quiet -no-progress \
    -wildcards -e 'boot/*' 'var/*'

# Data partition, from the tree's /var (the kiosk's state directories, the
# /etc/kiosk link target, the provisioning drop).
mkfs.ext4 -q -F -L kiosk-var -d "$tree/var" "$work/var.img" "${var_mib}M"

# ESP: systemd-boot as the removable-media loader, one entry, no menu.
esp="$work/esp.img"
mkfs.vfat -C -F 32 -n KIOSK-ESP "$esp" $((esp_mib * 1024)) >/dev/null
printf 'timeout 0\ndefault kiosk.conf\neditor no\n' > "$work/loader.conf"
printf 'title Petition intake kiosk\nlinux /kiosk/vmlinuz\ninitrd /kiosk/initrd\noptions %s\n' \
    "$cmdline" > "$work/kiosk.conf"
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/kiosk
mcopy -i "$esp" "$stub" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/kiosk.conf" ::/loader/entries/kiosk.conf
mcopy -i "$esp" "$tree/boot/vmlinuz-$kver" ::/kiosk/vmlinuz
mcopy -i "$esp" "$tree/boot/initrd.img-$kver" ::/kiosk/initrd

# The disk: 1 MiB for the GPT, the three partitions MiB-aligned, 1 MiB for
# the backup GPT.
root_mib=$(( ($(stat -c %s "$work/root.sqfs") + 1048575) / 1048576 ))
total_mib=$(( 1 + esp_mib + root_mib + var_mib + 1 ))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
sector() { echo $(( $1 * 2048 )); }
sfdisk --quiet "$out" <<GPT
label: gpt
first-lba: 2048
start=$(sector 1), size=$(sector "$esp_mib"), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
start=$(sector $((1 + esp_mib))), size=$(sector "$root_mib"), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_uuid, name="root-x86-64", attrs="GUID:60"
start=$(sector $((1 + esp_mib + root_mib))), size=$(sector "$var_mib"), type=4D21B016-B534-45C2-A9FB-5C16E091FD2D, name="Variable Data Partition"
GPT
put() { dd if="$1" of="$out" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$esp" 1
put "$work/root.sqfs" $((1 + esp_mib))
put "$work/var.img" $((1 + esp_mib + root_mib))

bmaptool -q create -o "$out.bmap" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" "$(basename "$out").bmap" > SHA256SUMS)
echo "assembled $out: $total_mib MiB (root ${root_mib} MiB squashfs, kernel $kver)"
sfdisk --list "$out" | sed -n '/^Device/,$p'
