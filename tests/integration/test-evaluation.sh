#!/usr/bin/env bash
# No license at all: exactly 2 evaluation seats.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init evaluation

# A license-dir that does not exist is said once, then evaluation mode.
lg_server srv udp "$LG_PORT" "$(LT_LICENSES=$LG_DIR/no-such-dir lt_plugin)"
grep -q "licgate: license-dir $LG_DIR/no-such-dir does not exist: no license" "$LG_DIR/srv.log" ||
    lg_fail "a missing license-dir was not logged"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv.log" ||
    lg_fail "the server did not announce evaluation mode"
for i in 1 2 3 4; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 c4 || lg_fail "2 clients did not connect"
waiting=()
for c in c1 c2 c3 c4; do lg_connected "$c" || waiting+=("$(lt_cn "$c")"); done
lt_wait_refused "$LG_DIR/srv.log" 30 "${waiting[@]}" || lg_fail "the others were not refused"
grep -q "limit reached (2/2 seats, evaluation mode)" "$LG_DIR/srv.log" ||
    lg_fail "the refusal does not say evaluation mode"
[ "$(lt_connected c1 c2 c3 c4 | wc -l)" -eq 2 ] || lg_fail "not exactly 2 connected"
lg_pass "no license: exactly 2 evaluation seats"
