/* The key lifecycle; see authority_lifecycle.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authority_clock.h"
#include "authority_lifecycle.h"
#include "errbuf.h"
#include "license_sign.h"

#define SECONDS_PER_DAY 86400
#define NEW_KEY_TRIES   8

static int ledger_failed(struct ledger *ledger, int ret, char *err, size_t errlen)
{
    if (ret == -ENOMEM)
        return errbuf_fail(err, errlen, ret, "out of memory");
    return errbuf_fail(err, errlen, ret, "ledger: %s", ledger_error(ledger));
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

/* Refuses a key that is no longer current (refunded, split or replaced). */
static int refuse_retired(const struct key_record *rec, const char *action, char *err,
                          size_t errlen)
{
    switch (rec->state) {
    case KEY_REFUNDED:
        return errbuf_fail(err, errlen, -EPERM, "cannot %s: the key was refunded (revoked)",
                           action);
    case KEY_SPLIT:
        return errbuf_fail(err, errlen, -EPERM, "cannot %s: the key was split into other keys",
                           action);
    case KEY_REPLACED:
        return errbuf_fail(err, errlen, -EPERM, "cannot %s: the key was replaced by %s", action,
                           rec->replaced_by);
    case KEY_ISSUED:
    case KEY_ACTIVATED:
        break;
    }
    return 0;
}

/* Starts a transaction and loads key, refusing one that is no longer current
 * for action; on failure nothing is left open. */
static int begin_with_key(struct ledger *ledger, const char *key, const char *action,
                          struct key_record *rec, char *err, size_t errlen)
{
    int ret = ledger_begin(ledger);

    if (ret != 0)
        return ledger_failed(ledger, ret, err, errlen);
    ret = ledger_key_get(ledger, key, rec);
    if (ret == -ENOENT) {
        ledger_rollback(ledger);
        return errbuf_fail(err, errlen, ret, "license key unknown");
    }
    if (ret != 0)
        ret = ledger_failed(ledger, ret, err, errlen);
    else
        ret = refuse_retired(rec, action, err, errlen);
    if (ret != 0)
        ledger_rollback(ledger);
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

/* The refusals of an order, before anything is written. The customer name
 * goes into license documents: it is checked the same way they are. */
static int check_order(const struct issue_order *order, const char *rule, int64_t now, char *err,
                       size_t errlen)
{
    struct license probe;
    char why[256];

    if (order->seats < AUTHORITY_MIN_SEATS)
        return errbuf_fail(err, errlen, -EPERM,
                           "%u seats: the minimum order is %d concurrent connections per key (Q13)",
                           order->seats, AUTHORITY_MIN_SEATS);
    if (order->seats > AUTHORITY_MAX_SEATS)
        return errbuf_fail(err, errlen, -EINVAL, "%u seats: at most %d per key", order->seats,
                           AUTHORITY_MAX_SEATS);
    if (order->years < 1 || order->years > AUTHORITY_MAX_YEARS)
        return errbuf_fail(err, errlen, -EINVAL, "support term of %u years: expected 1..%d",
                           order->years, AUTHORITY_MAX_YEARS);
    if (!authority_rule_valid(rule))
        return errbuf_fail(err, errlen, -EINVAL,
                           "rule '%s': expected all, all-but-N (N 1..8) or machine-id-only", rule);
    if (order->kind != LICENSE_KIND_STANDARD && order->kind != LICENSE_KIND_CLUSTER)
        return errbuf_fail(err, errlen, -EINVAL,
                           "kind %s: issue makes standard and cluster keys (a failover key comes "
                           "from failover-key KEY, Q24)",
                           license_kind_name(order->kind));
    if (order->kind == LICENSE_KIND_CLUSTER &&
        (order->nodes < LEDGER_MIN_NODES || order->nodes > LEDGER_MAX_NODES))
        return errbuf_fail(err, errlen, -EINVAL, "a cluster key of %u nodes: expected %d..%d",
                           order->nodes, LEDGER_MIN_NODES, LEDGER_MAX_NODES);
    if (order->kind != LICENSE_KIND_CLUSTER && order->nodes != 0)
        return errbuf_fail(err, errlen, -EINVAL, "a node limit applies to cluster keys only");
    if (order->customer == NULL || order->customer[0] == '\0' ||
        strlen(order->customer) > LICENSE_CUSTOMER_MAX)
        return errbuf_fail(err, errlen, -EINVAL, "customer: expected 1..%d bytes",
                           LICENSE_CUSTOMER_MAX);
    memset(&probe, 0, sizeof(probe));
    snprintf(probe.key_id, sizeof(probe.key_id), "LG-PROBE");
    snprintf(probe.customer, sizeof(probe.customer), "%s", order->customer);
    probe.seats = order->seats;
    probe.kind = order->kind;
    probe.issued = now;
    probe.support_until = now;
    if (license_validate(&probe, why, sizeof(why)) != 0)
        return errbuf_fail(err, errlen, -EINVAL, "%s", why);
    return 0;
}

int authority_issue(struct ledger *ledger, const struct issue_order *order, int64_t now,
                    const char *who, char key[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    const char *rule = order->rule != NULL ? order->rule : AUTHORITY_DEFAULT_RULE;
    struct key_record rec;
    int ret;

    key[0] = '\0';
    ret = check_order(order, rule, now, err, errlen);
    if (ret != 0)
        return ret;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.customer, sizeof(rec.customer), "%s", order->customer);
    rec.seats = order->seats;
    rec.kind = order->kind;
    rec.nodes = order->kind == LICENSE_KIND_CLUSTER ? order->nodes : 0;
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
        ret = ledger_audit_change(ledger, now, who, "issue", NULL, &rec, NULL, NULL);
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
        ret = ledger_audit_change(ledger, now, who, what, &before, &rec, NULL, NULL);
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
        return errbuf_fail(err, errlen, -EINVAL, "%u years: expected 1..%d", years,
                           AUTHORITY_MAX_YEARS);
    ret = begin_with_key(ledger, key, "extend the support term", &rec, err, errlen);
    if (ret != 0)
        return ret;
    before = rec;
    rec.support_until = authority_add_years(rec.support_until, years);
    ret = ledger_key_update(ledger, &rec);
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "extend", &before, &rec, NULL, NULL);
    if (ret == 0 && rec.kind == LICENSE_KIND_STANDARD)
        ret = follow_primary(ledger, rec.key, now, who, "extend-failover", set_support_until,
                             rec.support_until);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
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
    /* a cluster key has no installation of its own: its nodes have theirs */
    return errbuf_fail(err, errlen, -EPERM,
                       "cannot %s: the key was activated on %s (%s%s); only a "
                       "never-activated key can be %s (%s)",
                       action, authority_time_text(rec->activated, when),
                       rec->kind == LICENSE_KIND_CLUSTER ? "its first node" : "installation ",
                       rec->installation_id, strcmp(action, "split") == 0 ? "split" : "refunded",
                       q);
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
        return errbuf_fail(err, errlen, -EINVAL, "cannot split into %zu parts: expected 2..%d",
                           nparts, AUTHORITY_MAX_SPLIT);
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i] < AUTHORITY_MIN_SEATS)
            return errbuf_fail(
                err, errlen, -EPERM,
                "cannot split: a part of %u seats is below the minimum of %d per key "
                "(Q13, Q14)",
                parts[i], AUTHORITY_MIN_SEATS);
        sum += parts[i];
    }
    ret = begin_with_key(ledger, key, "split", &rec, err, errlen);
    if (ret != 0)
        return ret;
    if (rec.kind == LICENSE_KIND_CLUSTER)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot split a cluster key: its nodes share one pool of %u seats",
                          rec.seats);
    if (ret == 0)
        ret = refuse_activated(&rec, "split", "Q14", err, errlen);
    if (ret == 0 && rec.kind == LICENSE_KIND_FAILOVER)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot split a failover key: it has the seats of its primary key (Q24)");
    if (ret == 0 && sum != rec.seats)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot split: the parts sum to %llu seats, the key has %u",
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
            ret = ledger_audit_change(ledger, now, who, "split-part", NULL, &part, NULL, NULL);
        if (ret == 0)
            memcpy(keys[i], part.key, KEYSTRING_BUFSIZE);
    }
    if (ret == 0) {
        rec.state = KEY_SPLIT;
        ret = ledger_key_update(ledger, &rec);
    }
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "split", &before, &rec, NULL, NULL);
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

    ret = begin_with_key(ledger, key, "refund", &rec, err, errlen);
    if (ret != 0)
        return ret;
    ret = refuse_activated(&rec, "refund", "Q8", err, errlen);
    if (ret != 0)
        goto out;
    before = rec;
    rec.state = KEY_REFUNDED;
    ret = ledger_key_update(ledger, &rec);
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "refund", &before, &rec, NULL, NULL);
    if (ret == 0)
        ret = follow_primary(ledger, rec.key, now, who, "retire-failover", set_sunset, now);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    return finish(ledger, ret, err, errlen);
}

/* A new key on rec's terms (customer, seats, kind, support, rule), issued at
 * now and never activated; its key string is made when it is inserted. */
static void new_key_like(const struct key_record *rec, int64_t now, struct key_record *fresh)
{
    *fresh = *rec;
    fresh->state = KEY_ISSUED;
    fresh->created = now;
    fresh->sunset = 0;
    fresh->activated = 0;
    fresh->cloned = 0;
    fresh->installation_id[0] = '\0';
    memset(fresh->installation_public_key, 0, sizeof(fresh->installation_public_key));
    fresh->origin[0] = '\0';
    fresh->replaced_by[0] = '\0';
}

int authority_replace(struct ledger *ledger, const char *key, int64_t now, const char *who,
                      char newkey[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    struct key_record rec, before, fresh;
    char when[LICENSE_TIME_BUFSIZE];
    int ret;

    newkey[0] = '\0';
    ret = begin_with_key(ledger, key, "replace", &rec, err, errlen);
    if (ret != 0)
        return ret;
    if (now >= rec.support_until)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot replace: the support term ended %s; replacement needs a valid "
                          "support term (Q7, Q15, Q26)",
                          authority_time_text(rec.support_until, when));
    if (ret != 0)
        goto out;
    before = rec;
    new_key_like(&rec, now, &fresh);
    memcpy(fresh.origin, rec.key, sizeof(fresh.origin));
    ret = insert_new_key(ledger, &fresh);
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "replacement", NULL, &fresh, NULL, NULL);
    if (ret == 0) {
        rec.state = KEY_REPLACED;
        rec.sunset = now + AUTHORITY_SUNSET_DAYS * SECONDS_PER_DAY;
        memcpy(rec.replaced_by, fresh.key, sizeof(rec.replaced_by));
        ret = ledger_key_update(ledger, &rec);
    }
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "replace", &before, &rec, NULL, NULL);
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
    ret = begin_with_key(ledger, key, "issue a failover key", &rec, err, errlen);
    if (ret != 0)
        return ret;
    if (rec.kind == LICENSE_KIND_FAILOVER)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot issue a failover key for a failover key (primary %s)",
                          rec.primary_key);
    if (rec.kind == LICENSE_KIND_CLUSTER)
        ret = errbuf_fail(err, errlen, -EPERM,
                          "cannot issue a failover key for a cluster key: its nodes stand in for "
                          "one another");
    if (ret != 0)
        goto out;
    ret = ledger_failover_of(ledger, rec.key, existing);
    if (ret == 0) {
        ret =
            errbuf_fail(err, errlen, -EPERM, "the key already has failover key %s (Q24)", existing);
        goto out;
    }
    if (ret != -ENOENT) {
        ledger_failed(ledger, ret, err, errlen);
        goto out;
    }
    new_key_like(&rec, now, &fresh);
    fresh.kind = LICENSE_KIND_FAILOVER;
    memcpy(fresh.primary_key, rec.key, sizeof(fresh.primary_key));
    ret = insert_new_key(ledger, &fresh);
    if (ret == 0)
        ret = ledger_audit_change(ledger, now, who, "failover-key", NULL, &fresh, NULL, NULL);
    if (ret != 0)
        ledger_failed(ledger, ret, err, errlen);
out:
    ret = finish(ledger, ret, err, errlen);
    if (ret == 0)
        memcpy(newkey, fresh.key, KEYSTRING_BUFSIZE);
    return ret;
}
