/* The seat pool's layout in shared memory: a wire format shared by every process on the machine
 * that names the pool, so any change bumps POOL_LAYOUT_VERSION. Private to pool.c and to the
 * tests and fuzzers that forge or corrupt pools; everyone else uses pool.h.
 *
 * [struct pool_header, including the process table][capacity x struct pool_slot]
 *
 * The fields from version to token are written once by the creator before it publishes magic
 * with a release store; the rest are atomics. The limit is not here: each process admits against
 * the limit it computed itself from verified licenses (gate.c), so no shared byte can raise it.
 * Nothing here is trusted: every index read from the region is bounds-checked before use. */
#ifndef LICGATE_POOL_LAYOUT_H
#define LICGATE_POOL_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#define POOL_MAGIC          "LICGPOOL"
#define POOL_LAYOUT_VERSION 5
#define POOL_MAX_PROCS      64
#define POOL_CAPACITY_MAX   1000000u
#define POOL_SLOT_NONE      UINT32_MAX
#define POOL_CN_LEN         64
#define POOL_ADDR_LEN       64
#define POOL_NAME_LEN       40 /* a pool name and its NUL, padded */
#define POOL_TOKEN_LEN      16

enum pool_proc_state {
    POOL_PROC_FREE = 0,
    POOL_PROC_CLAIMING = 1,
    POOL_PROC_LIVE = 2,
    POOL_PROC_RECLAIMING = 3,
};

enum pool_slot_state {
    POOL_SLOT_FREE = 0,
    POOL_SLOT_IN_USE = 1,
};

/* A slot's control word: state in bits 0-7, owning process-table index in bits 8-15, a
 * sequence number in bits 32-63 bumped on every admission, so a stale view of a slot can never
 * win a compare-and-swap against a later session. */
#define POOL_CTL(state, proc, seq)                                                                 \
    ((uint64_t)(state) | (uint64_t)(proc) << 8 | (uint64_t)(seq) << 32)
#define POOL_CTL_STATE(ctl) ((uint32_t)((ctl)&0xff))
#define POOL_CTL_PROC(ctl)  ((uint32_t)(((ctl) >> 8) & 0xff))
#define POOL_CTL_SEQ(ctl)   ((uint32_t)((ctl) >> 32))

/* The free stack's head: slot index in the low 32 bits (POOL_SLOT_NONE when empty), an ABA tag
 * bumped on every push and pop in the high 32 bits. */
#define POOL_HEAD(idx, tag) ((uint64_t)(idx) | (uint64_t)(tag) << 32)
#define POOL_HEAD_IDX(head) ((uint32_t)(head))
#define POOL_HEAD_TAG(head) ((uint32_t)((head) >> 32))

/* The cluster word: a node's grant of a cluster license in bits 0-19, the deadline (CLOCK_MONOTONIC
 * milliseconds) before which it may admit on it in bits 20-63; 0 = no grant. One word, so that a
 * reader never pairs a grant with another grant's deadline. */
#define POOL_CLUSTER_GRANT_MAX      0xfffffu
#define POOL_CLUSTER(grant, dl)     ((uint64_t)(grant) | (uint64_t)(dl) << 20)
#define POOL_CLUSTER_GRANT(word)    ((uint32_t)((word)&POOL_CLUSTER_GRANT_MAX))
#define POOL_CLUSTER_DEADLINE(word) ((int64_t)((word) >> 20))

struct pool_proc {
    _Atomic uint32_t state;
    _Atomic uint32_t pid;
    _Atomic uint64_t start_time;
    _Atomic uint32_t in_use;
    /* 1 while the process is inside an admission, a release or a reclaim: one that
     * dies then may leave the in-use counter one too high, or a slot on no list
     * (see pool_audit). */
    _Atomic uint32_t busy;
    /* The reload request this process has acted on (reload_requests). */
    _Atomic uint32_t reload_seen;
    uint32_t reserved;
    /* One cache line per process: busy and in_use move on every admission of their process,
     * and must not share a line with another process's (version 5). */
    uint8_t pad[32];
};

struct pool_header {
    _Atomic uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint32_t procs;
    uint32_t capacity;
    uint32_t slot_size;
    _Atomic uint32_t audit_needed; /* a process died busy: recount in-use */
    uint64_t total_size;
    char name[POOL_NAME_LEN];      /* the pool's name, as listed in the machine registry */
    uint8_t token[POOL_TOKEN_LEN]; /* random; the registry entry names the same */

    _Atomic uint32_t in_use;
    _Atomic uint32_t reload_requests; /* bumped by a control `reload`: every process re-reads */
    _Atomic uint64_t admissions;
    _Atomic uint64_t refusals_limit;
    _Atomic uint64_t refusals_capacity;
    _Atomic uint64_t releases;
    _Atomic uint64_t reclaimed;
    _Atomic uint64_t free_head;
    _Atomic uint64_t cluster;  /* POOL_CLUSTER: set at licgate-agent's request (docs/cluster.md) */
    _Atomic uint32_t peak;     /* the most sessions in use at once since the pool was made */
    _Atomic uint32_t put_back; /* slots found on no list and pushed back (pool_audit.c) */
    /* The most sessions at once since the usage record last took it (seat_pool_take_window_peak):
     * an hour's peak, exact however short. Version 5. */
    _Atomic uint32_t window_peak;
    uint32_t reserved[5]; /* the process table starts on a cache line */

    struct pool_proc proc[POOL_MAX_PROCS];
};

struct pool_slot {
    _Atomic uint64_t ctl;
    _Atomic uint32_t next;
    uint32_t reserved;
    _Atomic int64_t connected_since;
    char cn[POOL_CN_LEN];
    char addr[POOL_ADDR_LEN];
};

#endif
