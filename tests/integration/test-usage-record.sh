#!/usr/bin/env bash
# The usage record on a real server: the hour's peak, limit, admissions and
# refusals reach the control socket's `usage` answer; the record is saved in
# state-dir/pools/POOL/usage (root's here, 0600) when openvpn stops, and read
# back when it starts again, and after SIGHUP; a damaged record is set aside
# as usage.bad with one line in the log, and a new one begins; removing the
# license shows as a change and as evaluation mode; bad requests get one
# error line; a symbolic link in place of the record is never followed.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init usage-record

# usage REQUEST: the control socket's raw answer to REQUEST.
usage() {
    python3 - "/run/licgate/$LT_POOL/control.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.decode(), end="")
PY
}
# today_field NAME: that field of today's row in `usage 7`, as JSON ("none": no row).
today_field() {
    usage "usage 7" | python3 -c 'import json, sys
j = json.load(sys.stdin)
d = [d for d in j["days"] if d["date"] == sys.argv[1]]
print(json.dumps(d[0][sys.argv[2]]) if d else "none")' "$(date -u +%F)" "$1"
}

lt_license three.lic --seats 3
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
for i in 1 2 3 4; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 c1 c2 c3 c4 || lg_fail "3 clients did not connect"
lt_wait_refused "$LG_DIR/srv.log" 30 "$(for c in c1 c2 c3 c4; do lg_connected "$c" || lt_cn "$c"; done)" ||
    lg_fail "the fourth client was not refused"

# What the maintenance thread recorded (it samples every 250 ms).
for ((i = 0; i < 40; i++)); do
    [ "$(today_field peak)" = 3 ] && [ "$(today_field refused_limit)" != 0 ] && break
    sleep 0.25
done
[ "$(today_field peak)" = 3 ] || lg_fail "today's peak is not 3: $(usage 'usage 7')"
[ "$(today_field limit)" = 3 ] || lg_fail "today's limit is not 3"
[ "$(today_field hours_at_limit)" = 1 ] || lg_fail "the limit was reached this hour"
[ "$(today_field admissions)" -ge 3 ] || lg_fail "admissions not counted: $(usage "usage 7")"
[ "$(today_field refused_limit)" -ge 1 ] || lg_fail "refusals not counted"
[ "$(today_field evaluation)" = false ] || lg_fail "evaluation mode with a license"
[ "$(usage usage | lt_json 'len(j["days"])')" -ge 1 ] || lg_fail "'usage' without days"

# Hostile requests: one error line each, the server keeps serving.
for bad in "usage 0" "usage 401" "usage x" "usage 7 7" "usage -1" "usage 007"; do
    usage "$bad" | grep -q '"ok":false,"error":"usage takes DAYS, 1..400"' ||
        lg_fail "'$bad' was answered: $(usage "$bad")"
done

# Saved when openvpn stops: root's (no user= here), 0600, the hour's row.
lg_stop srv
rec="$LG_DIR/state/pools/$LT_POOL/usage"
[ -f "$rec" ] || lg_fail "no usage record at $rec"
[ "$(stat -c '%U %a' "$rec")" = "root 600" ] || lg_fail "usage record: $(stat -c '%U %a' "$rec")"
head -n1 "$rec" | grep -qx 'licgate-usage 1' || lg_fail "no header: $(head -n1 "$rec")"
grep -Eq "^$(($(date +%s) / 3600 * 3600)) 3 3 [0-9]+ [1-9][0-9]* 0 -$" "$rec" ||
    grep -Eq "^[0-9]+ 3 3 [0-9]+ [1-9][0-9]* 0 -$" "$rec" || lg_fail "no row of this hour: $(cat "$rec")"

# Read back at the next start, before the socket answers anybody: the very first answer
# has the day's peak.
_lg_start srv
for ((i = 0; i < 600; i++)); do
    first=$(usage "usage 7" 2>/dev/null) && break
    sleep 0.05
done
[ -n "${first:-}" ] || lg_fail "the control socket did not answer after a restart"
[ "$(python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print([d["peak"] for d in j["days"] if d["date"] == sys.argv[2]])' "$first" "$(date -u +%F)")" = "[3]" ] ||
    lg_fail "the first answer after a restart lacks the day's peak: $first"
lg_wait_log "$LG_DIR/srv.log" 'Initialization Sequence Completed' 30 srv || lg_fail "restart"

# SIGHUP closes and opens the plugin again: saved and read back.
kill -HUP "$(cat "$LG_DIR/srv.pid")"
lg_wait_log "$LG_DIR/srv.log" 'SIGHUP\[' 10 srv || lg_fail "no SIGHUP"
sleep 1
for ((i = 0; i < 40; i++)); do [ "$(today_field peak 2>/dev/null)" = 3 ] && break; sleep 0.25; done
[ "$(today_field peak)" = 3 ] || lg_fail "the peak was lost over SIGHUP"

# The license goes: the day shows the change and evaluation mode.
rm "$LT_LICENSES/three.lic"
lt_ctl reload >"$LG_DIR/reload.out" 2>&1 || lg_fail "reload: $(cat "$LG_DIR/reload.out")"
for ((i = 0; i < 20; i++)); do [ "$(today_field evaluation)" = true ] && break; sleep 0.25; done
[ "$(today_field evaluation)" = true ] || lg_fail "evaluation mode not recorded"
[ "$(today_field changed)" = true ] || lg_fail "the change of licenses not recorded"

# A damaged record: set aside, said in one line, a new one begins.
lg_stop srv
printf 'not a usage record\n' >"$rec"
_lg_start srv
lg_wait_log "$LG_DIR/srv.log" 'serving the control socket' 30 srv || lg_fail "restart"
lg_wait_log "$LG_DIR/srv.log" "usage record $rec: not a usage record \(no 'licgate-usage 1' line\); kept as $rec.bad, a new one begins" 10 srv ||
    lg_fail "the damaged record was not reported"
grep -qx 'not a usage record' "$rec.bad" || lg_fail "the damaged record was not kept"
for ((i = 0; i < 20; i++)); do [ "$(today_field peak 2>/dev/null)" != none ] && break; sleep 0.25; done
[ "$(today_field peak)" != none ] || lg_fail "no new record began"
# The record's directory is the runtime user's: a link put there is not followed, neither
# to read (as root at start) nor to write.
lg_stop srv
rm -f "$rec.bad"
sum=$(sha256sum </etc/shadow)
ln -sf /etc/shadow "$rec"
_lg_start srv
lg_wait_log "$LG_DIR/srv.log" 'serving the control socket' 30 srv || lg_fail "restart"
lg_wait_log "$LG_DIR/srv.log" "usage record $rec: Too many levels of symbolic links; kept as $rec.bad" 10 srv ||
    lg_fail "a linked record was not refused"
lg_stop srv
[ -L "$rec.bad" ] && [ ! -L "$rec" ] && head -n1 "$rec" | grep -qx 'licgate-usage 1' ||
    lg_fail "the link was followed or kept in place"
[ "$(sha256sum </etc/shadow)" = "$sum" ] || lg_fail "/etc/shadow changed"
_lg_start srv
lg_wait_log "$LG_DIR/srv.log" 'serving the control socket' 30 srv || lg_fail "restart"
lg_alive srv || lg_fail "openvpn died"
lg_pass "hourly peak, limit and counts recorded, kept over restart and SIGHUP, damage set aside"
