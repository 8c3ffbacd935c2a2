#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_render.h"

typedef int (*render_fn)(json_object *resp, FILE *out, char *err, size_t errlen);

/* Output of fn on the JSON text in a malloc'd string; *rc its return value,
 * err its error line. */
static char *render(render_fn fn, const char *json, int *rc, char *err, size_t errlen)
{
    json_object *obj = json_tokener_parse(json);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    assert_non_null(obj);
    assert_non_null(mem);
    *rc = fn(obj, mem, err, errlen);
    assert_int_equal(fclose(mem), 0);
    json_object_put(obj);
    return text;
}

/* Asserts fn fails with -EBADMSG, writes nothing, and says err_expected. */
static void assert_malformed(render_fn fn, const char *json, const char *err_expected)
{
    char err[256] = "unchanged";
    int rc;
    char *text = render(fn, json, &rc, err, sizeof(err));

    assert_int_equal(rc, -EBADMSG);
    assert_string_equal(text, "");
    assert_string_equal(err, err_expected);
    free(text);
}

static void assert_renders(render_fn fn, const char *json, const char *expected)
{
    char err[256] = "";
    int rc;
    char *text = render(fn, json, &rc, err, sizeof(err));

    assert_string_equal(err, "");
    assert_int_equal(rc, 0);
    assert_string_equal(text, expected);
    free(text);
}

/* ------------------------------------------------------------------ ctl_parse_response */

static int parse(const char *s, json_object **out, char *err, size_t errlen)
{
    return ctl_parse_response(s, strlen(s), out, err, errlen);
}

static void ctl_parse_response__one_object_line__returns_object(void **state)
{
    json_object *obj = NULL, *v;
    char err[128];

    assert_int_equal(
        parse("{\"protocol\":1,\"ok\":true,\"version\":\"0.1.0\"}\n", &obj, err, sizeof(err)), 0);
    assert_non_null(obj);
    assert_true(json_object_object_get_ex(obj, "version", &v));
    assert_string_equal(json_object_get_string(v), "0.1.0");
    json_object_put(obj);
}

static void ctl_parse_response__malformed_framing__ebadmsg(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"", "empty response"},
        {"{\"protocol\":1,\"ok\":true}", "no newline at the end"},
        {"{\"protocol\":1,\n\"ok\":true}\n", "more than one line"},
        {"{\"protocol\":1,\"ok\":true}\n{\"protocol\":1,\"ok\":true}\n", "more than one line"},
        {"{\"protocol\":1,\"ok\":true}{\"protocol\":1,\"ok\":true}\n",
         "trailing data after the JSON value"},
        {"{\"protocol\":1,\"ok\":true} x\n", "trailing data after the JSON value"},
        {"{\"protocol\":1,\"ok\":true,}\n", "not JSON: unexpected character"},
        {"{\"protocol\":1,\"ok\":true\n", "not JSON: unexpected end of input"},
        {"hello\n", "not JSON: unexpected character"},
        {"[1,2]\n", "not a JSON object"},
        {"\"protocol\"\n", "not a JSON object"},
        {"{\"ok\":true}\n", "field 'protocol' is missing or not an integer"},
        {"{\"protocol\":\"1\",\"ok\":true}\n", "field 'protocol' is missing or not an integer"},
        {"{\"protocol\":1,\"ok\":1}\n", "field 'ok' is missing or not a boolean"},
        {"{\"protocol\":1,\"ok\":false}\n", "field 'error' is missing or not a string"},
        {"{\"protocol\":1,\"ok\":true,\"s\":\"\xff\"}\n", "not JSON: invalid utf-8 string"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *obj = (json_object *)&obj; /* must be cleared */
        char err[128];

        assert_int_equal(parse(cases[i].text, &obj, err, sizeof(err)), -EBADMSG);
        assert_null(obj);
        assert_string_equal(err, cases[i].err);
    }
}

static void ctl_parse_response__nul_byte__ebadmsg(void **state)
{
    static const char text[] = "{\"protocol\":1,\"ok\":true}\0 \n";
    json_object *obj;
    char err[128];

    assert_int_equal(ctl_parse_response(text, sizeof(text) - 1, &obj, err, sizeof(err)), -EBADMSG);
    assert_null(obj);
    assert_string_equal(err, "contains a NUL byte");
}

static void ctl_parse_response__other_protocol__eprotonosupport(void **state)
{
    json_object *obj;
    char err[128];

    assert_int_equal(parse("{\"protocol\":2,\"ok\":true}\n", &obj, err, sizeof(err)),
                     -EPROTONOSUPPORT);
    assert_null(obj);
    assert_string_equal(err, "server speaks protocol 2, licgatectl speaks 1");
}

static void ctl_parse_response__ok_false__eremoteio_with_sanitized_error(void **state)
{
    json_object *obj;
    char err[128];

    assert_int_equal(parse("{\"protocol\":1,\"ok\":false,\"error\":\"permission denied: "
                           "\\u001b[2Jx\\nreload is root only\"}\n",
                           &obj, err, sizeof(err)),
                     -EREMOTEIO);
    assert_null(obj);
    assert_string_equal(err, "permission denied: ?[2Jx?reload is root only");
}

/* A response of exactly CTL_RESPONSE_MAX bytes (its newline included), or one more. */
static char *response_of_size(size_t len)
{
    static const char head[] = "{\"protocol\":1,\"ok\":true,\"x\":\"";
    static const char tail[] = "\"}\n";
    char *buf = malloc(len);

    assert_non_null(buf);
    memcpy(buf, head, sizeof(head) - 1);
    memset(buf + sizeof(head) - 1, 'a', len - (sizeof(head) - 1) - (sizeof(tail) - 1));
    memcpy(buf + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
    return buf;
}

static void ctl_parse_response__at_size_cap__accepted(void **state)
{
    char *buf = response_of_size(CTL_RESPONSE_MAX);
    json_object *obj;
    char err[128];

    assert_int_equal(ctl_parse_response(buf, CTL_RESPONSE_MAX, &obj, err, sizeof(err)), 0);
    json_object_put(obj);
    free(buf);
}

static void ctl_parse_response__over_size_cap__emsgsize(void **state)
{
    char *buf = response_of_size(CTL_RESPONSE_MAX + 1);
    json_object *obj;
    char err[128];

    assert_int_equal(ctl_parse_response(buf, CTL_RESPONSE_MAX + 1, &obj, err, sizeof(err)),
                     -EMSGSIZE);
    assert_null(obj);
    assert_string_equal(err, "response larger than 16 MiB");
    free(buf);
}

/* ------------------------------------------------------------------ status */

static const char status_json[] =
    "{\"protocol\":1,\"ok\":true,\"pool\":\"default\",\"in_use\":3,\"limit\":10,"
    "\"capacity\":4096,\"evaluation\":false,\"development_build\":false,\"served_by\":1234,"
    "\"processes\":[{\"pid\":1234,\"in_use\":2},{\"pid\":123456,\"in_use\":1}],"
    "\"admissions\":17,\"refusals\":{\"limit\":4,\"capacity\":0},\"releases\":14,"
    "\"reclaimed\":0,\"warnings\":[\"license 'a.lic' (key LG-7KQ2-MX4P): support ends in 6 "
    "days (2026-12-05T00:00:00Z)\"]}";

static void ctl_render_status__licensed__key_values_table_warnings(void **state)
{
    assert_renders(ctl_render_status, status_json,
                   "pool:       default\n"
                   "seats:      3/10 in use\n"
                   "mode:       licensed\n"
                   "capacity:   4096 sessions\n"
                   "served by:  pid 1234\n"
                   "admissions: 17\n"
                   "refusals:   4 at the limit, 0 at capacity\n"
                   "releases:   14\n"
                   "reclaimed:  0\n"
                   "\n"
                   "PID     SEATS\n"
                   "1234    2\n"
                   "123456  1\n"
                   "\n"
                   "warning: license 'a.lic' (key LG-7KQ2-MX4P): support ends in 6 days "
                   "(2026-12-05T00:00:00Z)\n");
}

static void ctl_render_status__evaluation_development__says_so(void **state)
{
    assert_renders(ctl_render_status,
                   "{\"pool\":\"p\\u0007\",\"in_use\":0,\"limit\":2,\"capacity\":8,"
                   "\"evaluation\":true,\"development_build\":true,\"served_by\":7,"
                   "\"processes\":[],\"admissions\":0,\"refusals\":{\"limit\":0,\"capacity\":0},"
                   "\"releases\":0,\"reclaimed\":0,\"warnings\":[]}",
                   "pool:       p?\n"
                   "seats:      0/2 in use\n"
                   "mode:       evaluation (no valid license: 2 seats)\n"
                   "capacity:   8 sessions\n"
                   "served by:  pid 7\n"
                   "admissions: 0\n"
                   "refusals:   0 at the limit, 0 at capacity\n"
                   "releases:   0\n"
                   "reclaimed:  0\n"
                   "build:      development\n"
                   "\n"
                   "PID  SEATS\n");
}

/* status_json with its first occurrence of from replaced by to. */
static char *status_with(const char *from, const char *to)
{
    const char *at = strstr(status_json, from);
    char *s;

    assert_non_null(at);
    assert_true(
        asprintf(&s, "%.*s%s%s", (int)(at - status_json), status_json, to, at + strlen(from)) > 0);
    return s;
}

static void ctl_render_status__bad_fields__ebadmsg_nothing_written(void **state)
{
    static const struct {
        const char *from, *to, *err;
    } cases[] = {
        {"\"pool\":\"default\",", "", "field 'pool' is missing"},
        {"\"limit\":10", "\"limit\":\"10\"", "field 'limit' is a string, not a count"},
        {"\"in_use\":3", "\"in_use\":-3", "field 'in_use' is -3, not a count"},
        {"\"in_use\":3", "\"in_use\":3.5", "field 'in_use' is a double, not a count"},
        {"\"evaluation\":false", "\"evaluation\":0", "field 'evaluation' is an int, not a boolean"},
        {"\"processes\":[{\"pid\":1234,\"in_use\":2},{\"pid\":123456,\"in_use\":1}]",
         "\"processes\":{}", "field 'processes' is an object, not an array"},
        {"{\"pid\":123456,\"in_use\":1}", "{\"pid\":123456}",
         "field 'processes[1].in_use' is missing"},
        {"{\"pid\":123456,\"in_use\":1}", "7", "field 'processes[1]' is not an object"},
        {"\"refusals\":{\"limit\":4,", "\"refusals\":{\"limit\":null,",
         "field 'refusals.limit' is missing"},
        {"\"warnings\":[", "\"warnings\":[\"ok\",1,", "field 'warnings[1]' is not a string"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = status_with(cases[i].from, cases[i].to);

        assert_malformed(ctl_render_status, json, cases[i].err);
        free(json);
    }
}

/* The next change of the limit, right after the mode; null (nothing will
 * change) and absent (an older plugin) print nothing. */
static void ctl_render_status__next_change__one_line_or_none(void **state)
{
    static const char head[] = "pool:       default\n"
                               "seats:      3/10 in use\n"
                               "mode:       licensed\n";
    static const char tail[] =
        "capacity:   4096 sessions\n"
        "served by:  pid 1234\n"
        "admissions: 17\n"
        "refusals:   4 at the limit, 0 at capacity\n"
        "releases:   14\n"
        "reclaimed:  0\n"
        "\n"
        "PID     SEATS\n"
        "1234    2\n"
        "123456  1\n"
        "\n"
        "warning: license 'a.lic' (key LG-7KQ2-MX4P): support ends in 6 days "
        "(2026-12-05T00:00:00Z)\n";
    char *json, *expected;

    json = status_with("\"reclaimed\":0,",
                       "\"reclaimed\":0,\"next_change\":{\"at\":\"2027-11-29T00:00:00Z\","
                       "\"limit\":2},");
    assert_true(asprintf(&expected, "%snext change: 2027-11-29T00:00:00Z: limit 10 -> 2 seats\n%s",
                         head, tail) > 0);
    assert_renders(ctl_render_status, json, expected);
    free(json);
    free(expected);
    json = status_with("\"reclaimed\":0,", "\"reclaimed\":0,\"next_change\":{\"limit\":1,"
                                           "\"at\":\"2027-01-01T00:00:00Z\"},");
    assert_true(asprintf(&expected, "%snext change: 2027-01-01T00:00:00Z: limit 10 -> 1 seat\n%s",
                         head, tail) > 0);
    assert_renders(ctl_render_status, json, expected);
    free(json);
    free(expected);
    json = status_with("\"reclaimed\":0,", "\"reclaimed\":0,\"next_change\":null,");
    assert_true(asprintf(&expected, "%s%s", head, tail) > 0);
    assert_renders(ctl_render_status, json, expected);
    assert_renders(ctl_render_status, status_json, expected);
    free(json);
    free(expected);
}

static void ctl_render_status__bad_next_change__ebadmsg_nothing_written(void **state)
{
    static const struct {
        const char *to, *err;
    } cases[] = {
        {"\"next_change\":\"soon\",", "field 'next_change' is a string, not an object"},
        {"\"next_change\":{\"limit\":2},", "field 'next_change.at' is missing"},
        {"\"next_change\":{\"at\":7,\"limit\":2},",
         "field 'next_change.at' is an int, not a string"},
        {"\"next_change\":{\"at\":\"2027-11-29T00:00:00Z\"},",
         "field 'next_change.limit' is missing"},
        {"\"next_change\":{\"at\":\"2027-11-29T00:00:00Z\",\"limit\":-1},",
         "field 'next_change.limit' is -1, not a count"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *to, *json;

        assert_true(asprintf(&to, "\"reclaimed\":0,%s", cases[i].to) > 0);
        json = status_with("\"reclaimed\":0,", to);
        assert_malformed(ctl_render_status, json, cases[i].err);
        free(json);
        free(to);
    }
}

/* ------------------------------------------------------------------ sessions */

static void ctl_render_sessions__two_sessions__aligned_table(void **state)
{
    assert_renders(ctl_render_sessions,
                   "{\"sessions\":["
                   "{\"cn\":\"alice\",\"address\":\"127.0.0.1:51820\","
                   "\"connected_since\":\"2026-11-29T10:00:00Z\",\"pid\":1234},"
                   "{\"cn\":\"bob-the-builder\",\"address\":\"[2001:db8::1]:1194\","
                   "\"connected_since\":\"2026-11-29T10:05:00Z\",\"pid\":99}]}",
                   "CN               ADDRESS             CONNECTED SINCE       PID\n"
                   "alice            127.0.0.1:51820     2026-11-29T10:00:00Z  1234\n"
                   "bob-the-builder  [2001:db8::1]:1194  2026-11-29T10:05:00Z  99\n");
}

static void ctl_render_sessions__empty__no_sessions(void **state)
{
    assert_renders(ctl_render_sessions, "{\"sessions\":[]}", "no sessions\n");
}

static void ctl_render_sessions__control_characters__replaced_alignment_kept(void **state)
{
    assert_renders(ctl_render_sessions,
                   "{\"sessions\":["
                   "{\"cn\":\"\\u001b[31mred\\r\\n\\u007f\\u009b\",\"address\":\"a\","
                   "\"connected_since\":\"t\",\"pid\":1},"
                   "{\"cn\":\"x\",\"address\":\"b\",\"connected_since\":\"t\",\"pid\":2}]}",
                   "CN            ADDRESS  CONNECTED SINCE  PID\n"
                   "?[31mred????  a        t                1\n"
                   "x             b        t                2\n");
}

static void ctl_render_sessions__bad_fields__ebadmsg_nothing_written(void **state)
{
    assert_malformed(ctl_render_sessions, "{}", "field 'sessions' is missing");
    assert_malformed(ctl_render_sessions, "{\"sessions\":\"none\"}",
                     "field 'sessions' is a string, not an array");
    assert_malformed(ctl_render_sessions,
                     "{\"sessions\":[{\"cn\":\"a\",\"address\":\"b\",\"connected_since\":\"c\","
                     "\"pid\":1},{\"cn\":\"a\",\"address\":\"b\",\"connected_since\":\"c\"}]}",
                     "field 'sessions[1].pid' is missing");
    assert_malformed(ctl_render_sessions,
                     "{\"sessions\":[{\"cn\":5,\"address\":\"b\",\"connected_since\":\"c\","
                     "\"pid\":1}]}",
                     "field 'sessions[0].cn' is an int, not a string");
}

/* ------------------------------------------------------------------ licenses */

static void ctl_render_licenses__valid_and_invalid__dashes_for_absent_and_null(void **state)
{
    assert_renders(
        ctl_render_licenses,
        "{\"protocol\":1,\"ok\":true,\"limit\":3,\"evaluation\":false,\"licenses\":["
        "{\"file\":\"a.lic\",\"key_id\":\"LG-7KQ2-MX4P\",\"customer\":\"Example\",\"seats\":3,"
        "\"kind\":\"standard\",\"support_until\":\"2027-11-29T00:00:00Z\",\"perpetual\":false,"
        "\"lease_not_after\":\"2026-12-29T00:00:00Z\",\"sunset\":null,\"state\":\"active\","
        "\"reason\":\"\",\"counted\":true},"
        "{\"file\":\"b.lic\",\"key_id\":\"LG-AAAA-BBBB\",\"customer\":null,\"seats\":10,"
        "\"kind\":\"failover\",\"support_until\":\"2027-01-01T00:00:00Z\",\"perpetual\":true,"
        "\"lease_not_after\":null,\"sunset\":\"2027-02-01T00:00:00Z\",\"state\":\"active\","
        "\"reason\":\"failover licenses are not supported by this build\",\"counted\":false},"
        "{\"file\":\"x.lic\",\"state\":\"invalid\",\"reason\":\"bad signature\","
        "\"counted\":false}]}",
        "FILE   KEY           CUSTOMER  SEATS  KIND                 SUPPORT UNTIL         "
        "LEASE                 STATE                REASON\n"
        "a.lic  LG-7KQ2-MX4P  Example   3      standard             2027-11-29T00:00:00Z  "
        "2026-12-29T00:00:00Z  active               -\n"
        "b.lic  LG-AAAA-BBBB  -         10     failover, perpetual  2027-01-01T00:00:00Z  "
        "-                     active, not counted  failover licenses are not supported by "
        "this build; sunset 2027-02-01T00:00:00Z\n"
        "x.lic  -             -         -      -                    -                     "
        "-                     invalid              bad signature\n"
        "\n"
        "limit: 3 seats\n");
}

static void ctl_render_licenses__none_evaluation__limit_line(void **state)
{
    assert_renders(ctl_render_licenses, "{\"limit\":2,\"evaluation\":true,\"licenses\":[]}",
                   "no license files\n"
                   "\n"
                   "limit: 2 seats (evaluation mode)\n");
}

static void ctl_render_licenses__one_seat__singular(void **state)
{
    assert_renders(ctl_render_licenses,
                   "{\"limit\":1,\"evaluation\":false,\"licenses\":[{\"file\":\"o.lic\","
                   "\"seats\":1,\"state\":\"active\",\"counted\":true}]}",
                   "FILE   KEY  CUSTOMER  SEATS  KIND  SUPPORT UNTIL  LEASE  STATE   REASON\n"
                   "o.lic  -    -         1      -     -              -      active  -\n"
                   "\n"
                   "limit: 1 seat\n");
}

static void ctl_render_licenses__bad_fields__ebadmsg_nothing_written(void **state)
{
    assert_malformed(ctl_render_licenses, "{\"evaluation\":false,\"licenses\":[]}",
                     "field 'limit' is missing");
    assert_malformed(ctl_render_licenses,
                     "{\"limit\":3,\"evaluation\":false,\"licenses\":[{\"file\":\"a\","
                     "\"state\":\"active\",\"counted\":true},{\"file\":\"b\",\"seats\":\"3\","
                     "\"state\":\"active\",\"counted\":true}]}",
                     "field 'licenses[1].seats' is a string, not a count");
    assert_malformed(ctl_render_licenses,
                     "{\"limit\":3,\"evaluation\":false,\"licenses\":[{\"file\":\"a\","
                     "\"state\":\"active\"}]}",
                     "field 'licenses[0].counted' is missing");
    assert_malformed(ctl_render_licenses,
                     "{\"limit\":3,\"evaluation\":false,\"licenses\":[{\"file\":\"a\","
                     "\"state\":\"active\",\"counted\":true,\"sunset\":false}]}",
                     "field 'licenses[0].sunset' is a boolean, not a string");
}

/* ------------------------------------------------------------------ reload, metrics, version */

static void ctl_render_reload__counts__one_line(void **state)
{
    assert_renders(ctl_render_reload,
                   "{\"limit\":5,\"evaluation\":false,\"files\":3,\"counted\":2}",
                   "reloaded: limit 5 seats (2 of 3 license files count)\n");
    assert_renders(ctl_render_reload, "{\"limit\":2,\"evaluation\":true,\"files\":1,\"counted\":0}",
                   "reloaded: limit 2 seats, evaluation mode (0 of 1 license file counts)\n");
    assert_malformed(ctl_render_reload, "{\"limit\":5,\"evaluation\":false,\"files\":3}",
                     "field 'counted' is missing");
}

static void ctl_render_metrics__text__verbatim_but_control_bytes(void **state)
{
    assert_renders(ctl_render_metrics,
                   "{\"metrics\":\"# TYPE licgate_seats_in_use gauge\\n"
                   "licgate_seats_in_use 3\\n\"}",
                   "# TYPE licgate_seats_in_use gauge\nlicgate_seats_in_use 3\n");
    assert_renders(ctl_render_metrics, "{\"metrics\":\"a\\tb\\u001b]0;x\\u0007\"}", "a\tb?]0;x?\n");
    assert_renders(ctl_render_metrics, "{\"metrics\":\"\"}", "");
    assert_malformed(ctl_render_metrics, "{\"metrics\":[]}",
                     "field 'metrics' is an array, not a string");
}

static void ctl_render_version__development__note(void **state)
{
    assert_renders(ctl_render_version, "{\"version\":\"0.1.0\",\"development_build\":false}",
                   "licgate 0.1.0 (server)\n");
    assert_renders(ctl_render_version, "{\"version\":\"0.1.0\",\"development_build\":true}",
                   "licgate 0.1.0 (server)\n"
                   "development build: it trusts the public development issuer key\n");
    assert_malformed(ctl_render_version, "{\"version\":1,\"development_build\":true}",
                     "field 'version' is an int, not a string");
}

/* ------------------------------------------------------------------ dispatch, sanitize */

static void ctl_render__not_an_object__ebadmsg_for_every_command(void **state)
{
    static const char *const commands[] = {"status", "sessions", "licenses",
                                           "reload", "metrics",  "version"};
    json_object *array = json_tokener_parse("[1]");

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char err[64];

        assert_true(ctl_command_known(commands[i]));
        assert_int_equal(ctl_render(commands[i], array, stdout, err, sizeof(err)), -EBADMSG);
        assert_string_equal(err, "not a JSON object");
        assert_int_equal(ctl_render(commands[i], NULL, stdout, err, sizeof(err)), -EBADMSG);
    }
    json_object_put(array);
}

static void ctl_render__unknown_command__enoent(void **state)
{
    json_object *obj = json_object_new_object();
    char err[64];

    assert_false(ctl_command_known("fingerprint"));
    assert_false(ctl_command_known(""));
    assert_int_equal(ctl_render("fingerprint", obj, stdout, err, sizeof(err)), -ENOENT);
    json_object_put(obj);
}

/* The server's text is printed as text.h cleans it: C0 and C1 controls and
 * DEL become '?', other characters stay; metrics keep their newlines and tabs. */
static void ctl_render__control_bytes__question_marks(void **state)
{
    assert_renders(ctl_render_version,
                   "{\"version\":\"a\\u0001\\u001f\\u007f\\u009b\\u00a0\\u00e9\\n\\tz\","
                   "\"development_build\":false}",
                   "licgate a????\xc2\xa0\xc3\xa9??z (server)\n");
    assert_renders(ctl_render_metrics, "{\"metrics\":\"a\\n\\tb\\r\"}", "a\n\tb?\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctl_parse_response__one_object_line__returns_object),
        cmocka_unit_test(ctl_parse_response__malformed_framing__ebadmsg),
        cmocka_unit_test(ctl_parse_response__nul_byte__ebadmsg),
        cmocka_unit_test(ctl_parse_response__other_protocol__eprotonosupport),
        cmocka_unit_test(ctl_parse_response__ok_false__eremoteio_with_sanitized_error),
        cmocka_unit_test(ctl_parse_response__at_size_cap__accepted),
        cmocka_unit_test(ctl_parse_response__over_size_cap__emsgsize),
        cmocka_unit_test(ctl_render_status__licensed__key_values_table_warnings),
        cmocka_unit_test(ctl_render_status__evaluation_development__says_so),
        cmocka_unit_test(ctl_render_status__bad_fields__ebadmsg_nothing_written),
        cmocka_unit_test(ctl_render_status__next_change__one_line_or_none),
        cmocka_unit_test(ctl_render_status__bad_next_change__ebadmsg_nothing_written),
        cmocka_unit_test(ctl_render_sessions__two_sessions__aligned_table),
        cmocka_unit_test(ctl_render_sessions__empty__no_sessions),
        cmocka_unit_test(ctl_render_sessions__control_characters__replaced_alignment_kept),
        cmocka_unit_test(ctl_render_sessions__bad_fields__ebadmsg_nothing_written),
        cmocka_unit_test(ctl_render_licenses__valid_and_invalid__dashes_for_absent_and_null),
        cmocka_unit_test(ctl_render_licenses__none_evaluation__limit_line),
        cmocka_unit_test(ctl_render_licenses__one_seat__singular),
        cmocka_unit_test(ctl_render_licenses__bad_fields__ebadmsg_nothing_written),
        cmocka_unit_test(ctl_render_reload__counts__one_line),
        cmocka_unit_test(ctl_render_metrics__text__verbatim_but_control_bytes),
        cmocka_unit_test(ctl_render_version__development__note),
        cmocka_unit_test(ctl_render__not_an_object__ebadmsg_for_every_command),
        cmocka_unit_test(ctl_render__unknown_command__enoent),
        cmocka_unit_test(ctl_render__control_bytes__question_marks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
