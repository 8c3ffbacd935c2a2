#!/bin/bash
# Smoke test of the integration harness (no plugin): a UDP and a TCP server,
# 3 clients each, all connect; the servers see 3 peers each; a stopped client
# is noticed by its server; afterwards nothing is left behind.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lg_init harness-smoke
lg_pki

UDP_PORT=$LG_PORT
TCP_PORT=$((LG_PORT + 1))
lg_server su udp "$UDP_PORT"
lg_server st tcp-server "$TCP_PORT"

for i in 1 2 3; do
    lg_client "u$i" udp "$UDP_PORT" "client$i"
    lg_client "t$i" tcp-client "$TCP_PORT" "client$((i + 3))"
done

for c in u1 u2 u3 t1 t2 t3; do
    lg_wait_connected "$c" 20 || lg_fail "client $c did not connect"
done

# each server saw exactly the 3 CNs it should have
peers() {   # peers SERVER: sorted distinct CNs with "Peer Connection Initiated"
    grep -oE '\[client[0-9]+\] Peer Connection Initiated' "$LG_DIR/$1.log" \
        | sort -u | tr -d '[]' | cut -d' ' -f1 | tr '\n' ' '
}
[ "$(peers su)" = "client1 client2 client3 " ] || lg_fail "su peers: '$(peers su)'"
[ "$(peers st)" = "client4 client5 client6 " ] || lg_fail "st peers: '$(peers st)'"
for s in su st; do
    n=$(lg_count_log "$LG_DIR/$s.log" 'MULTI: primary virtual IP for client')
    [ "$n" -eq 3 ] || lg_fail "$s: $n clients got a virtual IP, want 3"
done

# a stopped client is noticed: UDP through explicit-exit-notify (2.6 logs
# "CC-EEN exit message received by peer", then drops the instance 5 s later),
# TCP by the closed connection; both well before keepalive's 10 s would expire
lg_stop u1
lg_wait_log "$LG_DIR/su.log" 'client1/.*(CC-EEN exit message received|remote-exit|client-instance exiting)' 3 \
    || lg_fail "UDP server did not notice client1 leaving"
lg_stop t1
lg_wait_log "$LG_DIR/st.log" 'client4/.*(Connection reset|client-instance (exiting|restarting))' 3 \
    || lg_fail "TCP server did not notice client4 leaving"
for c in u2 u3 t2 t3; do
    lg_connected "$c" || lg_fail "client $c lost its connection"
done
lg_connected u1 && lg_fail "lg_connected says stopped u1 is connected"

# cleanup leaves no process and no device behind
ovpn_pids=$(cat "$LG_DIR"/*.pid)
devs="$(cat "$LG_DIR"/*.dev)"
lg_cleanup
for p in $ovpn_pids; do
    if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q openvpn; then
        echo "FAIL: openvpn pid $p still running after cleanup" >&2; exit 1
    fi
done
for d in $devs; do
    if ip -o link show type tun | grep -q ": $d:"; then
        echo "FAIL: tun device $d left behind" >&2; exit 1
    fi
done
[ ! -d "$LG_DIR" ] || [ "${LG_KEEP:-0}" = 1 ] || { echo "FAIL: $LG_DIR left behind" >&2; exit 1; }
lg_pass "6 clients on udp+tcp, exits noticed, clean teardown"
