/* A small client for etcd v3's JSON gateway (the 3.4 API: /v3/kv/range, /v3/kv/txn,
 * /v3/kv/deleterange, /v3/lease/{grant,keepalive,revoke}, /v3/maintenance/status) over libcurl
 * and json-c, for the cluster agent that holds seat grants (docs: CLUSTER.md).
 *
 * Every call tries the endpoint that answered last and, when it gives no HTTP answer (refused,
 * unreachable, timed out, TLS failed, connection lost) or answers etcd's "unavailable" (gRPC
 * code 14: no leader, not ready), the next ones in order, wrapping once; the endpoint that
 * answers becomes the current one. Each attempt has timeout_ms for everything, connect
 * included, so a call never takes more than nendpoints * timeout_ms. Anything else (an etcd
 * error, a malformed answer) ends the call on that endpoint. A call that timed out may still
 * have been applied by etcd; each function says what a retry does.
 *
 * Answers are hostile input: read up to a cap, parsed with json-c in strict mode (UTF-8
 * checked, depth capped, nothing after the value), every known field of its exact JSON type
 * (64-bit numbers are decimal strings, bytes canonical base64), keys and values capped.
 * Unknown fields are ignored (newer etcd adds them).
 *
 * Every int function returns 0 or -errno, clears its out-parameters first and, on error, writes
 * one line without a newline into err (may be NULL when errlen is 0) naming the call and the
 * endpoint. When no endpoint answered, err gives each endpoint's reason and the errno is the
 * last one's: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH (unreachable, unresolvable),
 * -ECONNRESET (connection lost), -EPROTO (TLS failed, including etcd refusing the client
 * certificate) or -EIO (etcd unavailable). Once one answered: -EPROTO for a malformed answer
 * (the offending field quoted); -EMSGSIZE for an answer, key or value over its cap; -EIO for an
 * etcd error with etcd's message; -ENOENT for a lease etcd does not know. -EINVAL for bad
 * arguments, -ENOMEM. A handle is one thread's at a time. */
#ifndef LICGATE_TOOLS_ETCD_H
#define LICGATE_TOOLS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_ENDPOINTS      8
#define ETCD_ENDPOINT_MAX       256  /* bytes of an endpoint URL */
#define ETCD_KEY_MAX            256  /* bytes of a key */
#define ETCD_VALUE_MAX          1024 /* bytes of a value */
#define ETCD_RANGE_MAX          1024 /* keys one etcd_range_prefix returns */
#define ETCD_VERSION_MAX        32
#define ETCD_STATUS_ERRORS      256               /* bytes of etcd_status.errors */
#define ETCD_ANSWER_MAX         (64 * 1024)       /* bytes of any answer but a range's */
#define ETCD_RANGE_ANSWER_MAX   (4 * 1024 * 1024) /* ETCD_RANGE_MAX full keys fit in half */
#define ETCD_TIMEOUT_DEFAULT_MS 2000u
#define ETCD_TIMEOUT_MAX_MS     600000u

struct etcd;

struct etcd_config {
    /* "http://HOST:PORT" or "https://HOST:PORT", all of one scheme; no path, user or query. */
    const char *endpoints[ETCD_MAX_ENDPOINTS];
    size_t nendpoints;
    const char *ca_file;   /* https: the CA bundle to verify etcd with; NULL: the system's */
    const char *cert_file; /* https: client certificate (PEM), with key_file; NULL: none */
    const char *key_file;
    unsigned timeout_ms; /* per attempt, connect included; 0: ETCD_TIMEOUT_DEFAULT_MS */
};

struct etcd_kv {
    char key[ETCD_KEY_MAX + 1]; /* NUL-terminated; a key holding a NUL byte is refused */
    char value[ETCD_VALUE_MAX + 1];
    size_t value_len; /* value is binary-safe; value[value_len] is a NUL for convenience */
    int64_t create_revision, mod_revision, version;
    int64_t lease; /* 0: none */
};

struct etcd_status {
    char version[ETCD_VERSION_MAX + 1]; /* "3.4.23" */
    uint64_t cluster_id, member_id;
    uint64_t leader; /* member id of the leader; 0: none known (no quorum) */
    uint64_t raft_term, raft_index, raft_applied_index;
    int64_t db_size, db_size_in_use; /* bytes */
    int64_t revision;
    bool is_learner;
    char errors[ETCD_STATUS_ERRORS + 1]; /* alarms ("NOSPACE"), "; "-joined and cleaned; "" */
    size_t endpoint;                     /* index in the config of the member that answered */
};

/* Checks cfg (1..ETCD_MAX_ENDPOINTS endpoints of one scheme, each a bare http(s) URL of at most
 * ETCD_ENDPOINT_MAX bytes; cert_file and key_file both or neither, and TLS files only with
 * https; timeout_ms at most ETCD_TIMEOUT_MAX_MS), copies it, and makes a handle whose current
 * endpoint is the first. Nothing is sent. Calls curl_global_init() (reference counted).
 * Returns 0 and *out, or -EINVAL / -ENOMEM with the reason; *out is NULL on failure. */
int etcd_open(const struct etcd_config *cfg, struct etcd **out, char *err, size_t errlen);

/* Frees the handle and closes its connections. NULL is allowed. */
void etcd_close(struct etcd *e);

/* The current endpoint's URL, as configured: the one that answered last. Valid until
 * etcd_close. */
const char *etcd_endpoint(const struct etcd *e);

/* Grants a lease of ttl_s seconds (1..9000000000; etcd raises a TTL below its minimum, so
 * *ttl_granted may be larger). Returns 0 with *id (> 0) and *ttl_granted (> 0). A retried
 * grant after a timeout may leave an unused lease behind, which ends after its TTL. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, int64_t *ttl_granted, char *err,
                     size_t errlen);

/* One keepalive round trip for lease id (> 0): the gateway answers a stream of
 * newline-delimited {"result":...}; this reads the first one and closes. Returns 0 with *ttl,
 * the seconds etcd now gives the lease from its receipt of the keepalive (take the time before
 * the call as the send time: it is never later than the attempt that was answered). A result
 * without TTL or with TTL 0 means etcd does not know the lease: -ENOENT. A result for another
 * lease id is -EPROTO. Safe to retry. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl, char *err, size_t errlen);

/* Revokes lease id (> 0), deleting every key attached to it. -ENOENT when etcd does not know
 * the lease (already revoked or expired: also the answer to a retry of a revoke that was
 * applied). */
int etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen);

/* Reads every key that starts with prefix (1..ETCD_KEY_MAX bytes; range_end is prefix with its
 * last byte below 0xff incremented and what follows dropped), in key order, as one
 * linearizable read. Returns 0 with *kvs (malloc'd, caller frees; NULL when *n is 0), *n, and
 * *revision, the store's revision the read saw (> 0). More than ETCD_RANGE_MAX keys is
 * -E2BIG; a key or value over its cap -EMSGSIZE; a key that does not start with prefix or
 * holds a NUL byte -EPROTO. Nothing is returned on failure. */
int etcd_range_prefix(struct etcd *e, const char *prefix, struct etcd_kv **kvs, size_t *n,
                      int64_t *revision, char *err, size_t errlen);

/* One transaction: if no key under prefix has a mod_revision above revision (compare MOD LESS
 * revision + 1 over the prefix's range; a deleted key is not seen, which only ever frees
 * seats), put key = value[0..value_len) attached to lease (0: none). key must start with
 * prefix; revision is what etcd_range_prefix returned (0..INT64_MAX-1); value_len at most
 * ETCD_VALUE_MAX; lease >= 0. Returns 0 with *succeeded (false: another writer came first, or
 * the put of a timed-out earlier try was applied: read again and retry) and *new_revision, the
 * store's revision after the transaction. An unknown lease is -ENOENT. */
int etcd_txn_put_if_unchanged(struct etcd *e, const char *prefix, int64_t revision, const char *key,
                              const void *value, size_t value_len, int64_t lease, bool *succeeded,
                              int64_t *new_revision, char *err, size_t errlen);

/* Deletes key (1..ETCD_KEY_MAX bytes) unconditionally: giving seats back can never push the
 * cluster over its seats, so it needs no compare (and a compare would only add retries).
 * Returns 0 with *deleted (0 or 1) and *revision. Safe to retry. */
int etcd_delete(struct etcd *e, const char *key, int64_t *deleted, int64_t *revision, char *err,
                size_t errlen);

/* /v3/maintenance/status of the current endpoint (or, when it gives no answer, of the next
 * that does: st->endpoint says which), for a health view. st is zeroed first. */
int etcd_status(struct etcd *e, struct etcd_status *st, char *err, size_t errlen);

#endif
