#!/usr/bin/env bash
# licgatectl activate against a port that accepts and never answers gives the
# timeout line within --timeout (proxy variables ignored: the authority is
# reached directly), and a closed port gives "connection refused".
set -euo pipefail
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl (run through make check)}"
"$LICGATE_CTL" --help | grep -q '^  activate KEY' || { echo "SKIP: licgatectl has no activate" >&2; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3" >&2; exit 77; }

T=$(mktemp -d /tmp/lg-activate-timeout.XXXXXX)
listener=
cleanup() {
    [ -n "$listener" ] && kill "$listener" 2>/dev/null && wait "$listener" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
: >"$T/licgate.conf"
ctl() { "$LICGATE_CTL" --config "$T/licgate.conf" --license-dir "$T/licenses" --state-dir "$T/state" "$@"; }
fail() { echo "FAIL: activate-timeout: $*" >&2; exit 1; }
KEY=LG-ABYQ-7YMY-WCH3-PRWH

# A listener that accepts every connection and never says a word.
python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' >"$T/port" &
listener=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
[ -n "$port" ] || fail "the listener did not start"

start=$SECONDS
rc=0
https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
    ctl activate --authority "https://127.0.0.1:$port" --timeout 2 "$KEY" >"$T/out" 2>"$T/err" || rc=$?
took=$((SECONDS - start))
[ $rc -eq 1 ] || fail "exit $rc: $(cat "$T/err")"
[ "$(cat "$T/err")" = "licgatectl: connection to 127.0.0.1:$port timed out (a firewall? the authority needs outbound TCP $port, no proxy)" ] ||
    fail "message: $(cat "$T/err")"
[ $took -le 6 ] || fail "took $took s with --timeout 2"
[ -z "$(ls -A "$T/licenses" 2>/dev/null)" ] || fail "something was installed"

# A port nobody listens on: refused, at once.
kill "$listener"; wait "$listener" 2>/dev/null || true; listener=
rc=0; ctl activate --authority "https://127.0.0.1:$port" --timeout 5 "$KEY" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "refused: exit $rc"
[ "$(cat "$T/err")" = "licgatectl: connection refused by 127.0.0.1:$port" ] || fail "refused message: $(cat "$T/err")"

# Only https: a plain http authority is refused before any connection.
rc=0; ctl activate --authority "http://127.0.0.1:$port" "$KEY" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "bad authority URL 'http://127.0.0.1:$port'" "$T/err" || fail "http URL: $(cat "$T/err")"
echo "PASS: activate-timeout: silent port times out in ${took}s with its line, closed port refused"
