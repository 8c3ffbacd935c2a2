#!/usr/bin/env bash
# licgatectl activate names a DNS failure in one line before anything is
# installed, for --authority and for the config's authority (a .invalid name
# never resolves, RFC 6761), --authority before the config's; a mistyped key
# is caught before any network.
set -euo pipefail
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl (run through make check)}"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || { echo "SKIP: licgatectl has no activate" >&2; exit 77; }

T=$(mktemp -d /tmp/lg-activate-dns.XXXXXX)
trap 'rm -rf "$T"' EXIT
: >"$T/licgate.conf"
echo "authority https://licensing.licgate.invalid" >"$T/authority.conf"
ctl() { "$LICGATE_CTL" --license-dir "$T/licenses" --state-dir "$T/state" "$@"; }
fail() { echo "FAIL: activate-dns: $*" >&2; exit 1; }
KEY=LG-ABYQ-7YMY-WCH3-PRWH   # check character valid

# A typo: caught locally, nothing created, no network.
rc=0; ctl --config "$T/licgate.conf" activate LG-ABYQ-7YMY-WCH3-PRWX --authority https://licgate.invalid >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "typo: exit $rc"
[ "$(cat "$T/err")" = "licgatectl: license key 'LG-ABYQ-7YMY-WCH3-PRWX': not a valid key (check character mismatch: a typo?)" ] ||
    fail "typo message: $(cat "$T/err")"
[ ! -e "$T/state" ] || fail "a typo created state"

# --authority alone, the config's authority alone, and both (--authority wins).
for how in option config both; do
    case $how in
    option) host=licgate.invalid args=(--config "$T/licgate.conf" --authority https://licgate.invalid) ;;
    config) host=licensing.licgate.invalid args=(--config "$T/authority.conf") ;;
    both) host=other.licgate.invalid args=(--config "$T/authority.conf" --authority https://other.licgate.invalid:8443) ;;
    esac
    rc=0; ctl "${args[@]}" activate --timeout 20 "$KEY" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 1 ] || fail "$how: exit $rc"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$how: not one line: $(cat "$T/err")"
    [ "$(cat "$T/err")" = "licgatectl: DNS lookup failed: cannot resolve '$host' (check the resolver, or use offline activation)" ] ||
        fail "$how: message: $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "$how: output on stdout: $(cat "$T/out")"
    [ -z "$(ls -A "$T/licenses" 2>/dev/null)" ] || fail "$how: something was installed"
done
# The installation identity exists now (made before the request), private.
[ "$(stat -c %a "$T/state/installation.key")" = 600 ] || fail "installation.key is not 0600"

# A config authority that is not https: the config line is named, nothing is sent.
echo "authority http://licensing.licgate.invalid" >"$T/http.conf"
rc=0; ctl --config "$T/http.conf" activate "$KEY" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "http config: exit $rc"
[ "$(cat "$T/err")" = "licgatectl: $T/http.conf:1: authority: 'http://licensing.licgate.invalid' is not an https://HOST[:PORT][/PATH] URL of at most 512 bytes" ] ||
    fail "http config: message: $(cat "$T/err")"
echo "PASS: activate-dns: typo caught locally; DNS failure named for --authority and the config's authority"
