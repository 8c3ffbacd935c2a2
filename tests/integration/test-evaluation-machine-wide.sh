#!/usr/bin/env bash
# The 2 evaluation seats are the machine's, not a pool's: three unlicensed
# openvpn servers on three pools admit 2 tunnels in all; a seat freed in one
# pool is taken in another; status shows the machine's count in every pool.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init evaluation-machine-wide

base=$LT_POOL
for s in 0 1 2; do
    LT_POOL="$base-$s"
    lg_server "srv$s" udp "$((LG_PORT + s))" "$(lt_plugin)"
    grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv$s.log" ||
        lg_fail "srv$s is not in evaluation mode"
done
clients=()
for s in 0 1 2; do
    for k in 1 2; do
        lg_client "c$s$k" udp "$((LG_PORT + s))" "client$((2 * s + k))"
        clients+=("c$s$k")
    done
done
lt_wait_count 2 60 "${clients[@]}" || lg_fail "not 2 tunnels in all"
lg_sleep 5
[ "$(lt_connected "${clients[@]}" | wc -l)" -eq 2 ] ||
    lg_fail "$(lt_connected "${clients[@]}" | wc -l) tunnels on 2 evaluation seats: $(lt_connected "${clients[@]}" | tr '\n' ' ')"
grep -hq "licgate: refused cn=.*the machine's 2 evaluation seats are in use" "$LG_DIR"/srv*.log ||
    lg_fail "no refusal names the machine's evaluation seats"
for s in 0 1 2; do
    got=$(LT_POOL="$base-$s" lt_ctl --json status | lt_json 'j["machine"]["evaluation_seats_in_use"]')
    [ "$got" = 2 ] || lg_fail "pool $base-$s says $got evaluation seats in use on the machine"
done
LT_POOL="$base-0" lt_ctl status | grep -q "evaluation seats: 2/2 in use on this machine" ||
    lg_fail "status: $(LT_POOL="$base-0" lt_ctl status)"

# One of the two leaves: the seat goes to whoever asks next, in any pool.
first=$(lt_connected "${clients[@]}" | sed -n 1p)
lg_stop "$first"
rest=()
for c in "${clients[@]}"; do [ "$c" = "$first" ] || rest+=("$c"); done
lt_wait_count 2 60 "${rest[@]}" || lg_fail "the freed evaluation seat was not taken"
lg_sleep 3
[ "$(lt_connected "${rest[@]}" | wc -l)" -eq 2 ] || lg_fail "not 2 after the seat moved"
LT_POOL=$base
lg_pass "three unlicensed pools: 2 evaluation tunnels in all, a freed seat moves"
