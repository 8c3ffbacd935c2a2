#!/usr/bin/env bash
# Resource limits: a pool whose capacity is below the licensed seats refuses
# with its own reason and recovers when a session ends; a license directory
# of 1,000 files and one 100 MB file load quickly (each file read is
# bounded) and every bad file is reported.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init resource-limits

lt_license five.lic --seats 5
lg_server srv udp "$LG_PORT" "$(lt_plugin capacity=2)"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i" "auth-retry nointeract"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 clients did not get the 2 slots"
lg_wait_log "$LG_DIR/srv.log" "refused cn='client[0-9]' .*: pool capacity reached \(2 sessions; raise capacity=\)" 30 ||
    lg_fail "no 'pool capacity reached' refusal"
[ "$(lt_ctl --json status | lt_json 'j["refusals"]["capacity"]')" -ge 1 ] || lg_fail "capacity refusals not counted"
for c in c1 c2 c3; do lg_connected "$c" && { lg_stop "$c"; break; }; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "the pool did not recover after a session ended"
lg_stop srv
rm -f "/dev/shm/licgate.$LT_POOL"

# 1,000 license files (999 junk, 1 valid) and a 100 MB file.
for i in $(seq 1 999); do printf 'junk %d\n' "$i" >"$LT_LICENSES/junk-$i.lic"; done
truncate -s 100M "$LT_LICENSES/huge.lic"
start=$(date +%s%N)
lg_server srv2 udp "$((LG_PORT + 1))" "$(lt_plugin)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "licenses loaded: limit 5 seats" "$LG_DIR/srv2.log" || lg_fail "the valid license is lost among 1,000 files"
[ "$(grep -c "licgate: license 'junk-[0-9]*.lic' skipped: " "$LG_DIR/srv2.log")" -eq 999 ] ||
    lg_fail "not every junk file was reported"
grep -q "license 'huge.lic' skipped: file larger than 65536 bytes" "$LG_DIR/srv2.log" || lg_fail "huge file not reported"
lt_ctl --json licenses | lt_json 'len(j["licenses"])' | grep -qx 1001 || lg_fail "licenses does not list 1,001 files"
lg_pass "capacity refusal recovers; 1,000 files + 100 MB loaded in ${ms} ms (server start included)"
