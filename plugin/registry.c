#include "registry.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "errbuf.h"
#include "proc.h"
#include "registry_internal.h"

_Static_assert(sizeof(struct reg_proc) == 24 + REG_NAME_LEN + REG_DIR_LEN, "reg_proc layout");
_Static_assert(sizeof(struct reg_pool) == 16 + REG_TOKEN_LEN + REG_NAME_LEN, "reg_pool layout");
_Static_assert(sizeof(struct reg_claim) == 16 + REG_KEY_LEN, "reg_claim layout");
_Static_assert(REGISTRY_EVAL_SEATS == REG_EVAL_SEATS && REGISTRY_MAX_PROCS == REG_MAX_PROCS &&
                   REGISTRY_MAX_POOLS == REG_MAX_POOLS && REGISTRY_MAX_CLAIMS == REG_MAX_CLAIMS,
               "table sizes");
_Static_assert(REGISTRY_DIR_MAX < REG_DIR_LEN && REGISTRY_POOL_MAX < REG_NAME_LEN &&
                   REGISTRY_KEY_MAX < REG_KEY_LEN && REGISTRY_TOKEN_LEN == REG_TOKEN_LEN,
               "field sizes");

static uint64_t reg_magic(void)
{
    uint64_t v;

    memcpy(&v, REG_MAGIC, sizeof(v));
    return v;
}

const char *registry_field(const char *f, size_t len, char *copy)
{
    const char *nul = memchr(f, '\0', len);

    copy[0] = '\0';
    if (nul != NULL)
        memcpy(copy, f, (size_t)(nul - f) + 1);
    return copy;
}

void registry_bump(struct registry *reg)
{
    atomic_fetch_add_explicit(&reg->hdr->generation, 1, memory_order_acq_rel);
}

size_t registry_region_size(void)
{
    return sizeof(struct reg_header);
}

int registry_init_region(void *base, size_t size)
{
    struct reg_header *hdr = base;

    if (base == NULL || (uintptr_t)base % 8 != 0 || size < sizeof(*hdr))
        return -EINVAL;
    atomic_store_explicit(&hdr->magic, 0, memory_order_relaxed);
    memset((char *)base + sizeof(hdr->magic), 0, sizeof(*hdr) - sizeof(hdr->magic));
    hdr->version = REG_LAYOUT_VERSION;
    hdr->header_size = sizeof(*hdr);
    hdr->nprocs = REG_MAX_PROCS;
    hdr->npools = REG_MAX_POOLS;
    hdr->nclaims = REG_MAX_CLAIMS;
    hdr->neval = REG_EVAL_SEATS;
    hdr->total_size = sizeof(*hdr);
    atomic_store_explicit(&hdr->magic, reg_magic(), memory_order_release);
    return 0;
}

int registry_attach_region(void *base, size_t size, struct registry **out, char *err, size_t errlen)
{
    struct reg_header *hdr = base;
    struct registry *reg;

    *out = NULL;
    if (base == NULL || (uintptr_t)base % 8 != 0 || size < sizeof(*hdr)) {
        errbuf_set(err, errlen, "machine registry: region of %zu bytes, expected %zu", size,
                   sizeof(*hdr));
        return -EPROTO;
    }
    if (atomic_load_explicit(&hdr->magic, memory_order_acquire) != reg_magic()) {
        errbuf_set(err, errlen, "machine registry: bad magic, not a licgate registry");
        return -EPROTO;
    }
    if (hdr->version != REG_LAYOUT_VERSION) {
        errbuf_set(err, errlen, "machine registry: layout version %u, this build speaks %u",
                   hdr->version, REG_LAYOUT_VERSION);
        return -EPROTO;
    }
    if (hdr->header_size != sizeof(*hdr) || hdr->total_size != sizeof(*hdr) ||
        hdr->nprocs != REG_MAX_PROCS || hdr->npools != REG_MAX_POOLS ||
        hdr->nclaims != REG_MAX_CLAIMS || hdr->neval != REG_EVAL_SEATS) {
        errbuf_set(err, errlen, "machine registry: table sizes differ from this build's");
        return -EPROTO;
    }
    reg = calloc(1, sizeof(*reg));
    if (reg == NULL) {
        errbuf_set(err, errlen, "machine registry: out of memory");
        return -ENOMEM;
    }
    reg->hdr = hdr;
    reg->self = REG_NONE;
    *out = reg;
    return 0;
}

/* ------------------------------------------------------------------ the lock */

int registry_lock(struct registry *reg, unsigned timeout_ms)
{
    int64_t deadline = clock_monotonic_ms() + timeout_ms;
    uint64_t word = (uint64_t)(uint32_t)proc_self_pid() | (uint64_t)(++reg->ticket | 1u) << 32;

    for (;;) {
        uint64_t cur = atomic_load_explicit(&reg->hdr->lock, memory_order_acquire);
        uint32_t holder = (uint32_t)cur;

        /* Free, or held by a process that is gone (it died holding it): take it. */
        if ((cur == 0 || holder == 0 || holder > INT32_MAX || !proc_exists((pid_t)holder)) &&
            atomic_compare_exchange_strong_explicit(&reg->hdr->lock, &cur, word,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            reg->lock_word = word;
            return 0;
        }
        if (clock_monotonic_ms() >= deadline)
            return -EBUSY;
        clock_sleep_ms(1);
    }
}

void registry_unlock(struct registry *reg)
{
    uint64_t word = reg->lock_word;

    if (word == 0)
        return;
    atomic_compare_exchange_strong_explicit(&reg->hdr->lock, &word, 0, memory_order_acq_rel,
                                            memory_order_relaxed);
    reg->lock_word = 0;
}

/* ------------------------------------------------------------------ processes */

static bool proc_live(const struct reg_proc *p)
{
    return p->state == REG_LIVE && p->pid > 0 && p->pid <= INT32_MAX && p->start_time != 0 &&
           proc_alive((pid_t)p->pid, p->start_time);
}

/* Frees what entry i holds: its claims and its evaluation seats. */
static void free_holdings(struct registry *reg, uint32_t i)
{
    struct reg_header *hdr = reg->hdr;

    for (uint32_t c = 0; c < REG_MAX_CLAIMS; c++)
        if (hdr->claims[c].proc == i + 1)
            memset(&hdr->claims[c], 0, sizeof(hdr->claims[c]));
    for (uint32_t k = 0; k < REG_EVAL_SEATS; k++) {
        uint64_t w = atomic_load_explicit(&hdr->eval[k], memory_order_acquire);

        if (w != 0 && REG_EVAL_PROC(w) == i)
            atomic_compare_exchange_strong_explicit(&hdr->eval[k], &w, 0, memory_order_acq_rel,
                                                    memory_order_relaxed);
    }
}

int registry_reclaim_dead(struct registry *reg)
{
    struct reg_header *hdr = reg->hdr;
    int n = 0;

    for (uint32_t i = 0; i < REG_MAX_PROCS; i++) {
        struct reg_proc *p = &hdr->procs[i];

        if (i == reg->self || p->state == REG_FREE || proc_live(p))
            continue;
        free_holdings(reg, i);
        memset(p, 0, sizeof(*p));
        n++;
    }
    /* A claim or a seat that names no live entry (forged, or torn) is free again. */
    for (uint32_t c = 0; c < REG_MAX_CLAIMS; c++) {
        uint32_t owner = hdr->claims[c].proc - 1;

        if (hdr->claims[c].proc != 0 &&
            (owner >= REG_MAX_PROCS || hdr->procs[owner].state != REG_LIVE)) {
            memset(&hdr->claims[c], 0, sizeof(hdr->claims[c]));
            n++;
        }
    }
    for (uint32_t k = 0; k < REG_EVAL_SEATS; k++) {
        uint64_t w = atomic_load_explicit(&hdr->eval[k], memory_order_acquire);
        uint32_t owner = REG_EVAL_PROC(w);

        if (w != 0 && (owner >= REG_MAX_PROCS || hdr->procs[owner].state != REG_LIVE) &&
            atomic_compare_exchange_strong_explicit(&hdr->eval[k], &w, 0, memory_order_acq_rel,
                                                    memory_order_relaxed))
            n++;
    }
    if (n > 0)
        registry_bump(reg);
    return n;
}

int registry_register(struct registry *reg, const char *pool, const char *license_dir, int64_t now)
{
    struct reg_header *hdr = reg->hdr;
    size_t plen = strlen(pool), dlen = strlen(license_dir);
    pid_t pid;
    uint64_t start;

    if (plen == 0 || plen > REGISTRY_POOL_MAX || dlen > REGISTRY_DIR_MAX)
        return -EINVAL;
    if (proc_self(&pid, &start) < 0)
        return -ENOENT;
    for (uint32_t i = 0; i < REG_MAX_PROCS; i++) {
        struct reg_proc *p = &hdr->procs[i];

        if (p->state != REG_FREE)
            continue;
        free_holdings(reg, i); /* whatever a torn entry left */
        memset(p, 0, sizeof(*p));
        p->pid = (uint32_t)pid;
        p->start_time = start;
        p->since = now;
        memcpy(p->pool, pool, plen);
        memcpy(p->license_dir, license_dir, dlen);
        p->state = REG_LIVE;
        reg->self = i;
        reg->pid = pid;
        reg->start = start;
        memcpy(reg->pool, p->pool, REG_NAME_LEN);
        memcpy(reg->license_dir, p->license_dir, REG_DIR_LEN);
        registry_bump(reg);
        return 0;
    }
    return -EUSERS;
}

bool registry_self_ok(struct registry *reg)
{
    const struct reg_proc *p;

    if (reg->self >= REG_MAX_PROCS)
        return false;
    p = &reg->hdr->procs[reg->self];
    return p->state == REG_LIVE && p->pid == (uint32_t)reg->pid && p->start_time == reg->start &&
           memcmp(p->pool, reg->pool, REG_NAME_LEN) == 0 &&
           memcmp(p->license_dir, reg->license_dir, REG_DIR_LEN) == 0;
}

void registry_release(struct registry *reg)
{
    if (reg == NULL)
        return;
    if (reg->self < REG_MAX_PROCS) {
        bool locked = registry_lock(reg, 500) == 0;

        if (registry_self_ok(reg)) {
            free_holdings(reg, reg->self);
            memset(&reg->hdr->procs[reg->self], 0, sizeof(reg->hdr->procs[0]));
            registry_bump(reg);
        }
        if (locked)
            registry_unlock(reg);
    }
    free(reg);
}

/* ------------------------------------------------------------------ pools */

int registry_find_pool(struct registry *reg, const char *name, struct registry_pool_entry *out)
{
    char copy[REG_NAME_LEN];

    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < REG_MAX_POOLS; i++) {
        const struct reg_pool *p = &reg->hdr->pools[i];

        if (p->state != REG_LIVE || strcmp(registry_field(p->name, REG_NAME_LEN, copy), name) != 0)
            continue;
        out->shmid = p->shmid;
        out->capacity = p->capacity;
        memcpy(out->token, p->token, REG_TOKEN_LEN);
        return 0;
    }
    return -ENOENT;
}

int registry_set_pool(struct registry *reg, const char *name, const struct registry_pool_entry *e,
                      bool (*stale)(int shmid, void *arg), void *arg)
{
    size_t len = strlen(name);
    char copy[REG_NAME_LEN];
    uint32_t use = REG_NONE;

    if (len == 0 || len > REGISTRY_POOL_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < REG_MAX_POOLS; i++) {
        const struct reg_pool *p = &reg->hdr->pools[i];

        if (p->state == REG_LIVE &&
            strcmp(registry_field(p->name, REG_NAME_LEN, copy), name) == 0) {
            use = i;
            break;
        }
        if (use == REG_NONE && (p->state != REG_LIVE || (stale != NULL && stale(p->shmid, arg))))
            use = i;
    }
    if (use == REG_NONE)
        return -ENOSPC;
    struct reg_pool *p = &reg->hdr->pools[use];
    memset(p, 0, sizeof(*p));
    p->shmid = e->shmid;
    p->capacity = e->capacity;
    memcpy(p->token, e->token, REG_TOKEN_LEN);
    memcpy(p->name, name, len);
    p->state = REG_LIVE;
    registry_bump(reg);
    return 0;
}

/* ------------------------------------------------------------------ lock-free */

int registry_eval_take(struct registry *reg, struct registry_eval *tok)
{
    uint64_t word;

    tok->seat = -1;
    tok->word = 0;
    if (reg->self >= REG_MAX_PROCS)
        return -EINVAL;
    word = REG_EVAL_WORD(reg->self, ++reg->nonce);
    for (int k = 0; k < REG_EVAL_SEATS; k++) {
        uint64_t expected = 0;

        if (atomic_compare_exchange_strong_explicit(&reg->hdr->eval[k], &expected, word,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            tok->seat = (int8_t)k;
            tok->word = word;
            return 0;
        }
    }
    return -EDQUOT;
}

int registry_eval_give(struct registry *reg, struct registry_eval *tok)
{
    uint64_t word = tok->word;
    int r = 0;

    if (tok->seat < 0 || tok->seat >= REG_EVAL_SEATS)
        return 0;
    if (!atomic_compare_exchange_strong_explicit(&reg->hdr->eval[tok->seat], &word, 0,
                                                 memory_order_acq_rel, memory_order_relaxed))
        r = -ESTALE;
    tok->seat = -1;
    tok->word = 0;
    return r;
}

bool registry_eval_held(struct registry *reg, const struct registry_eval *tok)
{
    return tok->seat >= 0 && tok->seat < REG_EVAL_SEATS &&
           atomic_load_explicit(&reg->hdr->eval[tok->seat], memory_order_acquire) == tok->word;
}

uint32_t registry_eval_in_use(struct registry *reg)
{
    uint32_t n = 0;

    for (int k = 0; k < REG_EVAL_SEATS; k++)
        n += atomic_load_explicit(&reg->hdr->eval[k], memory_order_relaxed) != 0;
    return n;
}

int64_t registry_clock_raise(struct registry *reg, int64_t mark)
{
    int64_t cur = atomic_load_explicit(&reg->hdr->clock_mark, memory_order_acquire);

    while (mark > cur &&
           !atomic_compare_exchange_weak_explicit(&reg->hdr->clock_mark, &cur, mark,
                                                  memory_order_acq_rel, memory_order_acquire))
        ;
    return cur > mark ? cur : mark;
}

uint32_t registry_generation(struct registry *reg)
{
    return atomic_load_explicit(&reg->hdr->generation, memory_order_acquire);
}
