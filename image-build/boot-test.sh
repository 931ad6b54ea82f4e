#!/usr/bin/env bash
# Boot test of a terminal image in QEMU, with A/B updates (on demand; not
# part of `make test`):
#
#   image-build/update-key.sh keys/update                       # a throw-away update key
#   image-build/build.sh --provisioning-key keys/provisioning.pub --update-key keys/update \
#       --fast --test-hooks --provision tests-provision.toml    # a test image and its bundle
#   image-build/boot-test.sh image-build/out keys/update
#
# (image-build/test-pki.sh makes keys/ and tests-provision.toml in one go.)
# Boots a copy-on-write overlay of OUT/kiosk.raw (UEFI, OVMF; KVM if usable,
# software emulation otherwise) with a second disk holding test bundles,
# then through the test agent on a virtio-serial port (mkosi/test-hooks/,
# present only in test images):
#   1. waits until kiosk.service is active (Type=notify: only after READY=1)
#      on slot A and reports boot-to-READY time;
#   2. kills the kiosk with SIGKILL and waits until systemd has it READY again;
#   3. seals a SPECIMEN registration, powers the machine off hard (QEMU
#      killed), boots again and checks the registration is still queued;
#   4. a bundle signed under another key is refused;
#   5. installs OUT/kiosk-*.raucb, reboots: slot B runs, is marked good, and
#      the registration is still queued;
#   6. installs a bundle whose kiosk exits at start (into slot A), reboots:
#      the kiosk never gets READY, the tries run out, and the terminal comes
#      back on slot B by itself with the registration intact.
set -euo pipefail
# A write to the agent after the machine is gone must not kill the test.
trap "" PIPE

out=${1:?usage: $0 OUT-DIR UPDATE-KEY-DIR}
update_key=${2:?usage: $0 OUT-DIR UPDATE-KEY-DIR}
here=$(cd "$(dirname "$0")" && pwd)
image=$out/kiosk.raw
bundle=$(ls "$out"/kiosk-*.raucb 2>/dev/null | head -n 1)
[ -f "$image" ] && [ -f "$out/root.sqfs" ] && [ -n "$bundle" ] \
    || { echo "$out lacks kiosk.raw, root.sqfs or kiosk-*.raucb: build it with build.sh --test-hooks --update-key" >&2; exit 2; }
[ -s "$update_key/signing.key.pem" ] || { echo "$update_key is no update key (update-key.sh)" >&2; exit 2; }
timeout_s=${BOOT_TIMEOUT_S:-600}

# What the test runs, installed when missing; it stops at once if that fails.
# All of them in one apt call when any is missing: installing one alone can
# make apt remove another (qemu-system-x86 replaces a backported qemu-utils).
pkgs=(qemu-system-x86 ovmf socat qemu-utils rauc squashfs-tools e2fsprogs)
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        echo "installing ${pkgs[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
            || { echo "cannot install ${pkgs[*]}: the boot test needs them" >&2; exit 1; }
        break
    fi
done
for c in qemu-system-x86_64 qemu-img socat rauc mksquashfs unsquashfs mkfs.ext4; do
    command -v "$c" >/dev/null || { echo "$c is missing" >&2; exit 1; }
done

work=$(mktemp -d)
qemu_pid=""
agent_pid=""
trap 'kill $qemu_pid $agent_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The test bundles on a disk of their own: the build's bundle, one whose
# kiosk exits at start, and one signed under another key.
started_prep=$(date +%s)
mkdir "$work/bundles" "$work/broken"
cp "$bundle" "$work/bundles/good.raucb"
unsquashfs -q -n -d "$work/broken/root" "$out/root.sqfs" >/dev/null
printf '#!/bin/sh\necho "a kiosk that never starts (boot test)" >&2\nexit 1\n' > "$work/broken/root/usr/bin/kiosk"
chmod 0755 "$work/broken/root/usr/bin/kiosk"
mksquashfs "$work/broken/root" "$work/broken/root.sqfs" -comp zstd -noappend -quiet -no-progress
rm -rf "$work/broken/root"
"$here/make-bundle.sh" "$work/broken/root.sqfs" 0.0.0-broken "$update_key" "$work/bundles/broken.raucb" >/dev/null
"$here/update-key.sh" "$work/other-key" "Other county" >/dev/null
"$here/make-bundle.sh" "$work/broken/root.sqfs" 0.0.0-foreign "$work/other-key" "$work/bundles/foreign.raucb" >/dev/null
rm -f "$work/broken/root.sqfs"
bundles_mib=$(( $(du -sm "$work/bundles" | cut -f1) + 64 ))
mkfs.ext4 -q -F -L bundles -d "$work/bundles" "$work/bundles.img" "${bundles_mib}M"
rm -rf "$work/bundles"
echo "test bundles made in $(( $(date +%s) - started_prep )) s"

ovmf=/usr/share/OVMF/OVMF_CODE.fd
[ -f "$ovmf" ] || ovmf=/usr/share/ovmf/OVMF.fd
qemu-img create -q -f qcow2 -F raw -b "$(realpath "$image")" "$work/disk.qcow2" 8G
# KVM when usable, else software emulation. ACCEL=tcg forces the latter
# (nested sandboxes may offer a /dev/kvm that cannot run OVMF).
accel=${ACCEL:-tcg}
[ -n "${ACCEL:-}" ] || { [ -w /dev/kvm ] && accel=kvm; }
cpu=max
[ "$accel" = kvm ] && cpu=host

boot() {
    rm -f "$work/agent.sock"
    qemu-system-x86_64 -machine q35,accel="$accel" -cpu "$cpu" -m 2048 -smp 2 \
        -drive if=pflash,format=raw,readonly=on,file="$ovmf" \
        -drive if=virtio,format=qcow2,file="$work/disk.qcow2" \
        -drive if=none,id=bundles,format=raw,readonly=on,file="$work/bundles.img" \
        -device virtio-blk-pci,drive=bundles,serial=bundles \
        -device virtio-vga -display none \
        -device virtio-serial \
        -chardev socket,id=agent,path="$work/agent.sock",server=on,wait=off \
        -device virtserialport,chardev=agent,name=org.kiosk.test \
        -serial file:"$work/console-$1.log" -nic none &
    qemu_pid=$!
    started=$(date +%s)
    sleep 1
    connect_agent
}

# One connection to the agent per boot, kept open: the guest's port sees no
# hang-ups between commands (a command sent while the agent reopens its port
# would be lost). It runs through two FIFOs on file descriptors 7 and 8, which
# command substitutions and pipelines inherit. A command whose answer does
# not come within 20 s (the agent not up yet) prints nothing.
connect_agent() {
    [ -z "$agent_pid" ] || { kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; }
    exec 7>&- 8<&-
    rm -f "$work/to-agent" "$work/from-agent"
    mkfifo "$work/to-agent" "$work/from-agent"
    socat - UNIX-CONNECT:"$work/agent.sock" <"$work/to-agent" >"$work/from-agent" 2>/dev/null &
    agent_pid=$!
    exec 7>"$work/to-agent" 8<"$work/from-agent"
}

# Sends one agent command, prints its answer. Each command carries a fresh
# tag that the agent repeats in its END line; answers to earlier commands
# that arrive late (sent before the agent was up) are skipped.
agent() {
    local line tag out=""
    tag=$(date +%s%N)
    printf '%s %s\n' "$tag" "$1" >&7 2>/dev/null || return 0
    while IFS= read -r -t "${AGENT_WAIT:-20}" line <&8; do
        case "$line" in
            "END $tag") printf '%s' "$out"; return 0 ;;
            "END "*) out="" ;;
            *) out+="$line"$'\n' ;;
        esac
    done
    return 0
}

wait_active() {
    local deadline=$(( $(date +%s) + timeout_s ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if agent status | grep -q '^ActiveState=active'; then return 0; fi
        sleep 2
    done
    echo "kiosk.service did not become active within ${timeout_s}s; console:" >&2
    tail -n 50 "$work"/console-*.log >&2
    return 1
}

hard_off() { kill -9 "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; }

boot 1
wait_active
echo "boot 1: kiosk READY $(( $(date +%s) - started )) s after power-on ($accel)"
agent boot-time
before_pid=$(agent status | sed -n 's/^MainPID=//p')

agent kill
sleep 1
wait_active
after=$(agent status)
after_pid=$(echo "$after" | sed -n 's/^MainPID=//p')
restarts=$(echo "$after" | sed -n 's/^NRestarts=//p')
[ "$before_pid" != "$after_pid" ] && [ "${restarts:-0}" -ge 1 ] || { echo "the kiosk was not restarted: $after" >&2; exit 1; }
echo "killed kiosk (pid $before_pid); systemd restarted it (pid $after_pid, restarts $restarts)"

# A registration sealed (the registry is out of reach in the test image, so
# it stays queued), then the power cut right after.
agent seal
queued() { agent queue | { grep -Eo '[A-Za-z0-9-]+-SPECIMEN-[0-9A-F]{4}' || true; } | sort -u; }
queue_before=$(queued)
[ -n "$queue_before" ] || { echo "no SPECIMEN registration in the queue before the power cut" >&2; agent queue >&2; exit 1; }
hard_off
boot 2
wait_active
echo "boot 2: kiosk READY $(( $(date +%s) - started )) s after power-on"
queue_after=$(queued)
[ "$queue_before" = "$queue_after" ] || { echo "queue changed across a power cut:" >&2; diff <(echo "$queue_before") <(echo "$queue_after") >&2; exit 1; }
echo "registration $queue_before still queued after a hard power-off"

slot() { agent slot | sed -n 's/^slot=//p'; }
[ "$(slot)" = a ] || { echo "the image did not boot from slot A" >&2; exit 1; }

# A bundle signed under another county's key: refused, nothing written.
refused=$(AGENT_WAIT=600 agent "install foreign.raucb")
echo "$refused" | grep -q "install failed" || { echo "a foreign bundle was not refused:" >&2; echo "$refused" >&2; exit 1; }
echo "$refused" | grep -q "signature" || { echo "the foreign bundle failed for another reason:" >&2; echo "$refused" >&2; exit 1; }
echo "bundle signed under another key refused"

# The build's bundle: into slot B, then a reboot into it.
t0=$(date +%s)
installed=$(AGENT_WAIT=900 agent "install good.raucb")
echo "$installed" | grep -q "install ok" || { echo "installing the bundle failed:" >&2; echo "$installed" >&2; exit 1; }
echo "bundle installed into slot B in $(( $(date +%s) - t0 )) s"
agent reboot >/dev/null
sleep 5
connect_agent
started=$(date +%s)
wait_active
[ "$(slot)" = b ] || { echo "after the update the terminal does not run slot B: $(agent slot)" >&2; agent entries >&2; exit 1; }
echo "boot 3: slot B, kiosk READY $(( $(date +%s) - started )) s after the reboot"
# kiosk-boot-ok marks it good; systemd-bless-boot drops the entry's counter.
deadline=$(( $(date +%s) + 120 ))
until agent entries | grep -qx 'kiosk-b.conf'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "slot B was never blessed:" >&2; agent entries >&2; agent rauc-status >&2; exit 1; }
    sleep 3
done
echo "slot B blessed: $(agent entries | tr '\n' ' ')"
[ "$(queued)" = "$queue_before" ] || { echo "the registration is gone after the update" >&2; agent queue >&2; exit 1; }
echo "registration $queue_before still queued on slot B"

# A bundle whose kiosk never starts: into slot A, a reboot, and the boot
# counter brings slot B back by itself.
t0=$(date +%s)
installed=$(AGENT_WAIT=900 agent "install broken.raucb")
echo "$installed" | grep -q "install ok" || { echo "installing the broken bundle failed:" >&2; echo "$installed" >&2; exit 1; }
echo "broken bundle installed into slot A in $(( $(date +%s) - t0 )) s"
agent reboot >/dev/null
sleep 5
connect_agent
started=$(date +%s)
deadline=$(( started + ${FALLBACK_TIMEOUT_S:-1500} ))
while :; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the terminal did not come back on slot B:" >&2; tail -n 60 "$work"/console-*.log >&2; exit 1; }
    if agent status | grep -q '^ActiveState=active' && [ "$(slot)" = b ]; then break; fi
    # Each failed try reboots the machine: reconnect to the new agent.
    connect_agent
    sleep 5
done
echo "fell back to slot B $(( $(date +%s) - started )) s after rebooting into the broken version"
agent entries
[ "$(queued)" = "$queue_before" ] || { echo "the registration is gone after the fall-back" >&2; agent queue >&2; exit 1; }
echo "registration $queue_before still queued after the fall-back"
hard_off
echo "boot test passed"
