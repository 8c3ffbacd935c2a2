/* The activation rules (docs/activation-api.md; the FAQ's Q3, Q11, Q24, Q26) as
 * one decision: given what the ledger knows of a key and what a verified
 * request says, what happens to it. Pure: no ledger, no clock, no I/O; every
 * fact is an argument, so each rule is one row of a table in the tests.
 * authority_activation.h gathers the facts and commits the decision. */
#ifndef LICGATE_TOOLS_AUTHORITY_DECISION_H
#define LICGATE_TOOLS_AUTHORITY_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activation_request.h"
#include "authority_ledger.h"
#include "license.h"

#define AUTHORITY_LEASE_DAYS     30
#define AUTHORITY_MAX_LEASE_DAYS 3650
#define AUTHORITY_REBIND_LIMIT   3 /* per AUTHORITY_REBIND_WINDOW */
#define AUTHORITY_REBIND_WINDOW  (30 * 86400)

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
    ACTIVATION_NODE_LIMIT,
};

/* "unknown-key", "refunded", ...; and the HTTP status of a refusal. */
const char *activation_code(enum activation_outcome outcome);
unsigned activation_http_status(enum activation_outcome outcome);

#define ACTIVATION_ALREADY_ACTIVATED_ERROR                                                         \
    "License error: machine properties validation failed: verify fail: key already activated on "  \
    "another machine"
/* A cluster key asked by one installation more than its node limit (%u). */
#define ACTIVATION_NODE_LIMIT_ERROR                                                                \
    "cluster key activated on %u nodes already (its limit): ask the vendor for more nodes or "     \
    "replace a node"

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

/* What the ledger knows that the rules ask about. The bindings and
 * re-bindings are those of the key's installation, or, for a cluster key,
 * those of the node the request's installation is (none for a new one). */
struct activation_facts {
    const struct key_record *rec;   /* NULL: the key is unknown */
    const struct node_record *node; /* a cluster key's node on the request's installation; NULL */
    unsigned nodes;                 /* how many nodes a cluster key has */
    const char *active_binding;     /* the binding its license carries, "" when none */
    char *const *retired_bindings;  /* the bindings it was re-bound away from */
    size_t nretired;
    unsigned rebinds;                 /* re-bindings in the last AUTHORITY_REBIND_WINDOW */
    const char *partner_key;          /* its failover key, or a failover key's primary; "" */
    const char *partner_installation; /* where the partner is activated, "" when it is not */
    const char *cloned_key;           /* a key found cloned on the request's installation, "" */
    int64_t cloned_at;                /* when that key was found cloned */
};

/* What to do with the request. */
enum activation_step {
    ACTIVATION_REFUSE,   /* nothing is written */
    ACTIVATION_CLONE,    /* the key is marked cloned at now, then the request is refused */
    ACTIVATION_ACTIVATE, /* the first activation: the key (or a new cluster node) is bound */
    ACTIVATION_RENEW,    /* the same machine: a fresh license, nothing written */
    ACTIVATION_REBIND,   /* the same installation on changed hardware: a new binding */
};

struct activation_decision {
    enum activation_step step;
    enum activation_outcome outcome;  /* ACTIVATION_OK, or the refusal */
    char error[256];                  /* the one-line reason of a refusal */
    char binding[LEDGER_BINDING_MAX]; /* the binding the license carries; the clone's too */
    struct license license;           /* the document to sign (activate, renew, rebind) */
};

/* Applies the rules to a verified request at now, in this order: an unknown
 * key; the key's state (refunded, split, replaced or a retired failover key
 * past its sunset, or at once for a first activation); another installation
 * (a key activates on one installation, ever); a key found cloned (Q11);
 * support over (unless perpetual); a failover key on its primary's
 * installation or a primary on its failover key's (Q24); a first activation
 * on an installation found cloned under another key. A cluster key serves
 * up to rec->nodes installations, each judged as a standard key's one
 * installation is (a first activation is its node's, a clone is its node's
 * alone); one more is ACTIVATION_NODE_LIMIT. Then the same machine
 * (the bound binding, or one that still matches it by the plugin's rule) is
 * renewed; a changed machine is never re-bound for a perpetual license (Q3)
 * nor for a replaced key, is a clone when it returns to a binding the key was
 * re-bound away from, and is re-bound at most AUTHORITY_REBIND_LIMIT times
 * per window. Last, the license for the binding must validate under the
 * key's rule (else ACTIVATION_BAD_REQUEST). d is filled whatever the step. */
void authority_decide(const struct activation_facts *facts, const struct activation_request *req,
                      const struct activation_terms *terms, int64_t now,
                      struct activation_decision *d);

#endif
