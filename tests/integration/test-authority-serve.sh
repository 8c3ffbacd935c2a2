#!/bin/bash
# licgate-authority serve: activation over HTTPS (test CA, curl), the
# refusals of docs/activation-api.md, body cap, status endpoint, lifecycle
# refusals after activation, and the offline round trip.
. "$(dirname "$0")/test-authority-lib.sh"
ta_init

K=$("$AUTH" issue --dir "$D" --customer "Example Corp" --seats 10) || ta_fail "issue"
ta_serve

ta_request "$TA_DIR/a.json" "$K" inst-a a
r=$(ta_post /v1/activate "$TA_DIR/a.json")
case $r in "200 {\"api\":1,\"ok\":true,\"license\":\"-----BEGIN LICGATE LICENSE-----"*) ;;
*) ta_fail "activate: $r" ;; esac
lic=$(ta_license)
grep -q "^key-id: $K\$" <<<"$lic" || ta_fail "license key-id: $lic"
grep -q '^installation-id: [0-9a-f]\{32\}$' <<<"$lic" || ta_fail "license installation-id"
grep -q '^binding: all-but-1 machine-id=a\{64\} nic=e\{64\}$' <<<"$lic" || ta_fail "binding: $lic"
grep -q '^lease-not-after: 20' <<<"$lic" || ta_fail "no lease"

# The same installation asks again: its license again.
ta_request "$TA_DIR/a2.json" "$K" inst-a a
r=$(ta_post /v1/refresh "$TA_DIR/a2.json")
case $r in "200 "*'"ok":true'*) ;; *) ta_fail "refresh: $r" ;; esac

# Another installation, even on the same machine: refused with the FAQ's words.
ta_request "$TA_DIR/b.json" "$K" inst-b a
r=$(ta_post /v1/activate "$TA_DIR/b.json")
[ "$r" = '409 {"api":1,"ok":false,"code":"already-activated","error":"License error: machine properties validation failed: verify fail: key already activated on another machine"}' ] ||
    ta_fail "second installation: $r"

# Status of a key, typed in lower case.
r=$(curl -s --cacert "$CA" "$URL/v1/keys/$(tr 'A-Z' 'a-z' <<<"$K")")
case $r in *"\"key\":\"$K\",\"state\":\"activated\",\"support_until\":\"20"*'"sunset":null}') ;;
*) ta_fail "status: $r" ;; esac

# Refusals.
ta_request "$TA_DIR/u.json" "LG-0000-0000-0000-0000" inst-a a
r=$(ta_post /v1/activate "$TA_DIR/u.json")
[ "$r" = '404 {"api":1,"ok":false,"code":"unknown-key","error":"license key unknown"}' ] ||
    ta_fail "unknown key: $r"
printf '{"api":1}' >"$TA_DIR/m.json"
r=$(ta_post /v1/activate "$TA_DIR/m.json")
case $r in '400 {"api":1,"ok":false,"code":"bad-request","error":"request: missing field'*) ;;
*) ta_fail "missing fields: $r" ;; esac
sed 's/"nonce":"\(.\)/"nonce":"0\1/; s/"nonce":"0\(.\{31\}\)./"nonce":"0\1/' "$TA_DIR/a.json" >"$TA_DIR/t.json"
r=$(ta_post /v1/activate "$TA_DIR/t.json")
case $r in '400 '*'bad signature'*) ;; *) ta_fail "tampered: $r" ;; esac
head -c 17000 /dev/zero | tr '\0' ' ' >"$TA_DIR/big.json"
r=$(ta_post /v1/activate "$TA_DIR/big.json")
case $r in '413 '*) ;; *) ta_fail "oversized: $r" ;; esac
r=$(head -c 17000 /dev/zero | tr '\0' ' ' | curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' --data-binary @- "$URL/v1/activate")
[ "$r" = 413 ] || ta_fail "oversized chunked: $r"
r=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/v1/activate")
[ "$r" = 405 ] || ta_fail "GET activate: $r"
# Without the test CA, TLS verification fails.
curl -s -o /dev/null "$URL/v1/keys/$K" && ta_fail "TLS verified without the CA"

# Lifecycle refusals once activated (Q8, Q14).
out=$("$AUTH" refund --dir "$D" "$K" 2>&1) && ta_fail "refund of an activated key"
case $out in *"only a never-activated key can be refunded (Q8)"*) ;; *) ta_fail "refund: $out" ;; esac
out=$("$AUTH" split --dir "$D" "$K" 5 5 2>&1) && ta_fail "split below 10"
out=$("$AUTH" split --dir "$D" "$K" 10 10 2>&1) && ta_fail "split of an activated key"
case $out in *"only a never-activated key can be split (Q14)"*) ;; *) ta_fail "split: $out" ;; esac
typo=${K%?}$( [ "${K: -1}" = 1 ] && echo 2 || echo 1)
out=$("$AUTH" show --dir "$D" "$typo" 2>&1) && ta_fail "typo accepted"
[ "$out" = "licgate-authority: '$typo': not a valid key (check character mismatch: a typo?)" ] ||
    ta_fail "typo message: $out"
rc=0
out=$("$AUTH" list --dir "$D" --years 2 2>&1) || rc=$?
[ $rc -eq 2 ] && [ "$(head -n 1 <<<"$out")" = "licgate-authority: list: option '--years' does not apply" ] ||
    ta_fail "an option of another command: exit $rc, $out"

# Offline: the same rules on an armored request file.
K2=$("$AUTH" issue --dir "$D" --customer "Offline Ltd" --seats 12 --rule machine-id-only) ||
    ta_fail "issue 2"
ta_request "$TA_DIR/o.txt" "$K2" inst-c c --offline
head -1 "$TA_DIR/o.txt" | grep -qx -- '-----BEGIN LICGATE ACTIVATION REQUEST-----' ||
    ta_fail "armor"
"$AUTH" activate-offline --dir "$D" "$TA_DIR/o.txt" >"$TA_DIR/o.lic" 2>/dev/null ||
    ta_fail "activate-offline"
grep -q "^binding: machine-id-only machine-id=c\{64\}" "$TA_DIR/o.lic" || ta_fail "offline license"
ta_request "$TA_DIR/o2.txt" "$K2" inst-d c --offline
out=$("$AUTH" activate-offline --dir "$D" "$TA_DIR/o2.txt" 2>&1) && ta_fail "offline twice"
case $out in *"key already activated on another machine") ;; *) ta_fail "offline: $out" ;; esac

# An offline license holds to the end of support: the server cannot renew it.
support=$(sed -n 's/^support-until: //p' "$TA_DIR/o.lic")
grep -qx "lease-not-after: $support" "$TA_DIR/o.lic" || ta_fail "offline lease: $(cat "$TA_DIR/o.lic")"
# --out: a refused request leaves no file; a granted one is written whole; an
# unwritable --out is refused before the request is spent.
out=$("$AUTH" activate-offline --dir "$D" --out /nonexistent/x.lic "$TA_DIR/o.txt" 2>&1) &&
    ta_fail "--out into a missing directory"
[ "$out" = "licgate-authority: --out /nonexistent/x.lic: cannot write in /nonexistent: No such file or directory" ] ||
    ta_fail "--out missing directory: $out"
ta_request "$TA_DIR/o3.txt" "$K2" inst-d c --offline
out=$("$AUTH" activate-offline --dir "$D" --out "$TA_DIR/o3.lic" "$TA_DIR/o3.txt" 2>&1) &&
    ta_fail "offline on another installation"
[ -e "$TA_DIR/o3.lic" ] && ta_fail "--out left a file for a refused request"
K3=$("$AUTH" issue --dir "$D" --customer "Offline Ltd" --seats 10) || ta_fail "issue 3"
ta_request "$TA_DIR/o4.txt" "$K3" inst-d d --offline
(cd "$TA_DIR" && "$AUTH" activate-offline --dir "$D" --lease-days 90 --out o4.lic o4.txt) \
    2>/dev/null || ta_fail "activate-offline --out (a relative path)"
[ "$(tail -n 1 "$TA_DIR/o4.lic")" = "-----END LICGATE LICENSE-----" ] || ta_fail "--out: not whole"
lease=$(sed -n 's/^lease-not-after: //p' "$TA_DIR/o4.lic")
[ "$(date -u -d "$lease" +%s)" -gt $(($(date +%s) + 89 * 86400)) ] &&
    [ "$(date -u -d "$lease" +%s)" -le $(($(date +%s) + 90 * 86400)) ] ||
    ta_fail "--lease-days 90: lease $lease"

# show names a split key's children, and the parent on each child.
K4=$("$AUTH" issue --dir "$D" --customer "Split Co" --seats 20) || ta_fail "issue 4"
parts=$("$AUTH" split --dir "$D" "$K4" 10 10) || ta_fail "split"
c1=$(head -n 1 <<<"$parts") c2=$(tail -n 1 <<<"$parts")
"$AUTH" show --dir "$D" "$K4" | grep -qx "children:        $c1, $c2" ||
    ta_fail "children: $("$AUTH" show --dir "$D" "$K4")"
"$AUTH" show --dir "$D" "$c2" | grep -qx "origin:          $K4" || ta_fail "origin on a child"
[ "$("$AUTH" show --dir "$D" --json "$K4" | tr -d ' \n' | grep -o '"children":\[[^]]*\]')" = "\"children\":[\"$c1\",\"$c2\"]" ] ||
    ta_fail "children in JSON: $("$AUTH" show --dir "$D" --json "$K4")"

# serve on a busy port names the address and the cause; a bad certificate says so.
port=${URL##*:}
out=$("$AUTH" serve --dir "$D" --listen "127.0.0.1:$port" --cert "$TA_DIR/pki/server.pem" \
    --key "$TA_DIR/pki/server.key" 2>&1) && ta_fail "serve on a busy port"
[ "$out" = "licgate-authority: cannot listen on 127.0.0.1:$port: Address already in use (another process listens on that port)" ] ||
    ta_fail "busy port: $out"
out=$("$AUTH" serve --dir "$D" --listen 127.0.0.1:0 --cert "$TA_DIR/pki/server.key" \
    --key "$TA_DIR/pki/server.key" 2>&1) && ta_fail "serve with a key for a certificate"
case $out in *"cannot serve on 127.0.0.1:0: the certificate $TA_DIR/pki/server.key and key"*"do not load"*) ;;
*) ta_fail "bad certificate: $out" ;; esac

[ "$(sqlite3 "$D/ledger.sqlite" 'PRAGMA integrity_check')" = ok ] || ta_fail "integrity"

# The directory is the service user's: root is refused rather than leaving it
# files (a -wal, a -shm) that would lock the owner out; the owner may. The
# owner is nobody, who must be able to run the program: not from below a
# private (0700) directory, as in a package build.
owner="directory owner"
owner_skip=
if [ "$(id -u)" -ne 0 ] || ! getent passwd nobody >/dev/null; then
    owner_skip="not root, or no user nobody"
elif ! runuser -u nobody -- test -x "$AUTH"; then
    owner_skip="nobody cannot execute $AUTH (a directory on its path is private)"
fi
if [ -n "$owner_skip" ]; then
    echo "SKIP: $owner: $owner_skip"
    owner="$owner skipped"
else
    ta_stop
    chown -R nobody "$D"
    chmod 0711 "$TA_DIR"
    before=$(ls -la "$D")
    out=$("$AUTH" list --dir "$D" 2>&1) && ta_fail "root used a directory that belongs to nobody"
    [ "$out" = "licgate-authority: $D belongs to nobody: run licgate-authority as that user (runuser -u nobody -- licgate-authority ...), or files made now would lock it out" ] ||
        ta_fail "owner refusal: $out"
    [ "$(ls -la "$D")" = "$before" ] || ta_fail "the refused command changed the directory"
    runuser -u nobody -- "$AUTH" list --dir "$D" | grep -q "Offline Ltd" || ta_fail "the owner cannot list"
fi
ta_pass "serve: activation, refusals, cap, offline, $owner"
