#!/usr/bin/env bash
# An expired 5-seat license gives nothing: the server logs which license
# expired and when, and falls back to the 2 evaluation seats.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init expired

ended=$(date -u -d "@$(( $(date +%s) - 2 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
lt_license expired.lic --key-id LG-EXPIRED-0001 --seats 5 --issued-days-ago 400 \
    --support-until "$ended" --no-lease
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
grep -q "license 'expired.lic': key LG-EXPIRED-0001, 5 seats: expired: support ended $ended" \
    "$LG_DIR/srv.log" || lg_fail "no log line naming the expired license and its end date"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv.log" ||
    lg_fail "the server did not fall back to evaluation mode"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 clients did not connect"
waiting=$(for c in c1 c2 c3; do lg_connected "$c" || lt_cn "$c"; done)
lt_wait_refused "$LG_DIR/srv.log" 30 $waiting || lg_fail "the third client was not refused"
[ "$(lt_connected c1 c2 c3 | wc -l)" -eq 2 ] || lg_fail "not exactly 2 connected"
lg_pass "expired license: logged with its date, 2 evaluation seats"
