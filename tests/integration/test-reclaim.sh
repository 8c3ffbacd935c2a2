#!/usr/bin/env bash
# Seats held by an openvpn killed with SIGKILL (it never closed the plugin)
# come back: the surviving process's maintenance thread reclaims them within
# a few seconds, safe against PID reuse, and status counts them.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init reclaim

lt_license three.lic --seats 3
lg_server a udp "$LG_PORT" "$(lt_plugin)"
lg_server b tcp-server "$((LG_PORT + 1))" "$(lt_plugin)"
lg_client a1 udp "$LG_PORT" client1
lg_client a2 udp "$LG_PORT" client2
lg_client b1 tcp "$((LG_PORT + 1))" client3
lt_wait_count 3 60 a1 a2 b1 || lg_fail "3 clients did not connect"
[ "$(lt_ctl --json status | lt_json 'j["in_use"]')" = 3 ] || lg_fail "in_use is not 3"

lg_kill a KILL
start=$SECONDS
until [ "$(lt_ctl --json status 2>/dev/null | lt_json 'j["in_use"]' 2>/dev/null)" = 1 ]; do
    [ $((SECONDS - start)) -lt 10 ] || lg_fail "the dead server's 2 seats were not reclaimed within 10 s"
    sleep 0.2
done
status=$(lt_ctl --json status)
[ "$(lt_json 'j["reclaimed"]' <<<"$status")" = 2 ] || lg_fail "status does not count 2 reclaimed seats"
[ "$(lt_json '[p["pid"] for p in j["processes"]]' <<<"$status")" = "[$(cat "$LG_DIR/b.pid")]" ] ||
    lg_fail "the dead process is still listed"
lg_client b2 tcp "$((LG_PORT + 1))" client4
lg_client b3 tcp "$((LG_PORT + 1))" client5
lt_wait_count 3 60 b1 b2 b3 || lg_fail "the reclaimed seats could not be used"
lg_pass "2 seats of a killed openvpn reclaimed in $((SECONDS - start)) s"
