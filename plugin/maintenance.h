/* The maintenance thread of every openvpn process that loads licgate: the work that must stay
 * off the admission path and must never wait behind socket I/O. On its own schedule it follows
 * reload requests made through the pool, follows the failover address (every 250 ms), raises
 * and saves the clock high-water mark, reclaims seats of dead processes, checks the keys other
 * pools count and audits the shared memory (every 2 s, and at once when a process comes or
 * goes), and logs expiry warnings once a day. It runs whether or not this process serves the
 * control socket. */
#ifndef LICGATE_MAINTENANCE_H
#define LICGATE_MAINTENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "gate.h"

struct maintenance;

/* Starts the thread (every signal blocked). The gate must outlive it. 0 and *out, or -errno
 * with a reason in err. */
int maintenance_start(struct gate *gate, struct maintenance **out, char *err, size_t errlen);

/* Stops and joins the thread. NULL is fine. */
void maintenance_stop(struct maintenance *m);

/* Has the thread look at once (a reload was requested through this process's socket). Safe
 * from any thread. */
void maintenance_wake(struct maintenance *m);

/* The last reload this process made on a pool request. */
struct maintenance_reload {
    uint32_t request; /* the pool's reload counter acted on */
    int result;       /* 0 or -errno */
    struct gate_reload_result res;
    char err[512];
};

/* A copy of the last reload's outcome. Safe from any thread. */
void maintenance_last_reload(struct maintenance *m, struct maintenance_reload *out);

#endif
