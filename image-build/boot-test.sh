#!/usr/bin/env bash
# Boot test of a terminal image in QEMU, with A/B updates (on demand; not
# part of `make test`):
#
#   image-build/test-pki.sh keys                                # throw-away keys, certificates
#   image-build/build.sh --provisioning-key keys/provisioning.pub --update-key keys/update \
#       --fast --test-hooks --provision keys/tests-provision.toml   # a test image and its bundle
#   image-build/boot-test.sh image-build/out keys
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
#   5. a USB stick (labelled KIOSK-UPD, plugged in through QEMU's monitor)
#      brings the next version: staged by the system, confirmed as the
#      technician screen confirms it, installed by kiosk-update-apply into
#      slot B, which boots, is marked good, runs the next version and still
#      holds the registration;
#   6. the registry (on the host, reached as 10.0.2.2 over QEMU's user
#      network, mutual TLS) starts: the terminal enrols with a code staff
#      issued, sends the queued registration, and its heartbeat reports the
#      new version;
#   7. a second stick brings a version whose kiosk exits at start: installed
#      into slot A, the kiosk never gets READY, the tries run out, and the
#      terminal comes back on slot B by itself with its queue intact, and its
#      heartbeat tells the registry that the update fell back.
set -euo pipefail
# A write to the agent after the machine is gone must not kill the test.
trap "" PIPE

out=${1:?usage: $0 OUT-DIR KEYS-DIR (test-pki.sh)}
keys=$(realpath "${2:?usage: $0 OUT-DIR KEYS-DIR (test-pki.sh)}")
update_key=$keys/update
here=$(cd "$(dirname "$0")" && pwd)
image=$out/kiosk.raw
bundle=$(ls "$out"/kiosk-*.raucb 2>/dev/null | head -n 1)
[ -f "$image" ] && [ -f "$out/root.sqfs" ] && [ -n "$bundle" ] \
    || { echo "$out lacks kiosk.raw, root.sqfs or kiosk-*.raucb: build it with build.sh --test-hooks --update-key" >&2; exit 2; }
[ -s "$update_key/signing.key.pem" ] && [ -s "$keys/server.pem" ] && [ -s "$keys/staff.token" ] \
    || { echo "$keys lacks the update key, server.pem or staff.token: make it with test-pki.sh" >&2; exit 2; }
timeout_s=${BOOT_TIMEOUT_S:-600}

# What the test runs, installed when missing; it stops at once if that fails.
# All of them in one apt call when any is missing: installing one alone can
# make apt remove another (qemu-system-x86 replaces a backported qemu-utils).
pkgs=(qemu-system-x86 ovmf socat qemu-utils rauc squashfs-tools e2fsprogs dosfstools mtools curl)
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        echo "installing ${pkgs[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
            || { echo "cannot install ${pkgs[*]}: the boot test needs them" >&2; exit 1; }
        break
    fi
done
registry_bin=${CARGO_TARGET_DIR:-/var/tmp/kiosk-target}/debug/registry
[ -x "$registry_bin" ] || (cd "$here/.." && cargo build -q -p registry --bin registry)
for c in qemu-system-x86_64 qemu-img socat rauc mksquashfs unsquashfs mkfs.ext4 mkfs.vfat mcopy curl "$registry_bin"; do
    command -v "$c" >/dev/null || { echo "$c is missing" >&2; exit 1; }
done

work=$(mktemp -d)
qemu_pid=""
agent_pid=""
registry_pid=""
trap 'kill $qemu_pid $agent_pid $registry_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The test bundles, from the build's root: the next version (only its
# version file differs), one whose kiosk exits at start, and one signed
# under another key. The first two go on USB sticks (FAT, labelled
# KIOSK-UPD, made with mtools: no mount), the foreign one on a disk of its own.
started_prep=$(date +%s)
mkdir "$work/bundles" "$work/tree"
version=$(unsquashfs -cat "$out/root.sqfs" usr/lib/kiosk/version)
next="$version-next"
unsquashfs -q -n -d "$work/tree/root" "$out/root.sqfs" >/dev/null
printf '%s\n' "$next" > "$work/tree/root/usr/lib/kiosk/version"
mksquashfs "$work/tree/root" "$work/tree/next.sqfs" -comp zstd -noappend -quiet -no-progress
"$here/make-bundle.sh" "$work/tree/next.sqfs" "$next" "$update_key" "$work/tree/next.raucb" >/dev/null
rm -f "$work/tree/next.sqfs"
printf '#!/bin/sh\necho "a kiosk that never starts (boot test)" >&2\nexit 1\n' > "$work/tree/root/usr/bin/kiosk"
chmod 0755 "$work/tree/root/usr/bin/kiosk"
printf '0.0.0-broken\n' > "$work/tree/root/usr/lib/kiosk/version"
mksquashfs "$work/tree/root" "$work/tree/broken.sqfs" -comp zstd -noappend -quiet -no-progress
rm -rf "$work/tree/root"
"$here/make-bundle.sh" "$work/tree/broken.sqfs" 0.0.0-broken "$update_key" "$work/tree/broken.raucb" >/dev/null
"$here/update-key.sh" "$work/other-key" "Other county" >/dev/null
"$here/make-bundle.sh" "$work/tree/broken.sqfs" 0.0.0-foreign "$work/other-key" "$work/bundles/foreign.raucb" >/dev/null
rm -f "$work/tree/broken.sqfs"
bundles_mib=$(( $(du -sm "$work/bundles" | cut -f1) + 64 ))
mkfs.ext4 -q -F -L bundles -d "$work/bundles" "$work/bundles.img" "${bundles_mib}M"
rm -rf "$work/bundles"
for b in next broken; do
    kib=$(( $(du -sk "$work/tree/$b.raucb" | cut -f1) + 16384 ))
    mkfs.vfat -n KIOSK-UPD -C "$work/stick-$b.img" "$kib" >/dev/null
    mcopy -i "$work/stick-$b.img" "$work/tree/$b.raucb" "::kiosk-$b.raucb"
    rm -f "$work/tree/$b.raucb"
done
echo "test bundles and sticks made in $(( $(date +%s) - started_prep )) s (image $version, next $next)"

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
        -device qemu-xhci,id=xhci \
        -drive if=none,id=next,format=raw,readonly=on,file="$work/stick-next.img" \
        -drive if=none,id=broken,format=raw,readonly=on,file="$work/stick-broken.img" \
        -monitor unix:"$work/monitor.sock",server=on,wait=off \
        -nic user,model=virtio-net-pci \
        -serial file:"$work/console-$1.log" &
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

# QEMU's monitor: plugs a stick in or pulls it out.
monitor() { printf '%s\n' "$1" | socat - UNIX-CONNECT:"$work/monitor.sock" >/dev/null; }

# Waits until a stick's bundle of version $1 is staged (copied and checked).
wait_staged() {
    local deadline=$(( $(date +%s) + 900 ))
    until agent staged | grep -qx "version = \"$1\""; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "the stick's $1 was never staged:" >&2; agent staged >&2; exit 1; }
        sleep 5
    done
}

# After a reboot the machine goes through boots of its own: reconnects to
# each new agent until the kiosk is active on slot $1.
wait_slot() {
    local deadline=$(( $(date +%s) + ${2:-1500} ))
    while :; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "the terminal did not come up on slot $1:" >&2; tail -n 60 "$work"/console-*.log >&2; exit 1; }
        if agent status | grep -q '^ActiveState=active' && [ "$(slot)" = "$1" ]; then return 0; fi
        connect_agent
        sleep 5
    done
}

# The staff API of the registry on the host.
staff() { curl -sS --max-time 10 --cacert "$keys/ca.pem" -H "Authorization: Bearer $(cat "$keys/staff.token")" "$@"; }

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

# The next version on a USB stick: staged by the system, confirmed as on the
# technician screen, installed into slot B by kiosk-update-apply, rebooted.
t0=$(date +%s)
monitor "device_add usb-storage,bus=xhci.0,drive=next,id=stick"
wait_staged "$next"
echo "stick's bundle $next staged in $(( $(date +%s) - t0 )) s"
agent confirm-update | grep -q '^confirmed' || { echo "could not confirm:" >&2; agent staged >&2; exit 1; }
t0=$(date +%s)
wait_slot b
echo "boot 3: slot B, kiosk READY $(( $(date +%s) - t0 )) s after the confirmation (install and reboot)"
monitor "device_del stick"
[ "$(agent version | tr -d '\n')" = "$next" ] || { echo "slot B does not run $next: $(agent version)" >&2; exit 1; }
# kiosk-boot-ok marks it good; systemd-bless-boot drops the entry's counter.
deadline=$(( $(date +%s) + 120 ))
until agent entries | grep -qx 'kiosk-b.conf'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "slot B was never blessed:" >&2; agent entries >&2; agent rauc-status >&2; exit 1; }
    sleep 3
done
echo "slot B blessed: $(agent entries | tr '\n' ' ')"
[ "$(queued)" = "$queue_before" ] || { echo "the registration is gone after the update" >&2; agent queue >&2; exit 1; }
echo "registration $queue_before still queued on slot B"

# The registry comes up on the host: staff issue an enrollment code, the
# terminal enrols its key and sends what it queued.
"$registry_bin" --listen 127.0.0.1:8743 --db "$work/registry.db" \
    --seal-key-file "$keys/registry-keys/seal.secret" --lookup-key-file "$keys/registry-keys/lookup.key" \
    --tls-cert "$keys/server.pem" --tls-key "$keys/server.key" --staff-token-file "$keys/staff.token" \
    > "$work/registry.log" 2>&1 &
registry_pid=$!
sleep 2
code=$(staff -H 'Content-Type: application/json' -d '{"terminal_id":"boot-test-01","hall":"启动测试大厅"}' \
    https://127.0.0.1:8743/v1/staff/terminals | sed -n 's/.*"code":"\([A-Z0-9-]*\)".*/\1/p')
[ -n "$code" ] || { echo "the registry issued no enrollment code:" >&2; cat "$work/registry.log" >&2; exit 1; }
t0=$(date +%s)
enrolled=$(AGENT_WAIT=300 agent "enroll $code")
echo "$enrolled" | grep -q '^enrolled' || { echo "the terminal did not enrol:" >&2; echo "$enrolled" >&2; agent journal >&2; tail -n 20 "$work/registry.log" >&2; exit 1; }
deadline=$(( $(date +%s) + 600 ))
until staff https://127.0.0.1:8743/v1/staff/stats | grep -q '"registrations":[1-9]'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the queued registration never reached the registry:" >&2; agent queue >&2; tail -n 20 "$work/registry.log" >&2; exit 1; }
    sleep 5
done
echo "registration sent to the registry $(( $(date +%s) - t0 )) s after enrolling"
deadline=$(( $(date +%s) + 600 ))
until staff https://127.0.0.1:8743/v1/staff/heartbeats | grep -q "\"version\":\"$next\""; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "no heartbeat reported $next:" >&2; staff https://127.0.0.1:8743/v1/staff/heartbeats >&2; exit 1; }
    sleep 5
done
echo "the registry sees the terminal on $next"

# A stick whose version never starts: into slot A, a reboot, and the boot
# counter brings slot B back by itself.
monitor "device_add usb-storage,bus=xhci.0,drive=broken,id=stick2"
wait_staged 0.0.0-broken
monitor "device_del stick2"
agent confirm-update | grep -q '^confirmed' || { echo "could not confirm the broken bundle:" >&2; agent staged >&2; exit 1; }
started=$(date +%s)
# First the install and the reboot into slot A; then slot B again.
deadline=$(( started + 900 ))
until ! agent slot | grep -q '^slot=b' ; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the broken bundle was never booted:" >&2; agent update-state >&2; exit 1; }
    connect_agent
    sleep 5
done
echo "broken bundle installed and booted $(( $(date +%s) - started )) s after the confirmation"
wait_slot b "${FALLBACK_TIMEOUT_S:-1500}"
echo "fell back to slot B $(( $(date +%s) - started )) s after the confirmation"
agent entries
agent update-state | grep -q '"target":"0.0.0-broken"' || { echo "the kiosk did not record the fall-back:" >&2; agent update-state >&2; exit 1; }
deadline=$(( $(date +%s) + 600 ))
until staff https://127.0.0.1:8743/v1/staff/heartbeats | grep -q '"0.0.0-broken"' \
    && staff https://127.0.0.1:8743/v1/staff/heartbeats | grep -q 'fell_back'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the registry never heard of the fall-back:" >&2; staff https://127.0.0.1:8743/v1/staff/heartbeats >&2; exit 1; }
    sleep 5
done
echo "the registry sees: update to 0.0.0-broken fell back, on $next"
# Sent by now: the queue keeps its record (acknowledged, payload purged).
[ "$(queued)" = "$queue_before" ] || { echo "the queue lost its record of the registration after the fall-back" >&2; agent queue >&2; exit 1; }
echo "the queue's record of $queue_before intact after the fall-back"
hard_off
echo "boot test passed"
