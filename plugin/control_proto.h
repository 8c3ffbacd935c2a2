/* The control protocol's codec (docs/control-protocol.md): request lines in,
 * metrics text out. Pure functions: no sockets, no threads. */
#ifndef LICGATE_CONTROL_PROTO_H
#define LICGATE_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "license_set.h"
#include "pool.h"

#define CONTROL_PROTOCOL    1
#define CONTROL_REQUEST_MAX 255 /* bytes before the newline */

enum control_command {
    CONTROL_STATUS,
    CONTROL_SESSIONS,
    CONTROL_LICENSES,
    CONTROL_RELOAD,
    CONTROL_METRICS,
    CONTROL_VERSION,
    CONTROL_CLUSTER_GRANT, /* "cluster-grant GRANT DEADLINE-MS": licgate-agent's, root only */
    CONTROL_USAGE,         /* "usage [DAYS]": the usage record by day, DAYS 1..400 (30) */
};

/* Parses the bytes a client sent so far (buf, len; eof when it closed its
 * side). Returns 0 and *cmd once a complete, valid line is there; -EAGAIN
 * while more bytes are needed; -EBADMSG with the one-line error the client
 * should get (the spec's wording) when the request is bad. Bytes after the
 * first newline are an error too (one request per connection). */
int control_parse_request(const char *buf, size_t len, bool eof, enum control_command *cmd,
                          char *err, size_t errlen);

const char *control_command_name(enum control_command cmd);

/* The arguments of a "cluster-grant GRANT DEADLINE-MS" line control_parse_request accepted:
 * GRANT 0..SEAT_POOL_GRANT_MAX, DEADLINE-MS 0..2^44-1 (CLOCK_MONOTONIC milliseconds), plain
 * decimals. 0, or -EBADMSG for anything else. */
int control_parse_cluster_grant(const char *buf, size_t len, uint32_t *grant, int64_t *deadline_ms);

#define CONTROL_USAGE_DAYS 30 /* "usage" without a number */

/* The days of a "usage [DAYS]" request: 0 and *days (1..USAGE_DAYS_MAX), or -EBADMSG. */
int control_parse_usage(const char *buf, size_t len, unsigned *days);

/* Whether only root may run cmd. */
bool control_command_needs_root(enum control_command cmd);

/* Days (rounded down, may be 0) until the license stops counting by time: the
 * earliest of support end (unless perpetual), lease end and sunset; -1 when
 * none of them applies. */
int64_t control_days_left(const struct license *lic, int64_t now);

/* That earliest end, or 0 when none applies. */
int64_t control_license_end(const struct license *lic);

/* Days before an end that status warns about: support end and sunset within
 * 30 days; a lease within 7 (a lease is renewed daily, so more than a week
 * left is normal). */
#define CONTROL_WARN_SUPPORT_DAYS 30
#define CONTROL_WARN_LEASE_DAYS   7

/* Writes the warning an admin should see about a counting license into buf
 * and returns 1, or returns 0 when there is none. */
int control_license_warning(const struct license *lic, int64_t now, char *buf, size_t len);

/* What this node holds of a cluster license (docs/cluster.md). */
struct control_cluster {
    uint32_t seats; /* the cluster license's, 0 when none counts here */
    char key[LICENSE_KEY_ID_MAX + 1];
    uint32_t grant;       /* as licgate-agent set it */
    uint32_t usable;      /* what admission adds now: 0 past the deadline */
    int64_t deadline_ms;  /* CLOCK_MONOTONIC, 0 = no grant */
    int64_t monotonic_ms; /* when it was read */
};

/* The numbers of one pool as its serving process sees them. */
struct control_numbers {
    const char *pool;
    const struct seat_pool_status *st;
    uint32_t limit;                        /* what this process admits against */
    bool evaluation;                       /* no valid license counts */
    uint32_t eval_in_use;                  /* the machine's evaluation seats held, every pool */
    const struct control_cluster *cluster; /* NULL: not told */
};

/* Seats in use above the limit (0 within it): new connections wait until that many leave. */
uint32_t control_over_limit(const struct control_numbers *n);

/* Writes the Prometheus text exposition (format 0.0.4) of the pool and the
 * licenses; every series carries pool="<pool>", so that the pools of one
 * machine stay apart in one scrape. Returns 0 or -EIO. */
int control_render_metrics(FILE *out, const struct control_numbers *n,
                           const struct license_set *set, int64_t now);

#endif
