/* See usage.h. */
#include "usage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define USAGE_HEADER "licgate-usage 1"
#define HOUR         3600
#define DAY          86400

/* A plain decimal of 1..19 digits (no sign, no leading zero), at most max. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_flags(const char *s, size_t n, unsigned *flags)
{
    *flags = 0;
    if (n == 1 && s[0] == '-')
        return true;
    if (n == 0 || n > 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned f = s[i] == 'e' ? USAGE_EVALUATION : s[i] == 'c' ? USAGE_CHANGED : 0;

        if (f == 0 || (*flags & f) != 0)
            return false;
        *flags |= f;
    }
    return true;
}

/* Splits s[0..n) at single spaces into at most max fields: the count, or max + 1 for more. */
static size_t split(const char *s, size_t n, const char **field, size_t *len, size_t max)
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ' ')
            continue;
        if (k == max)
            return max + 1;
        field[k] = s + start;
        len[k++] = i - start;
        start = i + 1;
    }
    return k;
}

/* One row "HOUR PEAK LIMIT ADMISSIONS REFUSED-LIMIT REFUSED-CAPACITY FLAGS". */
static bool parse_row(const char *s, size_t n, struct usage_hour *h)
{
    const char *field[7];
    size_t len[7];
    uint64_t v[6];

    if (split(s, n, field, len, 7) != 7)
        return false;
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < 6; i++) {
        uint64_t max = i == 0 ? (uint64_t)INT64_MAX : i <= 2 ? UINT32_MAX : USAGE_VALUE_MAX;

        if (!parse_u64(field[i], len[i], max, &v[i]))
            return false;
    }
    if (v[0] % HOUR != 0 || !parse_flags(field[6], len[6], &h->flags))
        return false;
    h->hour = (int64_t)v[0];
    h->peak = (uint32_t)v[1];
    h->limit = (uint32_t)v[2];
    h->admissions = v[3];
    h->refused_limit = v[4];
    h->refused_capacity = v[5];
    return true;
}

/* "base TOKEN ADMISSIONS REFUSED-LIMIT REFUSED-CAPACITY". */
static bool parse_base(const char *s, size_t n, struct usage_base *b)
{
    const char *field[5];
    size_t len[5];
    uint64_t v[3];

    if (split(s, n, field, len, 5) != 5 || len[0] != 4 || memcmp(field[0], "base", 4) != 0 ||
        len[1] != USAGE_TOKEN_HEX)
        return false;
    for (size_t i = 0; i < USAGE_TOKEN_HEX; i++)
        if (!((field[1][i] >= '0' && field[1][i] <= '9') ||
              (field[1][i] >= 'a' && field[1][i] <= 'f')))
            return false;
    for (size_t i = 0; i < 3; i++)
        if (!parse_u64(field[2 + i], len[2 + i], USAGE_VALUE_MAX, &v[i]))
            return false;
    memcpy(b->token, field[1], USAGE_TOKEN_HEX);
    b->token[USAGE_TOKEN_HEX] = '\0';
    b->admissions = v[0];
    b->refused_limit = v[1];
    b->refused_capacity = v[2];
    return true;
}

int usage_parse(const char *text, size_t len, struct usage_log *log, size_t *skipped, char *err,
                size_t errlen)
{
    struct usage_base base;
    size_t hl = sizeof(USAGE_HEADER) - 1, pos, n = 0;
    struct usage_hour *rows;

    *skipped = 0;
    memset(&base, 0, sizeof(base));
    if (len > USAGE_FILE_MAX) {
        errbuf_set(err, errlen, "larger than a usage record can be (%zu bytes)", len);
        return -EBADMSG;
    }
    if (len < hl || memcmp(text, USAGE_HEADER, hl) != 0 || (len > hl && text[hl] != '\n')) {
        errbuf_set(err, errlen, "not a usage record (no '%s' line)", USAGE_HEADER);
        return -EBADMSG;
    }
    rows = malloc(USAGE_HOURS_MAX * sizeof(*rows));
    if (rows == NULL)
        return -ENOMEM;
    for (pos = hl + 1; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        struct usage_hour h;

        if (end > pos && text[pos] == 'b') {
            if (!parse_base(text + pos, end - pos, &base))
                (*skipped)++;
        } else if (end > pos) {
            if (!parse_row(text + pos, end - pos, &h) || (n > 0 && h.hour <= rows[n - 1].hour)) {
                (*skipped)++;
            } else {
                if (n == USAGE_HOURS_MAX) { /* keep the newest */
                    memmove(rows, rows + 1, (n - 1) * sizeof(*rows));
                    n--;
                }
                rows[n++] = h;
            }
        }
        pos = end + 1;
    }
    usage_free(log);
    log->rows = rows;
    log->n = n;
    log->base = base;
    return 0;
}

char *usage_format(const struct usage_log *log, size_t *len)
{
    size_t cap = log->n * 112 + sizeof(USAGE_HEADER) + 2 + 128, used;
    char *text = malloc(cap);

    if (text == NULL)
        return NULL;
    used = (size_t)snprintf(text, cap, "%s\n", USAGE_HEADER);
    for (size_t i = 0; i < log->n; i++) {
        const struct usage_hour *h = &log->rows[i];
        char flags[3] = "-";

        if (h->flags != 0)
            snprintf(flags, sizeof(flags), "%s%s", (h->flags & USAGE_EVALUATION) ? "e" : "",
                     (h->flags & USAGE_CHANGED) ? "c" : "");
        used += (size_t)snprintf(
            text + used, cap - used, "%lld %u %u %llu %llu %llu %s\n", (long long)h->hour, h->peak,
            h->limit, (unsigned long long)h->admissions, (unsigned long long)h->refused_limit,
            (unsigned long long)h->refused_capacity, flags);
    }
    if (log->base.token[0] != '\0')
        used += (size_t)snprintf(text + used, cap - used, "base %s %llu %llu %llu\n",
                                 log->base.token, (unsigned long long)log->base.admissions,
                                 (unsigned long long)log->base.refused_limit,
                                 (unsigned long long)log->base.refused_capacity);
    *len = used;
    return text;
}

static uint64_t add_capped(uint64_t a, uint64_t b)
{
    return a > USAGE_VALUE_MAX - (b > USAGE_VALUE_MAX ? USAGE_VALUE_MAX : b) ? USAGE_VALUE_MAX
                                                                             : a + b;
}

int usage_add(struct usage_log *log, const struct usage_hour *h)
{
    struct usage_hour *last = log->n > 0 ? &log->rows[log->n - 1] : NULL;

    if (h->hour < 0 || h->hour % HOUR != 0 || (last != NULL && h->hour < last->hour))
        return 0;
    if (last != NULL && h->hour == last->hour) {
        if (h->peak > last->peak)
            last->peak = h->peak;
        if (h->limit > last->limit)
            last->limit = h->limit;
        last->admissions = add_capped(last->admissions, h->admissions);
        last->refused_limit = add_capped(last->refused_limit, h->refused_limit);
        last->refused_capacity = add_capped(last->refused_capacity, h->refused_capacity);
        last->flags |= h->flags;
        return 0;
    }
    if (log->rows == NULL) {
        log->rows = malloc(USAGE_HOURS_MAX * sizeof(*log->rows));
        if (log->rows == NULL)
            return -ENOMEM;
    }
    if (log->n == USAGE_HOURS_MAX) {
        memmove(log->rows, log->rows + 1, (log->n - 1) * sizeof(*log->rows));
        log->n--;
    }
    log->rows[log->n++] = *h;
    return 0;
}

size_t usage_days(const struct usage_log *log, int64_t now, unsigned days, struct usage_day *out,
                  size_t max)
{
    int64_t today = now - now % DAY, first;
    size_t n = 0;

    if (days == 0 || max == 0 || now < 0)
        return 0;
    if (days > USAGE_DAYS_MAX)
        days = USAGE_DAYS_MAX;
    first = today - (int64_t)(days - 1) * DAY;
    for (size_t i = 0; i < log->n; i++) {
        const struct usage_hour *h = &log->rows[i];
        int64_t day = h->hour - h->hour % DAY;
        struct usage_day *d;

        if (day < first || day > today)
            continue;
        if (n == 0 || out[n - 1].start != day) {
            if (n == max)
                break;
            memset(&out[n], 0, sizeof(out[n]));
            out[n++].start = day;
        }
        d = &out[n - 1];
        d->hours++;
        if (h->peak > d->peak)
            d->peak = h->peak;
        if (h->limit > d->limit)
            d->limit = h->limit;
        if (h->limit > 0 && h->peak >= h->limit)
            d->hours_at_limit++;
        d->admissions = add_capped(d->admissions, h->admissions);
        d->refused_limit = add_capped(d->refused_limit, h->refused_limit);
        d->refused_capacity = add_capped(d->refused_capacity, h->refused_capacity);
        d->flags |= h->flags;
    }
    return n;
}

void usage_free(struct usage_log *log)
{
    free(log->rows);
    log->rows = NULL;
    log->n = 0;
    memset(&log->base, 0, sizeof(log->base));
}
