# shellcheck shell=bash
# tests/integration/lib.sh: harness for licgate integration tests.
#
# Runs REAL openvpn 2.6 servers and clients on 127.0.0.1, one private temp dir
# per test, everything cleaned up on exit. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   lg_init my-test            # skip (exit 77) unless root + openvpn + tun
#   lg_pki                     # CA, server cert, client1..client8
#   lg_server srv udp "$LG_PORT"
#   lg_client c1 udp "$LG_PORT" client1
#   lg_wait_connected c1 20 || lg_fail "c1 did not connect"
#   lg_pass "done"
#
# Adding config lines (e.g. the plugin) to a server or client:
#   * extra arguments after the fixed ones, one config line per argument:
#       lg_server srv udp "$LG_PORT" "plugin $SO pool=t1 capacity=2" "verb 5"
#   * lines on stdin, read where an extra argument is "-":
#       lg_server srv udp "$LG_PORT" - <<EOF
#       plugin $SO pool=t1
#       EOF
#   * environment: LG_SERVER_EXTRA (servers) / LG_CLIENT_EXTRA (clients),
#     newline-separated config lines appended to every config written while
#     they are set:
#       LG_SERVER_EXTRA="plugin $SO pool=t1 capacity=2" lg_server srv tcp-server "$LG_PORT"
# Extra lines come last, so they override the defaults (openvpn: last wins for
# most single-value options).
#
# Ports: LG_PORT is a base port; LG_PORT .. LG_PORT+LG_NPORTS-1 (default 4)
# were free on 127.0.0.1 for both UDP and TCP when lg_init ran.
# Subnets: each lg_server gets its own /24 10.A.(B+n).0, n = 0,1,2... (up to 8
# servers per test); server n's VPN address is 10.A.(B+n).1.
#
# Client behaviour (openvpn 2.6.14, measured on loopback):
#   * clients use "dev null" + "ifconfig-noexec" + "route-noexec": no tun
#     device, no host address or route, yet the pushed ifconfig is accepted and
#     "Initialization Sequence Completed" is reached. Plain "dev null" without
#     ifconfig-noexec does NOT work: "Linux can't set mtu (1500) on null",
#     "Exiting due to fatal error". Only servers create tun devices.
#   * refused at TLS verify time (plugin TLS_VERIFY error, tls-verify script
#     failure): the server sends nothing useful back.
#       UDP: the client waits for hand-window (default 60 s!) -> "TLS key
#            negotiation failed to occur within N seconds", SIGUSR1[soft,
#            tls-error], restart. Clients here use hand-window LG_HAND_WINDOW
#            (default 3), so a refused UDP client retries every ~4 s.
#       TCP: the server closes the connection at once -> "Connection reset,
#            restarting", SIGUSR1[soft,connection-reset]; retry after the
#            1 s "connect-retry 1 1" pause (no backoff growth).
#   * AUTH_FAILED (client-connect refusal, plugin CLIENT_CONNECT_V2 error):
#     without auth-retry a 2.6 client EXITS (TCP: "SIGTERM[soft,auth-failure]
#     received, process exiting"; UDP: "SIGTERM received, sending exit
#     notification to peer"). With "auth-retry nointeract" (our default; no
#     auth-user-pass needed) it logs "SIGUSR1[soft,auth-failure] received,
#     process restarting" and retries every ~2 s. Override with an extra line
#     "auth-retry none" to test the exit.
#   * server-poll-timeout 4: a client facing no server at all moves on after
#     4 s instead of 120 s.
#
# lg_connected NAME: true iff the process is alive and the LAST "Initialization
# Sequence Completed" in its log comes after the last restart/exit marker
# ("Restart pause", "SIGUSR1[", "SIGTERM[", "SIGHUP[", "process exiting",
# "AUTH_FAILED", "Inactivity timeout").
#
# Functions:
#   lg_init NAME               temp dir, traps, skip (77) checks, LG_PORT, subnets
#   lg_pki                     CA + "server" + client1..client8 (EC P-256)
#   lg_client_cert CN          one more client cert (lg_client does it on demand)
#   lg_server NAME PROTO PORT [LINE...|-]   start server, wait until ready
#   lg_server_net NAME         print the server's 10.A.B.0 network
#   lg_client NAME PROTO PORT CN [LINE...|-]  start client (does not wait)
#   lg_restart NAME            stop and start NAME again, same config
#   lg_alive NAME              NAME's openvpn process is running
#   lg_connected NAME          client is connected now (see above)
#   lg_wait_connected NAME T   poll lg_connected up to T s
#   lg_wait_log FILE RE T [NAME]  poll grep -E up to T s (stop early if NAME dies)
#   lg_count_log FILE RE       number of matching lines
#   lg_kill NAME SIGNAL        signal NAME's openvpn (HUP, USR1, KILL, ...)
#   lg_stop NAME               TERM, up to 5 s, KILL
#   lg_sleep S                 sleep that does not delay INT/TERM cleanup
#   lg_dump_logs               tails of every log in $LG_DIR to stderr
#   lg_fail MSG / lg_pass MSG  report (lg_fail dumps logs and exits 1)
#   lg_cleanup                 kill our pids, delete our tun devs, rm $LG_DIR
# Files: $LG_DIR/NAME.{conf,log,pid,out}; servers also NAME.dev, NAME.net.
#
# Env knobs: LG_KEEP=1 keeps $LG_DIR; LG_VERB (default 4); LG_HAND_WINDOW
# (client, default 3); LG_START_TIMEOUT (default 20 s, server start);
# LG_OPENVPN (binary, default "openvpn"); LG_NPORTS (default 4).
# Processes are signalled only by recorded pid, and only while their command
# line still names a config in $LG_DIR (never by name).

# -------------------------------------------------------------- internals
LG_DIR=${LG_DIR:-}
LG_NAME=${LG_NAME:-}
LG_PORT=${LG_PORT:-}
LG_NPORTS=${LG_NPORTS:-4}
LG_NET_A=${LG_NET_A:-}
LG_NET_B=${LG_NET_B:-}
LG_VERB=${LG_VERB:-4}
LG_HAND_WINDOW=${LG_HAND_WINDOW:-3}
LG_START_TIMEOUT=${LG_START_TIMEOUT:-20}
LG_OPENVPN=${LG_OPENVPN:-openvpn}
LG_SERVER_EXTRA=${LG_SERVER_EXTRA:-}
LG_CLIENT_EXTRA=${LG_CLIENT_EXTRA:-}
_lg_nservers=0
_lg_cleaned=0
_lg_pids=()      # every pid we started
_lg_devs=()      # every tun device name we configured

_lg_log() { printf '[%s] %s\n' "${LG_NAME:-lg}" "$*" >&2; }

_lg_skip() {
    printf 'SKIP: %s: %s\n' "${LG_NAME:-lg}" "$*" >&2
    exit 77
}

# _lg_port_busy PORT: true if PORT is bound on TCP or UDP (any address that
# covers 127.0.0.1: 127.0.0.1, 0.0.0.0, *, [::]).
_lg_port_busy() {
    local p=$1 out
    out=$(ss -Htuan "( sport = :$p )" 2>/dev/null) || return 0
    [ -n "$out" ]
}

_lg_pick_port() {
    # Stay below the kernel's ephemeral range so nobind clients (ours or
    # another test's) never grab our server ports.
    local tries=0 base i busy lo=10000 hi=32768 eph
    eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || true
    if [ -n "$eph" ] && [ "$eph" -gt $((lo + 1000)) ]; then hi=$eph; fi
    while [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        base=$(( lo + (RANDOM * 32768 + RANDOM) % (hi - lo - LG_NPORTS) ))
        base=$(( base - base % LG_NPORTS ))
        busy=0
        for ((i = 0; i < LG_NPORTS; i++)); do
            if _lg_port_busy $((base + i)); then busy=1; break; fi
        done
        if [ $busy -eq 0 ]; then LG_PORT=$base; return 0; fi
    done
    return 1
}

_lg_pick_net() {
    local tries=0 a b routes i clash
    routes=$(ip -4 -o route show table all 2>/dev/null; ip -4 -o addr show 2>/dev/null)
    while [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        a=$(( 64 + RANDOM % 190 ))          # 10.64 .. 10.253
        b=$(( (RANDOM % 32) * 8 ))          # 8 consecutive /24s: b .. b+7
        clash=0
        for ((i = 0; i < 8; i++)); do
            if grep -q "10\.$a\.$((b + i))\." <<<"$routes"; then clash=1; break; fi
        done
        if [ $clash -eq 0 ]; then LG_NET_A=$a; LG_NET_B=$b; return 0; fi
    done
    return 1
}

# ------------------------------------------------------------------ init
# lg_init NAME: temp dir, trap, skip checks, port and subnet.
lg_init() {
    LG_NAME=${1:-$(basename "$0" .sh)}
    [ "$(id -u)" -eq 0 ] || _lg_skip "needs root"
    command -v "$LG_OPENVPN" >/dev/null 2>&1 || _lg_skip "openvpn not installed"
    command -v openssl >/dev/null 2>&1 || _lg_skip "openssl not installed"
    command -v ss >/dev/null 2>&1 || _lg_skip "ss (iproute2) not installed"
    command -v ip >/dev/null 2>&1 || _lg_skip "ip (iproute2) not installed"
    # /dev/net/tun must be openable (exec fd open fails on EPERM/ENODEV/ENXIO)
    if ! { exec 9<>/dev/net/tun; } 2>/dev/null; then
        _lg_skip "/dev/net/tun unusable"
    fi
    exec 9>&-
    LG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lg-${LG_NAME}.XXXXXX")
    chmod 0700 "$LG_DIR"
    _lg_cleaned=0
    trap 'lg_cleanup' EXIT
    trap 'lg_cleanup; trap - INT; kill -INT $$' INT
    trap 'lg_cleanup; trap - TERM; kill -TERM $$' TERM
    _lg_pick_port || lg_fail "no free port found"
    _lg_pick_net || lg_fail "no free 10.x.y.0/24 subnet found"
    export LG_DIR LG_PORT
    _lg_log "dir $LG_DIR port $LG_PORT net 10.$LG_NET_A.$LG_NET_B.0/21"
}

# ------------------------------------------------------------------- pki
_lg_ssl() {
    openssl "$@" 2>>"$LG_DIR/pki/openssl.log" >/dev/null \
        || lg_fail "openssl $1 failed (see $LG_DIR/pki/openssl.log)"
}

# lg_client_cert CN [server]: EC P-256 key + cert signed by the test CA.
lg_client_cert() {
    local cn=$1 kind=${2:-client} eku=clientAuth d="$LG_DIR/pki"
    [ "$kind" = server ] && eku=serverAuth
    _lg_ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/$cn.key" -out "$d/$cn.crt" -days 30 -subj "/CN=$cn" \
        -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature,keyAgreement" \
        -addext "extendedKeyUsage=$eku"
}

# lg_pki: CA, "server" cert, client1..client8 into $LG_DIR/pki.
lg_pki() {
    local d="$LG_DIR/pki" i
    mkdir -p "$d"
    _lg_ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 30 -subj "/CN=licgate-test-ca" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    local pids=() p
    lg_client_cert server server &
    pids+=($!)
    for i in 1 2 3 4 5 6 7 8; do lg_client_cert "client$i" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || lg_fail "pki generation failed"; done
    for i in server client1 client2 client3 client4 client5 client6 client7 client8; do
        [ -s "$d/$i.crt" ] || lg_fail "pki: $i.crt missing"
    done
    chmod 600 "$d"/*.key
}

# --------------------------------------------------------------- helpers
# _lg_extra_lines ARGS...: print extra config lines from args / stdin.
_lg_extra_lines() {
    local a
    for a in "$@"; do
        if [ "$a" = - ]; then cat; else printf '%s\n' "$a"; fi
    done
}

_lg_start() {   # _lg_start NAME: start openvpn on $LG_DIR/NAME.conf
    local name=$1 pid
    : >"$LG_DIR/$name.log"
    # openvpn runs under a small waiting subshell: the subshell reaps it (no
    # zombies even where pid 1 does not reap), and bash prints no "Killed"
    # job notice when a test SIGKILLs openvpn. Liveness is checked via /proc.
    rm -f "$LG_DIR/$name.pid"
    (
        "$LG_OPENVPN" --config "$LG_DIR/$name.conf" \
            >>"$LG_DIR/$name.out" 2>&1 </dev/null &
        echo $! >"$LG_DIR/$name.pid.tmp"
        mv "$LG_DIR/$name.pid.tmp" "$LG_DIR/$name.pid"
        wait $! || true
    ) >/dev/null 2>&1 &
    local i
    for ((i = 0; i < 500; i++)); do
        [ -s "$LG_DIR/$name.pid" ] && break
        sleep 0.01
    done
    pid=$(cat "$LG_DIR/$name.pid" 2>/dev/null) || lg_fail "could not start openvpn for $name"
    _lg_pids+=("$pid")
    # wait for the exec, so lg_alive/_lg_ours recognise the process
    for ((i = 0; i < 200; i++)); do
        _lg_ours "$pid" && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.01
    done
}

# _lg_ours PID: true if PID is alive and is an openvpn we started (its command
# line names a config inside $LG_DIR), so a recycled pid is never signalled.
# Inside an execve (the wrapper execs nsenter, ip, sh, openvpn in turn) the
# kernel shows an empty command line for a moment: read again before saying no.
_lg_ours() {
    local cmd i
    [ -n "$1" ] || return 1
    for i in 1 2 3 4 5; do
        [ -r "/proc/$1/cmdline" ] || return 1
        cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
        case $cmd in
        *"--config $LG_DIR/"*) return 0 ;;
        "") sleep 0.01 ;;
        *) return 1 ;;
        esac
    done
    return 1
}

# _lg_tree PID: PID and its descendants, a line each (state, wait channel,
# command), to tell a hung start from a slow one.
_lg_tree() {
    ps -o pid=,stat=,wchan:20=,args= -p "$1" 2>/dev/null | tr '\n' ';'
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do _lg_tree "$c"; done
}

_lg_pid() {     # _lg_pid NAME: print recorded pid (empty if none)
    if [ -f "$LG_DIR/$1.pid" ]; then cat "$LG_DIR/$1.pid"; fi
}

lg_alive() {    # lg_alive NAME: true if NAME's process is running
    _lg_ours "$(_lg_pid "$1")"
}

# --------------------------------------------------------------- servers
# lg_server NAME PROTO PORT [config lines... | -]
lg_server() {
    local name=$1 proto=$2 port=$3 dev net
    shift 3
    [ "$proto" = udp ] || [ "$proto" = tcp-server ] || [ "$proto" = tcp ] \
        || lg_fail "lg_server: proto must be udp or tcp-server"
    [ "$proto" = tcp ] && proto=tcp-server
    [ $_lg_nservers -lt 8 ] || lg_fail "lg_server: at most 8 servers per test"
    dev="lg$$s$_lg_nservers"
    net="10.$LG_NET_A.$((LG_NET_B + _lg_nservers)).0"
    _lg_nservers=$((_lg_nservers + 1))
    _lg_devs+=("$dev")
    {
        cat <<EOF
# licgate test server $name
mode server
tls-server
proto $proto
local 127.0.0.1
port $port
dev $dev
dev-type tun
topology subnet
server $net 255.255.255.0
ca $LG_DIR/pki/ca.crt
cert $LG_DIR/pki/server.crt
key $LG_DIR/pki/server.key
dh none
keepalive 2 10
disable-dco
verb $LG_VERB
log $LG_DIR/$name.log
EOF
        [ "$proto" = udp ] && echo "explicit-exit-notify 1"
        [ -n "$LG_SERVER_EXTRA" ] && printf '%s\n' "$LG_SERVER_EXTRA"
        _lg_extra_lines "$@"
    } >"$LG_DIR/$name.conf"
    echo "$dev" >"$LG_DIR/$name.dev"
    echo "$net" >"$LG_DIR/$name.net"
    _lg_start "$name"
    if ! lg_wait_log "$LG_DIR/$name.log" 'Initialization Sequence Completed' "$LG_START_TIMEOUT" "$name"; then
        lg_alive "$name" || lg_fail "server $name exited before it started"
        lg_fail "server $name did not start within ${LG_START_TIMEOUT}s: $(_lg_tree "$(_lg_pid "$name")")"
    fi
}

# lg_server_net NAME: print the server's VPN /24 network (10.A.B.0)
lg_server_net() { cat "$LG_DIR/$1.net"; }

# --------------------------------------------------------------- clients
# lg_client NAME PROTO PORT CN [config lines... | -]
#   PROTO: udp | tcp-client (tcp accepted as alias). Does not wait.
lg_client() {
    local name=$1 proto=$2 port=$3 cn=$4
    shift 4
    case $proto in tcp | tcp-server) proto=tcp-client ;; esac
    [ -s "$LG_DIR/pki/$cn.crt" ] || lg_client_cert "$cn"
    {
        cat <<EOF
# licgate test client $name ($cn)
client
proto $proto
remote 127.0.0.1 $port
nobind
dev null
ifconfig-noexec
route-noexec
ca $LG_DIR/pki/ca.crt
cert $LG_DIR/pki/$cn.crt
key $LG_DIR/pki/$cn.key
remote-cert-tls server
connect-retry 1 1
server-poll-timeout 4
hand-window $LG_HAND_WINDOW
auth-retry nointeract
resolv-retry infinite
disable-dco
verb $LG_VERB
log $LG_DIR/$name.log
EOF
        [ "$proto" = udp ] && echo "explicit-exit-notify 1"
        [ -n "$LG_CLIENT_EXTRA" ] && printf '%s\n' "$LG_CLIENT_EXTRA"
        _lg_extra_lines "$@"
    } >"$LG_DIR/$name.conf"
    _lg_start "$name"
}

# lg_restart NAME: stop NAME and start it again with the same config.
lg_restart() {
    lg_stop "$1"
    _lg_start "$1"
}

# ------------------------------------------------------------------ logs
# lg_wait_log FILE REGEX TIMEOUT_S [NAME]: poll until grep -E matches.
#   If NAME is given and its process dies first, return 1 early.
lg_wait_log() {
    local file=$1 re=$2 t=$3 name=${4:-} end
    end=$(( $(date +%s%N) / 1000000 + t * 1000 ))
    while :; do
        if [ -f "$file" ] && grep -Eq -- "$re" "$file"; then return 0; fi
        if [ -n "$name" ] && ! lg_alive "$name"; then
            grep -Eq -- "$re" "$file" 2>/dev/null && return 0
            return 1
        fi
        [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
        sleep 0.05
    done
}

# lg_count_log FILE REGEX: number of matching lines (0 if none / no file).
lg_count_log() {
    local n
    n=$(grep -Ec -- "$2" "$1" 2>/dev/null) || true
    echo "${n:-0}"
}

# lg_connected NAME: client's latest "Initialization Sequence Completed" is
# after its latest restart/exit marker, and the process is alive.
_LG_RESTART_RE='Restart pause|SIGUSR1\[|SIGTERM\[|SIGHUP\[|process exiting|AUTH_FAILED|Inactivity timeout'
lg_connected() {
    local f="$LG_DIR/$1.log" last_ok last_rs
    lg_alive "$1" || return 1
    last_ok=$(grep -En 'Initialization Sequence Completed' "$f" 2>/dev/null | tail -n1 | cut -d: -f1) || true
    [ -n "$last_ok" ] || return 1
    last_rs=$(grep -En -- "$_LG_RESTART_RE" "$f" 2>/dev/null | tail -n1 | cut -d: -f1) || true
    [ -z "$last_rs" ] || [ "$last_rs" -lt "$last_ok" ]
}

# lg_wait_connected NAME TIMEOUT_S: poll lg_connected.
lg_wait_connected() {
    local end=$(( $(date +%s%N) / 1000000 + $2 * 1000 ))
    while ! lg_connected "$1"; do
        [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
        sleep 0.05
    done
}

# ------------------------------------------------------------- processes
# lg_kill NAME SIGNAL: send SIGNAL (e.g. HUP, USR1, KILL) to NAME.
lg_kill() {
    local pid
    pid=$(_lg_pid "$1")
    _lg_ours "$pid" || return 1
    kill -s "$2" "$pid" 2>/dev/null
}

# lg_stop NAME: SIGTERM, wait up to 5 s for it to exit, then SIGKILL.
lg_stop() {
    local pid i
    pid=$(_lg_pid "$1")
    [ -n "$pid" ] || return 0
    if _lg_ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            _lg_gone "$pid" && break
            sleep 0.05
        done
        _lg_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do _lg_gone "$pid" && break; sleep 0.05; done
    fi
    _lg_forget "$pid"
    rm -f "$LG_DIR/$1.pid"
}

# _lg_gone PID: process fully exited (no longer exists or is a zombie, so its
# files, e.g. its tun device, are closed). Only used on pids that _lg_ours
# recognised just before, so a recycled pid is not a concern in practice.
_lg_gone() {
    ! kill -0 "$1" 2>/dev/null || [ "$(_lg_state "$1")" = Z ]
}

_lg_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true; }

_lg_forget() {  # drop PID from the list of processes cleanup must kill
    local p keep=()
    for p in "${_lg_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    _lg_pids=("${keep[@]}")
}

# ----------------------------------------------------------- pass / fail
lg_dump_logs() {
    local f
    [ -n "$LG_DIR" ] && [ -d "$LG_DIR" ] || return 0
    for f in "$LG_DIR"/*.log "$LG_DIR"/*.out "$LG_DIR"/sanitizer.*; do
        [ -s "$f" ] || continue
        printf '==== %s (last 20 lines) ====\n' "$f" >&2
        tail -n 20 "$f" >&2
    done
}

lg_fail() {
    printf 'FAIL: %s: %s\n' "${LG_NAME:-lg}" "$*" >&2
    lg_dump_logs
    exit 1
}

lg_pass() {
    printf 'PASS: %s: %s\n' "${LG_NAME:-lg}" "$*" >&2
}

# ---------------------------------------------------------------- cleanup
# lg_cleanup: stop every process we started (by pid), delete our tun devices,
# remove $LG_DIR unless LG_KEEP=1. Idempotent.
lg_cleanup() {
    local pid dev i alive had_e=0 mine=()
    [ "$_lg_cleaned" = 1 ] && return 0
    _lg_cleaned=1
    case $- in *e*) had_e=1 ;; esac
    set +e
    for pid in "${_lg_pids[@]}"; do
        _lg_ours "$pid" && mine+=("$pid")
    done
    for pid in "${mine[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 100; i++)); do     # up to 5 s for a clean exit
        alive=0
        for pid in "${mine[@]}"; do _lg_gone "$pid" || { alive=1; break; }; done
        [ $alive -eq 0 ] && break
        sleep 0.05
    done
    if [ $alive -ne 0 ]; then
        for pid in "${mine[@]}"; do _lg_gone "$pid" || kill -KILL "$pid" 2>/dev/null; done
        for ((i = 0; i < 40; i++)); do
            alive=0
            for pid in "${mine[@]}"; do _lg_gone "$pid" || { alive=1; break; }; done
            [ $alive -eq 0 ] && break
            sleep 0.05
        done
    fi
    _lg_pids=()
    for dev in "${_lg_devs[@]}"; do
        for ((i = 0; i < 20; i++)); do  # non-persistent tun vanishes on close
            ip link show dev "$dev" >/dev/null 2>&1 || break
            sleep 0.05
        done
        ip link show dev "$dev" >/dev/null 2>&1 && ip link del dev "$dev" 2>/dev/null
    done
    if [ -n "$LG_DIR" ] && [ -d "$LG_DIR" ]; then
        if [ "${LG_KEEP:-0}" = 1 ]; then
            _lg_log "kept $LG_DIR"
        else
            rm -rf "$LG_DIR"
        fi
    fi
    [ $had_e = 1 ] && set -e
    return 0
}

# lg_sleep SECONDS: sleep that lets INT/TERM traps (cleanup) run at once;
# bash defers traps until a foreground command ends, so a plain "sleep 30"
# delays cleanup by up to 30 s.
lg_sleep() {
    sleep "$1" &
    wait $! || true
}
