#!/usr/bin/env bash
# Captures the environment a real openvpn 2.6 server gives its hooks, in
# openvpn's own order, into ./env.<script_type>.<pid>: a server on loopback
# with tls-verify, client-connect and client-disconnect scripts (python, so
# the order of environ is kept), one client connecting and leaving. The
# table in ovpn_env.c was made from its output. Needs root, openvpn and tun.
set -euo pipefail
out=$(pwd)
. "$(dirname "$0")/../integration/lib.sh"
lg_init capture-env
trap lg_cleanup EXIT
lg_pki
cat >"$LG_DIR/dump.py" <<PY
#!/usr/bin/python3
import os
with open("$out/env.%s.%d" % (os.environ.get("script_type", "x"), os.getpid()), "w") as f:
    f.write("".join("%s=%s\n" % kv for kv in os.environ.items()))
PY
chmod +x "$LG_DIR/dump.py"
lg_server srv udp "$LG_PORT" "script-security 2" "tls-verify $LG_DIR/dump.py" \
	"client-connect $LG_DIR/dump.py" "client-disconnect $LG_DIR/dump.py"
lg_client c1 udp "$LG_PORT" client1
lg_wait_connected c1 20 || lg_fail "client did not connect"
lg_stop c1
lg_sleep 1
ls "$out"/env.*
