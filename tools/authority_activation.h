/* Activation on the ledger: a request is accepted once, within its channel's
 * window, then the rules (authority_decision.h) decide on the facts the
 * ledger holds and the decision is committed in one transaction with its
 * audit row. Int functions return 0 with the outcome in the result, or -errno
 * when the ledger failed (the outcome is then ACTIVATION_INTERNAL). */
#ifndef LICGATE_TOOLS_AUTHORITY_ACTIVATION_H
#define LICGATE_TOOLS_AUTHORITY_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

#include "activation_request.h"
#include "authority_decision.h"
#include "authority_ledger.h"

struct activation_result {
    enum activation_outcome outcome;
    char error[256];  /* the one-line error for a refusal */
    const char *what; /* on success: "activated", "renewed" or "re-bound" */
    char *license;    /* on success: the signed document, malloc'd; the caller frees it */
    size_t len;
};

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

/* Applies the activation rules (authority_decide) to a verified request at
 * now and commits what they decide: a first activation binds the key to the
 * installation, a re-binding makes the new binding the active one, a clone
 * found marks the key cloned (each in one transaction with its audit row);
 * a renewal writes nothing. The license is signed with issuer_priv. Returns
 * 0 with res->outcome set (the license on ACTIVATION_OK), or -errno when the
 * ledger failed (res->outcome ACTIVATION_INTERNAL). */
int authority_activate(struct ledger *ledger, const uint8_t issuer_priv[32],
                       const struct activation_request *req, const struct activation_terms *terms,
                       int64_t now, const char *who, struct activation_result *res);

#endif
