#!/bin/bash
# A request is accepted once, and only while it is fresh. Machine A's old
# request replayed after A moved to new hardware (a re-binding) is refused
# and changes nothing; so is an offline request file turned in twice; a
# request from the future, an online one from the past, an offline one
# older than 30 days are refused as stale, with a clear message.
. "$(dirname "$0")/test-authority-lib.sh"
ta_init

K=$("$AUTH" issue --dir "$D" --customer "Replay Corp" --seats 10) || ta_fail "issue"
ta_serve
ta_request "$TA_DIR/a1.json" "$K" inst-a a
r=$(ta_post /v1/activate "$TA_DIR/a1.json")
case $r in "200 "*) ;; *) ta_fail "activate: $r" ;; esac
# the machine changes: its next refresh re-binds the key
ta_request "$TA_DIR/a2.json" "$K" inst-a b
r=$(ta_post /v1/refresh "$TA_DIR/a2.json")
case $r in "200 "*) ;; *) ta_fail "re-bind: $r" ;; esac

dump() { sqlite3 "$D/ledger.sqlite" "SELECT * FROM keys; SELECT * FROM bindings; SELECT id, what FROM audit;"; }
before=$(dump)
for path in /v1/refresh /v1/activate; do
    r=$(ta_post "$path" "$TA_DIR/a1.json")
    case $r in '409 {"api":1,"ok":false,"code":"replayed","error":"this request was already used ('*'): requests are accepted once; make a new one"}') ;;
    *) ta_fail "a replayed request on $path: $r" ;; esac
done
[ "$(dump)" = "$before" ] || ta_fail "a replayed request changed the ledger"

# Stale requests: ahead of the clock, and more than 10 minutes old online.
ahead=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
late=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
ta_request "$TA_DIR/f.json" "$K" inst-a b --time "$ahead"
r=$(ta_post /v1/refresh "$TA_DIR/f.json")
case $r in '400 {"api":1,"ok":false,"code":"stale-request","error":"request made at '"$ahead"', ahead of the authority'*) ;;
*) ta_fail "a request from the future: $r" ;; esac
ta_request "$TA_DIR/p.json" "$K" inst-a b --time "$late"
r=$(ta_post /v1/refresh "$TA_DIR/p.json")
case $r in '400 {"api":1,"ok":false,"code":"stale-request"'*"more than 10 minutes before"*) ;;
*) ta_fail "an old online request: $r" ;; esac
[ "$(dump)" = "$before" ] || ta_fail "a stale request changed the ledger"
ta_stop

# Offline: the file is accepted once, for 30 days.
K2=$("$AUTH" issue --dir "$D" --customer "Offline Replay" --seats 10) || ta_fail "issue 2"
ta_request "$TA_DIR/o.txt" "$K2" inst-c c --offline
"$AUTH" activate-offline --dir "$D" "$TA_DIR/o.txt" >"$TA_DIR/o.lic" 2>/dev/null || ta_fail "activate-offline"
before=$(dump)
out=$("$AUTH" activate-offline --dir "$D" "$TA_DIR/o.txt" 2>&1) && ta_fail "the same request file twice"
case $out in *"this request was already used"*) ;; *) ta_fail "offline replay: $out" ;; esac
ta_request "$TA_DIR/old.txt" "$K2" inst-c c --offline --time "$(date -u -d '-31 days' +%Y-%m-%dT%H:%M:%SZ)"
out=$("$AUTH" activate-offline --dir "$D" "$TA_DIR/old.txt" 2>&1) && ta_fail "a 31-day-old request file"
case $out in *"more than 30 days ago: make a new one"*) ;; *) ta_fail "old offline request: $out" ;; esac
ta_request "$TA_DIR/week.txt" "$K2" inst-c c --offline --time "$(date -u -d '-20 days' +%Y-%m-%dT%H:%M:%SZ)"
"$AUTH" activate-offline --dir "$D" "$TA_DIR/week.txt" >/dev/null 2>&1 || ta_fail "a 20-day-old request file was refused"
ta_pass "replays refused without a ledger change; stale requests refused; offline files accepted for 30 days, once"
