/* The seat pool's admission path: take a free slot under the limit, give
 * it back, and the counters others read (pool.h). Attaching is in
 * pool_attach.c, the audit and reclaim of dead processes in pool_audit.c. */
#include "pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "pool_internal.h"
#include "proc.h"
#include "text.h"

/* Processes share these words through a mapping; only lock-free atomics are address-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "long atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "atomic sizes");
_Static_assert(sizeof(struct pool_proc) == 64, "pool_proc layout: a cache line each");
_Static_assert(offsetof(struct pool_header, proc) % 64 == 0, "the process table on a cache line");
_Static_assert(sizeof(struct pool_header) == 192 + 64 * POOL_MAX_PROCS, "pool_header layout");
_Static_assert(SEAT_POOL_NAME_MAX < POOL_NAME_LEN && SEAT_POOL_TOKEN_LEN == POOL_TOKEN_LEN,
               "pool name and token");
_Static_assert(sizeof(struct pool_slot) == 152, "pool_slot layout");
_Static_assert(SEAT_POOL_MAX_PROCS == POOL_MAX_PROCS, "process table size");
_Static_assert(SEAT_POOL_CAPACITY_MAX == POOL_CAPACITY_MAX, "capacity bound");
_Static_assert(SEAT_POOL_CN_MAX == POOL_CN_LEN && SEAT_POOL_ADDR_MAX == POOL_ADDR_LEN, "fields");
_Static_assert(POOL_MAX_PROCS <= 0xff, "process index fits the slot control word");

uint64_t pool_magic(void)
{
    uint64_t v;

    memcpy(&v, POOL_MAGIC, sizeof(v));
    return v;
}

size_t seat_pool_region_size(uint32_t capacity)
{
    if (capacity == 0 || capacity > POOL_CAPACITY_MAX)
        return 0;
    return sizeof(struct pool_header) + (size_t)capacity * sizeof(struct pool_slot);
}

void pool_counter_dec(_Atomic uint32_t *c)
{
    uint32_t n = atomic_load_explicit(c, memory_order_relaxed);

    while (n > 0 && !atomic_compare_exchange_weak_explicit(c, &n, n - 1, memory_order_acq_rel,
                                                           memory_order_relaxed))
        ;
}

/* A client's name or address into a slot: cut between characters, never inside a UTF-8
 * sequence (a certificate CN of 32 x "Ä" is 64 bytes). */
static void copy_field(char *dst, size_t len, const char *src)
{
    size_t n = src != NULL ? text_utf8_prefix(src, strnlen(src, len), len - 1) : 0;

    memcpy(dst, src != NULL ? src : "", n);
    memset(dst + n, 0, len - n);
}

static int pool_pop(struct seat_pool *pool, uint32_t *idx)
{
    struct pool_header *hdr = pool->hdr;
    uint64_t head, again;
    uint32_t i, next;

    *idx = POOL_SLOT_NONE;
    head = atomic_load_explicit(&hdr->free_head, memory_order_acquire);
    for (;;) {
        i = POOL_HEAD_IDX(head);
        if (i == POOL_SLOT_NONE)
            return -ENOSPC;
        if (i >= pool->capacity)
            return -EPROTO;
        next = atomic_load_explicit(&pool->slots[i].next, memory_order_relaxed);
        if (next != POOL_SLOT_NONE && next >= pool->capacity) {
            /* A stale read while others pop is harmless; a bad link under a stable head is
             * corruption. */
            again = atomic_load_explicit(&hdr->free_head, memory_order_acquire);
            if (again == head)
                return -EPROTO;
            head = again;
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&hdr->free_head, &head,
                                                  POOL_HEAD(next, POOL_HEAD_TAG(head) + 1),
                                                  memory_order_acq_rel, memory_order_acquire))
            break;
    }
    *idx = i;
    return 0;
}

void pool_push(struct seat_pool *pool, uint32_t idx)
{
    struct pool_header *hdr = pool->hdr;
    uint64_t head = atomic_load_explicit(&hdr->free_head, memory_order_relaxed);

    do {
        atomic_store_explicit(&pool->slots[idx].next, POOL_HEAD_IDX(head), memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&hdr->free_head, &head,
                                                    POOL_HEAD(idx, POOL_HEAD_TAG(head) + 1),
                                                    memory_order_release, memory_order_relaxed));
}

void pool_give_back(struct seat_pool *pool, uint32_t idx, uint32_t proc)
{
    pool_push(pool, idx);
    pool_counter_dec(&pool->hdr->in_use);
    if (proc < POOL_MAX_PROCS)
        pool_counter_dec(&pool->hdr->proc[proc].in_use);
}

/* Raises *word to n: one load unless n is higher. */
static void raise_to(_Atomic uint32_t *word, uint32_t n)
{
    uint32_t seen = atomic_load_explicit(word, memory_order_relaxed);

    while (n > seen && !atomic_compare_exchange_weak_explicit(word, &seen, n, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
}

/* The peaks: since the pool was made, and since the usage record last took it. */
static void note_peak(struct pool_header *hdr, uint32_t n)
{
    raise_to(&hdr->peak, n);
    raise_to(&hdr->window_peak, n);
}

uint32_t seat_pool_take_window_peak(struct seat_pool *pool)
{
    struct pool_header *hdr = pool->hdr;
    uint32_t now = atomic_load_explicit(&hdr->in_use, memory_order_relaxed);

    /* The next window starts with what is in use now. */
    return atomic_exchange_explicit(&hdr->window_peak, now, memory_order_relaxed);
}

void seat_pool_token(struct seat_pool *pool, uint8_t token[SEAT_POOL_TOKEN_LEN])
{
    memcpy(token, pool->hdr->token, SEAT_POOL_TOKEN_LEN);
}

uint32_t seat_pool_window_peak(struct seat_pool *pool)
{
    return atomic_load_explicit(&pool->hdr->window_peak, memory_order_relaxed);
}

void seat_pool_counters(struct seat_pool *pool, struct seat_pool_counters *c)
{
    struct pool_header *hdr = pool->hdr;

    c->in_use = atomic_load_explicit(&hdr->in_use, memory_order_relaxed);
    c->admissions = atomic_load_explicit(&hdr->admissions, memory_order_relaxed);
    c->refusals_limit = atomic_load_explicit(&hdr->refusals_limit, memory_order_relaxed);
    c->refusals_capacity = atomic_load_explicit(&hdr->refusals_capacity, memory_order_relaxed);
}

void seat_pool_set_cluster(struct seat_pool *pool, uint32_t grant, int64_t deadline_ms)
{
    uint64_t word = 0;

    if (grant > 0 && deadline_ms > 0 && deadline_ms < (INT64_C(1) << 44))
        word = POOL_CLUSTER(grant > POOL_CLUSTER_GRANT_MAX ? POOL_CLUSTER_GRANT_MAX : grant,
                            deadline_ms);
    atomic_store_explicit(&pool->hdr->cluster, word, memory_order_release);
}

void seat_pool_cluster(struct seat_pool *pool, uint32_t *grant, int64_t *deadline_ms)
{
    uint64_t word = atomic_load_explicit(&pool->hdr->cluster, memory_order_acquire);

    *grant = POOL_CLUSTER_GRANT(word);
    *deadline_ms = POOL_CLUSTER_DEADLINE(word);
}

int seat_pool_admit(struct seat_pool *pool, const struct seat_request *req, uint32_t limit,
                    uint32_t *slot, struct seat_numbers *nums)
{
    struct seat_numbers seen = {0};
    struct pool_header *hdr;
    struct pool_slot *s;
    uint32_t n, idx;
    uint64_t ctl;
    int r;

    if (slot != NULL)
        *slot = POOL_SLOT_NONE;
    if (nums != NULL)
        memset(nums, 0, sizeof(*nums));
    if (pool == NULL || req == NULL || slot == NULL || pool->proc_idx >= POOL_MAX_PROCS)
        return -EINVAL;
    hdr = pool->hdr;
    seen.capacity = pool->capacity;
    seen.limit = limit;
    /* Before the counter moves: a death from here on leaves a trace. */
    atomic_store_explicit(&hdr->proc[pool->proc_idx].busy, 1, memory_order_seq_cst);

    n = atomic_load_explicit(&hdr->in_use, memory_order_relaxed);
    for (;;) {
        seen.in_use = n;
        if (n >= limit) {
            atomic_fetch_add_explicit(&hdr->refusals_limit, 1, memory_order_relaxed);
            r = -EDQUOT;
            goto out;
        }
        if (atomic_compare_exchange_weak_explicit(&hdr->in_use, &n, n + 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }

    r = pool_pop(pool, &idx);
    if (r < 0) {
        pool_counter_dec(&hdr->in_use);
        if (r == -ENOSPC)
            atomic_fetch_add_explicit(&hdr->refusals_capacity, 1, memory_order_relaxed);
        goto out;
    }
    s = &pool->slots[idx];
    ctl = atomic_load_explicit(&s->ctl, memory_order_acquire);
    if (POOL_CTL_STATE(ctl) != POOL_SLOT_FREE) {
        /* A live slot on the free stack: leave it to its owner rather than hand it out twice. */
        pool_counter_dec(&hdr->in_use);
        r = -EPROTO;
        goto out;
    }
    atomic_store_explicit(&s->connected_since, req->now, memory_order_relaxed);
    copy_field(s->cn, sizeof(s->cn), req->cn);
    copy_field(s->addr, sizeof(s->addr), req->addr);
    ctl = POOL_CTL(POOL_SLOT_IN_USE, pool->proc_idx, POOL_CTL_SEQ(ctl) + 1);
    atomic_store_explicit(&s->ctl, ctl, memory_order_release);
    atomic_fetch_add_explicit(&hdr->proc[pool->proc_idx].in_use, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hdr->admissions, 1, memory_order_relaxed);
    note_peak(hdr, n + 1);
    seen.in_use = n + 1;
    *slot = idx;
out:
    atomic_store_explicit(&hdr->proc[pool->proc_idx].busy, 0, memory_order_release);
    if (nums != NULL)
        *nums = seen;
    return r;
}

int seat_pool_release(struct seat_pool *pool, uint32_t slot)
{
    _Atomic uint32_t *busy;
    struct pool_slot *s;
    uint64_t ctl;
    int r = 0;

    if (pool == NULL || slot >= pool->capacity || pool->proc_idx >= POOL_MAX_PROCS)
        return -EINVAL;
    busy = &pool->hdr->proc[pool->proc_idx].busy;
    atomic_store_explicit(busy, 1, memory_order_seq_cst);
    s = &pool->slots[slot];
    ctl = atomic_load_explicit(&s->ctl, memory_order_acquire);
    do {
        if (POOL_CTL_STATE(ctl) != POOL_SLOT_IN_USE) {
            r = -EALREADY;
            goto out;
        }
        if (POOL_CTL_PROC(ctl) != pool->proc_idx) {
            r = -EPERM;
            goto out;
        }
    } while (!atomic_compare_exchange_weak_explicit(
        &s->ctl, &ctl, POOL_CTL(POOL_SLOT_FREE, pool->proc_idx, POOL_CTL_SEQ(ctl)),
        memory_order_acq_rel, memory_order_acquire));
    pool_give_back(pool, slot, pool->proc_idx);
    atomic_fetch_add_explicit(&pool->hdr->releases, 1, memory_order_relaxed);
out:
    atomic_store_explicit(busy, 0, memory_order_release);
    return r;
}

uint32_t seat_pool_request_reload(struct seat_pool *pool)
{
    return atomic_fetch_add_explicit(&pool->hdr->reload_requests, 1, memory_order_acq_rel) + 1;
}

uint32_t seat_pool_reload_requests(struct seat_pool *pool)
{
    return atomic_load_explicit(&pool->hdr->reload_requests, memory_order_acquire);
}

void seat_pool_reload_ack(struct seat_pool *pool, uint32_t seen)
{
    if (pool->proc_idx < POOL_MAX_PROCS)
        atomic_store_explicit(&pool->hdr->proc[pool->proc_idx].reload_seen, seen,
                              memory_order_release);
}

bool seat_pool_reload_followed(struct seat_pool *pool, uint32_t request, pid_t *laggard)
{
    *laggard = 0;
    for (uint32_t i = 0; i < POOL_MAX_PROCS; i++) {
        struct pool_proc *p = &pool->hdr->proc[i];
        uint32_t pid, seen;

        if (i == pool->proc_idx ||
            atomic_load_explicit(&p->state, memory_order_acquire) != POOL_PROC_LIVE)
            continue;
        seen = atomic_load_explicit(&p->reload_seen, memory_order_acquire);
        pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
        if ((int32_t)(seen - request) >= 0 || pid == 0 || pid > INT32_MAX ||
            !proc_alive((pid_t)pid, atomic_load_explicit(&p->start_time, memory_order_relaxed)))
            continue;
        *laggard = (pid_t)pid;
        return false;
    }
    return true;
}

void seat_pool_count_refusal(struct seat_pool *pool)
{
    atomic_fetch_add_explicit(&pool->hdr->refusals_limit, 1, memory_order_relaxed);
}

void seat_pool_numbers(struct seat_pool *pool, struct seat_numbers *nums)
{
    nums->in_use = atomic_load_explicit(&pool->hdr->in_use, memory_order_relaxed);
    nums->capacity = pool->capacity;
}

/* Only this entry's slots are touched, each by a compare-and-swap against the exact control
 * word seen, so a slot re-admitted meanwhile by a live process is left alone. */
