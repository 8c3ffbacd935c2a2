#!/bin/bash
# replace: the old key's installation keeps getting its license (with the
# sunset) until the sunset, then not; the new key activates. Time is driven
# with the authority's clock seam (LICGATE_AUTHORITY_NOW), not sleeps.
. "$(dirname "$0")/test-authority-lib.sh"
ta_init

now=$(date +%s)
day=86400
K=$("$AUTH" issue --dir "$D" --customer "Mover Inc" --seats 20) || ta_fail "issue"
ta_serve LICGATE_AUTHORITY_NOW=$now
ta_request "$TA_DIR/a.json" "$K" inst-a a
r=$(ta_post /v1/activate "$TA_DIR/a.json")
case $r in "200 "*) ;; *) ta_fail "activate: $r" ;; esac
ta_license | grep -qx 'sunset: none' || ta_fail "sunset before replace"
ta_stop

NEW=$(LICGATE_AUTHORITY_NOW=$now "$AUTH" replace --dir "$D" "$K") || ta_fail "replace"
[ "$NEW" != "$K" ] || ta_fail "same key"
sunset=$(date -u -d "@$((now + 7 * day))" +%Y-%m-%dT%H:%M:%SZ)

# Six days later: the old installation refreshes and learns its sunset.
ta_serve LICGATE_AUTHORITY_NOW=$((now + 6 * day))
ta_request "$TA_DIR/a2.json" "$K" inst-a a
r=$(ta_post /v1/refresh "$TA_DIR/a2.json")
case $r in "200 "*) ;; *) ta_fail "refresh before sunset: $r" ;; esac
ta_license | grep -qx "sunset: $sunset" || ta_fail "no sunset in: $(ta_license)"
r=$(curl -s --cacert "$CA" "$URL/v1/keys/$K")
case $r in *'"state":"replaced"'*"\"sunset\":\"$sunset\""*) ;; *) ta_fail "status: $r" ;; esac
# The new key activates on the new machine meanwhile.
ta_request "$TA_DIR/n.json" "$NEW" inst-n b
r=$(ta_post /v1/activate "$TA_DIR/n.json")
case $r in "200 "*) ;; *) ta_fail "new key: $r" ;; esac
ta_stop

# At the sunset: the old key is refused, the new one renews.
ta_serve LICGATE_AUTHORITY_NOW=$((now + 7 * day))
ta_request "$TA_DIR/a3.json" "$K" inst-a a
r=$(ta_post /v1/refresh "$TA_DIR/a3.json")
case $r in '410 {"api":1,"ok":false,"code":"replaced"'*) ;; *) ta_fail "after sunset: $r" ;; esac
ta_request "$TA_DIR/n2.json" "$NEW" inst-n b
r=$(ta_post /v1/refresh "$TA_DIR/n2.json")
case $r in "200 "*) ;; *) ta_fail "new key after sunset: $r" ;; esac
ta_license | grep -qx 'sunset: none' || ta_fail "new key has a sunset"

# Replacement needs a valid support term (Q7, Q26).
out=$(LICGATE_AUTHORITY_NOW=$((now + 400 * day)) "$AUTH" replace --dir "$D" "$NEW" 2>&1) &&
    ta_fail "replace after support"
case $out in *"support term ended"*) ;; *) ta_fail "replace after support: $out" ;; esac
ta_pass "replace: old key until its sunset, then not"
