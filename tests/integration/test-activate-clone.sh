#!/usr/bin/env bash
# A copied disk (Q11: a clone loses its activation). Two machines, each a
# network namespace with its own links and a mount namespace with its own
# machine-id, talk to a real `licgate-authority serve`. Machine b gets a copy
# of machine a's installation key and license: its first refresh looks like
# a hardware change and re-binds; when a comes back to the fingerprint the
# key left, the authority names the clone: neither machine gets a new lease
# from then on, both are told in one line, a's openvpn keeps its license
# until its lease ends, the ledger and `show` record the event. The vendor's
# replacement then activates on a fresh installation key only.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init activate-clone
lt_machines
a=$LT_A b=$LT_B
lt_authority_serve
A=$LT_AUTH URL=$LT_URL
KEY=$("$LICGATE_AUTHORITY" issue --dir "$A" --customer "Clone Test" --seats 10) || lg_fail "issue"

# Machine a: openvpn with the plugin, activated online.
line=$(lt_plugin)
conf=${line##*config=}
lt_on_machine "$a"
lg_server srv udp "$LG_PORT" "$line"
ctl_a() { lt_on "$a" "$LICGATE_CTL" --config "$conf" "$@"; }
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$KEY" >"$LG_DIR/act.out" 2>&1 ||
    lg_fail "activate on a: $(cat "$LG_DIR/act.out")"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "a does not count 10 seats"

# The disk is copied to machine b: installation key, authorities, license.
mkdir -p "$LG_DIR/b-licenses"
cp -a "$LG_DIR/state" "$LG_DIR/b-state"
cp -a "$LT_LICENSES/$KEY.lic" "$LG_DIR/b-licenses/"
printf 'license-dir %s\nstate-dir %s\npool %s-b\n' "$LG_DIR/b-licenses" "$LG_DIR/b-state" "$LT_POOL" >"$LG_DIR/b.conf"
ctl_b() { lt_on "$b" "$LICGATE_CTL" --config "$LG_DIR/b.conf" "$@"; }

# The clone's first refresh re-binds: nothing tells it from new hardware yet.
ctl_b refresh --ca-file "$LT_CA" >"$LG_DIR/b1.out" 2>&1 || lg_fail "clone's first refresh: $(cat "$LG_DIR/b1.out")"
grep -q "^$KEY: re-bound to this machine" "$LG_DIR/b1.out" || lg_fail "clone's first refresh said: $(cat "$LG_DIR/b1.out")"

# The original comes back to the fingerprint the key left: the clone is named.
sum=$(sha256sum <"$LT_LICENSES/$KEY.lic")
rc=0
ctl_a refresh --ca-file "$LT_CA" >"$LG_DIR/a2.out" 2>"$LG_DIR/a2.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "original's refresh after the clone: exit $rc"
[ "$(wc -l <"$LG_DIR/a2.err")" -eq 1 ] || lg_fail "not one line: $(cat "$LG_DIR/a2.err")"
grep -q "^licgatectl: $KEY: refused: this installation was found on two machines (a copied disk, 20[0-9-]*T[0-9:]*Z): it gets no new lease; ask the vendor to replace the key (Q11) (the installed license is kept)$" "$LG_DIR/a2.err" ||
    lg_fail "original was told: $(cat "$LG_DIR/a2.err")"
[ "$(sha256sum <"$LT_LICENSES/$KEY.lic")" = "$sum" ] || lg_fail "the refused refresh changed a's license"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "a lost its license before its lease ended"

# From then on neither machine gets a lease.
rc=0
ctl_b refresh --ca-file "$LT_CA" >"$LG_DIR/b2.out" 2>"$LG_DIR/b2.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "clone's second refresh: exit $rc"
grep -q "found on two machines" "$LG_DIR/b2.err" || lg_fail "clone was told: $(cat "$LG_DIR/b2.err")"
rc=0
ctl_a refresh --ca-file "$LT_CA" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || lg_fail "original renewed after the clone was found"

# The ledger records it; show and the audit say so.
"$LICGATE_AUTHORITY" show --dir "$A" "$KEY" >"$LG_DIR/show.out" || lg_fail "show"
grep -q '^cloned:          20' "$LG_DIR/show.out" || lg_fail "show: $(cat "$LG_DIR/show.out")"
"$LICGATE_AUTHORITY" audit --dir "$A" >"$LG_DIR/audit.out" || lg_fail "audit"
grep -q "clone.*$KEY" "$LG_DIR/audit.out" || lg_fail "no clone row in the audit: $(cat "$LG_DIR/audit.out")"
grep -q "refused: cloned:" "$LG_DIR/serve.log" || lg_fail "serve did not log the refusal"

# The vendor replaces the key: the copied installation cannot take it; a
# fresh installation key on the machine kept can.
NEW=$("$LICGATE_AUTHORITY" replace --dir "$A" "$KEY") || lg_fail "replace"
rc=0
ctl_b activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$NEW" >/dev/null 2>"$LG_DIR/b3.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "the copied installation activated the replacement"
grep -q "was found on two machines (key $KEY, .*): remove installation.key on the machine you keep and activate again$" "$LG_DIR/b3.err" ||
    lg_fail "copied installation was told: $(cat "$LG_DIR/b3.err")"
rm "$LG_DIR/state/installation.key"
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$NEW" >"$LG_DIR/a3.out" 2>&1 ||
    lg_fail "replacement on a fresh installation: $(cat "$LG_DIR/a3.out")"
lg_pass "a clone is named when the original returns, no more leases, the original keeps its lease"
