#!/usr/bin/env bash
# No peer locks another out of the control socket: a member of control-group
# keeps 64 idle connections open, reconnecting each as soon as it is closed.
# It holds at most its quota, the rest are told "too many control
# connections" in one line, and root's status answers every time meanwhile.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-quota

member="lgq$$"
lt_user "$member"
chmod 0711 "$LG_DIR"
install -m 0755 "$LICGATE_SRCDIR/tests/integration/ctl-flood.py" "$LG_DIR/ctl-flood.py"
lt_license three.lic --seats 3
lg_server srv udp "$LG_PORT" "$(lt_plugin control-group="$member")"
sock="/run/licgate/$LT_POOL/control.sock"
end=$((SECONDS + 10))
until lt_ctl status >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || lg_fail "the control socket is not served"
    sleep 0.2
done
lt_as "$member" "$LICGATE_CTL" --pool "$LT_POOL" status >/dev/null || lg_fail "the member cannot read status"

lt_as "$member" /usr/bin/python3 "$LG_DIR/ctl-flood.py" idle "$sock" 64 12 >"$LG_DIR/flood.out" 2>&1 &
flood=$!
lg_sleep 1
ok=0
for i in $(seq 1 20); do
    if lt_ctl status >"$LG_DIR/status.$i" 2>&1; then ok=$((ok + 1)); else cat "$LG_DIR/status.$i" >&2; fi
    sleep 0.3
done
wait "$flood" || true
[ "$ok" -eq 20 ] || lg_fail "root's status answered $ok of 20 times while a member flooded the socket"
read -r _ opened _ told <"$LG_DIR/flood.out" || lg_fail "flood: $(cat "$LG_DIR/flood.out")"
[ "$told" -gt 0 ] || lg_fail "the member was never told it is over its quota: $(cat "$LG_DIR/flood.out")"
lg_alive srv || lg_fail "openvpn died"
lg_pass "64 reconnecting idle connections of a member: root answered 20/20, the member was told $told times ($opened opened)"
