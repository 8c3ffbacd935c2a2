/* The control socket: a thread in every openvpn process on a pool. The
 * process that holds the pool's control lock serves the socket; the others
 * wait to take over. Every thread also follows `reload` requests made
 * through the pool, re-reading its licenses off the admission path. */
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
