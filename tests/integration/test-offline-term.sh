#!/usr/bin/env bash
# An air-gapped server keeps its license for the support term. The offline
# request is made and answered 31 days ago (the authority's clock seam; the
# request is signed with this installation's key and this machine's salted
# fingerprint, as licgatectl makes it): the license installed today still
# counts, its lease running to the end of support. After `extend`, one more
# request/answer round trip carries the new support end. `--lease-days` lets
# the vendor set a shorter lease.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
AUTH_TEST=${LICGATE_AUTHORITY_TEST:-}
[ -x "$AUTH_TEST" ] || _lg_skip "LICGATE_AUTHORITY_TEST (the authority with its clock seam) not built"
lt_init offline-term
lt_machines
a=$LT_A
A="$LG_DIR/authority"
"$LICGATE_AUTHORITY" init --dir "$A" --issuer-key "$LICGATE_DEV_KEY" >/dev/null || lg_fail "authority init"
day=86400
then=$(($(date +%s) - 31 * day))
KEY=$(LICGATE_AUTHORITY_NOW=$then "$AUTH_TEST" issue --dir "$A" --customer "Air Gap" --seats 10) ||
    lg_fail "issue"

line=$(lt_plugin)
conf=${line##*config=}
lt_on_machine "$a"
lg_server srv udp "$LG_PORT" "$line"
ctl() { lt_on "$a" "$LICGATE_CTL" --config "$conf" "$@"; }
limit() { lt_ctl --json status | lt_json 'j["limit"]'; }
[ "$(limit)" = 2 ] || lg_fail "not in evaluation mode"

# 31 days ago: the request (this installation, this machine), answered.
ctl activate --offline-request "$KEY" >/dev/null || lg_fail "offline request (makes the installation key)"
ctl fingerprint --key "$KEY" | sed -n '/^binding for key/{n;p}' | tr ' ' '\n' | grep = >"$LG_DIR/fp" ||
    lg_fail "fingerprint"
LICGATE_AUTHORITY_NOW=$then "$AUTH_TEST" make-request "$KEY" --offline \
    --installation-key "$LG_DIR/state/installation.key" --fingerprint-file "$LG_DIR/fp" \
    >"$LG_DIR/old-request.txt" || lg_fail "make-request"
LICGATE_AUTHORITY_NOW=$((then + 600)) "$AUTH_TEST" activate-offline --dir "$A" \
    --out "$LG_DIR/old.lic" "$LG_DIR/old-request.txt" 2>/dev/null || lg_fail "activate-offline 31 days ago"
support=$(sed -n 's/^support-until: //p' "$LG_DIR/old.lic")
grep -qx "lease-not-after: $support" "$LG_DIR/old.lic" || lg_fail "offline lease is not the support end: $(cat "$LG_DIR/old.lic")"
issued=$(sed -n 's/^issued: //p' "$LG_DIR/old.lic")
[ "$(date -u -d "$issued" +%s)" -le $(($(date +%s) - 30 * day)) ] || lg_fail "issued $issued is not 30 days ago"

# Today: installed, it counts.
ctl install "$LG_DIR/old.lic" >"$LG_DIR/install.out" 2>&1 || lg_fail "install: $(cat "$LG_DIR/install.out")"
[ "$(limit)" = 10 ] || lg_fail "an offline license 31 days old does not count: $(lt_ctl licenses)"
[ "$(lt_ctl --json licenses | lt_json 'j["licenses"][0]["state"]')" = active ] || lg_fail "state: $(lt_ctl licenses)"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 c1 c2 c3 || lg_fail "3 clients did not get in on the 31-day-old offline license"

# extend, then one round trip: the new support end, and the lease with it.
"$LICGATE_AUTHORITY" extend --dir "$A" "$KEY" --years 1 >/dev/null || lg_fail "extend"
ctl activate --offline-request "$KEY" >"$LG_DIR/request.txt" || lg_fail "renewal request"
"$LICGATE_AUTHORITY" activate-offline --dir "$A" --out "$LG_DIR/new.lic" "$LG_DIR/request.txt" \
    2>"$LG_DIR/new.err" || lg_fail "renewal answer: $(cat "$LG_DIR/new.err")"
grep -q ": renewed$" "$LG_DIR/new.err" || lg_fail "the vendor was told: $(cat "$LG_DIR/new.err")"
ctl install "$LG_DIR/new.lic" >"$LG_DIR/install2.out" 2>&1 || lg_fail "install renewal: $(cat "$LG_DIR/install2.out")"
new_support=$(sed -n 's/^support-until: //p' "$LG_DIR/new.lic")
[ "$(date -u -d "$new_support" +%s)" -gt "$(date -u -d "$support" +%s)" ] || lg_fail "support not extended"
grep -qx "lease-not-after: $new_support" "$LG_DIR/new.lic" || lg_fail "renewed lease"
[ "$(lt_ctl --json licenses | lt_json 'j["licenses"][0]["support_until"]')" = "$new_support" ] ||
    lg_fail "openvpn does not show the new support end: $(lt_ctl licenses)"
[ "$(limit)" = 10 ] || lg_fail "limit after the renewal"

# The vendor may set a shorter lease.
ctl activate --offline-request "$KEY" >"$LG_DIR/request3.txt" || lg_fail "third request"
"$LICGATE_AUTHORITY" activate-offline --dir "$A" --lease-days 90 --out "$LG_DIR/90.lic" \
    "$LG_DIR/request3.txt" 2>/dev/null || lg_fail "--lease-days 90"
lease=$(sed -n 's/^lease-not-after: //p' "$LG_DIR/90.lic")
[ $(($(date -u -d "$lease" +%s) - $(date +%s))) -le $((90 * day)) ] &&
    [ $(($(date -u -d "$lease" +%s) - $(date +%s))) -gt $((89 * day)) ] || lg_fail "--lease-days 90 gave $lease"
lg_pass "an offline license holds to the end of support: 31 days on it counts, extend is one round trip"
