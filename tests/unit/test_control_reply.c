/* The control socket's answers from hand-made snapshots: every field, and text that would
 * break a JSON reader made safe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "control_reply.h"
#include "license.h"
#include "text.h"

static json_object *parse_strict(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line */
    o = json_tokener_parse_ex(tok, text, (int)len - 1);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    json_tokener_free(tok);
    return o;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    assert_true(json_object_object_get_ex(o, key, &v));
    return v;
}

static void control_reply_status__over_the_limit__field_and_warning(void **state)
{
    struct control_snapshot s;
    json_object *o, *w;
    size_t len = 0;
    char *text;

    (void)state;
    memset(&s, 0, sizeof(s));
    strcpy(s.pool, "vpn");
    s.st.in_use = 5;
    s.st.capacity = 16;
    s.limit = 2;
    s.machine.eval_in_use = 1;
    s.machine.registry_id = 3;
    s.machine.pool_id = 7;
    text = control_reply(&s, CONTROL_STATUS, &len);
    o = parse_strict(text, len);
    assert_int_equal(json_object_get_int(member(o, "over_limit")), 3);
    assert_int_equal(json_object_get_int(member(member(o, "machine"), "evaluation_seats_in_use")),
                     1);
    assert_int_equal(json_object_get_int(member(member(o, "machine"), "pool_segment")), 7);
    w = member(o, "warnings");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(w, 0)),
                        "over the limit: 5 in use, 2 licensed: new connections are refused "
                        "until 3 leave");
    json_object_put(o);
    free(text);
}

static void control_reply__hostile_text__valid_utf8_without_controls(void **state)
{
    struct control_snapshot s;
    struct seat_session sess;
    struct license_entry e;
    json_object *o, *x;
    size_t len = 0;
    char *text;

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(&sess, 0, sizeof(sess));
    memset(&e, 0, sizeof(e));
    /* a CN of 32 x "Ä" cut in the middle of the last one, a Latin-1 customer and file name */
    memset(sess.cn, 0, sizeof(sess.cn));
    for (int i = 0; i < 31; i++)
        memcpy(sess.cn + 2 * i, "Ä", 2);
    sess.cn[62] = '\xc3';
    strcpy(sess.addr, "192.0.2.1:1194\x1b[2J");
    s.sessions = &sess;
    s.nsessions = 1;
    text = control_reply(&s, CONTROL_SESSIONS, &len);
    o = parse_strict(text, len);
    x = json_object_array_get_idx(member(o, "sessions"), 0);
    assert_non_null(strstr(json_object_get_string(member(x, "cn")), "ÄÄ\\xC3"));
    assert_string_equal(json_object_get_string(member(x, "address")), "192.0.2.1:1194?[2J");
    json_object_put(o);
    free(text);

    e.loaded = 1;
    e.binding_ok = true;
    strcpy(e.file, "k\xf6ln.lic");
    strcpy(e.lic.key_id, "LG-TEXT");
    strcpy(e.lic.customer, "M\xfcller GmbH");
    e.lic.seats = 3;
    s.sessions = NULL;
    s.nsessions = 0;
    s.licenses.entries = &e;
    s.licenses.count = 1;
    text = control_reply(&s, CONTROL_LICENSES, &len);
    o = parse_strict(text, len);
    x = json_object_array_get_idx(member(o, "licenses"), 0);
    assert_string_equal(json_object_get_string(member(x, "customer")), "M\\xFCller GmbH");
    assert_string_equal(json_object_get_string(member(x, "file")), "k\\xF6ln.lic");
    json_object_put(o);
    free(text);
    text = control_reply(&s, CONTROL_METRICS, &len);
    o = parse_strict(text, len);
    assert_non_null(
        strstr(json_object_get_string(member(o, "metrics")), "file=\"k\\\\xF6ln.lic\""));
    assert_non_null(strchr(json_object_get_string(member(o, "metrics")), '\n'));
    json_object_put(o);
    free(text);
    text = control_reply(&s, CONTROL_STATUS, &len); /* the file name in a warning */
    json_object_put(parse_strict(text, len));
    free(text);
}

static void control_reply_reload__outcomes(void **state)
{
    struct maintenance_reload r = {.request = 4, .result = 0};
    json_object *o;
    size_t len = 0;
    char *text;

    (void)state;
    r.res.limit = 5;
    r.res.files = 3;
    r.res.counted = 2;
    text = control_reply_reload(&r, false, 4242, &len);
    o = parse_strict(text, len);
    assert_false(json_object_get_boolean(member(o, "followed")));
    assert_int_equal(json_object_get_int(member(o, "waiting_for_pid")), 4242);
    assert_int_equal(json_object_get_int(member(o, "limit")), 5);
    json_object_put(o);
    free(text);
    r.result = -ENOENT;
    strcpy(r.err, "license-dir /x: No such file or directory");
    text = control_reply_reload(&r, true, 0, &len);
    o = parse_strict(text, len);
    assert_false(json_object_get_boolean(member(o, "ok")));
    assert_string_equal(json_object_get_string(member(o, "error")),
                        "reload failed: license-dir /x: No such file or directory");
    json_object_put(o);
    free(text);
}

#define DAY 86400
#define NOW ((int64_t)1798761600) /* 2027-01-01T00:00:00Z */

/* A loaded license that counts at NOW unless its times say otherwise. */
static struct license_entry counting(const char *key, uint32_t seats, int64_t support_until)
{
    struct license_entry e;

    memset(&e, 0, sizeof(e));
    e.loaded = 1;
    e.binding_ok = true;
    snprintf(e.file, sizeof(e.file), "%s.lic", key);
    snprintf(e.lic.key_id, sizeof(e.lic.key_id), "%s", key);
    e.lic.seats = seats;
    e.lic.issued = NOW - 10 * DAY;
    e.lic.support_until = support_until;
    e.state = license_evaluate(&e.lic, NOW, e.reason, sizeof(e.reason));
    return e;
}

static char *time_text(int64_t t, char *buf)
{
    assert_int_equal(license_format_time(t, buf, LICENSE_TIME_BUFSIZE), 0);
    return buf;
}

/* The earliest end among the counting licenses, and the seats of those that
 * still count right after it. */
static void control_next_change__stacked__earliest_end_and_the_rest(void **state)
{
    struct license_entry e[5];
    struct license_set set = {.entries = e, .count = 5};
    int64_t at;
    uint32_t limit;

    (void)state;
    e[0] = counting("LG-SUPPORT", 10, NOW + 300 * DAY);
    e[1] = counting("LG-LEASE", 5, NOW + 700 * DAY);
    e[1].lic.lease_not_after = NOW + 20 * DAY;
    e[2] = counting("LG-PERPETUAL", 3, NOW - 100 * DAY);
    e[2].lic.perpetual = true;
    e[2].state = LICENSE_ACTIVE;
    /* does not count now: its end does not change the limit */
    e[3] = counting("LG-MISMATCH", 100, NOW + 2 * DAY);
    e[3].binding_ok = false;
    e[4] = counting("LG-SUNSET", 7, NOW + 700 * DAY);
    e[4].lic.sunset = NOW + 30 * DAY;
    assert_int_equal(control_next_change(&set, NOW, &at, &limit), 1);
    assert_int_equal(at, NOW + 20 * DAY);
    assert_int_equal(limit, 10 + 3 + 7);
    /* from the lease's end on, the sunset is next */
    assert_int_equal(control_next_change(&set, NOW + 20 * DAY, &at, &limit), 1);
    assert_int_equal(at, NOW + 30 * DAY);
    assert_int_equal(limit, 10 + 3);
    /* then the support end; the perpetual license is all that is left */
    assert_int_equal(control_next_change(&set, NOW + 30 * DAY, &at, &limit), 1);
    assert_int_equal(at, NOW + 300 * DAY);
    assert_int_equal(limit, 3);
    assert_int_equal(control_next_change(&set, NOW + 300 * DAY, &at, &limit), 0);
    assert_true(at == INT64_MAX);
    assert_int_equal(limit, 0);
}

/* The last license ending leaves the evaluation seats; licenses ending at
 * the same moment go together; one that starts before then is counted. */
static void control_next_change__last_license__evaluation_seats(void **state)
{
    struct license_entry e[3];
    struct license_set set = {.entries = e, .count = 2};
    int64_t at;
    uint32_t limit;

    (void)state;
    e[0] = counting("LG-A", 10, NOW + 40 * DAY);
    e[1] = counting("LG-B", 4, NOW + 60 * DAY);
    e[1].lic.lease_not_after = NOW + 40 * DAY;
    assert_int_equal(control_next_change(&set, NOW, &at, &limit), 1);
    assert_int_equal(at, NOW + 40 * DAY);
    assert_int_equal(limit, GATE_EVALUATION_SEATS);
    e[2] = counting("LG-LATER", 6, NOW + 400 * DAY);
    e[2].lic.issued = NOW + 10 * DAY; /* not yet valid now, counts by then */
    e[2].state = license_evaluate(&e[2].lic, NOW, e[2].reason, sizeof(e[2].reason));
    assert_int_equal(e[2].state, LICENSE_NOT_YET_VALID);
    set.count = 3;
    assert_int_equal(control_next_change(&set, NOW, &at, &limit), 1);
    assert_int_equal(at, NOW + 40 * DAY);
    assert_int_equal(limit, 6);
}

static void control_reply_status__next_change__at_and_limit_or_null(void **state)
{
    struct license_entry e[2];
    struct control_snapshot s;
    json_object *o, *x;
    char when[LICENSE_TIME_BUFSIZE];
    size_t len = 0;
    char *text;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.now = NOW;
    s.limit = 15;
    e[0] = counting("LG-A", 10, NOW + 365 * DAY);
    e[1] = counting("LG-B", 5, NOW + 90 * DAY);
    s.licenses.entries = e;
    s.licenses.count = 2;
    text = control_reply(&s, CONTROL_STATUS, &len);
    o = parse_strict(text, len);
    x = member(o, "next_change");
    assert_true(json_object_is_type(x, json_type_object));
    assert_string_equal(json_object_get_string(member(x, "at")), time_text(NOW + 90 * DAY, when));
    assert_int_equal(json_object_get_int(member(x, "limit")), 10);
    json_object_put(o);
    free(text);
    /* perpetual without lease or sunset: nothing will change */
    e[0].lic.perpetual = true;
    s.licenses.count = 1;
    text = control_reply(&s, CONTROL_STATUS, &len);
    o = parse_strict(text, len);
    assert_null(member(o, "next_change"));
    json_object_put(o);
    free(text);
    /* no license at all (evaluation): null too */
    s.licenses.count = 0;
    text = control_reply(&s, CONTROL_STATUS, &len);
    o = parse_strict(text, len);
    assert_null(member(o, "next_change"));
    json_object_put(o);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_reply_status__over_the_limit__field_and_warning),
        cmocka_unit_test(control_reply__hostile_text__valid_utf8_without_controls),
        cmocka_unit_test(control_reply_reload__outcomes),
        cmocka_unit_test(control_next_change__stacked__earliest_end_and_the_rest),
        cmocka_unit_test(control_next_change__last_license__evaluation_seats),
        cmocka_unit_test(control_reply_status__next_change__at_and_limit_or_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
