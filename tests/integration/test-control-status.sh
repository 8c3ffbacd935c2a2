#!/usr/bin/env bash
# licgatectl against a real server: status and sessions match the connected
# clients exactly; reload after adding a license raises the limit and a
# waiting client gets in; reload after removing one drops no tunnel.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-status

lt_license two.lic --key-id LG-TWO-0001 --seats 2
plugin_line=$(lt_plugin)
lg_server srv udp "$LG_PORT" "$plugin_line"
clients=(c1 c2 c3 c4)
for i in 1 2 3 4; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 "${clients[@]}" || lg_fail "2 clients did not connect"

status=$(lt_ctl --json status) || lg_fail "licgatectl status failed"
[ "$(lt_json 'j["in_use"]' <<<"$status")" = 2 ] || lg_fail "status in_use is not 2: $status"
[ "$(lt_json 'j["limit"]' <<<"$status")" = 2 ] || lg_fail "status limit is not 2"
[ "$(lt_json 'j["evaluation"]' <<<"$status")" = false ] || lg_fail "status says evaluation"
[ "$(lt_json 'j["served_by"]' <<<"$status")" = "$(cat "$LG_DIR/srv.pid")" ] ||
    lg_fail "status is not served by the server's pid"
[ "$(lt_json '[p["in_use"] for p in j["processes"]]' <<<"$status")" = "[2]" ] ||
    lg_fail "per-process counts are wrong"

want=$(for c in "${clients[@]}"; do if lg_connected "$c"; then lt_cn "$c"; fi; done | sort | tr "\n" " ")
got=$(lt_ctl --json sessions | lt_json '" ".join(sorted(s["cn"] for s in j["sessions"]))')
[ "$got " = "$want" ] || lg_fail "sessions '$got' != connected '$want'"
lt_ctl sessions | grep -q "^CN " || lg_fail "no sessions table header"
# Without --pool or --socket, licgatectl asks the socket the plugin's config names.
"$LICGATE_CTL" --config "${plugin_line##*config=}" status | grep -q "2/2" ||
    lg_fail "licgatectl --config status did not reach the pool of the config"
for cn in $want; do
    lt_ctl sessions | grep -q "^$cn " || lg_fail "human sessions table lacks $cn"
done
lt_ctl status | grep -q "2/2" || lg_fail "human status lacks 2/2"
lt_ctl licenses | grep -q "LG-TWO-0001" || lg_fail "licenses table lacks the key"
lt_ctl metrics | grep -qx "licgate_seats_in_use{pool=\"$LT_POOL\"} 2" || lg_fail "metrics lack seats in use"
lt_ctl version | grep -q "0\.1\.0" || lg_fail "version"

# Errors: one line on stderr, exit 1 for failures and 2 for usage.
set +e
out=$("$LICGATE_CTL" --pool "nosuch$$" status 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
    grep -Eq "no control socket at /run/licgate/nosuch$$/control.sock, but openvpn \(pid [0-9]+\) runs the licgate plugin" <<<"$out" ||
    lg_fail "missing socket: exit $rc, '$out'"
set +e
out=$("$LICGATE_CTL" frobnicate 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" <<<"$out" || lg_fail "usage error: exit $rc, '$out'"

# A 3-seat license arrives: reload, and the waiting clients get in.
lt_license three.lic --key-id LG-THREE-0001 --seats 3
reload=$(lt_ctl --json reload) || lg_fail "reload failed"
[ "$(lt_json 'j["limit"]' <<<"$reload")" = 5 ] || lg_fail "reload did not raise the limit: $reload"
lt_wait_count 4 60 "${clients[@]}" || lg_fail "the waiting clients did not get in after reload"
[ "$(lt_ctl --json status | lt_json 'j["in_use"]')" = 4 ] || lg_fail "in_use is not 4"

# The 2-seat license goes away: limit 3 with 4 live, nobody is dropped.
rm -f "$LT_LICENSES/two.lic"
[ "$(lt_ctl --json reload | lt_json 'j["limit"]')" = 3 ] || lg_fail "reload did not lower the limit"
lg_sleep 4
[ "$(lt_connected "${clients[@]}" | wc -l)" -eq 4 ] || lg_fail "a tunnel dropped after a lower limit"
[ "$(lt_ctl --json status | lt_json 'j["in_use"]')" = 4 ] || lg_fail "in_use changed after reload"
lg_client c5 udp "$LG_PORT" client5
lt_wait_refused "$LG_DIR/srv.log" 30 client5 || lg_fail "a fifth client was not refused"
grep -q "refused cn='client5' .*limit reached (4/3 seats)" "$LG_DIR/srv.log" ||
    lg_fail "refusal does not show 4/3"

# The license directory vanishes (an unmounted volume): the reload fails and
# the licenses in force stay.
mv "$LT_LICENSES" "$LT_LICENSES.away"
rc=0
out=$(lt_ctl reload 2>&1) || rc=$?
[ $rc -eq 1 ] || lg_fail "reload of a missing license-dir: exit $rc, $out"
grep -q "No such file or directory" <<<"$out" || lg_fail "reload error: $out"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 3 ] || lg_fail "a failed reload changed the limit"
lg_client c6 udp "$LG_PORT" client6
lt_wait_refused "$LG_DIR/srv.log" 30 client6 || lg_fail "a sixth client was not refused"
grep -q "licgate: reload failed, previous licenses stay in force: license-dir $LT_LICENSES: No such file or directory" \
    "$LG_DIR/srv.log" || lg_fail "no log line for the failed reload"
mv "$LT_LICENSES.away" "$LT_LICENSES"
lg_pass "status and sessions match; reload raises and lowers the limit without drops, keeps it when the directory is gone"
