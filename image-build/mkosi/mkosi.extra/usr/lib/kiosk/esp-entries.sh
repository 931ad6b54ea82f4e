# Shared by rauc-bootloader and rauc-post-install: the systemd-boot entries
# of the two root slots on the ESP (mounted at /efi), with boot counting.
#
# Slot X (bootname a or b) boots from entry loader/entries/kiosk-X*.conf:
#   kiosk-X.conf        good (blessed: it reached READY once);
#   kiosk-X+N[-M].conf  on trial: N boots left (systemd-boot counts down,
#                       systemd-bless-boot drops the counter once
#                       boot-complete.target is reached, i.e. after
#                       kiosk-boot-ok.service);
#   kiosk-X+0[-M].conf  bad: systemd-boot sorts it after every other entry.
# loader.conf says `default kiosk-*`: the first entry in systemd-boot's
# order, and entries sort by their `version` line, newest first, bad ones
# last. The slot made primary gets the highest version.
esp=/efi
entries=$esp/loader/entries
TRIES=3

# The entry file of bootname $1, or nothing.
entry_of() {
    ls "$entries"/kiosk-"$1".conf "$entries"/kiosk-"$1"+*.conf 2>/dev/null | head -n 1
}

# True when entry file $1 is marked bad (no tries left).
is_bad() {
    case "$(basename "$1")" in *+0.conf|*+0-*.conf) return 0 ;; esac
    return 1
}

# The highest version line of any entry.
top_version() {
    cat "$entries"/kiosk-*.conf 2>/dev/null | sed -n 's/^version //p' | sort -n | tail -n 1
}

# Writes the entry of bootname $1 (kernel and initrd in $esp/$1/, root on
# the partition with label root-$1) under the name $2 (e.g. kiosk-b+3.conf),
# with version $3, replacing any other entry file of that slot.
write_entry() {
    bn=$1 name=$2 version=$3
    partuuid=$(blkid -s PARTUUID -o value "/dev/disk/by-partlabel/root-$bn")
    [ -n "$partuuid" ] || { echo "no partition root-$bn" >&2; return 1; }
    old=$(entry_of "$bn")
    tmp=$entries/.kiosk-$bn.tmp
    {
        echo "title Petition intake kiosk ($bn)"
        echo "sort-key kiosk"
        echo "version $version"
        echo "linux /$bn/vmlinuz"
        echo "initrd /$bn/initrd"
        echo "options root=PARTUUID=$partuuid rootfstype=squashfs ro rauc.slot=$bn $(cat "$esp/$bn/cmdline" 2>/dev/null)"
    } > "$tmp"
    [ -z "$old" ] || rm -f "$old"
    mv "$tmp" "$entries/$name"
    sync
}
