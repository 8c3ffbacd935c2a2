#!/usr/bin/env bash
# The cluster's figures for scripts/bench (docs/PERFORMANCE.md): 3 etcd
# members and 3 nodes (tests/integration/cluster.sh) sharing 12 seats, 24
# clients reconnecting for a while: admissions against etcd writes (etcd's
# revision counts every write), the most tunnels at once; then how long a
# seat freed on one node takes to be granted on another, and how long the
# seats of a crashed node stay idle. Prints RESULT lines.
set -euo pipefail
. "$(dirname "$0")/../integration/cluster.sh"
SECONDS_CHURN=${CLUSTER_CHURN_SECONDS:-30}
cl_init bench-cluster 12 3
cl_etcd_start 3
for n in a b c; do cl_node_up "$n"; done
for n in a b c; do cl_clients "$n" 8; done
cl_wait_total 12 120 || lg_fail "the nodes did not reach 12 sessions together"

revision() { curl -s -X POST -d '{"key":"AA=="}' "${CL_ENDPOINTS%%,*}/v3/kv/range" | lt_json 'int(j["header"]["revision"])'; }
admissions() { local n t=0; for n in a b c; do t=$((t + $(cl_status "$n" 'j["admissions"]'))); done; echo "$t"; }

names=()
for n in a b c; do for i in $(seq 1 8); do names+=("$n$i"); done; done
r0=$(revision) a0=$(admissions)
cl_watch_start
cl_churn_start "${names[@]}"
lg_sleep "$SECONDS_CHURN"
cl_churn_stop
r1=$(revision) a1=$(admissions)
cl_watch_stop
echo "RESULT cluster.churn admissions=$((a1 - a0)) writes=$((r1 - r0)) seconds=$SECONDS_CHURN max_total=$(cl_watch_max) seats=12 lease=$CL_LEASE"

# A seat freed on node a, granted on b or c (both have clients waiting): 5 times.
moves=()
for k in 1 2 3 4 5; do
    cl_wait_total 12 120 || lg_fail "no 12 sessions before move $k"
    before=$(($(cl_status b 'j["cluster"]["grant"]') + $(cl_status c 'j["cluster"]["grant"]')))
    victim=""
    for i in $(seq 1 8); do
        [ -n "$victim" ] || ! lg_alive "a$i" || victim="a$i"
    done
    [ -n "$victim" ] || break
    lg_stop "$victim"
    t0=$(date +%s%N)
    end=$((SECONDS + 30))
    until [ $(($(cl_status b 'j["cluster"]["grant"]') + $(cl_status c 'j["cluster"]["grant"]'))) -gt "$before" ]; do
        [ $SECONDS -lt $end ] || lg_fail "a freed seat was not granted elsewhere"
        sleep 0.05
    done
    moves+=($((($(date +%s%N) - t0) / 1000000)))
done
printf '%s\n' "${moves[@]}" | sort -n >"$LG_DIR/moves"
echo "RESULT cluster.move n=${#moves[@]} median=$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' "$LG_DIR/moves") max=$(tail -n 1 "$LG_DIR/moves")"

# Node c crashes (openvpn and agent killed): its seats are granted to a and b after its lease.
held_c=$(cl_status c 'j["cluster"]["grant"]')
before=$(($(cl_status a 'j["cluster"]["grant"]') + $(cl_status b 'j["cluster"]["grant"]')))
t0=$(date +%s%N)
cl_agent_kill c
kill -KILL "$(cat "$LG_DIR/srvc.pid")"
end=$((SECONDS + 60))
until [ $(($(cl_status a 'j["cluster"]["grant"]') + $(cl_status b 'j["cluster"]["grant"]'))) -ge $((before + held_c)) ]; do
    [ $SECONDS -lt $end ] || lg_fail "the crashed node's seats were not granted again"
    sleep 0.05
done
echo "RESULT cluster.crash idle_ms=$((($(date +%s%N) - t0) / 1000000)) seats=$held_c"
