# shellcheck shell=bash
# licgate helpers for the integration tests, on top of lib.sh.
#
#   . "$(dirname "$0")/licgate.sh"
#   lt_init NAME        lg_init + pki + a license dir + a pool name of its own
#   lt_license FILE ARGS...   sign a license with the development key
#   lt_plugin [KEY=VALUE...]  the "plugin ..." server line for this test's pool
#   lt_connected NAMES...     print the names whose client is connected now
#   lt_wait_count N TIMEOUT NAMES...  wait until exactly N of NAMES are connected
#   lt_ipc CMD...             run CMD in this test's IPC namespace (ipcs, a scribbler)
#   lt_user NAME              a system user (and group) of this test's own, removed at exit
#   lt_as USER CMD...         run CMD as USER (no other groups), in this test's IPC namespace
#
# Each test's openvpn processes run in an IPC namespace of the test's own: the
# machine registry (System V shared memory, one per IPC namespace) then holds
# that test's machine-wide facts only, so tests running side by side do not
# share the machine's 2 evaluation seats.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${LICGATE_PLUGIN:?LICGATE_PLUGIN must name the built plugin .so (run through make check)}"
: "${LICGATE_AUTHORITY:?LICGATE_AUTHORITY must name licgate-authority}"
: "${LICGATE_DEV_KEY:?LICGATE_DEV_KEY must name the development issuer key}"
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl}"

# On exit: a sanitizer report from any openvpn of the test fails it.
lt_exit() {
    local rc=$?
    if [ -n "${LG_DIR:-}" ] && [ -d "$LG_DIR" ] && ! lt_sanitizer_reports; then
        echo "FAIL: ${LG_NAME:-test}: sanitizer report(s) above" >&2
        rc=1
    fi
    lt_cleanup
    exit $rc
}

# Removes what pools leave behind on purpose: the shared-memory object and the
# control socket's directory (lock file). Names may be patterns.
lt_pool_remove() {
    local p
    for p in "$@"; do
        rm -f /dev/shm/licgate."$p" /run/licgate/.agent/"$p".json
        rm -rf /run/licgate/"$p"
    done
}

lt_cleanup() {
    local dev
    for dev in ${LT_EXTRA_PIDS:-}; do
        kill -KILL "$dev" 2>/dev/null || true
    done
    LT_EXTRA_PIDS=
    lg_cleanup
    for dev in ${LT_IPC_PIDS:-}; do
        kill "$dev" 2>/dev/null || true
    done
    LT_IPC_PIDS= LT_IPC_PID=
    # every pool of the test: LT_POOL0 and the LT_POOL0-* variants some tests switch to
    if [ -n "${LT_POOL0:-}" ]; then
        lt_pool_remove "$LT_POOL0" "$LT_POOL0"-*
    fi
    for dev in ${LT_DEVS:-}; do
        ip link del dev "$dev" 2>/dev/null || true
    done
    if [ -n "${LT_SERVE_PID:-}" ]; then
        kill "$LT_SERVE_PID" 2>/dev/null && wait "$LT_SERVE_PID" 2>/dev/null
        LT_SERVE_PID=
    fi
    for dev in ${LT_NETNS:-}; do
        ip netns del "$dev" 2>/dev/null || true
    done
    for dev in ${LT_USERS:-}; do
        pkill -KILL -u "$dev" 2>/dev/null || true
        userdel "$dev" 2>/dev/null || true
        groupdel "$dev" 2>/dev/null || true
    done
    LT_USERS=
    return 0
}

# With LICGATE_PRELOAD (the sanitizer runtimes, from scripts/check) openvpn
# runs with them preloaded, so it can load a plugin built with ASan/UBSan;
# any sanitizer report fails the test.
# lt_preload_lines: the shell lines a wrapper of openvpn starts with, so that
# a plugin built with the sanitizers loads (LICGATE_PRELOAD).
lt_preload_lines() {
    [ -n "${LICGATE_PRELOAD:-}" ] || return 0
    printf 'export LD_PRELOAD="%s"\n' "$LICGATE_PRELOAD"
    printf 'export ASAN_OPTIONS="%s:log_path=%s/sanitizer"\n' "${ASAN_OPTIONS:-}" "$LG_DIR"
    printf 'export UBSAN_OPTIONS="%s:log_path=%s/sanitizer"\n' "${UBSAN_OPTIONS:-}" "$LG_DIR"
}

lt_openvpn_wrapper() {   # lt_openvpn_wrapper NAME [NETNS [MACHINE-ID-FILE [IPC-PID]]]
    local w="$LG_DIR/openvpn-$1"
    {
        echo '#!/bin/sh'
        lt_preload_lines
        if [ -n "${3:-}" ]; then
            # ip netns exec gives a mount namespace of its own: the machine-id is bind-mounted there
            printf 'exec nsenter -t %s -i ip netns exec %s sh -c '\''mount --bind "$0" /etc/machine-id && exec openvpn "$@"'\'' %s "$@"\n' \
                "${4:-$LT_IPC_PID}" "$2" "$3"
        elif [ -n "${2:-}" ]; then
            printf 'exec nsenter -t %s -i ip netns exec %s openvpn "$@"\n' "$LT_IPC_PID" "$2"
        else
            printf 'exec nsenter -t %s -i openvpn "$@"\n' "$LT_IPC_PID"
        fi
    } >"$w"
    chmod 0755 "$w"
    LG_OPENVPN=$w
}

# lt_ipc_holder: prints the pid of a sleeping process holding a new IPC
# namespace (killed at exit).
lt_ipc_holder() {
    local mine now i pid
    command -v nsenter >/dev/null 2>&1 || _lg_skip "nsenter (util-linux) not installed"
    mine=$(readlink /proc/self/ns/ipc)
    unshare --ipc sleep infinity >/dev/null 2>&1 &
    pid=$!
    for ((i = 0; i < 200; i++)); do
        now=$(readlink "/proc/$pid/ns/ipc" 2>/dev/null) || true
        if [ -n "$now" ] && [ "$now" != "$mine" ]; then
            echo "$pid"
            return 0
        fi
        sleep 0.01
    done
    kill "$pid" 2>/dev/null
    lg_fail "no IPC namespace of our own"
}

# lt_ipc_namespace: an IPC namespace for this test.
lt_ipc_namespace() {
    LT_IPC_PID=$(lt_ipc_holder)
    LT_IPC_PIDS="${LT_IPC_PIDS:-} $LT_IPC_PID"
}

lt_ipc() {
    nsenter -t "$LT_IPC_PID" -i "$@"
}

# lt_segment ID: "uid:gid mode" of shared-memory segment ID in this test's IPC
# namespace (the mode's permission bits only), empty when there is none.
lt_segment() {
    lt_ipc cat /proc/sysvipc/shm | awk -v id="$1" '$2 == id {print $8 ":" $9 " " substr($3, length($3) - 2)}'
}

# lt_segments: how many shared-memory segments this test's IPC namespace holds.
lt_segments() {
    lt_ipc cat /proc/sysvipc/shm | awk 'NR > 1' | wc -l
}

lt_user() {
    command -v useradd >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 ||
        _lg_skip "useradd and setpriv are needed"
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$1" ||
        lg_fail "useradd $1"
    LT_USERS="${LT_USERS:-} $1"
}

lt_as() {
    local user=$1
    shift
    nsenter -t "$LT_IPC_PID" -i setpriv --reuid "$user" --regid "$user" --clear-groups -- "$@"
}

lt_sanitizer_reports() {
    local f found=0
    for f in "$LG_DIR"/sanitizer.*; do
        [ -f "$f" ] || continue
        found=1
        echo "=== sanitizer report $f" >&2
        cat "$f" >&2
    done
    return $found
}

lt_init() {
    [ "${LICGATE_SKIP_INTEGRATION:-0}" = 1 ] && _lg_skip "LICGATE_SKIP_INTEGRATION=1"
    lg_init "$1"
    trap 'lt_exit' EXIT
    trap 'lt_cleanup; trap - INT; kill -INT $$' INT
    trap 'lt_cleanup; trap - TERM; kill -TERM $$' TERM
    # a bare name is openvpn's to find in its own plugin directory
    case $LICGATE_PLUGIN in
    */*) [ -r "$LICGATE_PLUGIN" ] || lg_fail "plugin not built: $LICGATE_PLUGIN" ;;
    esac
    lt_ipc_namespace
    lt_openvpn_wrapper plain
    LT_POOL="t$$-$LG_PORT"
    LT_POOL0=$LT_POOL
    LT_LICENSES="$LG_DIR/licenses"
    mkdir -p "$LT_LICENSES"
    lg_pki
}

# lt_license FILE [licgate-authority sign options...]: defaults give a valid
# standard license; later options override.
lt_license() {
    local file=$1
    shift
    "$LICGATE_AUTHORITY" sign --key "$LICGATE_DEV_KEY" --customer "Integration Test" \
        --key-id "LG-TEST-$RANDOM$RANDOM" "$@" >"$LT_LICENSES/$file" \
        || lg_fail "licgate-authority sign $* failed"
}

# lt_plugin [KEY=VALUE...]: the server's "plugin" line. The settings go into a
# config file (config=FILE): openvpn caps a config line at 256 bytes.
lt_plugin() {
    local conf kv
    conf=$(mktemp "$LG_DIR/licgate.XXXXXX") || lg_fail "mktemp"
    {
        echo "license-dir $LT_LICENSES"
        echo "pool $LT_POOL"
        echo "state-dir $LG_DIR/state"
        for kv in "$@"; do echo "${kv%%=*} ${kv#*=}"; done
    } >"$conf"
    chmod 0644 "$conf"
    echo "plugin $LICGATE_PLUGIN config=$conf"
}

# lt_start_fails NAME PLUGIN-LINE: a server config NAME.conf made from the
# reference server's ref.conf (start and stop one with lg_server first) with
# PLUGIN-LINE added; true when $LG_OPENVPN exits on it within 20 s instead of
# serving. Its log is $LG_DIR/NAME.log.
lt_start_fails() {
    local name=$1 plugin=$2 rc=0
    {
        sed -n '/^mode server/,/^log /p' "$LG_DIR/ref.conf" | sed "s#^log .*#log $LG_DIR/$name.log#"
        echo "$plugin"
    } >"$LG_DIR/$name.conf"
    timeout 20 "$LG_OPENVPN" --config "$LG_DIR/$name.conf" >/dev/null 2>&1 || rc=$?
    ip link del "$(sed -n 's/^dev //p' "$LG_DIR/$name.conf")" 2>/dev/null || true
    [ $rc -ne 0 ]
}

lt_connected() {
    local n
    for n in "$@"; do
        lg_connected "$n" && echo "$n"
    done
    return 0
}

# lt_wait_count N TIMEOUT NAMES...: true once exactly N are connected.
lt_wait_count() {
    local want=$1 t=$2 end have
    shift 2
    end=$((SECONDS + t))
    while [ $SECONDS -lt "$end" ]; do
        have=$(lt_connected "$@" | wc -l)
        [ "$have" -eq "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

# lt_wait_refused SERVERLOG TIMEOUT CN...: true once every CN was refused at
# least once by the plugin (at the handshake or at connect).
lt_wait_refused() {
    local log=$1 t=$2 cn end missing
    shift 2
    end=$((SECONDS + t))
    while [ $SECONDS -lt "$end" ]; do
        missing=0
        for cn in "$@"; do
            grep -q "licgate: refused cn='$cn'" "$log" 2>/dev/null || { missing=1; break; }
        done
        [ $missing -eq 0 ] && return 0
        sleep 0.2
    done
    return 1
}

# lt_cns NAMES...: the certificate CN of each client name, from its config.
lt_cn() {
    sed -n 's/^# licgate test client [^ ]* (\(.*\))$/\1/p' "$LG_DIR/$1.conf"
}

# lt_ctl ARGS...: licgatectl on this test's pool.
lt_ctl() {
    "$LICGATE_CTL" --pool "$LT_POOL" "$@"
}

# lt_json EXPR: evaluates a Python expression over the JSON on stdin (as j).
lt_json() {
    python3 -c 'import json, sys; j = json.load(sys.stdin); r = eval(sys.argv[1]); print(r if not isinstance(r, bool) else str(r).lower())' "$1"
}

# lt_netns NAME: a network namespace of this test, with lo up; removed at exit.
lt_netns() {
    ip netns add "$1" || lg_fail "ip netns add $1"
    LT_NETNS="${LT_NETNS:-} $1"
    ip -n "$1" link set lo up
}

# lt_in_netns NS: point the harness's openvpn at namespace NS (servers and
# clients started after this run there).
lt_in_netns() {
    lt_openvpn_wrapper "in-$1" "$1"
}

# lt_machines: two machines, LT_A and LT_B: network namespaces joined by a
# veth pair (192.0.2.1 and 192.0.2.2, links of their own) whose processes,
# started with lt_on, see a machine-id of their own; openvpn on LT_A uses the
# test's IPC namespace, on LT_B one of its own (shared memory is per machine).
lt_machines() {
    LT_A="lgma$$" LT_B="lgmb$$"
    lt_netns "$LT_A"
    lt_netns "$LT_B"
    ip link add "$LT_A" address 02:00:5e:63:00:01 type veth peer name "$LT_B" address 02:00:5e:73:00:01 ||
        lg_fail "veth"
    ip link set "$LT_A" netns "$LT_A"
    ip link set "$LT_B" netns "$LT_B"
    ip -n "$LT_A" addr add 192.0.2.1/24 dev "$LT_A"
    ip -n "$LT_B" addr add 192.0.2.2/24 dev "$LT_B"
    ip -n "$LT_A" link set "$LT_A" up
    ip -n "$LT_B" link set "$LT_B" up
    echo 0123456789abcdef0123456789abcdef >"$LG_DIR/machine-id-$LT_A"
    echo fedcba9876543210fedcba9876543210 >"$LG_DIR/machine-id-$LT_B"
    LT_IPC_B=$(lt_ipc_holder)
    LT_IPC_PIDS="${LT_IPC_PIDS:-} $LT_IPC_B"
}

# lt_on NS CMD...: CMD on machine NS.
lt_on() {
    local ns=$1
    shift
    ip netns exec "$ns" sh -c 'mount --bind "$0" /etc/machine-id && exec "$@"' \
        "$LG_DIR/machine-id-$ns" "$@"
}

# lt_on_machine NS: the harness's openvpn runs on machine NS from now on.
lt_on_machine() {
    local ipc=$LT_IPC_PID
    [ "$1" = "$LT_B" ] && ipc=$LT_IPC_B
    lt_openvpn_wrapper "on-$1" "$1" "$LG_DIR/machine-id-$1" "$ipc"
}

# lt_authority_serve [ENV=VALUE...]: an authority in LT_AUTH (the development
# issuer key, so this build trusts its licenses) serving HTTPS on machine
# LT_A at LT_URL, with a test CA in LT_CA; stopped at exit.
lt_authority_serve() {
    command -v openssl >/dev/null || _lg_skip "no openssl"
    LT_AUTH="$LG_DIR/authority"
    LT_CA="$LG_DIR/ca.pem"
    "$LICGATE_AUTHORITY" init --dir "$LT_AUTH" --issuer-key "$LICGATE_DEV_KEY" >/dev/null ||
        lg_fail "authority init"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$LG_DIR/ca.key" \
        -out "$LT_CA" -days 2 -subj "/CN=licgate test CA" 2>/dev/null || lg_fail "test CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$LG_DIR/srv.key" \
        -out "$LG_DIR/srv.csr" -subj "/CN=192.0.2.1" 2>/dev/null || lg_fail "server key"
    printf 'subjectAltName=IP:192.0.2.1\n' >"$LG_DIR/srv.ext"
    openssl x509 -req -in "$LG_DIR/srv.csr" -CA "$LT_CA" -CAkey "$LG_DIR/ca.key" \
        -CAcreateserial -out "$LG_DIR/srv.pem" -days 2 -extfile "$LG_DIR/srv.ext" 2>/dev/null ||
        lg_fail "server certificate"
    LT_URL="https://192.0.2.1:$LG_PORT"
    ip netns exec "$LT_A" env "$@" "$LICGATE_AUTHORITY" serve --dir "$LT_AUTH" \
        --listen "192.0.2.1:$LG_PORT" --cert "$LG_DIR/srv.pem" --key "$LG_DIR/srv.key" \
        >"$LG_DIR/serve.log" 2>&1 &
    LT_SERVE_PID=$!
    lg_wait_log "$LG_DIR/serve.log" "serving activation API" 10 || lg_fail "serve did not start"
}
