/* The authority's ledger: one SQLite database (WAL, foreign keys on, schema
 * versioned by PRAGMA user_version) holding the keys, their machine bindings,
 * the nodes of cluster keys and an audit trail. Callers group every change in
 * ledger_begin() .. ledger_commit() together with its ledger_audit() row, so
 * a change and its audit row are written together or not at all. Int functions return 0 or
 * -errno; -EIO means an SQLite failure, with its message in ledger_error(). */
#ifndef LICGATE_TOOLS_AUTHORITY_LEDGER_H
#define LICGATE_TOOLS_AUTHORITY_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "keystring.h"
#include "license.h"

#define LEDGER_FILE           "ledger.sqlite"
#define LEDGER_SCHEMA_VERSION 4
#define LEDGER_RULE_MAX       32
#define LEDGER_BINDING_MAX    1200 /* rule + 16 components of "nic=<64 hex>" */
#define LEDGER_MIN_NODES      2    /* a cluster key's node limit */
#define LEDGER_MAX_NODES      64

enum key_state { KEY_ISSUED, KEY_ACTIVATED, KEY_REFUNDED, KEY_SPLIT, KEY_REPLACED };

struct key_record {
    char key[KEYSTRING_BUFSIZE];
    char customer[LICENSE_CUSTOMER_MAX + 1];
    uint32_t seats;
    enum license_kind kind;
    char primary_key[KEYSTRING_BUFSIZE]; /* "" for standard keys */
    enum key_state state;
    bool perpetual;
    char rule[LEDGER_RULE_MAX]; /* binding rule at activation: all, all-but-N, machine-id-only */
    int64_t created;
    int64_t support_until;
    int64_t sunset;                      /* 0 = none; set by replace */
    char origin[KEYSTRING_BUFSIZE];      /* the key this one was split from or replaces */
    char replaced_by[KEYSTRING_BUFSIZE]; /* "" unless replaced */
    int64_t activated;                   /* 0 = never */
    char installation_id[33];            /* "" until activated */
    uint8_t installation_public_key[32];
    int64_t cloned; /* 0 = never; when the installation was found on two machines */
    unsigned nodes; /* a cluster key: how many installations it may serve; 0 for the others */
};

/* One installation a cluster key serves (a node): a cluster key has no
 * installation of its own (key_record.installation_id stays ""); each node
 * is activated, renewed, re-bound and found cloned as a standard key's one
 * installation is, with its own bindings (ledger_binding_* with node = its
 * installation id), and reports its pool's peak at refresh. */
struct node_record {
    char key[KEYSTRING_BUFSIZE];
    char installation_id[33];
    uint8_t installation_public_key[32];
    int64_t activated;
    int64_t refreshed; /* its last activation, renewal or re-binding */
    uint32_t peak;     /* the last peak it reported */
    int64_t reported;  /* when; 0 = it never reported one (peak 0 then) */
    int64_t cloned;    /* 0 = never; when it was found on two machines */
};

struct ledger;

/* Opens dir/ledger.sqlite (create: makes it; else it must exist: -ENOENT),
 * sets WAL, synchronous=FULL, foreign_keys=ON and a busy timeout, and
 * applies the missing schema migrations, each in one transaction. A ledger
 * whose schema is newer than this program is -EPROTO. On failure *out is NULL
 * and err says why. */
int ledger_open(const char *dir, bool create, struct ledger **out, char *err, size_t errlen);

/* Closes the ledger; NULL is fine. */
void ledger_close(struct ledger *ledger);

/* The last SQLite error message ("" when none). */
const char *ledger_error(const struct ledger *ledger);

/* BEGIN IMMEDIATE (takes the write lock now, waits up to the busy timeout),
 * COMMIT, ROLLBACK. ledger_rollback() is safe without an open transaction. */
int ledger_begin(struct ledger *ledger);
int ledger_commit(struct ledger *ledger);
void ledger_rollback(struct ledger *ledger);

/* Reads the key (canonical form). -ENOENT when unknown; out zeroed then. */
int ledger_key_get(struct ledger *ledger, const char *key, struct key_record *out);

/* Inserts a new key (-EEXIST if it exists) or updates every column of an
 * existing one (-ENOENT if missing). */
int ledger_key_insert(struct ledger *ledger, const struct key_record *rec);
int ledger_key_update(struct ledger *ledger, const struct key_record *rec);

/* All keys, or a customer's, ordered by creation. The caller frees *out. */
int ledger_key_list(struct ledger *ledger, const char *customer, struct key_record **out,
                    size_t *count);

/* The failover key backing primary that is neither refunded nor replaced, or -ENOENT. */
int ledger_failover_of(struct ledger *ledger, const char *primary, char out[KEYSTRING_BUFSIZE]);

/* The bindings below belong to the key's one installation when node is NULL,
 * else to the cluster node whose installation id node is. */

/* The active binding text ("all-but-1 machine-id=..."), -ENOENT if none. */
int ledger_binding_active(struct ledger *ledger, const char *key, const char *node, char *out,
                          size_t outlen);

/* Makes binding the only active binding, created at now; rebind marks it as
 * a re-binding (counted by ledger_rebinds_since()). */
int ledger_binding_set(struct ledger *ledger, const char *key, const char *node,
                       const char *binding, int64_t now, bool rebind);

/* The first key found cloned on installation_id (it ran on two machines),
 * as a key's installation or as a cluster node: 0 with the key and when, or
 * -ENOENT. */
int ledger_installation_cloned(struct ledger *ledger, const char *installation_id,
                               char key[KEYSTRING_BUFSIZE], int64_t *cloned);

/* The retired bindings (the machines it was bound to before), oldest first:
 * *texts is malloc'd, each text too; free each and the array. */
int ledger_bindings_retired(struct ledger *ledger, const char *key, const char *node, char ***texts,
                            size_t *n);

/* The keys made from key (split parts, the replacement), in the order made;
 * *out is malloc'd (the caller frees it). */
int ledger_children(struct ledger *ledger, const char *key, char (**out)[KEYSTRING_BUFSIZE],
                    size_t *n);

/* How many re-bindings were made after since. */
int ledger_rebinds_since(struct ledger *ledger, const char *key, const char *node, int64_t since,
                         unsigned *count);

/* The node of key on installation_id: 0, or -ENOENT (out zeroed then). */
int ledger_node_get(struct ledger *ledger, const char *key, const char *installation_id,
                    struct node_record *out);

/* Adds a node (-EEXIST when the key has it), or updates its refreshed, peak,
 * reported and cloned columns (-ENOENT when missing). */
int ledger_node_insert(struct ledger *ledger, const struct node_record *node);
int ledger_node_update(struct ledger *ledger, const struct node_record *node);

/* The key's nodes in the order they were activated; *out is malloc'd (the
 * caller frees it; NULL when there is none). */
int ledger_nodes(struct ledger *ledger, const char *key, struct node_record **out, size_t *n);

/* How many nodes key has, and the sum of their last reported peaks. */
int ledger_node_usage(struct ledger *ledger, const char *key, unsigned *nodes, uint64_t *peak_sum);

/* Records that an activation request with nonce (for key) was used at now,
 * in its own transaction, forgetting nonces seen before forget_before.
 * -EEXIST when it was seen already (*seen then says when; nothing written). */
int ledger_nonce_use(struct ledger *ledger, const char *nonce, const char *key, int64_t now,
                     int64_t forget_before, int64_t *seen);

/* Appends an audit row. before and after are JSON texts or NULL. */
int ledger_audit(struct ledger *ledger, int64_t at, const char *who, const char *what,
                 const char *key, const char *before, const char *after);

/* Appends the audit row of a change of one key at at, from before (NULL: the
 * key was made) to after, each as the key's compact JSON with "binding" added
 * when binding_before / binding_after is not NULL. -ENOMEM or -EIO. */
int ledger_audit_change(struct ledger *ledger, int64_t at, const char *who, const char *what,
                        const struct key_record *before, const struct key_record *after,
                        const char *binding_before, const char *binding_after);

/* ledger_audit_change() for a change of a cluster key's node: before and
 * after carry "node" (the node's installation id) besides "binding". */
int ledger_audit_node_change(struct ledger *ledger, int64_t at, const char *who, const char *what,
                             const struct key_record *before, const struct key_record *after,
                             const char *node, const char *binding_before,
                             const char *binding_after);

/* The audit trail as a JSON array of {id, at, who, what, key, before, after}
 * (before/after parsed back into objects), oldest first. */
int ledger_audit_json(struct ledger *ledger, json_object **out);

/* The key as a JSON object (dates as YYYY-MM-DDTHH:MM:SSZ or null); a
 * cluster key's has "node_limit" too. */
json_object *key_record_json(const struct key_record *rec);

/* The node as a JSON object: installation_id, activated, last_refresh,
 * peak (null when it never reported one), reported, cloned. */
json_object *node_record_json(const struct node_record *node);

/* "issued", "activated", "refunded", "split", "replaced". */
const char *key_state_name(enum key_state state);

#endif
