/* licgate-agent: one per machine, it holds this node's share of a cluster
 * license's seats in etcd and hands it to the pool's openvpn processes over
 * their control socket (docs/cluster.md). The plugin never talks to the
 * network; the agent never admits anyone. */
#ifndef LICGATE_TOOLS_AGENT_H
#define LICGATE_TOOLS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_plan.h"
#include "config.h"
#include "etcd.h"

/* The deadline's margins below the lease (docs/cluster.md): R * (1 - rho) - m after the send
 * time of the last keepalive etcd answered. */
#define AGENT_RATE_PERCENT 5
#define AGENT_MARGIN_MS    500
/* Nodes a status file lists at most. */
#define AGENT_VIEW_MAX   64
#define AGENT_STATUS_DIR CONFIG_AGENT_DIR

struct agent;

/* Reads nothing yet: keeps cfg (cluster-etcd must be set) and connects to
 * etcd on the first tick. 0 or -errno with err. */
int agent_open(const struct gate_config *cfg, struct agent **out, char *err, size_t errlen);

/* One round: asks the pool what it uses, renews the lease, reads every node's
 * grant, grows or shrinks this node's grant, tells the pool (grant and
 * deadline) and writes the status file. Never blocks longer than etcd's and
 * the socket's timeouts. Says what changed on stderr, one line each. */
void agent_tick(struct agent *a);

/* The interval between ticks: the lease's TTL / 6 (ms). */
int agent_interval_ms(const struct agent *a);

/* Stops: the lease is left to run out (a restarted agent takes it back, with
 * its grant, within the TTL), or revoked when the pool uses none of the
 * cluster's seats. Frees a. NULL is fine. */
void agent_close(struct agent *a);

#endif
