#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_usage.h"
#include "license.h"

#define DAY       CTL_USAGE_DAY_SECONDS
#define TODAY     INT64_C(1795996800) /* 2026-11-30T00:00:00Z */
#define NOW       (TODAY + 15 * 3600)
#define FULL_LINE "\xe2\x96\x88" /* U+2588 */

/* A day of the record, as the plugin would send it. */
struct day_spec {
    int64_t start, hours, peak, limit, at_limit, admissions, refused_limit, refused_capacity;
    bool evaluation, changed;
};

static json_object *day_json(const struct day_spec *d)
{
    json_object *o = json_object_new_object();
    char date[LICENSE_TIME_BUFSIZE];

    assert_int_equal(license_format_time(d->start, date, sizeof(date)), 0);
    date[10] = '\0'; /* YYYY-MM-DD */
    json_object_object_add(o, "date", json_object_new_string(date));
    json_object_object_add(o, "start", json_object_new_int64(d->start));
    json_object_object_add(o, "hours", json_object_new_int64(d->hours));
    json_object_object_add(o, "peak", json_object_new_int64(d->peak));
    json_object_object_add(o, "limit", json_object_new_int64(d->limit));
    json_object_object_add(o, "hours_at_limit", json_object_new_int64(d->at_limit));
    json_object_object_add(o, "admissions", json_object_new_int64(d->admissions));
    json_object_object_add(o, "refused_limit", json_object_new_int64(d->refused_limit));
    json_object_object_add(o, "refused_capacity", json_object_new_int64(d->refused_capacity));
    json_object_object_add(o, "evaluation", json_object_new_boolean(d->evaluation));
    json_object_object_add(o, "changed", json_object_new_boolean(d->changed));
    return o;
}

static json_object *answer_json(const char *pool, const struct day_spec *days, size_t n)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();

    json_object_object_add(o, "protocol", json_object_new_int(1));
    json_object_object_add(o, "ok", json_object_new_boolean(true));
    json_object_object_add(o, "pool", json_object_new_string(pool));
    json_object_object_add(o, "now", json_object_new_int64(NOW));
    for (size_t i = 0; i < n; i++)
        json_object_array_add(list, day_json(&days[i]));
    json_object_object_add(o, "days", list);
    return o;
}

/* Three days: one quiet, one at the limit with refusals, today in evaluation mode. */
static const struct day_spec three[] = {
    {TODAY - 2 * DAY, 24, 12, 50, 0, 40, 0, 0, false, false},
    {TODAY - DAY, 24, 50, 50, 3, 90, 7, 2, false, true},
    {TODAY, 15, 2, 2, 1, 5, 4, 0, true, true},
};

static void parse_ok(json_object *resp, int64_t days, struct ctl_usage *u)
{
    char err[256] = "unchanged";

    assert_int_equal(ctl_usage_parse(resp, days, u, err, sizeof(err)), 0);
    assert_string_equal(err, "");
}

/* Parses a copy of three[] with days[index].key replaced by value (removed
 * when value is NULL); asserts -EBADMSG with err_expected and *u emptied. */
static void assert_day_rejected(size_t index, const char *key, json_object *value,
                                const char *err_expected)
{
    json_object *resp = answer_json("default", three, 3), *day;
    struct ctl_usage *u = malloc(sizeof(*u));
    char err[256];

    assert_non_null(u);
    day = json_object_array_get_idx(json_object_object_get(resp, "days"), index);
    if (value)
        json_object_object_add(day, key, value);
    else
        json_object_object_del(day, key);
    assert_int_equal(ctl_usage_parse(resp, 30, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, err_expected);
    assert_int_equal(u->ndays, 0);
    assert_string_equal(u->pool, "");
    json_object_put(resp);
    free(u);
}

static void assert_answer_rejected(const char *key, json_object *value, int64_t days,
                                   const char *err_expected)
{
    json_object *resp = answer_json("default", three, 3);
    struct ctl_usage *u = malloc(sizeof(*u));
    char err[256];

    assert_non_null(u);
    if (key && value)
        json_object_object_add(resp, key, value);
    else if (key)
        json_object_object_del(resp, key);
    assert_int_equal(ctl_usage_parse(resp, days, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, err_expected);
    assert_int_equal(u->ndays, 0);
    json_object_put(resp);
    free(u);
}

/* ------------------------------------------------------------------ parsing */

static void ctl_usage_parse__good_answer__every_field(void **state)
{
    json_object *resp = answer_json("office", three, 3);
    struct ctl_usage *u = malloc(sizeof(*u));

    parse_ok(resp, 30, u);
    assert_string_equal(u->pool, "office");
    assert_int_equal(u->now, NOW);
    assert_int_equal(u->days_asked, 30);
    assert_int_equal(u->ndays, 3);
    assert_string_equal(u->days[0].date, "2026-11-28");
    assert_string_equal(u->days[2].date, "2026-11-30");
    assert_int_equal(u->days[1].start, TODAY - DAY);
    assert_int_equal(u->days[1].peak, 50);
    assert_int_equal(u->days[1].hours_at_limit, 3);
    assert_int_equal(u->days[1].refused_limit, 7);
    assert_int_equal(u->days[1].refused_capacity, 2);
    assert_true(u->days[1].changed);
    assert_false(u->days[1].evaluation);
    assert_int_equal(u->days[2].hours, 15);
    assert_true(u->days[2].evaluation);
    json_object_put(resp);
    free(u);
}

static void ctl_usage_parse__wrong_types__ebadmsg_naming_field(void **state)
{
    json_object *resp = answer_json("default", three, 3);
    struct ctl_usage *u = malloc(sizeof(*u));
    char err[256];

    assert_answer_rejected("pool", json_object_new_int(3), 30,
                           "field 'pool' is an int, not a string");
    assert_answer_rejected("now", json_object_new_string("1796050800"), 30,
                           "field 'now' is a string, not an integer");
    assert_answer_rejected("days", json_object_new_object(), 30,
                           "field 'days' is an object, not an array");
    assert_answer_rejected("now", json_object_new_double(1796050800.5), 30,
                           "field 'now' is a double, not an integer");
    assert_day_rejected(1, "hours", json_object_new_string("24"),
                        "field 'days[1].hours' is a string, not an integer");
    assert_day_rejected(0, "evaluation", json_object_new_int(1),
                        "field 'days[0].evaluation' is an int, not a boolean");
    assert_day_rejected(2, "date", json_object_new_int(20261130),
                        "field 'days[2].date' is an int, not a string");
    assert_day_rejected(0, "peak", json_object_new_boolean(true),
                        "field 'days[0].peak' is a boolean, not an integer");

    json_object_array_put_idx(json_object_object_get(resp, "days"), 1, json_object_new_int(7));
    assert_int_equal(ctl_usage_parse(resp, 30, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "field 'days[1]' is not an object");
    json_object_put(resp);
    assert_int_equal(ctl_usage_parse(NULL, 30, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "not a JSON object");
    free(u);
}

static void ctl_usage_parse__out_of_range__ebadmsg_quoting_value(void **state)
{
    assert_day_rejected(0, "hours", json_object_new_int(25),
                        "field 'days[0].hours' is 25, not 1..24");
    assert_day_rejected(0, "hours", json_object_new_int(0),
                        "field 'days[0].hours' is 0, not 1..24");
    assert_day_rejected(2, "hours_at_limit", json_object_new_int(16),
                        "field 'days[2].hours_at_limit' is 16, not 0..15");
    assert_day_rejected(1, "peak", json_object_new_int(-1),
                        "field 'days[1].peak' is -1, not 0..1000000");
    assert_day_rejected(1, "peak", json_object_new_int(1000001),
                        "field 'days[1].peak' is 1000001, not 0..1000000");
    assert_day_rejected(1, "limit", json_object_new_int64(INT64_C(4294967296)),
                        "field 'days[1].limit' is 4294967296, not 0..4294967295");
    assert_day_rejected(1, "refused_capacity", json_object_new_int64(INT64_MAX),
                        "field 'days[1].refused_capacity' is 9223372036854775807, not "
                        "0..86400000000");
    assert_day_rejected(0, "date", json_object_new_string("2026-02-30"),
                        "field 'days[0].date' is '2026-02-30', not YYYY-MM-DD");
    assert_day_rejected(0, "date", json_object_new_string("2026-11-28\x1b[2J"),
                        "field 'days[0].date' is '2026-11-28?[2J', not YYYY-MM-DD");
    assert_day_rejected(0, "start", json_object_new_int64(TODAY - 2 * DAY + 1),
                        "field 'days[0].start' is 1795824001, not the midnight of 2026-11-28 "
                        "(1795824000)");
    assert_answer_rejected("now", json_object_new_int(0), 30,
                           "field 'now' is 0, not 1..253402300799");
    /* today's row while "now" is the day before */
    assert_answer_rejected("now", json_object_new_int64(TODAY - 1), 30,
                           "field 'days[2].date' is 2026-11-30, after now");
    assert_answer_rejected(NULL, NULL, 2, "field 'days' has 3 days, 2 asked");
}

static void ctl_usage_parse__order_and_window__ebadmsg(void **state)
{
    struct day_spec days[3];
    json_object *resp;
    struct ctl_usage *u = malloc(sizeof(*u));
    char err[256];

    memcpy(days, three, sizeof(days));
    days[1].start = days[0].start; /* the same day twice */
    resp = answer_json("default", days, 3);
    assert_int_equal(ctl_usage_parse(resp, 30, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "field 'days[1].date' is 2026-11-28, not after 2026-11-28");
    json_object_put(resp);

    memcpy(days, three, sizeof(days));
    days[0].start = TODAY - 3 * DAY; /* four days back, three asked */
    resp = answer_json("default", days, 3);
    assert_int_equal(ctl_usage_parse(resp, 3, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "field 'days[0].date' is 2026-11-27, before the 3 days asked");
    json_object_put(resp);
    free(u);
}

static void ctl_usage_parse__missing_fields__ebadmsg(void **state)
{
    static const char *const keys[] = {"date",       "start",         "hours",
                                       "peak",       "limit",         "hours_at_limit",
                                       "admissions", "refused_limit", "refused_capacity",
                                       "evaluation", "changed"};
    static const char *const top[] = {"pool", "now", "days"};
    char expected[96];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(expected, sizeof(expected), "field 'days[1].%s' is missing", keys[i]);
        assert_day_rejected(1, keys[i], NULL, expected);
    }
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        snprintf(expected, sizeof(expected), "field '%s' is missing", top[i]);
        assert_answer_rejected(top[i], NULL, 30, expected);
    }
}

static void ctl_usage_parse__400_days__all_read(void **state)
{
    struct day_spec *days = calloc(CTL_USAGE_DAYS_MAX, sizeof(*days));
    struct ctl_usage *u = malloc(sizeof(*u));
    json_object *resp;
    char err[256];

    for (size_t i = 0; i < CTL_USAGE_DAYS_MAX; i++)
        days[i] = (struct day_spec){TODAY - (int64_t)(CTL_USAGE_DAYS_MAX - 1 - i) * DAY,
                                    i + 1 == CTL_USAGE_DAYS_MAX ? 15 : 24,
                                    (int64_t)(i % 60),
                                    50,
                                    i % 60 >= 50,
                                    100,
                                    i % 60 > 55,
                                    0,
                                    i < 14,
                                    i == 14};
    resp = answer_json("default", days, CTL_USAGE_DAYS_MAX);
    parse_ok(resp, CTL_USAGE_DAYS_MAX, u);
    assert_int_equal(u->ndays, CTL_USAGE_DAYS_MAX);
    assert_string_equal(u->days[0].date, "2025-10-27");
    assert_string_equal(u->days[CTL_USAGE_DAYS_MAX - 1].date, "2026-11-30");
    /* one day more than asked */
    assert_int_equal(ctl_usage_parse(resp, CTL_USAGE_DAYS_MAX - 1, u, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "field 'days' has 400 days, 399 asked");
    assert_int_equal(ctl_usage_parse(resp, CTL_USAGE_DAYS_MAX + 1, u, err, sizeof(err)), -EINVAL);
    assert_int_equal(ctl_usage_parse(resp, 0, u, err, sizeof(err)), -EINVAL);
    json_object_put(resp);
    free(days);
    free(u);
}

static void ctl_usage_parse__hostile_pool__clean_text(void **state)
{
    json_object *resp = answer_json("a\x1b]0;owned\x07<b>", three, 3);
    struct ctl_usage *u = malloc(sizeof(*u));

    parse_ok(resp, 30, u);
    assert_string_equal(u->pool, "a?]0;owned?<b>");
    json_object_put(resp);
    free(u);
}

/* ------------------------------------------------------------------ the verdict */

static void verdict_of(const struct day_spec *days, size_t n, int64_t asked, const char *expected)
{
    json_object *resp = answer_json("default", days, n);
    struct ctl_usage *u = malloc(sizeof(*u));
    char verdict[CTL_USAGE_VERDICT_MAX];

    parse_ok(resp, asked, u);
    ctl_usage_verdict(u, verdict, sizeof(verdict));
    assert_string_equal(verdict, expected);
    json_object_put(resp);
    free(u);
}

static void ctl_usage_verdict__cases__one_actionable_line(void **state)
{
    const struct day_spec never[] = {
        {TODAY - DAY, 24, 31, 50, 0, 80, 0, 0, false, false},
        {TODAY, 15, 47, 50, 0, 60, 0, 0, false, false},
    };
    const struct day_spec capacity[] = {
        {TODAY - DAY, 24, 40, 40, 2, 80, 0, 5, false, false},
        {TODAY, 15, 47, 60, 0, 60, 0, 0, false, true},
    };
    const struct day_spec idle[] = {{TODAY, 15, 0, 10, 0, 0, 0, 0, false, false}};
    const struct day_spec eval[] = {
        {TODAY - DAY, 24, 2, 2, 5, 9, 3, 0, true, false},
        {TODAY, 15, 1, 2, 0, 1, 0, 0, true, false},
    };

    verdict_of(NULL, 0, 30, "nothing recorded in the last 30 days");
    verdict_of(NULL, 0, 1, "nothing recorded today");
    verdict_of(three, 3, 30,
               "peak 50 of 50 seats on 2026-11-29; the limit is now 2 seats; the limit was "
               "reached on 2 of 3 days recorded; 13 refused on 2 days (2 at the pool's "
               "capacity); evaluation mode on 1 of 3 days");
    verdict_of(never, 2, 30,
               "peak 47 of 50 seats on 2026-11-30; the limit was never reached in 2 days "
               "recorded; nobody was refused");
    verdict_of(capacity, 2, 30,
               "peak 47 of 60 seats on 2026-11-30; the limit was reached on 1 of 2 days "
               "recorded; 5 refused on 1 day (all at the pool's capacity, not the limit)");
    verdict_of(idle, 1, 30,
               "no session on the one day recorded (limit 10 seats); nobody was "
               "refused");
    verdict_of(eval, 2, 7,
               "peak 2 of 2 seats on 2026-11-29; the limit was reached on 1 of 2 days recorded; "
               "3 refused on 1 day; evaluation mode on every day recorded");
    verdict_of(&eval[1], 1, 7,
               "peak 1 of 2 seats on 2026-11-30; the limit was not reached on the one day "
               "recorded; nobody was refused; evaluation mode on the one day recorded");
}

/* ------------------------------------------------------------------ the table */

static char *render(const struct day_spec *days, size_t n, bool bars)
{
    json_object *resp = answer_json("default", days, n);
    struct ctl_usage *u = malloc(sizeof(*u));
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    assert_non_null(mem);
    parse_ok(resp, 30, u);
    assert_int_equal(ctl_usage_render(u, bars, mem), 0);
    assert_int_equal(fclose(mem), 0);
    json_object_put(resp);
    free(u);
    return text;
}

static void ctl_usage_render__not_a_tty__plain_table_and_verdict(void **state)
{
    char *text = render(three, 3, false);

    assert_string_equal(text,
                        "DATE        PEAK  LIMIT  AT LIMIT  ADMITTED  REFUSED  NOTE\n"
                        "2026-11-28  12    50     0/24 h    40        0        \n"
                        "2026-11-29  50    50     3/24 h    90        9        license changed\n"
                        "2026-11-30  2     2      1/15 h    5         4        evaluation, "
                        "license changed\n"
                        "\n"
                        "peak 50 of 50 seats on 2026-11-29; the limit is now 2 seats; the limit "
                        "was reached on 2 of 3 days recorded; 13 refused on 2 days (2 at the "
                        "pool's capacity); evaluation mode on 1 of 3 days\n");
    assert_null(strstr(text, FULL_LINE));
    free(text);
    text = render(NULL, 0, true);
    assert_string_equal(text, "nothing recorded in the last 30 days\n");
    free(text);
}

/* Appends n copies of s to buf. */
static void repeat(char *buf, const char *s, int n)
{
    while (n-- > 0)
        strcat(buf, s);
}

static void ctl_usage_render__tty__bars_scaled_to_largest_limit(void **state)
{
    char *text = render(three, 3, true), expected[2048] = "";

    /* scale 50 seats to 30 cells: 12 is 7, the limit of 50 the last cell;
     * 50 of 50 a full bar ending in the reached mark; 2 of 2 the mark alone */
    strcat(expected, "DATE        PEAK  LIMIT  AT LIMIT  ADMITTED  REFUSED  USE");
    repeat(expected, " ", 29);
    strcat(expected, "NOTE\n2026-11-28  12    50     0/24 h    40        0        ");
    repeat(expected, FULL_LINE, 7);
    repeat(expected, " ", 22);
    strcat(expected, "\xe2\x94\x82  \n2026-11-29  50    50     3/24 h    90        9        ");
    repeat(expected, FULL_LINE, 29);
    strcat(expected, "\xe2\x94\x83  license changed\n2026-11-30  2     2      1/15 h    5         4"
                     "        \xe2\x94\x83");
    repeat(expected, " ", 31);
    strcat(expected, "evaluation, license changed\n\n");
    assert_int_equal(strncmp(text, expected, strlen(expected)), 0);
    assert_non_null(strstr(text, "\n\npeak 50 of 50 seats on 2026-11-29;"));
    free(text);
}

static void ctl_usage_bar__peak_and_limit__blocks_and_mark(void **state)
{
    struct ctl_usage_day d = {.peak = 15, .limit = 20};
    char bar[CTL_USAGE_BAR_CELLS * 3 + 1], expected[sizeof(bar)] = "";

    ctl_usage_bar(&d, 40, bar, sizeof(bar));
    for (int i = 0; i < 11; i++) /* 15 of 40 seats in 30 cells: 11.25 */
        strcat(expected, FULL_LINE);
    strcat(expected, "   \xe2\x94\x82"); /* the limit in cell 15 */
    assert_string_equal(bar, expected);

    d = (struct ctl_usage_day){.peak = 1, .limit = 0};
    ctl_usage_bar(&d, 1000000, bar, sizeof(bar));
    assert_string_equal(bar, FULL_LINE); /* someone connected shows */
    d = (struct ctl_usage_day){.peak = 0, .limit = 0};
    ctl_usage_bar(&d, 0, bar, sizeof(bar));
    assert_string_equal(bar, "");
    d = (struct ctl_usage_day){.peak = 90, .limit = 60};
    ctl_usage_bar(&d, 90, bar, sizeof(bar));
    assert_int_equal(strlen(bar), CTL_USAGE_BAR_CELLS * 3); /* past the limit, capped */
    assert_non_null(strstr(bar, "\xe2\x94\x83"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctl_usage_parse__good_answer__every_field),
        cmocka_unit_test(ctl_usage_parse__wrong_types__ebadmsg_naming_field),
        cmocka_unit_test(ctl_usage_parse__out_of_range__ebadmsg_quoting_value),
        cmocka_unit_test(ctl_usage_parse__order_and_window__ebadmsg),
        cmocka_unit_test(ctl_usage_parse__missing_fields__ebadmsg),
        cmocka_unit_test(ctl_usage_parse__400_days__all_read),
        cmocka_unit_test(ctl_usage_parse__hostile_pool__clean_text),
        cmocka_unit_test(ctl_usage_verdict__cases__one_actionable_line),
        cmocka_unit_test(ctl_usage_render__not_a_tty__plain_table_and_verdict),
        cmocka_unit_test(ctl_usage_render__tty__bars_scaled_to_largest_limit),
        cmocka_unit_test(ctl_usage_bar__peak_and_limit__blocks_and_mark),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
