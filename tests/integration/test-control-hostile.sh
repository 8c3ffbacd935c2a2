#!/usr/bin/env bash
# Hostile control clients: thousands of oversized, binary, NUL, half-sent
# and silent requests each get an error (or a timeout) and leak no
# descriptor, and openvpn keeps admitting normally meanwhile; a client that
# connects and never sends delays nothing.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-hostile

lt_license three.lic --seats 3
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
pid=$(cat "$LG_DIR/srv.pid")
sock="/run/licgate/$LT_POOL/control.sock"
lt_ctl status >/dev/null || lg_fail "status before"
fd_count() {
    local fds=("/proc/$pid/fd"/*)
    echo "${#fds[@]}"
}
fds_before=$(fd_count)

# A client that connects and never sends, held open for the whole test.
python3 - "$sock" 30 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(float(sys.argv[2]))
PY
silent=$!

# Admissions while it sits there: 3 clients in, promptly.
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 20 c1 c2 c3 || lg_fail "admission stalled behind a silent control client"
lt_ctl status >/dev/null || lg_fail "status stalled behind a silent control client"

python3 - "$sock" <<'PY' || lg_fail "hostile requests were not all answered with an error"
import json, os, socket, sys
path = sys.argv[1]
cases = [b"A" * 300, b"A" * 100000, b"\x00\x01\x02\xff\n", b"stat\x00us\n", b"status\r\n",
         b"\xc3\xa4\n", b"bogus\n", b"status extra\n", b"\n", b"status\nstatus\n",
         bytes(range(256)), b"reload"]
answered = 0
for i in range(3000):
    data = cases[i % len(cases)]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    if i % len(cases) == len(cases) - 1:
        s.shutdown(socket.SHUT_WR)       # half-sent: no newline, then EOF
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    s.close()
    reply = json.loads(buf)
    assert reply["protocol"] == 1 and reply["ok"] is False and reply["error"], reply
    answered += 1
print(answered, "hostile requests answered with an error")
PY

# Half a request, then silence: answered with a timeout after 2 s.
python3 - "$sock" <<'PY' || lg_fail "a half-sent request did not time out with an error"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(6); s.connect(sys.argv[1]); s.sendall(b"stat")
reply = json.loads(s.recv(4096))
assert reply["error"] == "request timed out", reply
PY

kill "$silent" 2>/dev/null || true
wait "$silent" 2>/dev/null || true
# Every connection closed: the descriptors come back to the count before, soon.
deadline=$((SECONDS + 10))
until [ "$(fd_count)" -eq "$fds_before" ]; do
    [ "$SECONDS" -lt "$deadline" ] || lg_fail "descriptors: $fds_before before, $(fd_count) 10 s after"
    lg_sleep 0.1
done
[ "$(lt_connected c1 c2 c3 | wc -l)" -eq 3 ] || lg_fail "a tunnel dropped"
lg_stop c3
lg_client c4 udp "$LG_PORT" client4
lg_wait_connected c4 30 || lg_fail "openvpn stopped admitting after the hostile requests"
[ "$(lt_ctl --json status | lt_json 'j["in_use"]')" = 3 ] || lg_fail "in_use is wrong after the storm"
lg_pass "3000 hostile requests refused, no descriptor leaked, admission unaffected"
