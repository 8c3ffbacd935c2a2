/* What pool.c, pool_attach.c and pool_audit.c share about a mapped seat
 * pool: not for other callers (pool.h is the interface). */
#ifndef LICGATE_POOL_INTERNAL_H
#define LICGATE_POOL_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "pool.h"
#include "pool_layout.h"

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

/* The magic word of a published header. */
uint64_t pool_magic(void);

/* Never below zero: a corrupt counter must not wrap into "pool full forever". */
void pool_counter_dec(_Atomic uint32_t *c);

/* Puts slot idx back on the free list. */
void pool_push(struct seat_pool *pool, uint32_t idx);

/* The slot is already FREE in its control word. Push before decrementing in_use, so an
 * admission that passed the limit check always finds a slot when capacity >= limit. */
void pool_give_back(struct seat_pool *pool, uint32_t idx, uint32_t proc);

#endif
