#!/usr/bin/env bash
# A 3-seat license on a real UDP server: of 5 clients exactly 3 get in, the
# other 2 are refused with the reason in the log, and when an admitted client
# leaves, a waiting client takes its seat.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init seats

lt_license three.lic --seats 3
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
lg_wait_log "$LG_DIR/srv.log" "licgate: licenses loaded: limit 3 seats" 5 ||
    lg_fail "the server did not load the 3-seat license"

clients=(c1 c2 c3 c4 c5)
for i in 1 2 3 4 5; do
    lg_client "c$i" udp "$LG_PORT" "client$i"
done

lt_wait_count 3 60 "${clients[@]}" || lg_fail "3 clients did not connect"
mapfile -t admitted < <(lt_connected "${clients[@]}")
waiting=()
for c in "${clients[@]}"; do
    lg_connected "$c" || waiting+=("$c")
done
[ ${#waiting[@]} -eq 2 ] || lg_fail "expected 2 waiting clients, got: ${waiting[*]}"

# Both waiting clients must have been refused, each with the reason and numbers.
lt_wait_refused "$LG_DIR/srv.log" 30 "$(lt_cn "${waiting[0]}")" "$(lt_cn "${waiting[1]}")" ||
    lg_fail "the waiting clients were not refused by licgate"
grep -q "refused cn='$(lt_cn "${waiting[0]}")' .*limit reached (3/3 seats)" "$LG_DIR/srv.log" ||
    lg_fail "refusal log line lacks the reason and numbers"

# Still exactly 3 after the refusals, and the server admitted exactly 3 times.
[ "$(lt_connected "${clients[@]}" | wc -l)" -eq 3 ] || lg_fail "more than 3 clients connected"
[ "$(lg_count_log "$LG_DIR/srv.log" 'licgate: admitted ')" -eq 3 ] ||
    lg_fail "the server logged $(lg_count_log "$LG_DIR/srv.log" 'licgate: admitted ') admissions"

# One admitted client leaves: one of the waiting ones gets its seat.
lg_stop "${admitted[0]}"
end=$((SECONDS + 40))
while [ $SECONDS -lt $end ]; do
    [ "$(lt_connected "${waiting[@]}" | wc -l)" -ge 1 ] && break
    sleep 0.2
done
[ "$(lt_connected "${waiting[@]}" | wc -l)" -eq 1 ] || lg_fail "no waiting client got the free seat"
remaining=("${admitted[1]}" "${admitted[2]}" "${waiting[0]}" "${waiting[1]}")
lg_sleep 3
[ "$(lt_connected "${remaining[@]}" | wc -l)" -eq 3 ] || lg_fail "not exactly 3 connected after the swap"
lg_alive srv || lg_fail "the server died"
lg_pass "3 of 5 admitted, 2 refused with reason, a waiting client took the freed seat"
