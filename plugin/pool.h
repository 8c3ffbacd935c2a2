/* The seat pool: live sessions of every openvpn process on this machine that names the same
 * pool, counted in one shared-memory segment (found through the machine registry, machine.h).
 * Admission and release are O(1) and lock-free and never admit more than the limit the caller
 * passes under any interleaving of processes. A handle belongs to the process that attached it
 * (after fork(), attach again) and is not thread-safe by itself: one thread per handle, as in
 * OpenVPN. This module makes no system call but reading /proc for liveness. */
#ifndef LICGATE_POOL_H
#define LICGATE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SEAT_POOL_NAME_MAX     32
#define SEAT_POOL_MAX_PROCS    64
#define SEAT_POOL_CAPACITY_MAX 1000000u
#define SEAT_POOL_CN_MAX       64 /* including the NUL; longer values are cut between characters */
#define SEAT_POOL_ADDR_MAX     64
#define SEAT_POOL_TOKEN_LEN    16

struct seat_pool;

struct seat_request {
    const char *cn;   /* common name; NULL is stored as "" */
    const char *addr; /* real address "ip:port"; NULL is stored as "" */
    int64_t now;      /* connected since, seconds since the epoch */
};

/* What the admission decision saw, for the log line ("limit reached (10/10 seats)"). */
struct seat_numbers {
    uint32_t in_use;
    uint32_t limit;
    uint32_t capacity;
};

struct seat_pool_proc_status {
    pid_t pid;
    uint32_t in_use;
};

struct seat_pool_status {
    uint32_t in_use;
    uint32_t peak; /* the most in use at once since the pool was made */
    uint32_t capacity;
    uint32_t free_slots; /* walked from the free stack: exact only while nobody admits */
    uint64_t admissions;
    uint64_t refusals_limit;
    uint64_t refusals_capacity;
    uint64_t releases;
    uint64_t reclaimed;
    uint32_t nprocs;
    struct seat_pool_proc_status procs[SEAT_POOL_MAX_PROCS];
};

struct seat_session {
    uint32_t slot;
    pid_t pid;
    int64_t connected_since;
    char cn[SEAT_POOL_CN_MAX];
    char addr[SEAT_POOL_ADDR_MAX];
};

/* Bytes of shared memory a pool of `capacity` sessions needs, or 0 when capacity is outside
 * 1..SEAT_POOL_CAPACITY_MAX. */
size_t seat_pool_region_size(uint32_t capacity);

/* Writes an empty pool named `name` with `capacity` slots and `token` into `base` (8-byte
 * aligned, `size` >= seat_pool_region_size(capacity)), publishing it last. Only the region's
 * creator calls it, before anyone attaches. Returns 0 or -EINVAL. */
int seat_pool_init_region(void *base, size_t size, uint32_t capacity, const char *name,
                          const uint8_t token[SEAT_POOL_TOKEN_LEN]);

/* Validates the pool in `size` bytes at base (magic, layout version, sizes, and that it is the
 * pool `name` with `token`; token NULL accepts any), waiting up to 1 s for a creator that has
 * not published it yet, and registers this process in its process table (-EUSERS when all 64
 * entries belong to live processes; a process attaching twice shares one entry). A corrupt,
 * incompatible pool is -EPROTO with the reason, e.g. "pool vpn: layout version 2, this build
 * speaks 3"; one of another name or token is -ESTALE. The handle does not unmap base. Returns 0 and *out, or -errno with a
 * one-line reason in err (may be NULL); *out is NULL on failure. */
int seat_pool_attach_region(void *base, size_t size, const char *name,
                            const uint8_t token[SEAT_POOL_TOKEN_LEN], struct seat_pool **out,
                            char *err, size_t errlen);

/* Releases every session this process still holds, frees its process entry and frees the
 * handle (the caller unmaps the region). NULL is a no-op. */
void seat_pool_detach(struct seat_pool *pool);

/* Takes a seat for one session unless in_use has reached `limit`: -EDQUOT then, -ENOSPC when
 * every slot is taken (capacity below the limit), -EPROTO when the shared state is corrupt;
 * refusals change nothing but their counter. On success *slot names the session for
 * seat_pool_release(). *nums (may be NULL) gets in_use, limit and capacity as the decision saw
 * them, in_use including this session when admitted. O(1), lock-free. A caller about to refuse
 * should first call seat_pool_reclaim_dead() and retry once. *slot is UINT32_MAX on failure. */
int seat_pool_admit(struct seat_pool *pool, const struct seat_request *req, uint32_t limit,
                    uint32_t *slot, struct seat_numbers *nums);

/* Gives back the seat of `slot`. Returns 0, -EALREADY if the slot is not in use (a double
 * release changes nothing), -EPERM if another process holds it, -EINVAL for a slot outside the
 * pool. O(1), lock-free. */
int seat_pool_release(struct seat_pool *pool, uint32_t slot);

/* Asks every process on the pool to re-read its licenses: bumps a counter each process's
 * maintenance watches. Returns the new value. */
uint32_t seat_pool_request_reload(struct seat_pool *pool);

/* The reload counter, to compare with the value last acted on. */
uint32_t seat_pool_reload_requests(struct seat_pool *pool);

/* Says that this process has acted on reload request `seen` (re-read its licenses). */
void seat_pool_reload_ack(struct seat_pool *pool, uint32_t seen);

/* Whether every other live process of the pool has acted on reload request `request`; the
 * first that has not in *laggard. Reads /proc for each one that has not. */
bool seat_pool_reload_followed(struct seat_pool *pool, uint32_t request, pid_t *laggard);

/* A cluster license's grant for this node (docs/cluster.md): grant seats (at most
 * SEAT_POOL_GRANT_MAX) usable while CLOCK_MONOTONIC milliseconds are below deadline_ms.
 * Every process of the pool sees it. grant 0 (or a deadline outside 1..2^44) clears it. */
#define SEAT_POOL_GRANT_MAX 0xfffffu
void seat_pool_set_cluster(struct seat_pool *pool, uint32_t grant, int64_t deadline_ms);

/* The grant and its deadline as last set, in one read (0, 0 when none). */
void seat_pool_cluster(struct seat_pool *pool, uint32_t *grant, int64_t *deadline_ms);

/* Counts a refusal at the limit decided without seat_pool_admit (the early
 * refusal at the TLS handshake), so the counters tell every refusal. */
void seat_pool_count_refusal(struct seat_pool *pool);

/* The sessions in use now and the capacity, in O(1) without taking anything (nums->limit is
 * left to the caller). */
void seat_pool_numbers(struct seat_pool *pool, struct seat_numbers *nums);

/* The pool's counters since it was made, in O(1) (seat_pool_snapshot walks the free stack). */
struct seat_pool_counters {
    uint32_t in_use;
    uint64_t admissions, refusals_limit, refusals_capacity;
};
void seat_pool_counters(struct seat_pool *pool, struct seat_pool_counters *c);

/* The most sessions in use at once since the last take (or since the pool was made): read, and
 * taken, which starts the next window at the sessions in use now. For the usage record's
 * hourly peaks. */
uint32_t seat_pool_window_peak(struct seat_pool *pool);

/* The segment's random token: another token is another segment, whose counters began at 0. */
void seat_pool_token(struct seat_pool *pool, uint8_t token[SEAT_POOL_TOKEN_LEN]);
uint32_t seat_pool_take_window_peak(struct seat_pool *pool);

/* Releases the seats of every registered process that is gone (dead, zombie, or its pid now
 * names a younger process) and frees its process entry. Seats of live processes are never
 * touched. Returns the number of seats reclaimed (also added to the reclaimed counter).
 * O(processes + capacity) when something is reclaimed, reading /proc once per process. */
int seat_pool_reclaim_dead(struct seat_pool *pool);

/* What one audit of the pool found. */
struct seat_pool_audit {
    bool quiet;         /* a count was made: no process inside an admission or a release */
    uint32_t counted;   /* the in-use counter before the audit */
    uint32_t sessions;  /* slots in use */
    bool repaired;      /* the counter was set to `sessions` */
    bool after_death;   /* ... because a process died inside an admission or a release */
    uint32_t own_slots; /* slots in use that name this process */
    bool own_entry_ok;  /* this process's entry still says it is this process */
    uint32_t lost;      /* slots neither in use nor on the free stack */
    uint32_t put_back;  /* ... of which this audit pushed back on the free stack */
};

/* Recounts the in-use counter from the slots in a quiet moment (no live process inside an
 * admission or a release and no move while counting) and sets it to the count when they
 * disagree, by a compare-and-swap against the value counted for; also counts this process's
 * slots and checks its process entry (taken back when another writer freed it). Called by the
 * maintenance every 2 s: what another writer changed is repaired there. O(capacity +
 * processes). */
void seat_pool_audit(struct seat_pool *pool, struct seat_pool_audit *out);

/* Fills *st with the pool's numbers and each registered process's pid and seat count. */
void seat_pool_snapshot(struct seat_pool *pool, struct seat_pool_status *st);

/* Calls cb once per live session, with a consistent copy of it; sessions that come or go
 * meanwhile may be missed or shown. Stops at and returns the first nonzero value cb returns;
 * 0 otherwise. */
int seat_pool_foreach_session(struct seat_pool *pool,
                              int (*cb)(const struct seat_session *s, void *arg), void *arg);

#endif
