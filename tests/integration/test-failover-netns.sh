#!/usr/bin/env bash
# A failover license counts only while this node holds failover-vip: with the
# address on a link of the namespace the seats count; after `ip addr del`
# they stop counting for new clients within the documented delay (live
# tunnels stay), and come back when the address is re-added.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init failover-netns

ns="lgfo$$"
vip=192.0.2.77
lt_netns "$ns"
ip -n "$ns" link add fo0 type veth peer name fo1
ip -n "$ns" link set fo0 up
ip -n "$ns" link set fo1 up
lt_license failover.lic --key-id LG-FAILOVER-1 --kind failover --primary-key LG-PRIMARY-1 --seats 4
lt_in_netns "$ns"

limit() { lt_ctl --json status | lt_json 'j["limit"]'; }
state() { lt_ctl --json licenses | lt_json 'j["licenses"][0]["state"]'; }
wait_limit() {   # wait_limit N: the documented delay is 250 ms; allow 3 s
    local end=$((SECONDS + 3))
    until [ "$(limit)" = "$1" ]; do
        [ $SECONDS -lt $end ] || lg_fail "limit did not become $1 (is $(limit))"
        sleep 0.1
    done
}

# Standby: the node does not hold the address.
lg_server srv udp "$LG_PORT" "$(lt_plugin failover-vip=$vip)"
grep -q "failover: this node does not hold $vip: standby" "$LG_DIR/srv.log" || lg_fail "not standby at start"
[ "$(state)" = standby ] || lg_fail "license state is not standby"
lt_ctl status | grep -q "^failover: *standby (failover-vip $vip)" || lg_fail "status does not show standby"
[ "$(limit)" = 2 ] || lg_fail "standby node does not run on evaluation seats"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 evaluation clients did not connect"

# The address arrives: active, 4 seats, the waiting client gets in.
ip -n "$ns" addr add "$vip/24" dev fo0
wait_limit 4
[ "$(state)" = active ] || lg_fail "license state is not active with the address"
lt_ctl status | grep -q "^failover: *active (failover-vip $vip)" || lg_fail "status does not show active"
lt_wait_count 3 60 c1 c2 c3 || lg_fail "the waiting client did not get in once active"

# The address goes: standby again; nobody is dropped, new clients are refused.
ip -n "$ns" addr del "$vip/24" dev fo0
wait_limit 2
[ "$(state)" = standby ] || lg_fail "license state is not standby after addr del"
lg_sleep 2
[ "$(lt_connected c1 c2 c3 | wc -l)" -eq 3 ] || lg_fail "a tunnel dropped when the node became standby"
lg_client c4 udp "$LG_PORT" client4
lt_wait_refused "$LG_DIR/srv.log" 30 client4 || lg_fail "a new client was admitted on a standby node"
grep -q "refused cn='client4' .*limit reached (3/2 seats" "$LG_DIR/srv.log" || lg_fail "refusal is not 3/2"

# And back.
ip -n "$ns" addr add "$vip/24" dev fo0
wait_limit 4
lg_wait_connected c4 60 || lg_fail "client4 did not get in when the node became active again"
lg_pass "failover license follows failover-vip within the documented delay"
