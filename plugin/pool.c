#include "pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "pool_layout.h"
#include "proc.h"
#include "text.h"

/* Processes share these words through a mapping; only lock-free atomics are address-free. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "long atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "atomic sizes");
_Static_assert(sizeof(struct pool_proc) == 32, "pool_proc layout");
_Static_assert(sizeof(struct pool_header) == 152 + 32 * POOL_MAX_PROCS, "pool_header layout");
_Static_assert(SEAT_POOL_NAME_MAX < POOL_NAME_LEN && SEAT_POOL_TOKEN_LEN == POOL_TOKEN_LEN,
               "pool name and token");
_Static_assert(sizeof(struct pool_slot) == 152, "pool_slot layout");
_Static_assert(SEAT_POOL_MAX_PROCS == POOL_MAX_PROCS, "process table size");
_Static_assert(SEAT_POOL_CAPACITY_MAX == POOL_CAPACITY_MAX, "capacity bound");
_Static_assert(SEAT_POOL_CN_MAX == POOL_CN_LEN && SEAT_POOL_ADDR_MAX == POOL_ADDR_LEN, "fields");
_Static_assert(POOL_MAX_PROCS <= 0xff, "process index fits the slot control word");

/* How long an attacher waits for a creator to publish the header. */
#define POOL_MAGIC_WAIT_STEPS 100
#define POOL_MAGIC_WAIT_MS    10
#define POOL_PROC_NONE        UINT32_MAX
/* Attempts at a quiet moment for one audit. */
#define POOL_AUDIT_TRIES 8

struct seat_pool {
    struct pool_header *hdr;
    struct pool_slot *slots;
    uint32_t capacity;
    uint32_t proc_idx;
    pid_t pid; /* this process, as registered */
    uint64_t start;
};

static uint64_t pool_magic(void)
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

/* Never below zero: a corrupt counter must not wrap into "pool full forever". */
static void counter_dec(_Atomic uint32_t *c)
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

static void pool_push(struct seat_pool *pool, uint32_t idx)
{
    struct pool_header *hdr = pool->hdr;
    uint64_t head = atomic_load_explicit(&hdr->free_head, memory_order_relaxed);

    do {
        atomic_store_explicit(&pool->slots[idx].next, POOL_HEAD_IDX(head), memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&hdr->free_head, &head,
                                                    POOL_HEAD(idx, POOL_HEAD_TAG(head) + 1),
                                                    memory_order_release, memory_order_relaxed));
}

/* The slot is already FREE in its control word. Push before decrementing in_use, so an
 * admission that passed the limit check always finds a slot when capacity >= limit. */
static void pool_give_back(struct seat_pool *pool, uint32_t idx, uint32_t proc)
{
    pool_push(pool, idx);
    counter_dec(&pool->hdr->in_use);
    if (proc < POOL_MAX_PROCS)
        counter_dec(&pool->hdr->proc[proc].in_use);
}

int seat_pool_init_region(void *base, size_t size, uint32_t capacity, const char *name,
                          const uint8_t token[SEAT_POOL_TOKEN_LEN])
{
    size_t need = seat_pool_region_size(capacity);
    struct pool_header *hdr = base;
    struct pool_slot *slots;
    uint32_t i;

    if (base == NULL || (uintptr_t)base % 8 != 0 || need == 0 || size < need || name == NULL ||
        token == NULL || strnlen(name, POOL_NAME_LEN) > SEAT_POOL_NAME_MAX)
        return -EINVAL;
    atomic_store_explicit(&hdr->magic, 0, memory_order_relaxed);
    memset((char *)base + sizeof(hdr->magic), 0, need - sizeof(hdr->magic));
    hdr->version = POOL_LAYOUT_VERSION;
    hdr->header_size = sizeof(struct pool_header);
    hdr->procs = POOL_MAX_PROCS;
    hdr->capacity = capacity;
    hdr->slot_size = sizeof(struct pool_slot);
    hdr->total_size = need;
    memcpy(hdr->name, name, strlen(name));
    memcpy(hdr->token, token, POOL_TOKEN_LEN);
    atomic_store_explicit(&hdr->free_head, POOL_HEAD(0, 0), memory_order_relaxed);
    slots = (struct pool_slot *)(hdr + 1);
    for (i = 0; i < capacity; i++) {
        uint32_t next = i + 1 < capacity ? i + 1 : POOL_SLOT_NONE;

        atomic_store_explicit(&slots[i].next, next, memory_order_relaxed);
    }
    atomic_store_explicit(&hdr->magic, pool_magic(), memory_order_release);
    return 0;
}

static int pool_wait_magic(struct pool_header *hdr, uint64_t *magic, int steps)
{
    for (int i = 0;; i++) {
        *magic = atomic_load_explicit(&hdr->magic, memory_order_acquire);
        if (*magic != 0 || i >= steps)
            return 0;
        clock_sleep_ms(POOL_MAGIC_WAIT_MS);
    }
}

/* Reads each published field once into a local: the region is writable by others, so what
 * was validated must be what is used. */
static int pool_validate(void *base, size_t size, const char *label, const char *name,
                         const uint8_t *token, uint32_t *capacity, char *err, size_t errlen)
{
    struct pool_header *hdr = base;
    uint32_t version, header_size, procs, cap, slot_size;
    uint64_t magic, total, need;

    *capacity = 0;
    if (size < sizeof(struct pool_header)) {
        errbuf_set(err, errlen, "%s: region of %zu bytes is smaller than the %zu-byte header",
                   label, size, sizeof(struct pool_header));
        return -EPROTO;
    }
    pool_wait_magic(hdr, &magic, POOL_MAGIC_WAIT_STEPS);
    if (magic == 0) {
        errbuf_set(err, errlen, "%s: not initialized after 1 s (its creator died?); remove it",
                   label);
        return -EPROTO;
    }
    if (magic != pool_magic()) {
        errbuf_set(err, errlen, "%s: bad magic, not a licgate seat pool", label);
        return -EPROTO;
    }
    version = hdr->version;
    header_size = hdr->header_size;
    procs = hdr->procs;
    cap = hdr->capacity;
    slot_size = hdr->slot_size;
    total = hdr->total_size;
    if (version != POOL_LAYOUT_VERSION) {
        errbuf_set(err, errlen, "%s: layout version %u, this build speaks %u", label, version,
                   POOL_LAYOUT_VERSION);
        return -EPROTO;
    }
    if (header_size != sizeof(struct pool_header)) {
        errbuf_set(err, errlen, "%s: header size %u, expected %zu", label, header_size,
                   sizeof(struct pool_header));
        return -EPROTO;
    }
    if (procs != POOL_MAX_PROCS) {
        errbuf_set(err, errlen, "%s: process table of %u entries, expected %u", label, procs,
                   POOL_MAX_PROCS);
        return -EPROTO;
    }
    if (slot_size != sizeof(struct pool_slot)) {
        errbuf_set(err, errlen, "%s: slot size %u, expected %zu", label, slot_size,
                   sizeof(struct pool_slot));
        return -EPROTO;
    }
    if (cap == 0 || cap > POOL_CAPACITY_MAX) {
        errbuf_set(err, errlen, "%s: capacity %u outside 1..%u", label, cap, POOL_CAPACITY_MAX);
        return -EPROTO;
    }
    /* cap <= 10^6 and slot_size is fixed, so this cannot overflow 64 bits. */
    need = (uint64_t)header_size + (uint64_t)cap * slot_size;
    if (total != need) {
        errbuf_set(err, errlen, "%s: total size %llu, capacity %u needs %llu", label,
                   (unsigned long long)total, cap, (unsigned long long)need);
        return -EPROTO;
    }
    if (total > size) {
        errbuf_set(err, errlen, "%s: total size %llu exceeds the %zu-byte region (truncated?)",
                   label, (unsigned long long)total, size);
        return -EPROTO;
    }
    if (memchr(hdr->name, '\0', POOL_NAME_LEN) == NULL || strcmp(hdr->name, name) != 0) {
        errbuf_set(err, errlen, "%s: the segment belongs to another pool", label);
        return -ESTALE;
    }
    if (token != NULL && memcmp(hdr->token, token, POOL_TOKEN_LEN) != 0) {
        errbuf_set(err, errlen, "%s: the segment is not the one the machine registry names", label);
        return -ESTALE;
    }
    *capacity = cap;
    return 0;
}

static int pool_register(struct seat_pool *pool)
{
    struct pool_header *hdr = pool->hdr;
    pid_t self;
    uint64_t start;
    uint32_t i, expected;
    int attempt;

    if (proc_self(&self, &start) < 0)
        return -ENOENT;
    pool->pid = self;
    pool->start = start;
    for (attempt = 0; attempt < 2; attempt++) {
        for (i = 0; i < POOL_MAX_PROCS; i++) {
            struct pool_proc *p = &hdr->proc[i];

            if (atomic_load_explicit(&p->state, memory_order_acquire) == POOL_PROC_LIVE &&
                atomic_load_explicit(&p->pid, memory_order_relaxed) == (uint32_t)self &&
                atomic_load_explicit(&p->start_time, memory_order_relaxed) == start) {
                pool->proc_idx = i;
                return 0;
            }
        }
        for (i = 0; i < POOL_MAX_PROCS; i++) {
            struct pool_proc *p = &hdr->proc[i];

            expected = POOL_PROC_FREE;
            if (!atomic_compare_exchange_strong_explicit(&p->state, &expected, POOL_PROC_CLAIMING,
                                                         memory_order_acq_rel,
                                                         memory_order_relaxed))
                continue;
            atomic_store_explicit(&p->pid, (uint32_t)self, memory_order_relaxed);
            atomic_store_explicit(&p->start_time, start, memory_order_relaxed);
            atomic_store_explicit(&p->in_use, 0, memory_order_relaxed);
            atomic_store_explicit(&p->reload_seen,
                                  atomic_load_explicit(&hdr->reload_requests, memory_order_acquire),
                                  memory_order_relaxed);
            atomic_store_explicit(&p->state, POOL_PROC_LIVE, memory_order_release);
            pool->proc_idx = i;
            return 0;
        }
        if (attempt == 0)
            seat_pool_reclaim_dead(pool);
    }
    return -EUSERS;
}

int seat_pool_attach_region(void *base, size_t size, const char *name,
                            const uint8_t token[SEAT_POOL_TOKEN_LEN], struct seat_pool **out,
                            char *err, size_t errlen)
{
    struct seat_pool *pool = NULL;
    char label[SEAT_POOL_NAME_MAX + 8];
    uint32_t capacity;
    int r;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL || name == NULL)
        return -EINVAL;
    *out = NULL;
    snprintf(label, sizeof(label), "pool %.32s", name);
    if (base == NULL || (uintptr_t)base % 8 != 0) {
        errbuf_set(err, errlen, "%s: region is not 8-byte aligned", label);
        return -EINVAL;
    }
    r = pool_validate(base, size, label, name, token, &capacity, err, errlen);
    if (r < 0)
        return r;
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        errbuf_set(err, errlen, "%s: out of memory", label);
        return -ENOMEM;
    }
    pool->hdr = base;
    pool->slots = (struct pool_slot *)(pool->hdr + 1);
    pool->capacity = capacity;
    pool->proc_idx = POOL_PROC_NONE;
    r = pool_register(pool);
    if (r < 0) {
        if (r == -EUSERS)
            errbuf_set(err, errlen, "%s: process table full (%u live processes)", label,
                       POOL_MAX_PROCS);
        else
            errbuf_set(err, errlen,
                       "%s: cannot read this process's start time from /proc: "
                       "licgate needs /proc to tell live processes from dead ones",
                       label);
        free(pool);
        return r;
    }
    *out = pool;
    return 0;
}

void seat_pool_detach(struct seat_pool *pool)
{
    struct pool_proc *p;
    uint32_t i, expected;

    if (pool == NULL)
        return;
    if (pool->proc_idx < POOL_MAX_PROCS) {
        for (i = 0; i < pool->capacity; i++) {
            uint64_t ctl = atomic_load_explicit(&pool->slots[i].ctl, memory_order_acquire);

            if (POOL_CTL_STATE(ctl) == POOL_SLOT_IN_USE && POOL_CTL_PROC(ctl) == pool->proc_idx)
                seat_pool_release(pool, i);
        }
        p = &pool->hdr->proc[pool->proc_idx];
        atomic_store_explicit(&p->in_use, 0, memory_order_relaxed);
        atomic_store_explicit(&p->start_time, 0, memory_order_relaxed);
        atomic_store_explicit(&p->pid, 0, memory_order_relaxed);
        expected = POOL_PROC_LIVE;
        atomic_compare_exchange_strong_explicit(&p->state, &expected, POOL_PROC_FREE,
                                                memory_order_acq_rel, memory_order_relaxed);
    }
    free(pool);
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
        counter_dec(&hdr->in_use);
        if (r == -ENOSPC)
            atomic_fetch_add_explicit(&hdr->refusals_capacity, 1, memory_order_relaxed);
        goto out;
    }
    s = &pool->slots[idx];
    ctl = atomic_load_explicit(&s->ctl, memory_order_acquire);
    if (POOL_CTL_STATE(ctl) != POOL_SLOT_FREE) {
        /* A live slot on the free stack: leave it to its owner rather than hand it out twice. */
        counter_dec(&hdr->in_use);
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
           atomic_load_explicit(&hdr->reclaimed, memory_order_acquire);
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
                 own = 0;

        if (!pool_quiet(hdr))
            continue;
        for (uint32_t i = 0; i < pool->capacity; i++) {
            uint64_t ctl = atomic_load_explicit(&pool->slots[i].ctl, memory_order_acquire);

            if (POOL_CTL_STATE(ctl) != POOL_SLOT_IN_USE)
                continue;
            slots++;
            own += POOL_CTL_PROC(ctl) == pool->proc_idx;
        }
        if (!pool_quiet(hdr) || moves != pool_moves(hdr))
            continue;
        out->quiet = true;
        out->counted = counted;
        out->sessions = slots;
        out->own_slots = own;
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

void seat_pool_audit(struct seat_pool *pool, struct seat_pool_audit *out)
{
    struct pool_proc *p;

    memset(out, 0, sizeof(*out));
    if (pool == NULL || pool->proc_idx >= POOL_MAX_PROCS)
        return;
    pool_recount(pool, out);
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
    uint32_t i, state, pid, total = 0;
    uint64_t start;

    if (pool == NULL)
        return -EINVAL;
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
        total += pool_reclaim_entry(pool, i);
        atomic_store_explicit(&p->busy, 0, memory_order_relaxed);
        atomic_store_explicit(&p->in_use, 0, memory_order_relaxed);
        atomic_store_explicit(&p->start_time, 0, memory_order_relaxed);
        atomic_store_explicit(&p->pid, 0, memory_order_relaxed);
        atomic_store_explicit(&p->state, POOL_PROC_FREE, memory_order_release);
    }
    if (atomic_load_explicit(&pool->hdr->audit_needed, memory_order_acquire) != 0) {
        struct seat_pool_audit audit = {0};

        pool_recount(pool, &audit);
        if (audit.repaired && audit.counted > audit.sessions)
            total += audit.counted - audit.sessions;
    }
    if (total > 0)
        atomic_fetch_add_explicit(&pool->hdr->reclaimed, total, memory_order_relaxed);
    return (int)total;
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
