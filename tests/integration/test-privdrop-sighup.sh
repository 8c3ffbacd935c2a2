#!/usr/bin/env bash
# openvpn drops to nobody:nogroup after opening the plugin, and SIGHUP re-opens
# the plugin unprivileged: the pool must still be reachable, must not be open
# to other users, the seats must still be counted right (no leak, no double
# count) after the restart, and the control socket, at its default path under
# a root-owned /run/licgate (as the tmpfiles.d entry makes it), served again.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init privdrop-sighup
getent group nogroup >/dev/null || _lg_skip "no group 'nogroup'"

# The runtime user must reach the licenses after SIGHUP, and openvpn re-reads
# its own config files then (test keys only: they may be world-readable).
chmod 0711 "$LG_DIR"
chmod 0755 "$LG_DIR/pki"
chmod 0644 "$LG_DIR"/pki/*
chmod 0755 "$LT_LICENSES"
lt_license two.lic --seats 2
chmod 0644 "$LT_LICENSES/two.lic"
# licgatectl activate ran first: state-dir is root's, with root's secret in it.
mkdir -m 0755 "$LG_DIR/state"
echo secret >"$LG_DIR/state/installation.key"
chmod 0600 "$LG_DIR/state/installation.key"

# OpenVPN itself re-opens its tun device after SIGHUP as nobody. Give it what
# it needs, confined to this test: a persistent tun device owned by nobody,
# and a private mount namespace in which /dev/net/tun is usable by nobody
# (the host's node may be 0600). The addresses are not configured
# (ifconfig-noexec): the test is about admission, not routing.
dev="lgp$$"
ip tuntap add dev "$dev" mode tun user nobody group nogroup || lg_fail "cannot create $dev"
LT_DEVS="$dev"
mknod "$LG_DIR/tun" c 10 200
chmod 0666 "$LG_DIR/tun"
plain=$LG_OPENVPN
cat >"$LG_DIR/openvpn-ns" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount --bind "\$0" /dev/net/tun && exec "$plain" "\$@"' "$LG_DIR/tun" "\$@"
EOF
chmod 0755 "$LG_DIR/openvpn-ns"
LG_OPENVPN="$LG_DIR/openvpn-ns"
mkdir -p /run/licgate
[ "$(stat -c '%U %a' /run/licgate)" = "root 755" ] || _lg_skip "/run/licgate is not root's 0755 here"
lg_server srv udp "$LG_PORT" "$(lt_plugin user=nobody group=nogroup)" \
    "user nobody" "group nogroup" "persist-key" "dev $dev" "ifconfig-noexec" "route-noexec"
LG_OPENVPN=$plain
# The pool's and the machine registry's segments belong to the runtime user,
# and no other user may touch them.
ids=$(lt_ctl --json status | lt_json '"%d %d" % (j["machine"]["pool_segment"], j["machine"]["registry_segment"])')
nobody="$(id -u nobody):$(getent group nogroup | cut -d: -f3) 660"
for id in $ids; do
    [ "$(lt_segment "$id")" = "$nobody" ] || lg_fail "segment $id is $(lt_segment "$id"), want $nobody"
done

for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 clients did not connect before SIGHUP"
for c in c1 c2 c3; do lg_connected "$c" || waiting=$c; done
lt_wait_refused "$LG_DIR/srv.log" 30 "$(lt_cn "$waiting")" || lg_fail "third not refused"

before=$(lg_count_log "$LG_DIR/srv.log" 'licgate: licenses loaded')
lg_kill srv HUP
lg_wait_log "$LG_DIR/srv.log" 'SIGHUP\[hard' 10 || lg_fail "no SIGHUP restart"
end=$((SECONDS + 20))
while [ "$(lg_count_log "$LG_DIR/srv.log" 'licgate: licenses loaded')" -le "$before" ]; do
    [ $SECONDS -lt $end ] || lg_fail "the plugin was not re-opened after SIGHUP"
    sleep 0.2
done
grep -q "licgate: fatal" "$LG_DIR/srv.log" && lg_fail "the unprivileged re-open failed"
# The clock mark written as root at start is the runtime user's to read.
grep "licgate: clock high-water mark" "$LG_DIR/srv.log" && lg_fail "the re-open could not read the clock mark"
lg_alive srv || lg_fail "the server died after SIGHUP"
ps -o user= -p "$(cat "$LG_DIR/srv.pid")" | grep -qx nobody || lg_fail "openvpn is not running as nobody"

# All three clients reconnect or retry: exactly 2 get the 2 seats again.
lt_wait_count 2 60 c1 c2 c3 || lg_fail "not 2 connected after SIGHUP"
after_hup() { sed -n '/SIGHUP\[hard/,$p' "$LG_DIR/srv.log"; }
# The seats held before the restart were released: counting starts again at 1.
first=$(after_hup | grep 'licgate: admitted ' | sed -n 1p)
grep -q '(1/2 seats)' <<<"$first" ||
    lg_fail "first admission after SIGHUP is not 1/2: seats leaked across the re-open: $first"
end=$((SECONDS + 40))
until [ "$(after_hup | grep -c "licgate: refused cn=.*limit reached (2/2 seats)")" -gt 0 ]; do
    [ $SECONDS -lt $end ] || lg_fail "the third client was not refused after SIGHUP"
    sleep 0.2
done
lg_sleep 3
[ "$(lt_connected c1 c2 c3 | wc -l)" -eq 2 ] || lg_fail "seat count wrong after SIGHUP"

# The unprivileged plugin serves the control socket again, from its own
# directory: nobody's, private.
end=$((SECONDS + 10))
until lt_ctl status >"$LG_DIR/status.out" 2>&1; do
    [ $SECONDS -lt $end ] || lg_fail "the control socket is not served after SIGHUP: $(cat "$LG_DIR/status.out")"
    sleep 0.3
done
grep -q '2/2' "$LG_DIR/status.out" || lg_fail "status after SIGHUP: $(cat "$LG_DIR/status.out")"
[ "$(stat -c '%U %a' "/run/licgate/$LT_POOL")" = "nobody 700" ] ||
    lg_fail "socket directory is $(stat -c '%U %a' "/run/licgate/$LT_POOL"), want nobody 700"
[ "$(stat -c '%U %a' /run/licgate)" = "root 755" ] || lg_fail "/run/licgate changed"
# The unprivileged plugin advanced its clock mark in its own directory; the
# state directory and the installation key stayed root's.
[ "$(stat -c '%U %a' "$LG_DIR/state/pools/$LT_POOL")" = "nobody 700" ] ||
    lg_fail "the pool's state directory is $(stat -c '%U %a' "$LG_DIR/state/pools/$LT_POOL")"
[ "$(stat -c '%U %a' "$LG_DIR/state") $(stat -c '%U %a' "$LG_DIR/state/installation.key")" = "root 755 root 600" ] ||
    lg_fail "state-dir or the installation key changed hands"
grep "licgate: cannot save the clock" "$LG_DIR/srv.log" && lg_fail "the unprivileged plugin cannot save its clock mark"
# The usage record was saved at SIGHUP and read back by the unprivileged plugin: the
# runtime user's, like the clock mark, and it still holds the peak of before.
rec="$LG_DIR/state/pools/$LT_POOL/usage"
[ "$(stat -c '%U %a' "$rec" 2>/dev/null)" = "nobody 600" ] ||
    lg_fail "the usage record is $(stat -c '%U %a' "$rec" 2>&1), want nobody 600"
grep "licgate: cannot save the usage record\|licgate: usage record" "$LG_DIR/srv.log" &&
    lg_fail "the unprivileged plugin could not keep the usage record"
[ "$(lt_ctl usage --json | lt_json 'max(d["peak"] for d in j["days"])')" = 2 ] ||
    lg_fail "the usage record lost the peak over SIGHUP: $(lt_ctl usage --json)"
lg_pass "privilege drop and SIGHUP re-open keep the pool working and private, and the usage record"
