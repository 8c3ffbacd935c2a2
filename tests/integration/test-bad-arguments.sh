#!/usr/bin/env bash
# An unknown or malformed plugin argument stops openvpn at startup with one
# clear line naming the argument; so does a control socket in a directory
# another user owns (it could swap the socket and answer for licgate), also
# when openvpn runs as root.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init bad-arguments

check_fatal() {   # check_fatal NAME ARGS EXPECTED
    local name=$1 args=$2 expected=$3
    lt_start_fails "$name" "plugin $LICGATE_PLUGIN $args" || lg_fail "$name: openvpn started with '$args'"
    grep -qF "licgate: fatal: $expected" "$LG_DIR/$name.log" ||
        lg_fail "$name: no fatal line '$expected'"
}

# A reference server config from the harness (started and stopped once).
lg_server ref udp "$LG_PORT"
lg_stop ref
check_fatal unknown "colour=blue" "plugin argument 'colour=blue': unknown key 'colour'"
check_fatal capacity "pool=$LT_POOL capacity=zero" "plugin argument 'capacity=zero': capacity: 'zero' is not a number"
check_fatal noequals "license-dir" "plugin argument 'license-dir': expected key=value"
check_fatal nouser "pool=$LT_POOL user=no-such-user-lg" "user=no-such-user-lg: no such user"
evil="$LG_DIR/evil"
mkdir "$evil"
chown nobody "$evil"
chmod 0700 "$evil"
check_fatal socketdir "pool=$LT_POOL control-socket=$evil/control.sock" \
    "control socket: $evil: owned by uid $(id -u nobody), not by root or the runtime user"
lg_pass "bad plugin arguments are fatal with a clear line"
