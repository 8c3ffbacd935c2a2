#!/usr/bin/env bash
# One license key counts in one pool per machine. Two pools reading the same
# license directory: the pool that claimed the key first counts its seats,
# the other says why and stays in evaluation mode; when the first pool's
# openvpn stops, the other takes the key over within seconds, and gives it
# back to nobody else while it runs.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init pools-share-keys

lt_license three.lic --key-id LG-SHARE-0003 --seats 3
a=$LT_POOL
b="$LT_POOL-b"
lg_server srva udp "$LG_PORT" "$(lt_plugin)"
grep -q "licenses loaded: limit 3 seats (pool '$a')" "$LG_DIR/srva.log" || lg_fail "pool a does not count the key"

LT_POOL=$b
lg_server srvb udp "$((LG_PORT + 1))" "$(lt_plugin)"
grep -q "licgate: license 'three.lic' (key LG-SHARE-0003): pool '$a' on this machine counts it, so this pool does not" \
    "$LG_DIR/srvb.log" || lg_fail "pool b does not say pool a counts the key: $(grep licgate: "$LG_DIR/srvb.log")"
grep -q "licenses loaded: no valid license: evaluation mode, 2 seats (pool '$b')" "$LG_DIR/srvb.log" ||
    lg_fail "pool b counted the key too: $(grep licgate: "$LG_DIR/srvb.log")"
grep -q "limit 3 seats (pool '$b')" "$LG_DIR/srvb.log" && lg_fail "pool b published the key's seats, even briefly"
lic=$(lt_ctl --json licenses)
[ "$(lt_json "j['licenses'][0]['state']" <<<"$lic")" = other-pool ] || lg_fail "state: $lic"
lt_json "j['licenses'][0]['reason']" <<<"$lic" | grep -q "^pool '$a' on this machine counts this key" ||
    lg_fail "reason: $lic"

# Seats: 3 in pool a, 2 (evaluation) in pool b.
for i in 1 2 3 4; do lg_client "a$i" udp "$LG_PORT" "client$i"; done
for i in 5 6 7; do lg_client "b$i" udp "$((LG_PORT + 1))" "client$i"; done
lt_wait_count 3 60 a1 a2 a3 a4 || lg_fail "pool a did not admit exactly 3"
lt_wait_count 2 60 b5 b6 b7 || lg_fail "pool b did not admit exactly 2"

# Pool a's openvpn stops: pool b takes the key within two maintenance ticks.
for i in 1 2 3 4; do lg_stop "a$i"; done
lg_stop srva
end=$((SECONDS + 10))
until [ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 3 ]; do
    [ $SECONDS -lt $end ] || lg_fail "pool b did not take the key over: $(lt_ctl status)"
    sleep 0.3
done
lt_wait_count 3 60 b5 b6 b7 || lg_fail "pool b did not admit its third client"
lg_sleep 1
grep -q "licgate: license 'three.lic' (key LG-SHARE-0003): no other pool on this machine counts it now: it counts here" \
    "$LG_DIR/srvb.log" || lg_fail "no takeover line"

# Pool a again: the key counts in exactly one of the two pools (a's pool
# object remembers its older claim), and no live tunnel of b drops.
LT_POOL=$a
lg_server srva2 udp "$LG_PORT" "$(lt_plugin)"
LT_POOL=$b
end=$((SECONDS + 10))
total() { echo $(( $(LT_POOL=$a lt_ctl --json status | lt_json 'j["limit"]') + $(lt_ctl --json status | lt_json 'j["limit"]') )); }
until [ "$(total)" = 5 ]; do
    [ $SECONDS -lt $end ] || lg_fail "both pools count the key: limits a+b = $(total)"
    sleep 0.3
done
lg_sleep 3
[ "$(lt_connected b5 b6 b7 | wc -l)" -eq 3 ] || lg_fail "a tunnel of pool b dropped"
[ "$(total)" = 5 ] || lg_fail "the key moved again: limits a+b = $(total)"
lg_pass "a key counts in one pool: the other waits, takes over when it stops"
