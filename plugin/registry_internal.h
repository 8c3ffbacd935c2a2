/* What registry.c and registry_claims.c share about the mapped machine
 * registry: not for other callers (registry.h is the interface). */
#ifndef LICGATE_REGISTRY_INTERNAL_H
#define LICGATE_REGISTRY_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "registry.h"
#include "registry_layout.h"

#define REG_NONE UINT32_MAX

struct registry {
    struct reg_header *hdr;
    uint32_t self; /* this process's entry, REG_NONE before registering */
    pid_t pid;
    uint64_t start;
    uint32_t nonce;
    uint64_t lock_word; /* the word this handle holds the lock with, 0 when not held */
    uint32_t ticket;
    char pool[REG_NAME_LEN], license_dir[REG_DIR_LEN]; /* as registered */
};

/* A field of the segment as a string: its copy when it holds a NUL within len, else "". */
const char *registry_field(const char *f, size_t len, char *copy);

/* Tells readers that the tables changed (the generation word). */
void registry_bump(struct registry *reg);

#endif
