#!/usr/bin/env bash
# Resource limits: a pool whose capacity is below the licensed seats refuses
# with its own reason and recovers when a session ends; a license directory
# of 1,000 files and one 100 MB file load quickly (each file read is
# bounded) and every bad file is reported; of 1,030 files the first 1,024 by
# name are read and count, the rest are skipped in one line.
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
lg_stop srv2

# 1,030 files: 2 valid ones among the first 1,024 by name still count, and
# openvpn says how many it skipped; status says so too.
rm -f "$LT_LICENSES/huge.lic"
for i in $(seq 1000 1029); do printf 'junk %d\n' "$i" >"$LT_LICENSES/junk-$i.lic"; done
lt_license a-two.lic --seats 2
[ "$(ls "$LT_LICENSES" | wc -l)" = 1031 ] || lg_fail "expected 1,031 files"
lg_server srv3 udp "$((LG_PORT + 2))" "$(lt_plugin)"
grep -q "licenses loaded: limit 7 seats" "$LG_DIR/srv3.log" ||
    lg_fail "the valid licenses among 1,031 files do not count: $(grep 'licgate: licenses' "$LG_DIR/srv3.log")"
grep -q "license-dir $LT_LICENSES: 7 \*.lic files beyond the first 1024 (by name) skipped" "$LG_DIR/srv3.log" ||
    lg_fail "the skipped files were not said in one line"
end=$((SECONDS + 10))
until lt_ctl status 2>&1 | grep -q "7 \\*.lic files beyond the first 1024"; do
    [ $SECONDS -lt $end ] || lg_fail "status does not say files were skipped: $(lt_ctl status 2>&1)"
    sleep 0.3
done
lg_pass "capacity refusal recovers; 1,000 files + 100 MB loaded in ${ms} ms (server start included); 1,031 files: the first 1,024 count"
