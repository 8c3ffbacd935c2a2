#!/usr/bin/env bash
# One cluster license of 6 seats shared by 3 nodes (network, mount and IPC
# namespaces, each its own openvpn and licgate-agent) through a 3-member
# etcd: 12 clients ask, at every sampled moment the tunnels across all nodes
# are at most 6, and 6 is reached. Seats follow demand: when a node's
# clients leave, the seats go to the nodes whose clients wait. The admin
# sees the grant in status, metrics and `licgatectl cluster`.
set -euo pipefail
. "$(dirname "$0")/cluster.sh"
[ -x "${LICGATE_AGENT:-}" ] || _lg_skip "LICGATE_AGENT not built"
cl_init cluster-seats 6 3
cl_etcd_start 3
for n in a b c; do cl_node_up "$n"; done

# Each node gets a grant from the agent: status says so.
for n in a b c; do
    end=$((SECONDS + 15))
    until [ "$(cl_status "$n" 'j["cluster"]["admitting"]')" = true ]; do
        [ $SECONDS -lt $end ] || lg_fail "node $n got no grant: $(cat "$LG_DIR/agent-$n.log")"
        sleep 0.2
    done
done
"$LICGATE_CTL" --pool "$LT_POOL0-a" status | grep -q "^cluster: *$CL_KEY: this node holds [0-9]* of 6 seats" ||
    lg_fail "status: $("$LICGATE_CTL" --pool "$LT_POOL0-a" status)"
"$LICGATE_CTL" --pool "$LT_POOL0-a" metrics | grep -q "^licgate_cluster_seats{pool=\"$LT_POOL0-a\"} 6$" ||
    lg_fail "metrics lack the cluster"

# 4 clients on each node, 12 in all for 6 seats.
cl_watch_start
for n in a b c; do cl_clients "$n" 4; done
cl_wait_total 6 90 || lg_fail "the nodes did not reach 6 sessions together (at $(cl_total))"
lg_sleep 5 # more rounds of the agents: nothing may pass 6
cl_watch_stop
max=$(cl_watch_max)
[ "$max" -le 6 ] || lg_fail "over-admission: $max sessions at once on 6 seats ($(sort -rn "$LG_DIR/watch" | head -n 3 | tr '\n' ';'))"
[ "$max" -eq 6 ] || lg_fail "the cluster never reached its 6 seats (max $max)"
samples=$(wc -l <"$LG_DIR/watch")

# Node a's clients leave: its seats go where clients wait.
before_a=$(cl_in_use a)
[ "$before_a" -gt 0 ] || lg_fail "node a admitted nobody: the test needs it to hold seats"
cl_watch_start
for i in 1 2 3 4; do lg_stop "a$i"; done
end=$((SECONDS + 15))
until [ "$(cl_in_use a)" -eq 0 ]; do
    [ $SECONDS -lt $end ] || lg_fail "node a still counts sessions after its clients left"
    sleep 0.1
done
# a's refused clients left too: their seats are held for them cluster-hold seconds after
# their last refusal, then go where clients wait, within a few rounds
t0=$(date +%s%N)
end=$((SECONDS + CL_HOLD + 15))
until [ $(($(cl_status b 'j["cluster"]["grant"]') + $(cl_status c 'j["cluster"]["grant"]'))) -eq 6 ]; do
    [ $SECONDS -lt $end ] || lg_fail "the seats node a gave back were not granted to b and c"
    sleep 0.1
done
granted_ms=$((($(date +%s%N) - t0) / 1000000))
cl_wait_total 6 60 || lg_fail "the seats node a gave back were not used elsewhere (at $(cl_total))"
moved_ms=$((($(date +%s%N) - t0) / 1000000))
cl_watch_stop
[ "$(cl_watch_max)" -le 6 ] || lg_fail "over-admission while seats moved: $(cl_watch_max)"

# licgatectl cluster: every node, its grant and use, and etcd.
"$LICGATE_CTL" --pool "$LT_POOL0-b" cluster >"$LG_DIR/cluster.out" 2>&1 || lg_fail "licgatectl cluster: $(cat "$LG_DIR/cluster.out")"
for n in a b c; do
    grep -q "^$n " "$LG_DIR/cluster.out" || lg_fail "licgatectl cluster does not list $n: $(cat "$LG_DIR/cluster.out")"
done
grep -q '^etcd: ' "$LG_DIR/cluster.out" || lg_fail "licgatectl cluster says nothing of etcd"
echo "cluster: $samples samples, never above 6; $before_a seats of node a granted to b and c within $granted_ms ms, in use within $moved_ms ms"
lg_pass "6 seats shared by 3 nodes: never more than 6 at once, 6 reached, seats follow demand"
