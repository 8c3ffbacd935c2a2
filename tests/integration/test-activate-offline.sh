#!/usr/bin/env bash
# Offline activation round trip on a machine of its own (a network namespace
# with set link addresses): licgatectl activate --offline-request writes an
# armored request holding no secret, licgate-authority activate-offline turns
# it into a license, licgatectl install verifies and installs it. install
# never installs a license that fails verification: a changed byte, another
# installation's license, another machine's binding, an older document.
# refresh leaves the offline license alone and says why.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
"$LICGATE_AUTHORITY" --help 2>&1 | grep -q 'activate-offline' || _lg_skip "licgate-authority has no activate-offline yet"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || _lg_skip "licgatectl has no activate"
lt_init activate-offline

a="lgfa$$" b="lgfb$$"
for ns in "$a" "$b"; do lt_netns "$ns"; done
ip -n "$a" link add fa0 address 02:00:5e:61:00:01 type veth peer name fa1 address 02:00:5e:61:00:02
ip -n "$b" link add fb0 address 02:00:5e:71:00:01 type veth peer name fb1 address 02:00:5e:71:00:02

A="$LG_DIR/authority"
"$LICGATE_AUTHORITY" init --dir "$A" --issuer-key "$LICGATE_DEV_KEY" >/dev/null || lg_fail "authority init"
issue() { "$LICGATE_AUTHORITY" issue --dir "$A" --customer "Offline Test" --seats "$1" --rule all; }
KEY=$(issue 20) || lg_fail "authority issue"
conf="$LG_DIR/licgate.conf"
printf 'license-dir %s\nstate-dir %s\npool %s\n' "$LT_LICENSES" "$LG_DIR/state" "$LT_POOL" >"$conf"
ctl() { local ns=$1; shift; ip netns exec "$ns" "$LICGATE_CTL" --config "$conf" "$@"; }

# The request: armored, 76-column base64, the key and the digests, no secret.
ctl "$a" activate --offline-request --rule-virtual "$KEY" >"$LG_DIR/request.txt" ||
    lg_fail "offline request failed"
[ "$(head -n 1 "$LG_DIR/request.txt")" = "-----BEGIN LICGATE ACTIVATION REQUEST-----" ] || lg_fail "no BEGIN line"
[ "$(tail -n 1 "$LG_DIR/request.txt")" = "-----END LICGATE ACTIVATION REQUEST-----" ] || lg_fail "no END line"
[ "$(sed '1d;$d' "$LG_DIR/request.txt" | awk 'length > 76' | wc -l)" -eq 0 ] || lg_fail "a line longer than 76"
body=$(sed '1d;$d' "$LG_DIR/request.txt" | tr -d '\n' | base64 -d)
[ "$(lt_json 'j["key"]' <<<"$body")" = "$KEY" ] || lg_fail "the request lacks the key"
[ "$(lt_json 'j["binding"]["virtual"]' <<<"$body")" = true ] || lg_fail "the request is not +virtual"
[ "$(lt_json 'sorted(j)' <<<"$body")" = "['api', 'binding', 'installation_id', 'installation_public_key', 'key', 'nonce', 'signature', 'time']" ] ||
    lg_fail "unexpected fields: $(lt_json 'sorted(j)' <<<"$body")"
priv=$(sed '1d;$d' "$LG_DIR/state/installation.key" | tr -d '\n')
grep -qF "$priv" <<<"$body" && lg_fail "the request carries the private key"

# The vendor's side, then install: verified, installed, reported.
"$LICGATE_AUTHORITY" activate-offline --dir "$A" "$LG_DIR/request.txt" >"$LG_DIR/license.lic" ||
    lg_fail "activate-offline failed"
ctl "$a" install "$LG_DIR/license.lic" >"$LG_DIR/install.out" 2>&1 || lg_fail "install failed: $(cat "$LG_DIR/install.out")"
grep -q "^license $KEY: 20 seats for Offline Test" "$LG_DIR/install.out" || lg_fail "install said: $(cat "$LG_DIR/install.out")"
grep -q "no openvpn serves the pool now" "$LG_DIR/install.out" || lg_fail "no note about the missing server"
cmp -s "$LG_DIR/license.lic" "$LT_LICENSES/$KEY.lic" || lg_fail "installed file differs"
ctl "$a" install "$LG_DIR/license.lic" >"$LG_DIR/install2.out" 2>&1 || lg_fail "second install failed"
grep -q "^already installed " "$LG_DIR/install2.out" || lg_fail "a second install is not idempotent"

# refresh has no authority to ask for an offline license, and says so.
ctl "$a" refresh >"$LG_DIR/refresh.out" 2>&1 || lg_fail "refresh failed: $(cat "$LG_DIR/refresh.out")"
[ "$(cat "$LG_DIR/refresh.out")" = "$KEY: nothing to do (offline license: no authority recorded)" ] ||
    lg_fail "refresh said: $(cat "$LG_DIR/refresh.out")"
cmp -s "$LG_DIR/license.lic" "$LT_LICENSES/$KEY.lic" || lg_fail "refresh changed the offline license"
out=$(ctl "$a" refresh --quiet 2>&1) || lg_fail "refresh --quiet failed: $out"
[ -z "$out" ] || lg_fail "refresh --quiet said: $out"

# Refused, each with its reason, and nothing changes in the license dir.
refused() {   # refused NS FILE REASON [OPTION...]
    local rc=0 before ns=$1 file=$2 reason=$3
    shift 3
    before=$(ls -l --time-style=full-iso "$LT_LICENSES"; sha256sum "$LT_LICENSES"/*)
    ctl "$ns" "$@" install "$file" >"$LG_DIR/r.out" 2>"$LG_DIR/r.err" || rc=$?
    set -- "$ns" "$file" "$reason"
    [ $rc -eq 1 ] || lg_fail "install $2: exit $rc"
    grep -qF "$3" "$LG_DIR/r.err" || lg_fail "install $2 said: $(cat "$LG_DIR/r.err"), not '$3'"
    [ "$(wc -l <"$LG_DIR/r.err")" -eq 1 ] || lg_fail "install $2: not one line"
    [ "$(ls -l --time-style=full-iso "$LT_LICENSES"; sha256sum "$LT_LICENSES"/*)" = "$before" ] ||
        lg_fail "install $2 changed the license dir"
}
sed 's/^seats: 20$/seats: 21/' "$LG_DIR/license.lic" >"$LG_DIR/tampered.lic"
refused "$a" "$LG_DIR/tampered.lic" "tampered.lic not installed: bad signature"
# Same machine, another installation (its own state-dir): not ours.
ctl "$a" --state-dir "$LG_DIR/state-2" activate --offline-request --rule-virtual "$(issue 10)" \
    >"$LG_DIR/request2.txt" || lg_fail "second request"
"$LICGATE_AUTHORITY" activate-offline --dir "$A" "$LG_DIR/request2.txt" >"$LG_DIR/other.lic" ||
    lg_fail "activate-offline of the second request"
refused "$a" "$LG_DIR/other.lic" "the license is for installation "
# Another machine's license with its installation key copied (a clone): the
# plugin's own mismatch line.
ctl "$b" --state-dir "$LG_DIR/state-b" activate --offline-request --rule-virtual "$(issue 10)" \
    >"$LG_DIR/request3.txt" || lg_fail "third request"
"$LICGATE_AUTHORITY" activate-offline --dir "$A" "$LG_DIR/request3.txt" >"$LG_DIR/machine-b.lic" ||
    lg_fail "activate-offline of the third request"
refused "$a" "$LG_DIR/machine-b.lic" "License error: machine properties validation failed: verify fail: " \
    --state-dir "$LG_DIR/state-b"
# An older document of the installed key never replaces the newer one.
"$LICGATE_AUTHORITY" sign --key "$LICGATE_DEV_KEY" --key-id "$KEY" --customer "Offline Test" \
    --seats 20 --issued-days-ago 3 >"$LG_DIR/older.lic" || lg_fail "sign the older license"
refused "$a" "$LG_DIR/older.lic" "holds a newer license for $KEY"
# Not a license key: refused before anything is read from this machine.
"$LICGATE_AUTHORITY" sign --key "$LICGATE_DEV_KEY" --key-id LG-NOT-A-KEY --customer x --seats 10 \
    >"$LG_DIR/notkey.lic" || lg_fail "sign notkey"
refused "$a" "$LG_DIR/notkey.lic" "key-id 'LG-NOT-A-KEY' is not a license key"

# The installed license counts when openvpn starts on machine a.
lt_in_netns "$a"
lg_server srv udp "$LG_PORT" "plugin $LICGATE_PLUGIN config=$conf"
lg_wait_log "$LG_DIR/srv.log" "licenses loaded: limit 20 seats" 10 || lg_fail "the plugin did not count 20 seats"
lg_pass "offline request, vendor license, verified install; tampered, foreign and older licenses refused"
