#!/usr/bin/env bash
# licgatectl activate names a DNS failure in one line before anything is
# installed, for --authority and for the compiled-in default (a .invalid name
# never resolves, RFC 6761); a mistyped key is caught before any network.
set -euo pipefail
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl (run through make check)}"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || { echo "SKIP: licgatectl has no activate" >&2; exit 77; }

T=$(mktemp -d /tmp/lg-activate-dns.XXXXXX)
trap 'rm -rf "$T"' EXIT
: >"$T/licgate.conf"
ctl() { "$LICGATE_CTL" --config "$T/licgate.conf" --license-dir "$T/licenses" --state-dir "$T/state" "$@"; }
fail() { echo "FAIL: activate-dns: $*" >&2; exit 1; }
KEY=LG-ABYQ-7YMY-WCH3-PRWH   # check character valid

# A typo: caught locally, nothing created, no network.
rc=0; ctl activate LG-ABYQ-7YMY-WCH3-PRWX --authority https://licgate.invalid >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "typo: exit $rc"
[ "$(cat "$T/err")" = "licgatectl: license key 'LG-ABYQ-7YMY-WCH3-PRWX': not a valid key (check character mismatch: a typo?)" ] ||
    fail "typo message: $(cat "$T/err")"
[ ! -e "$T/state" ] || fail "a typo created state"

for authority in https://licgate.invalid ""; do
    host=licgate.invalid args=(--authority "$authority")
    [ -n "$authority" ] || { host=licensing.licgate.invalid; args=(); }
    rc=0; ctl activate "${args[@]}" --timeout 20 "$KEY" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 1 ] || fail "$host: exit $rc"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$host: not one line: $(cat "$T/err")"
    [ "$(cat "$T/err")" = "licgatectl: DNS lookup failed: cannot resolve '$host' (check the resolver, or use offline activation)" ] ||
        fail "$host: message: $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "$host: output on stdout: $(cat "$T/out")"
    [ -z "$(ls -A "$T/licenses" 2>/dev/null)" ] || fail "$host: something was installed"
done
# The installation identity exists now (made before the request), private.
[ "$(stat -c %a "$T/state/installation.key")" = 600 ] || fail "installation.key is not 0600"
echo "PASS: activate-dns: typo caught locally; DNS failure named for --authority and the default"
