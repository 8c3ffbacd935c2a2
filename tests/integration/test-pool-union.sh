#!/usr/bin/env bash
# A pool's limit is the union of the keys its live processes hold: two
# daemons on one pool, each with a license directory of its own (3 seats and
# 2 seats), count 5 whatever the start order. A daemon that stops takes its
# keys with it; the pool, now over its limit, says so in status, metrics and
# the log, and refuses until enough tunnels leave.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init pool-union

dir_a=$LT_LICENSES
dir_b="$LG_DIR/licenses-b"
mkdir -p "$dir_b"
lt_license three.lic --key-id LG-UNION-0003 --seats 3
LT_LICENSES=$dir_b lt_license two.lic --key-id LG-UNION-0002 --seats 2

start() {   # start NAME LICENSE-DIR PORT
    LT_LICENSES=$2 lg_server "$1" udp "$3" "$(LT_LICENSES=$2 lt_plugin)"
}
wait_limit() {   # wait_limit N: the serving process admits against N
    local end=$((SECONDS + 10)) got
    while :; do
        got=$(lt_ctl --json status 2>/dev/null | lt_json 'j["limit"]' 2>/dev/null) || got=
        [ "$got" = "$1" ] && return 0
        [ $SECONDS -lt $end ] || lg_fail "limit '$got', want $1: $(lt_ctl status 2>&1)"
        sleep 0.3
    done
}
clients() {   # clients PREFIX PORT: 6 clients of one server
    for i in 1 2 3 4 5 6; do lg_client "$1$i" udp "$2" "client$i"; done
}

# a, then b: b counts both at once, a follows within a tick.
start a1 "$dir_a" "$LG_PORT"
wait_limit 3
start b1 "$dir_b" "$((LG_PORT + 1))"
grep -q "licgate: licenses loaded: limit 5 seats" "$LG_DIR/b1.log" ||
    lg_fail "the second daemon does not count the first one's key: $(grep 'licgate: ' "$LG_DIR/b1.log")"
grep -q "licgate: license 'three.lic' (license-dir $dir_a of pid [0-9]*): key LG-UNION-0003" "$LG_DIR/b1.log" ||
    lg_fail "the lent license is not named with its directory"
wait_limit 5
clients x "$LG_PORT"
lt_wait_count 5 60 x1 x2 x3 x4 x5 x6 || lg_fail "not 5 of 6 on the union of 3 + 2 seats"

# b stops: its key goes with it; 5 live tunnels on 3 seats stay, said plainly.
lg_stop b1
wait_limit 3
[ "$(lt_connected x1 x2 x3 x4 x5 x6 | wc -l)" -eq 5 ] || lg_fail "a live tunnel was dropped"
lt_ctl status | grep -q "over the limit: 5 in use, 3 licensed: new connections are refused until 2 leave" ||
    lg_fail "status does not say the pool is over its limit: $(lt_ctl status)"
[ "$(lt_ctl --json status | lt_json 'j["over_limit"]')" = 2 ] || lg_fail "JSON over_limit is not 2"
lt_ctl metrics | grep -q "^licgate_seats_over_limit{pool=\"$LT_POOL\"} 2$" || lg_fail "no over-limit metric"
lg_wait_log "$LG_DIR/a1.log" "licgate: over the limit: 5 in use, 3 licensed: new connections are refused until 2 leave" 20 ||
    lg_fail "the log does not say the pool is over its limit"
for c in x1 x2 x3 x4 x5 x6; do lg_stop "$c"; done
lg_stop a1

# b, then a: the same union.
start b2 "$dir_b" "$((LG_PORT + 1))"
wait_limit 2
start a2 "$dir_a" "$LG_PORT"
grep -q "licgate: licenses loaded: limit 5 seats" "$LG_DIR/a2.log" || lg_fail "a does not count b's key"
wait_limit 5
clients y "$((LG_PORT + 1))"
lt_wait_count 5 60 y1 y2 y3 y4 y5 y6 || lg_fail "not 5 of 6 the other way round"
lg_sleep 3
[ "$(lt_connected y1 y2 y3 y4 y5 y6 | wc -l)" -eq 5 ] || lg_fail "more than 5"
lg_pass "two license-dirs on one pool: 3 + 2 = 5 either way; a daemon that stops takes its key"
