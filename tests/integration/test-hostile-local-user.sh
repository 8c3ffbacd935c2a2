#!/usr/bin/env bash
# A local user who is neither root nor openvpn's runtime user attacks every
# name licgate uses or ever used, before openvpn starts and while it runs:
# pre-created, forged, truncated and flooded /dev/shm/licgate.* objects (the
# older layout's names), names in /run/licgate, and System V segments made to
# look like the machine registry (holding both evaluation seats and claiming
# the server's key) and like pools. openvpn starts normally, keeps running and
# keeps its licensed seats; the attacker cannot map its segments.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init hostile-local-user
: "${LICGATE_SHM_TOOL:?LICGATE_SHM_TOOL must name tests/integration/lg-shm}"

atk="lgatk$$"
lt_user "$atk"
chmod 0711 "$LG_DIR"
install -m 0755 "$LICGATE_SHM_TOOL" "$LG_DIR/lg-shm"
tool="$LG_DIR/lg-shm"
lt_license three.lic --key-id LG-HOSTILE-0003 --seats 3
chmod 0644 "$LT_LICENSES/three.lic"

# Before openvpn starts: the older layout's names, pre-created and flooded.
lt_as "$atk" sh -c "
    head -c 4096 /dev/urandom >/dev/shm/licgate.$LT_POOL && chmod 0666 /dev/shm/licgate.$LT_POOL
    ln -s /etc/passwd /dev/shm/licgate.$LT_POOL-link
    i=0; while [ \$i -lt 1100 ]; do : >/dev/shm/licgate.flood-$$-\$i; i=\$((i + 1)); done
" || lg_fail "the attacker could not prepare /dev/shm"
cleanup_shm() { rm -f /dev/shm/licgate."$LT_POOL" /dev/shm/licgate."$LT_POOL"-link /dev/shm/licgate.flood-$$-*; }
trap 'cleanup_shm; lt_exit' EXIT
# ... and /run/licgate, which is root's: nothing can be made there.
mkdir -p /run/licgate
for name in .machine.lock "$LT_POOL" "$LT_POOL/control.sock"; do
    if lt_as "$atk" sh -c "mkdir /run/licgate/$name || : >/run/licgate/$name" 2>/dev/null; then
        lg_fail "the attacker created /run/licgate/$name"
    fi
done
# Forged segments in the server's IPC namespace, open to everyone.
forged=()
for _ in 1 2 3; do forged+=("$(lt_as "$atk" "$tool" forge-registry)"); done
for _ in 1 2; do forged+=("$(lt_as "$atk" "$tool" forge-pool 4096)"); done
[ ${#forged[@]} -eq 5 ] || lg_fail "the attacker could not forge segments"

# While openvpn runs the attacker keeps truncating and re-creating the old
# names and making new look-alike segments.
# (An external command in the background, not a shell function: a
# function's subshell would run the test's own traps when it is killed.)
nsenter -t "$LT_IPC_PID" -i setpriv --reuid "$atk" --regid "$atk" --clear-groups -- sh -c "
    while :; do
        : >/dev/shm/licgate.$LT_POOL; head -c 8192 /dev/urandom >/dev/shm/licgate.$LT_POOL
        id=\$('$tool' forge-registry) && sleep 0.1 && '$tool' remove \"\$id\"
    done" >/dev/null 2>&1 &
trap 'pkill -KILL -u "$atk" 2>/dev/null; cleanup_shm; lt_exit' EXIT

lg_server srv udp "$LG_PORT" "$(lt_plugin)"
grep -q "licgate: licenses loaded: limit 3 seats (pool '$LT_POOL')" "$LG_DIR/srv.log" ||
    lg_fail "openvpn did not start with its licensed seats: $(grep 'licgate: ' "$LG_DIR/srv.log")"
grep -q "other pool\|counts it, so this pool does not" "$LG_DIR/srv.log" &&
    lg_fail "a forged claim took the key away"

status=$(lt_ctl --json status)
reg=$(lt_json 'j["machine"]["registry_segment"]' <<<"$status")
pool=$(lt_json 'j["machine"]["pool_segment"]' <<<"$status")
for f in "${forged[@]}"; do
    [ "$f" != "$reg" ] && [ "$f" != "$pool" ] || lg_fail "openvpn uses the forged segment $f"
done
for id in "$reg" "$pool"; do
    lt_as "$atk" "$tool" try-attach "$id" 2>/dev/null && lg_fail "the attacker mapped segment $id"
    [ "$(lt_segment "$id" | cut -d' ' -f2)" = 600 ] || lg_fail "segment $id is $(lt_segment "$id")"
done

for i in 1 2 3 4; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 3 60 c1 c2 c3 c4 || lg_fail "the licensed 3 did not connect"
waiting=()
for c in c1 c2 c3 c4; do lg_connected "$c" || waiting+=("$(lt_cn "$c")"); done
lt_wait_refused "$LG_DIR/srv.log" 30 "${waiting[@]}" || lg_fail "the fourth was not refused"
grep -q "limit reached (3/3 seats)" "$LG_DIR/srv.log" || lg_fail "the refusal is not at 3/3"
lg_sleep 3
lg_alive srv || lg_fail "openvpn died"
[ "$(lt_connected c1 c2 c3 c4 | wc -l)" -eq 3 ] || lg_fail "not exactly 3 connected"
grep -q "licgate: fatal\|written by something other than licgate" "$LG_DIR/srv.log" &&
    lg_fail "the attacker reached licgate's shared memory"
pkill -KILL -u "$atk" 2>/dev/null || true
lg_pass "another local user's forged, truncated, flooded names and segments change nothing"
