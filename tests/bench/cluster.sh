#!/usr/bin/env bash
# The cluster's figures for scripts/bench (docs/PERFORMANCE.md): 3 etcd
# members and 3 nodes (tests/integration/cluster.sh) sharing 12 seats.
#   churn: 9 clients (under the seats, so every reconnect is an admission)
#     reconnecting for a while: admissions against etcd writes (etcd's
#     revision counts every write);
#   moves: with clients waiting on b and c, node a's clients leave one at
#     a time: from the seat freed in a's pool until b or c holds it;
#   crash: node c's agent and openvpn killed: how long its seats stay idle
#     (until etcd drops its grant, at the end of its lease).
# Prints RESULT lines.
set -euo pipefail
. "$(dirname "$0")/../integration/cluster.sh"
SECONDS_CHURN=${CLUSTER_CHURN_SECONDS:-30}
cl_init bench-cluster 12 3
cl_etcd_start 3
for n in a b c; do cl_node_up "$n"; done
for n in a b c; do cl_clients "$n" 3; done
cl_wait_total 9 120 || lg_fail "the 9 clients did not all get in"

revision() { curl -s -X POST -d '{"key":"AA=="}' "${CL_ENDPOINTS%%,*}/v3/kv/range" | lt_json 'int(j["header"]["revision"])'; }
admissions() { local n t=0; for n in a b c; do t=$((t + $(cl_status "$n" 'j["admissions"]'))); done; echo "$t"; }
grants() { local n t=0; for n in "$@"; do t=$((t + $(cl_status "$n" 'j["cluster"]["grant"]'))); done; echo "$t"; }

r0=$(revision) a0=$(admissions)
cl_watch_start
cl_churn_start a1 a2 a3 b1 b2 b3 c1 c2 c3
lg_sleep "$SECONDS_CHURN"
cl_churn_stop
r1=$(revision) a1=$(admissions)
echo "RESULT cluster.churn admissions=$((a1 - a0)) writes=$((r1 - r0)) seconds=$SECONDS_CHURN seats=12 lease=$CL_LEASE"

# Clients waiting on b and c: 12 seats, 15 clients.
LG_CLIENT_EXTRA=""
for n in b c; do
    ns="lgc$n$$"
    eval "ipc=\$CL_IPC_$n"
    lt_openvpn_wrapper "on-$ns" "$ns" "$LG_DIR/machine-id-$ns" "$ipc"
    for i in 4 5 6; do lg_client "$n$i" udp "$LG_PORT" "$n$i" "connect-retry 1 1"; done
done
cl_wait_total 12 120 || lg_fail "the nodes did not reach 12 sessions"
moves=()
for victim in a1 a2 a3; do
    cl_wait_total 12 120 || break
    lg_sleep 2 # settled grants
    before=$(grants b c) use_a=$(cl_in_use a)
    lg_stop "$victim"
    end=$((SECONDS + 30))
    until [ "$(cl_in_use a)" -lt "$use_a" ]; do # the seat is free in node a's pool
        [ $SECONDS -lt $end ] || lg_fail "node a did not release the seat of $victim"
        sleep 0.02
    done
    t0=$(date +%s%N)
    end=$((SECONDS + 30))
    until [ "$(grants b c)" -gt "$before" ]; do
        [ $SECONDS -lt $end ] || lg_fail "a seat freed on node a was not granted to b or c"
        sleep 0.05
    done
    moves+=($((($(date +%s%N) - t0) / 1000000)))
done
printf '%s\n' "${moves[@]}" | sort -n >"$LG_DIR/moves"
echo "RESULT cluster.move n=${#moves[@]} median=$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' "$LG_DIR/moves") max=$(tail -n 1 "$LG_DIR/moves")"

# Node c crashes: its agent and its openvpn killed at once. Its seats are idle until etcd
# drops its grant (its lease ends); then they are anybody's.
c_listed() {
    curl -s -X POST -d "{\"key\":\"$(printf '%s' "/licgate/$CL_KEY/grants/c" | base64)\"}" \
        "${CL_ENDPOINTS%%,*}/v3/kv/range" | lt_json '"kvs" in j'
}
lg_sleep 2
held_c=$(cl_status c 'j["cluster"]["grant"]')
[ "$(c_listed)" = true ] || lg_fail "etcd does not list node c's grant"
t0=$(date +%s%N)
cl_agent_kill c
lg_kill srvc KILL
end=$((SECONDS + 60))
until [ "$(c_listed)" = false ]; do
    [ $SECONDS -lt $end ] || lg_fail "etcd kept the crashed node's grant"
    sleep 0.05
done
idle=$((($(date +%s%N) - t0) / 1000000))
cl_watch_stop
echo "RESULT cluster.crash idle_ms=$idle seats=$held_c max_total=$(cl_watch_max)"
