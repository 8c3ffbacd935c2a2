#!/usr/bin/env bash
# Failover keys (Q24) with a real authority and two machines (network and
# mount namespaces, machine-ids of their own): a failover key never activates
# on its primary's installation, and a failover license copied there does not
# count even where the node holds failover-vip; on the standby server it
# activates, and without failover-vip the status says that the address is
# missing. A failover key follows its primary: after `replace` it renews,
# carrying the primary's sunset, until that sunset and never after (asked 20
# days later through an offline round trip, the authority's clock seam); the
# replacement gets one failover key of its own, not two.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
AUTH_TEST=${LICGATE_AUTHORITY_TEST:-}
[ -x "$AUTH_TEST" ] || _lg_skip "LICGATE_AUTHORITY_TEST (the authority with its clock seam) not built"
lt_init activate-failover
lt_machines
a=$LT_A b=$LT_B
lt_authority_serve
A=$LT_AUTH URL=$LT_URL
KEY=$("$LICGATE_AUTHORITY" issue --dir "$A" --customer "Failover Test" --seats 10) || lg_fail "issue"
FO=$("$LICGATE_AUTHORITY" failover-key --dir "$A" "$KEY") || lg_fail "failover-key"

# The primary server: machine a, holding the failover address too.
line=$(lt_plugin failover-vip=192.0.2.1)
conf=${line##*config=}
lt_on_machine "$a"
lg_server srv udp "$LG_PORT" "$line"
ctl_a() { lt_on "$a" "$LICGATE_CTL" --config "$conf" "$@"; }
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$KEY" >"$LG_DIR/a.out" 2>&1 ||
    lg_fail "primary activation: $(cat "$LG_DIR/a.out")"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "primary does not count 10"

# The failover key on the primary's installation: refused.
rc=0
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$FO" >/dev/null 2>"$LG_DIR/fo-a.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "failover key on the primary's installation: exit $rc"
[ "$(cat "$LG_DIR/fo-a.err")" = "licgatectl: this machine runs the primary key $KEY: a failover key activates only on the standby server (Q24)" ] ||
    lg_fail "failover key on the primary's installation said: $(cat "$LG_DIR/fo-a.err")"
"$LICGATE_AUTHORITY" show --dir "$A" "$FO" | grep -qx 'activated:       none' || lg_fail "the failover key was activated"

# A failover license on the primary's machine (copied there, or activated by
# another installation) does not count there.
lt_license fo.lic --key-id "$FO" --kind failover --primary-key "$KEY" --seats 10
lt_ctl reload >/dev/null || lg_fail "reload"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "primary and failover counted together"
[ "$(lt_ctl --json licenses | lt_json '[l["state"] for l in j["licenses"] if l["file"] == "fo.lic"][0]')" = beside-primary ] ||
    lg_fail "state: $(lt_ctl licenses)"
lt_ctl licenses | grep -q "its primary key $KEY is on this machine: a failover key counts only on the standby server (Q24)" ||
    lg_fail "no reason given: $(lt_ctl licenses)"
rm "$LT_LICENSES/fo.lic"

# The standby server, machine b, without failover-vip: it activates, and the
# status names the missing setting.
mkdir -p "$LG_DIR/b-licenses"
printf 'license-dir %s\nstate-dir %s\npool %s-b\n' "$LG_DIR/b-licenses" "$LG_DIR/b-state" "$LT_POOL" >"$LG_DIR/b.conf"
chmod 0644 "$LG_DIR/b.conf"
lt_on_machine "$b"
lg_server srvb udp "$LG_PORT" "plugin $LICGATE_PLUGIN config=$LG_DIR/b.conf"
ctl_b() { lt_on "$b" "$LICGATE_CTL" --config "$LG_DIR/b.conf" "$@"; }
ctl_b activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$FO" >"$LG_DIR/b.out" 2>&1 ||
    lg_fail "failover activation on the standby: $(cat "$LG_DIR/b.out")"
ctl_b licenses >"$LG_DIR/b-lic.out" || lg_fail "licenses on b"
grep -q "failover-vip is not set in licgate.conf: a failover license counts only on the node that holds that address" "$LG_DIR/b-lic.out" ||
    lg_fail "b's licenses: $(cat "$LG_DIR/b-lic.out")"
grep -q "does not hold the failover address" "$LG_DIR/b-lic.out" && lg_fail "standby claimed without failover-vip"

# The primary is replaced: its failover key carries the primary's sunset ...
now=$(date +%s)
NEW=$("$LICGATE_AUTHORITY" replace --dir "$A" "$KEY") || lg_fail "replace"
sunset=$("$LICGATE_AUTHORITY" show --dir "$A" "$KEY" | sed -n 's/^sunset: *//p')
"$LICGATE_AUTHORITY" show --dir "$A" "$FO" | grep -qx "sunset:          $sunset" || lg_fail "the failover key has no sunset"
ctl_b refresh --ca-file "$LT_CA" >"$LG_DIR/r.out" 2>&1 || lg_fail "failover refresh within the week: $(cat "$LG_DIR/r.out")"
grep -qx "sunset: $sunset" "$LG_DIR/b-licenses/$FO.lic" || lg_fail "the renewed failover license lacks the sunset"

# ... and 20 days later it is not renewed (offline: the request made now, answered then).
ctl_b activate --offline-request --rule-virtual "$FO" >"$LG_DIR/req.txt" || lg_fail "offline request"
rc=0
LICGATE_AUTHORITY_NOW=$((now + 20 * 86400)) "$AUTH_TEST" activate-offline --dir "$A" \
    --out "$LG_DIR/late.lic" "$LG_DIR/req.txt" 2>"$LG_DIR/late.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "a failover key renewed 20 days after its primary's replacement"
[ "$(cat "$LG_DIR/late.err")" = "licgate-authority: '$FO': failover key retired with its primary key $KEY (sunset $sunset): ask for a failover key for the primary's replacement (Q24)" ] ||
    lg_fail "late renewal said: $(cat "$LG_DIR/late.err")"
[ -e "$LG_DIR/late.lic" ] && lg_fail "a refused answer left a file"

# The replacement gets one failover key, and only one.
FO2=$("$LICGATE_AUTHORITY" failover-key --dir "$A" "$NEW") || lg_fail "failover-key for the replacement"
rc=0
out=$("$LICGATE_AUTHORITY" failover-key --dir "$A" "$NEW" 2>&1) || rc=$?
[ $rc -eq 1 ] || lg_fail "a second failover key for the replacement: exit $rc"
[ "$out" = "licgate-authority: '$NEW': the key already has failover key $FO2 (Q24)" ] ||
    lg_fail "second failover key said: $out"
lg_pass "failover keys: never on the primary's machine, retired with the primary, one per primary"
