#!/usr/bin/env bash
# Expiry warnings: a license whose support ends within 30 days, or whose lease
# ends within 7, is warned about in licgatectl status always and in the
# openvpn log once a day; a license far from its end is not.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init expiry-warnings

now=$(date +%s)
soon=$(date -u -d "@$((now + 5 * 86400 + 3600))" +%Y-%m-%dT%H:%M:%SZ)
lease=$(date -u -d "@$((now + 3 * 86400 + 3600))" +%Y-%m-%dT%H:%M:%SZ)
lt_license soon.lic --key-id LG-SOON-0001 --seats 2 --support-until "$soon" --no-lease
lt_license lease.lic --key-id LG-LEASE-0001 --seats 2 --lease-not-after "$lease"
lt_license fine.lic --key-id LG-FINE-0001 --seats 2
lg_server srv udp "$LG_PORT" "$(lt_plugin)"

warnings=$(lt_ctl --json status | lt_json '"\n".join(j["warnings"])')
grep -q "license 'soon.lic' (key LG-SOON-0001): support ends in 5 days ($soon)" <<<"$warnings" ||
    lg_fail "no support warning in status: $warnings"
grep -q "license 'lease.lic' (key LG-LEASE-0001): lease ends in 3 days ($lease): run licgatectl refresh" <<<"$warnings" ||
    lg_fail "no lease warning in status: $warnings"
grep -q "LG-FINE-0001" <<<"$warnings" && lg_fail "a license far from its end is warned about"
lt_ctl status | grep -q "^warning: license 'soon.lic'" || lg_fail "human status lacks the warning"

# The log gets them from the maintenance thread (handed over at the next hook).
lg_client c1 udp "$LG_PORT" client1
lg_wait_connected c1 30 || lg_fail "client did not connect"
lg_client c2 udp "$LG_PORT" client2
lg_wait_connected c2 30 || lg_fail "client did not connect"
[ "$(lg_count_log "$LG_DIR/srv.log" "licgate: license 'soon.lic' \(key LG-SOON-0001\): support ends in 5 days")" -eq 1 ] ||
    lg_fail "the support warning is not in the log exactly once"
[ "$(lg_count_log "$LG_DIR/srv.log" "licgate: license 'lease.lic' \(key LG-LEASE-0001\): lease ends in 3 days")" -eq 1 ] ||
    lg_fail "the lease warning is not in the log exactly once"
lg_pass "expiry warnings in status and, once a day, in the log"
