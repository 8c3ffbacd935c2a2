/* The control socket's server (docs/control-protocol.md): a thread in every openvpn process
 * of a pool that does socket I/O only and never blocks on a peer. The process that holds the
 * pool's control lock serves the socket; the others wait to take over. Peer credentials decide
 * before a byte is read (root and control-group= may read, only root may reload); every
 * connection has a deadline for its request (2 s) and for its answer (5 s) and is written
 * without blocking from a buffer of its own; each non-root user holds at most 4 connections
 * and 8 of the 32 are root's alone, so no peer can lock another out, and one over its quota
 * is told so in one line before the close. Answers come from a snapshot of the gate
 * (control_reply.h); a reload is carried out by the maintenance threads of every process of
 * the pool (maintenance.h) and answered once they followed. */
#ifndef LICGATE_CONTROL_SERVER_H
#define LICGATE_CONTROL_SERVER_H

#include <stddef.h>

#include "gate.h"
#include "maintenance.h"

#define CONTROL_SERVER_MAX_CONNS 32
#define CONTROL_SERVER_ROOT_ONLY 8 /* of them, slots only root may take */
#define CONTROL_SERVER_PER_USER  4 /* connections one non-root user may hold */
#define CONTROL_SERVER_READ_MS   2000
#define CONTROL_SERVER_WRITE_MS  5000
#define CONTROL_SERVER_RELOAD_MS 3000 /* a reload waits this long for the pool to follow */

struct control_server;

/* Prepares the socket directory (as root at first open: created, owned by user= and
 * control-group=, never writable by others) and starts the thread with every signal blocked.
 * Returns 0 and *out, or -errno with a reason in err. The gate and the maintenance must
 * outlive the server. */
int control_server_start(struct gate *gate, struct maintenance *maint, struct control_server **out,
                         char *err, size_t errlen);

/* Stops and joins the thread; the serving process removes its own socket (never a
 * successor's) before it lets go of the lock. NULL is fine. */
void control_server_stop(struct control_server *s);

#endif
