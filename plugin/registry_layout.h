/* The machine registry's layout in shared memory: one segment per machine, holding the facts
 * that are the machine's and not a pool's. A wire format shared by every licgate process on
 * the machine, so any change bumps REG_LAYOUT_VERSION. Private to registry.c and to the tests
 * and fuzzers that forge or corrupt registries.
 *
 * The tables (procs, pools, claims) are written only under `lock`; eval and clock_mark are
 * atomics written without it (eval on the admission path). Nothing here is trusted: a process
 * running as the runtime user can write any byte, so every string is copied and checked for
 * its NUL, every index bounds-checked, every pid checked against /proc. */
#ifndef LICGATE_REGISTRY_LAYOUT_H
#define LICGATE_REGISTRY_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#define REG_MAGIC          "LICGMACH"
#define REG_LAYOUT_VERSION 1
#define REG_MAX_PROCS      256
#define REG_MAX_POOLS      64
#define REG_MAX_CLAIMS     4096
#define REG_EVAL_SEATS     2
#define REG_DIR_LEN        1024 /* a license directory and its NUL */
#define REG_NAME_LEN       40   /* a pool name and its NUL, padded */
#define REG_KEY_LEN        72   /* a license key id and its NUL, padded */
#define REG_TOKEN_LEN      16

enum reg_entry_state { REG_FREE = 0, REG_LIVE = 1 };

/* An evaluation seat's word: 0 when free, else the holder's process index + 1 in the low 32
 * bits and a number the holder chose in the high 32, so a seat freed and taken again is a
 * different word. */
#define REG_EVAL_WORD(proc, nonce) ((uint64_t)((proc) + 1) | (uint64_t)(nonce) << 32)
#define REG_EVAL_PROC(word)        ((uint32_t)(word)-1u)

struct reg_proc {
    uint32_t state;
    uint32_t pid;
    uint64_t start_time;
    int64_t since; /* registered at (seconds) */
    char pool[REG_NAME_LEN];
    char license_dir[REG_DIR_LEN];
};

struct reg_pool {
    uint32_t state;
    int32_t shmid;
    uint32_t capacity;
    uint32_t reserved;
    uint8_t token[REG_TOKEN_LEN];
    char name[REG_NAME_LEN];
};

/* A license key a process's pool counts, and since when. */
struct reg_claim {
    uint32_t proc; /* the claiming process's index + 1; 0 = free */
    uint32_t reserved;
    int64_t since;
    char key_id[REG_KEY_LEN];
};

struct reg_header {
    _Atomic uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint32_t nprocs;
    uint32_t npools;
    uint32_t nclaims;
    uint32_t neval;
    uint64_t total_size;

    _Atomic uint64_t lock;       /* 0 free; else the holder's pid, and a ticket in the high half */
    _Atomic uint32_t generation; /* bumped by every change of the tables */
    uint32_t reserved;
    _Atomic int64_t clock_mark; /* the machine's clock high-water mark */
    _Atomic uint64_t eval[REG_EVAL_SEATS];

    struct reg_proc procs[REG_MAX_PROCS];
    struct reg_pool pools[REG_MAX_POOLS];
    struct reg_claim claims[REG_MAX_CLAIMS];
};

#endif
