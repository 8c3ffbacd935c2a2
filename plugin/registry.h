/* The machine registry: the facts that belong to the machine, not to a pool, held once in one
 * shared-memory segment (found and made by machine.c): which licgate processes run and in which
 * pool, where each pool's segment is, which pool counts each license key, the 2 evaluation
 * seats, and the clock high-water mark. A handle belongs to one process and one thread at a
 * time. The tables are read and written under a lock word in the segment, held for
 * microseconds and overridden when its holder died; the evaluation seats and the clock mark are
 * lock-free. Nothing read back is trusted: strings are checked, indices bounded, processes
 * checked against /proc. Int functions return 0 or -errno. */
#ifndef LICGATE_REGISTRY_H
#define LICGATE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REGISTRY_EVAL_SEATS 2
#define REGISTRY_MAX_PROCS  256
#define REGISTRY_MAX_POOLS  64
#define REGISTRY_MAX_CLAIMS 4096
#define REGISTRY_DIR_MAX    1023 /* a license directory, without the NUL */
#define REGISTRY_POOL_MAX   32
#define REGISTRY_KEY_MAX    64
#define REGISTRY_TOKEN_LEN  16

struct registry;

/* Bytes of the registry segment. */
size_t registry_region_size(void);

/* Writes an empty registry into base (8-byte aligned, size >= registry_region_size()),
 * publishing it last. Only its creator calls it. 0 or -EINVAL. */
int registry_init_region(void *base, size_t size);

/* A handle on the registry in size bytes at base, validated (magic, layout version, sizes;
 * -EPROTO with the reason). This process is not registered yet. Does not unmap base. */
int registry_attach_region(void *base, size_t size, struct registry **out, char *err,
                           size_t errlen);

/* Takes this process out of the registry (its entry, its claims and any evaluation seat it
 * still holds, under the lock if it can be had, else anyway: they are its own) and frees the
 * handle. NULL is a no-op. */
void registry_release(struct registry *reg);

/* Takes the table lock within timeout_ms: 0, or -EBUSY when a live process held it all that
 * time. A holder that died is overridden at once. Not re-entrant. */
int registry_lock(struct registry *reg, unsigned timeout_ms);
void registry_unlock(struct registry *reg);

/* ---- under the lock ---- */

/* Frees the entries of the processes that died (their claims and evaluation seats with
 * them). Returns how many. */
int registry_reclaim_dead(struct registry *reg);

/* Registers this process (its pid and start time, from /proc) in pool `pool` with its
 * license directory. -EUSERS when the table holds REGISTRY_MAX_PROCS live processes, -ENOENT
 * without /proc, -EINVAL for a name or directory that does not fit. */
int registry_register(struct registry *reg, const char *pool, const char *license_dir, int64_t now);

struct registry_pool_entry {
    int shmid;
    uint32_t capacity;
    uint8_t token[REGISTRY_TOKEN_LEN];
};

/* The segment registered for pool `name`: 0, or -ENOENT. */
int registry_find_pool(struct registry *reg, const char *name, struct registry_pool_entry *out);

/* Records the segment of pool `name`, replacing what was recorded for it. -ENOSPC when
 * REGISTRY_MAX_POOLS other pools are recorded and none of them is stale (stale(shmid, arg)
 * tells a segment that is gone). */
int registry_set_pool(struct registry *reg, const char *name, const struct registry_pool_entry *e,
                      bool (*stale)(int shmid, void *arg), void *arg);

/* Makes keys[0..n) this process's claims: a key it claimed before keeps its since; a new one
 * takes the earliest since of the live processes of its own pool that claim it, else now; a
 * key not named any more is dropped. since (may be NULL) gets each key's since, INT64_MAX for
 * a key that could not be claimed (too long, or the table is full). */
int registry_publish_claims(struct registry *reg, const char *const *keys, size_t n, int64_t now,
                            int64_t *since);

struct registry_proc_view {
    pid_t pid;
    bool self;
    char pool[REGISTRY_POOL_MAX + 1];
    char license_dir[REGISTRY_DIR_MAX + 1];
};

struct registry_claim_view {
    char key_id[REGISTRY_KEY_MAX + 1];
    char pool[REGISTRY_POOL_MAX + 1];
    pid_t pid;
    int64_t since;
};

struct registry_view {
    struct registry_proc_view *procs; /* live, well-formed entries only */
    size_t nprocs;
    struct registry_claim_view *claims; /* of those processes only */
    size_t nclaims;
};

/* A copy of the live processes and their claims. Free with registry_view_free. */
int registry_snapshot(struct registry *reg, struct registry_view *view);
void registry_view_free(struct registry_view *view);

/* The pool that counts key: the pool of the earliest claim in view, the pool name deciding a
 * tie; NULL when no process claims it. */
const char *registry_view_winner(const struct registry_view *view, const char *key);

/* Whether a process of pool claims key in view. */
bool registry_view_claimed_by(const struct registry_view *view, const char *key, const char *pool);

/* ---- lock-free ---- */

/* One of the machine's evaluation seats, as held by this process. */
struct registry_eval {
    int8_t seat; /* -1: none */
    uint64_t word;
};

/* Takes a free evaluation seat for this (registered) process: 0, or -EDQUOT when all
 * REGISTRY_EVAL_SEATS are held. O(1). */
int registry_eval_take(struct registry *reg, struct registry_eval *tok);

/* Gives a seat back: 0, or -ESTALE when the seat no longer carried this process's word (the
 * segment was written by someone else); tok->seat is -1 afterwards either way. */
int registry_eval_give(struct registry *reg, struct registry_eval *tok);

/* Whether the seat still carries tok's word. */
bool registry_eval_held(struct registry *reg, const struct registry_eval *tok);

/* Evaluation seats held now, machine-wide. */
uint32_t registry_eval_in_use(struct registry *reg);

/* Raises the machine's clock mark to at least mark and returns the mark now. */
int64_t registry_clock_raise(struct registry *reg, int64_t mark);

/* Bumped by every change of the tables: a maintenance that sees it move looks again. */
uint32_t registry_generation(struct registry *reg);

/* Whether this process's entry still names it (pid, start time, live): false after another
 * writer changed it. */
bool registry_self_ok(struct registry *reg);

#endif
