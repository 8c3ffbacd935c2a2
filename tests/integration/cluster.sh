# shellcheck shell=bash
# tests/integration/cluster.sh: sourced by the cluster tests (not a test
# itself). A cluster on one machine: etcd members on a bridge of the host,
# and nodes, each a network namespace joined to the bridge, with its own
# machine-id, its own IPC namespace (shared memory is per machine), its own
# openvpn with the plugin, and its own licgate-agent (docs/cluster.md).
#
#   cl_init NAME SEATS NODES      lt_init, the bridge, NODES nodes (a b c ...),
#                                 a cluster license of SEATS seats on each
#   cl_etcd_start N               N members; CL_ENDPOINTS lists their URLs
#   cl_etcd_kill I | cl_etcd_revive I
#   cl_node_up NODE               its openvpn and its agent
#   cl_agent_kill NODE | cl_agent_start NODE
#   cl_clients NODE K             K clients on NODE (cn NODE1..NODEK)
#   cl_in_use NODE                the node's sessions now
#   cl_watch_start | cl_watch_stop   samples every node's in_use every 100 ms
#   cl_watch_max                  the most tunnels seen at once on all nodes
. "$(dirname "${BASH_SOURCE[0]}")/licgate.sh"

CL_LEASE=3 # seconds: a tick is 0.5 s
# Many openvpn processes on two cores (under ASan too): give starts and TLS handshakes time.
LG_HAND_WINDOW=${LG_HAND_WINDOW_CLUSTER:-20}
# A refused client's seat is kept for it until it comes back: after its hand-window.
CL_HOLD=$((LG_HAND_WINDOW + 5))
LG_START_TIMEOUT=60

# cl_spawn NAME CMD...: CMD in the background under a waiting subshell (no job notice when it
# is killed); its pid in CL_PID and $LG_DIR/NAME.bgpid; killed at exit.
cl_spawn() {
    local name=$1 i
    shift
    rm -f "$LG_DIR/$name.bgpid"
    (
        "$@" &
        echo $! >"$LG_DIR/$name.bgpid"
        wait $! || true
    ) >/dev/null 2>&1 &
    for ((i = 0; i < 200; i++)); do
        [ -s "$LG_DIR/$name.bgpid" ] && break
        sleep 0.01
    done
    CL_PID=$(cat "$LG_DIR/$name.bgpid")
    LT_EXTRA_PIDS="${LT_EXTRA_PIDS:-} $CL_PID"
}

# cl_reap PID: kills PID and waits until it is gone.
cl_reap() {
    local i
    kill -KILL "$1" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.01
    done
}

# cl_lock: one cluster test at a time on the machine. Each is 3 etcd members, 3 openvpn
# servers, 9 clients and 3 agents on a 3 s lease; two at once on 2 cores (make -j2 check puts
# them side by side) starve each other's agents past their deadlines. A holder process keeps
# the lock (none of the test's own processes inherit it) and is killed at exit; after 15
# minutes of waiting the test runs anyway.
cl_lock() {
    local i
    (
        flock -w 900 9 || true
        : >"$LG_DIR/cluster-lock"
        exec sleep infinity
    ) 9>/run/lock/licgate-cluster-tests.lock >/dev/null 2>&1 &
    LT_IPC_PIDS="${LT_IPC_PIDS:-} $!"
    for ((i = 0; i < 9100; i++)); do
        [ -e "$LG_DIR/cluster-lock" ] && return 0
        sleep 0.1
    done
}

cl_init() {
    local name=$1 seats=$2 nodes=$3 i n
    command -v etcd >/dev/null || _lg_skip "etcd not installed (etcd-server)"
    lt_init "$name"
    cl_lock
    CL_SEATS=$seats CL_NODES=() CL_ETCD_PIDS=() CL_AGENT_PIDS=()
    CL_BR="lgbr$$"
    ip link add "$CL_BR" type bridge || lg_fail "bridge"
    LT_DEVS="${LT_DEVS:-} $CL_BR"
    CL_NET="10.$LG_NET_A.$((LG_NET_B + 7))" # the last /24 of this test's /21: tests may run at once
    ip addr add "$CL_NET.254/24" dev "$CL_BR"
    ip link set "$CL_BR" up
    lt_license cluster.lic --key-id "LG-CLUSTER-$$" --kind cluster --seats "$seats"
    CL_KEY="LG-CLUSTER-$$"
    for ((i = 0; i < nodes; i++)); do
        n=$(printf "\\x$(printf %x $((97 + i)))")
        cl_node_make "$n" $((i + 1))
    done
}

# cl_node_make NODE INDEX: the namespace, its link to the bridge, its machine-id and config.
cl_node_make() {
    local n=$1 i=$2 ns="lgc$1$$" d="$LG_DIR/node-$1"
    lt_netns "$ns"
    ip link add "$ns" type veth peer name "lgc${n}r$$" || lg_fail "veth for $n"
    ip link set "$ns" netns "$ns"
    ip link set "lgc${n}r$$" master "$CL_BR"
    ip link set "lgc${n}r$$" up
    LT_DEVS="${LT_DEVS:-} lgc${n}r$$"
    ip -n "$ns" addr add "$CL_NET.$i/24" dev "$ns"
    ip -n "$ns" link set "$ns" up
    printf '%032x\n' "$((0x5eed0000 + i))" >"$LG_DIR/machine-id-$ns"
    mkdir -p "$d/licenses" "$d/state"
    cp "$LT_LICENSES/cluster.lic" "$d/licenses/"
    eval "CL_IPC_$n=\$(lt_ipc_holder)"
    eval "LT_IPC_PIDS=\"\${LT_IPC_PIDS:-} \$CL_IPC_$n\""
    CL_NODES+=("$n")
}

# cl_conf NODE: the node's licgate.conf (written once the etcd endpoints are known).
cl_conf() {
    local n=$1 d="$LG_DIR/node-$1"
    {
        echo "license-dir $d/licenses"
        echo "state-dir $d/state"
        echo "pool $LT_POOL0-$n"
        echo "cluster-etcd $CL_ENDPOINTS"
        echo "cluster-node $n"
        echo "cluster-lease $CL_LEASE"
        echo "cluster-hold $CL_HOLD"
    } >"$d/licgate.conf"
    chmod 0644 "$d/licgate.conf"
    echo "$d/licgate.conf"
}

cl_etcd_start() {
    local count=$1 i initial="" urls=""
    CL_ETCD_BASE=$((LG_PORT + 100))
    for ((i = 1; i <= count; i++)); do
        initial="$initial${initial:+,}e$i=http://127.0.0.1:$((CL_ETCD_BASE + 50 + i))"
        urls="$urls${urls:+,}http://$CL_NET.254:$((CL_ETCD_BASE + i))"
    done
    CL_INITIAL=$initial CL_ENDPOINTS=$urls CL_ETCD_COUNT=$count
    for ((i = 1; i <= count; i++)); do cl_etcd_run "$i" new; done
    for ((i = 1; i <= count; i++)); do
        lg_wait_log "$LG_DIR/etcd-$i.log" "ready to serve client requests" 30 ||
            lg_fail "etcd member $i did not start: $(tail -n 5 "$LG_DIR/etcd-$i.log")"
    done
}

cl_etcd_run() {
    local i=$1 state=$2
    cl_spawn "etcd-$i" sh -c 'exec "$@" >>"$0" 2>&1' "$LG_DIR/etcd-$i.log" \
        etcd --name "e$i" --data-dir "$LG_DIR/etcd-$i.data" \
        --listen-client-urls "http://$CL_NET.254:$((CL_ETCD_BASE + i))" \
        --advertise-client-urls "http://$CL_NET.254:$((CL_ETCD_BASE + i))" \
        --listen-peer-urls "http://127.0.0.1:$((CL_ETCD_BASE + 50 + i))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((CL_ETCD_BASE + 50 + i))" \
        --initial-cluster "$CL_INITIAL" --initial-cluster-state "$state" \
        --initial-cluster-token "lgc$$" --heartbeat-interval 50 --election-timeout 500
    CL_ETCD_PIDS[i]=$CL_PID
}

cl_etcd_kill() {
    cl_reap "${CL_ETCD_PIDS[$1]}"
}

cl_etcd_revive() {
    cl_etcd_run "$1" existing
}

cl_node_up() {
    local n=$1 ns="lgc$1$$" conf ipc
    conf=$(cl_conf "$n")
    eval "ipc=\$CL_IPC_$n"
    lt_openvpn_wrapper "on-$ns" "$ns" "$LG_DIR/machine-id-$ns" "$ipc"
    LT_POOL="$LT_POOL0-$n"
    lg_server "srv$n" udp "$LG_PORT" "plugin $LICGATE_PLUGIN config=$conf"
    cl_agent_start "$n"
}

cl_agent_start() {
    local n=$1 ns="lgc$1$$"
    # each line stamped with the time, as journald would: the agent's pid stays CL_PID
    cl_spawn "agent-$n" bash -c 'exec "$@" > >(while IFS= read -r l; do
        printf "%s %s\n" "$(date +%T.%3N)" "$l"; done >>"$0") 2>&1' "$LG_DIR/agent-$n.log" \
        ip netns exec "$ns" "$LICGATE_AGENT" --config "$LG_DIR/node-$n/licgate.conf"
    eval "CL_AGENT_$n=\$CL_PID"
}

cl_agent_kill() {
    local pid
    eval "pid=\$CL_AGENT_$1"
    cl_reap "$pid"
}

# cl_clients NODE K: K more clients on NODE (the node's openvpn must be up).
cl_clients() {
    local n=$1 k=$2 ns="lgc$1$$" ipc i
    eval "ipc=\$CL_IPC_$n"
    lt_openvpn_wrapper "on-$ns" "$ns" "$LG_DIR/machine-id-$ns" "$ipc"
    for ((i = 1; i <= k; i++)); do
        lg_client "$n$i" udp "$LG_PORT" "$n$i" "connect-retry 1 1"
    done
}

cl_in_use() {
    "$LICGATE_CTL" --pool "$LT_POOL0-$1" --json status 2>/dev/null | lt_json 'j["in_use"]' 2>/dev/null || echo 0
}

cl_status() {
    "$LICGATE_CTL" --pool "$LT_POOL0-$1" --json status | lt_json "$2"
}

cl_total() {
    local n t=0
    for n in "${CL_NODES[@]}"; do t=$((t + $(cl_in_use "$n"))); done
    echo "$t"
}

# The watcher: one line "TOTAL a b c" every 100 ms into $LG_DIR/watch.
cl_watch_start() {
    : >"$LG_DIR/watch"
    (
        while :; do
            local line="" t=0 n u
            for n in "${CL_NODES[@]}"; do
                u=$(cl_in_use "$n")
                t=$((t + u))
                line="$line $u"
            done
            echo "$t$line" >>"$LG_DIR/watch"
            echo "$(date +%T.%1N) $t$line" >>"$LG_DIR/watch.all" # kept for a failure's story
            sleep 0.1
        done
    ) &
    CL_WATCH=$!
    LT_EXTRA_PIDS="${LT_EXTRA_PIDS:-} $!"
}

cl_watch_stop() {
    kill "$CL_WATCH" 2>/dev/null
    wait "$CL_WATCH" 2>/dev/null || true
}

cl_watch_max() {
    awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$LG_DIR/watch"
}

# cl_wait_total N S: until the nodes hold N sessions together, S seconds at most.
cl_wait_total() {
    local end=$((SECONDS + $2))
    until [ "$(cl_total)" -eq "$1" ]; do
        [ $SECONDS -lt "$end" ] || return 1
        sleep 0.2
    done
}

# cl_churn_start NAME...: while it runs, one of the clients reconnects every 300 ms (SIGUSR1).
cl_churn_start() {
    local names=("$@")
    (
        while :; do
            local c=${names[RANDOM % ${#names[@]}]} pid
            pid=$(cat "$LG_DIR/$c.pid" 2>/dev/null) && kill -USR1 "$pid" 2>/dev/null
            sleep 0.3
        done
    ) &
    CL_CHURN=$!
    LT_EXTRA_PIDS="${LT_EXTRA_PIDS:-} $!"
}

cl_churn_stop() {
    kill "$CL_CHURN" 2>/dev/null
    wait "$CL_CHURN" 2>/dev/null || true
}

# cl_wait_status NODE EXPR VALUE S: until the node's status EXPR is VALUE.
cl_wait_status() {
    local end=$((SECONDS + $4))
    until [ "$(cl_status "$1" "$2" 2>/dev/null)" = "$3" ]; do
        [ $SECONDS -lt "$end" ] || return 1
        sleep 0.1
    done
}
