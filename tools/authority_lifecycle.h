/* The key lifecycle (the seed FAQ's rules) on a ledger: issue, extend, split,
 * refund, replace and failover keys; activation is authority_activation.h.
 * Every function that changes the ledger does it in one transaction
 * together with its audit row (who, what, before/after as JSON), at time
 * now. Refusals are -EPERM (a rule says no), -ENOENT (key unknown) or
 * -EINVAL (an argument out of range), with one line in err that does not
 * repeat the key; -EIO for ledger failures, with the SQLite message. */
#ifndef LICGATE_TOOLS_AUTHORITY_LIFECYCLE_H
#define LICGATE_TOOLS_AUTHORITY_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authority_ledger.h"

#define AUTHORITY_MIN_SEATS    10 /* Q13, Q14 */
#define AUTHORITY_MAX_SEATS    1000000
#define AUTHORITY_MAX_YEARS    50
#define AUTHORITY_SUNSET_DAYS  7 /* Q26: about one week to move */
#define AUTHORITY_DEFAULT_RULE "all-but-1"
#define AUTHORITY_MAX_SPLIT    64

struct issue_order {
    const char *customer;
    uint32_t seats;
    unsigned years;         /* support term, from now */
    bool perpetual;         /* old terms: keeps working after support, never re-binds */
    const char *rule;       /* binding rule at activation; NULL = AUTHORITY_DEFAULT_RULE */
    enum license_kind kind; /* standard (0) or cluster; failover keys come from failover-key */
    unsigned nodes;         /* a cluster key: how many installations it serves (2..64); else 0 */
};

/* Adds years calendar years to t (Feb 29 becomes Mar 1). */
int64_t authority_add_years(int64_t t, unsigned years);

/* Checks a binding rule name: all, all-but-N (N 1..8), machine-id-only. */
bool authority_rule_valid(const char *rule);

/* issue: a new key with the order's seats (>= 10, Q13) and support from now;
 * a cluster key shares its seats among up to order->nodes installations. */
int authority_issue(struct ledger *ledger, const struct issue_order *order, int64_t now,
                    const char *who, char key[KEYSTRING_BUFSIZE], char *err, size_t errlen);

/* extend: support_until += years, from the current end, not from now (Q20). */
int authority_extend(struct ledger *ledger, const char *key, unsigned years, int64_t now,
                     const char *who, int64_t *support_until, char *err, size_t errlen);

/* split: a never-activated standard key into nparts (2..64) new keys whose
 * seats sum to the key's, each >= 10 (Q14); the key becomes 'split'. keys
 * receives nparts new keys. Failover and cluster keys are never split. */
int authority_split(struct ledger *ledger, const char *key, const uint32_t *parts, size_t nparts,
                    int64_t now, const char *who, char (*keys)[KEYSTRING_BUFSIZE], char *err,
                    size_t errlen);

/* refund: a never-activated key becomes 'refunded' (revoked, Q8). */
int authority_refund(struct ledger *ledger, const char *key, int64_t now, const char *who,
                     char *err, size_t errlen);

/* replace: within the support term (Q7, Q26), a new key with the same
 * customer, seats, kind, node limit, support end and rule; the old key becomes
 * 'replaced' with a sunset AUTHORITY_SUNSET_DAYS from now, and so does its
 * failover key (replaced keys keep their failover key's sunset too). */
int authority_replace(struct ledger *ledger, const char *key, int64_t now, const char *who,
                      char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen);

/* failover-key: a free failover key backing a standard key, same seats and
 * support end (Q24); at most one per primary key, none for a cluster key. A
 * failover key follows its primary: replacing the primary gives the failover
 * key the primary's sunset, refunding it retires the failover key at once. */
int authority_failover_key(struct ledger *ledger, const char *key, int64_t now, const char *who,
                           char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen);

#endif
