#!/bin/sh
# Boot-test agent: reads one fixed command name per line from the test port
# and writes back its result, ending with a line "END". Only the commands
# below exist; nothing else is run.
port=$1
exec 3<>"$port"
while IFS= read -r cmd <&3; do
    case "$cmd" in
        status) systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts kiosk.service ;;
        kill) systemctl kill --signal=SIGKILL kiosk.service && echo killed ;;
        queue) kiosk queue 2>&1 ;;
        journal) journalctl -b -u kiosk.service --no-pager -n 40 -o short-monotonic ;;
        boot-time) systemd-analyze 2>&1; systemctl show -p ActiveEnterTimestampMonotonic kiosk.service ;;
        *) echo "unknown command" ;;
    esac >&3 2>&1
    echo END >&3
done
