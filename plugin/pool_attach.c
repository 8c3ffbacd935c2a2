/* Making, checking and joining a seat pool's shared region (pool.h). The
 * region may have been written by anyone who could map it: every field is
 * read once and checked before it is used. */
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
