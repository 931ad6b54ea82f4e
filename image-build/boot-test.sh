#!/usr/bin/env bash
# Boot test of a terminal image in QEMU (on demand; not part of `make test`):
#
#   image-build/build.sh --test-hooks --provision tests-provision.toml   # a test image
#   image-build/boot-test.sh image-build/out/debian~bookworm/kiosk.raw
#
# Boots a copy-on-write overlay of the image (UEFI, OVMF; KVM if /dev/kvm
# exists, software emulation otherwise), then through the test agent on a
# virtio-serial port (mkosi/test-hooks/, present only in test images):
#   1. waits until kiosk.service is active (Type=notify: only after READY=1)
#      and reports boot-to-READY time;
#   2. kills the kiosk with SIGKILL and waits until systemd has it READY again;
#   3. records the queue, powers the machine off hard (QEMU quit, no shutdown),
#      boots again and checks the queue is unchanged.
# Needs: qemu-system-x86, ovmf, socat, qemu-utils.
set -euo pipefail

image=${1:?usage: $0 IMAGE.raw}
timeout_s=${BOOT_TIMEOUT_S:-600}
work=$(mktemp -d)
trap 'kill "$qemu_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
qemu_pid=""

ovmf=/usr/share/OVMF/OVMF_CODE.fd
[ -f "$ovmf" ] || ovmf=/usr/share/ovmf/OVMF.fd
qemu-img create -q -f qcow2 -F raw -b "$(realpath "$image")" "$work/disk.qcow2" 8G
accel=tcg
[ -w /dev/kvm ] && accel=kvm

boot() {
    rm -f "$work/agent.sock"
    qemu-system-x86_64 -machine q35,accel=$accel -m 2048 -smp 2 \
        -drive if=pflash,format=raw,readonly=on,file="$ovmf" \
        -drive if=virtio,format=qcow2,file="$work/disk.qcow2" \
        -device virtio-vga -display none \
        -device virtio-serial \
        -chardev socket,id=agent,path="$work/agent.sock",server=on,wait=off \
        -device virtserialport,chardev=agent,name=org.kiosk.test \
        -serial file:"$work/console-$1.log" -nic none &
    qemu_pid=$!
    started=$(date +%s)
}

# Sends one agent command, prints its answer (up to the END line).
agent() {
    printf '%s\n' "$1" | timeout 20 socat -t 15 - UNIX-CONNECT:"$work/agent.sock" 2>/dev/null \
        | sed '/^END$/q' | grep -v '^END$' || true
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

queue_before=$(agent queue)
hard_off
boot 2
wait_active
echo "boot 2: kiosk READY $(( $(date +%s) - started )) s after power-on"
queue_after=$(agent queue)
[ "$queue_before" = "$queue_after" ] || { echo "queue changed across a power cut:" >&2; diff <(echo "$queue_before") <(echo "$queue_after") >&2; exit 1; }
echo "queue intact across a hard power-off"
hard_off
echo "boot test passed"
