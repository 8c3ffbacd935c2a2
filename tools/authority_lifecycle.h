/* The key lifecycle (the seed FAQ's rules) and the activation rules, on a
 * ledger. Every function that changes the ledger does it in one transaction
 * together with its audit row (who, what, before/after as JSON), at time
 * now. Refusals are -EPERM (a rule says no), -ENOENT (key unknown) or
 * -EINVAL (an argument out of range), with one line in err that does not
 * repeat the key; -EIO for ledger failures, with the SQLite message. */
#ifndef LICGATE_TOOLS_AUTHORITY_LIFECYCLE_H
#define LICGATE_TOOLS_AUTHORITY_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activation_request.h"
#include "authority_ledger.h"

#define AUTHORITY_MIN_SEATS     10 /* Q13, Q14 */
#define AUTHORITY_MAX_SEATS     1000000
#define AUTHORITY_MAX_YEARS     50
#define AUTHORITY_SUNSET_DAYS   7 /* Q26: about one week to move */
#define AUTHORITY_LEASE_DAYS    30
#define AUTHORITY_REBIND_LIMIT  3 /* per AUTHORITY_REBIND_WINDOW */
#define AUTHORITY_REBIND_WINDOW (30 * 86400)
#define AUTHORITY_DEFAULT_RULE  "all-but-1"
#define AUTHORITY_MAX_SPLIT     64

struct issue_order {
    const char *customer;
    uint32_t seats;
    unsigned years;   /* support term, from now */
    bool perpetual;   /* old terms: keeps working after support, never re-binds */
    const char *rule; /* binding rule at activation; NULL = AUTHORITY_DEFAULT_RULE */
};

/* Adds years calendar years to t (Feb 29 becomes Mar 1). */
int64_t authority_add_years(int64_t t, unsigned years);

/* Checks a binding rule name: all, all-but-N (N 1..8), machine-id-only. */
bool authority_rule_valid(const char *rule);

/* issue: a new key with the order's seats (>= 10, Q13) and support from now. */
int authority_issue(struct ledger *ledger, const struct issue_order *order, int64_t now,
                    const char *who, char key[KEYSTRING_BUFSIZE], char *err, size_t errlen);

/* extend: support_until += years, from the current end, not from now (Q20). */
int authority_extend(struct ledger *ledger, const char *key, unsigned years, int64_t now,
                     const char *who, int64_t *support_until, char *err, size_t errlen);

/* split: a never-activated standard key into nparts (2..64) new keys whose
 * seats sum to the key's, each >= 10 (Q14); the key becomes 'split'. keys
 * receives nparts new keys. */
int authority_split(struct ledger *ledger, const char *key, const uint32_t *parts, size_t nparts,
                    int64_t now, const char *who, char (*keys)[KEYSTRING_BUFSIZE], char *err,
                    size_t errlen);

/* refund: a never-activated key becomes 'refunded' (revoked, Q8). */
int authority_refund(struct ledger *ledger, const char *key, int64_t now, const char *who,
                     char *err, size_t errlen);

/* replace: within the support term (Q7, Q26), a new key with the same
 * customer, seats, kind, support end and rule; the old key becomes
 * 'replaced' with a sunset AUTHORITY_SUNSET_DAYS from now, and so does its
 * failover key (replaced keys keep their failover key's sunset too). */
int authority_replace(struct ledger *ledger, const char *key, int64_t now, const char *who,
                      char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen);

/* failover-key: a free failover key backing a standard key, same seats and
 * support end (Q24); at most one per primary key. A failover key follows its
 * primary: replacing the primary gives the failover key the primary's sunset,
 * refunding it retires the failover key at once. */
int authority_failover_key(struct ledger *ledger, const char *key, int64_t now, const char *who,
                           char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen);

/* The outcome of an activation or refresh, with the API's code and status. */
enum activation_outcome {
    ACTIVATION_OK,
    ACTIVATION_BAD_REQUEST,
    ACTIVATION_UNKNOWN_KEY,
    ACTIVATION_REFUNDED,
    ACTIVATION_SPLIT,
    ACTIVATION_REPLACED,
    ACTIVATION_ALREADY_ACTIVATED,
    ACTIVATION_SUPPORT_OVER,
    ACTIVATION_REBIND_LIMIT,
    ACTIVATION_PERPETUAL_NO_REBIND,
    ACTIVATION_INTERNAL,
    ACTIVATION_STALE,
    ACTIVATION_REPLAYED,
    ACTIVATION_CLONED,
    ACTIVATION_FAILOVER_ON_PRIMARY,
    ACTIVATION_RETIRED,
};

struct activation_result {
    enum activation_outcome outcome;
    char error[256];  /* the one-line error for a refusal */
    const char *what; /* on success: "activated", "renewed" or "re-bound" */
    char *license;    /* on success: the signed document, malloc'd; the caller frees it */
    size_t len;
};

#define ACTIVATION_ALREADY_ACTIVATED_ERROR                                                         \
    "License error: machine properties validation failed: verify fail: key already activated on "  \
    "another machine"

/* How a request reached the authority: over HTTPS, made moments before, or
 * as an offline request file, which may travel by mail for weeks. */
enum activation_channel { ACTIVATION_ONLINE, ACTIVATION_OFFLINE };

/* What an accepted activation grants. An online license carries a lease of
 * AUTHORITY_LEASE_DAYS (licgatectl renews it); an offline one, whose server
 * cannot renew, holds to the end of its support term, or lease_days from now
 * when the vendor says so (never past the support end). Perpetual licenses
 * carry no lease either way. */
struct activation_terms {
    enum activation_channel channel;
    unsigned lease_days; /* offline only: 0 = to the end of support */
};

#define AUTHORITY_MAX_LEASE_DAYS 3650

/* "unknown-key", "refunded", ...; and the HTTP status of a refusal. */
const char *activation_code(enum activation_outcome outcome);
unsigned activation_http_status(enum activation_outcome outcome);

/* The windows a request's signed time must fall in (docs/activation.md):
 * online within 10 minutes of the authority's clock either way; offline no
 * more than 10 minutes ahead and no older than 30 days. A nonce is
 * remembered for the longest window, so no request is accepted twice. */
#define AUTHORITY_ONLINE_SKEW (10 * 60)
#define AUTHORITY_OFFLINE_AGE (30 * 86400)

/* Accepts a verified request once: its signed time must lie in the
 * channel's window (else ACTIVATION_STALE) and its nonce must not have been
 * seen (else ACTIVATION_REPLAYED, nothing written); an accepted nonce is
 * recorded at once, whatever the activation's outcome later, so that a
 * refused request cannot be replayed either. Returns 0 with res->outcome
 * ACTIVATION_OK to go on or the refusal, or -errno when the ledger failed. */
int authority_accept_request(struct ledger *ledger, const struct activation_request *req,
                             enum activation_channel channel, int64_t now,
                             struct activation_result *res);

/* Applies the activation rules (docs/activation-api.md) to a verified
 * request at now: a key activates on one installation, ever; the same
 * installation gets its license again with a fresh lease; a changed
 * fingerprint of the same installation is re-bound while support is valid,
 * at most 3 times in 30 days, and never for a perpetual license. An
 * installation that comes back to a fingerprint it was re-bound away from
 * runs on two machines (a clone, Q11): the key is marked cloned and gets no
 * lease from then on. A failover key never activates on its primary's
 * installation, nor a primary on its failover key's. Changes (activation,
 * re-binding, a clone found) are one transaction with their audit row.
 * Returns 0 with res->outcome set (the license on ACTIVATION_OK), or -errno
 * when the ledger failed (res->outcome ACTIVATION_INTERNAL). */
int authority_activate(struct ledger *ledger, const uint8_t issuer_priv[32],
                       const struct activation_request *req, const struct activation_terms *terms,
                       int64_t now, const char *who, struct activation_result *res);

#endif
