/* Activation on the ledger; see authority_activation.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority_activation.h"
#include "authority_clock.h"
#include "errbuf.h"
#include "keystring.h"
#include "license_sign.h"

/* Sets res's outcome o and its printf-style reason; evaluates to 0. */
#define ACTIVATION_RESULT(res, o, ...)                                                             \
    ((res)->outcome = (o), errbuf_fail((res)->error, sizeof((res)->error), 0, __VA_ARGS__))

int authority_accept_request(struct ledger *ledger, const struct activation_request *req,
                             enum activation_channel channel, int64_t now,
                             struct activation_result *res)
{
    int64_t made, seen = 0;
    char when[LICENSE_TIME_BUFSIZE];
    int ret;

    memset(res, 0, sizeof(*res));
    if (license_parse_time(req->time, strlen(req->time), &made) != 0)
        return ACTIVATION_RESULT(res, ACTIVATION_BAD_REQUEST,
                                 "request: field 'time' is not a time");
    if (made > now + AUTHORITY_ONLINE_SKEW)
        return ACTIVATION_RESULT(res, ACTIVATION_STALE,
                                 "request made at %s, ahead of the authority's clock (%s): check "
                                 "this server's clock, then make a new request",
                                 req->time, authority_time_text(now, when));
    if (channel == ACTIVATION_ONLINE && made < now - AUTHORITY_ONLINE_SKEW)
        return ACTIVATION_RESULT(res, ACTIVATION_STALE,
                                 "request made at %s, more than 10 minutes before the authority's "
                                 "clock (%s): check this server's clock, then try again",
                                 req->time, authority_time_text(now, when));
    if (channel == ACTIVATION_OFFLINE && made < now - AUTHORITY_OFFLINE_AGE)
        return ACTIVATION_RESULT(res, ACTIVATION_STALE,
                                 "request file made at %s, more than 30 days ago: make a new one "
                                 "(licgatectl activate --offline-request)",
                                 req->time);
    ret = ledger_nonce_use(ledger, req->nonce, req->key, now,
                           now - AUTHORITY_OFFLINE_AGE - AUTHORITY_ONLINE_SKEW, &seen);
    if (ret == -EEXIST)
        return ACTIVATION_RESULT(res, ACTIVATION_REPLAYED,
                                 "this request was already used (%s): requests are accepted "
                                 "once; make a new one",
                                 authority_time_text(seen, when));
    if (ret != 0) {
        ACTIVATION_RESULT(res, ACTIVATION_INTERNAL, "ledger: %s", ledger_error(ledger));
        return ret;
    }
    res->outcome = ACTIVATION_OK;
    return 0;
}

/* What the ledger knows that the rules ask about, and the storage behind it. */
struct ledger_facts {
    struct activation_facts facts;
    struct key_record rec;
    struct node_record node;
    const char *node_id; /* a cluster key's node: the request's installation id; else NULL */
    char active[LEDGER_BINDING_MAX];
    char **retired;
    char partner[KEYSTRING_BUFSIZE];
    struct key_record partner_rec;
    char cloned[KEYSTRING_BUFSIZE];
};

static void facts_free(struct ledger_facts *lf)
{
    for (size_t i = 0; i < lf->facts.nretired; i++)
        free(lf->retired[i]);
    free(lf->retired);
}

/* The key's partner (its failover key, or a failover key's primary) and
 * where that partner is activated. */
static int read_partner(struct ledger *ledger, struct ledger_facts *lf)
{
    int ret = 0;

    if (lf->rec.kind == LICENSE_KIND_FAILOVER)
        snprintf(lf->partner, sizeof(lf->partner), "%s", lf->rec.primary_key);
    else
        ret = ledger_failover_of(ledger, lf->rec.key, lf->partner);
    if (ret == 0 && lf->partner[0] != '\0')
        ret = ledger_key_get(ledger, lf->partner, &lf->partner_rec);
    return ret == -ENOENT ? 0 : ret;
}

/* A cluster key's node on req's installation (none yet: f->node stays
 * NULL) and how many nodes it has. */
static int read_node(struct ledger *ledger, const struct activation_request *req,
                     struct ledger_facts *lf)
{
    uint64_t peaks;
    int ret;

    lf->node_id = req->installation_id;
    ret = ledger_node_get(ledger, lf->rec.key, req->installation_id, &lf->node);
    if (ret == 0)
        lf->facts.node = &lf->node;
    if (ret == 0 || ret == -ENOENT)
        ret = ledger_node_usage(ledger, lf->rec.key, &lf->facts.nodes, &peaks);
    return ret;
}

/* Reads the facts about key (canonical) and req's installation at now. */
static int read_facts(struct ledger *ledger, const char *key, const struct activation_request *req,
                      int64_t now, struct ledger_facts *lf)
{
    struct activation_facts *f = &lf->facts;
    int ret;

    memset(lf, 0, sizeof(*lf));
    f->active_binding = lf->active;
    f->partner_key = lf->partner;
    f->partner_installation = lf->partner_rec.installation_id;
    f->cloned_key = lf->cloned;
    ret = ledger_key_get(ledger, key, &lf->rec);
    if (ret == -ENOENT)
        return 0;
    f->rec = &lf->rec;
    if (ret == 0 && lf->rec.kind == LICENSE_KIND_CLUSTER)
        ret = read_node(ledger, req, lf);
    if (ret == 0)
        ret = ledger_binding_active(ledger, key, lf->node_id, lf->active, sizeof(lf->active));
    if (ret == 0 || ret == -ENOENT)
        ret = ledger_bindings_retired(ledger, key, lf->node_id, &lf->retired, &f->nretired);
    f->retired_bindings = lf->retired;
    if (ret == 0)
        ret = ledger_rebinds_since(ledger, key, lf->node_id, now - AUTHORITY_REBIND_WINDOW,
                                   &f->rebinds);
    if (ret == 0)
        ret = read_partner(ledger, lf);
    if (ret == 0)
        ret = ledger_installation_cloned(ledger, req->installation_id, lf->cloned, &f->cloned_at);
    return ret == -ENOENT ? 0 : ret;
}

/* What d decided for a cluster key's node, with its audit row: a new node,
 * a re-binding, a clone; and the node's last refresh and the peak req
 * reports (no audit row: a report is no change of the key). */
static int commit_node(struct ledger *ledger, struct ledger_facts *lf,
                       const struct activation_request *req, const struct activation_decision *d,
                       int64_t now, const char *who)
{
    struct key_record before = lf->rec, *rec = &lf->rec;
    struct node_record *node = &lf->node;
    int ret = 0;

    if (d->step == ACTIVATION_CLONE) {
        node->cloned = now;
        ret = ledger_node_update(ledger, node);
        if (ret == 0)
            ret = ledger_audit_node_change(ledger, now, who, "clone", &before, rec, lf->node_id,
                                           lf->active, d->binding);
        return ret;
    }
    node->refreshed = now;
    if (req->has_usage) {
        node->peak = req->usage_peak;
        node->reported = now;
    }
    if (d->step == ACTIVATION_ACTIVATE) {
        snprintf(node->key, sizeof(node->key), "%s", rec->key);
        memcpy(node->installation_id, req->installation_id, sizeof(node->installation_id));
        memcpy(node->installation_public_key, req->installation_public_key, 32);
        node->activated = now;
        ret = ledger_node_insert(ledger, node);
        if (ret == 0 && rec->activated == 0) { /* the key's first node */
            rec->state = rec->state == KEY_ISSUED ? KEY_ACTIVATED : rec->state;
            rec->activated = now;
            ret = ledger_key_update(ledger, rec);
        }
        if (ret == 0)
            ret = ledger_binding_set(ledger, rec->key, lf->node_id, d->binding, now, false);
        if (ret == 0)
            ret = ledger_audit_node_change(ledger, now, who, "activate", &before, rec, lf->node_id,
                                           NULL, d->binding);
        return ret;
    }
    ret = ledger_node_update(ledger, node);
    if (ret == 0 && d->step == ACTIVATION_REBIND)
        ret = ledger_binding_set(ledger, rec->key, lf->node_id, d->binding, now, true);
    if (ret == 0 && d->step == ACTIVATION_REBIND)
        ret = ledger_audit_node_change(ledger, now, who, "rebind", &before, rec, lf->node_id,
                                       lf->active, d->binding);
    return ret;
}

/* Writes what d decided, with its audit row, and ends the transaction. */
static int commit_decision(struct ledger *ledger, struct ledger_facts *lf,
                           const struct activation_request *req,
                           const struct activation_decision *d, int64_t now, const char *who)
{
    struct key_record before = lf->rec, *rec = &lf->rec;
    int ret = 0;

    if (lf->node_id != NULL && d->step != ACTIVATION_REFUSE) {
        ret = commit_node(ledger, lf, req, d, now, who);
        return ret == 0 ? ledger_commit(ledger) : ret;
    }
    switch (d->step) {
    case ACTIVATION_ACTIVATE:
        rec->state = rec->state == KEY_ISSUED ? KEY_ACTIVATED : rec->state;
        rec->activated = now;
        memcpy(rec->installation_id, req->installation_id, sizeof(rec->installation_id));
        memcpy(rec->installation_public_key, req->installation_public_key, 32);
        ret = ledger_key_update(ledger, rec);
        if (ret == 0)
            ret = ledger_binding_set(ledger, rec->key, NULL, d->binding, now, false);
        if (ret == 0)
            ret = ledger_audit_change(ledger, now, who, "activate", &before, rec, NULL, d->binding);
        break;
    case ACTIVATION_REBIND:
        ret = ledger_binding_set(ledger, rec->key, NULL, d->binding, now, true);
        if (ret == 0)
            ret = ledger_audit_change(ledger, now, who, "rebind", &before, rec, lf->active,
                                      d->binding);
        break;
    case ACTIVATION_CLONE:
        rec->cloned = now;
        ret = ledger_key_update(ledger, rec);
        if (ret == 0)
            ret = ledger_audit_change(ledger, now, who, "clone", &before, rec, lf->active,
                                      d->binding);
        break;
    case ACTIVATION_RENEW:  /* a renewal writes nothing */
    case ACTIVATION_REFUSE: /* nor does a refusal */
        ledger_rollback(ledger);
        return 0;
    }
    return ret == 0 ? ledger_commit(ledger) : ret;
}

/* The license d decided on, signed into res. */
static int grant(const struct activation_decision *d, const uint8_t issuer_priv[32],
                 struct activation_result *res)
{
    int ret = license_sign(&d->license, issuer_priv, &res->license, &res->len);

    if (ret != 0) {
        ACTIVATION_RESULT(res, ACTIVATION_INTERNAL, "cannot sign the license: %s", strerror(-ret));
        return ret;
    }
    res->outcome = ACTIVATION_OK;
    res->what = d->step == ACTIVATION_ACTIVATE ? "activated"
                : d->step == ACTIVATION_REBIND ? "re-bound"
                                               : "renewed";
    return 0;
}

int authority_activate(struct ledger *ledger, const uint8_t issuer_priv[32],
                       const struct activation_request *req, const struct activation_terms *terms,
                       int64_t now, const char *who, struct activation_result *res)
{
    struct activation_decision d;
    struct ledger_facts lf;
    char key[KEYSTRING_BUFSIZE], why[256];
    int ret;

    memset(res, 0, sizeof(*res));
    memset(&lf, 0, sizeof(lf));
    if (keystring_canonicalize(req->key, key, why, sizeof(why)) != 0)
        return ACTIVATION_RESULT(res, ACTIVATION_BAD_REQUEST, "field 'key': %s", why);
    ret = ledger_begin(ledger);
    if (ret == 0)
        ret = read_facts(ledger, key, req, now, &lf);
    if (ret == 0) {
        authority_decide(&lf.facts, req, terms, now, &d);
        ret = commit_decision(ledger, &lf, req, &d, now, who);
    }
    facts_free(&lf);
    if (ret != 0) {
        ACTIVATION_RESULT(res, ACTIVATION_INTERNAL, "ledger: %s",
                          ret == -ENOMEM ? "out of memory" : ledger_error(ledger));
        ledger_rollback(ledger);
        return ret;
    }
    if (d.step == ACTIVATION_REFUSE || d.step == ACTIVATION_CLONE)
        return ACTIVATION_RESULT(res, d.outcome, "%s", d.error);
    return grant(&d, issuer_priv, res);
}
