#!/usr/bin/env bash
# The faults of docs/cluster.md, injected while clients churn on 3 nodes
# sharing 6 seats through a 3-member etcd (cluster-lease 3 s):
#   an etcd member killed: nothing changes, over-admission 0;
#   quorum lost: every node freezes at its deadline (admits nobody new, keeps
#     its tunnels), over-admission 0, and converges when quorum is back;
#   an agent killed and restarted within the lease: it takes its lease back,
#     over-admission 0;
#   a node cut off from etcd: it freezes; after its lease the others take its
#     seats: over-admission at most its live tunnels, gone when they leave;
#   a node crashed: its seats are idle until its lease ends, then used.
set -euo pipefail
. "$(dirname "$0")/cluster.sh"
[ -x "${LICGATE_AGENT:-}" ] || _lg_skip "LICGATE_AGENT not built"
cl_init cluster-faults 6 3
cl_etcd_start 3
for n in a b c; do cl_node_up "$n"; done
for n in a b c; do cl_clients "$n" 3; done
cl_wait_total 6 90 || lg_fail "the nodes did not reach 6 sessions together (at $(cl_total))"
cl_watch_start
cl_churn_start a1 a2 a3 b1 b2 b3 c1 c2 c3
report() { echo "cluster-faults: $*"; }
check_max() { # check_max BOUND WHAT
    local max
    max=$(cl_watch_max)
    [ "$max" -le "$1" ] || lg_fail "$2: $max sessions at once, bound $1"
    report "$2: at most $max sessions at once (bound $1)"
    : >"$LG_DIR/watch"
}

# 1. An etcd member killed: the agents move to the others.
cl_etcd_kill 1
lg_sleep 4
for n in a b c; do
    cl_wait_status "$n" 'j["cluster"]["admitting"]' true 5 || lg_fail "node $n froze with quorum alive"
done
check_max 6 "one etcd member killed"
cl_etcd_revive 1
lg_sleep 2

# 2. Quorum lost: every node freezes, tunnels stay, nobody new anywhere.
cl_etcd_kill 2
cl_etcd_kill 3
for n in a b c; do
    cl_wait_status "$n" 'j["cluster"]["admitting"]' false 8 || lg_fail "node $n kept admitting without quorum"
done
frozen=$(cl_total)
lg_sleep 3
check_max 6 "quorum lost"
cl_etcd_revive 2
cl_etcd_revive 3
for n in a b c; do
    cl_wait_status "$n" 'j["cluster"]["admitting"]' true 20 || lg_fail "node $n did not thaw with quorum back"
done
cl_wait_total 6 60 || lg_fail "no convergence after quorum came back (at $(cl_total))"
check_max 6 "quorum back"
report "frozen with $frozen tunnels kept"

# 3. An agent killed and restarted within the lease: it takes its lease back.
cl_agent_kill b
lg_sleep 1
cl_agent_start b
lg_wait_log "$LG_DIR/agent-b.log" "took back lease" 10 || lg_fail "the restarted agent did not take its lease back: $(tail -n 3 "$LG_DIR/agent-b.log")"
lg_sleep 3
check_max 6 "agent killed and restarted"

# 4. Node a cut off from etcd (its link down): it freezes; its seats go to
#    the others after its lease; over-admission at most a's tunnels.
cl_churn_stop
cl_churn_start b1 b2 b3 c1 c2 c3
a_tunnels=$(cl_in_use a)
ip -n "lgca$$" link set "lgca$$" down
cl_wait_status a 'j["cluster"]["admitting"]' false 8 || lg_fail "node a kept admitting cut off"
lg_sleep 8
check_max $((6 + a_tunnels)) "node a cut off with $a_tunnels tunnels"
for i in 1 2 3; do lg_stop "a$i"; done
end=$((SECONDS + 15))
until [ "$(cl_in_use a)" -eq 0 ]; do
    [ $SECONDS -lt $end ] || lg_fail "node a still counts sessions after its clients left"
    sleep 0.1
done
lg_sleep 1 # the watcher's last sample from before
: >"$LG_DIR/watch"
ip -n "lgca$$" link set "lgca$$" up
lg_sleep 6
check_max 6 "node a back, its clients gone"

# 5. Node c crashed: its seats idle until its lease ends, then used by b.
cl_churn_stop
cl_clients a 3
t0=$(date +%s%N)
cl_agent_kill c # the node dies at once: its agent and its openvpn
lg_kill srvc KILL
for i in 1 2 3; do lg_stop "c$i"; done
end=$((SECONDS + 30))
until [ $(($(cl_status a 'j["cluster"]["grant"]') + $(cl_status b 'j["cluster"]["grant"]'))) -eq 6 ]; do
    [ $SECONDS -lt $end ] || lg_fail "the crashed node's seats were not granted to the others"
    sleep 0.1
done
idle_ms=$((($(date +%s%N) - t0) / 1000000))
cl_wait_total 6 60 || lg_fail "the crashed node's seats were not used (at $(cl_total))"
in_ms=$((($(date +%s%N) - t0) / 1000000))
check_max 6 "node c crashed"
cl_watch_stop
report "seats of the crashed node granted elsewhere after $idle_ms ms, in use after $in_ms ms (lease 3 s; clients retry on their own)"
lg_pass "etcd member, quorum, agent, partition and crash: over-admission within the documented bounds"
