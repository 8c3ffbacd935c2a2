/* The gate: one per loaded plugin instance. It owns the verified licenses and
 * this process's attachment to the machine-wide seat pool, and decides every
 * admission. plugin/openvpn.c turns OpenVPN's calls into these functions; the
 * unit tests and the benchmark host call them directly. */
#ifndef LICGATE_GATE_H
#define LICGATE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "license.h"
#include "license_set.h"
#include "registry.h"
#include "usage.h"

/* Seats every server gets when it holds no valid license (seed FAQ Q2): per machine, across
 * every pool, held in the machine registry. */
#define GATE_EVALUATION_SEATS REGISTRY_EVAL_SEATS

enum gate_log_level { GATE_LOG_ERR, GATE_LOG_WARN, GATE_LOG_NOTE, GATE_LOG_DEBUG };

/* Receives each log line (no trailing newline). Called only on the thread
 * that opened the gate (OpenVPN's): lines made on other threads wait in a
 * queue until gate_flush_log(). */
typedef void gate_log_fn(void *arg, enum gate_log_level level, const char *msg);

/* Per-client state, stored in OpenVPN's per-client context. Zeroed at
 * construction; only the gate writes it. */
struct gate_client {
    bool admitted;             /* holds a seat: release exactly once */
    uint32_t slot;             /* the pool slot while admitted */
    struct registry_eval eval; /* one of the machine's evaluation seats, when admitted on one */
};

/* Where the trust, time and log come from; the plugin passes the compiled-in
 * issuer keys and the real clock, tests pass their own. */
struct gate_env {
    const struct issuer_key *keys;
    size_t nkeys;
    bool development_keys; /* say so in the log */
    int64_t (*now)(void);  /* wall clock, seconds */
    gate_log_fn *log;
    void *log_arg;
};

struct gate;

/* Takes this process's place on the machine (machine.h: the registry and the
 * pool named in cfg), loads and verifies every license in cfg->license_dir and
 * those its pool's other processes lend, logs what counts and why, and
 * computes the limit it admits against. Returns 0 and *out, or -errno with a
 * one-line reason in err (nothing is left attached). A license directory with
 * no valid license is not an error: the limit is GATE_EVALUATION_SEATS, taken
 * from the machine's evaluation seats. */
int gate_open(const struct gate_config *cfg, const struct gate_env *env, struct gate **out,
              char *err, size_t errlen);

/* Releases every seat this process still holds, detaches, frees. NULL is fine.
 * Any control thread must have been stopped first. */
void gate_close(struct gate *gate);

/* Hands the log lines other threads queued to the log function. Call on the
 * opening thread; cheap when the queue is empty. */
void gate_flush_log(struct gate *gate);

/* Logs one line; safe from any thread (see gate_log_fn). */
void gate_logf(struct gate *gate, enum gate_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* TLS_VERIFY at depth 0: 0 to let the handshake go on, -EDQUOT to refuse it
 * early because the pool is full. An admitted client (renegotiation) always
 * passes. Counts nothing. Logs a refusal once. */
int gate_tls_verify(struct gate *gate, const struct gate_client *client, const char *cn,
                    const char *addr);

/* Whether gate_tls_verify would refuse now: O(1), no log, no names needed.
 * Lets the caller build the client's name and address only for a refusal. */
bool gate_tls_would_refuse(struct gate *gate, const struct gate_client *client);

/* CLIENT_CONNECT: the authoritative admission, against the limit this process
 * computed (never a number read from shared memory) and, in evaluation mode,
 * on one of the machine's evaluation seats. 0 = admitted (client now holds a
 * seat), -EDQUOT = limit reached, -ENOSPC = pool capacity reached, other
 * -errno = internal error (refused). Each outcome is logged once with the
 * numbers. Calling it for an already admitted client changes nothing. */
int gate_client_connect(struct gate *gate, struct gate_client *client, const char *cn,
                        const char *addr);

/* The same admission, for AUTH_USER_PASS_VERIFY in reason-to-client mode:
 * on refusal reason gets the text OpenVPN sends the client after
 * "AUTH_FAILED," (e.g. "TEMP[backoff 30]: licgate: limit reached (3/3 seats)"),
 * which a 2.6 client logs before it backs off and retries. */
int gate_client_auth(struct gate *gate, struct gate_client *client, const char *cn,
                     const char *addr, char *reason, size_t reasonlen);

/* CLIENT_DISCONNECT and the client destructor: releases the client's seat if
 * it holds one. Idempotent: the second call does nothing. */
void gate_client_release(struct gate *gate, struct gate_client *client);

struct gate_reload_result {
    uint32_t limit;
    bool evaluation;
    size_t files;   /* license files read */
    size_t counted; /* of which count now */
};

/* Re-reads the license directory and publishes the new limit. Live sessions
 * are never dropped: a lower limit only blocks new admissions. Safe from any
 * thread; the disk is read without holding anything the admission path
 * needs. Returns 0 or -errno with err set (the previous licenses stay in
 * force then). result may be NULL. */
int gate_reload(struct gate *gate, struct gate_reload_result *result, char *err, size_t errlen);

/* The limit this process admits against now (its licenses' seats, plus a
 * cluster grant in force), and whether it is the evaluation limit (no valid
 * license). Safe from any thread. */
uint32_t gate_limit(const struct gate *gate, bool *evaluation);

/* The seats a cluster license's grant adds now (docs/cluster.md): the grant,
 * at most the cluster license's seats, while its deadline is ahead; 0 with no
 * cluster license, no grant, or the deadline passed. *deadline_ms (may be
 * NULL) gets the grant's CLOCK_MONOTONIC deadline (0: none). One atomic load
 * and one clock read: safe on the admission path, from any thread. */
uint32_t gate_cluster_grant(const struct gate *gate, int64_t *deadline_ms);

/* The seats of the cluster license that counts here, 0 when none does. */
uint32_t gate_cluster_seats(const struct gate *gate);

/* Sets this node's grant of the cluster license, at licgate-agent's request
 * (the control socket's `cluster-grant`, root only): every process of the
 * pool admits on it until deadline_ms (CLOCK_MONOTONIC). 0, or -ENOENT when no
 * cluster license counts in this pool, -ERANGE when grant exceeds its seats;
 * err says which. grant 0 takes the grant back. */
int gate_set_cluster_grant(struct gate *gate, uint32_t grant, int64_t deadline_ms, char *err,
                           size_t errlen);

/* A copy of the licenses as evaluated now, for reports. Safe from any thread.
 * 0 or -ENOMEM; free with license_set_free. */
int gate_copy_licenses(struct gate *gate, struct license_set *out);

struct seat_pool;
/* The pool this gate admits into (reads are safe from any thread). */
struct seat_pool *gate_pool(struct gate *gate);
const struct gate_config *gate_config(const struct gate *gate);
bool gate_development_keys(const struct gate *gate);

/* Effective now: the later of the wall clock and the high-water mark kept in
 * state-dir, so setting the clock back never revives or extends a license. */
int64_t gate_now(const struct gate *gate);

/* Raises the high-water mark to the clock, notices a clock set back by more
 * than 5 minutes (logged once), and saves the mark atomically when it moved
 * an hour or more. Called by the maintenance thread, off the admission path. */
void gate_clock_tick(struct gate *gate);

/* The failover role (failover-vip held or not), as the maintenance thread
 * sees it through netlink: failover licenses count only while active. A change
 * is logged and the limit follows at once; live tunnels are never dropped. */
void gate_set_failover_active(struct gate *gate, bool active);

/* The usage record (usage.h). The control server says when this process serves the socket:
 * only that process records, so a pool has one record. */
void gate_set_serving(struct gate *gate, bool serving);

/* Every maintenance tick: while serving, loads the record (once), adds what the pool did since
 * the last tick to the current hour (peak, limit, admissions, refusals, evaluation mode, a
 * change of licenses), and saves it at each new hour and every 5 minutes. */
void gate_usage_tick(struct gate *gate);

/* The last `days` days of the record by UTC day (usage_days), with the effective time in *now.
 * Returns the number filled; safe from any thread. */
size_t gate_usage_days(struct gate *gate, unsigned days, struct usage_day *out, size_t max,
                       int64_t *now);
bool gate_failover_active(const struct gate *gate);

/* One license key counts in one pool per machine, and a pool counts the keys
 * of all its live processes. Publishes this process's keys in the machine
 * registry, reads every live process's claims and the license-dirs of the
 * other processes of this pool (verifying their licenses itself), and lets a
 * key go to the pool that claimed it first (the pool name decides a tie); the
 * limit follows, live tunnels stay. When the registry cannot be read now the
 * last verdict stays. I/O, never on the admission path: at open, after a
 * reload and from the maintenance thread. */
void gate_check_claims(struct gate *gate);

/* Whether the registry changed since the last claims check (a process came
 * or went, a claim moved): O(1), for the maintenance tick. */
bool gate_machine_changed(struct gate *gate);

/* The maintenance's look at the shared state, every 2 s: recounts the pool's
 * in-use counter from its slots and repairs it, checks this process's own
 * sessions, evaluation seats and registry entries against its own count,
 * repairs what another writer changed (each said once in the log), and says
 * once when the pool goes over its limit and when it is back within it. */
void gate_audit(struct gate *gate);

struct gate_machine_status {
    uint32_t eval_in_use;     /* the machine's evaluation seats held now, every pool */
    int registry_id, pool_id; /* the shared-memory segments (ipcs -m) */
    uint32_t over;            /* seats in use above the limit; 0 within it */
};
void gate_machine_status(struct gate *gate, struct gate_machine_status *out);

/* The clock and the mark; true while the clock is behind the mark (rollback). */
bool gate_clock_state(const struct gate *gate, int64_t *clock, int64_t *mark);

#endif
