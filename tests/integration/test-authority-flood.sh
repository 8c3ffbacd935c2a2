#!/bin/bash
# One address cannot take the authority from the others: 300 idle
# connections from 127.0.0.3 (held open, reopened when closed) while 20 real
# activations from 127.0.0.1 all succeed. The server caps connections per
# address, drops idle ones after a short timeout and serves from a bounded
# pool of threads.
. "$(dirname "$0")/test-authority-lib.sh"
ta_init
command -v python3 >/dev/null || ta_skip "python3 missing"

for i in $(seq 20); do
    "$AUTH" issue --dir "$D" --customer "Flood $i" --seats 10 >>"$TA_DIR/keys" || ta_fail "issue"
done
ta_serve
port=${URL##*:}
python3 - "$port" 300 25 >"$TA_DIR/flood.out" 2>&1 <<'PY' &
import socket, sys, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
conns, opened, refused = [], 0, 0
while time.monotonic() < end:
    while len(conns) < n:
        s = socket.socket()
        s.bind(("127.0.0.3", 0))
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            conns.append(s)
            opened += 1
        except OSError:
            refused += 1
            s.close()
            break
    keep = []
    for s in conns:
        try:
            if s.recv(1) == b"":
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        keep.append(s)
    conns = keep
    time.sleep(0.05)
print("opened %d refused %d" % (opened, refused))
PY
flood=$!
sleep 2
ok=0 i=0
while read -r k; do
    i=$((i + 1))
    ta_request "$TA_DIR/r.$i" "$k" "inst-$i" a
    r=$(ta_post /v1/activate "$TA_DIR/r.$i")
    case $r in "200 "*) ok=$((ok + 1)) ;; *) echo "activation $i: $r" >&2 ;; esac
done <"$TA_DIR/keys"
wait "$flood"
[ "$ok" = 20 ] || ta_fail "$ok of 20 activations succeeded under the flood ($(cat "$TA_DIR/flood.out"))"
kill -0 "$TA_PID" 2>/dev/null || ta_fail "serve died"
ta_pass "20 of 20 activations while 127.0.0.3 held idle connections ($(cat "$TA_DIR/flood.out"))"
