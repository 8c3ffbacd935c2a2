/* The activation rules; see authority_decision.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority_clock.h"
#include "authority_decision.h"
#include "errbuf.h"
#include "hex.h"
#include "license_sign.h"

#define SECONDS_PER_DAY 86400

static const struct {
    const char *code;
    unsigned status;
} outcomes[] = {
    [ACTIVATION_OK] = {"ok", 200},
    [ACTIVATION_BAD_REQUEST] = {"bad-request", 400},
    [ACTIVATION_UNKNOWN_KEY] = {"unknown-key", 404},
    [ACTIVATION_REFUNDED] = {"refunded", 410},
    [ACTIVATION_SPLIT] = {"split", 410},
    [ACTIVATION_REPLACED] = {"replaced", 410},
    [ACTIVATION_ALREADY_ACTIVATED] = {"already-activated", 409},
    [ACTIVATION_SUPPORT_OVER] = {"support-over", 403},
    [ACTIVATION_REBIND_LIMIT] = {"rebind-limit", 429},
    [ACTIVATION_PERPETUAL_NO_REBIND] = {"perpetual-no-rebind", 403},
    [ACTIVATION_INTERNAL] = {"internal", 500},
    [ACTIVATION_STALE] = {"stale-request", 400},
    [ACTIVATION_REPLAYED] = {"replayed", 409},
    [ACTIVATION_CLONED] = {"cloned", 409},
    [ACTIVATION_FAILOVER_ON_PRIMARY] = {"failover-on-primary", 409},
    [ACTIVATION_RETIRED] = {"retired", 410},
    [ACTIVATION_NODE_LIMIT] = {"node-limit", 409},
};

const char *activation_code(enum activation_outcome outcome)
{
    if ((size_t)outcome < sizeof(outcomes) / sizeof(outcomes[0]))
        return outcomes[outcome].code;
    return "internal";
}

unsigned activation_http_status(enum activation_outcome outcome)
{
    if ((size_t)outcome < sizeof(outcomes) / sizeof(outcomes[0]))
        return outcomes[outcome].status;
    return 500;
}

/* Refuses with outcome o and a printf-style reason; evaluates to true. */
#define DECIDE_REFUSAL(d, o, ...)                                                                  \
    ((d)->step = ACTIVATION_REFUSE, (d)->outcome = (o),                                            \
     errbuf_fail((d)->error, sizeof((d)->error), true, __VA_ARGS__))

/* ------------------------------------------------------------------ the binding */

static int component_order(const void *a, const void *b)
{
    const struct binding_component *x = a, *y = b;

    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return memcmp(x->digest, y->digest, sizeof(x->digest));
}

/* The binding line a license for this request carries: the key's rule,
 * "+virtual" when the installation counts virtual links, and the components
 * in a canonical order (type, then digest) so the same machine always gives
 * the same text. */
static void binding_text(const struct key_record *rec, const struct activation_request *req,
                         char *out, size_t outlen)
{
    struct binding_component sorted[LICENSE_MAX_COMPONENTS];
    char rule[LEDGER_RULE_MAX];
    size_t used;

    memcpy(sorted, req->components, req->ncomponents * sizeof(sorted[0]));
    qsort(sorted, req->ncomponents, sizeof(sorted[0]), component_order);
    /* all-but-N needs more than N components: with fewer (a container with
     * only a machine-id), tolerate one less than there are, or none. */
    if (strncmp(rec->rule, "all-but-", 8) == 0 && req->ncomponents <= (size_t)(rec->rule[8] - '0'))
        snprintf(rule, sizeof(rule), req->ncomponents <= 1 ? "all" : "all-but-%zu",
                 req->ncomponents - 1);
    else
        snprintf(rule, sizeof(rule), "%s", rec->rule);
    used = (size_t)snprintf(out, outlen, "%s%s", rule, req->is_virtual ? "+virtual" : "");
    for (size_t i = 0; i < req->ncomponents && used < outlen; i++) {
        char hex[2 * sizeof(sorted[i].digest) + 1];

        hex_encode(sorted[i].digest, sizeof(sorted[i].digest), hex);
        used += (size_t)snprintf(out + used, outlen - used, " %s=%s",
                                 license_component_name(sorted[i].type), hex);
    }
}

static bool request_has(const struct activation_request *req, const struct binding_component *c)
{
    for (size_t i = 0; i < req->ncomponents; i++) {
        if (req->components[i].type == c->type &&
            memcmp(req->components[i].digest, c->digest, sizeof(c->digest)) == 0)
            return true;
    }
    return false;
}

/* How many of the request's NICs the bound license does not name. */
static size_t extra_nics(const struct license *lic, const struct activation_request *req)
{
    size_t extra = 0;

    for (size_t i = 0; i < req->ncomponents; i++) {
        bool known = false;

        if (req->components[i].type != COMPONENT_NIC)
            continue;
        for (size_t j = 0; j < lic->ncomponents; j++)
            known =
                known || (lic->components[j].type == COMPONENT_NIC &&
                          memcmp(lic->components[j].digest, req->components[i].digest, 32) == 0);
        extra += !known;
    }
    return extra;
}

/* Whether the machine described by req still matches the bound license
 * (the plugin's rule, docs/machine-binding.md): then its license is simply
 * renewed, and no re-binding is spent. */
static bool binding_still_matches(const char *bound, const struct activation_request *req)
{
    struct license lic;
    size_t missing = 0;
    char why[64];

    memset(&lic, 0, sizeof(lic));
    if (license_parse_binding(bound, &lic, why, sizeof(why)) != 0)
        return false;
    if (lic.binding_virtual != req->is_virtual)
        return false;
    for (size_t i = 0; i < lic.ncomponents; i++)
        missing += !request_has(req, &lic.components[i]);
    switch (lic.binding_rule) {
    case BINDING_ALL:
        return missing == 0 && extra_nics(&lic, req) == 0;
    case BINDING_ALL_BUT:
        return missing <= lic.binding_tolerance;
    case BINDING_MACHINE_ID_ONLY:
        for (size_t i = 0; i < lic.ncomponents; i++) {
            if (lic.components[i].type == COMPONENT_MACHINE_ID)
                return request_has(req, &lic.components[i]);
        }
        return false;
    case BINDING_NONE:
        break;
    }
    return false;
}

/* The license document fields for rec bound by binding at now. */
static int license_for(const struct key_record *rec, const char *installation_id,
                       const char *binding, const struct activation_terms *terms, int64_t now,
                       struct license *lic, char *why, size_t whylen)
{
    int64_t lease = now + AUTHORITY_LEASE_DAYS * SECONDS_PER_DAY;

    if (terms->channel == ACTIVATION_OFFLINE) {
        lease = rec->support_until;
        if (terms->lease_days != 0 &&
            now + (int64_t)terms->lease_days * SECONDS_PER_DAY < rec->support_until)
            lease = now + (int64_t)terms->lease_days * SECONDS_PER_DAY;
    }
    memset(lic, 0, sizeof(*lic));
    snprintf(lic->key_id, sizeof(lic->key_id), "%s", rec->key);
    memcpy(lic->customer, rec->customer, sizeof(lic->customer));
    lic->seats = rec->seats;
    lic->kind = rec->kind;
    snprintf(lic->primary_key, sizeof(lic->primary_key), "%s", rec->primary_key);
    lic->issued = now;
    lic->support_until = rec->support_until;
    lic->perpetual = rec->perpetual;
    lic->lease_not_after = rec->perpetual ? 0 : lease;
    lic->sunset = rec->sunset;
    snprintf(lic->installation_id, sizeof(lic->installation_id), "%s", installation_id);
    if (license_parse_binding(binding, lic, why, whylen) != 0)
        return -EINVAL;
    return license_validate(lic, why, whylen);
}

/* ------------------------------------------------------------------ the rules */

static bool state_known(enum key_state state)
{
    switch (state) {
    case KEY_ISSUED:
    case KEY_ACTIVATED:
    case KEY_REFUNDED:
    case KEY_SPLIT:
    case KEY_REPLACED:
        return true;
    }
    return false;
}

/* The refusals for a key that is no longer current: refunded, split,
 * replaced or retired with its primary (past its sunset, or at once for a
 * first activation). */
static bool refused_retired(const struct key_record *rec, bool first, int64_t now,
                            struct activation_decision *d)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (rec->state == KEY_REFUNDED)
        return DECIDE_REFUSAL(d, ACTIVATION_REFUNDED, "license key refunded");
    if (rec->state == KEY_SPLIT)
        return DECIDE_REFUSAL(d, ACTIVATION_SPLIT,
                              "license key was split into other keys: use those");
    if (rec->state == KEY_REPLACED && (first || now >= rec->sunset))
        return DECIDE_REFUSAL(d, ACTIVATION_REPLACED, "license key replaced by %s (sunset %s)",
                              rec->replaced_by, authority_time_text(rec->sunset, when));
    if (rec->sunset != 0 && rec->state != KEY_REPLACED && (first || now >= rec->sunset))
        return DECIDE_REFUSAL(d, ACTIVATION_RETIRED,
                              "failover key retired with its primary key %s (sunset %s): ask for "
                              "a failover key for the primary's replacement (Q24)",
                              rec->primary_key, authority_time_text(rec->sunset, when));
    return false;
}

/* The installation a key is activated on, as the rules see it: a key's one
 * installation, or the cluster node the request's installation is. */
struct bound_installation {
    const char *id; /* "" when none: a first activation */
    const uint8_t *public_key;
    int64_t cloned;
};

static struct bound_installation bound_installation(const struct activation_facts *f)
{
    const struct key_record *rec = f->rec;

    if (rec->kind != LICENSE_KIND_CLUSTER)
        return (struct bound_installation){rec->installation_id, rec->installation_public_key,
                                           rec->cloned};
    if (f->node == NULL)
        return (struct bound_installation){"", NULL, rec->cloned};
    return (struct bound_installation){f->node->installation_id, f->node->installation_public_key,
                                       f->node->cloned};
}

/* The refusals that depend on the key's record (and a cluster node's) alone. */
static bool refused_by_record(const struct key_record *rec, const struct bound_installation *b,
                              const struct activation_request *req, bool first, int64_t now,
                              struct activation_decision *d)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (refused_retired(rec, first, now, d))
        return true;
    if (!first && (strcmp(b->id, req->installation_id) != 0 ||
                   memcmp(b->public_key, req->installation_public_key, 32) != 0))
        return DECIDE_REFUSAL(d, ACTIVATION_ALREADY_ACTIVATED, ACTIVATION_ALREADY_ACTIVATED_ERROR);
    if (b->cloned != 0)
        return DECIDE_REFUSAL(d, ACTIVATION_CLONED,
                              "this installation was found on two machines (a copied disk, %s): "
                              "it gets no new lease; ask the vendor to replace the key (Q11)",
                              authority_time_text(b->cloned, when));
    if (!rec->perpetual && now >= rec->support_until) /* it would be expired at once */
        return DECIDE_REFUSAL(d, ACTIVATION_SUPPORT_OVER,
                              first ? "support term over (ended %s): extend it first"
                                    : "support term over (ended %s): licenses are renewed only "
                                      "during the support term",
                              authority_time_text(rec->support_until, when));
    return false;
}

/* A failover key and its primary never run on one machine (Q24). Only the
 * installation can tell: each key salts the fingerprint's digests
 * differently, so the bindings of two keys cannot be compared (the plugin
 * refuses to count a failover license beside its primary, whatever the
 * installation). */
static bool refused_beside_partner(const struct key_record *rec, const struct activation_facts *f,
                                   const struct activation_request *req,
                                   struct activation_decision *d)
{
    if (f->partner_key[0] == '\0' || f->partner_installation[0] == '\0' ||
        strcmp(f->partner_installation, req->installation_id) != 0)
        return false;
    if (rec->kind == LICENSE_KIND_FAILOVER)
        return DECIDE_REFUSAL(d, ACTIVATION_FAILOVER_ON_PRIMARY,
                              "this machine runs the primary key %s: a failover key activates "
                              "only on the standby server (Q24)",
                              f->partner_key);
    return DECIDE_REFUSAL(d, ACTIVATION_FAILOVER_ON_PRIMARY,
                          "this machine runs the key's failover key %s: the primary activates on "
                          "another server (Q24)",
                          f->partner_key);
}

/* A first activation on an installation that was found cloned under another
 * key (the disk was copied): the replacement needs a fresh installation. */
static bool refused_cloned_installation(const struct activation_facts *f,
                                        const struct activation_request *req,
                                        struct activation_decision *d)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (f->cloned_key[0] == '\0')
        return false;
    return DECIDE_REFUSAL(d, ACTIVATION_CLONED,
                          "installation %s was found on two machines (key %s, %s): remove "
                          "installation.key on the machine you keep and activate again",
                          req->installation_id, f->cloned_key,
                          authority_time_text(f->cloned_at, when));
}

/* One more installation than a cluster key serves. */
static bool refused_node_limit(const struct activation_facts *f, struct activation_decision *d)
{
    if (f->rec->kind != LICENSE_KIND_CLUSTER || f->nodes < f->rec->nodes)
        return false;
    return DECIDE_REFUSAL(d, ACTIVATION_NODE_LIMIT, ACTIVATION_NODE_LIMIT_ERROR, f->rec->nodes);
}

/* Whether req matches a binding the key was re-bound away from. */
static bool returns_to_retired(const struct activation_facts *f,
                               const struct activation_request *req)
{
    for (size_t i = 0; i < f->nretired; i++) {
        if (binding_still_matches(f->retired_bindings[i], req))
            return true;
    }
    return false;
}

/* The request of the installation the key is activated on: renewed on the
 * same machine, else re-bound, refused, or found to be a clone. d->binding
 * holds the wanted binding on entry. */
static void decide_renewal(const struct activation_facts *f, const struct activation_request *req,
                           int64_t now, struct activation_decision *d)
{
    const struct key_record *rec = f->rec;
    char when[LICENSE_TIME_BUFSIZE];

    if (f->active_binding[0] != '\0' && (strcmp(f->active_binding, d->binding) == 0 ||
                                         binding_still_matches(f->active_binding, req))) {
        d->step = ACTIVATION_RENEW;
        snprintf(d->binding, sizeof(d->binding), "%s", f->active_binding);
    } else if (rec->perpetual) {
        DECIDE_REFUSAL(d, ACTIVATION_PERPETUAL_NO_REBIND,
                       "perpetual license: the machine changed and perpetual licenses are never "
                       "re-bound: ask for a replacement key (Q3)");
    } else if (rec->state == KEY_REPLACED) {
        DECIDE_REFUSAL(d, ACTIVATION_REPLACED,
                       "license key replaced by %s: the machine changed, activate the new key",
                       rec->replaced_by);
    } else if (returns_to_retired(f, req)) {
        DECIDE_REFUSAL(d, ACTIVATION_CLONED,
                       "this installation was found on two machines (a copied disk, %s): it "
                       "gets no new lease; ask the vendor to replace the key (Q11)",
                       authority_time_text(now, when));
        d->step = ACTIVATION_CLONE;
    } else if (f->rebinds >= AUTHORITY_REBIND_LIMIT) {
        DECIDE_REFUSAL(d, ACTIVATION_REBIND_LIMIT, "re-bound %d times in 30 days: contact support",
                       AUTHORITY_REBIND_LIMIT);
    } else {
        d->step = ACTIVATION_REBIND;
    }
}

void authority_decide(const struct activation_facts *f, const struct activation_request *req,
                      const struct activation_terms *terms, int64_t now,
                      struct activation_decision *d)
{
    const struct key_record *rec = f->rec;
    struct bound_installation b;
    char why[256];
    bool first;

    memset(d, 0, sizeof(*d));
    if (rec == NULL) {
        DECIDE_REFUSAL(d, ACTIVATION_UNKNOWN_KEY, "license key unknown");
        return;
    }
    if (!state_known(rec->state)) {
        DECIDE_REFUSAL(d, ACTIVATION_INTERNAL, "license key in an unknown state (%d)",
                       (int)rec->state);
        return;
    }
    b = bound_installation(f);
    first = b.id[0] == '\0';
    binding_text(rec, req, d->binding, sizeof(d->binding));
    if (refused_by_record(rec, &b, req, first, now, d) || refused_beside_partner(rec, f, req, d) ||
        (first && (refused_cloned_installation(f, req, d) || refused_node_limit(f, d))))
        return;
    d->step = ACTIVATION_ACTIVATE;
    if (!first)
        decide_renewal(f, req, now, d);
    if (d->step == ACTIVATION_REFUSE || d->step == ACTIVATION_CLONE)
        return;
    if (license_for(rec, req->installation_id, d->binding, terms, now, &d->license, why,
                    sizeof(why)) != 0) {
        DECIDE_REFUSAL(d, ACTIVATION_BAD_REQUEST, "cannot bind under rule '%s': %s", rec->rule,
                       why);
        return;
    }
    d->outcome = ACTIVATION_OK;
}
