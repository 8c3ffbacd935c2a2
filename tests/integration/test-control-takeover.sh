#!/usr/bin/env bash
# Two servers on one pool: exactly one serves the control socket, status
# covers both, and when the serving one is killed the other serves within 2 s.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-takeover

lt_license three.lic --seats 3
lg_server a udp "$LG_PORT" "$(lt_plugin)"
lg_server b tcp-server "$((LG_PORT + 1))" "$(lt_plugin)"
pid_a=$(cat "$LG_DIR/a.pid")
pid_b=$(cat "$LG_DIR/b.pid")
lg_client c1 udp "$LG_PORT" client1
lg_client c2 tcp "$((LG_PORT + 1))" client2
lt_wait_count 2 30 c1 c2 || lg_fail "clients did not connect"

[ "$(lg_count_log "$LG_DIR/a.log" 'serving the control socket') + $(lg_count_log "$LG_DIR/b.log" 'serving the control socket')" = "1 + 0" ] ||
    lg_fail "not exactly one server (the first) serves the socket"
status=$(lt_ctl --json status)
[ "$(lt_json 'j["served_by"]' <<<"$status")" = "$pid_a" ] || lg_fail "not served by a"
[ "$(lt_json 'sorted(p["pid"] for p in j["processes"])' <<<"$status")" = "$(python3 -c "print(sorted([$pid_a, $pid_b]))")" ] ||
    lg_fail "status does not list both processes: $status"
[ "$(lt_json 'j["in_use"]' <<<"$status")" = 2 ] || lg_fail "status does not count both servers' sessions"

kill -KILL "$pid_a"
start=$(date +%s%N)
while :; do
    if served=$(lt_ctl --json status 2>/dev/null | lt_json 'j["served_by"]' 2>/dev/null) &&
        [ "$served" = "$pid_b" ]; then
        break
    fi
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || lg_fail "b did not take over within 2 s"
    sleep 0.05
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# The control thread's log lines reach openvpn's log at b's next hook call.
lg_client c3 tcp "$((LG_PORT + 1))" client3
lg_wait_connected c3 30 || lg_fail "b stopped admitting after the takeover"
lg_wait_log "$LG_DIR/b.log" 'serving the control socket' 5 || lg_fail "b does not log the takeover"
lg_pass "the other server took over the control socket in ${ms} ms"
