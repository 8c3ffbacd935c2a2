#!/usr/bin/env bash
# A build without --with-authority-url (the test build) has no default
# authority: licgatectl activate KEY with neither --authority nor the
# config's authority says so in one line naming the config file, exits 1,
# and makes nothing and sends nothing; the offline request still works.
set -euo pipefail
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl (run through make check)}"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || { echo "SKIP: licgatectl has no activate" >&2; exit 77; }
"$LICGATE_CTL" --help | grep -q "else this build's: none)" ||
    { echo "SKIP: this licgatectl was built with --with-authority-url" >&2; exit 77; }

T=$(mktemp -d /tmp/lg-activate-no-authority.XXXXXX)
trap 'rm -rf "$T"' EXIT
printf 'pool noauth\n# authority https://licensing.example.com\n' >"$T/licgate.conf"
ctl() { "$LICGATE_CTL" --config "$T/licgate.conf" --license-dir "$T/licenses" --state-dir "$T/state" "$@"; }
fail() { echo "FAIL: activate-no-authority: $*" >&2; exit 1; }
KEY=LG-ABYQ-7YMY-WCH3-PRWH

# Proxy variables pointing at a port nobody listens on: had anything been
# sent, the error would name that instead.
start=$SECONDS
rc=0
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
    ctl activate "$KEY" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "exit $rc: $(cat "$T/err")"
[ "$(cat "$T/err")" = "licgatectl: no authority is configured: set 'authority https://...' in $T/licgate.conf, give --authority URL, or activate offline (licgatectl activate --offline-request KEY)" ] ||
    fail "message: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "output on stdout: $(cat "$T/out")"
[ ! -e "$T/state" ] && [ ! -e "$T/licenses" ] || fail "something was made: $(ls -A "$T")"
[ $((SECONDS - start)) -le 2 ] || fail "took $((SECONDS - start)) s: did it try the network?"

# Offline activation needs no authority.
ctl activate --offline-request "$KEY" >"$T/request.txt" 2>"$T/err" || fail "offline request: $(cat "$T/err")"
[ "$(head -n 1 "$T/request.txt")" = "-----BEGIN LICGATE ACTIVATION REQUEST-----" ] || fail "no request"
echo "PASS: activate-no-authority: one line naming the config, exit 1, nothing made or sent"
