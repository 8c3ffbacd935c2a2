#!/usr/bin/env bash
# Malformed, unsigned, foreign-signed, oversized and expired files are each
# skipped with one log line naming the file and the reason; the good license
# still counts and the server keeps running.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init bad-licenses

lt_license good.lic --seats 3
lt_license expired.lic --seats 7 --issued-days-ago 30 --support-days -1 --no-lease
printf 'this is not a license\n' >"$LT_LICENSES/malformed.lic"
sed '/^signature: /d' "$LT_LICENSES/good.lic" >"$LT_LICENSES/unsigned.lic"
"$LICGATE_AUTHORITY" keygen --private "$LG_DIR/foreign.pem" --public "$LG_DIR/foreign.pub" >/dev/null
"$LICGATE_AUTHORITY" sign --key "$LG_DIR/foreign.pem" --key-id LG-FOREIGN-1 --customer Mallory \
    --seats 100 >"$LT_LICENSES/foreign.lic"
sed 's/^seats: 3$/seats: 300/' "$LT_LICENSES/good.lic" >"$LT_LICENSES/tampered.lic"
head -c 200000 /dev/zero | tr '\0' 'A' >"$LT_LICENSES/huge.lic"
: >"$LT_LICENSES/empty.lic"

lg_server srv udp "$LG_PORT" "$(lt_plugin)"
log="$LG_DIR/srv.log"
for f in malformed unsigned foreign tampered huge empty; do
    [ "$(grep -c "licgate: license '$f.lic' skipped: " "$log")" -eq 1 ] ||
        lg_fail "$f.lic: expected exactly one 'skipped' line"
done
grep -q "license 'foreign.lic' skipped: .*issuer" "$log" || lg_fail "foreign.lic reason does not name the issuer"
grep -q "license 'tampered.lic' skipped: .*signature" "$log" || lg_fail "tampered.lic reason is not the signature"
grep -q "license 'huge.lic' skipped: .*larger than" "$log" || lg_fail "huge.lic reason is not its size"
grep -q "license 'expired.lic': key .*expired: support ended" "$log" || lg_fail "expired.lic not reported"
grep -q "licenses loaded: limit 3 seats" "$log" || lg_fail "the good license does not count alone"

for i in 1 2 3 4; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 c1 c2 c3 c4 || lg_fail "3 clients did not connect"
lg_alive srv || lg_fail "the server died"

# Only bad files: the evaluation seats remain.
rm -f "$LT_LICENSES/good.lic"
lg_server srv2 udp "$((LG_PORT + 1))" "plugin $LICGATE_PLUGIN license-dir=$LT_LICENSES pool=$LT_POOL-2"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv2.log" ||
    lg_fail "bad files only: not in evaluation mode"
rm -f "/dev/shm/licgate.$LT_POOL-2"
lg_pass "bad license files skipped one line each; good ones count; evaluation remains"
