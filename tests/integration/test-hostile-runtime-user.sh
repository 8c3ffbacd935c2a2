#!/usr/bin/env bash
# A process running as openvpn's runtime user can write the shared memory (it
# must: admission is a compare-and-swap it performs). It rewrites every byte
# it can reach: the pool's in-use counter, every session slot, the process
# table, the machine registry's evaluation seats, claims, processes and pool
# table, jams the registry's lock, opens the pool to every user and marks it
# for removal. openvpn keeps running, never holds more tunnels than the
# license, says in its log that its shared memory was written, closes the
# segment again, and still admits a waiting client when a seat is freed.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init hostile-runtime-user
: "${LICGATE_SHM_TOOL:?LICGATE_SHM_TOOL must name tests/integration/lg-shm}"

rt="lgrt$$"
lt_user "$rt"
chmod 0711 "$LG_DIR"
chmod 0755 "$LT_LICENSES"
install -m 0755 "$LICGATE_SHM_TOOL" "$LG_DIR/lg-shm"
lt_license two.lic --seats 2
chmod 0644 "$LT_LICENSES/two.lic"
lg_server srv udp "$LG_PORT" "$(lt_plugin user="$rt" group="$rt")" "user $rt" "group $rt"
grep -q "licgate: licenses loaded: limit 2 seats" "$LG_DIR/srv.log" || lg_fail "not licensed for 2"
status=$(lt_ctl --json status)
reg=$(lt_json 'j["machine"]["registry_segment"]' <<<"$status")
pool=$(lt_json 'j["machine"]["pool_segment"]' <<<"$status")

for i in 1 2 3 4 5; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 c4 c5 || lg_fail "the licensed 2 did not connect"

# The runtime user's hands on everything it can write.
rtdo() { lt_as "$rt" "$LG_DIR/lg-shm" "$@" || lg_fail "as $rt: lg-shm $* failed"; }
rtdo scribble-pool "$pool"
rtdo scribble-registry "$reg"
rtdo open-to-all "$pool"
rtdo remove "$pool"

# For 20 s while the 3 others keep retrying: never more than the license.
max=0
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ]; do
    n=$(lt_connected c1 c2 c3 c4 c5 | wc -l)
    [ "$n" -gt "$max" ] && max=$n
    [ "$n" -le 2 ] || lg_fail "$n tunnels on a 2-seat license after the shared memory was rewritten"
    lg_alive srv || lg_fail "openvpn died"
    sleep 0.5
done
grep -q "licgate: .*written by something other than licgate" "$LG_DIR/srv.log" ||
    lg_fail "the rewrite was not noticed: $(grep 'licgate: ' "$LG_DIR/srv.log" | tail -n 5)"
[ "$(lt_segment "$pool" | cut -d' ' -f2)" = 660 ] ||
    lg_fail "the pool segment was not closed to other users again: $(lt_segment "$pool")"
lt_as nobody "$LG_DIR/lg-shm" try-attach "$pool" 2>/dev/null && lg_fail "another user can map the pool"

# A connected client leaves: a waiting one gets its seat, still at most 2.
for c in c1 c2 c3 c4 c5; do lg_connected "$c" && { lg_stop "$c"; gone=$c; break; }; done
rest=()
for c in c1 c2 c3 c4 c5; do [ "$c" = "$gone" ] || rest+=("$c"); done
lt_wait_count 2 60 "${rest[@]}" || lg_fail "no waiting client took the freed seat"
lg_sleep 3
[ "$(lt_connected "${rest[@]}" | wc -l)" -le 2 ] || lg_fail "more than 2 tunnels"
lg_pass "the runtime user rewrote the shared memory: still 2 of 2, noticed, repaired, openvpn running"
