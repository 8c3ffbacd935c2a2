#!/bin/bash
# Killing serve (SIGKILL) in the middle of a burst of activations loses no
# ledger write: after a reopen every key is activated exactly when its audit
# row and its binding exist, every 200 answer is in the ledger, and
# PRAGMA integrity_check is ok. The kill lands once the first activation is
# committed, and must land before the last one is.
. "$(dirname "$0")/test-authority-lib.sh"
ta_init

N=60
for i in $(seq "$N"); do
    "$AUTH" issue --dir "$D" --customer "Burst $i" --seats 10 >>"$TA_DIR/keys" || ta_fail "issue"
done
i=0
while read -r k; do
    i=$((i + 1))
    ta_request "$TA_DIR/req.$i" "$k" "inst-$i" a
done <"$TA_DIR/keys"
ta_serve

q() { sqlite3 "$D/ledger.sqlite" "$1"; }
committed() { q "SELECT count(*) FROM keys WHERE state = 'activated'" 2>/dev/null || echo 0; }

for i in $(seq "$N"); do
    curl -s --cacert "$CA" -o "$TA_DIR/resp.$i" -w '%{http_code}' --max-time 10 \
        --data-binary "@$TA_DIR/req.$i" "$URL/v1/activate" >"$TA_DIR/code.$i" 2>/dev/null &
done
deadline=$((SECONDS + 10))
until [ "$(committed)" -gt 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] || ta_fail "no activation committed within 10 s of the burst"
    sleep 0.01
done
kill -KILL "$TA_PID"
wait "$TA_PID" 2>/dev/null
TA_PID=
wait

[ "$(q 'PRAGMA integrity_check')" = ok ] || ta_fail "integrity_check: $(q 'PRAGMA integrity_check')"
[ "$(q 'PRAGMA foreign_key_check')" = "" ] || ta_fail "foreign keys"
activated=$(q "SELECT count(*) FROM keys WHERE state = 'activated'")
audited=$(q "SELECT count(DISTINCT key) FROM audit WHERE what = 'activate'")
bound=$(q "SELECT count(DISTINCT key) FROM bindings WHERE active = 1")
[ "$activated" -gt 0 ] && [ "$activated" -lt "$N" ] ||
    ta_fail "the kill did not land mid-burst: $activated of $N activated"
[ "$activated" = "$audited" ] && [ "$activated" = "$bound" ] ||
    ta_fail "activated $activated, audited $audited, bound $bound"
orphans=$(q "SELECT count(*) FROM keys k WHERE (k.state = 'activated') <>
             EXISTS (SELECT 1 FROM audit a WHERE a.key = k.key AND a.what = 'activate')")
[ "$orphans" = 0 ] || ta_fail "$orphans keys whose state and audit disagree"
ok=0
for i in $(seq "$N"); do
    [ "$(cat "$TA_DIR/code.$i")" = 200 ] || continue
    ok=$((ok + 1))
    k=$(sed -n "${i}p" "$TA_DIR/keys")
    [ "$(q "SELECT state FROM keys WHERE key = '$k'")" = activated ] ||
        ta_fail "$k answered 200 but is not activated in the ledger"
done
# The ledger still works: the rest activate after a restart, each with a
# new request (a request is accepted once: the ones sent before the kill
# are replays now, refused).
ta_serve
for i in $(seq "$N"); do
    [ "$(cat "$TA_DIR/code.$i")" = 200 ] || continue
    r=$(ta_post /v1/activate "$TA_DIR/req.$i")
    case $r in '409 {"api":1,"ok":false,"code":"replayed"'*) ;; *) ta_fail "a request answered before the kill was accepted again: $r" ;; esac
    break
done
i=0
while read -r k; do
    i=$((i + 1))
    ta_request "$TA_DIR/again.$i" "$k" "inst-$i" a
    r=$(ta_post /v1/activate "$TA_DIR/again.$i")
    case $r in "200 "*) ;; *) ta_fail "after restart, request $i: $r" ;; esac
done <"$TA_DIR/keys"
[ "$(q "SELECT count(*) FROM keys WHERE state = 'activated'")" = "$N" ] || ta_fail "not all activated"
ta_pass "killed mid-burst: $ok answered, $activated committed before the kill, ledger consistent"
