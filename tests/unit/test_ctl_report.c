#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, strcasestr, memmem */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_report.h"
#include "ctl_usage.h"
#include "unit_fixture.h"

#define DAY   CTL_USAGE_DAY_SECONDS
#define TODAY INT64_C(1795996800) /* 2026-11-30T00:00:00Z */
#define NOW   (TODAY + 15 * 3600)

static size_t count(const char *haystack, const char *needle)
{
    size_t n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static const char status_json[] =
    "{\"protocol\":1,\"ok\":true,\"pool\":\"default\",\"in_use\":3,\"limit\":2,\"evaluation\":true,"
    "\"next_change\":null,\"warnings\":[]}";

static const char licenses_json[] =
    "{\"protocol\":1,\"ok\":true,\"limit\":2,\"evaluation\":true,\"licenses\":["
    "{\"file\":\"a.lic\",\"key_id\":\"LG-N91A\",\"customer\":\"<img src=x onerror=alert(1)>\","
    "\"seats\":50,\"kind\":\"standard\",\"support_until\":\"2026-11-30T00:00:00Z\","
    "\"perpetual\":false,\"lease_not_after\":\"2027-11-29T00:00:00Z\",\"sunset\":null,"
    "\"state\":\"expired\",\"reason\":\"support ended\",\"counted\":false},"
    "{\"file\":\"x.lic\",\"state\":\"invalid\",\"reason\":\"bad signature\",\"counted\":false}]}";

/* Three days: one quiet, one at the limit with refusals, today in evaluation mode. */
static void fill_usage(struct ctl_usage *u, const char *pool)
{
    static const struct ctl_usage_day days[] = {
        {"2026-11-28", TODAY - 2 * DAY, 24, 12, 50, 0, 40, 0, 0, false, false},
        {"2026-11-29", TODAY - DAY, 24, 50, 50, 3, 90, 7, 2, false, true},
        {"2026-11-30", TODAY, 15, 2, 2, 1, 5, 4, 0, true, true},
    };

    memset(u, 0, sizeof(*u));
    snprintf(u->pool, sizeof(u->pool), "%s", pool);
    u->now = NOW;
    u->days_asked = CTL_USAGE_DAYS_MAX;
    u->ndays = 3;
    memcpy(u->days, days, sizeof(days));
}

/* Set by a test that wants a record of that many days, each at 40 of 50 seats. */
static size_t long_days;

/* The page for fill_usage (or long_days days), a status and licenses_json. */
static char *report_status(const char *pool, const char *status_text)
{
    json_object *st = json_tokener_parse(status_text), *li = json_tokener_parse(licenses_json);
    struct ctl_usage *u = malloc(sizeof(*u));
    struct ctl_report_status status;
    struct ctl_report_licenses licenses;
    struct ctl_report r = {
        .usage = u, .status = &status, .licenses = &licenses, .generated = NOW + 60};
    char err[256], *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    assert_non_null(mem);
    fill_usage(u, pool);
    if (long_days > 0) {
        u->ndays = long_days;
        for (size_t i = 0; i < long_days; i++) {
            struct ctl_usage_day *d = &u->days[i];

            memset(d, 0, sizeof(*d));
            d->start = TODAY - (int64_t)(long_days - 1 - i) * DAY;
            memcpy(d->date, "2026-01-01", 11); /* the table's; the axis reads start */
            d->hours = 24;
            d->peak = 40;
            d->limit = 50;
        }
    }
    assert_int_equal(ctl_report_parse_status(st, &status, err, sizeof(err)), 0);
    assert_int_equal(ctl_report_parse_licenses(li, &licenses, err, sizeof(err)), 0);
    assert_int_equal(ctl_report_html(&r, mem), 0);
    assert_int_equal(fclose(mem), 0);
    ctl_report_licenses_free(&licenses);
    json_object_put(st);
    json_object_put(li);
    free(u);
    return text;
}

static char *report(const char *pool)
{
    return report_status(pool, status_json);
}

static void ctl_report_html__three_days__chart_marks_each_day(void **state)
{
    char *html = report("office");

    assert_int_equal(strncmp(html, "<!DOCTYPE html>\n", 16), 0);
    assert_non_null(strstr(html, "<title>licgate usage: pool office</title>"));
    assert_non_null(strstr(html, "Generated 2026-11-30T15:01:00Z"));
    assert_int_equal(count(html, "<svg "), 1);
    assert_int_equal(count(html, "class=\"peak\""), 3);
    assert_int_equal(count(html, "class=\"limit\""), 1);
    assert_non_null(strstr(html, "<path class=\"limit\" d=\"M"));
    assert_int_equal(count(html, "<path class=\"refused\""), 2);
    assert_int_equal(count(html, "<rect class=\"evaluation\""), 1);
    assert_int_equal(count(html, "<path class=\"changed\""), 2);
    /* support ends today: in the chart; the lease's end next year: listed */
    assert_int_equal(count(html, "<line class=\"date\""), 1);
    assert_non_null(strstr(html, ">support ends: a.lic</text>"));
    assert_non_null(strstr(html, "<li>lease ends 2027-11-29T00:00:00Z (a.lic)</li>"));
    /* midnight UTC shown as the day in the table */
    assert_non_null(strstr(html, "<td class=\"t\">2027-11-29</td>"));
    assert_non_null(strstr(html, "<tr><th>Seats in use</th><td>3 of 2</td></tr>"));
    assert_non_null(strstr(html, "evaluation (no valid license)"));
    assert_null(strstr(html, "Next change"));
    assert_non_null(strstr(html, "@media print"));
    assert_non_null(strstr(html, "13 refused on 2 days (2 at the pool&#39;s capacity)"));
    assert_non_null(strstr(html, "<td class=\"t\">2026-11-29</td><td class=\"n\">50</td>"));
    /* the sums: 135 admitted, 11 refused at the limit and 2 at capacity */
    assert_non_null(strstr(html, "<th>3 days</th><th class=\"n\">50</th><td></td><td></td>"
                                 "<th class=\"n\">135</th><th class=\"n\">11</th>"
                                 "<th class=\"n\">2</th>"));
    assert_non_null(strstr(html, "</html>\n"));
    free(html);
}

static void ctl_report_html__400_days__one_bar_each(void **state)
{
    struct ctl_usage *u = malloc(sizeof(*u));
    struct ctl_report_status st = {.in_use = 1, .limit = 50};
    struct ctl_report_licenses li = {.limit = 50};
    struct ctl_report r = {.usage = u, .status = &st, .licenses = &li, .generated = NOW};
    char *html = NULL, *path, *end;
    size_t len = 0;
    FILE *mem = open_memstream(&html, &len);

    fill_usage(u, "default");
    u->ndays = CTL_USAGE_DAYS_MAX;
    for (size_t i = 0; i < CTL_USAGE_DAYS_MAX; i++) {
        struct ctl_usage_day *d = &u->days[i];

        *d = (struct ctl_usage_day){.start = TODAY - (int64_t)(CTL_USAGE_DAYS_MAX - 1 - i) * DAY,
                                    .hours = 24,
                                    .peak = (int64_t)(i % 60),
                                    .limit = i < 200 ? 30 : 60,
                                    .refused_limit = i % 60 == 59};
        snprintf(d->date, sizeof(d->date), "d%zu", i); /* only shown */
    }
    assert_int_equal(ctl_report_html(&r, mem), 0);
    assert_int_equal(fclose(mem), 0);
    assert_int_equal(count(html, "class=\"peak\""), CTL_USAGE_DAYS_MAX);
    assert_int_equal(count(html, "<path class=\"refused\""), 6);
    /* one step line, unbroken as no day is missing */
    assert_int_equal(count(html, "class=\"limit\""), 1);
    path = strstr(html, "<path class=\"limit\" d=\"M");
    assert_non_null(path);
    end = strchr(path + 24, '"');
    assert_non_null(end);
    assert_null(memmem(path, (size_t)(end - path), " M", 2));
    free(html);
    free(u);
}

/* Whatever the answers hold, the page runs nothing and fetches nothing. */
static void ctl_report_html__hostile_strings__escaped_nothing_fetched(void **state)
{
    char *html = report("<script>alert('x')</script>");

    assert_non_null(strstr(html, "pool &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</h1>"));
    assert_non_null(strstr(html, "<td>&lt;img src=x onerror=alert(1)&gt;</td>"));
    assert_null(strcasestr(html, "<script"));
    assert_null(strcasestr(html, "<img"));
    assert_null(strcasestr(html, "http"));
    assert_null(strcasestr(html, "href="));
    assert_null(strcasestr(html, "src=\""));
    assert_null(strcasestr(html, "url("));
    assert_null(strcasestr(html, "@import"));
    assert_null(strcasestr(html, "<link"));
    free(html);
}

static void ctl_html_text__specials__entities(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    ctl_html_text(mem, "a&b<c>d\"e'f \xc3\xa9");
    ctl_html_text(mem, NULL);
    assert_int_equal(fclose(mem), 0);
    assert_string_equal(text, "a&amp;b&lt;c&gt;d&quot;e&#39;f \xc3\xa9-");
    free(text);
}

static void ctl_report_parse__bad_fields__ebadmsg(void **state)
{
    static const struct {
        const char *json, *err;
    } status_cases[] =
        {
            {"{\"in_use\":\"3\",\"limit\":2,\"evaluation\":true}",
             "field 'in_use' is a string, not an integer"},
            {"{\"in_use\":3,\"limit\":-2,\"evaluation\":true}",
             "field 'limit' is -2, not 0..4294967295"},
            {"{\"in_use\":3,\"limit\":2,\"evaluation\":true,\"next_change\":{\"at\":1,\"limit\":2}"
             "}",
             "field 'next_change.at' is an int, not a string"},
        },
      license_cases[] = {
          {"{\"limit\":2,\"evaluation\":true,\"licenses\":{}}",
           "field 'licenses' is an object, not an array"},
          {"{\"limit\":2,\"evaluation\":true,\"licenses\":[{\"state\":\"active\",\"counted\":true}]"
           "}",
           "field 'licenses[0].file' is missing"},
          {"{\"limit\":2,\"evaluation\":true,\"licenses\":[{\"file\":\"a\",\"state\":\"active\","
           "\"counted\":true,\"seats\":\"3\"}]}",
           "field 'licenses[0].seats' is a string, not an integer"},
      };
    struct ctl_report_status st;
    struct ctl_report_licenses li;
    char err[256];

    for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
        json_object *o = json_tokener_parse(status_cases[i].json);

        assert_int_equal(ctl_report_parse_status(o, &st, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, status_cases[i].err);
        assert_false(st.has_next);
        json_object_put(o);
    }
    for (size_t i = 0; i < sizeof(license_cases) / sizeof(license_cases[0]); i++) {
        json_object *o = json_tokener_parse(license_cases[i].json);

        assert_int_equal(ctl_report_parse_licenses(o, &li, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, license_cases[i].err);
        assert_int_equal(li.n, 0);
        assert_null(li.v);
        json_object_put(o);
    }
}

static void ctl_report_parse_status__next_change__kept(void **state)
{
    json_object *o = json_tokener_parse("{\"in_use\":3,\"limit\":10,\"evaluation\":false,"
                                        "\"next_change\":{\"at\":\"2026-12-05T00:00:00Z\","
                                        "\"limit\":2}}");
    struct ctl_report_status st;
    char err[256];

    assert_int_equal(ctl_report_parse_status(o, &st, err, sizeof(err)), 0);
    assert_true(st.has_next);
    assert_string_equal(st.next_at, "2026-12-05T00:00:00Z");
    assert_int_equal(st.next_limit, 2);
    json_object_put(o);
}

/* The next change in "Now": the limit before and after, or that it stays (a 2-seat license
 * ending leaves evaluation's 2 seats). */
static void ctl_report_html__next_change__says_what_the_limit_becomes(void **state)
{
    char *down = report_status("p", "{\"in_use\":3,\"limit\":10,\"evaluation\":false,"
                                    "\"next_change\":{\"at\":\"2026-12-05T00:00:00Z\","
                                    "\"limit\":2}}");
    char *same = report_status("p", "{\"in_use\":1,\"limit\":2,\"evaluation\":false,"
                                    "\"next_change\":{\"at\":\"2026-12-05T00:00:00Z\","
                                    "\"limit\":2}}");

    (void)state;
    assert_non_null(strstr(down, "<tr><th>Next change</th><td>2026-12-05T00:00:00Z: limit 10 "
                                 "&rarr; 2 seats</td></tr>"));
    assert_non_null(strstr(same, "<tr><th>Next change</th><td>2026-12-05T00:00:00Z: a license "
                                 "stops counting; the limit stays 2 seats</td></tr>"));
    free(down);
    free(same);
}

/* Every date on the time axis is whole inside the chart's 960 units, however long the
 * record: a date too near the right edge is left out, its tick kept. */
static void ctl_report_html__long_records__dates_inside_the_chart(void **state)
{
    static const size_t lengths[] = {3, 30, 91, 200, 400};

    (void)state;
    for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
        char *html, *p;
        size_t dates = 0;
        double x;

        long_days = lengths[k];
        html = report("p");
        for (p = html; (p = strstr(p, "<text x=\"")) != NULL; p++) {
            const char *label = strstr(p, "text-anchor=\"middle\">");

            if (label == NULL || strncmp(label + 21, "20", 2) != 0 || strchr(p, '\n') < label)
                continue;
            x = strtod(p + 9, NULL);
            print_message("%zu days: a date at x=%.1f\n", lengths[k], x);
            assert_true(x + 32 <= 960);
            dates++;
        }
        assert_true(dates >= 4);
        free(html);
    }
    long_days = 0;
}

/* ------------------------------------------------------------------ the file */

static void ctl_report_save__missing_directory_or_a_directory__refused(void **state)
{
    struct ctl_report r = {0};
    char err[256];

    assert_int_equal(ctl_report_save("/nonexistent-licgate/sub/r.html", &r, err, sizeof(err)),
                     -ENOENT);
    assert_string_equal(err, "directory /nonexistent-licgate/sub does not exist");
    assert_int_equal(ctl_report_check_path("/tmp", err, sizeof(err)), -EISDIR);
    assert_string_equal(err, "/tmp is a directory, not a file");
    assert_int_equal(ctl_report_check_path("/tmp/", err, sizeof(err)), -EISDIR);
    assert_int_equal(ctl_report_check_path("", err, sizeof(err)), -EINVAL);
}

static void ctl_report_save__written__whole_page_mode_0644(void **state)
{
    struct ctl_usage *u = malloc(sizeof(*u));
    struct ctl_report_status st = {.in_use = 1, .limit = 50};
    struct ctl_report_licenses li = {.limit = 50};
    struct ctl_report r = {.usage = u, .status = &st, .licenses = &li, .generated = NOW};
    char dir[256], path[300], err[256], *text;
    struct stat sb;
    FILE *f;
    long size;

    fill_usage(u, "default");
    assert_int_equal(unit_tmpdir_make(dir, sizeof(dir), "test_ctl_report"), 0);
    snprintf(path, sizeof(path), "%s/report.html", dir);
    unit_write_file(dir, "report.html", "old", 3);
    assert_int_equal(ctl_report_save(path, &r, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/report.html/r.html", dir);
    assert_int_equal(ctl_report_save(path, &r, err, sizeof(err)), -ENOTDIR);
    snprintf(path, sizeof(path), "%s/report.html", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0644);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_int_equal(strncmp(text, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(text, "</html>\n"));
    free(text);
    assert_int_equal(unit_tmpdir_remove(dir), 0);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctl_report_html__three_days__chart_marks_each_day),
        cmocka_unit_test(ctl_report_html__400_days__one_bar_each),
        cmocka_unit_test(ctl_report_html__hostile_strings__escaped_nothing_fetched),
        cmocka_unit_test(ctl_html_text__specials__entities),
        cmocka_unit_test(ctl_report_parse__bad_fields__ebadmsg),
        cmocka_unit_test(ctl_report_parse_status__next_change__kept),
        cmocka_unit_test(ctl_report_html__next_change__says_what_the_limit_becomes),
        cmocka_unit_test(ctl_report_html__long_records__dates_inside_the_chart),
        cmocka_unit_test(ctl_report_save__missing_directory_or_a_directory__refused),
        cmocka_unit_test(ctl_report_save__written__whole_page_mode_0644),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
