/* The key lifecycle and the activation rules; see authority_lifecycle.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authority_lifecycle.h"
#include "hex.h"

#define SECONDS_PER_DAY 86400
#define NEW_KEY_TRIES   8

static int refuse(int ret, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(int ret, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ret;
}

static int ledger_failed(struct ledger *ledger, int ret, char *err, size_t errlen)
{
    if (ret == -ENOMEM)
        return refuse(ret, err, errlen, "out of memory");
    return refuse(ret, err, errlen, "ledger: %s", ledger_error(ledger));
}

static const char *date_text(int64_t t, char buf[LICENSE_TIME_BUFSIZE])
{
    if (license_format_time(t, buf, LICENSE_TIME_BUFSIZE) != 0)
        snprintf(buf, LICENSE_TIME_BUFSIZE, "%lld", (long long)t);
    return buf;
}

int64_t authority_add_years(int64_t t, unsigned years)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL)
        return t + (int64_t)years * 365 * SECONDS_PER_DAY;
    tm.tm_year += (int)years;
    return (int64_t)timegm(&tm);
}

bool authority_rule_valid(const char *rule)
{
    if (strcmp(rule, "all") == 0 || strcmp(rule, "machine-id-only") == 0)
        return true;
    return strlen(rule) == 9 && strncmp(rule, "all-but-", 8) == 0 && rule[8] >= '1' &&
           rule[8] <= '8';
}

/* The record as compact JSON for the audit trail; NULL on allocation failure. */
static char *record_text(const struct key_record *rec, const char *binding)
{
    json_object *obj = key_record_json(rec);
    char *text;

    if (obj == NULL)
        return NULL;
    if (binding != NULL)
        json_object_object_add(obj, "binding", json_object_new_string(binding));
    text = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    return text;
}

/* Audits a change of one key from before (NULL: created) to after. */
static int audit_change(struct ledger *ledger, int64_t now, const char *who, const char *what,
                        const struct key_record *before, const struct key_record *after,
                        const char *binding_before, const char *binding_after)
{
    char *btext = NULL, *atext = NULL;
    int ret = -ENOMEM;

    if (before != NULL && (btext = record_text(before, binding_before)) == NULL)
        goto out;
    if ((atext = record_text(after, binding_after)) == NULL)
        goto out;
    ret = ledger_audit(ledger, now, who, what, after->key, btext, atext);
out:
    free(btext);
    free(atext);
    return ret;
}

/* Inserts rec under a fresh random key (retrying on the improbable clash). */
static int insert_new_key(struct ledger *ledger, struct key_record *rec)
{
    int ret = -EEXIST;

    for (int i = 0; i < NEW_KEY_TRIES && ret == -EEXIST; i++) {
        ret = keystring_generate(rec->key);
        if (ret == 0)
            ret = ledger_key_insert(ledger, rec);
    }
    return ret;
}

/* Starts a transaction and loads key; on failure nothing is left open. */
static int begin_with_key(struct ledger *ledger, const char *key, struct key_record *rec, char *err,
                          size_t errlen)
{
    int ret = ledger_begin(ledger);

    if (ret != 0)
        return ledger_failed(ledger, ret, err, errlen);
    ret = ledger_key_get(ledger, key, rec);
    if (ret == -ENOENT) {
        ledger_rollback(ledger);
        return refuse(ret, err, errlen, "license key unknown");
    }
    if (ret != 0) {
        ret = ledger_failed(ledger, ret, err, errlen);
        ledger_rollback(ledger);
    }
    return ret;
}

static int finish(struct ledger *ledger, int ret, char *err, size_t errlen)
{
    if (ret == 0) {
        ret = ledger_commit(ledger);
        if (ret != 0)
            ledger_failed(ledger, ret, err, errlen);
    }
    if (ret != 0)
        ledger_rollback(ledger);
    return ret;
}

/* Refuses a key that is no longer current (refunded, split or replaced). */
static int refuse_retired(const struct key_record *rec, const char *action, char *err,
                          size_t errlen)
{
    switch (rec->state) {
    case KEY_REFUNDED:
        return refuse(-EPERM, err, errlen, "cannot %s: the key was refunded (revoked)", action);
    case KEY_SPLIT:
        return refuse(-EPERM, err, errlen, "cannot %s: the key was split into other keys", action);
    case KEY_REPLACED:
        return refuse(-EPERM, err, errlen, "cannot %s: the key was replaced by %s", action,
                      rec->replaced_by);
    case KEY_ISSUED:
    case KEY_ACTIVATED:
        break;
    }
    return 0;
}

int authority_issue(struct ledger *ledger, const struct issue_order *order, int64_t now,
                    const char *who, char key[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    const char *rule = order->rule != NULL ? order->rule : AUTHORITY_DEFAULT_RULE;
    struct key_record rec;
    int ret;

    key[0] = '\0';
    if (order->seats < AUTHORITY_MIN_SEATS)
        return refuse(-EPERM, err, errlen,
                      "%u seats: the minimum order is %d concurrent connections per key (Q13)",
                      order->seats, AUTHORITY_MIN_SEATS);
    if (order->seats > AUTHORITY_MAX_SEATS)
        return refuse(-EINVAL, err, errlen, "%u seats: at most %d per key", order->seats,
                      AUTHORITY_MAX_SEATS);
    if (order->years < 1 || order->years > AUTHORITY_MAX_YEARS)
        return refuse(-EINVAL, err, errlen, "support term of %u years: expected 1..%d",
                      order->years, AUTHORITY_MAX_YEARS);
    if (!authority_rule_valid(rule))
        return refuse(-EINVAL, err, errlen,
                      "rule '%s': expected all, all-but-N (N 1..8) or machine-id-only", rule);
    memset(&rec, 0, sizeof(rec));
    if (order->customer == NULL || order->customer[0] == '\0' ||
        strlen(order->customer) > LICENSE_CUSTOMER_MAX)
        return refuse(-EINVAL, err, errlen, "customer: expected 1..%d bytes", LICENSE_CUSTOMER_MAX);
    snprintf(rec.customer, sizeof(rec.customer), "%s", order->customer);
    {
        /* The customer name goes into license documents: check it the same way. */
        struct license probe;
        char why[256];

        memset(&probe, 0, sizeof(probe));
        snprintf(probe.key_id, sizeof(probe.key_id), "LG-PROBE");
        memcpy(probe.customer, rec.customer, sizeof(probe.customer));
        probe.seats = order->seats;
        probe.issued = now;
        probe.support_until = now;
        if (license_validate(&probe, why, sizeof(why)) != 0)
            return refuse(-EINVAL, err, errlen, "%s", why);
    }
    rec.seats = order->seats;
    rec.kind = LICENSE_KIND_STANDARD;
    rec.state = KEY_ISSUED;
    rec.perpetual = order->perpetual;
    snprintf(rec.rule, sizeof(rec.rule), "%s", rule);
    rec.created = now;
    rec.support_until = authority_add_years(now, order->years);
    ret = ledger_begin(ledger);
    if (ret != 0)
        return ledger_failed(ledger, ret, err, errlen);
    ret = insert_new_key(ledger, &rec);
    if (ret == 0)
        ret = audit_change(ledger, now, who, "issue", NULL, &rec, NULL, NULL);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
    ret = finish(ledger, ret, err, errlen);
    if (ret == 0)
        memcpy(key, rec.key, KEYSTRING_BUFSIZE);
    return ret;
}

/* A failover key follows its primary (Q24): applies change to the primary's
 * failover key, if it has one, and audits it as what. */
static int follow_primary(struct ledger *ledger, const char *primary, int64_t now, const char *who,
                          const char *what, void (*change)(struct key_record *, int64_t),
                          int64_t value)
{
    char failover[KEYSTRING_BUFSIZE];
    struct key_record rec, before;
    int ret = ledger_failover_of(ledger, primary, failover);

    if (ret == -ENOENT)
        return 0;
    if (ret == 0)
        ret = ledger_key_get(ledger, failover, &rec);
    if (ret != 0)
        return ret;
    before = rec;
    change(&rec, value);
    if (memcmp(&before, &rec, sizeof(rec)) == 0)
        return 0;
    ret = ledger_key_update(ledger, &rec);
    if (ret == 0)
        ret = audit_change(ledger, now, who, what, &before, &rec, NULL, NULL);
    return ret;
}

static void set_support_until(struct key_record *rec, int64_t t)
{
    rec->support_until = t;
}

/* The failover key stops no later than t. */
static void set_sunset(struct key_record *rec, int64_t t)
{
    if (rec->sunset == 0 || rec->sunset > t)
        rec->sunset = t;
}

int authority_extend(struct ledger *ledger, const char *key, unsigned years, int64_t now,
                     const char *who, int64_t *support_until, char *err, size_t errlen)
{
    struct key_record rec, before;
    int ret;

    *support_until = 0;
    if (years < 1 || years > AUTHORITY_MAX_YEARS)
        return refuse(-EINVAL, err, errlen, "%u years: expected 1..%d", years, AUTHORITY_MAX_YEARS);
    ret = begin_with_key(ledger, key, &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_retired(&rec, "extend the support term", err, errlen);
    if (ret != 0)
        goto out;
    before = rec;
    rec.support_until = authority_add_years(rec.support_until, years);
    ret = ledger_key_update(ledger, &rec);
    if (ret == 0)
        ret = audit_change(ledger, now, who, "extend", &before, &rec, NULL, NULL);
    if (ret == 0 && rec.kind == LICENSE_KIND_STANDARD)
        ret = follow_primary(ledger, rec.key, now, who, "extend-failover", set_support_until,
                             rec.support_until);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    ret = finish(ledger, ret, err, errlen);
    if (ret == 0)
        *support_until = rec.support_until;
    return ret;
}

static int refuse_activated(const struct key_record *rec, const char *action, const char *q,
                            char *err, size_t errlen)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (rec->activated == 0)
        return 0;
    return refuse(-EPERM, err, errlen,
                  "cannot %s: the key was activated on %s (installation %s); only a "
                  "never-activated key can be %s (%s)",
                  action, date_text(rec->activated, when), rec->installation_id,
                  strcmp(action, "split") == 0 ? "split" : "refunded", q);
}

int authority_split(struct ledger *ledger, const char *key, const uint32_t *parts, size_t nparts,
                    int64_t now, const char *who, char (*keys)[KEYSTRING_BUFSIZE], char *err,
                    size_t errlen)
{
    struct key_record rec, before, part;
    uint64_t sum = 0;
    int ret;

    for (size_t i = 0; i < nparts; i++)
        keys[i][0] = '\0';
    if (nparts < 2 || nparts > AUTHORITY_MAX_SPLIT)
        return refuse(-EINVAL, err, errlen, "cannot split into %zu parts: expected 2..%d", nparts,
                      AUTHORITY_MAX_SPLIT);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i] < AUTHORITY_MIN_SEATS)
            return refuse(-EPERM, err, errlen,
                          "cannot split: a part of %u seats is below the minimum of %d per key "
                          "(Q13, Q14)",
                          parts[i], AUTHORITY_MIN_SEATS);
        sum += parts[i];
    }
    ret = begin_with_key(ledger, key, &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_retired(&rec, "split", err, errlen);
    if (ret == 0)
        ret = refuse_activated(&rec, "split", "Q14", err, errlen);
    if (ret == 0 && rec.kind == LICENSE_KIND_FAILOVER)
        ret = refuse(-EPERM, err, errlen,
                     "cannot split a failover key: it has the seats of its primary key (Q24)");
    if (ret == 0 && sum != rec.seats)
        ret =
            refuse(-EPERM, err, errlen, "cannot split: the parts sum to %llu seats, the key has %u",
                   (unsigned long long)sum, rec.seats);
    if (ret != 0)
        goto out;
    before = rec;
    for (size_t i = 0; i < nparts && ret == 0; i++) {
        part = rec;
        part.seats = parts[i];
        part.state = KEY_ISSUED;
        part.created = now;
        memcpy(part.origin, rec.key, sizeof(part.origin));
        ret = insert_new_key(ledger, &part);
        if (ret == 0)
            ret = audit_change(ledger, now, who, "split-part", NULL, &part, NULL, NULL);
        if (ret == 0)
            memcpy(keys[i], part.key, KEYSTRING_BUFSIZE);
    }
    if (ret == 0) {
        rec.state = KEY_SPLIT;
        ret = ledger_key_update(ledger, &rec);
    }
    if (ret == 0)
        ret = audit_change(ledger, now, who, "split", &before, &rec, NULL, NULL);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    ret = finish(ledger, ret, err, errlen);
    if (ret != 0) {
        for (size_t i = 0; i < nparts; i++)
            keys[i][0] = '\0';
    }
    return ret;
}

int authority_refund(struct ledger *ledger, const char *key, int64_t now, const char *who,
                     char *err, size_t errlen)
{
    struct key_record rec, before;
    int ret;

    ret = begin_with_key(ledger, key, &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_retired(&rec, "refund", err, errlen);
    if (ret == 0)
        ret = refuse_activated(&rec, "refund", "Q8", err, errlen);
    if (ret != 0)
        goto out;
    before = rec;
    rec.state = KEY_REFUNDED;
    ret = ledger_key_update(ledger, &rec);
    if (ret == 0)
        ret = audit_change(ledger, now, who, "refund", &before, &rec, NULL, NULL);
    if (ret == 0)
        ret = follow_primary(ledger, rec.key, now, who, "retire-failover", set_sunset, now);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    return finish(ledger, ret, err, errlen);
}

int authority_replace(struct ledger *ledger, const char *key, int64_t now, const char *who,
                      char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    struct key_record rec, before, fresh;
    char when[LICENSE_TIME_BUFSIZE];
    int ret;

    newkey[0] = '\0';
    ret = begin_with_key(ledger, key, &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_retired(&rec, "replace", err, errlen);
    if (ret == 0 && now >= rec.support_until)
        ret = refuse(-EPERM, err, errlen,
                     "cannot replace: the support term ended %s; replacement needs a valid "
                     "support term (Q7, Q15, Q26)",
                     date_text(rec.support_until, when));
    if (ret != 0)
        goto out;
    before = rec;
    fresh = rec;
    fresh.state = KEY_ISSUED;
    fresh.created = now;
    fresh.sunset = 0;
    fresh.activated = 0;
    fresh.cloned = 0;
    fresh.installation_id[0] = '\0';
    memset(fresh.installation_public_key, 0, sizeof(fresh.installation_public_key));
    fresh.replaced_by[0] = '\0';
    memcpy(fresh.origin, rec.key, sizeof(fresh.origin));
    ret = insert_new_key(ledger, &fresh);
    if (ret == 0)
        ret = audit_change(ledger, now, who, "replacement", NULL, &fresh, NULL, NULL);
    if (ret == 0) {
        rec.state = KEY_REPLACED;
        rec.sunset = now + AUTHORITY_SUNSET_DAYS * SECONDS_PER_DAY;
        memcpy(rec.replaced_by, fresh.key, sizeof(rec.replaced_by));
        ret = ledger_key_update(ledger, &rec);
    }
    if (ret == 0)
        ret = audit_change(ledger, now, who, "replace", &before, &rec, NULL, NULL);
    if (ret == 0)
        ret = follow_primary(ledger, rec.key, now, who, "retire-failover", set_sunset, rec.sunset);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    ret = finish(ledger, ret, err, errlen);
    if (ret == 0)
        memcpy(newkey, fresh.key, KEYSTRING_BUFSIZE);
    return ret;
}

int authority_failover_key(struct ledger *ledger, const char *key, int64_t now, const char *who,
                           char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    struct key_record rec, fresh;
    char existing[KEYSTRING_BUFSIZE];
    int ret;

    newkey[0] = '\0';
    ret = begin_with_key(ledger, key, &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_retired(&rec, "issue a failover key", err, errlen);
    if (ret == 0 && rec.kind == LICENSE_KIND_FAILOVER)
        ret =
            refuse(-EPERM, err, errlen,
                   "cannot issue a failover key for a failover key (primary %s)", rec.primary_key);
    if (ret != 0)
        goto out;
    ret = ledger_failover_of(ledger, rec.key, existing);
    if (ret == 0) {
        ret = refuse(-EPERM, err, errlen, "the key already has failover key %s (Q24)", existing);
        goto out;
    }
    if (ret != -ENOENT) {
        ledger_failed(ledger, ret, err, errlen);
        goto out;
    }
    fresh = rec;
    fresh.kind = LICENSE_KIND_FAILOVER;
    memcpy(fresh.primary_key, rec.key, sizeof(fresh.primary_key));
    fresh.state = KEY_ISSUED;
    fresh.created = now;
    fresh.sunset = 0;
    fresh.activated = 0;
    fresh.cloned = 0;
    fresh.installation_id[0] = '\0';
    memset(fresh.installation_public_key, 0, sizeof(fresh.installation_public_key));
    fresh.origin[0] = '\0';
    fresh.replaced_by[0] = '\0';
    ret = insert_new_key(ledger, &fresh);
    if (ret == 0)
        ret = audit_change(ledger, now, who, "failover-key", NULL, &fresh, NULL, NULL);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    ret = finish(ledger, ret, err, errlen);
    if (ret == 0)
        memcpy(newkey, fresh.key, KEYSTRING_BUFSIZE);
    return ret;
}

/* ------------------------------------------------------------------ activation */

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

static int outcome(struct activation_result *res, enum activation_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int outcome(struct activation_result *res, enum activation_outcome o, const char *fmt, ...)
{
    va_list ap;

    res->outcome = o;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    return 0;
}

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

/* Whether the machine described by req still matches the bound license
 * (the plugin's rule, docs/machine-binding.md): then its license is simply
 * renewed, and no re-binding is spent. */
static bool binding_still_matches(const char *bound, const struct activation_request *req)
{
    struct license lic;
    size_t missing = 0, extra_nics = 0;
    char why[64];

    memset(&lic, 0, sizeof(lic));
    if (license_parse_binding(bound, &lic, why, sizeof(why)) != 0)
        return false;
    if (lic.binding_virtual != req->is_virtual)
        return false;
    for (size_t i = 0; i < lic.ncomponents; i++)
        missing += !request_has(req, &lic.components[i]);
    for (size_t i = 0; i < req->ncomponents; i++) {
        bool known = false;

        if (req->components[i].type != COMPONENT_NIC)
            continue;
        for (size_t j = 0; j < lic.ncomponents; j++)
            known = known || (lic.components[j].type == COMPONENT_NIC &&
                              memcmp(lic.components[j].digest, req->components[i].digest, 32) == 0);
        extra_nics += !known;
    }
    switch (lic.binding_rule) {
    case BINDING_ALL:
        return missing == 0 && extra_nics == 0;
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

int authority_accept_request(struct ledger *ledger, const struct activation_request *req,
                             enum activation_channel channel, int64_t now,
                             struct activation_result *res)
{
    int64_t made, seen = 0;
    char when[LICENSE_TIME_BUFSIZE];
    int ret;

    memset(res, 0, sizeof(*res));
    if (license_parse_time(req->time, strlen(req->time), &made) != 0)
        return outcome(res, ACTIVATION_BAD_REQUEST, "request: field 'time' is not a time");
    if (made > now + AUTHORITY_ONLINE_SKEW)
        return outcome(res, ACTIVATION_STALE,
                       "request made at %s, ahead of the authority's clock (%s): check this "
                       "server's clock, then make a new request",
                       req->time, date_text(now, when));
    if (channel == ACTIVATION_ONLINE && made < now - AUTHORITY_ONLINE_SKEW)
        return outcome(res, ACTIVATION_STALE,
                       "request made at %s, more than 10 minutes before the authority's clock "
                       "(%s): check this server's clock, then try again",
                       req->time, date_text(now, when));
    if (channel == ACTIVATION_OFFLINE && made < now - AUTHORITY_OFFLINE_AGE)
        return outcome(res, ACTIVATION_STALE,
                       "request file made at %s, more than 30 days ago: make a new one "
                       "(licgatectl activate --offline-request)",
                       req->time);
    ret = ledger_nonce_use(ledger, req->nonce, req->key, now,
                           now - AUTHORITY_OFFLINE_AGE - AUTHORITY_ONLINE_SKEW, &seen);
    if (ret == -EEXIST)
        return outcome(res, ACTIVATION_REPLAYED,
                       "this request was already used (%s): requests are accepted once; make a "
                       "new one",
                       date_text(seen, when));
    if (ret != 0) {
        outcome(res, ACTIVATION_INTERNAL, "ledger: %s", ledger_error(ledger));
        return ret;
    }
    res->outcome = ACTIVATION_OK;
    return 0;
}

/* The refusals that depend on the key's record alone. */
static bool refused_by_record(const struct key_record *rec, const struct activation_request *req,
                              bool first, int64_t now, struct activation_result *res)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (rec->state == KEY_REFUNDED)
        return outcome(res, ACTIVATION_REFUNDED, "license key refunded") == 0;
    if (rec->state == KEY_SPLIT)
        return outcome(res, ACTIVATION_SPLIT, "license key was split into other keys: use those") ==
               0;
    if (rec->state == KEY_REPLACED && (first || now >= rec->sunset))
        return outcome(res, ACTIVATION_REPLACED, "license key replaced by %s (sunset %s)",
                       rec->replaced_by, date_text(rec->sunset, when)) == 0;
    if (rec->sunset != 0 && rec->state != KEY_REPLACED && (first || now >= rec->sunset))
        return outcome(res, ACTIVATION_RETIRED,
                       "failover key retired with its primary key %s (sunset %s): ask for a "
                       "failover key for the primary's replacement (Q24)",
                       rec->primary_key, date_text(rec->sunset, when)) == 0;
    if (!first && (strcmp(rec->installation_id, req->installation_id) != 0 ||
                   memcmp(rec->installation_public_key, req->installation_public_key, 32) != 0))
        return outcome(res, ACTIVATION_ALREADY_ACTIVATED, ACTIVATION_ALREADY_ACTIVATED_ERROR) == 0;
    if (rec->cloned != 0)
        return outcome(res, ACTIVATION_CLONED,
                       "this installation was found on two machines (a copied disk, %s): it "
                       "gets no new lease; ask the vendor to replace the key (Q11)",
                       date_text(rec->cloned, when)) == 0;
    if (!rec->perpetual && now >= rec->support_until) /* it would be expired at once */
        return outcome(res, ACTIVATION_SUPPORT_OVER,
                       first ? "support term over (ended %s): extend it first"
                             : "support term over (ended %s): licenses are renewed only during "
                               "the support term",
                       date_text(rec->support_until, when)) == 0;
    return false;
}

/* Whether req comes from the installation that activated key other. Only
 * the installation can tell: each key salts the fingerprint's digests
 * differently, so the bindings of two keys cannot be compared (the plugin
 * refuses to count a failover license beside its primary, whatever the
 * installation). */
static int on_installation_of(struct ledger *ledger, const char *other,
                              const struct activation_request *req, bool *same)
{
    struct key_record rec;
    int ret;

    *same = false;
    ret = ledger_key_get(ledger, other, &rec);
    if (ret == 0)
        *same = rec.installation_id[0] != '\0' &&
                strcmp(rec.installation_id, req->installation_id) == 0;
    return ret == -ENOENT ? 0 : ret;
}

/* A failover key and its primary never run on one machine (Q24): refuses
 * req when it comes from the installation of the key's partner. */
static int refuse_failover_pair(struct ledger *ledger, const struct key_record *rec,
                                const struct activation_request *req, bool *refused,
                                struct activation_result *res)
{
    char partner[KEYSTRING_BUFSIZE];
    bool same;
    int ret;

    *refused = false;
    if (rec->kind == LICENSE_KIND_FAILOVER) {
        snprintf(partner, sizeof(partner), "%s", rec->primary_key);
    } else {
        ret = ledger_failover_of(ledger, rec->key, partner);
        if (ret != 0)
            return ret == -ENOENT ? 0 : ret;
    }
    ret = on_installation_of(ledger, partner, req, &same);
    if (ret != 0 || !same)
        return ret;
    *refused = true;
    if (rec->kind == LICENSE_KIND_FAILOVER)
        outcome(res, ACTIVATION_FAILOVER_ON_PRIMARY,
                "this machine runs the primary key %s: a failover key activates only on the "
                "standby server (Q24)",
                partner);
    else
        outcome(res, ACTIVATION_FAILOVER_ON_PRIMARY,
                "this machine runs the key's failover key %s: the primary activates on another "
                "server (Q24)",
                partner);
    return 0;
}

/* Whether req matches a binding the key was re-bound away from. */
static int returns_to_retired(struct ledger *ledger, const char *key,
                              const struct activation_request *req, bool *returns)
{
    char **texts;
    size_t n;
    int ret;

    *returns = false;
    ret = ledger_bindings_retired(ledger, key, &texts, &n);
    if (ret != 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        *returns = *returns || binding_still_matches(texts[i], req);
        free(texts[i]);
    }
    free(texts);
    return 0;
}

/* The renewal of an activated key: 0 with *binding the text to sign, or a
 * refusal in res (*refused), a clone found (committed), or -errno. */
static int renewal_binding(struct ledger *ledger, struct key_record *rec,
                           const struct activation_request *req, int64_t now, const char *who,
                           char bound[LEDGER_BINDING_MAX], const char *wanted, bool *rebind,
                           bool *refused, struct activation_result *res)
{
    struct key_record before = *rec;
    unsigned rebinds;
    bool returns;
    int ret;

    *rebind = false;
    *refused = true;
    ret = ledger_binding_active(ledger, rec->key, bound, LEDGER_BINDING_MAX);
    if (ret != 0 && ret != -ENOENT)
        return ret;
    if (ret == 0 && (strcmp(bound, wanted) == 0 || binding_still_matches(bound, req))) {
        *refused = false;
        return 0;
    }
    if (rec->perpetual)
        return outcome(res, ACTIVATION_PERPETUAL_NO_REBIND,
                       "perpetual license: the machine changed and perpetual licenses are never "
                       "re-bound: ask for a replacement key (Q3)");
    if (rec->state == KEY_REPLACED)
        return outcome(res, ACTIVATION_REPLACED,
                       "license key replaced by %s: the machine changed, activate the new key",
                       rec->replaced_by);
    ret = returns_to_retired(ledger, rec->key, req, &returns);
    if (ret != 0)
        return ret;
    if (returns) {
        rec->cloned = now;
        ret = ledger_key_update(ledger, rec);
        if (ret == 0)
            ret = audit_change(ledger, now, who, "clone", &before, rec, bound, wanted);
        if (ret == 0)
            ret = ledger_commit(ledger);
        if (ret != 0)
            return ret;
        return refused_by_record(rec, req, false, now, res) ? 0 : -EIO;
    }
    ret = ledger_rebinds_since(ledger, rec->key, now - AUTHORITY_REBIND_WINDOW, &rebinds);
    if (ret != 0)
        return ret;
    if (rebinds >= AUTHORITY_REBIND_LIMIT)
        return outcome(res, ACTIVATION_REBIND_LIMIT,
                       "re-bound %d times in 30 days: contact support", AUTHORITY_REBIND_LIMIT);
    *rebind = true;
    *refused = false;
    return 0;
}

/* A first activation on an installation that was found cloned under another
 * key (the disk was copied): the replacement needs a fresh installation. */
static int refuse_cloned_installation(struct ledger *ledger, const struct activation_request *req,
                                      bool *refused, struct activation_result *res)
{
    char key[KEYSTRING_BUFSIZE], when[LICENSE_TIME_BUFSIZE];
    int64_t cloned;
    int ret = ledger_installation_cloned(ledger, req->installation_id, key, &cloned);

    *refused = ret == 0;
    if (ret == 0)
        outcome(res, ACTIVATION_CLONED,
                "installation %s was found on two machines (key %s, %s): remove "
                "installation.key on the machine you keep and activate again",
                req->installation_id, key, date_text(cloned, when));
    return ret == -ENOENT ? 0 : ret;
}

int authority_activate(struct ledger *ledger, const uint8_t issuer_priv[32],
                       const struct activation_request *req, const struct activation_terms *terms,
                       int64_t now, const char *who, struct activation_result *res)
{
    char key[KEYSTRING_BUFSIZE], why[256];
    char wanted[LEDGER_BINDING_MAX], bound[LEDGER_BINDING_MAX];
    const char *binding = wanted;
    struct key_record rec, before;
    struct license lic;
    bool first, rebind = false, refused = false;
    int ret;

    memset(res, 0, sizeof(*res));
    if (keystring_canonicalize(req->key, key, why, sizeof(why)) != 0)
        return outcome(res, ACTIVATION_BAD_REQUEST, "field 'key': %s", why);
    ret = ledger_begin(ledger);
    if (ret != 0)
        goto ledger_error;
    ret = ledger_key_get(ledger, key, &rec);
    if (ret == -ENOENT) {
        ledger_rollback(ledger);
        return outcome(res, ACTIVATION_UNKNOWN_KEY, "license key unknown");
    }
    if (ret != 0)
        goto ledger_error;
    before = rec;
    first = rec.installation_id[0] == '\0';
    binding_text(&rec, req, wanted, sizeof(wanted));
    if (refused_by_record(&rec, req, first, now, res))
        goto refused;
    ret = refuse_failover_pair(ledger, &rec, req, &refused, res);
    if (ret == 0 && !refused && first)
        ret = refuse_cloned_installation(ledger, req, &refused, res);
    if (ret == 0 && !refused && !first) {
        ret = renewal_binding(ledger, &rec, req, now, who, bound, wanted, &rebind, &refused, res);
        binding = rebind ? wanted : bound;
    }
    if (ret != 0)
        goto ledger_error;
    if (refused)
        goto refused;
    if (license_for(&rec, req->installation_id, binding, terms, now, &lic, why, sizeof(why)) != 0) {
        outcome(res, ACTIVATION_BAD_REQUEST, "cannot bind under rule '%s': %s", rec.rule, why);
        goto refused;
    }
    if (first) {
        rec.state = rec.state == KEY_ISSUED ? KEY_ACTIVATED : rec.state;
        rec.activated = now;
        memcpy(rec.installation_id, req->installation_id, sizeof(rec.installation_id));
        memcpy(rec.installation_public_key, req->installation_public_key, 32);
        ret = ledger_key_update(ledger, &rec);
        if (ret == 0)
            ret = ledger_binding_set(ledger, rec.key, binding, now, false);
        if (ret == 0)
            ret = audit_change(ledger, now, who, "activate", &before, &rec, NULL, binding);
    } else if (rebind) {
        ret = ledger_binding_set(ledger, rec.key, binding, now, true);
        if (ret == 0)
            ret = audit_change(ledger, now, who, "rebind", &before, &rec, bound, binding);
    }
    if (ret == 0 && (first || rebind))
        ret = ledger_commit(ledger);
    else if (ret == 0)
        ledger_rollback(ledger); /* a renewal writes nothing */
    if (ret != 0)
        goto ledger_error;
    ret = license_sign(&lic, issuer_priv, &res->license, &res->len);
    if (ret != 0) {
        outcome(res, ACTIVATION_INTERNAL, "cannot sign the license: %s", strerror(-ret));
        return ret;
    }
    res->outcome = ACTIVATION_OK;
    res->what = first ? "activated" : rebind ? "re-bound" : "renewed";
    return 0;

refused:
    ledger_rollback(ledger); /* after a clone was committed, a no-op */
    return 0;
ledger_error:
    outcome(res, ACTIVATION_INTERNAL, "ledger: %s",
            ret == -ENOMEM ? "out of memory" : ledger_error(ledger));
    ledger_rollback(ledger);
    return ret != 0 ? ret : -EIO;
}
