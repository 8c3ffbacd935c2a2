#!/usr/bin/env bash
# Machine binding in network namespaces made here: a license bound to one
# namespace's links admits its seats there; the same license where a link
# address differs is a machine-mismatch (exact log line, licgatectl state)
# and evaluation seats remain; one replaced NIC passes only under all-but-1.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init binding-netns

mk() {   # mk NS MAC1 MAC2: a namespace whose links are a veth pair with these addresses
    lt_netns "$1"
    ip -n "$1" link add bx0 address "$2" type veth peer name bx1 address "$3"
    ip -n "$1" link set bx0 up
    ip -n "$1" link set bx1 up
}
a="lgba$$" b="lgbb$$" c="lgbc$$"
mk "$a" 02:00:5e:10:00:01 02:00:5e:10:00:02
mk "$b" 02:00:5e:20:00:01 02:00:5e:20:00:02        # another machine
mk "$c" 02:00:5e:10:00:01 02:00:5e:30:00:02        # a's machine, one NIC replaced

binding() { ip netns exec "$1" "$LICGATE_CTL" fingerprint --key "$2" --rule "$3" | tail -n 1; }
lt_license bound.lic --key-id LG-BIND-0001 --seats 3 --binding "$(binding "$a" LG-BIND-0001 all+virtual)"
grep -q '^binding: all+virtual machine-id=[0-9a-f]\{64\} nic=[0-9a-f]\{64\} nic=[0-9a-f]\{64\}$' \
    "$LT_LICENSES/bound.lic" || lg_fail "the license does not carry the binding"

# On its machine: 3 seats.
lt_in_netns "$a"
lg_server sa udp "$LG_PORT" "$(lt_plugin)"
grep -q "licenses loaded: limit 3 seats" "$LG_DIR/sa.log" || lg_fail "bound license did not count at home"
for i in 1 2 3 4; do lg_client "a$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 a1 a2 a3 a4 || lg_fail "3 clients did not get in on the licensed machine"
lg_stop sa

# On another machine: machine-mismatch, the exact line, evaluation seats.
LT_POOL="$LT_POOL-b"
lt_in_netns "$b"
lg_server sb udp "$((LG_PORT + 1))" "$(lt_plugin)"
grep -Eq "licgate: License error: machine properties validation failed: verify fail: .*nic" "$LG_DIR/sb.log" ||
    lg_fail "no machine-mismatch line on the other machine"
grep -q "no valid license: evaluation mode, 2 seats" "$LG_DIR/sb.log" || lg_fail "not in evaluation mode"
lic=$(lt_ctl --json licenses)
[ "$(lt_json "j['licenses'][0]['state']" <<<"$lic")" = machine-mismatch ] || lg_fail "state is not machine-mismatch: $(tr -d "\n" <<<"$lic")"
lt_json 'j["licenses"][0]["reason"]' <<<"$lic" |
    grep -q "^machine properties validation failed: verify fail: " || lg_fail "licenses reason: $lic"
lt_ctl licenses | grep -q "machine-mismatch" || lg_fail "human licenses table lacks machine-mismatch"
lt_ctl --json status | lt_json '"\n".join(j["warnings"])' |
    grep -q "^license 'bound.lic' (key LG-BIND-0001) does not count: machine-mismatch: machine properties validation failed" ||
    lg_fail "status warning: $(lt_ctl --json status | lt_json '"\n".join(j["warnings"])')"
for i in 1 2 3; do lg_client "b$i" udp "$((LG_PORT + 1))" "client$i"; done
lt_wait_count 2 60 b1 b2 b3 || lg_fail "evaluation seats did not remain"
lg_stop sb
lt_pool_remove "$LT_POOL"

# One NIC replaced: fails under "all"...
LT_POOL="${LT_POOL%-b}-c"
lt_in_netns "$c"
lg_server sc udp "$((LG_PORT + 2))" "$(lt_plugin)"
grep -q "License error: machine properties validation failed: verify fail: " "$LG_DIR/sc.log" ||
    lg_fail "a replaced NIC passed under 'all'"
lg_stop sc
# ...passes under all-but-1 (a license signed for a's links with that rule).
rm -f "$LT_LICENSES/bound.lic"
lt_license tolerant.lic --key-id LG-BIND-0002 --seats 3 \
    --binding "$(binding "$a" LG-BIND-0002 all-but-1+virtual)"
lg_server sc2 udp "$((LG_PORT + 3))" "$(lt_plugin)"
grep -q "licenses loaded: limit 3 seats" "$LG_DIR/sc2.log" || lg_fail "one replaced NIC did not pass all-but-1"
grep -q "License error" "$LG_DIR/sc2.log" && lg_fail "all-but-1 logged a machine mismatch"
lt_pool_remove "$LT_POOL"
lg_pass "binding admits at home, is caught elsewhere, tolerates one NIC only under all-but-1"
