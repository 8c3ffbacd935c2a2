/* Keeping a seat pool true: slots of dead processes reclaimed, counters
 * recounted at a quiet moment, and the snapshots status and sessions read
 * (pool.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "pool_internal.h"
#include "proc.h"

/* Lost slots pushed back per audit: one per process that died inside an operation. */
#define POOL_LOST_BATCH POOL_MAX_PROCS

static uint32_t pool_reclaim_entry(struct seat_pool *pool, uint32_t proc)
{
    uint32_t i, n = 0;

    for (i = 0; i < pool->capacity; i++) {
        struct pool_slot *s = &pool->slots[i];
        uint64_t ctl = atomic_load_explicit(&s->ctl, memory_order_acquire);

        if (POOL_CTL_STATE(ctl) != POOL_SLOT_IN_USE || POOL_CTL_PROC(ctl) != proc)
            continue;
        if (!atomic_compare_exchange_strong_explicit(
                &s->ctl, &ctl, POOL_CTL(POOL_SLOT_FREE, proc, POOL_CTL_SEQ(ctl)),
                memory_order_acq_rel, memory_order_relaxed))
            continue;
        pool_give_back(pool, i, proc);
        n++;
    }
    return n;
}

static bool pool_quiet(const struct pool_header *hdr)
{
    for (uint32_t i = 0; i < POOL_MAX_PROCS; i++)
        if (atomic_load_explicit(&hdr->proc[i].busy, memory_order_seq_cst) != 0 &&
            atomic_load_explicit(&hdr->proc[i].state, memory_order_acquire) != POOL_PROC_FREE)
            return false;
    return true;
}

static uint64_t pool_moves(struct pool_header *hdr)
{
    return atomic_load_explicit(&hdr->admissions, memory_order_acquire) +
           atomic_load_explicit(&hdr->releases, memory_order_acquire) +
           atomic_load_explicit(&hdr->reclaimed, memory_order_acquire) +
           atomic_load_explicit(&hdr->put_back, memory_order_acquire);
}

static uint32_t pool_count_free(struct seat_pool *pool)
{
    uint64_t head = atomic_load_explicit(&pool->hdr->free_head, memory_order_acquire);
    uint32_t idx = POOL_HEAD_IDX(head), n = 0;

    while (idx != POOL_SLOT_NONE && idx < pool->capacity && n <= pool->capacity) {
        n++;
        idx = atomic_load_explicit(&pool->slots[idx].next, memory_order_relaxed);
    }
    return n;
}

/* The in-use counter moves before (admission) or after (release) the slot it
 * belongs to, so a process killed in between leaves it one too high, and any
 * other writer of the segment can set it to anything. The number of IN_USE
 * slots is the truth whenever no live process is inside an admission or a
 * release and nothing moved while the slots were counted: the counter is set
 * to it by a CAS against the value the count was made for, so a racing
 * admission wins and the audit is simply tried again later. */
static void pool_recount(struct seat_pool *pool, struct seat_pool_audit *out)
{
    struct pool_header *hdr = pool->hdr;

    for (int attempt = 0; attempt < POOL_AUDIT_TRIES; attempt++) {
        uint64_t moves = pool_moves(hdr);
        uint32_t counted = atomic_load_explicit(&hdr->in_use, memory_order_acquire), slots = 0,
                 own = 0, stacked;

        if (!pool_quiet(hdr))
            continue;
        for (uint32_t i = 0; i < pool->capacity; i++) {
            uint64_t ctl = atomic_load_explicit(&pool->slots[i].ctl, memory_order_acquire);

            if (POOL_CTL_STATE(ctl) != POOL_SLOT_IN_USE)
                continue;
            slots++;
            own += POOL_CTL_PROC(ctl) == pool->proc_idx;
        }
        stacked = pool_count_free(pool);
        if (!pool_quiet(hdr) || moves != pool_moves(hdr))
            continue;
        out->quiet = true;
        out->counted = counted;
        out->sessions = slots;
        out->own_slots = own;
        out->lost = slots + stacked < pool->capacity ? pool->capacity - slots - stacked : 0;
        out->after_death =
            atomic_exchange_explicit(&hdr->audit_needed, 0, memory_order_acq_rel) != 0;
        if (counted == slots)
            return;
        if (atomic_compare_exchange_strong_explicit(&hdr->in_use, &counted, slots,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            out->repaired = true;
            return;
        }
        if (out->after_death)
            atomic_store_explicit(&hdr->audit_needed, 1, memory_order_release);
        memset(out, 0, sizeof(*out));
    }
}

/* A process killed between taking a slot off the free stack and marking it in use, or between
 * freeing a slot and pushing it, leaves a slot that is FREE in its control word and on no list:
 * nobody could hand it out again. In a quiet moment such slots are found against a map of the
 * free stack and pushed back, each by whoever wins a compare-and-swap on its control word as it
 * was seen before the moment was confirmed quiet, so two auditors never push one slot twice.
 * This process is busy while it pushes, and counts the pushes before it is not, so another
 * auditor whose view spans them sees the pool move. At most POOL_LOST_BATCH per call. */
static uint32_t pool_put_back(struct seat_pool *pool)
{
    struct pool_header *hdr = pool->hdr;
    uint32_t cap = pool->capacity, idx, steps = 0, nfound = 0, n = 0, found[POOL_LOST_BATCH];
    uint64_t moves = pool_moves(hdr), seen[POOL_LOST_BATCH];
    _Atomic uint32_t *busy;
    uint8_t *stacked;

    if (pool->proc_idx >= POOL_MAX_PROCS || !pool_quiet(hdr))
        return 0;
    busy = &hdr->proc[pool->proc_idx].busy;
    stacked = calloc(cap / 8 + 1, 1);
    if (stacked == NULL)
        return 0;
    idx = POOL_HEAD_IDX(atomic_load_explicit(&hdr->free_head, memory_order_acquire));
    while (idx != POOL_SLOT_NONE) {
        if (idx >= cap || (stacked[idx / 8] & 1u << idx % 8) != 0 || ++steps > cap)
            goto out; /* moving under us, or corrupt: the recount's business */
        stacked[idx / 8] |= (uint8_t)(1u << idx % 8);
        idx = atomic_load_explicit(&pool->slots[idx].next, memory_order_acquire);
    }
    for (idx = 0; idx < cap && nfound < POOL_LOST_BATCH; idx++) {
        uint64_t ctl = atomic_load_explicit(&pool->slots[idx].ctl, memory_order_acquire);

        if (POOL_CTL_STATE(ctl) == POOL_SLOT_FREE && (stacked[idx / 8] & 1u << idx % 8) == 0) {
            found[nfound] = idx;
            seen[nfound++] = ctl;
        }
    }
    if (nfound == 0 || !pool_quiet(hdr) || moves != pool_moves(hdr))
        goto out;
    atomic_store_explicit(busy, 1, memory_order_seq_cst);
    for (uint32_t k = 0; k < nfound; k++) {
        uint64_t ctl = seen[k];

        if (!atomic_compare_exchange_strong_explicit(
                &pool->slots[found[k]].ctl, &ctl,
                POOL_CTL(POOL_SLOT_FREE, POOL_CTL_PROC(ctl), POOL_CTL_SEQ(ctl) + 1),
                memory_order_acq_rel, memory_order_relaxed))
            continue;
        pool_push(pool, found[k]);
        n++;
    }
    if (n > 0)
        atomic_fetch_add_explicit(&hdr->put_back, n, memory_order_release);
    atomic_store_explicit(busy, 0, memory_order_release);
out:
    free(stacked);
    return n;
}

void seat_pool_audit(struct seat_pool *pool, struct seat_pool_audit *out)
{
    struct pool_proc *p;

    memset(out, 0, sizeof(*out));
    if (pool == NULL || pool->proc_idx >= POOL_MAX_PROCS)
        return;
    pool_recount(pool, out);
    if (out->lost > 0)
        out->put_back = pool_put_back(pool);
    p = &pool->hdr->proc[pool->proc_idx];
    out->own_entry_ok =
        atomic_load_explicit(&p->state, memory_order_acquire) == POOL_PROC_LIVE &&
        atomic_load_explicit(&p->pid, memory_order_relaxed) == (uint32_t)pool->pid &&
        atomic_load_explicit(&p->start_time, memory_order_relaxed) == pool->start;
    if (!out->own_entry_ok) {
        /* Freed under us: take it back, so that nobody else's sessions get our slots' index
         * and a death of ours is still seen. Taken by another process: nothing to do. */
        uint32_t expected = POOL_PROC_FREE;

        if (atomic_compare_exchange_strong_explicit(&p->state, &expected, POOL_PROC_CLAIMING,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            atomic_store_explicit(&p->pid, (uint32_t)pool->pid, memory_order_relaxed);
            atomic_store_explicit(&p->start_time, pool->start, memory_order_relaxed);
            atomic_store_explicit(&p->in_use, out->own_slots, memory_order_relaxed);
            atomic_store_explicit(&p->state, POOL_PROC_LIVE, memory_order_release);
        }
    }
}

int seat_pool_reclaim_dead(struct seat_pool *pool)
{
    _Atomic uint32_t *busy = NULL;
    uint32_t i, n, state, pid, total = 0;
    uint64_t start;

    if (pool == NULL)
        return -EINVAL;
    if (pool->proc_idx < POOL_MAX_PROCS)
        busy = &pool->hdr->proc[pool->proc_idx].busy;
    for (i = 0; i < POOL_MAX_PROCS; i++) {
        struct pool_proc *p = &pool->hdr->proc[i];

        if (i == pool->proc_idx)
            continue;
        if (atomic_load_explicit(&p->state, memory_order_acquire) != POOL_PROC_LIVE)
            continue;
        pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
        start = atomic_load_explicit(&p->start_time, memory_order_relaxed);
        if (pid == 0 || pid > INT32_MAX || proc_alive((pid_t)pid, start))
            continue;
        state = POOL_PROC_LIVE;
        if (!atomic_compare_exchange_strong_explicit(&p->state, &state, POOL_PROC_RECLAIMING,
                                                     memory_order_acq_rel, memory_order_relaxed))
            continue;
        /* The entry may have been freed and taken by a live process since it was checked. */
        if (atomic_load_explicit(&p->pid, memory_order_relaxed) != pid ||
            atomic_load_explicit(&p->start_time, memory_order_relaxed) != start) {
            atomic_store_explicit(&p->state, POOL_PROC_LIVE, memory_order_release);
            continue;
        }
        if (atomic_load_explicit(&p->busy, memory_order_seq_cst) != 0)
            atomic_store_explicit(&pool->hdr->audit_needed, 1, memory_order_release);
        /* Busy like a release: a slot between FREE and the free stack is ours meanwhile. */
        if (busy != NULL)
            atomic_store_explicit(busy, 1, memory_order_seq_cst);
        n = pool_reclaim_entry(pool, i);
        if (n > 0)
            atomic_fetch_add_explicit(&pool->hdr->reclaimed, n, memory_order_release);
        if (busy != NULL)
            atomic_store_explicit(busy, 0, memory_order_release);
        total += n;
        atomic_store_explicit(&p->busy, 0, memory_order_relaxed);
        atomic_store_explicit(&p->in_use, 0, memory_order_relaxed);
        atomic_store_explicit(&p->start_time, 0, memory_order_relaxed);
        atomic_store_explicit(&p->pid, 0, memory_order_relaxed);
        atomic_store_explicit(&p->state, POOL_PROC_FREE, memory_order_release);
    }
    if (atomic_load_explicit(&pool->hdr->audit_needed, memory_order_acquire) != 0) {
        struct seat_pool_audit audit = {0};

        pool_recount(pool, &audit);
        if (audit.repaired && audit.counted > audit.sessions) {
            n = audit.counted - audit.sessions;
            atomic_fetch_add_explicit(&pool->hdr->reclaimed, n, memory_order_relaxed);
            total += n;
        }
        if (audit.lost > 0)
            pool_put_back(pool);
    }
    return (int)total;
}

void seat_pool_snapshot(struct seat_pool *pool, struct seat_pool_status *st)
{
    struct pool_header *hdr;
    uint32_t i;

    if (st == NULL)
        return;
    memset(st, 0, sizeof(*st));
    if (pool == NULL)
        return;
    hdr = pool->hdr;
    st->in_use = atomic_load_explicit(&hdr->in_use, memory_order_relaxed);
    st->peak = atomic_load_explicit(&hdr->peak, memory_order_relaxed);
    st->capacity = pool->capacity;
    st->free_slots = pool_count_free(pool);
    st->admissions = atomic_load_explicit(&hdr->admissions, memory_order_relaxed);
    st->refusals_limit = atomic_load_explicit(&hdr->refusals_limit, memory_order_relaxed);
    st->refusals_capacity = atomic_load_explicit(&hdr->refusals_capacity, memory_order_relaxed);
    st->releases = atomic_load_explicit(&hdr->releases, memory_order_relaxed);
    st->reclaimed = atomic_load_explicit(&hdr->reclaimed, memory_order_relaxed);
    for (i = 0; i < POOL_MAX_PROCS; i++) {
        struct pool_proc *p = &hdr->proc[i];

        if (atomic_load_explicit(&p->state, memory_order_acquire) != POOL_PROC_LIVE)
            continue;
        st->procs[st->nprocs].pid = (pid_t)atomic_load_explicit(&p->pid, memory_order_relaxed);
        st->procs[st->nprocs].in_use = atomic_load_explicit(&p->in_use, memory_order_relaxed);
        st->nprocs++;
    }
}

int seat_pool_foreach_session(struct seat_pool *pool,
                              int (*cb)(const struct seat_session *s, void *arg), void *arg)
{
    struct seat_session copy;
    uint64_t before, after;
    uint32_t i, proc;
    int r;

    if (pool == NULL || cb == NULL)
        return -EINVAL;
    for (i = 0; i < pool->capacity; i++) {
        struct pool_slot *s = &pool->slots[i];

        /* Seqlock read: the copy counts only if the control word did not move under it. */
        before = atomic_load_explicit(&s->ctl, memory_order_acquire);
        if (POOL_CTL_STATE(before) != POOL_SLOT_IN_USE)
            continue;
        memset(&copy, 0, sizeof(copy));
        copy.slot = i;
        copy.connected_since = atomic_load_explicit(&s->connected_since, memory_order_relaxed);
        memcpy(copy.cn, s->cn, sizeof(copy.cn));
        memcpy(copy.addr, s->addr, sizeof(copy.addr));
        atomic_thread_fence(memory_order_acquire);
        after = atomic_load_explicit(&s->ctl, memory_order_relaxed);
        if (after != before)
            continue;
        copy.cn[sizeof(copy.cn) - 1] = '\0';
        copy.addr[sizeof(copy.addr) - 1] = '\0';
        proc = POOL_CTL_PROC(before);
        if (proc < POOL_MAX_PROCS)
            copy.pid =
                (pid_t)atomic_load_explicit(&pool->hdr->proc[proc].pid, memory_order_relaxed);
        r = cb(&copy, arg);
        if (r != 0)
            return r;
    }
    return 0;
}
