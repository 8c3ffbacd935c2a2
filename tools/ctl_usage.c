/* licgatectl usage; see ctl_usage.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_render.h"
#include "ctl_usage.h"
#include "errbuf.h"
#include "license.h"
#include "pool.h"
#include "text.h"

#define NOW_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

#define BLOCK      "\xe2\x96\x88" /* U+2588 FULL BLOCK */
#define MARK       "\xe2\x94\x82" /* U+2502: the limit */
#define MARK_REACH "\xe2\x94\x83" /* U+2503: the limit, with the peak at or past it */

/* "date" must name the UTC day that starts at start. */
static int check_date(const char *date, int64_t start, const char *prefix, char *err, size_t errlen)
{
    char stamp[32];
    int64_t midnight;

    if (strlen(date) != 10 || snprintf(stamp, sizeof(stamp), "%sT00:00:00Z", date) != 20 ||
        license_parse_time(stamp, 20, &midnight) != 0) {
        char clean[48];

        text_clean(date, strlen(date), clean, sizeof(clean), 0);
        return errbuf_fail(err, errlen, -EBADMSG, "field '%sdate' is '%s', not YYYY-MM-DD", prefix,
                           clean);
    }
    if (midnight != start)
        return errbuf_fail(err, errlen, -EBADMSG,
                           "field '%sstart' is %" PRId64 ", not the midnight of %s (%" PRId64 ")",
                           prefix, start, date, midnight);
    return 0;
}

static int parse_day(json_object *o, const char *prefix, struct ctl_usage_day *d, char *err,
                     size_t errlen)
{
    const char *date;
    int rc;

    if ((rc = ctl_field_string(o, prefix, "date", false, &date, err, errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "start", 0, NOW_MAX, &d->start, NULL, err, errlen)) < 0 ||
        (rc = check_date(date, d->start, prefix, err, errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "hours", 1, 24, &d->hours, NULL, err, errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "peak", 0, SEAT_POOL_CAPACITY_MAX, &d->peak, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "limit", 0, CTL_USAGE_LIMIT_MAX, &d->limit, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "hours_at_limit", 0, d->hours, &d->hours_at_limit, NULL, err,
                            errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "admissions", 0, CTL_USAGE_COUNT_MAX, &d->admissions, NULL,
                            err, errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "refused_limit", 0, CTL_USAGE_COUNT_MAX, &d->refused_limit,
                            NULL, err, errlen)) < 0 ||
        (rc = ctl_field_int(o, prefix, "refused_capacity", 0, CTL_USAGE_COUNT_MAX,
                            &d->refused_capacity, NULL, err, errlen)) < 0 ||
        (rc = ctl_field_bool(o, prefix, "evaluation", &d->evaluation, NULL, err, errlen)) < 0 ||
        (rc = ctl_field_bool(o, prefix, "changed", &d->changed, NULL, err, errlen)) < 0)
        return rc;
    memcpy(d->date, date, sizeof(d->date)); /* check_date: exactly 10 bytes and the NUL */
    return 0;
}

/* A day must come after the one before it and lie within the days asked. */
static int check_day_order(const struct ctl_usage *u, size_t i, const char *prefix, char *err,
                           size_t errlen)
{
    int64_t today = u->now - u->now % CTL_USAGE_DAY_SECONDS;
    int64_t first = today - (u->days_asked - 1) * CTL_USAGE_DAY_SECONDS;
    const struct ctl_usage_day *d = &u->days[i];

    if (d->start > today)
        return errbuf_fail(err, errlen, -EBADMSG, "field '%sdate' is %s, after now", prefix,
                           d->date);
    if (d->start < first)
        return errbuf_fail(err, errlen, -EBADMSG,
                           "field '%sdate' is %s, before the %" PRId64 " days asked", prefix,
                           d->date, u->days_asked);
    if (i > 0 && d->start <= u->days[i - 1].start)
        return errbuf_fail(err, errlen, -EBADMSG, "field '%sdate' is %s, not after %s", prefix,
                           d->date, u->days[i - 1].date);
    return 0;
}

static int parse_days(json_object *resp, struct ctl_usage *u, char *err, size_t errlen)
{
    json_object *days, *o;
    char prefix[32];
    size_t n;
    int rc;

    if ((rc = ctl_field_member(resp, "", "days", json_type_array, false, &days, err, errlen)) < 0)
        return rc;
    n = json_object_array_length(days);
    if (n > (size_t)u->days_asked)
        return errbuf_fail(err, errlen, -EBADMSG, "field 'days' has %zu days, %" PRId64 " asked", n,
                           u->days_asked);
    for (size_t i = 0; i < n; i++) {
        if ((rc = ctl_field_element(days, "days", i, &o, prefix, sizeof(prefix), err, errlen)) <
                0 ||
            (rc = parse_day(o, prefix, &u->days[i], err, errlen)) < 0 ||
            (rc = check_day_order(u, i, prefix, err, errlen)) < 0)
            return rc;
        u->ndays = i + 1;
    }
    return 0;
}

int ctl_usage_parse(json_object *resp, int64_t days_asked, struct ctl_usage *u, char *err,
                    size_t errlen)
{
    const char *pool;
    int rc;

    memset(u, 0, sizeof(*u));
    errbuf_set(err, errlen, "%s", "");
    if (days_asked < 1 || days_asked > CTL_USAGE_DAYS_MAX)
        return errbuf_fail(err, errlen, -EINVAL, "%" PRId64 " days asked, not 1..%d", days_asked,
                           CTL_USAGE_DAYS_MAX);
    if (!resp || !json_object_is_type(resp, json_type_object))
        return errbuf_fail(err, errlen, -EBADMSG, "not a JSON object");
    u->days_asked = days_asked;
    if ((rc = ctl_field_string(resp, "", "pool", false, &pool, err, errlen)) < 0 ||
        (rc = ctl_field_int(resp, "", "now", 1, NOW_MAX, &u->now, NULL, err, errlen)) < 0 ||
        (rc = parse_days(resp, u, err, errlen)) < 0) {
        memset(u, 0, sizeof(*u));
        return rc;
    }
    text_clean(pool, strlen(pool), u->pool, sizeof(u->pool), 0);
    return 0;
}

void ctl_usage_summarize(const struct ctl_usage *u, struct ctl_usage_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->ndays = u->ndays;
    for (size_t i = 0; i < u->ndays; i++) {
        const struct ctl_usage_day *d = &u->days[i];
        int64_t refused = d->refused_limit + d->refused_capacity;

        if (i == 0 || d->peak >= s->peak) {
            s->peak = d->peak;
            s->peak_day = i;
        }
        if (d->limit > s->max_limit)
            s->max_limit = d->limit;
        s->last_limit = d->limit;
        s->days_at_limit += d->hours_at_limit > 0;
        s->days_refused += refused > 0;
        s->days_evaluation += d->evaluation;
        s->admitted += d->admissions;
        s->refused += refused;
        s->refused_capacity += d->refused_capacity;
    }
}

/* ------------------------------------------------------------------ the verdict */

/* Appends to buf[0..len) what fits, always NUL-terminated. */
static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strnlen(buf, len);
    va_list ap;

    if (len - used <= 1)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static const char *plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void verdict_peak(const struct ctl_usage *u, const struct ctl_usage_summary *s, char *buf,
                         size_t len)
{
    const struct ctl_usage_day *p = &u->days[s->peak_day];

    if (s->peak == 0 && s->ndays == 1)
        append(buf, len, "no session on the one day recorded (limit %" PRId64 " %s)", s->last_limit,
               plural(s->last_limit, "seat", "seats"));
    else if (s->peak == 0)
        append(buf, len, "no session on any of the %zu days recorded (limit %" PRId64 " %s)",
               s->ndays, s->last_limit, plural(s->last_limit, "seat", "seats"));
    else
        append(buf, len, "peak %" PRId64 " of %" PRId64 " %s on %s", s->peak, p->limit,
               plural(p->limit, "seat", "seats"), p->date);
    if (s->peak > 0 && s->last_limit != p->limit)
        append(buf, len, "; the limit is now %" PRId64 " %s", s->last_limit,
               plural(s->last_limit, "seat", "seats"));
}

/* Nothing to say when nobody connected and so nothing could reach the limit. */
static void verdict_limit(const struct ctl_usage_summary *s, char *buf, size_t len)
{
    if (s->peak == 0 && s->days_at_limit == 0)
        return;
    if (s->ndays == 1)
        append(buf, len, "; the limit was %s on the one day recorded",
               s->days_at_limit ? "reached" : "not reached");
    else if (s->days_at_limit == 0)
        append(buf, len, "; the limit was never reached in %zu days recorded", s->ndays);
    else
        append(buf, len, "; the limit was reached on %zu of %zu days recorded", s->days_at_limit,
               s->ndays);
}

static void verdict_refused(const struct ctl_usage_summary *s, char *buf, size_t len)
{
    if (s->refused == 0) {
        append(buf, len, "; nobody was refused");
        return;
    }
    append(buf, len, "; %" PRId64 " refused on %zu %s", s->refused, s->days_refused,
           plural((int64_t)s->days_refused, "day", "days"));
    if (s->refused_capacity == s->refused)
        append(buf, len, " (all at the pool's capacity, not the limit)");
    else if (s->refused_capacity > 0)
        append(buf, len, " (%" PRId64 " at the pool's capacity)", s->refused_capacity);
}

void ctl_usage_verdict(const struct ctl_usage *u, char *buf, size_t len)
{
    struct ctl_usage_summary s;

    if (len == 0)
        return;
    buf[0] = '\0';
    if (u->ndays == 0) {
        if (u->days_asked <= 1)
            append(buf, len, "nothing recorded today");
        else
            append(buf, len, "nothing recorded in the last %" PRId64 " days", u->days_asked);
        return;
    }
    ctl_usage_summarize(u, &s);
    verdict_peak(u, &s, buf, len);
    verdict_limit(&s, buf, len);
    verdict_refused(&s, buf, len);
    if (s.days_evaluation > 0 && s.ndays == 1)
        append(buf, len, "; evaluation mode on the one day recorded");
    else if (s.days_evaluation == s.ndays)
        append(buf, len, "; evaluation mode on every day recorded");
    else if (s.days_evaluation > 0)
        append(buf, len, "; evaluation mode on %zu of %zu days", s.days_evaluation, s.ndays);
}

/* ------------------------------------------------------------------ the table */

/* Cells of a bar CTL_USAGE_BAR_CELLS wide showing n of scale seats: a
 * non-zero n shows at least one. */
static int64_t bar_cells(int64_t n, int64_t scale)
{
    int64_t cells = (n * CTL_USAGE_BAR_CELLS + scale / 2) / scale;

    if (n > 0 && cells == 0)
        cells = 1;
    return cells > CTL_USAGE_BAR_CELLS ? CTL_USAGE_BAR_CELLS : cells;
}

void ctl_usage_bar(const struct ctl_usage_day *d, int64_t scale, char *buf, size_t len)
{
    int64_t filled, mark, end;
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    if (scale < 1)
        scale = 1;
    filled = bar_cells(d->peak, scale);
    mark = d->limit > 0 ? bar_cells(d->limit, scale) - 1 : -1;
    end = filled > mark + 1 ? filled : mark + 1;
    for (int64_t i = 0; i < end; i++) {
        const char *cell = i == mark ? (i < filled ? MARK_REACH : MARK) : i < filled ? BLOCK : " ";
        size_t n = strlen(cell);

        if (len - used <= n)
            break;
        memcpy(buf + used, cell, n + 1);
        used += n;
    }
}

static void day_note(const struct ctl_usage_day *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", d->evaluation ? "evaluation" : "",
             d->evaluation && d->changed ? ", " : "", d->changed ? "license changed" : "");
}

static int add_day(struct ctl_table *t, const struct ctl_usage_day *d, bool bars, int64_t scale)
{
    char peak[24], limit[24], at[24], admitted[24], refused[24], note[48];
    char bar[CTL_USAGE_BAR_CELLS * 3 + 1];

    snprintf(peak, sizeof(peak), "%" PRId64, d->peak);
    snprintf(limit, sizeof(limit), "%" PRId64, d->limit);
    snprintf(at, sizeof(at), "%" PRId64 "/%" PRId64 " h", d->hours_at_limit, d->hours);
    snprintf(admitted, sizeof(admitted), "%" PRId64, d->admissions);
    snprintf(refused, sizeof(refused), "%" PRId64, d->refused_limit + d->refused_capacity);
    day_note(d, note, sizeof(note));
    if (!bars)
        return ctl_table_add(
            t, (const char *const[]){d->date, peak, limit, at, admitted, refused, note});
    ctl_usage_bar(d, scale, bar, sizeof(bar));
    return ctl_table_add(
        t, (const char *const[]){d->date, peak, limit, at, admitted, refused, bar, note});
}

static int render_table(const struct ctl_usage *u, bool bars, FILE *out)
{
    static const char *const plain[] = {"DATE",     "PEAK",    "LIMIT", "AT LIMIT",
                                        "ADMITTED", "REFUSED", "NOTE"};
    static const char *const barred[] = {"DATE",     "PEAK",    "LIMIT", "AT LIMIT",
                                         "ADMITTED", "REFUSED", "USE",   "NOTE"};
    struct ctl_table t = {.ncols = bars ? 8 : 7, .headers = bars ? barred : plain};
    struct ctl_usage_summary s;
    int64_t scale;
    int rc = 0;

    ctl_usage_summarize(u, &s);
    scale = s.max_limit > s.peak ? s.max_limit : s.peak;
    for (size_t i = 0; i < u->ndays && rc == 0; i++)
        rc = add_day(&t, &u->days[i], bars, scale);
    if (rc == 0)
        rc = ctl_table_print(&t, out);
    ctl_table_free(&t);
    return rc;
}

int ctl_usage_render(const struct ctl_usage *u, bool bars, FILE *out)
{
    char verdict[CTL_USAGE_VERDICT_MAX], *text = NULL;
    size_t len = 0;
    FILE *mem;
    int rc = 0;

    /* Into memory first, so that a failure leaves out untouched. */
    if (!(mem = open_memstream(&text, &len)))
        return -ENOMEM;
    if (u->ndays > 0 && (rc = render_table(u, bars, mem)) == 0)
        fputc('\n', mem);
    ctl_usage_verdict(u, verdict, sizeof(verdict));
    fprintf(mem, "%s\n", verdict);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc == 0)
        fwrite(text, 1, len, out);
    free(text);
    return rc;
}
