#!/usr/bin/env bash
# Removing licgate's shared state while openvpn runs does not split the pool:
# root marks every segment for removal (ipcrm) and deletes /run/licgate's
# lock file and the pool's directory; a second daemon then started on the
# same pool still finds and joins the live pool (3 of 3 seats taken: it
# admits nobody), and the first one says the registry was marked.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init unlink-no-split

lt_license three.lic --seats 3
lg_server srv1 udp "$LG_PORT" "$(lt_plugin)"
for i in 1 2 3; do lg_client "a$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 a1 a2 a3 || lg_fail "3 did not connect"
status=$(lt_ctl --json status)
ids="$(lt_json 'j["machine"]["registry_segment"]' <<<"$status") $(lt_json 'j["machine"]["pool_segment"]' <<<"$status")"

for id in $ids; do lt_ipc ipcrm -m "$id" || lg_fail "ipcrm -m $id"; done
rm -f /run/licgate/.machine.lock
rm -rf "/run/licgate/$LT_POOL"
# (the maintenance's lines reach openvpn's log at its next call into the
# plugin: a client knocking on the full server makes one)
lg_client knock udp "$LG_PORT" client7
lg_wait_log "$LG_DIR/srv1.log" "licgate: the machine registry was marked for removal" 20 ||
    lg_fail "the removal was not noticed"
lg_stop knock

lg_server srv2 udp "$((LG_PORT + 1))" "$(lt_plugin)"
for i in 4 5 6; do lg_client "b$i" udp "$((LG_PORT + 1))" "client$i"; done
lt_wait_refused "$LG_DIR/srv2.log" 30 client4 client5 client6 || lg_fail "the second daemon admitted into a new pool"
grep -q "limit reached (3/3 seats)" "$LG_DIR/srv2.log" || lg_fail "the second daemon does not see the 3 sessions"
lg_sleep 3
[ "$(lt_connected a1 a2 a3 b4 b5 b6 | wc -l)" -eq 3 ] || lg_fail "split: $(lt_connected a1 a2 a3 b4 b5 b6 | wc -l) tunnels on 3 seats"
# both daemons are in one pool: the second one's status lists both
lg_stop srv1
end=$((SECONDS + 10))
until lt_ctl --json status 2>/dev/null | lt_json 'len(j["processes"])' 2>/dev/null | grep -qx 1; do
    [ $SECONDS -lt $end ] || lg_fail "the second daemon did not take over the socket"
    sleep 0.3
done
lt_wait_count 3 60 b4 b5 b6 || lg_fail "the seats freed by the first daemon were not taken"
lg_pass "ipcrm and rm under /run/licgate while openvpn runs: one pool, 3 of 3"
