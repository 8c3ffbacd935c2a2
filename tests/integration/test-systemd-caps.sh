#!/usr/bin/env bash
# openvpn as Debian's openvpn-server@.service starts it: with the unit's
# CapabilityBoundingSet only, a plugin told to give its pool to user= stops
# openvpn with a line that names the missing capabilities; with licgate's
# drop-in added, the pool, the socket directory and the clock mark belong to
# the runtime user and control group, and the gate works.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init systemd-caps
unit=/lib/systemd/system/openvpn-server@.service
dropin=${LICGATE_SRCDIR:-$(dirname "$0")/../..}/dist/systemd/openvpn-licgate-caps.conf
[ -r "$unit" ] || _lg_skip "no $unit (openvpn's Debian unit)"
command -v setpriv >/dev/null || _lg_skip "no setpriv"
getent group nogroup >/dev/null || _lg_skip "no group 'nogroup'"

# CapabilityBoundingSet= lines as setpriv's list: -all,+net_admin,...
bounding_set() {
    sed -n 's/^CapabilityBoundingSet=//p' "$@" | tr ' ' '\n' | sed -n 's/^CAP_//p' |
        tr 'A-Z' 'a-z' | sort -u | sed 's/^/+/' | paste -sd, | sed 's/^/-all,/'
}
unit_caps=$(bounding_set "$unit")
both_caps=$(bounding_set "$unit" "$dropin")
grep -q chown <<<"$unit_caps" && _lg_skip "the unit grants CAP_CHOWN itself: nothing to show"

chmod 0711 "$LG_DIR"
chmod 0755 "$LT_LICENSES"
lt_license two.lic --seats 2
chmod 0644 "$LT_LICENSES/two.lic"
wrapper() {   # wrapper FILE CAPS: openvpn under that bounding set, in the test's IPC namespace
    {
        echo '#!/bin/sh'
        lt_preload_lines
        printf 'exec nsenter -t %s -i setpriv --bounding-set %s -- openvpn "$@"\n' "$LT_IPC_PID" "$2"
    } >"$1"
    chmod 0755 "$1"
}
plain=$LG_OPENVPN
args=(user=nobody group=nogroup control-group=nogroup)

# The unit alone: openvpn stops at start-up and says why.
wrapper "$LG_DIR/ovpn-unit" "$unit_caps"
lg_server ref udp "$LG_PORT"
lg_stop ref
LG_OPENVPN="$LG_DIR/ovpn-unit"
lt_start_fails unit "$(lt_plugin "${args[@]}")" ||
    lg_fail "openvpn started without CAP_CHOWN although the plugin must give its pool away"
LG_OPENVPN=$plain
grep -q "licgate: fatal: .*needs CAP_CHOWN" "$LG_DIR/unit.log" ||
    lg_fail "no fatal line naming the capability: $(grep licgate "$LG_DIR/unit.log" | tail -n 3)"
# Only the machine registry stays (it lives until the machine reboots); a pool
# segment goes with the last process attached to it.
[ "$(lt_segments)" -le 1 ] || lg_fail "a half-made pool segment was left behind: $(lt_ipc ipcs -m)"
[ ! -e "/run/licgate/$LT_POOL" ] || lg_fail "a half-made socket directory was left behind"

# The unit with the drop-in: the gate works and its files are the runtime user's.
wrapper "$LG_DIR/ovpn-dropin" "$both_caps"
LG_OPENVPN="$LG_DIR/ovpn-dropin"
lg_server srv udp "$LG_PORT" "$(lt_plugin "${args[@]}")" "user nobody" "group nogroup"
LG_OPENVPN=$plain
grep -q "licgate: fatal" "$LG_DIR/srv.log" && lg_fail "fatal with the drop-in's capabilities"
ids=$(lt_ctl --json status | lt_json '"%d %d" % (j["machine"]["pool_segment"], j["machine"]["registry_segment"])')
nobody="$(id -u nobody):$(getent group nogroup | cut -d: -f3) 660"
for id in $ids; do
    [ "$(lt_segment "$id")" = "$nobody" ] || lg_fail "segment $id is $(lt_segment "$id"), want $nobody"
done
[ "$(stat -c '%U:%G %a' "/run/licgate/$LT_POOL")" = "nobody:nogroup 2750" ] ||
    lg_fail "socket directory is $(stat -c '%U:%G %a' "/run/licgate/$LT_POOL")"
mark="$LG_DIR/state/pools/$LT_POOL/clock"
[ "$(stat -c '%U %a' "$mark")" = "nobody 600" ] && [ "$(stat -c '%U %a' "${mark%/clock}")" = "nobody 700" ] ||
    lg_fail "clock mark is $(stat -c '%U %a' "$mark") in $(stat -c '%U %a' "${mark%/clock}"): unusable after a SIGHUP"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "not 2 of 3 clients connected"
lt_ctl status | grep -q '2/2' || lg_fail "status: $(lt_ctl status 2>&1)"
lg_pass "Debian's unit needs the drop-in's CAP_CHOWN, CAP_FOWNER, CAP_FSETID; with it the gate works"
