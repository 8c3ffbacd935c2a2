/* The activation request parser and validator, and the offline armor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation_request.h"
#include "crypto.h"

#define KEY  "LG-SJ8M-6ZVY-2YAY-KJXF"
#define HEXA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static uint8_t inst_priv[32];

static int setup(void **state)
{
    uint8_t pub[32];

    (void)state;
    return crypto_ed25519_keygen(inst_priv, pub);
}

/* A valid signed body (malloc'd), with a usage report of peak when peak >= 0. */
static char *valid_body_usage(size_t ncomponents, long peak)
{
    struct activation_request req;
    char *json = NULL;

    memset(&req, 0, sizeof(req));
    req.has_usage = peak >= 0;
    req.usage_peak = peak >= 0 ? (uint32_t)peak : 0;
    strcpy(req.key, KEY);
    for (size_t i = 0; i < ncomponents; i++) {
        req.components[i].type = i == 0 ? COMPONENT_MACHINE_ID : COMPONENT_NIC;
        memset(req.components[i].digest, (int)(0x10 + i), 32);
    }
    req.ncomponents = ncomponents;
    strcpy(req.nonce, "00112233445566778899aabbccddeeff");
    strcpy(req.time, "2026-11-29T10:00:00Z");
    assert_int_equal(activation_request_build(&req, inst_priv, &json), 0);
    return json;
}

static char *valid_body(size_t ncomponents)
{
    return valid_body_usage(ncomponents, -1);
}

/* body with the first occurrence of from replaced by to (malloc'd). */
static char *edited(const char *body, const char *from, const char *to)
{
    const char *at = strstr(body, from);
    size_t n = strlen(body) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - body), body, to, at + strlen(from));
    return out;
}

static void expect_refused(const char *body, int ret, const char *why)
{
    struct activation_request req;
    char err[256];

    assert_int_equal(activation_request_parse(body, strlen(body), &req, err, sizeof(err)), ret);
    if (strstr(err, why) == NULL)
        fail_msg("'%s' does not mention '%s'", err, why);
    assert_string_equal(req.key, "");
}

static void parse__valid__fields(void **state)
{
    struct activation_request req;
    char *body = valid_body(3), err[256], id[33];

    (void)state;
    assert_int_equal(activation_request_parse(body, strlen(body), &req, err, sizeof(err)), 0);
    assert_string_equal(req.key, KEY);
    assert_int_equal(req.ncomponents, 3);
    assert_int_equal(req.components[0].type, COMPONENT_MACHINE_ID);
    assert_int_equal(req.components[2].digest[0], 0x12);
    assert_false(req.is_virtual);
    assert_int_equal(activation_installation_id(req.installation_public_key, id), 0);
    assert_string_equal(req.installation_id, id);
    free(body);
}

static void parse__malformed_json__refused(void **state)
{
    char *body = valid_body(1), *trailing;

    (void)state;
    expect_refused("", -EBADMSG, "malformed JSON");
    expect_refused("{", -EBADMSG, "malformed JSON");
    expect_refused("[1,2]", -EBADMSG, "expected a JSON object");
    expect_refused("{'api':1}", -EBADMSG, "malformed JSON");
    trailing = malloc(strlen(body) + 4);
    assert_non_null(trailing);
    sprintf(trailing, "%s {}", body);
    expect_refused(trailing, -EBADMSG, ""); /* json-c strict: "unexpected character" */
    free(trailing);
    free(body);
}

static void parse__wrong_types__refused(void **state)
{
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"\"api\":1", "\"api\":\"1\"", "field 'api'"},
        {"\"api\":1", "\"api\":2", "field 'api'"},
        {"\"api\":1", "\"api\":1.0", "field 'api'"},
        {"\"virtual\":false", "\"virtual\":0", "binding.virtual"},
        {"\"key\":\"", "\"key\":7,\"x\":\"", "unknown field"},
        {"\"nonce\":\"00112233445566778899aabbccddeeff\"", "\"nonce\":\"00112233\"", "nonce"},
        {"\"nonce\":\"00112233445566778899aabbccddeeff\"",
         "\"nonce\":\"00112233445566778899AABBCCDDEEFF\"", "nonce"},
        {"\"time\":\"2026-11-29T10:00:00Z\"", "\"time\":\"2026-11-31T10:00:00Z\"", "time"},
        {"\"type\":\"machine-id\"", "\"type\":\"serial\"", "is not machine-id"},
        {"\"components\":[", "\"components\":[{\"type\":\"nic\",\"digest\":\"" HEXA "\",\"x\":1},",
         "unknown field 'x'"},
        {"\"components\":[", "\"components\":[[],", "expected an object"},
        {"\"binding\":{", "\"binding\":{\"rule\":\"all\",", "unknown field 'rule'"},
    };
    char *body = valid_body(1);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *bad = edited(body, cases[i].from, cases[i].to);
        expect_refused(bad, -EBADMSG, cases[i].why);
        free(bad);
    }
    free(body);
}

static void parse__missing_or_unknown_field__refused(void **state)
{
    char *body = valid_body(1), *bad;

    (void)state;
    bad = edited(body, "\"nonce\":", "\"nonse\":");
    expect_refused(bad, -EBADMSG, "unknown field 'nonse'");
    free(bad);
    bad = edited(body, "{\"api\":1,", "{");
    expect_refused(bad, -EBADMSG, "missing field 'api'");
    free(bad);
    free(body);
}

static void parse__component_rules__refused(void **state)
{
    char *body = valid_body(2), *bad, *digest;

    (void)state;
    /* Uppercase hex digest. */
    digest = strstr(body, "\"digest\":\"") + 10;
    bad = strdup(body);
    bad[digest - body] = 'A';
    expect_refused(bad, -EBADMSG, "64 lowercase hex");
    free(bad);
    /* Two machine-ids. */
    bad = edited(body, "\"type\":\"nic\"", "\"type\":\"machine-id\"");
    expect_refused(bad, -EBADMSG, "once each");
    free(bad);
    free(body);
    body = valid_body(LICENSE_MAX_COMPONENTS);
    bad = edited(body, "\"components\":[",
                 "\"components\":[{\"type\":\"nic\",\"digest\":\"" HEXA "\"},");
    expect_refused(bad, -EBADMSG, "1..16 components");
    free(bad);
    bad = edited(body, "\"components\":[{", "\"components\":[], \"x\":[{");
    expect_refused(bad, -EBADMSG, "");
    free(bad);
    free(body);
}

static void parse__oversized__emsgsize(void **state)
{
    size_t n = ACTIVATION_BODY_MAX + 1;
    char *big = malloc(n + 1);
    struct activation_request req;
    char err[128];

    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    assert_int_equal(activation_request_parse(big, n, &req, err, sizeof(err)), -EMSGSIZE);
    free(big);
}

static void parse__bad_signature__refused(void **state)
{
    char *body = valid_body(1), *bad;

    (void)state;
    /* Any signed field changed after signing. */
    bad = edited(body, "2026-11-29T10:00:00Z", "2026-11-29T10:00:01Z");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    bad = edited(body, "\"virtual\":false", "\"virtual\":true");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    bad = edited(body, KEY, "lg-sj8m-6zvy-2yay-kjxf");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    free(body);
}

static void parse__installation_id_not_of_key__refused(void **state)
{
    char *body = valid_body(1), *id = strstr(body, "\"installation_id\":\"") + 19;

    (void)state;
    *id = *id == '0' ? '1' : '0';
    expect_refused(body, -EBADMSG, "does not match installation_public_key");
    free(body);
}

static void parse__nul_byte__refused(void **state)
{
    char *body = valid_body(1);
    struct activation_request req;
    char err[128];
    size_t len = strlen(body);

    (void)state;
    body[10] = '\0';
    assert_int_equal(activation_request_parse(body, len, &req, err, sizeof(err)), -EBADMSG);
    free(body);
}

/* ------------------------------------------------------------ usage (a cluster node's report) */

static void parse__usage__optional_and_read(void **state)
{
    static const long peaks[] = {0, 7, ACTIVATION_USAGE_PEAK_MAX};
    struct activation_request req;
    char *body = valid_body(1), err[256];

    (void)state;
    assert_null(strstr(body, "usage"));
    assert_int_equal(activation_request_parse(body, strlen(body), &req, err, sizeof(err)), 0);
    assert_false(req.has_usage);
    free(body);
    for (size_t i = 0; i < sizeof(peaks) / sizeof(peaks[0]); i++) {
        body = valid_body_usage(1, peaks[i]);
        assert_int_equal(activation_request_parse(body, strlen(body), &req, err, sizeof(err)), 0);
        assert_true(req.has_usage);
        assert_int_equal(req.usage_peak, peaks[i]);
        free(body);
    }
}

static void parse__usage_out_of_range_or_wrong_type__refused(void **state)
{
    static const struct {
        const char *to, *why;
    } cases[] = {
        {"\"usage\":{\"peak\":1000001}", "field 'peak': 1000001 is not in 0..1000000"},
        {"\"usage\":{\"peak\":-1}", "field 'peak': -1 is not in 0..1000000"},
        {"\"usage\":{\"peak\":99999999999999999999}", "is not in 0..1000000"},
        {"\"usage\":{\"peak\":\"7\"}", "usage: field 'peak' is not an integer"},
        {"\"usage\":{\"peak\":7.0}", "usage: field 'peak' is not an integer"},
        {"\"usage\":{\"peak\":true}", "usage: field 'peak' is not an integer"},
        {"\"usage\":{\"peak\":null}", "usage: field 'peak' is not an integer"},
        {"\"usage\":{}", "usage: missing field 'peak'"},
        {"\"usage\":{\"peak\":7,\"in_use\":3}", "usage: unknown field 'in_use'"},
        {"\"usage\":7", "request: field 'usage' is not an object"},
        {"\"usage\":[7]", "request: field 'usage' is not an object"},
        {"\"usage\":null", "request: field 'usage' is not an object"},
    };
    char *body = valid_body_usage(1, 7);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *bad = edited(body, "\"usage\":{\"peak\":7}", cases[i].to);
        expect_refused(bad, -EBADMSG, cases[i].why);
        free(bad);
    }
    free(body);
}

/* The installation signs the report: it cannot be changed, added or taken
 * out on the way. */
static void parse__usage_changed_added_or_removed__bad_signature(void **state)
{
    char *with = valid_body_usage(1, 7), *without = valid_body(1), *bad;

    (void)state;
    bad = edited(with, "\"usage\":{\"peak\":7}", "\"usage\":{\"peak\":8}");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    bad = edited(with, "\"usage\":{\"peak\":7},", "");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    bad = edited(without, "\"signature\":", "\"usage\":{\"peak\":0},\"signature\":");
    expect_refused(bad, -EBADMSG, "bad signature");
    free(bad);
    free(with);
    free(without);
}

static void armor__round_trip__same_body_76_char_lines(void **state)
{
    char *body = valid_body(4), *text = NULL, *back = NULL, *line, err[128];
    size_t backlen;

    (void)state;
    assert_int_equal(activation_request_armor(body, strlen(body), &text, NULL), 0);
    assert_memory_equal(text, OFFLINE_REQUEST_BEGIN "\n", strlen(OFFLINE_REQUEST_BEGIN) + 1);
    line = strchr(text, '\n') + 1;
    assert_int_equal(strchr(line, '\n') - line, OFFLINE_LINE_LEN);
    assert_int_equal(
        activation_request_unarmor(text, strlen(text), &back, &backlen, err, sizeof(err)), 0);
    assert_string_equal(back, body);
    assert_int_equal(backlen, strlen(body));
    free(back);
    free(text);
    free(body);
}

static void armor__surrounding_text_and_crlf__accepted(void **state)
{
    const char *text = "Hello support,\r\n" OFFLINE_REQUEST_BEGIN
                       "\r\neyJhIjoxfQ==\r\n" OFFLINE_REQUEST_END "\r\nthanks\n";
    char *back = NULL, err[128];
    size_t len;

    (void)state;
    assert_int_equal(activation_request_unarmor(text, strlen(text), &back, &len, err, sizeof(err)),
                     0);
    assert_string_equal(back, "{\"a\":1}");
    free(back);
}

static void armor__broken__refused(void **state)
{
    static const char *const bad[] = {
        "no armor at all\n",
        OFFLINE_REQUEST_BEGIN "\neyJhIjoxfQ==\n",
        OFFLINE_REQUEST_BEGIN "\neyJhIj*xfQ==\n" OFFLINE_REQUEST_END "\n",
        OFFLINE_REQUEST_BEGIN "\neyJhIjoxfQ=\n" OFFLINE_REQUEST_END "\n",
        OFFLINE_REQUEST_BEGIN "\neyJhIjoxfR==\n" OFFLINE_REQUEST_END "\n",
        OFFLINE_REQUEST_BEGIN "\n" OFFLINE_REQUEST_END "\n",
    };
    char *back = NULL, err[128];
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            activation_request_unarmor(bad[i], strlen(bad[i]), &back, &len, err, sizeof(err)),
            -EBADMSG);
        assert_null(back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse__valid__fields),
        cmocka_unit_test(parse__malformed_json__refused),
        cmocka_unit_test(parse__wrong_types__refused),
        cmocka_unit_test(parse__missing_or_unknown_field__refused),
        cmocka_unit_test(parse__component_rules__refused),
        cmocka_unit_test(parse__oversized__emsgsize),
        cmocka_unit_test(parse__bad_signature__refused),
        cmocka_unit_test(parse__installation_id_not_of_key__refused),
        cmocka_unit_test(parse__nul_byte__refused),
        cmocka_unit_test(parse__usage__optional_and_read),
        cmocka_unit_test(parse__usage_out_of_range_or_wrong_type__refused),
        cmocka_unit_test(parse__usage_changed_added_or_removed__bad_signature),
        cmocka_unit_test(armor__round_trip__same_body_76_char_lines),
        cmocka_unit_test(armor__surrounding_text_and_crlf__accepted),
        cmocka_unit_test(armor__broken__refused),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
