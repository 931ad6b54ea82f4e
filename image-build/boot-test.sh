#!/usr/bin/env bash
# Boot test of a terminal image in QEMU (on demand; not part of `make test`):
#
#   kiosk provision keygen --out keys/ && kiosk provision make … --signing-key keys/provisioning.key -o tests-provision.toml
#   image-build/build.sh --provisioning-key keys/provisioning.pub --test-hooks --provision tests-provision.toml   # a test image
#   image-build/boot-test.sh image-build/out/debian~bookworm/kiosk.raw
#
# Boots a copy-on-write overlay of the image (UEFI, OVMF; KVM if /dev/kvm
# exists, software emulation otherwise), then through the test agent on a
# virtio-serial port (mkosi/test-hooks/, present only in test images):
#   1. waits until kiosk.service is active (Type=notify: only after READY=1)
#      and reports boot-to-READY time;
#   2. kills the kiosk with SIGKILL and waits until systemd has it READY again;
#   3. seals a SPECIMEN registration (`kiosk queue seal-specimen`), powers the
#      machine off hard (QEMU killed, no shutdown), boots again and checks the
#      registration is still queued.
# Needs: qemu-system-x86, ovmf, socat, qemu-utils.
set -euo pipefail
# A write to the agent after the machine is gone must not kill the test.
trap "" PIPE

image=${1:?usage: $0 IMAGE.raw}
timeout_s=${BOOT_TIMEOUT_S:-600}
work=$(mktemp -d)
trap 'kill "$qemu_pid" $agent_pid 2>/dev/null || true; rm -rf "$work"' EXIT
qemu_pid=""

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
agent_pid=""
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
    while IFS= read -r -t 20 line <&8; do
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
hard_off
echo "boot test passed"
