#!/usr/bin/env bash
# A UDP server and a TCP server on one pool share one 3-seat license: the
# limit is machine-wide, not per process.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init udp-tcp-shared

lt_license three.lic --seats 3
lg_server udp udp "$LG_PORT" "$(lt_plugin)"
lg_server tcp tcp-server "$((LG_PORT + 1))" "$(lt_plugin)"

lg_client u1 udp "$LG_PORT" client1
lg_client u2 udp "$LG_PORT" client2
lt_wait_count 2 30 u1 u2 || lg_fail "the 2 UDP clients did not connect"
lg_client t1 tcp "$((LG_PORT + 1))" client3
lg_client t2 tcp "$((LG_PORT + 1))" client4
lt_wait_count 1 30 t1 t2 || lg_fail "one TCP client should have got the third seat"
lt_wait_refused "$LG_DIR/tcp.log" 30 "$(lt_cn "$(lg_connected t1 && echo t2 || echo t1)")" ||
    lg_fail "the TCP server did not refuse the fourth client"
grep -q "limit reached (3/3 seats)" "$LG_DIR/tcp.log" || lg_fail "no 3/3 refusal in the TCP log"
[ "$(lt_connected u1 u2 t1 t2 | wc -l)" -eq 3 ] || lg_fail "more than 3 connected across both servers"

# A UDP client leaves: the waiting TCP client gets the seat.
lg_stop u1
lt_wait_count 2 40 t1 t2 || lg_fail "the waiting TCP client did not get the seat freed on UDP"
[ "$(lt_connected u2 t1 t2 | wc -l)" -eq 3 ] || lg_fail "not 3 connected after the move"
lg_alive udp && lg_alive tcp || lg_fail "a server died"
lg_pass "UDP and TCP servers share 3 seats through one pool"
