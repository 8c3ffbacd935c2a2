/* The seat pool: live sessions of every openvpn process on this machine that names the same
 * pool, counted in one shared-memory region. Admission and release are O(1) and lock-free and
 * never admit more than the limit under any interleaving of processes. A handle belongs to the
 * process that attached it (after fork(), attach again) and is not thread-safe by itself: one
 * thread per handle, as in OpenVPN. */
#ifndef LICGATE_POOL_H
#define LICGATE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm.h"

#define SEAT_POOL_NAME_MAX     32
#define SEAT_POOL_MAX_PROCS    64
#define SEAT_POOL_CAPACITY_MAX 1000000u
#define SEAT_POOL_CN_MAX       64 /* including the NUL; longer values are truncated */
#define SEAT_POOL_ADDR_MAX     64
#define SEAT_POOL_CLAIMS_MAX   256
#define SEAT_POOL_KEY_MAX      64 /* the longest key id, without the NUL */

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
    uint32_t limit;
    uint32_t capacity;
    uint32_t generation;
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

/* Attaches to the pool `pool_name` ([A-Za-z0-9_.-], 1..32 characters; the object is
 * "/licgate.<pool_name>"), creating it with `capacity` seats and `owner` (may be NULL: 0600,
 * our uid) if it does not exist. An existing pool keeps its own capacity; the snapshot reports
 * it. The object's owner and mode are checked (see shm_region_open) and its header validated;
 * an incompatible pool is -EPROTO, e.g. "pool /licgate.x: layout version 2, this build speaks
 * 1". Registers this process in the pool's process table (-EUSERS when all 64 entries belong
 * to live processes; a process attaching twice shares one entry, so detaching either handle
 * releases the sessions of both). A new pool's limit is 0 until seat_pool_set_limit().
 * Returns 0 and the handle in *out, or -errno with a one-line reason in err (may be NULL);
 * *out is NULL on failure. */
int seat_pool_attach(const char *pool_name, uint32_t capacity, const struct shm_owner *owner,
                     struct seat_pool **out, char *err, size_t errlen);

/* Releases every session this process still holds, frees its process entry, unmaps the pool
 * (when it came from seat_pool_attach) and frees the handle. NULL is a no-op. */
void seat_pool_detach(struct seat_pool *pool);

/* Writes an empty pool of `capacity` seats and limit 0 into `base` (8-byte aligned, `size`
 * >= seat_pool_region_size(capacity)), publishing it last. Only the region's creator calls it,
 * before anyone attaches. Returns 0 or -EINVAL. */
int seat_pool_init_region(void *base, size_t size, uint32_t capacity);

/* Like seat_pool_attach on memory the caller maps (tests, fuzzers): validates the header
 * against `size` bytes, waiting up to 1 s for a creator that has not published it yet, and
 * registers this process. The handle does not unmap `base`. Returns 0 or -errno (-EPROTO for
 * an incompatible or corrupt pool) with the reason in err. */
int seat_pool_attach_region(void *base, size_t size, struct seat_pool **out, char *err,
                            size_t errlen);

/* Takes a seat for one session: -EDQUOT when in_use has reached the limit, -ENOSPC when every
 * slot is taken (capacity below the limit), -EPROTO when the shared state is corrupt; refusals
 * change nothing but their counter. On success *slot names the session for
 * seat_pool_release(). *nums (may be NULL) gets in_use, limit and capacity as the decision saw
 * them, in_use including this session when admitted. O(1), lock-free. A caller about to refuse
 * should first call seat_pool_reclaim_dead() and retry once. *slot is POOL_SLOT_NONE
 * (UINT32_MAX) on failure. */
int seat_pool_admit(struct seat_pool *pool, const struct seat_request *req, uint32_t *slot,
                    struct seat_numbers *nums);

/* Gives back the seat of `slot`. Returns 0, -EALREADY if the slot is not in use (a double
 * release changes nothing), -EPERM if another process holds it, -EINVAL for a slot outside the
 * pool. O(1), lock-free. */
int seat_pool_release(struct seat_pool *pool, uint32_t slot);

/* Sets the limit for new admissions; live sessions above a lower limit stay connected. */
void seat_pool_set_limit(struct seat_pool *pool, uint32_t limit);

/* Asks every process on the pool to re-read its licenses: bumps a counter each process's
 * control thread watches. Returns the new value. */
uint32_t seat_pool_request_reload(struct seat_pool *pool);

/* The reload counter, to compare with the value last acted on. */
uint32_t seat_pool_reload_requests(struct seat_pool *pool);

/* Counts a refusal at the limit decided without seat_pool_admit (the early
 * refusal at the TLS handshake), so the counters tell every refusal. */
void seat_pool_count_refusal(struct seat_pool *pool);

/* The numbers an early refusal needs, read in O(1) without taking anything. */
void seat_pool_numbers(struct seat_pool *pool, struct seat_numbers *nums);

/* Releases the seats of every registered process that is gone (dead, zombie, or its pid now
 * names a younger process) and frees its process entry. Seats of live processes are never
 * touched. Returns the number of seats reclaimed (also added to the reclaimed counter).
 * O(processes + capacity) when something is reclaimed, reading /proc once per process. */
int seat_pool_reclaim_dead(struct seat_pool *pool);

/* Fills *st with the pool's numbers and each registered process's pid and seat count. */
void seat_pool_snapshot(struct seat_pool *pool, struct seat_pool_status *st);

/* Calls cb once per live session, with a consistent copy of it; sessions that come or go
 * meanwhile may be missed or shown. Stops at and returns the first nonzero value cb returns;
 * 0 otherwise. */
int seat_pool_foreach_session(struct seat_pool *pool,
                              int (*cb)(const struct seat_session *s, void *arg), void *arg);

/* ---- key claims: one license counts in one pool per machine ---- */

struct seat_claim {
    char key_id[SEAT_POOL_KEY_MAX + 1];
    int64_t since; /* when this pool first claimed the key (seconds) */
};

/* Makes keys[0..n) this pool's claimed license keys: a key already claimed
 * keeps its `since`, a new one gets now, a key not named any more is dropped.
 * Keys longer than SEAT_POOL_KEY_MAX are skipped; n above SEAT_POOL_CLAIMS_MAX
 * is cut to it. since (may be NULL) gets, for each of keys[0..n), the since
 * it is claimed with, INT64_MAX for a key skipped. The processes of a pool
 * take turns through a sequence word; one that died while writing is
 * overridden after about 50 ms. Returns 0, -EBUSY when another writer kept it
 * all that time, -ENOMEM or -EINVAL. */
int seat_pool_publish_claims(struct seat_pool *pool, const char *const *keys, size_t n, int64_t now,
                             int64_t *since);

/* A consistent copy of the pool's claims into out[0..max), their number in
 * *n. Entries without a NUL-terminated, non-empty key are skipped. Returns 0,
 * -EAGAIN when writers kept the claims changing, -EPROTO for a claim count
 * beyond the table. */
int seat_pool_read_claims(struct seat_pool *pool, struct seat_claim *out, size_t max, size_t *n);

/* Opens another pool for reading only: the object "/licgate.<pool_name>" must
 * exist; it is mapped read-only and validated like an attach (without waiting
 * for an unpublished header) but this process is not registered, so
 * seat_pool_detach only unmaps it. Only seat_pool_read_claims and
 * seat_pool_live may be used on the handle. Returns 0 or -errno (-ENOENT, -EACCES,
 * -EPROTO ...) with the reason in err. */
int seat_pool_observe(const char *pool_name, struct seat_pool **out, char *err, size_t errlen);

/* Whether a process registered in the pool is alive, not counting this
 * handle's own registration (an observer has none). */
bool seat_pool_live(struct seat_pool *pool);

/* The names of the pools on this machine ("x" for /licgate.x), sorted; free
 * with seat_pool_free_names. Returns 0 or -errno (-E2BIG beyond 1024). */
int seat_pool_list(char ***names, size_t *count);
void seat_pool_free_names(char **names, size_t count);

#endif
