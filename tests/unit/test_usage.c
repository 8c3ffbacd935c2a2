/* The usage record (plugin/usage.c): its file read back as written, hostile files, the hours
 * it merges and the days it adds up. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "usage.h"

#define H   3600
#define DAY 86400
#define T0  1795910400 /* 2026-11-30T00:00:00Z */

static struct usage_hour hour(int64_t at, uint32_t peak, uint32_t limit, uint64_t adm, uint64_t rl,
                              unsigned flags)
{
    return (struct usage_hour){.hour = at,
                               .peak = peak,
                               .limit = limit,
                               .admissions = adm,
                               .refused_limit = rl,
                               .flags = flags};
}

static int parse(const char *text, struct usage_log *log, size_t *skipped)
{
    char err[160];

    return usage_parse(text, strlen(text), log, skipped, err, sizeof(err));
}

static void usage_format__parsed_back__same_rows(void **state)
{
    struct usage_log log = {0}, back = {0};
    struct usage_hour a = hour(T0, 3, 5, 10, 0, 0), b = hour(T0 + H, 5, 5, 7, 4, USAGE_CHANGED);
    size_t len, skipped;
    char *text;

    b.refused_capacity = 2;
    assert_int_equal(usage_add(&log, &a), 0);
    assert_int_equal(usage_add(&log, &b), 0);
    text = usage_format(&log, &len);
    assert_non_null(text);
    assert_string_equal(text, "licgate-usage 1\n1795910400 3 5 10 0 0 -\n1795914000 5 5 7 4 2 c\n");
    assert_int_equal(len, strlen(text));
    assert_int_equal(usage_parse(text, len, &back, &skipped, NULL, 0), 0);
    assert_int_equal(skipped, 0);
    assert_int_equal(back.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(back.rows[i].hour, log.rows[i].hour);
        assert_int_equal(back.rows[i].peak, log.rows[i].peak);
        assert_int_equal(back.rows[i].limit, log.rows[i].limit);
        assert_int_equal(back.rows[i].admissions, log.rows[i].admissions);
        assert_int_equal(back.rows[i].refused_limit, log.rows[i].refused_limit);
        assert_int_equal(back.rows[i].refused_capacity, log.rows[i].refused_capacity);
        assert_int_equal(back.rows[i].flags, log.rows[i].flags);
    }
    free(text);
    usage_free(&log);
    usage_free(&back);
}

/* The base line: how far the rows count a segment's counters, read back; a bad one is
 * skipped like a bad row. */
static void usage_format__base_line__read_back(void **state)
{
    struct usage_log log = {0}, back = {0};
    struct usage_hour a = hour(T0, 1, 2, 3, 0, 0);
    size_t len, skipped;
    char *text;

    usage_add(&log, &a);
    strcpy(log.base.token, "0123456789abcdef0123456789abcdef");
    log.base.admissions = 42;
    log.base.refused_limit = 7;
    log.base.refused_capacity = 1;
    text = usage_format(&log, &len);
    assert_non_null(strstr(text, "\nbase 0123456789abcdef0123456789abcdef 42 7 1\n"));
    assert_int_equal(usage_parse(text, len, &back, &skipped, NULL, 0), 0);
    assert_int_equal(skipped, 0);
    assert_string_equal(back.base.token, log.base.token);
    assert_int_equal(back.base.admissions, 42);
    assert_int_equal(back.base.refused_limit, 7);
    assert_int_equal(back.base.refused_capacity, 1);
    free(text);
    assert_int_equal(parse("licgate-usage 1\nbase 0123456789ABCDEF0123456789abcdef 1 2 3\n"
                           "base 0123 1 2 3\nbase 0123456789abcdef0123456789abcdef 1 2\n",
                           &back, &skipped),
                     0);
    assert_int_equal(skipped, 3);
    assert_string_equal(back.base.token, "");
    usage_free(&log);
    usage_free(&back);
}

/* Not a usage record: refused with a reason, what was loaded stays. */
static void usage_parse__not_a_record__ebadmsg_log_unchanged(void **state)
{
    const char *bad[] = {"", "licgate-usage", "licgate-usage 2\n", "licgate-usage 1x\n",
                         "1795910400 1 1 0 0 0 -\n"};
    struct usage_log log = {0};
    struct usage_hour a = hour(T0, 1, 2, 3, 0, 0);
    size_t skipped;
    char err[160];

    usage_add(&log, &a);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(usage_parse(bad[i], strlen(bad[i]), &log, &skipped, err, sizeof(err)),
                         -EBADMSG);
        assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.rows[0].peak, 1);
    }
    usage_free(&log);
}

/* Bad rows are skipped and counted, the good ones kept: a torn or edited file loses only its
 * bad lines. */
static void usage_parse__bad_rows__skipped_and_counted(void **state)
{
    const char *text = "licgate-usage 1\n"
                       "1795910400 1 2 3 0 0 -\n"
                       "1795910401 1 2 3 0 0 -\n"          /* not on the hour */
                       "1795914000 1 2 3 0 0 x\n"          /* flag */
                       "1795914000 1 2 3 0 0 ee\n"         /* flag twice */
                       "1795914000 -1 2 3 0 0 -\n"         /* sign */
                       "1795914000 01 2 3 0 0 -\n"         /* leading zero */
                       "1795914000 4294967296 2 3 0 0 -\n" /* peak beyond 32 bits */
                       "1795914000 1 2 3 0 0 - extra\n"    /* field too many */
                       "1795914000 1 2 3 0 0\n"            /* field too few */
                       "1795914000  1 2 3 0 0 -\n"         /* empty field */
                       "1795906800 1 2 3 0 0 -\n"          /* before the previous row */
                       "1795914000 9 2 3 0 0 ec\n"
                       "\n"
                       "1795914000 9 2 3 0 0 -\n"                   /* the same hour again */
                       "1795917600 1 2 99999999999999999999 0 0 -"; /* 20 digits, no newline */
    struct usage_log log = {0};
    size_t skipped;

    assert_int_equal(parse(text, &log, &skipped), 0);
    assert_int_equal(log.n, 2);
    assert_int_equal(skipped, 12);
    assert_int_equal(log.rows[1].peak, 9);
    assert_int_equal(log.rows[1].flags, USAGE_EVALUATION | USAGE_CHANGED);
    usage_free(&log);
}

static void usage_parse__too_large__ebadmsg(void **state)
{
    size_t len = USAGE_FILE_MAX + 1, skipped;
    char *text = malloc(len);
    struct usage_log log = {0};

    assert_non_null(text);
    memset(text, '\n', len);
    memcpy(text, "licgate-usage 1\n", 16);
    assert_int_equal(usage_parse(text, len, &log, &skipped, NULL, 0), -EBADMSG);
    assert_int_equal(log.n, 0);
    free(text);
}

/* Intervals of one hour merge (peak and limit raised, counters added); a new hour appends; an
 * older one is ignored; beyond USAGE_HOURS_MAX the oldest goes. */
static void usage_add__hours__merged_appended_bounded(void **state)
{
    struct usage_log log = {0};
    struct usage_hour h;

    h = hour(T0, 3, 5, 2, 1, 0);
    usage_add(&log, &h);
    h = hour(T0, 2, 5, 4, 0, USAGE_CHANGED);
    usage_add(&log, &h);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.rows[0].peak, 3);
    assert_int_equal(log.rows[0].admissions, 6);
    assert_int_equal(log.rows[0].refused_limit, 1);
    assert_int_equal(log.rows[0].flags, USAGE_CHANGED);
    h = hour(T0 - H, 9, 9, 9, 9, 0);
    usage_add(&log, &h);
    h = hour(T0 + 1, 9, 9, 9, 9, 0); /* not on an hour */
    usage_add(&log, &h);
    assert_int_equal(log.n, 1);
    for (int64_t i = 1; i <= USAGE_HOURS_MAX; i++) {
        h = hour(T0 + i * H, (uint32_t)i, 5, 0, 0, 0);
        assert_int_equal(usage_add(&log, &h), 0);
    }
    assert_int_equal(log.n, USAGE_HOURS_MAX);
    assert_int_equal(log.rows[0].hour, T0 + H);
    assert_int_equal(log.rows[USAGE_HOURS_MAX - 1].hour, T0 + (int64_t)USAGE_HOURS_MAX * H);
    usage_free(&log);
}

/* Days add up their hours: the peak and the highest limit, the hours at the limit, the counters
 * and flags; only the days asked for, today included. */
static void usage_days__hours__added_up_by_utc_day(void **state)
{
    struct usage_log log = {0};
    struct usage_day d[4];
    struct usage_hour h;
    size_t n;

    h = hour(T0 - 3 * DAY, 1, 5, 1, 0, 0); /* outside a 3-day window */
    usage_add(&log, &h);
    h = hour(T0 - DAY + 22 * H, 5, 5, 10, 3, 0);
    usage_add(&log, &h);
    h = hour(T0 - DAY + 23 * H, 4, 5, 2, 0, USAGE_CHANGED);
    usage_add(&log, &h);
    h = hour(T0 + 2 * H, 2, 2, 1, 7, USAGE_EVALUATION);
    usage_add(&log, &h);
    n = usage_days(&log, T0 + 3 * H, 3, d, 4);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].start, T0 - DAY);
    assert_int_equal(d[0].hours, 2);
    assert_int_equal(d[0].peak, 5);
    assert_int_equal(d[0].limit, 5);
    assert_int_equal(d[0].hours_at_limit, 1);
    assert_int_equal(d[0].admissions, 12);
    assert_int_equal(d[0].refused_limit, 3);
    assert_int_equal(d[0].flags, USAGE_CHANGED);
    assert_int_equal(d[1].start, T0);
    assert_int_equal(d[1].hours_at_limit, 1);
    assert_int_equal(d[1].flags, USAGE_EVALUATION);
    assert_int_equal(usage_days(&log, T0 + 3 * H, 1, d, 4), 1);
    assert_int_equal(usage_days(&log, T0 + 3 * H, 400, d, 1), 1); /* room for one */
    assert_int_equal(d[0].start, T0 - 3 * DAY);
    usage_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_format__parsed_back__same_rows),
        cmocka_unit_test(usage_format__base_line__read_back),
        cmocka_unit_test(usage_parse__not_a_record__ebadmsg_log_unchanged),
        cmocka_unit_test(usage_parse__bad_rows__skipped_and_counted),
        cmocka_unit_test(usage_parse__too_large__ebadmsg),
        cmocka_unit_test(usage_add__hours__merged_appended_bounded),
        cmocka_unit_test(usage_days__hours__added_up_by_utc_day),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
