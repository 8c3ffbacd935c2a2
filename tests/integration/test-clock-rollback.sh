#!/usr/bin/env bash
# Setting the clock back never revives or extends a license: with the
# high-water mark in state-dir ahead of the clock, a license that is valid by
# the clock but over by the mark stays expired, status reports the rollback,
# and the mark file is kept private and written atomically.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init clock-rollback

now=$(date +%s)
mark="$LG_DIR/state/pools/$LT_POOL/clock"                 # the pool's high-water mark
mkdir -p -m 0700 "${mark%/clock}"
echo $((now + 10 * 86400)) >"$mark"      # the clock was ahead 10 days ago...
ends=$(date -u -d "@$((now + 5 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
lt_license five.lic --key-id LG-CLOCK-0001 --seats 5 --support-until "$ends" --no-lease

lg_server srv udp "$LG_PORT" "$(lt_plugin)"
grep -q "license 'five.lic': key LG-CLOCK-0001, 5 seats: expired: support ended $ends" "$LG_DIR/srv.log" ||
    lg_fail "the license is not judged by the high-water mark"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv.log" || lg_fail "not in evaluation mode"
status=$(lt_ctl --json status)
[ "$(lt_json 'j["clock"]["rollback_detected"]' <<<"$status")" = true ] || lg_fail "status does not report the rollback"
lt_json '" ".join(j["warnings"])' <<<"$status" | grep -q "clock rollback detected" ||
    lg_fail "no rollback warning in status"
[ "$(stat -c '%a' "$mark")" = 600 ] || lg_fail "the mark file is not 0600"
[ "$(cat "$mark")" -ge $((now + 10 * 86400)) ] || lg_fail "the mark went backwards"
lg_stop srv

# The mark is the machine's, not a pool's: a pool under a new name, whose own
# mark file does not exist, judges the license by it too.
first=$LT_POOL
LT_POOL="$LT_POOL-b"
lg_server srv2 udp "$((LG_PORT + 1))" "$(lt_plugin)"
grep -q "license 'five.lic': key LG-CLOCK-0001, 5 seats: expired" "$LG_DIR/srv2.log" ||
    lg_fail "a new pool name revived the expired license: $(grep 'licgate: ' "$LG_DIR/srv2.log" | tail -n 3)"
lg_stop srv2

# Without any mark (another machine: a fresh registry, no saved marks) the
# same license is active: the mark alone decided.
rm -rf "$LG_DIR/state/pools"
kill "$LT_IPC_PID"
lt_ipc_namespace
lt_openvpn_wrapper plain
LT_POOL="$first-c"
lg_server srv3 udp "$((LG_PORT + 2))" "$(lt_plugin)"
grep -q "licenses loaded: limit 5 seats" "$LG_DIR/srv3.log" || lg_fail "the license should count by the clock"
[ "$(cat "$LG_DIR/state/pools/$LT_POOL/clock")" -ge "$now" ] || lg_fail "a fresh mark was not written"
lg_stop srv3
lg_pass "the machine's high-water mark keeps an expired license expired after the clock went back, under any pool name"
