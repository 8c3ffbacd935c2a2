#!/bin/sh
# The do-it-yourself license gate an OpenVPN admin writes instead of licgate:
#   script-security 2
#   setenv GATE_DIR /var/lib/vpn-gate
#   setenv GATE_MAX 100
#   client-connect /etc/openvpn/gate.sh
#   client-disconnect /etc/openvpn/gate.sh
# A counter in a file, serialized with flock. The benchmark runs it exactly as
# openvpn 2.6 does: fork + execve with the client's environment.
exec 9>>"$GATE_DIR/lock"
flock 9
n=$(cat "$GATE_DIR/count" 2>/dev/null || echo 0)
case $script_type in
client-connect)
	[ "$n" -lt "$GATE_MAX" ] || exit 1
	echo $((n + 1)) >"$GATE_DIR/count"
	;;
client-disconnect)
	[ "$n" -gt 0 ] && echo $((n - 1)) >"$GATE_DIR/count"
	;;
esac
exit 0
