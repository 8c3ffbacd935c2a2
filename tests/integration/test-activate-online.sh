#!/usr/bin/env bash
# Online activation against a real `licgate-authority serve` (TLS with a test
# CA) in a network namespace of its own: activate installs the license and
# reloads the running openvpn (limit 10), the limit survives a restart and
# admits more than the evaluation seats, and status names the lease's end as
# the next change of the limit; the same key from a second namespace
# with other link addresses (another machine, another installation) is
# refused with the exact line; refresh says what it did in one line per key
# (renewed, re-bound after the link address changed, a replaced key's
# sunset), nothing with --quiet, and a refusal or the authority gone in one
# line on stderr, leaving the license untouched.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
"$LICGATE_AUTHORITY" --help 2>&1 | grep -q ' serve ' || _lg_skip "licgate-authority has no serve yet"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || _lg_skip "licgatectl has no activate"
command -v openssl >/dev/null || _lg_skip "no openssl"
lt_init activate-online

# Two machines: namespaces joined by a veth pair, each end with its own address.
a="lgoa$$" b="lgob$$"
lt_netns "$a"
lt_netns "$b"
ip link add "lgoa$$" address 02:00:5e:60:00:01 type veth peer name "lgob$$" address 02:00:5e:70:00:01
ip link set "lgoa$$" netns "$a"
ip link set "lgob$$" netns "$b"
ip -n "$a" addr add 192.0.2.1/24 dev "lgoa$$"
ip -n "$b" addr add 192.0.2.2/24 dev "lgob$$"
ip -n "$a" link set "lgoa$$" up
ip -n "$b" link set "lgob$$" up

# The authority on machine a: the development issuer key (this build trusts
# it), a test CA in LT_CA.
LT_A=$a lt_authority_serve
A=$LT_AUTH URL=$LT_URL
KEY=$("$LICGATE_AUTHORITY" issue --dir "$A" --customer "Online Test" --seats 10 --rule all) ||
    lg_fail "authority issue"

# openvpn with the plugin on machine a, no license yet: evaluation.
lt_in_netns "$a"
line=$(lt_plugin)
conf=${line##*config=}
lg_server srv udp "$LG_PORT" "$line"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/srv.log" || lg_fail "not in evaluation mode"

ctl_a() { ip netns exec "$a" "$LICGATE_CTL" --config "$conf" "$@"; }
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$KEY" \
    >"$LG_DIR/act.out" 2>"$LG_DIR/act.err" || lg_fail "activate failed: $(cat "$LG_DIR/act.err")"
grep -q "^activated $KEY: 10 seats for Online Test" "$LG_DIR/act.out" || lg_fail "activate said: $(cat "$LG_DIR/act.out")"
[ -f "$LT_LICENSES/$KEY.lic" ] || lg_fail "no $KEY.lic in the license dir"
[ "$(stat -c %a "$LT_LICENSES/$KEY.lic")" = 644 ] || lg_fail "license file mode"
[ "$(stat -c %a "$LG_DIR/state/installation.key")" = 600 ] || lg_fail "installation.key mode"
grep -q "^installation-id: [0-9a-f]\{32\}$" "$LT_LICENSES/$KEY.lic" || lg_fail "license lacks the installation id"
grep -q "^binding: all+virtual machine-id=" "$LT_LICENSES/$KEY.lic" || lg_fail "license lacks the +virtual binding"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "reload did not bring the limit to 10"
# status names the day the limit falls back: the lease's end, 30 days out.
lease=$(sed -n 's/^lease-not-after: //p' "$LT_LICENSES/$KEY.lic")
[ "$(lt_ctl --json status | lt_json 'j["next_change"]["at"], j["next_change"]["limit"]')" = "('$lease', 2)" ] ||
    lg_fail "next_change: $(lt_ctl --json status | lt_json 'j["next_change"]')"
lt_ctl status | grep -qx "next change: $lease: limit 10 -> 2 seats" || lg_fail "status: $(lt_ctl status)"

# Restart openvpn: the installed license counts from the start, 3 > 2 clients get in.
lg_restart srv
lg_wait_log "$LG_DIR/srv.log" "licenses loaded: limit 10 seats" 10 || lg_fail "restart did not load 10 seats"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "limit after restart"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 c1 c2 c3 || lg_fail "3 clients did not get in with 10 seats"

# The same key from machine b (other link addresses, its own installation): refused.
rc=0
ip netns exec "$b" "$LICGATE_CTL" --config "$conf" --license-dir "$LG_DIR/licenses-b" \
    --state-dir "$LG_DIR/state-b" activate --rule-virtual --authority "$URL" \
    --ca-file "$LT_CA" "$KEY" >"$LG_DIR/b.out" 2>"$LG_DIR/b.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "second machine: exit $rc"
[ "$(cat "$LG_DIR/b.err")" = "licgatectl: License error: machine properties validation failed: verify fail: key already activated on another machine" ] ||
    lg_fail "second machine said: $(cat "$LG_DIR/b.err")"
[ -z "$(ls -A "$LG_DIR/licenses-b" 2>/dev/null)" ] || lg_fail "second machine installed something"

# Activating again from a is idempotent; refresh renews and keeps 10 seats.
ctl_a activate --rule-virtual --authority "$URL" --ca-file "$LT_CA" "$KEY" >/dev/null 2>&1 ||
    lg_fail "activating again from the same installation failed"
grep -q "^$KEY $URL +virtual$" "$LG_DIR/state/authorities" || lg_fail "authority not recorded: $(cat "$LG_DIR/state/authorities")"
when='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
refresh_ok() {   # refresh_ok WHAT-PATTERN: one line for the key, then the reload's
    ctl_a refresh --ca-file "$LT_CA" >"$LG_DIR/refresh.out" 2>"$LG_DIR/refresh.err" ||
        lg_fail "refresh failed: $(cat "$LG_DIR/refresh.err")"
    [ ! -s "$LG_DIR/refresh.err" ] || lg_fail "refresh wrote to stderr: $(cat "$LG_DIR/refresh.err")"
    [ "$(wc -l <"$LG_DIR/refresh.out")" -eq 2 ] || lg_fail "refresh said: $(cat "$LG_DIR/refresh.out")"
    head -n 1 "$LG_DIR/refresh.out" | grep -q "^$KEY: $1$" ||
        lg_fail "refresh said: $(head -n 1 "$LG_DIR/refresh.out"), not '$KEY: $1'"
    [ "$(tail -n 1 "$LG_DIR/refresh.out")" = "reloaded: limit 10 seats (1 of 1 license file counts)" ] ||
        lg_fail "refresh's reload said: $(tail -n 1 "$LG_DIR/refresh.out")"
}
sleep 1 # a new second: the authority's license differs from the one installed
refresh_ok "renewed, lease until $when"
out=$(ctl_a refresh --quiet --ca-file "$LT_CA" 2>&1) || lg_fail "refresh --quiet failed: $out"
[ -z "$out" ] || lg_fail "refresh --quiet was not quiet: $out"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "limit after refresh"

# New hardware (the link's address): the license no longer matches, refresh re-binds it.
binding=$(grep '^binding: ' "$LT_LICENSES/$KEY.lic")
ip -n "$a" link set "lgoa$$" address 02:00:5e:60:00:02
refresh_ok "re-bound to this machine's changed hardware, lease until $when"
[ "$(grep '^binding: ' "$LT_LICENSES/$KEY.lic")" != "$binding" ] || lg_fail "re-bound, but the binding is the same"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "limit after re-binding"

# The key replaced: its license learns the sunset; then a changed machine is refused.
"$LICGATE_AUTHORITY" replace --dir "$A" "$KEY" >/dev/null || lg_fail "authority replace"
refresh_ok "renewed, lease until $when, sunset $when"
sum=$(sha256sum <"$LT_LICENSES/$KEY.lic")
ip -n "$a" link set "lgoa$$" address 02:00:5e:60:00:03
rc=0
ctl_a refresh --ca-file "$LT_CA" >"$LG_DIR/r.out" 2>"$LG_DIR/r.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "refresh of a replaced key on a changed machine: exit $rc"
[ ! -s "$LG_DIR/r.out" ] || lg_fail "a refused refresh wrote to stdout: $(cat "$LG_DIR/r.out")"
[ "$(wc -l <"$LG_DIR/r.err")" -eq 1 ] &&
    grep -q "^licgatectl: $KEY: refused: license key replaced by LG-[0-9A-Z-]*: the machine changed, activate the new key (the installed license is kept)$" "$LG_DIR/r.err" ||
    lg_fail "a refused refresh said: $(cat "$LG_DIR/r.err")"
[ "$(sha256sum <"$LT_LICENSES/$KEY.lic")" = "$sum" ] || lg_fail "a refused refresh changed the license"
ip -n "$a" link set "lgoa$$" address 02:00:5e:60:00:02

# The authority gone: refresh fails in one line, the license stays as it was.
sum=$(sha256sum <"$LT_LICENSES/$KEY.lic")
kill "$LT_SERVE_PID"
wait "$LT_SERVE_PID" 2>/dev/null || true
LT_SERVE_PID=
rc=0
ctl_a refresh --ca-file "$LT_CA" --timeout 3 >"$LG_DIR/r.out" 2>"$LG_DIR/r.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "refresh without authority: exit $rc"
grep -q "^licgatectl: $KEY: not renewed: connection refused by 192.0.2.1:$LG_PORT (the installed license is kept)$" "$LG_DIR/r.err" ||
    lg_fail "refresh without authority said: $(cat "$LG_DIR/r.err")"
[ "$(sha256sum <"$LT_LICENSES/$KEY.lic")" = "$sum" ] || lg_fail "a failed refresh changed the license"
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 10 ] || lg_fail "limit after a failed refresh"
lg_pass "activated online, 10 seats after restart, refused on another machine; refresh renews, re-binds, reports a refusal and keeps the license"
