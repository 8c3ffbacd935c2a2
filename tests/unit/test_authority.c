/* The key lifecycle and the activation rules, on a real ledger in a temp
 * directory: every rule, every refusal, and that a refusal writes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "authority_ledger.h"
#include "authority_lifecycle.h"
#include "authority_activation.h"
#include "activation_request.h"
#include "crypto.h"
#include "hex.h"
#include "keystring.h"
#include "license.h"
#include "unit_fixture.h"

#define DAY 86400
#define T0  1795910400LL /* 2026-11-29T00:00:00Z */
#define WHO "tester"
static const struct activation_terms online = {.channel = ACTIVATION_ONLINE};

#define HEXA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct fixture {
    char dir[64];
    struct ledger *ledger;
    uint8_t issuer_priv[32];
    struct issuer_key issuer;
    uint8_t inst_a[32], inst_b[32]; /* two installations' private keys */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uint8_t pub[32];
    char err[256];

    if (f == NULL)
        return -1;
    if (unit_tmpdir_make(f->dir, sizeof(f->dir), "test_authority") != 0)
        return -1;
    if (ledger_open(f->dir, true, &f->ledger, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (crypto_ed25519_keygen(f->issuer_priv, f->issuer.pub) != 0 ||
        crypto_ed25519_keygen(f->inst_a, pub) != 0 || crypto_ed25519_keygen(f->inst_b, pub) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ledger_close(f->ledger);
    if (unit_tmpdir_remove(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static size_t audit_rows(struct fixture *f)
{
    json_object *rows;
    size_t n;

    assert_int_equal(ledger_audit_json(f->ledger, &rows), 0);
    n = json_object_array_length(rows);
    json_object_put(rows);
    return n;
}

static const char *last_audit_what(struct fixture *f, char *buf, size_t len)
{
    json_object *rows;
    size_t n;

    assert_int_equal(ledger_audit_json(f->ledger, &rows), 0);
    n = json_object_array_length(rows);
    assert_true(n > 0);
    snprintf(buf, len, "%s",
             json_object_get_string(
                 json_object_object_get(json_object_array_get_idx(rows, n - 1), "what")));
    json_object_put(rows);
    return buf;
}

static void issue(struct fixture *f, uint32_t seats, bool perpetual, const char *rule,
                  char key[KEYSTRING_BUFSIZE])
{
    struct issue_order order = {.customer = "Example Corp",
                                .seats = seats,
                                .years = 1,
                                .perpetual = perpetual,
                                .rule = rule};
    char err[256];

    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), 0);
}

static struct key_record get(struct fixture *f, const char *key)
{
    struct key_record rec;

    assert_int_equal(ledger_key_get(f->ledger, key, &rec), 0);
    return rec;
}

/* A verified request from installation priv for key, with the given
 * components ("machine-id=<hex>" style digests built from one letter each). */
static struct activation_request request(const uint8_t priv[32], const char *key, const char *mid,
                                         const char *nic, bool is_virtual)
{
    struct activation_request req, parsed;
    char *json = NULL, err[256];

    memset(&req, 0, sizeof(req));
    snprintf(req.key, sizeof(req.key), "%s", key);
    if (mid != NULL) {
        req.components[req.ncomponents].type = COMPONENT_MACHINE_ID;
        memset(req.components[req.ncomponents++].digest, mid[0], 32);
    }
    if (nic != NULL) {
        req.components[req.ncomponents].type = COMPONENT_NIC;
        memset(req.components[req.ncomponents++].digest, nic[0], 32);
    }
    req.is_virtual = is_virtual;
    strcpy(req.nonce, "00112233445566778899aabbccddeeff");
    strcpy(req.time, "2026-11-29T00:00:00Z");
    assert_int_equal(activation_request_build(&req, priv, &json), 0);
    assert_int_equal(activation_request_parse(json, strlen(json), &parsed, err, sizeof(err)), 0);
    free(json);
    return parsed;
}

/* Activates under terms and returns the outcome; on success the license is
 * verified into *lic (when not NULL). */
static enum activation_outcome activate_as(struct fixture *f, const struct activation_request *req,
                                           const struct activation_terms *terms, int64_t now,
                                           struct license *lic, const char **what)
{
    struct activation_result res;
    struct license parsed;
    char err[256];

    assert_int_equal(authority_activate(f->ledger, f->issuer_priv, req, terms, now, WHO, &res), 0);
    if (res.outcome == ACTIVATION_OK) {
        assert_int_equal(
            license_parse_verify(res.license, res.len, &f->issuer, 1, &parsed, err, sizeof(err)),
            0);
        if (lic != NULL)
            *lic = parsed;
        if (what != NULL)
            *what = res.what;
    } else {
        assert_null(res.license);
        assert_true(res.error[0] != '\0');
    }
    free(res.license);
    return res.outcome;
}

static enum activation_outcome activate(struct fixture *f, const struct activation_request *req,
                                        int64_t now, struct license *lic, const char **what)
{
    return activate_as(f, req, &online, now, lic, what);
}

/* ------------------------------------------------------------ issue */

static void issue__nine_seats__refused_nothing_written(void **state)
{
    struct fixture *f = *state;
    struct issue_order order = {.customer = "Small", .seats = 9, .years = 1};
    char key[KEYSTRING_BUFSIZE], err[256];
    struct key_record *list;
    size_t n;

    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "minimum order is 10"));
    assert_non_null(strstr(err, "Q13"));
    assert_string_equal(key, "");
    assert_int_equal(ledger_key_list(f->ledger, NULL, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(audit_rows(f), 0);
}

static void issue__ten_seats__issued_one_year_audited(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], canon[KEYSTRING_BUFSIZE], what[32];
    struct key_record rec;

    issue(f, 10, false, NULL, key);
    assert_int_equal(keystring_canonicalize(key, canon, NULL, 0), 0);
    assert_string_equal(key, canon);
    rec = get(f, key);
    assert_int_equal(rec.state, KEY_ISSUED);
    assert_int_equal(rec.seats, 10);
    assert_int_equal(rec.support_until, T0 + 365 * DAY); /* 2027 is not a leap year */
    assert_string_equal(rec.rule, "all-but-1");
    assert_int_equal(audit_rows(f), 1);
    assert_string_equal(last_audit_what(f, what, sizeof(what)), "issue");
}

static void issue__bad_rule_or_years__invalid(void **state)
{
    struct fixture *f = *state;
    struct issue_order order = {.customer = "C", .seats = 10, .years = 0};
    char key[KEYSTRING_BUFSIZE], err[256];

    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    order.years = 1;
    order.rule = "some";
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    order.rule = NULL;
    order.customer = "bad\nname";
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    assert_int_equal(audit_rows(f), 0);
}

/* ------------------------------------------------------------ extend */

static void extend__later__from_support_end_not_now(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], err[256];
    int64_t until;

    issue(f, 10, false, NULL, key);
    assert_int_equal(
        authority_extend(f->ledger, key, 2, T0 + 200 * DAY, WHO, &until, err, sizeof(err)), 0);
    assert_int_equal(until, authority_add_years(T0, 3));
    assert_int_equal(get(f, key).support_until, until);
}

static void extend__unknown_or_refunded__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], err[256];
    int64_t until;
    size_t rows;

    assert_int_equal(
        authority_extend(f->ledger, "LG-0000-0000-0000-0000", 1, T0, WHO, &until, err, sizeof(err)),
        -ENOENT);
    assert_string_equal(err, "license key unknown");
    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_refund(f->ledger, key, T0, WHO, err, sizeof(err)), 0);
    rows = audit_rows(f);
    assert_int_equal(authority_extend(f->ledger, key, 1, T0, WHO, &until, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "refunded"));
    assert_int_equal(audit_rows(f), rows);
}

/* ------------------------------------------------------------ split */

static void split__never_activated__parts_issued_original_split(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], parts_keys[3][KEYSTRING_BUFSIZE], err[256];
    const uint32_t parts[] = {10, 15, 25};

    issue(f, 50, false, "machine-id-only", key);
    assert_int_equal(
        authority_split(f->ledger, key, parts, 3, T0 + DAY, WHO, parts_keys, err, sizeof(err)), 0);
    assert_int_equal(get(f, key).state, KEY_SPLIT);
    for (size_t i = 0; i < 3; i++) {
        struct key_record rec = get(f, parts_keys[i]);
        assert_int_equal(rec.seats, parts[i]);
        assert_int_equal(rec.state, KEY_ISSUED);
        assert_string_equal(rec.origin, key);
        assert_string_equal(rec.rule, "machine-id-only");
        assert_int_equal(rec.support_until, get(f, key).support_until);
    }
}

static void split__rule_broken__refused_nothing_written(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], out[3][KEYSTRING_BUFSIZE], err[256], failover[KEYSTRING_BUFSIZE];
    const uint32_t small[] = {9, 21}, wrong_sum[] = {10, 10}, one[] = {30};
    struct key_record *list;
    size_t rows, n;

    issue(f, 30, false, NULL, key);
    rows = audit_rows(f);
    assert_int_equal(authority_split(f->ledger, key, small, 2, T0, WHO, out, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "below the minimum of 10"));
    assert_int_equal(authority_split(f->ledger, key, wrong_sum, 2, T0, WHO, out, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "sum to 20 seats, the key has 30"));
    assert_int_equal(authority_split(f->ledger, key, one, 1, T0, WHO, out, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(audit_rows(f), rows);
    assert_int_equal(ledger_key_list(f->ledger, NULL, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
    assert_int_equal(get(f, key).state, KEY_ISSUED);
    /* A failover key has its primary's seats: not split. */
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, failover, err, sizeof(err)),
                     0);
    assert_int_equal(authority_split(f->ledger, failover, (const uint32_t[]){10, 20}, 2, T0, WHO,
                                     out, err, sizeof(err)),
                     -EPERM);
}

static void split__activated__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], out[2][KEYSTRING_BUFSIZE], err[256];
    const uint32_t parts[] = {10, 10};
    struct activation_request req;

    issue(f, 20, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(authority_split(f->ledger, key, parts, 2, T0, WHO, out, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "only a never-activated key can be split (Q14)"));
    assert_int_equal(get(f, key).state, KEY_ACTIVATED);
}

static void split__twice__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], out[2][KEYSTRING_BUFSIZE], err[256];
    const uint32_t parts[] = {10, 10};

    issue(f, 20, false, NULL, key);
    assert_int_equal(authority_split(f->ledger, key, parts, 2, T0, WHO, out, err, sizeof(err)), 0);
    assert_int_equal(authority_split(f->ledger, key, parts, 2, T0, WHO, out, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "split into other keys"));
}

/* ------------------------------------------------------------ refund */

static void refund__never_activated__refunded(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], err[256], what[32];
    struct activation_request req;

    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_refund(f->ledger, key, T0, WHO, err, sizeof(err)), 0);
    assert_int_equal(get(f, key).state, KEY_REFUNDED);
    assert_string_equal(last_audit_what(f, what, sizeof(what)), "refund");
    assert_int_equal(authority_refund(f->ledger, key, T0, WHO, err, sizeof(err)), -EPERM);
    /* Revoked: it no longer activates. */
    req = request(f->inst_a, key, "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_REFUNDED);
}

static void refund__activated__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;
    size_t rows;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    rows = audit_rows(f);
    assert_int_equal(authority_refund(f->ledger, key, T0, WHO, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "only a never-activated key can be refunded (Q8)"));
    assert_int_equal(get(f, key).state, KEY_ACTIVATED);
    assert_int_equal(audit_rows(f), rows);
}

/* ------------------------------------------------------------ replace */

static void replace__within_support__new_key_old_sunset_week(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;
    struct key_record old, rec;
    struct license lic;

    issue(f, 25, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(authority_replace(f->ledger, key, T0 + DAY, WHO, fresh, err, sizeof(err)), 0);
    old = get(f, key);
    rec = get(f, fresh);
    assert_int_equal(old.state, KEY_REPLACED);
    assert_int_equal(old.sunset, T0 + 8 * DAY);
    assert_string_equal(old.replaced_by, fresh);
    assert_int_equal(rec.state, KEY_ISSUED);
    assert_int_equal(rec.seats, 25);
    assert_int_equal(rec.support_until, old.support_until);
    assert_string_equal(rec.customer, old.customer);
    assert_string_equal(rec.origin, key);
    /* The old key's installation keeps refreshing until the sunset, and its
     * license carries it. */
    assert_int_equal(activate(f, &req, T0 + 2 * DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.sunset, T0 + 8 * DAY);
    assert_int_equal(activate(f, &req, T0 + 8 * DAY, NULL, NULL), ACTIVATION_REPLACED);
    /* Nobody else may activate the old key; the new key activates. */
    req = request(f->inst_b, key, "c", "d", false);
    assert_int_equal(activate(f, &req, T0 + 2 * DAY, NULL, NULL), ACTIVATION_ALREADY_ACTIVATED);
    req = request(f->inst_b, fresh, "c", "d", false);
    assert_int_equal(activate(f, &req, T0 + 2 * DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.sunset, 0);
}

static void replace__support_over__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE], err[256];
    size_t rows;

    issue(f, 10, false, NULL, key);
    rows = audit_rows(f);
    assert_int_equal(
        authority_replace(f->ledger, key, T0 + 366 * DAY, WHO, fresh, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "support term ended"));
    assert_string_equal(fresh, "");
    assert_int_equal(get(f, key).state, KEY_ISSUED);
    assert_int_equal(audit_rows(f), rows);
}

static void replace__twice__refused(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE], err[256];

    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_replace(f->ledger, key, T0, WHO, fresh, err, sizeof(err)), 0);
    assert_int_equal(authority_replace(f->ledger, key, T0, WHO, fresh, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "replaced by"));
}

/* ------------------------------------------------------------ failover */

static void failover_key__standard__free_key_same_seats(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fo[KEYSTRING_BUFSIZE], again[KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;
    struct key_record rec;
    struct license lic;

    issue(f, 40, false, NULL, key);
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, fo, err, sizeof(err)), 0);
    rec = get(f, fo);
    assert_int_equal(rec.kind, LICENSE_KIND_FAILOVER);
    assert_string_equal(rec.primary_key, key);
    assert_int_equal(rec.seats, 40);
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, again, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "already has failover key"));
    assert_int_equal(authority_failover_key(f->ledger, fo, T0, WHO, again, err, sizeof(err)),
                     -EPERM);
    req = request(f->inst_b, fo, "f", NULL, false);
    assert_int_equal(activate(f, &req, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.kind, LICENSE_KIND_FAILOVER);
    assert_string_equal(lic.primary_key, key);
}

static void failover_key__primary_replaced__retired_with_its_sunset(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fo[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE];
    char fo2[KEYSTRING_BUFSIZE], again[KEYSTRING_BUFSIZE], err[256], what_row[32];
    struct activation_request req;
    struct license lic;

    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, fo, err, sizeof(err)), 0);
    req = request(f->inst_b, fo, "f", NULL, false);
    assert_int_equal(activate(f, &req, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.sunset, 0);
    /* extending the primary extends its failover key */
    assert_int_equal(
        authority_extend(f->ledger, key, 1, T0, WHO, &lic.support_until, err, sizeof(err)), 0);
    assert_int_equal(get(f, fo).support_until, get(f, key).support_until);
    assert_int_equal(authority_replace(f->ledger, key, T0 + DAY, WHO, fresh, err, sizeof(err)), 0);
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "retire-failover");
    assert_int_equal(get(f, fo).sunset, T0 + 8 * DAY);
    /* it renews within the week, carrying the sunset, then never again */
    assert_int_equal(activate(f, &req, T0 + 2 * DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.sunset, T0 + 8 * DAY);
    assert_int_equal(activate(f, &req, T0 + 20 * DAY, NULL, NULL), ACTIVATION_RETIRED);
    assert_int_equal(activation_http_status(ACTIVATION_RETIRED), 410);
    /* the replacement gets one failover key of its own, and only one */
    assert_int_equal(authority_failover_key(f->ledger, fresh, T0 + DAY, WHO, fo2, err, sizeof(err)),
                     0);
    assert_int_equal(
        authority_failover_key(f->ledger, fresh, T0 + DAY, WHO, again, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, fo2));
}

static void failover_key__primary_refunded__retired_now(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fo[KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;

    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, fo, err, sizeof(err)), 0);
    assert_int_equal(authority_refund(f->ledger, key, T0 + DAY, WHO, err, sizeof(err)), 0);
    assert_int_equal(get(f, fo).sunset, T0 + DAY);
    req = request(f->inst_b, fo, "f", NULL, false);
    assert_int_equal(activate(f, &req, T0 + DAY, NULL, NULL), ACTIVATION_RETIRED);
}

static void activate__failover_on_primary_installation__refused_both_ways(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fo[KEYSTRING_BUFSIZE], err[256];
    char other[KEYSTRING_BUFSIZE], fo2[KEYSTRING_BUFSIZE];
    struct activation_request req;
    size_t rows;

    issue(f, 10, false, NULL, key);
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, fo, err, sizeof(err)), 0);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    rows = audit_rows(f);
    /* the primary's own installation */
    req = request(f->inst_a, fo, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_FAILOVER_ON_PRIMARY);
    assert_int_equal(audit_rows(f), rows);
    assert_int_equal(get(f, fo).activated, 0);
    /* the standby server */
    req = request(f->inst_b, fo, "s", "t", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    /* the standby server's installation cannot take the primary either */
    issue(f, 10, false, NULL, other);
    assert_int_equal(authority_failover_key(f->ledger, other, T0, WHO, fo2, err, sizeof(err)), 0);
    req = request(f->inst_b, fo2, "s", "t", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    req = request(f->inst_b, other, "s", "t", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_FAILOVER_ON_PRIMARY);
}

static void activate__fingerprint_returns__clone_marked_no_more_leases(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE], err[256], what_row[32];
    struct activation_request original, clone, req;
    const char *what;

    issue(f, 10, false, "all", key);
    original = request(f->inst_a, key, "a", "a", false);
    clone = request(f->inst_a, key, "c", "c", false); /* the same installation key */
    assert_int_equal(activate(f, &original, T0, NULL, NULL), ACTIVATION_OK);
    /* the clone's first refresh looks like a hardware change */
    assert_int_equal(activate(f, &clone, T0 + DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "re-bound");
    /* the original comes back to the fingerprint the key left: a clone */
    assert_int_equal(activate(f, &original, T0 + 2 * DAY, NULL, NULL), ACTIVATION_CLONED);
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "clone");
    assert_int_equal(get(f, key).cloned, T0 + 2 * DAY);
    assert_int_equal(activation_http_status(ACTIVATION_CLONED), 409);
    /* from then on neither machine gets a lease */
    assert_int_equal(activate(f, &clone, T0 + 3 * DAY, NULL, NULL), ACTIVATION_CLONED);
    assert_int_equal(activate(f, &original, T0 + 3 * DAY, NULL, NULL), ACTIVATION_CLONED);
    /* the replacement needs a fresh installation */
    assert_int_equal(authority_replace(f->ledger, key, T0 + 3 * DAY, WHO, fresh, err, sizeof(err)),
                     0);
    req = request(f->inst_a, fresh, "a", "a", false);
    assert_int_equal(activate(f, &req, T0 + 3 * DAY, NULL, NULL), ACTIVATION_CLONED);
    req = request(f->inst_b, fresh, "a", "a", false);
    assert_int_equal(activate(f, &req, T0 + 3 * DAY, NULL, NULL), ACTIVATION_OK);
}

static void activate__offline__lease_to_support_end_or_as_asked(void **state)
{
    struct activation_terms offline = {.channel = ACTIVATION_OFFLINE};
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;
    struct license lic;
    int64_t until;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate_as(f, &req, &offline, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.lease_not_after, get(f, key).support_until);
    offline.lease_days = 90;
    assert_int_equal(activate_as(f, &req, &offline, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.lease_not_after, T0 + 90 * DAY);
    /* never past the support end */
    offline.lease_days = 3000;
    assert_int_equal(activate_as(f, &req, &offline, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.lease_not_after, get(f, key).support_until);
    /* after extend, one more round trip carries the new end */
    assert_int_equal(authority_extend(f->ledger, key, 2, T0, WHO, &until, err, sizeof(err)), 0);
    offline.lease_days = 0;
    assert_int_equal(activate_as(f, &req, &offline, T0 + DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.lease_not_after, until);
    assert_int_equal(lic.support_until, until);
    /* online activations keep the 30-day lease */
    assert_int_equal(activate(f, &req, T0 + DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.lease_not_after, T0 + 31 * DAY);
}

/* ------------------------------------------------------------ activation */

static void activate__first__license_bound_leased_audited(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], what_row[32];
    struct activation_request req;
    struct key_record rec;
    struct license lic;
    const char *what;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0 + 60, &lic, &what), ACTIVATION_OK);
    assert_string_equal(what, "activated");
    assert_string_equal(lic.key_id, key);
    assert_int_equal(lic.seats, 10);
    assert_int_equal(lic.issued, T0 + 60);
    assert_int_equal(lic.lease_not_after, T0 + 60 + 30 * DAY);
    assert_false(lic.perpetual);
    assert_string_equal(lic.installation_id, req.installation_id);
    assert_int_equal(lic.binding_rule, BINDING_ALL_BUT);
    assert_int_equal(lic.binding_tolerance, 1);
    assert_int_equal(lic.ncomponents, 2);
    rec = get(f, key);
    assert_int_equal(rec.state, KEY_ACTIVATED);
    assert_int_equal(rec.activated, T0 + 60);
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "activate");
}

static void activate__lowercase_key__same_key(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], lower[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct license lic;

    issue(f, 10, false, NULL, key);
    for (size_t i = 0; i < sizeof(key); i++)
        lower[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] - 'A' + 'a' : key[i]);
    req = request(f->inst_a, lower, "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, &lic, NULL), ACTIVATION_OK);
    assert_string_equal(lic.key_id, key);
}

static void activate__other_installation__already_activated(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct activation_result res;
    size_t rows;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    rows = audit_rows(f);
    /* Even with the very same fingerprint: a key is for one installation. */
    req = request(f->inst_b, key, "a", "b", false);
    assert_int_equal(authority_activate(f->ledger, f->issuer_priv, &req, &online, T0, WHO, &res),
                     0);
    assert_int_equal(res.outcome, ACTIVATION_ALREADY_ACTIVATED);
    assert_string_equal(res.error, "License error: machine properties validation failed: verify "
                                   "fail: key already activated on another machine");
    assert_string_equal(activation_code(res.outcome), "already-activated");
    assert_int_equal(activation_http_status(res.outcome), 409);
    assert_int_equal(audit_rows(f), rows);
}

static void activate__same_installation__renewed_nothing_written(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct license first, again;
    const char *what;
    size_t rows;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, &first, NULL), ACTIVATION_OK);
    rows = audit_rows(f);
    assert_int_equal(activate(f, &req, T0 + 10 * DAY, &again, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    assert_int_equal(again.lease_not_after, T0 + 40 * DAY);
    assert_int_equal(again.ncomponents, first.ncomponents);
    assert_memory_equal(again.components, first.components, sizeof(first.components));
    assert_int_equal(audit_rows(f), rows);
}

static void activate__one_nic_changed_all_but_1__renewed_same_binding(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct license first, again;
    const char *what;

    issue(f, 10, false, NULL, key);
    req = request(f->inst_a, key, "a", "b", false);
    assert_int_equal(activate(f, &req, T0, &first, NULL), ACTIVATION_OK);
    req = request(f->inst_a, key, "a", "c", false);
    assert_int_equal(activate(f, &req, T0 + DAY, &again, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    assert_memory_equal(again.components, first.components, sizeof(first.components));
}

static void activate__changed_fingerprint__rebound_three_times_per_30_days(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], what_row[32];
    const char *machines = "bcde";
    struct activation_request req;
    struct license lic;
    const char *what;
    size_t rows;

    issue(f, 10, false, "all", key);
    req = request(f->inst_a, key, "a", "a", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    for (int i = 0; i < 3; i++) {
        char m[2] = {machines[i], '\0'};
        req = request(f->inst_a, key, m, m, false);
        assert_int_equal(activate(f, &req, T0 + (i + 1) * DAY, &lic, &what), ACTIVATION_OK);
        assert_string_equal(what, "re-bound");
        assert_int_equal(lic.components[0].digest[0], (uint8_t)machines[i]);
        assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "rebind");
    }
    rows = audit_rows(f);
    req = request(f->inst_a, key, "e", "e", false);
    assert_int_equal(activate(f, &req, T0 + 4 * DAY, NULL, NULL), ACTIVATION_REBIND_LIMIT);
    assert_int_equal(audit_rows(f), rows);
    /* The current binding still renews. */
    req = request(f->inst_a, key, "d", "d", false);
    assert_int_equal(activate(f, &req, T0 + 4 * DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    /* 30 days after the first re-binding, one is available again. */
    req = request(f->inst_a, key, "e", "e", false);
    assert_int_equal(activate(f, &req, T0 + 31 * DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "re-bound");
}

static void activate__support_over__no_rebind_no_renewal(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;

    issue(f, 10, false, "all", key);
    req = request(f->inst_a, key, "a", "a", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    req = request(f->inst_a, key, "b", "b", false);
    assert_int_equal(activate(f, &req, T0 + 400 * DAY, NULL, NULL), ACTIVATION_SUPPORT_OVER);
    req = request(f->inst_a, key, "a", "a", false);
    assert_int_equal(activate(f, &req, T0 + 400 * DAY, NULL, NULL), ACTIVATION_SUPPORT_OVER);
    assert_int_equal(activation_http_status(ACTIVATION_SUPPORT_OVER), 403);
}

static void activate__perpetual__no_lease_never_rebinds(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct license lic;

    issue(f, 10, true, NULL, key);
    req = request(f->inst_a, key, "a", "a", false);
    assert_int_equal(activate(f, &req, T0, &lic, NULL), ACTIVATION_OK);
    assert_true(lic.perpetual);
    assert_int_equal(lic.lease_not_after, 0);
    /* Still renews (same machine) after support ended. */
    assert_int_equal(activate(f, &req, T0 + 800 * DAY, &lic, NULL), ACTIVATION_OK);
    req = request(f->inst_a, key, "b", "b", false);
    assert_int_equal(activate(f, &req, T0 + DAY, NULL, NULL), ACTIVATION_PERPETUAL_NO_REBIND);
}

static void activate__states__refusals(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], parts[2][KEYSTRING_BUFSIZE], err[256];
    struct activation_request req;

    req = request(f->inst_a, "LG-0000-0000-0000-0000", "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_UNKNOWN_KEY);
    req = request(f->inst_a, "LG-0000-0000-0000-0001", "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_BAD_REQUEST);
    issue(f, 20, false, NULL, key);
    assert_int_equal(authority_split(f->ledger, key, (const uint32_t[]){10, 10}, 2, T0, WHO, parts,
                                     err, sizeof(err)),
                     0);
    req = request(f->inst_a, key, "a", NULL, false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_SPLIT);
    /* Support over before the first activation: it would be born expired. */
    req = request(f->inst_a, parts[0], "a", NULL, false);
    assert_int_equal(activate(f, &req, T0 + 400 * DAY, NULL, NULL), ACTIVATION_SUPPORT_OVER);
    assert_int_equal(get(f, parts[0]).state, KEY_ISSUED);
}

static void activate__machine_id_only_without_machine_id__bad_request_nothing_written(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE];
    struct activation_request req;
    struct license lic;
    size_t rows;

    issue(f, 10, false, "machine-id-only", key);
    rows = audit_rows(f);
    req = request(f->inst_a, key, NULL, "b", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_BAD_REQUEST);
    assert_int_equal(get(f, key).state, KEY_ISSUED);
    assert_int_equal(audit_rows(f), rows);
    req = request(f->inst_a, key, "a", "b", true);
    assert_int_equal(activate(f, &req, T0, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.binding_rule, BINDING_MACHINE_ID_ONLY);
    assert_true(lic.binding_virtual);
}

static void ledger__reopen__schema_current_and_newer_refused(void **state)
{
    struct fixture *f = *state;
    struct ledger *again;
    char err[256], cmd[256];

    assert_int_equal(ledger_open(f->dir, false, &again, err, sizeof(err)), 0);
    ledger_close(again);
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s/ledger.sqlite' 'PRAGMA user_version = 99' 2>/dev/null",
             f->dir);
    if (system(cmd) != 0)
        skip();
    assert_int_equal(ledger_open(f->dir, false, &again, err, sizeof(err)), -EPROTO);
    assert_null(again);
    assert_non_null(strstr(err, "newer than this program"));
}

/* req from request(), made at `made` with nonce n (re-signed). */
static struct activation_request remade(const uint8_t priv[32], struct activation_request req,
                                        int64_t made, unsigned n)
{
    char *json = NULL;

    license_format_time(made, req.time, sizeof(req.time));
    snprintf(req.nonce, sizeof(req.nonce), "%032x", n);
    assert_int_equal(activation_request_build(&req, priv, &json), 0);
    free(json);
    return req;
}

static void accept_request__windows_and_replays(void **state)
{
    struct fixture *f = *state;
    struct activation_result res;
    struct activation_request base, req;
    uint8_t priv[32], pub[32];
    char key[KEYSTRING_BUFSIZE];
    size_t rows;

    assert_int_equal(crypto_ed25519_keygen(priv, pub), 0);
    issue(f, 10, false, "all", key);
    base = request(priv, key, "m", "n", false);
    /* online: within 10 minutes either way */
    req = remade(priv, base, T0 - 9 * 60, 1);
    assert_int_equal(authority_accept_request(f->ledger, &req, ACTIVATION_ONLINE, T0, &res), 0);
    assert_int_equal(res.outcome, ACTIVATION_OK);
    req = remade(priv, base, T0 - 11 * 60, 2);
    authority_accept_request(f->ledger, &req, ACTIVATION_ONLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_STALE);
    assert_non_null(strstr(res.error, "more than 10 minutes before the authority's clock"));
    req = remade(priv, base, T0 + 11 * 60, 3);
    authority_accept_request(f->ledger, &req, ACTIVATION_ONLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_STALE);
    assert_non_null(strstr(res.error, "ahead of the authority's clock"));
    /* offline: up to 30 days old, not from the future */
    req = remade(priv, base, T0 - 29 * DAY, 4);
    authority_accept_request(f->ledger, &req, ACTIVATION_OFFLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_OK);
    req = remade(priv, base, T0 - 31 * DAY, 5);
    authority_accept_request(f->ledger, &req, ACTIVATION_OFFLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_STALE);
    assert_non_null(strstr(res.error, "more than 30 days ago"));
    req = remade(priv, base, T0 + 11 * 60, 6);
    authority_accept_request(f->ledger, &req, ACTIVATION_OFFLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_STALE);
    /* a request accepted once is refused after, online or offline, and nothing is written */
    req = remade(priv, base, T0, 7);
    authority_accept_request(f->ledger, &req, ACTIVATION_ONLINE, T0, &res);
    assert_int_equal(res.outcome, ACTIVATION_OK);
    rows = audit_rows(f);
    authority_accept_request(f->ledger, &req, ACTIVATION_ONLINE, T0 + 60, &res);
    assert_int_equal(res.outcome, ACTIVATION_REPLAYED);
    assert_non_null(strstr(res.error, "this request was already used (2026-11-29T00:00:00Z)"));
    authority_accept_request(f->ledger, &req, ACTIVATION_OFFLINE, T0 + DAY, &res);
    assert_int_equal(res.outcome, ACTIVATION_REPLAYED);
    assert_int_equal(audit_rows(f), rows);
    assert_string_equal(activation_code(ACTIVATION_REPLAYED), "replayed");
    assert_int_equal(activation_http_status(ACTIVATION_STALE), 400);
}

/* ------------------------------------------------------------ cluster keys */

static void issue_cluster(struct fixture *f, uint32_t seats, unsigned nodes,
                          char key[KEYSTRING_BUFSIZE])
{
    struct issue_order order = {.customer = "Cluster Corp",
                                .seats = seats,
                                .years = 1,
                                .rule = "all",
                                .kind = LICENSE_KIND_CLUSTER,
                                .nodes = nodes};
    char err[256];

    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), 0);
}

/* request() with a usage report of peak. */
static struct activation_request request_usage(const uint8_t priv[32], const char *key,
                                               const char *mid, uint32_t peak)
{
    struct activation_request req = request(priv, key, mid, "n", false), parsed;
    char *json = NULL, err[256];

    req.has_usage = true;
    req.usage_peak = peak;
    assert_int_equal(activation_request_build(&req, priv, &json), 0);
    assert_int_equal(activation_request_parse(json, strlen(json), &parsed, err, sizeof(err)), 0);
    free(json);
    assert_true(parsed.has_usage);
    return parsed;
}

static struct node_record get_node(struct fixture *f, const char *key,
                                   const struct activation_request *req)
{
    struct node_record node;

    assert_int_equal(ledger_node_get(f->ledger, key, req->installation_id, &node), 0);
    return node;
}

static void issue__cluster__kind_and_node_limit_checked(void **state)
{
    struct fixture *f = *state;
    struct issue_order order = {.customer = "C", .seats = 10, .years = 1};
    char key[KEYSTRING_BUFSIZE], err[256];
    struct key_record rec;
    size_t rows = audit_rows(f);

    order.kind = LICENSE_KIND_CLUSTER;
    order.nodes = 1;
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "expected 2..64"));
    order.nodes = 65;
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    order.kind = LICENSE_KIND_STANDARD;
    order.nodes = 2;
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cluster keys only"));
    order.kind = LICENSE_KIND_FAILOVER;
    order.nodes = 0;
    assert_int_equal(authority_issue(f->ledger, &order, T0, WHO, key, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "failover-key KEY"));
    assert_int_equal(audit_rows(f), rows);
    issue_cluster(f, 10, 64, key);
    rec = get(f, key);
    assert_int_equal(rec.kind, LICENSE_KIND_CLUSTER);
    assert_int_equal(rec.nodes, 64);
    assert_int_equal(rec.seats, 10);
    assert_string_equal(rec.primary_key, "");
    /* standard keys have no node limit */
    issue(f, 10, false, NULL, key);
    assert_int_equal(get(f, key).nodes, 0);
}

static void activate__cluster_two_nodes__third_refused_nothing_written(void **state)
{
    struct fixture *f = *state;
    struct activation_request a, b, c;
    struct activation_result res;
    char key[KEYSTRING_BUFSIZE], what_row[32];
    uint8_t inst_c[32], pub[32];
    struct node_record *nodes;
    struct license lic;
    const char *what;
    size_t rows, n;

    assert_int_equal(crypto_ed25519_keygen(inst_c, pub), 0);
    issue_cluster(f, 10, 2, key);
    a = request(f->inst_a, key, "a", "n", false);
    b = request(f->inst_b, key, "b", "n", false);
    c = request(inst_c, key, "c", "n", false);
    assert_int_equal(activate(f, &a, T0, &lic, &what), ACTIVATION_OK);
    assert_string_equal(what, "activated");
    assert_int_equal(lic.kind, LICENSE_KIND_CLUSTER);
    assert_int_equal(lic.seats, 10);
    assert_string_equal(lic.primary_key, "");
    assert_string_equal(lic.installation_id, a.installation_id);
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "activate");
    assert_int_equal(get(f, key).state, KEY_ACTIVATED);
    assert_int_equal(get(f, key).activated, T0);
    assert_string_equal(get(f, key).installation_id, "");
    assert_int_equal(activate(f, &b, T0 + DAY, &lic, &what), ACTIVATION_OK);
    assert_string_equal(what, "activated");
    assert_int_equal(lic.seats, 10);
    assert_string_equal(lic.installation_id, b.installation_id);
    assert_int_equal(get(f, key).activated, T0); /* the key's first node */
    /* the third installation: refused, nothing written */
    rows = audit_rows(f);
    assert_int_equal(
        authority_activate(f->ledger, f->issuer_priv, &c, &online, T0 + DAY, WHO, &res), 0);
    assert_int_equal(res.outcome, ACTIVATION_NODE_LIMIT);
    assert_string_equal(res.error, "cluster key activated on 2 nodes already (its limit): ask the "
                                   "vendor for more nodes or replace a node");
    assert_string_equal(activation_code(res.outcome), "node-limit");
    assert_int_equal(activation_http_status(res.outcome), 409);
    assert_int_equal(audit_rows(f), rows);
    assert_int_equal(ledger_nodes(f->ledger, key, &nodes, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(nodes[0].installation_id, a.installation_id);
    assert_string_equal(nodes[1].installation_id, b.installation_id);
    free(nodes);
    /* each node renews as its own installation */
    assert_int_equal(activate(f, &a, T0 + 2 * DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    assert_int_equal(activate(f, &b, T0 + 2 * DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    assert_int_equal(audit_rows(f), rows);
}

static void activate__cluster_node_reports_usage__peak_and_time_recorded(void **state)
{
    struct fixture *f = *state;
    struct activation_request a, b;
    char key[KEYSTRING_BUFSIZE];
    struct node_record node;
    uint64_t sum;
    unsigned n;
    size_t rows;

    issue_cluster(f, 10, 2, key);
    a = request_usage(f->inst_a, key, "a", 3);
    assert_int_equal(activate(f, &a, T0, NULL, NULL), ACTIVATION_OK);
    node = get_node(f, key, &a);
    assert_int_equal(node.activated, T0);
    assert_int_equal(node.refreshed, T0);
    assert_int_equal(node.peak, 3);
    assert_int_equal(node.reported, T0);
    /* a renewal without a report keeps the last one, and writes no audit row */
    rows = audit_rows(f);
    b = request(f->inst_a, key, "a", "n", false);
    assert_int_equal(activate(f, &b, T0 + DAY, NULL, NULL), ACTIVATION_OK);
    node = get_node(f, key, &a);
    assert_int_equal(node.refreshed, T0 + DAY);
    assert_int_equal(node.peak, 3);
    assert_int_equal(node.reported, T0);
    a = request_usage(f->inst_a, key, "a", 8);
    assert_int_equal(activate(f, &a, T0 + 2 * DAY, NULL, NULL), ACTIVATION_OK);
    node = get_node(f, key, &a);
    assert_int_equal(node.peak, 8);
    assert_int_equal(node.reported, T0 + 2 * DAY);
    assert_int_equal(audit_rows(f), rows);
    /* the other node: no report yet, then one; together above the seats */
    b = request(f->inst_b, key, "b", "n", false);
    assert_int_equal(activate(f, &b, T0 + 2 * DAY, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(get_node(f, key, &b).reported, 0);
    assert_int_equal(ledger_node_usage(f->ledger, key, &n, &sum), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sum, 8);
    b = request_usage(f->inst_b, key, "b", 4);
    assert_int_equal(activate(f, &b, T0 + 3 * DAY, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(ledger_node_usage(f->ledger, key, &n, &sum), 0);
    assert_int_equal(sum, 12);
    /* a standard key accepts a report and records none */
    issue(f, 10, false, NULL, key);
    a = request_usage(f->inst_a, key, "a", 5);
    assert_int_equal(activate(f, &a, T0, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(ledger_node_usage(f->ledger, key, &n, &sum), 0);
    assert_int_equal(n, 0);
}

static void activate__cluster_node_rebind_and_clone__that_node_only(void **state)
{
    struct fixture *f = *state;
    struct activation_request a, a_moved, b;
    char key[KEYSTRING_BUFSIZE], what_row[32];
    const char *what;

    issue_cluster(f, 20, 3, key);
    a = request(f->inst_a, key, "a", "n", false);
    a_moved = request(f->inst_a, key, "c", "n", false);
    b = request(f->inst_b, key, "b", "n", false);
    assert_int_equal(activate(f, &a, T0, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(activate(f, &b, T0, NULL, NULL), ACTIVATION_OK);
    /* node A on new hardware: re-bound, node B's binding untouched */
    assert_int_equal(activate(f, &a_moved, T0 + DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "re-bound");
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "rebind");
    assert_int_equal(activate(f, &b, T0 + DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    /* node A's old machine comes back: a clone of node A only */
    assert_int_equal(activate(f, &a, T0 + 2 * DAY, NULL, NULL), ACTIVATION_CLONED);
    assert_string_equal(last_audit_what(f, what_row, sizeof(what_row)), "clone");
    assert_int_equal(get_node(f, key, &a).cloned, T0 + 2 * DAY);
    assert_int_equal(get(f, key).cloned, 0);
    assert_int_equal(activate(f, &a_moved, T0 + 3 * DAY, NULL, NULL), ACTIVATION_CLONED);
    assert_int_equal(activate(f, &b, T0 + 3 * DAY, NULL, &what), ACTIVATION_OK);
    assert_string_equal(what, "renewed");
    /* the cloned installation takes no node place of another key either */
    {
        char other[KEYSTRING_BUFSIZE];
        struct activation_request req;

        issue_cluster(f, 10, 2, other);
        req = request(f->inst_a, other, "a", "n", false);
        assert_int_equal(activate(f, &req, T0 + 3 * DAY, NULL, NULL), ACTIVATION_CLONED);
    }
}

static void activate__cluster_node_rebind_limit__per_node(void **state)
{
    struct fixture *f = *state;
    static const char machines[] = "cdef";
    struct activation_request req;
    char key[KEYSTRING_BUFSIZE], mid[2] = "";

    issue_cluster(f, 20, 2, key);
    req = request(f->inst_a, key, "a", "n", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    req = request(f->inst_b, key, "b", "n", false);
    assert_int_equal(activate(f, &req, T0, NULL, NULL), ACTIVATION_OK);
    for (int i = 0; i < AUTHORITY_REBIND_LIMIT; i++) {
        mid[0] = machines[i];
        req = request(f->inst_a, key, mid, "n", false);
        assert_int_equal(activate(f, &req, T0 + (i + 1) * DAY, NULL, NULL), ACTIVATION_OK);
    }
    mid[0] = machines[AUTHORITY_REBIND_LIMIT];
    req = request(f->inst_a, key, mid, "n", false);
    assert_int_equal(activate(f, &req, T0 + 5 * DAY, NULL, NULL), ACTIVATION_REBIND_LIMIT);
    /* node B has spent none of its own */
    req = request(f->inst_b, key, "x", "n", false);
    assert_int_equal(activate(f, &req, T0 + 5 * DAY, NULL, NULL), ACTIVATION_OK);
}

static void split_and_failover__cluster__refused_replace_keeps_kind(void **state)
{
    struct fixture *f = *state;
    char key[KEYSTRING_BUFSIZE], fresh[KEYSTRING_BUFSIZE], parts[2][KEYSTRING_BUFSIZE], err[256];
    const uint32_t seats[] = {10, 10};
    struct activation_request a, b;
    struct key_record rec;
    struct license lic;
    size_t rows;

    issue_cluster(f, 20, 3, key);
    rows = audit_rows(f);
    assert_int_equal(authority_split(f->ledger, key, seats, 2, T0, WHO, parts, err, sizeof(err)),
                     -EPERM);
    assert_string_equal(err, "cannot split a cluster key: its nodes share one pool of 20 seats");
    assert_int_equal(authority_failover_key(f->ledger, key, T0, WHO, fresh, err, sizeof(err)),
                     -EPERM);
    assert_non_null(strstr(err, "cannot issue a failover key for a cluster key"));
    assert_int_equal(audit_rows(f), rows);
    assert_int_equal(get(f, key).state, KEY_ISSUED);
    a = request(f->inst_a, key, "a", "n", false);
    assert_int_equal(activate(f, &a, T0, NULL, NULL), ACTIVATION_OK);
    assert_int_equal(authority_refund(f->ledger, key, T0, WHO, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "(its first node); only a never-activated key"));
    /* replace: the same kind and node limit; the old nodes renew until the sunset */
    assert_int_equal(authority_replace(f->ledger, key, T0 + DAY, WHO, fresh, err, sizeof(err)), 0);
    rec = get(f, fresh);
    assert_int_equal(rec.kind, LICENSE_KIND_CLUSTER);
    assert_int_equal(rec.nodes, 3);
    assert_int_equal(rec.seats, 20);
    assert_int_equal(activate(f, &a, T0 + 2 * DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.sunset, T0 + 8 * DAY);
    assert_int_equal(lic.kind, LICENSE_KIND_CLUSTER);
    b = request(f->inst_b, key, "b", "n", false);
    assert_int_equal(activate(f, &b, T0 + 2 * DAY, NULL, NULL), ACTIVATION_REPLACED);
    assert_int_equal(activate(f, &a, T0 + 8 * DAY, NULL, NULL), ACTIVATION_REPLACED);
    a = request(f->inst_a, fresh, "a", "n", false);
    assert_int_equal(activate(f, &a, T0 + 2 * DAY, &lic, NULL), ACTIVATION_OK);
    assert_int_equal(lic.kind, LICENSE_KIND_CLUSTER);
    assert_int_equal(lic.sunset, 0);
}

/* A ledger of schema 3 as shipped (its tables as migrations 1..3 made
 * them), with an activated standard key, its failover key and a binding. */
static const char ledger_v3[] =
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);"
    "CREATE TABLE keys (key TEXT PRIMARY KEY,"
    "  customer TEXT NOT NULL CHECK (length(customer) BETWEEN 1 AND 128),"
    "  seats INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 1000000),"
    "  kind TEXT NOT NULL CHECK (kind IN ('standard', 'failover')),"
    "  primary_key TEXT REFERENCES keys(key),"
    "  state TEXT NOT NULL CHECK (state IN ('issued', 'activated', 'refunded', 'split',"
    "                                       'replaced')),"
    "  perpetual INTEGER NOT NULL CHECK (perpetual IN (0, 1)), rule TEXT NOT NULL,"
    "  created INTEGER NOT NULL, support_until INTEGER NOT NULL, sunset INTEGER,"
    "  origin TEXT REFERENCES keys(key), replaced_by TEXT REFERENCES keys(key), activated INTEGER,"
    "  installation_id TEXT CHECK (installation_id IS NULL OR length(installation_id) = 32),"
    "  installation_public_key BLOB CHECK (installation_public_key IS NULL OR"
    "                                      length(installation_public_key) = 32),"
    "  CHECK ((kind = 'failover') = (primary_key IS NOT NULL)),"
    "  CHECK ((activated IS NULL) = (installation_id IS NULL)));"
    "CREATE INDEX keys_customer ON keys(customer);"
    "CREATE TABLE bindings (id INTEGER PRIMARY KEY, key TEXT NOT NULL REFERENCES keys(key),"
    "  binding TEXT NOT NULL, active INTEGER NOT NULL CHECK (active IN (0, 1)),"
    "  rebind INTEGER NOT NULL CHECK (rebind IN (0, 1)), created INTEGER NOT NULL,"
    "  retired INTEGER);"
    "CREATE UNIQUE INDEX bindings_one_active ON bindings(key) WHERE active = 1;"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL,"
    "  what TEXT NOT NULL, key TEXT REFERENCES keys(key), before TEXT, after TEXT);"
    "CREATE TABLE nonces (nonce TEXT PRIMARY KEY CHECK (length(nonce) = 32),"
    "  key TEXT NOT NULL, seen INTEGER NOT NULL);"
    "CREATE INDEX nonces_seen ON nonces(seen);"
    "ALTER TABLE keys ADD COLUMN cloned INTEGER;"
    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0);"
    "INSERT INTO keys VALUES ('LG-AAAA-AAAA-AAAA-AAAA', 'Old Corp', 20, 'standard', NULL,"
    "  'activated', 0, 'all', 100, 1795910400, NULL, NULL, NULL, 200,"
    "  '0123456789abcdef0123456789abcdef', zeroblob(32), NULL);"
    "INSERT INTO keys VALUES ('LG-BBBB-BBBB-BBBB-BBBB', 'Old Corp', 20, 'failover',"
    "  'LG-AAAA-AAAA-AAAA-AAAA', 'issued', 0, 'all', 150, 1795910400, NULL, NULL, NULL, NULL,"
    "  NULL, NULL, NULL);"
    "INSERT INTO bindings (key, binding, active, rebind, created) VALUES"
    "  ('LG-AAAA-AAAA-AAAA-AAAA', 'all machine-id=" HEXA "', 1, 0, 200);"
    "INSERT INTO audit (at, who, what, key) VALUES (200, 'x', 'activate', "
    "  'LG-AAAA-AAAA-AAAA-AAAA');"
    "PRAGMA user_version = 3;";

static void ledger__schema_3__migrated_rows_kept_cluster_allowed(void **state)
{
    struct fixture *f = *state;
    char path[128], err[256], binding[LEDGER_BINDING_MAX], key[KEYSTRING_BUFSIZE];
    struct ledger *old;
    struct key_record rec;
    sqlite3 *db;

    ledger_close(f->ledger);
    f->ledger = NULL;
    snprintf(path, sizeof(path), "%s/ledger.sqlite", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, ledger_v3, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ledger_open(f->dir, false, &old, err, sizeof(err)), 0);
    f->ledger = old;
    rec = get(f, "LG-AAAA-AAAA-AAAA-AAAA");
    assert_int_equal(rec.kind, LICENSE_KIND_STANDARD);
    assert_int_equal(rec.state, KEY_ACTIVATED);
    assert_int_equal(rec.activated, 200);
    assert_int_equal(rec.nodes, 0);
    assert_string_equal(rec.installation_id, "0123456789abcdef0123456789abcdef");
    assert_int_equal(ledger_binding_active(f->ledger, rec.key, NULL, binding, sizeof(binding)), 0);
    assert_string_equal(binding, "all machine-id=" HEXA);
    rec = get(f, "LG-BBBB-BBBB-BBBB-BBBB");
    assert_int_equal(rec.kind, LICENSE_KIND_FAILOVER);
    assert_string_equal(rec.primary_key, "LG-AAAA-AAAA-AAAA-AAAA");
    assert_int_equal(audit_rows(f), 1);
    /* the new schema: a cluster key goes in, a standard key still binds once */
    issue_cluster(f, 10, 2, key);
    assert_int_equal(get(f, key).nodes, 2);
    assert_int_equal(
        ledger_binding_set(f->ledger, "LG-AAAA-AAAA-AAAA-AAAA", NULL, "all", 300, true), 0);
    assert_int_equal(
        ledger_binding_active(f->ledger, "LG-AAAA-AAAA-AAAA-AAAA", NULL, binding, sizeof(binding)),
        0);
    assert_string_equal(binding, "all");
}

/* ------------------------------------------------------------ the rules, one row each */

/* The facts of one row: a key (standard, all-but-1, 20 seats, support a year
 * from T0, activated on installation A at machine "ab" unless the row says
 * otherwise) and a request from installation A or B. A machine is two
 * letters: its machine-id's and its NIC's digest byte. */
struct decide_row {
    const char *name;
    bool unknown;             /* no such key */
    enum key_state state;     /* KEY_ACTIVATED unless set; KEY_ISSUED when !bound */
    bool state_set;           /* state is the row's */
    bool fresh;               /* never activated */
    bool failover;            /* a failover key of LG-PRIMARY */
    bool perpetual;           /* old terms */
    const char *rule;         /* NULL: all-but-1 */
    int sunset_days;          /* from T0, 0: none */
    int support_days;         /* from T0, 0: 365 */
    bool cloned;              /* the key was found cloned */
    bool from_b;              /* the request comes from installation B */
    const char *machine;      /* the request's machine, NULL: "ab" */
    const char *active;       /* the bound machine, NULL: "ab" when activated; "" none */
    const char *retired;      /* a machine it was re-bound away from */
    unsigned rebinds;         /* re-bindings in the window */
    bool partner_on_a;        /* its partner is activated on installation A */
    bool installation_cloned; /* A was found cloned under another key */
    bool cluster;             /* a cluster key of 2 nodes: A is its node unless fresh */
    unsigned nodes;           /* a cluster key's nodes */
    bool node_cloned;         /* A's node was found cloned */
    enum activation_step step;
    enum activation_outcome outcome;
    const char *says; /* in the reason or, on success, the binding is this machine's */
};

/* "RULE machine-id=<hex> nic=<hex>": the binding of machine mn, whose
 * digests are 32 bytes of m and of n (as request() makes them). */
static void machine_binding(const char *rule, const char *machine, char *out, size_t outlen)
{
    uint8_t m[32], n[32];
    char mhex[65], nhex[65];

    memset(m, machine[0], sizeof(m));
    memset(n, machine[1], sizeof(n));
    hex_encode(m, sizeof(m), mhex);
    hex_encode(n, sizeof(n), nhex);
    snprintf(out, outlen, "%s machine-id=%s nic=%s", rule, mhex, nhex);
}

static void decide_row_run(const struct fixture *f, const struct decide_row *row)
{
    const char *machine = row->machine != NULL ? row->machine : "ab";
    const char *rule = row->rule != NULL ? row->rule : "all-but-1";
    char mid[2] = {machine[0], '\0'}, nic[2] = {machine[1], '\0'};
    char active[LEDGER_BINDING_MAX] = "", retired[LEDGER_BINDING_MAX], want[LEDGER_BINDING_MAX];
    char *retired_list[1] = {retired};
    struct activation_request req, home;
    struct activation_facts facts;
    struct activation_decision d;
    struct key_record rec;
    struct node_record node;

    req = request(row->from_b ? f->inst_b : f->inst_a, "LG-TEST", mid[0] != '\0' ? mid : NULL, nic,
                  false);
    home = request(f->inst_a, "LG-TEST", "a", "b", false);
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.key, sizeof(rec.key), "LG-TEST");
    snprintf(rec.customer, sizeof(rec.customer), "Example Corp");
    snprintf(rec.rule, sizeof(rec.rule), "%s", rule);
    rec.seats = 20;
    rec.kind = row->failover ? LICENSE_KIND_FAILOVER : LICENSE_KIND_STANDARD;
    if (row->failover)
        snprintf(rec.primary_key, sizeof(rec.primary_key), "LG-PRIMARY");
    rec.perpetual = row->perpetual;
    rec.created = T0 - 30 * DAY;
    rec.support_until = T0 + (row->support_days != 0 ? row->support_days : 365) * DAY;
    rec.sunset = row->sunset_days != 0 ? T0 + row->sunset_days * DAY : 0;
    rec.cloned = row->cloned ? T0 - DAY : 0;
    rec.state = row->state_set ? row->state : row->fresh ? KEY_ISSUED : KEY_ACTIVATED;
    if (rec.state == KEY_REPLACED)
        snprintf(rec.replaced_by, sizeof(rec.replaced_by), "LG-NEW");
    if (row->cluster) {
        rec.kind = LICENSE_KIND_CLUSTER;
        rec.nodes = 2;
        memset(&node, 0, sizeof(node));
        memcpy(node.installation_id, home.installation_id, sizeof(node.installation_id));
        memcpy(node.installation_public_key, home.installation_public_key, 32);
        node.activated = node.refreshed = T0 - 20 * DAY;
        node.cloned = row->node_cloned ? T0 - DAY : 0;
    }
    if (!row->fresh) {
        rec.activated = T0 - 20 * DAY;
        if (!row->cluster) {
            memcpy(rec.installation_id, home.installation_id, sizeof(rec.installation_id));
            memcpy(rec.installation_public_key, home.installation_public_key, 32);
        }
        if (row->active == NULL || row->active[0] != '\0') /* "" is no active binding */
            machine_binding(rule, row->active != NULL ? row->active : "ab", active, sizeof(active));
    }
    if (row->retired != NULL)
        machine_binding(rule, row->retired, retired, sizeof(retired));
    memset(&facts, 0, sizeof(facts));
    facts.rec = row->unknown ? NULL : &rec;
    facts.active_binding = active;
    facts.retired_bindings = retired_list;
    facts.nretired = row->retired != NULL ? 1 : 0;
    facts.rebinds = row->rebinds;
    facts.partner_key = row->failover || row->partner_on_a ? "LG-PARTNER" : "";
    facts.partner_installation = row->partner_on_a ? home.installation_id : "";
    facts.cloned_key = row->installation_cloned ? "LG-OTHER" : "";
    facts.cloned_at = row->installation_cloned ? T0 - DAY : 0;
    /* a cluster key: A's node, when A activated it and A asks; B is always a new one */
    facts.node = row->cluster && !row->fresh && !row->from_b ? &node : NULL;
    facts.nodes = row->nodes;
    if (row->cluster && (row->from_b || row->fresh)) {
        active[0] = '\0';
        facts.nretired = 0;
        facts.rebinds = 0;
    }

    authority_decide(&facts, &req, &online, T0, &d);

    if (d.step != row->step || d.outcome != row->outcome)
        fail_msg("%s: step %d outcome %s, expected step %d outcome %s (%s)", row->name, d.step,
                 activation_code(d.outcome), row->step, activation_code(row->outcome), d.error);
    if (row->outcome != ACTIVATION_OK && strstr(d.error, row->says) == NULL)
        fail_msg("%s: '%s' does not say '%s'", row->name, d.error, row->says);
    if (row->outcome == ACTIVATION_OK) {
        machine_binding(rule, row->says, want, sizeof(want));
        if (strcmp(d.binding, want) != 0)
            fail_msg("%s: binding '%s', expected machine %s", row->name, d.binding, row->says);
        assert_string_equal(d.license.key_id, "LG-TEST");
        assert_int_equal(d.license.lease_not_after,
                         rec.perpetual ? 0 : T0 + AUTHORITY_LEASE_DAYS * DAY);
        /* every node's license: the key's kind and all its seats, for its own installation */
        assert_int_equal(d.license.kind, rec.kind);
        assert_int_equal(d.license.seats, 20);
        assert_string_equal(d.license.installation_id, req.installation_id);
    }
}

static void authority_decide__each_rule__its_outcome(void **state)
{
    static const struct decide_row rows[] = {
        {.name = "unknown key",
         .unknown = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_UNKNOWN_KEY,
         .says = "license key unknown"},
        {.name = "unknown state",
         .state = (enum key_state)42,
         .state_set = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_INTERNAL,
         .says = "unknown state"},
        {.name = "first activation",
         .fresh = true,
         .step = ACTIVATION_ACTIVATE,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "refunded",
         .state = KEY_REFUNDED,
         .state_set = true,
         .fresh = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REFUNDED,
         .says = "refunded"},
        {.name = "split",
         .state = KEY_SPLIT,
         .state_set = true,
         .fresh = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_SPLIT,
         .says = "split into other keys"},
        {.name = "replaced, first activation before the sunset",
         .state = KEY_REPLACED,
         .state_set = true,
         .fresh = true,
         .sunset_days = 7,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REPLACED,
         .says = "replaced by LG-NEW (sunset 2026-12-06"},
        {.name = "replaced, renewed before the sunset",
         .state = KEY_REPLACED,
         .state_set = true,
         .sunset_days = 7,
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "replaced, after the sunset",
         .state = KEY_REPLACED,
         .state_set = true,
         .sunset_days = -1,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REPLACED,
         .says = "replaced by LG-NEW (sunset 2026-11-28"},
        {.name = "replaced, machine changed before the sunset",
         .state = KEY_REPLACED,
         .state_set = true,
         .sunset_days = 7,
         .machine = "cd",
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REPLACED,
         .says = "the machine changed, activate the new key"},
        {.name = "retired failover key",
         .failover = true,
         .fresh = true,
         .sunset_days = 7,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_RETIRED,
         .says = "retired with its primary key LG-PRIMARY"},
        {.name = "already activated elsewhere",
         .from_b = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_ALREADY_ACTIVATED,
         .says = "key already activated on another"},
        {.name = "cloned key",
         .cloned = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_CLONED,
         .says = "found on two machines (a copied disk, 2026-11-28"},
        {.name = "support over, first activation",
         .fresh = true,
         .support_days = -1,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_SUPPORT_OVER,
         .says = "extend it first"},
        {.name = "support over, renewal",
         .support_days = -1,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_SUPPORT_OVER,
         .says = "renewed only during the support term"},
        {.name = "failover key on its primary's installation",
         .failover = true,
         .fresh = true,
         .partner_on_a = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_FAILOVER_ON_PRIMARY,
         .says = "runs the primary key LG-PARTNER"},
        {.name = "primary on its failover key's installation",
         .fresh = true,
         .partner_on_a = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_FAILOVER_ON_PRIMARY,
         .says = "runs the key's failover key LG-PARTNER"},
        {.name = "first activation on a cloned installation",
         .fresh = true,
         .installation_cloned = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_CLONED,
         .says = "(key LG-OTHER, 2026-11-28"},
        {.name = "renew, same binding",
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "renew, one component changed under all-but-1",
         .machine = "ac",
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "rebind, the machine changed",
         .machine = "cd",
         .step = ACTIVATION_REBIND,
         .outcome = ACTIVATION_OK,
         .says = "cd"},
        {.name = "rebind, no active binding",
         .active = "",
         .step = ACTIVATION_REBIND,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "rebind limit",
         .machine = "cd",
         .rebinds = AUTHORITY_REBIND_LIMIT,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REBIND_LIMIT,
         .says = "re-bound 3 times in 30 days"},
        {.name = "perpetual, no rebind",
         .perpetual = true,
         .machine = "cd",
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_PERPETUAL_NO_REBIND,
         .says = "perpetual licenses are never re-bound"},
        {.name = "perpetual, renewed",
         .perpetual = true,
         .support_days = -1,
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "clone: back to a fingerprint it was re-bound away from",
         .active = "cd",
         .retired = "ab",
         .step = ACTIVATION_CLONE,
         .outcome = ACTIVATION_CLONED,
         .says = "found on two machines (a copied disk, 2026-11-29"},
        {.name = "cluster: the first node",
         .cluster = true,
         .fresh = true,
         .step = ACTIVATION_ACTIVATE,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "cluster: another installation takes the second node place",
         .cluster = true,
         .from_b = true,
         .machine = "cd",
         .nodes = 1,
         .step = ACTIVATION_ACTIVATE,
         .outcome = ACTIVATION_OK,
         .says = "cd"},
        {.name = "cluster: one installation more than its nodes",
         .cluster = true,
         .from_b = true,
         .nodes = 2,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_NODE_LIMIT,
         .says = "cluster key activated on 2 nodes already (its limit): ask the vendor for more "
                 "nodes or replace a node"},
        {.name = "cluster: a node renewed at the limit",
         .cluster = true,
         .nodes = 2,
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "cluster: a node re-bound on changed hardware",
         .cluster = true,
         .nodes = 2,
         .machine = "cd",
         .step = ACTIVATION_REBIND,
         .outcome = ACTIVATION_OK,
         .says = "cd"},
        {.name = "cluster: a node's re-binding limit",
         .cluster = true,
         .nodes = 2,
         .machine = "cd",
         .rebinds = AUTHORITY_REBIND_LIMIT,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REBIND_LIMIT,
         .says = "re-bound 3 times in 30 days"},
        {.name = "cluster: a node back to a fingerprint it was re-bound away from",
         .cluster = true,
         .nodes = 2,
         .active = "cd",
         .retired = "ab",
         .step = ACTIVATION_CLONE,
         .outcome = ACTIVATION_CLONED,
         .says = "found on two machines (a copied disk, 2026-11-29"},
        {.name = "cluster: a node found cloned",
         .cluster = true,
         .nodes = 2,
         .node_cloned = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_CLONED,
         .says = "found on two machines (a copied disk, 2026-11-28"},
        {.name = "cluster: a node found cloned leaves another installation be",
         .cluster = true,
         .node_cloned = true,
         .from_b = true,
         .nodes = 1,
         .step = ACTIVATION_ACTIVATE,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "cluster: a new node on an installation found cloned",
         .cluster = true,
         .fresh = true,
         .installation_cloned = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_CLONED,
         .says = "(key LG-OTHER, 2026-11-28"},
        {.name = "cluster: support over, a node's renewal",
         .cluster = true,
         .nodes = 1,
         .support_days = -1,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_SUPPORT_OVER,
         .says = "renewed only during the support term"},
        {.name = "cluster: replaced, a node renewed before the sunset",
         .cluster = true,
         .nodes = 2,
         .state = KEY_REPLACED,
         .state_set = true,
         .sunset_days = 7,
         .step = ACTIVATION_RENEW,
         .outcome = ACTIVATION_OK,
         .says = "ab"},
        {.name = "cluster: replaced, a new node before the sunset",
         .cluster = true,
         .nodes = 1,
         .from_b = true,
         .state = KEY_REPLACED,
         .state_set = true,
         .sunset_days = 7,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REPLACED,
         .says = "replaced by LG-NEW (sunset 2026-12-06"},
        {.name = "cluster: refunded",
         .cluster = true,
         .fresh = true,
         .state = KEY_REFUNDED,
         .state_set = true,
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_REFUNDED,
         .says = "refunded"},
        {.name = "rule cannot bind the machine",
         .fresh = true,
         .rule = "machine-id-only",
         .machine = "\0b",
         .step = ACTIVATION_REFUSE,
         .outcome = ACTIVATION_BAD_REQUEST,
         .says = "cannot bind under rule 'machine-id-only'"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        decide_row_run(*state, &rows[i]);
}

static void ledger__missing__enoent(void **state)
{
    struct ledger *l;
    char err[256];

    (void)state;
    assert_int_equal(ledger_open("/nonexistent-licgate", false, &l, err, sizeof(err)), -ENOENT);
    assert_null(l);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(issue__nine_seats__refused_nothing_written),
        T(issue__ten_seats__issued_one_year_audited),
        T(issue__bad_rule_or_years__invalid),
        T(extend__later__from_support_end_not_now),
        T(extend__unknown_or_refunded__refused),
        T(split__never_activated__parts_issued_original_split),
        T(split__rule_broken__refused_nothing_written),
        T(split__activated__refused),
        T(split__twice__refused),
        T(refund__never_activated__refunded),
        T(refund__activated__refused),
        T(replace__within_support__new_key_old_sunset_week),
        T(replace__support_over__refused),
        T(replace__twice__refused),
        T(failover_key__standard__free_key_same_seats),
        T(failover_key__primary_replaced__retired_with_its_sunset),
        T(failover_key__primary_refunded__retired_now),
        T(activate__failover_on_primary_installation__refused_both_ways),
        T(activate__fingerprint_returns__clone_marked_no_more_leases),
        T(activate__offline__lease_to_support_end_or_as_asked),
        T(activate__first__license_bound_leased_audited),
        T(activate__lowercase_key__same_key),
        T(activate__other_installation__already_activated),
        T(activate__same_installation__renewed_nothing_written),
        T(activate__one_nic_changed_all_but_1__renewed_same_binding),
        T(activate__changed_fingerprint__rebound_three_times_per_30_days),
        T(activate__support_over__no_rebind_no_renewal),
        T(activate__perpetual__no_lease_never_rebinds),
        T(activate__states__refusals),
        T(activate__machine_id_only_without_machine_id__bad_request_nothing_written),
        T(ledger__reopen__schema_current_and_newer_refused),
        T(accept_request__windows_and_replays),
        T(authority_decide__each_rule__its_outcome),
        T(issue__cluster__kind_and_node_limit_checked),
        T(activate__cluster_two_nodes__third_refused_nothing_written),
        T(activate__cluster_node_reports_usage__peak_and_time_recorded),
        T(activate__cluster_node_rebind_and_clone__that_node_only),
        T(activate__cluster_node_rebind_limit__per_node),
        T(split_and_failover__cluster__refused_replace_keeps_kind),
        T(ledger__schema_3__migrated_rows_kept_cluster_allowed),
        cmocka_unit_test(ledger__missing__enoent),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
