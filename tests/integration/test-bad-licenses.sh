#!/usr/bin/env bash
# The fixture set of scripts/make-fixtures plus hostile files: malformed,
# truncated, unsigned, foreign-signed, tampered, oversized, empty, expired,
# lease-over and future licenses are each reported with one log line naming
# the file and the reason; the valid ones (3 + 2 + perpetual 4 = 9 seats)
# still count, and the server keeps running.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init bad-licenses

"$LICGATE_SRCDIR/scripts/make-fixtures" --authority "$LICGATE_AUTHORITY" \
    --key "$LICGATE_DEV_KEY" --out "$LT_LICENSES" >/dev/null || lg_fail "make-fixtures failed"
sed '/^signature: /d' "$LT_LICENSES/valid-3.lic" >"$LT_LICENSES/unsigned.lic"
sed 's/^seats: 3$/seats: 300/' "$LT_LICENSES/valid-3.lic" >"$LT_LICENSES/tampered.lic"
head -c 200000 /dev/zero | tr '\0' 'A' >"$LT_LICENSES/huge.lic"
: >"$LT_LICENSES/empty.lic"

lg_server srv udp "$LG_PORT" "$(lt_plugin)"
log="$LG_DIR/srv.log"
for f in malformed truncated unsigned foreign tampered huge empty; do
    [ "$(grep -c "licgate: license '$f.lic' skipped: " "$log")" -eq 1 ] ||
        lg_fail "$f.lic: expected exactly one 'skipped' line"
done
grep -q "license 'foreign.lic' skipped: .*issuer" "$log" || lg_fail "foreign.lic: reason does not name the issuer"
grep -q "license 'tampered.lic' skipped: bad signature" "$log" || lg_fail "tampered.lic: reason is not the signature"
grep -q "license 'huge.lic' skipped: .*larger than" "$log" || lg_fail "huge.lic: reason is not its size"
grep -q "license 'expired.lic': key .*: expired: support ended" "$log" || lg_fail "expired.lic not reported"
grep -q "license 'lease-over.lic': key .*: lease-over: lease ended" "$log" || lg_fail "lease-over.lic not reported"
grep -q "license 'future.lic': key .*: not-yet-valid: issued in the future" "$log" || lg_fail "future.lic not reported"
grep -q "license 'perpetual.lic': .*(perpetual).*: active" "$log" || lg_fail "perpetual.lic is not active"
grep -q "licenses loaded: limit 9 seats" "$log" || lg_fail "the valid licenses do not add up to 9"
lg_alive srv || lg_fail "the server died"

# Only bad files: the evaluation seats remain.
rm -f "$LT_LICENSES"/valid-*.lic "$LT_LICENSES/perpetual.lic"
lg_server srv2 udp "$((LG_PORT + 1))" "$(LT_POOL=$LT_POOL-2 lt_plugin)"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv2.log" ||
    lg_fail "bad files only: not in evaluation mode"
for i in 1 2 3; do lg_client "c$i" udp "$((LG_PORT + 1))" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 evaluation clients did not connect"
lt_pool_remove "$LT_POOL-2"
lg_pass "bad license files reported one line each; valid ones count; evaluation remains"
