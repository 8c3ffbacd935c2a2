#!/usr/bin/env bash
# reason-to-client=yes on a server with auth-user-pass: the refusal reaches
# the client as AUTH_FAILED,TEMP with the reason, the client logs it and
# retries instead of exiting, and gets in when a seat frees up.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init reason-to-client

lt_license two.lic --seats 2
printf 'someone\nsecret\n' >"$LG_DIR/credentials"
chmod 0600 "$LG_DIR/credentials"
lg_server srv udp "$LG_PORT" "$(lt_plugin reason-to-client=yes)"
for i in 1 2 3; do
    lg_client "c$i" udp "$LG_PORT" "client$i" "auth-user-pass $LG_DIR/credentials" "auth-retry none"
done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 clients did not connect"
for c in c1 c2 c3; do lg_connected "$c" || waiting=$c; done
lg_wait_log "$LG_DIR/$waiting.log" \
    "AUTH: Received control message: AUTH_FAILED,TEMP\[backoff [0-9]+\]: licgate: limit reached \(2/2 seats\)" 30 ||
    lg_fail "the refused client did not log the reason"
lg_wait_log "$LG_DIR/$waiting.log" "SIGUSR1\[soft,auth-temp-failure" 10 ||
    lg_fail "the refused client did not treat the refusal as temporary"
lg_alive "$waiting" || lg_fail "the refused client exited (auth-retry none) instead of retrying"

# A seat frees up: the waiting client gets in on its own.
for c in c1 c2 c3; do [ "$c" != "$waiting" ] && { lg_stop "$c"; break; }; done
lg_wait_connected "$waiting" 60 || lg_fail "the waiting client did not get the free seat"
lg_pass "the client logged the reason, backed off and got in later"
