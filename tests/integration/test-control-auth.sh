#!/usr/bin/env bash
# Peer credentials decide: a local user outside control-group is refused; a
# member may read but not reload nor set a cluster grant; root may reload. The socket and its
# directory are not writable by other users.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-auth
command -v useradd >/dev/null || _lg_skip "no useradd"

user="lgu$$"
group="lgg$$"
groupadd "$group"
useradd -M -N -g nogroup -s /usr/sbin/nologin "$user"
trap 'userdel "$user" 2>/dev/null; groupdel "$group" 2>/dev/null; lt_cleanup' EXIT
chmod 0755 "$LG_DIR" # the test user must reach licgatectl's output files only; nothing else

mkdir -m 0755 "$LG_DIR/ctl"
lg_server srv udp "$LG_PORT" "$(lt_plugin control-group="$group" control-socket="$LG_DIR/ctl/run/pool.sock")"
sock="$LG_DIR/ctl/run/pool.sock"
[ -S "$sock" ] || lg_wait_log "$LG_DIR/srv.log" "serving the control socket" 5 || lg_fail "no socket"
[ "$(stat -c '%a %G' "$LG_DIR/ctl/run")" = "2750 $group" ] ||
    lg_fail "socket directory is $(stat -c '%a %G' "$LG_DIR/ctl/run")"
[ "$(stat -c '%a %G' "$sock")" = "660 $group" ] || lg_fail "socket is $(stat -c '%a %G' "$sock")"

as_user() { setpriv --reuid="$user" --regid=nogroup --init-groups "$LICGATE_CTL" -s "$sock" "$@"; }

# Outside the group: refused, with the group named.
set +e
out=$(as_user status 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || lg_fail "non-member: exit $rc, want 1 ($out)"
grep -q "permission denied" <<<"$out" || lg_fail "non-member: no 'permission denied': $out"
grep -q "$group" <<<"$out" || lg_fail "non-member: the message does not name group $group: $out"

# A member reads but may not reload.
usermod -a -G "$group" "$user"
as_user --json status | lt_json 'j["ok"]' | grep -qx true || lg_fail "member cannot read status"
as_user sessions >/dev/null || lg_fail "member cannot read sessions"
set +e
out=$(as_user reload 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "permission denied: reload needs root" <<<"$out" ||
    lg_fail "member reload: exit $rc, $out"

# Nor hand the pool a cluster grant (licgate-agent's, root only).
out=$(setpriv --reuid="$user" --regid=nogroup --init-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"cluster-grant 5 17592186044415\n")
print(s.recv(4096).decode().strip())' "$sock")
grep -q '"error":"permission denied: cluster-grant needs root"' <<<"$out" ||
    lg_fail "member cluster-grant: $out"

# Root may.
"$LICGATE_CTL" -s "$sock" reload | grep -q "reloaded" || lg_fail "root cannot reload"
lg_pass "peer credentials gate the control socket"
