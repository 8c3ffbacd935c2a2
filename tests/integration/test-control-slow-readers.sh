#!/usr/bin/env bash
# Peers that ask for a large answer and never read it do not stall anything:
# with 28 of them holding connections, the seats of a killed openvpn come
# back within the usual 2 s, and a reload is answered and takes effect at
# once. The socket server writes without blocking; the maintenance runs on
# its own thread.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-slow-readers

# A large `licenses` answer: 1,000 files with long names, each skipped with a reason.
long=$(printf 'x%.0s' $(seq 1 180))
for i in $(seq 1 1000); do echo junk >"$LT_LICENSES/junk-$i-$long.lic"; done
lt_license three.lic --key-id LG-SLOW-0003 --seats 3
lg_server srv1 udp "$LG_PORT" "$(lt_plugin)"
lg_server srv2 udp "$((LG_PORT + 1))" "$(lt_plugin)"
sock="/run/licgate/$LT_POOL/control.sock"
end=$((SECONDS + 10))
until lt_ctl --json status >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || lg_fail "the control socket is not served"
    sleep 0.2
done
[ "$(lt_ctl --json licenses | wc -c)" -gt 300000 ] || lg_fail "the licenses answer is not large"
# Two clients of the second daemon hold seats.
lg_client c1 udp "$((LG_PORT + 1))" client1
lg_client c2 udp "$((LG_PORT + 1))" client2
lt_wait_count 2 60 c1 c2 || lg_fail "2 clients did not connect"

python3 "$LICGATE_SRCDIR/tests/integration/ctl-flood.py" noread "$sock" 28 30 licenses >"$LG_DIR/noread.out" 2>&1 &
flood=$!
lg_wait_log "$LG_DIR/noread.out" '^ready' 20 || lg_fail "the slow readers did not connect: $(cat "$LG_DIR/noread.out")"

# The second daemon dies holding 2 seats: they are back within about 2 s.
lg_kill srv2 KILL
start=$(date +%s%N)
end=$((SECONDS + 10))
until [ "$(lt_ctl --json status | lt_json 'j["in_use"]')" = 0 ]; do
    [ $SECONDS -lt $end ] || lg_fail "the dead daemon's seats were not reclaimed"
    sleep 0.1
done
reclaim_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$reclaim_ms" -lt 4000 ] || lg_fail "reclaiming took $reclaim_ms ms behind the slow readers"

# A reload is answered, and raises the limit, while the readers still hang.
lt_license two.lic --key-id LG-SLOW-0002 --seats 2
start=$(date +%s%N)
out=$(lt_ctl reload) || lg_fail "reload failed: $out"
reload_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(lt_ctl --json status | lt_json 'j["limit"]')" = 5 ] || lg_fail "the reload did not take effect"
kill "$flood" 2>/dev/null || true
lg_alive srv1 || lg_fail "openvpn died"
lg_pass "28 slow readers of a 300 kB answer: seats reclaimed in $reclaim_ms ms, reload answered in $reload_ms ms"
