#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

#define DAY 86400

static int parse(const char *buf, size_t len, bool eof, enum control_command *cmd, char *err)
{
    return control_parse_request(buf, len, eof, cmd, err, 160);
}

static void control_parse_request__every_command__recognised(void **state)
{
    static const struct {
        const char *line;
        enum control_command cmd;
    } ok[] = {
        {"status\n", CONTROL_STATUS},     {"sessions\n", CONTROL_SESSIONS},
        {"licenses\n", CONTROL_LICENSES}, {"reload\n", CONTROL_RELOAD},
        {"metrics\n", CONTROL_METRICS},   {"version\n", CONTROL_VERSION},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum control_command cmd = (enum control_command) - 1;
        char err[160];

        assert_int_equal(parse(ok[i].line, strlen(ok[i].line), false, &cmd, err), 0);
        assert_int_equal(cmd, ok[i].cmd);
        assert_int_equal(strncmp(control_command_name(cmd), ok[i].line, strlen(ok[i].line) - 1), 0);
    }
    assert_true(control_command_needs_root(CONTROL_RELOAD));
    assert_false(control_command_needs_root(CONTROL_STATUS));
}

/* Every prefix of a valid request asks for more; the whole line completes it. */
static void control_parse_request__partial_reads__need_more(void **state)
{
    const char *line = "licenses\n";
    enum control_command cmd;
    char err[160];

    for (size_t n = 0; n < strlen(line); n++)
        assert_int_equal(parse(line, n, false, &cmd, err), -EAGAIN);
    assert_int_equal(parse(line, strlen(line), false, &cmd, err), 0);
    assert_int_equal(cmd, CONTROL_LICENSES);
}

static void control_parse_request__bad_requests__spec_errors(void **state)
{
    static const struct {
        const char *buf;
        size_t len;
        bool eof;
        const char *err;
    } bad[] = {
        {"stat\0us\n", 8, false, "request contains a control or non-ASCII byte"},
        {"status\r\n", 8, false, "request contains a control or non-ASCII byte"},
        {"st\xc3\xa4tus\n", 9, false, "request contains a control or non-ASCII byte"},
        {"status", 6, true, "request incomplete: no newline before end of input"},
        {"", 0, true, "request incomplete: no newline before end of input"},
        {"\n", 1, false, "empty request"},
        {"bogus\n", 6, false, "unknown command 'bogus'"},
        {"STATUS\n", 7, false, "unknown command 'STATUS'"},
        {"status now\n", 11, false, "status takes no arguments"},
        {" status\n", 8, false, "unknown command ''"},
        {"status\nstatus\n", 14, false, "one request per connection: data after the newline"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum control_command cmd = CONTROL_VERSION;
        char err[160] = "";

        assert_int_equal(parse(bad[i].buf, bad[i].len, bad[i].eof, &cmd, err), -EBADMSG);
        assert_string_equal(err, bad[i].err);
        assert_int_equal(cmd, CONTROL_VERSION); /* untouched */
    }
}

static void control_parse_cluster_grant__arguments__parsed_or_refused(void **state)
{
    static const char *const bad[] = {
        "cluster-grant\n",
        "cluster-grant 5\n",
        "cluster-grant 5 \n",
        "cluster-grant -1 100\n",
        "cluster-grant 05 100\n",
        "cluster-grant 1048576 100\n",
        "cluster-grant 5 17592186044416\n",
        "cluster-grant 5 100 7\n",
        "cluster-grant 5 1e3\n",
    };
    enum control_command cmd;
    uint32_t grant;
    int64_t deadline;
    char err[160];

    (void)state;
    assert_int_equal(parse("cluster-grant 12 123456789\n", 27, false, &cmd, err), 0);
    assert_int_equal(cmd, CONTROL_CLUSTER_GRANT);
    assert_true(control_command_needs_root(cmd));
    assert_int_equal(
        control_parse_cluster_grant("cluster-grant 12 123456789\n", 27, &grant, &deadline), 0);
    assert_int_equal(grant, 12);
    assert_int_equal(deadline, 123456789);
    assert_int_equal(parse("cluster-grant 1048575 17592186044415\n", 37, false, &cmd, err), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], strlen(bad[i]), false, &cmd, err), -EBADMSG);
        assert_string_equal(err, "cluster-grant takes GRANT (0..1048575) and DEADLINE-MS "
                                 "(CLOCK_MONOTONIC)");
    }
}

static void control_parse_request__oversized__too_long(void **state)
{
    char buf[CONTROL_REQUEST_MAX + 2];
    enum control_command cmd;
    char err[160];

    memset(buf, 'a', sizeof(buf));
    assert_int_equal(parse(buf, CONTROL_REQUEST_MAX, false, &cmd, err), -EAGAIN);
    assert_int_equal(parse(buf, CONTROL_REQUEST_MAX + 1, false, &cmd, err), -EBADMSG);
    assert_string_equal(err, "request too long (max 255 bytes)");
    /* exactly the maximum with its newline is fine (and unknown) */
    buf[CONTROL_REQUEST_MAX] = '\n';
    assert_int_equal(parse(buf, CONTROL_REQUEST_MAX + 1, false, &cmd, err), -EBADMSG);
    assert_non_null(strstr(err, "unknown command"));
}

static void control_license_warning__windows__warn_only_inside(void **state)
{
    struct license lic;
    int64_t now = 1800000000;
    char buf[256];

    memset(&lic, 0, sizeof(lic));
    lic.support_until = now + 31 * DAY;
    lic.lease_not_after = now + 8 * DAY;
    assert_int_equal(control_license_warning(&lic, now, buf, sizeof(buf)), 0);
    lic.lease_not_after = now + 6 * DAY + 10;
    assert_int_equal(control_license_warning(&lic, now, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "lease ends in 6 days"));
    lic.support_until = now + 29 * DAY;
    assert_int_equal(control_license_warning(&lic, now, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "support ends in 29 days"));
    lic.perpetual = true;
    lic.lease_not_after = 0;
    assert_int_equal(control_license_warning(&lic, now, buf, sizeof(buf)), 0);
    lic.sunset = now + DAY + 5;
    assert_int_equal(control_license_warning(&lic, now, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "sunset in 1 day ("));
}

static void control_days_left__earliest_end__floor_days(void **state)
{
    struct license lic;
    int64_t now = 1800000000;

    memset(&lic, 0, sizeof(lic));
    lic.support_until = now + 10 * DAY + 5;
    assert_int_equal(control_days_left(&lic, now), 10);
    lic.lease_not_after = now + 3 * DAY;
    assert_int_equal(control_days_left(&lic, now), 3);
    lic.perpetual = true;
    lic.lease_not_after = 0;
    assert_int_equal(control_days_left(&lic, now), -1);
    lic.perpetual = false;
    lic.support_until = now - 1;
    assert_int_equal(control_days_left(&lic, now), 0);
}

static void control_render_metrics__pool_and_licenses__exposition(void **state)
{
    struct seat_pool_status st = {
        .in_use = 5, .capacity = 16, .admissions = 7, .refusals_limit = 4, .releases = 5};
    struct control_numbers n = {
        .pool = "udp-tcp", .st = &st, .limit = 3, .evaluation = false, .eval_in_use = 1};
    struct license_entry e[2];
    struct license_set set = {.entries = e, .count = 2};
    int64_t now = 1800000000;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    memset(e, 0, sizeof(e));
    e[0].loaded = 1;
    e[0].state = LICENSE_ACTIVE;
    e[0].binding_ok = true;
    e[0].lic.seats = 3;
    e[0].lic.support_until = now + 40 * DAY;
    snprintf(e[0].lic.key_id, sizeof(e[0].lic.key_id), "LG-A");
    snprintf(e[0].file, sizeof(e[0].file), "we\"ird.lic");
    snprintf(e[1].file, sizeof(e[1].file), "bad.lic");
    assert_int_equal(control_render_metrics(mem, &n, &set, now), 0);
    fclose(mem);
    assert_non_null(strstr(text, "\nlicgate_seats_in_use{pool=\"udp-tcp\"} 5\n"));
    assert_non_null(strstr(text, "\nlicgate_seats_limit{pool=\"udp-tcp\"} 3\n"));
    /* 5 in use on 3 seats: 2 must leave before anyone new gets in */
    assert_int_equal(control_over_limit(&n), 2);
    assert_non_null(strstr(text, "\nlicgate_seats_over_limit{pool=\"udp-tcp\"} 2\n"));
    assert_non_null(
        strstr(text, "\nlicgate_machine_evaluation_seats_in_use{pool=\"udp-tcp\"} 1\n"));
    assert_non_null(strstr(text, "licgate_refusals_total{pool=\"udp-tcp\",reason=\"limit\"} 4\n"));
    assert_non_null(strstr(text, "licgate_license_seats{pool=\"udp-tcp\",key_id=\"LG-A\","
                                 "file=\"we\\\"ird.lic\",state=\"active\"} 3\n"));
    assert_non_null(strstr(text, "licgate_license_days_left{pool=\"udp-tcp\",key_id=\"LG-A\","
                                 "file=\"we\\\"ird.lic\"} 40\n"));
    assert_null(strstr(text, "bad.lic")); /* rejected files have no seats */
    /* every sample line carries the pool */
    for (char *line = text; line != NULL && *line != '\0'; line = strchr(line, '\n') + 1) {
        if (*line != '#')
            assert_true(strncmp(strchr(line, '{'), "{pool=\"udp-tcp\"", 15) == 0);
        if (strchr(line, '\n') == NULL)
            break;
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_parse_request__every_command__recognised),
        cmocka_unit_test(control_parse_request__partial_reads__need_more),
        cmocka_unit_test(control_parse_request__bad_requests__spec_errors),
        cmocka_unit_test(control_parse_request__oversized__too_long),
        cmocka_unit_test(control_parse_cluster_grant__arguments__parsed_or_refused),
        cmocka_unit_test(control_license_warning__windows__warn_only_inside),
        cmocka_unit_test(control_days_left__earliest_end__floor_days),
        cmocka_unit_test(control_render_metrics__pool_and_licenses__exposition),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
