/* What a node asks of a cluster license's seats, decided from what etcd says
 * every node holds (docs/cluster.md). Pure: no etcd, no clock, no socket. */
#ifndef LICGATE_TOOLS_AGENT_PLAN_H
#define LICGATE_TOOLS_AGENT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_NODE_MAX 63

/* One node's grant as its agent wrote it in etcd. */
struct agent_node {
    char name[AGENT_NODE_MAX + 1];
    uint32_t grant, used, peak;
    bool want; /* it needs seats it cannot get: the others give back what they do not use */
};

/* The block a node asks beyond its use: ceil(seats / (8 * nodes)), at least 1; 1 once the
 * seats nobody holds are fewer than a block per node (near the limit seats move one by one). */
uint32_t agent_block(uint32_t seats, size_t nodes, uint32_t unheld);

struct agent_plan {
    uint32_t grant; /* what this node should hold next */
    bool want;      /* it needs more than it can get */
    bool grow;      /* grant > held: an etcd transaction must succeed before it is used */
};

/* This node's next grant: it holds `held` and uses `used`, and `waiting` clients it refused
 * lately have not come back yet (0: it refused nobody lately). `others` are the other nodes'
 * grants (a node whose value could not be read counts as holding all the seats: the caller
 * passes UINT32_MAX as its grant). While another node wants and nobody waits here, it gives
 * back all it does not use and takes no headroom; otherwise it asks for used + the larger of
 * its block and its waiting clients, never more than the seats others leave, and gives back
 * what it holds beyond used + 2 blocks. It wants when it cannot seat its waiting clients. */
struct agent_plan agent_plan(uint32_t seats, uint32_t held, uint32_t used, uint32_t waiting,
                             const struct agent_node *others, size_t nothers);

/* The clients still waiting for a seat after an agent round: the `waiting` before it, less
 * the tunnels `seated` in it, or the clients of the latest `burst` of refusals when they are
 * more, at most `seats` and at least 1 when there was any. */
uint32_t agent_waiting(uint32_t waiting, uint32_t seated, uint32_t burst, uint32_t seats);

/* One agent round as the pool showed it: the refusals at the limit and the tunnels admitted
 * since the round before. */
struct agent_round {
    int64_t at; /* CLOCK_MONOTONIC ms; 0 = none */
    uint32_t refused, seated;
};

#define AGENT_BURST_MS 3000

/* The clients of the latest burst of refusals: those refused in the rounds of the last
 * AGENT_BURST_MS before `now`, less those seated meanwhile. A burst of clients often spans
 * rounds, and a refused client tries again a second later at the soonest (a TCP client
 * retrying that fast may count up to three times; a UDP client refused at the TLS handshake
 * comes back only after its hand-window). */
uint32_t agent_burst(const struct agent_round *rounds, size_t n, int64_t now);

/* A grant's value in etcd: {"grant":G,"used":U,"peak":P,"want":B}. 0 with *n filled (the name
 * is the caller's), or -EBADMSG for anything else (strict: exact fields, types and ranges). */
int agent_node_parse(const char *value, size_t len, struct agent_node *n);

/* The value for n, NUL-terminated, into buf: its length, or -ENOSPC. */
int agent_node_format(const struct agent_node *n, char *buf, size_t len);

#endif
