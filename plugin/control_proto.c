#include "control_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "license.h"
#include "text.h"
#include "usage.h"

static const char *const command_names[] = {
    [CONTROL_STATUS] = "status",
    [CONTROL_SESSIONS] = "sessions",
    [CONTROL_LICENSES] = "licenses",
    [CONTROL_RELOAD] = "reload",
    [CONTROL_METRICS] = "metrics",
    [CONTROL_VERSION] = "version",
    [CONTROL_CLUSTER_GRANT] = "cluster-grant",
    [CONTROL_USAGE] = "usage",
};

const char *control_command_name(enum control_command cmd)
{
    return command_names[cmd];
}

bool control_command_needs_root(enum control_command cmd)
{
    return cmd == CONTROL_RELOAD || cmd == CONTROL_CLUSTER_GRANT;
}

/* A plain decimal of 1..19 digits, no sign or leading zero, at most max: 0 or -EBADMSG. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EBADMSG;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -EBADMSG;
    *out = v;
    return 0;
}

int control_parse_cluster_grant(const char *buf, size_t len, uint32_t *grant, int64_t *deadline_ms)
{
    static const char word[] = "cluster-grant ";
    const char *nl = memchr(buf, '\n', len), *args, *space;
    size_t n = nl != NULL ? (size_t)(nl - buf) : len;
    uint64_t g, d;

    if (n <= sizeof(word) - 1 || memcmp(buf, word, sizeof(word) - 1) != 0)
        return -EBADMSG;
    args = buf + sizeof(word) - 1;
    n -= sizeof(word) - 1;
    space = memchr(args, ' ', n);
    if (space == NULL ||
        parse_decimal(args, (size_t)(space - args), SEAT_POOL_GRANT_MAX, &g) != 0 ||
        parse_decimal(space + 1, n - (size_t)(space - args) - 1, (UINT64_C(1) << 44) - 1, &d) != 0)
        return -EBADMSG;
    *grant = (uint32_t)g;
    *deadline_ms = (int64_t)d;
    return 0;
}

int control_parse_usage(const char *buf, size_t len, unsigned *days)
{
    static const char word[] = "usage";
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - buf) : len, w = sizeof(word) - 1;
    uint64_t d;

    if (n < w || memcmp(buf, word, w) != 0)
        return -EBADMSG;
    if (n == w) {
        *days = CONTROL_USAGE_DAYS;
        return 0;
    }
    if (buf[w] != ' ' || parse_decimal(buf + w + 1, n - w - 1, USAGE_DAYS_MAX, &d) != 0 || d == 0)
        return -EBADMSG;
    *days = (unsigned)d;
    return 0;
}

int control_parse_request(const char *buf, size_t len, bool eof, enum control_command *cmd,
                          char *err, size_t errlen)
{
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - buf) : len;
    char word[CONTROL_REQUEST_MAX + 1];
    const char *space;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 || c >= 0x7f) {
            errbuf_set(err, errlen, "request contains a control or non-ASCII byte");
            return -EBADMSG;
        }
    }
    if (n > CONTROL_REQUEST_MAX) {
        errbuf_set(err, errlen, "request too long (max %d bytes)", CONTROL_REQUEST_MAX);
        return -EBADMSG;
    }
    if (nl == NULL) {
        if (!eof)
            return -EAGAIN;
        errbuf_set(err, errlen, "request incomplete: no newline before end of input");
        return -EBADMSG;
    }
    if (len - n > 1) {
        errbuf_set(err, errlen, "one request per connection: data after the newline");
        return -EBADMSG;
    }
    if (n == 0) {
        errbuf_set(err, errlen, "empty request");
        return -EBADMSG;
    }
    space = memchr(buf, ' ', n);
    memcpy(word, buf, space != NULL ? (size_t)(space - buf) : n);
    word[space != NULL ? (size_t)(space - buf) : n] = '\0';
    for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++) {
        if (strcmp(word, command_names[i]) != 0)
            continue;
        if (i == CONTROL_CLUSTER_GRANT) {
            uint32_t g;
            int64_t d;

            if (control_parse_cluster_grant(buf, len, &g, &d) != 0) {
                errbuf_set(err, errlen,
                           "cluster-grant takes GRANT (0..%u) and DEADLINE-MS (CLOCK_MONOTONIC)",
                           SEAT_POOL_GRANT_MAX);
                return -EBADMSG;
            }
            *cmd = CONTROL_CLUSTER_GRANT;
            return 0;
        }
        if (i == CONTROL_USAGE) {
            unsigned days;

            if (control_parse_usage(buf, len, &days) != 0) {
                errbuf_set(err, errlen, "usage takes DAYS, 1..%d", USAGE_DAYS_MAX);
                return -EBADMSG;
            }
            *cmd = CONTROL_USAGE;
            return 0;
        }
        if (space != NULL) {
            errbuf_set(err, errlen, "%s takes no arguments", word);
            return -EBADMSG;
        }
        *cmd = (enum control_command)i;
        return 0;
    }
    errbuf_set(err, errlen, "unknown command '%s'", word);
    return -EBADMSG;
}

int64_t control_license_end(const struct license *lic)
{
    int64_t end = INT64_MAX;

    if (!lic->perpetual)
        end = lic->support_until;
    if (lic->lease_not_after != 0 && lic->lease_not_after < end)
        end = lic->lease_not_after;
    if (lic->sunset != 0 && lic->sunset < end)
        end = lic->sunset;
    return end == INT64_MAX ? 0 : end;
}

int64_t control_days_left(const struct license *lic, int64_t now)
{
    int64_t end = control_license_end(lic);

    if (end == 0)
        return -1;
    if (end <= now)
        return 0;
    return (end - now) / 86400;
}

static int warn_end(int64_t end, int64_t now, int64_t window_days, const char *what,
                    const char *hint, char *buf, size_t len)
{
    char when[LICENSE_TIME_BUFSIZE];
    int64_t days;

    if (end == 0 || end <= now || (end - now) / 86400 > window_days)
        return 0;
    days = (end - now) / 86400;
    license_format_time(end, when, sizeof(when));
    snprintf(buf, len, "%s in %lld day%s (%s)%s", what, (long long)days, days == 1 ? "" : "s", when,
             hint);
    return 1;
}

int control_license_warning(const struct license *lic, int64_t now, char *buf, size_t len)
{
    if (lic->sunset != 0 && warn_end(lic->sunset, now, CONTROL_WARN_SUPPORT_DAYS,
                                     "replaced key: sunset", ": install the replacement", buf, len))
        return 1;
    if (!lic->perpetual && warn_end(lic->support_until, now, CONTROL_WARN_SUPPORT_DAYS,
                                    "support ends", ": renew the support term", buf, len))
        return 1;
    if (lic->lease_not_after != 0 && warn_end(lic->lease_not_after, now, CONTROL_WARN_LEASE_DAYS,
                                              "lease ends", ": run licgatectl refresh", buf, len))
        return 1;
    return 0;
}

/* Label values: backslash, double quote and newline escaped (exposition format). */
/* A label value: clean text (text.h: valid UTF-8, no controls), then the exposition format's
 * escapes for backslash and double quote. */
static void put_label(FILE *out, const char *raw)
{
    char *clean = text_clean_dup(raw, 0);

    for (const char *s = clean != NULL ? clean : "?"; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(out, "\\%c", *s);
        else
            fputc(*s, out);
    }
    free(clean);
}

static void put_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Starts a series with its pool label: `name{pool="..."`; the caller adds
 * more labels (",key=\"value\"") and closes it. */
static void put_series(FILE *out, const char *name, const char *pool)
{
    fprintf(out, "%s{pool=\"", name);
    put_label(out, pool);
    fputc('"', out);
}

/* One series with only the pool label. */
static void put_value(FILE *out, const char *name, const char *pool, unsigned long long v)
{
    put_series(out, name, pool);
    fprintf(out, "} %llu\n", v);
}

uint32_t control_over_limit(const struct control_numbers *n)
{
    return n->st->in_use > n->limit ? n->st->in_use - n->limit : 0;
}

/* What this node holds of a cluster license: nothing is written without one. */
static void put_cluster(FILE *out, const char *pool, const struct control_cluster *c)
{
    if (c == NULL || c->seats == 0)
        return;
    put_family(out, "licgate_cluster_seats", "gauge", "Seats of the cluster license.");
    put_value(out, "licgate_cluster_seats", pool, c->seats);
    put_family(out, "licgate_cluster_grant", "gauge",
               "Seats of the cluster this node holds (licgate-agent).");
    put_value(out, "licgate_cluster_grant", pool, c->grant);
    put_family(out, "licgate_cluster_admitting", "gauge",
               "1 while the grant's deadline is ahead: the node may admit on it.");
    put_value(out, "licgate_cluster_admitting", pool, c->usable > 0 ? 1 : 0);
    put_family(out, "licgate_cluster_deadline_seconds", "gauge",
               "Seconds until the grant's deadline (negative: passed; the agent is not renewing).");
    put_series(out, "licgate_cluster_deadline_seconds", pool);
    fprintf(out, "} %.3f\n",
            c->deadline_ms > 0 ? (double)(c->deadline_ms - c->monotonic_ms) / 1000.0 : 0.0);
}

int control_render_metrics(FILE *out, const struct control_numbers *n,
                           const struct license_set *set, int64_t now)
{
    const struct seat_pool_status *st = n->st;
    const char *pool = n->pool;

    put_family(out, "licgate_seats_in_use", "gauge", "Seats held by live sessions.");
    put_value(out, "licgate_seats_in_use", pool, st->in_use);
    put_family(out, "licgate_seats_limit", "gauge", "Seats the licenses allow now.");
    put_value(out, "licgate_seats_limit", pool, n->limit);
    put_family(out, "licgate_seats_over_limit", "gauge",
               "Seats in use above the limit: new connections wait until that many leave.");
    put_value(out, "licgate_seats_over_limit", pool, control_over_limit(n));
    put_family(out, "licgate_pool_capacity", "gauge", "Session slots of the pool.");
    put_value(out, "licgate_pool_capacity", pool, st->capacity);
    put_family(out, "licgate_evaluation_mode", "gauge", "1 when no valid license counts.");
    put_value(out, "licgate_evaluation_mode", pool, n->evaluation ? 1 : 0);
    put_family(out, "licgate_machine_evaluation_seats_in_use", "gauge",
               "The machine's 2 evaluation seats held now, by every pool.");
    put_value(out, "licgate_machine_evaluation_seats_in_use", pool, n->eval_in_use);
    put_family(out, "licgate_admissions_total", "counter", "Sessions admitted.");
    put_value(out, "licgate_admissions_total", pool, st->admissions);
    put_family(out, "licgate_refusals_total", "counter", "Sessions refused, by reason.");
    put_series(out, "licgate_refusals_total", pool);
    fprintf(out, ",reason=\"limit\"} %llu\n", (unsigned long long)st->refusals_limit);
    put_series(out, "licgate_refusals_total", pool);
    fprintf(out, ",reason=\"capacity\"} %llu\n", (unsigned long long)st->refusals_capacity);
    put_family(out, "licgate_releases_total", "counter", "Seats given back.");
    put_value(out, "licgate_releases_total", pool, st->releases);
    put_family(out, "licgate_reclaimed_total", "counter",
               "Seats reclaimed from openvpn processes that died.");
    put_value(out, "licgate_reclaimed_total", pool, st->reclaimed);
    put_family(out, "licgate_seats_peak", "gauge",
               "The most seats in use at once since the pool was made.");
    put_value(out, "licgate_seats_peak", pool, st->peak);
    put_cluster(out, pool, n->cluster);
    put_family(out, "licgate_license_seats", "gauge", "Seats of each license file, by state.");
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];
        if (!e->loaded)
            continue;
        put_series(out, "licgate_license_seats", pool);
        fputs(",key_id=\"", out);
        put_label(out, e->lic.key_id);
        fputs("\",file=\"", out);
        put_label(out, e->file);
        fprintf(out, "\",state=\"%s\"} %u\n", license_entry_state(e), e->lic.seats);
    }
    put_family(out, "licgate_license_days_left", "gauge",
               "Days until a license stops counting (support, lease or sunset).");
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];
        int64_t days;
        if (!e->loaded || (days = control_days_left(&e->lic, now)) < 0)
            continue;
        put_series(out, "licgate_license_days_left", pool);
        fputs(",key_id=\"", out);
        put_label(out, e->lic.key_id);
        fputs("\",file=\"", out);
        put_label(out, e->file);
        fprintf(out, "\"} %lld\n", (long long)days);
    }
    return ferror(out) ? -EIO : 0;
}
