/* The control socket's answers (docs/control-protocol.md): a snapshot of the gate taken at
 * once, then pure functions from that snapshot to one JSON line. Every string in an answer is
 * valid UTF-8 without control characters (text.h): a client's CN cut inside a character, a
 * Latin-1 customer name or file name cannot break a reader. */
#ifndef LICGATE_CONTROL_REPLY_H
#define LICGATE_CONTROL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "control_proto.h"
#include "gate.h"
#include "license_set.h"
#include "maintenance.h"
#include "pool.h"

/* What an answer is made from. */
struct control_snapshot {
    char pool[CONFIG_POOL_MAX + 1];
    char license_dir[CONFIG_PATH_MAX];
    struct seat_pool_status st;
    uint32_t limit;
    bool evaluation, development;
    pid_t served_by;
    struct gate_machine_status machine;
    bool has_failover, failover_active;
    char vip[64];
    int64_t now, clock, mark;
    bool rollback;
    struct license_set licenses;
    struct seat_session *sessions;
    size_t nsessions;
    struct control_cluster cluster;
    struct usage_day *usage; /* usage: the days recorded, oldest first */
    size_t nusage;
};

/* Takes what cmd's answer needs from the gate (memory only: no disk, no socket); for usage,
 * the last `days` days of the record. 0 or -ENOMEM. Free with control_snapshot_free. */
int control_snapshot_take(struct gate *gate, enum control_command cmd, unsigned days,
                          struct control_snapshot *s);
void control_snapshot_free(struct control_snapshot *s);

/* When the limit next changes because a license that counts at now stops
 * counting (its support ends unless perpetual, its lease ends, its sunset
 * comes): 1 with *at the earliest such time after now and *limit the limit
 * right after it (the seats of the licenses that count then, the machine
 * binding, standby and other-pool states as they are now; the evaluation
 * seats when none does, UINT32_MAX at most). 0 when no counting license
 * will stop (*at INT64_MAX, *limit 0). The status answer's "next_change". */
int control_next_change(const struct license_set *set, int64_t now, int64_t *at, uint32_t *limit);

/* The answer to cmd (not reload) from the snapshot: one line of JSON ending in a newline,
 * malloc'd, its length in *len. NULL when out of memory. */
char *control_reply(const struct control_snapshot *s, enum control_command cmd, size_t *len);

/* {"ok":false,"error":msg}. */
char *control_reply_error(const char *msg, size_t *len);

/* The answer to a reload: the outcome of this process's own, and whether every other process
 * of the pool followed (else laggard is one that had not). */
char *control_reply_reload(const struct maintenance_reload *r, bool followed, pid_t laggard,
                           size_t *len);

#endif
