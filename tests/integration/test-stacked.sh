#!/usr/bin/env bash
# Licenses stack: a 2-seat and a 3-seat license admit 5 of 6 clients.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init stacked

lt_license two.lic --seats 2
lt_license three.lic --seats 3
lg_server srv tcp-server "$LG_PORT" "$(lt_plugin)"
grep -q "licenses loaded: limit 5 seats" "$LG_DIR/srv.log" || lg_fail "limit is not 5"
clients=(c1 c2 c3 c4 c5 c6)
for i in 1 2 3 4 5 6; do lg_client "c$i" tcp "$LG_PORT" "client$i"; done
lt_wait_count 5 60 "${clients[@]}" || lg_fail "5 clients did not connect"
for c in "${clients[@]}"; do lg_connected "$c" || last=$c; done
lt_wait_refused "$LG_DIR/srv.log" 30 "$(lt_cn "$last")" || lg_fail "the sixth was not refused"
grep -q "limit reached (5/5 seats)" "$LG_DIR/srv.log" || lg_fail "no 5/5 refusal"
[ "$(lt_connected "${clients[@]}" | wc -l)" -eq 5 ] || lg_fail "not exactly 5 connected"
lg_pass "2 + 3 stacked seats: 5 admitted"
