#!/bin/sh
# Boot-test agent: reads one line "TAG COMMAND" at a time from the test port
# (TAG: digits) and writes back the command's result, ending with a line
# "END TAG". Only the fixed commands below exist; nothing else is run.
port=$1
# A read returns end-of-file while no test is connected to the port's host
# side: open the port again a moment later and wait for the next command.
while :; do
    exec 3<>"$port"
    while IFS=' ' read -r tag cmd <&3; do
        case "$tag" in *[!0-9]*|'') tag=0 ;; esac
        case "$cmd" in
            status) systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts kiosk.service ;;
            kill) systemctl kill --signal=SIGKILL kiosk.service && echo killed ;;
            queue) kiosk queue 2>&1 ;;
            # One SPECIMEN registration into the queue, as a visit would seal
            # it; the files stay the kiosk user's.
            seal) kiosk queue seal-specimen 2>&1; chown -R kiosk:kiosk /var/lib/kiosk ;;
            journal) journalctl -b -u kiosk.service --no-pager -n 40 -o short-monotonic ;;
            boot-time) systemd-analyze 2>&1; systemctl show -p ActiveEnterTimestampMonotonic kiosk.service ;;
            # A/B updates: the slot running, RAUC's view, the boot entries.
            slot) sed -n 's/.*rauc\.slot=\([ab]\).*/slot=\1/p' /proc/cmdline ;;
            rauc-status) rauc status --detailed 2>&1 | head -n 60 ;;
            entries) ls /efi/loader/entries/ 2>&1; systemctl is-active kiosk-boot-ok.service 2>&1 ;;
            # Installs a bundle from the test's bundle disk (virtio serial "bundles").
            install\ *)
                name=${cmd#install }
                case "$name" in *[!A-Za-z0-9._-]*|'') echo "bad bundle name" ;; *)
                    mkdir -p /run/bundles
                    mountpoint -q /run/bundles || mount -o ro /dev/disk/by-id/virtio-bundles /run/bundles
                    if rauc install "/run/bundles/$name"; then echo "install ok"; else echo "install failed"; fi ;;
                esac ;;
            reboot) echo rebooting; systemctl reboot ;;
            # Updates from a stick: what is staged, and the technician's
            # press on "确认安装更新" as the kiosk makes it (user kiosk writes
            # the staged bundle's SHA-256 into its confirmation file).
            staged)
                cat /var/lib/kiosk-update/pending/summary.toml 2>&1
                journalctl -b -u 'kiosk-update-usb@*' --no-pager -n 6 -o cat 2>&1 ;;
            confirm-update)
                sha=$(sed -n 's/^sha256 = "\([0-9a-f]\{64\}\)"$/\1/p' /var/lib/kiosk-update/pending/summary.toml)
                if [ -n "$sha" ]; then
                    runuser -u kiosk -- sh -c 'umask 077; printf "%s\n" "$1" > /var/lib/kiosk/update-confirm' sh "$sha" && echo "confirmed $sha"
                else echo "nothing staged"; fi ;;
            version) cat /usr/lib/kiosk/version 2>&1 ;;
            update-state)
                ls /var/lib/kiosk/update/ 2>&1; cat /var/lib/kiosk/update/fell-back.json 2>&1; echo
                journalctl -b -u kiosk-update-apply.service --no-pager -n 6 -o cat 2>&1 ;;
            # Enrols the terminal's key at the test's registry with a code
            # the test issued, then restarts the kiosk so it sends at once.
            enroll\ *)
                code=${cmd#enroll }
                case "$code" in *[!A-Z0-9-]*|'') echo "bad code" ;; *)
                    kiosk enroll --code "$code" 2>&1 && systemctl restart kiosk.service && echo "enrolled" ;;
                esac ;;
            *) echo "unknown command" ;;
        esac >&3 2>&1
        echo "END $tag" >&3
    done
    exec 3<&-
    sleep 0.2
done
