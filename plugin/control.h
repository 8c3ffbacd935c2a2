/* The maintenance thread of every openvpn process on a pool, and the control
 * socket it serves. The process that holds the pool's control lock serves the
 * socket; the others wait to take over. Every thread, serving or not, also
 * does the work that must stay off the admission path: it follows `reload`
 * requests made through the pool, raises and saves the clock high-water mark,
 * reclaims seats of dead processes every 2 s, and logs expiry warnings once a
 * day. With control-socket=none it only does that maintenance. */
#ifndef LICGATE_CONTROL_H
#define LICGATE_CONTROL_H

#include <stddef.h>

#include "gate.h"

struct control;

/* Prepares the socket directory (as root at first open: created, owned by
 * user=/control-group=, never writable by others) and starts the thread with
 * every signal blocked. Returns 0 and *out, or -errno with a reason in err.
 * The gate must outlive the control. */
int control_start(struct gate *gate, struct control **out, char *err, size_t errlen);

/* Stops and joins the thread; the serving process removes its socket before it
 * lets go of the lock, so a successor's socket is never removed. NULL is fine. */
void control_stop(struct control *control);

#endif
