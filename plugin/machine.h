/* This process's place on the machine: the machine registry (registry.h) and the segment of its
 * seat pool (pool.h), found or made. Both are System V shared-memory segments (shim/sysv.h):
 * fixed in size, so nobody can fault a process by truncating them, and without a name in any
 * directory, so no other user can pre-create, forge or replace one. They are found by their
 * creator and mode (only segments made by root or the runtime user, granting nothing to other
 * users, are looked at) and by what they hold (magic, layout, and for a pool the name and the
 * random token the registry lists). The registry lives until the machine reboots; a pool's
 * segment lives while an openvpn process is attached to it. Making a registry is serialized by
 * a private lock file in the run directory (root-owned, no other user can create names in it).
 * See docs/shared-state.md. */
#ifndef LICGATE_MACHINE_H
#define LICGATE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pool.h"
#include "registry.h"

/* openvpn's runtime user and group (user=, group=): the segments are given to them, and
 * segments they made are believed. */
struct machine_identity {
    uid_t uid;
    gid_t gid;
    bool set_uid, set_gid;
};

struct machine;

/* Finds the machine registry (making it when there is none), registers this process in it for
 * pool `pool` with license_dir, and attaches to the pool's segment (making it with `capacity`
 * slots when the pool has none; an existing pool keeps its capacity). Refuses, as root, while
 * an openvpn process still maps the older layout's /dev/shm/licgate.<pool>. Returns 0 and *out,
 * or -errno with a one-line reason in err; nothing is left attached on failure. */
int machine_attach(const char *run_dir, const char *pool, uint32_t capacity,
                   const char *license_dir, const struct machine_identity *id, int64_t now,
                   struct machine **out, char *err, size_t errlen);

/* Releases this process's sessions and its registrations, and unmaps both segments. NULL is
 * fine. */
void machine_detach(struct machine *m);

struct registry *machine_registry(struct machine *m);
struct seat_pool *machine_pool(struct machine *m);

/* The segment ids, for status. */
void machine_ids(const struct machine *m, int *registry_id, int *pool_id);

/* What one check of this process's place found, and repaired. */
struct machine_check {
    bool registry_removed;  /* marked for removal (ipcrm): it goes with the last process */
    bool perms_changed;     /* a segment's owner or mode was changed (restored when we could) */
    bool self_reregistered; /* our registry entry had been overwritten: registered again */
    bool pool_republished;  /* the registry no longer named our pool's segment: named again */
    bool lock_busy;         /* the registry lock could not be had: nothing checked there */
};

/* Looks at both segments and this process's entries in the registry, repairing what another
 * writer changed. Off the admission path (maintenance, every 2 s). */
void machine_check(struct machine *m, int64_t now, struct machine_check *out);

#endif
