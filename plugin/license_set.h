/* The licenses installed in a directory: every *.lic file, verified and
 * evaluated, in file name order. Int functions return 0 or -errno. */
#ifndef LICGATE_PLUGIN_LICENSE_SET_H
#define LICGATE_PLUGIN_LICENSE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "license.h"

#define LICENSE_SET_MAX_FILES 1024

struct license_entry {
    char file[256];           /* base name */
    int loaded;               /* 1 if parsed+verified, 0 if rejected */
    struct license lic;       /* valid when loaded */
    enum license_state state; /* valid when loaded */
    char reason[256];         /* why rejected / why not active ("" when active) */
    bool binding_ok;          /* the machine binding matches (always for binding none) */
    char binding_why[192];    /* which components differ, when it does not */
    bool standby;             /* a failover license on a node without the failover address */
    bool beside_primary;      /* a failover license on the machine of its primary (Q24) */
    bool primary_claimed;     /* its primary key is counted by a pool on this machine */
    char elsewhere[33];       /* the other pool on this machine that counts this key, or "" */
    uint16_t source;          /* 0: this process's license-dir; k: the set's sources[k - 1] */
};

/* Another process of the same pool whose license directory lends entries to the set. */
struct license_source {
    int pid;
    char dir[1024];
};

struct license_set {
    struct license_entry *entries;
    size_t count;
    bool failover_active; /* this node holds failover-vip: failover licenses count */
    bool failover_set;    /* failover-vip is configured */
    size_t skipped;       /* *.lic files beyond the first LICENSE_SET_MAX_FILES: not read */
    struct license_source *sources;
    size_t nsources;
};

/* Checks one bound license against this machine: 1 match, 0 mismatch (why
 * says which components differ), < 0 could not check (a mismatch too). */
typedef int license_binding_check(const struct license *lic, void *arg, char *why, size_t whylen);

/* Reads the dir/ *.lic files (dotfiles skipped), sorted by name, and verifies
 * each against keys: the first LICENSE_SET_MAX_FILES by name; out->skipped
 * counts the others, which are not read. A file larger than LICENSE_MAX_TEXT
 * is rejected with "file larger than 65536 bytes" without being read whole.
 * A rejected file is an entry with loaded = 0 and a reason; when two loaded
 * files carry the same key-id the later one is rejected as "duplicate of key
 * <id> in <file>". States are evaluated at now. -ENOENT for a missing
 * directory (the caller decides whether that is an empty set), -ENOMEM,
 * -EACCES, -ENOTDIR etc. for real failures; *out is empty then. */
int license_set_load(const char *dir, const struct issuer_key *keys, size_t nkeys, int64_t now,
                     struct license_set *out);

/* Recomputes state and reason of every loaded entry at now, no I/O. */
void license_set_evaluate(struct license_set *set, int64_t now);

/* Runs check on every loaded license that carries a binding and records the
 * outcome; licenses without a binding match by definition. No clock involved:
 * call license_set_evaluate afterwards. */
void license_set_bind(struct license_set *set, license_binding_check *check, void *arg);

/* What licgatectl shows as the license's state: "invalid" (rejected file), a
 * time state ("expired", "lease-over", "not-yet-valid", "sunset"),
 * "machine-mismatch", "standby", "beside-primary" (a failover license whose
 * primary key is installed on this machine), "other-pool" or "active". */
const char *license_entry_state(const struct license_entry *entry);

/* Seats of the entries that count (each key is in a set once), saturating at
 * UINT32_MAX; a cluster license's seats are not among them (its node counts
 * what the cluster grants it, docs/cluster.md). */
uint32_t license_set_seats(const struct license_set *set);

/* Appends the loaded entries of peer whose key set does not hold already:
 * those of peer's own directory (source 0) as read from the license directory
 * dir of process pid of the same pool, the others with the source they have.
 * 0 or -ENOMEM (entries appended before the failure stay). */
int license_set_append(struct license_set *set, const struct license_set *peer, int pid,
                       const char *dir);

/* The license directory entry comes from: "" for this process's own. */
const char *license_entry_source(const struct license_set *set, const struct license_entry *entry,
                                 int *pid);

/* The first cluster license that counts, or NULL. */
const struct license_entry *license_set_cluster(const struct license_set *set);

/* Whether this entry's seats count now (loaded, active, the machine binding
 * matches, not a failover license on a standby node or beside its primary,
 * and no other pool counts its key). */
bool license_entry_counts(const struct license_entry *entry);

/* Whether the entry would count but for another pool: the keys a pool claims. */
bool license_entry_claimable(const struct license_entry *entry);

/* A deep copy. 0 or -ENOMEM; out is empty on error. */
int license_set_copy(const struct license_set *set, struct license_set *out);

/* The earliest time after now at which any loaded entry's state can change,
 * or INT64_MAX. */
int64_t license_set_next_change(const struct license_set *set, int64_t now);

/* Frees the entries and empties the set. Safe on an empty set. */
void license_set_free(struct license_set *set);

#endif
