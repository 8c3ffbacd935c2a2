#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "ctl_activate.h"

#define KEY "LG-ABYQ-7YMY-WCH3-PRWH"

/* A fixed installation: private key 0x42..., its public key derived. */
static void fixed_installation(struct ctl_installation *inst)
{
    memset(inst, 0, sizeof(*inst));
    memset(inst->priv, 0x42, sizeof(inst->priv));
    assert_int_equal(crypto_ed25519_public_from_private(inst->priv, inst->pub), 0);
    assert_int_equal(activation_installation_id(inst->pub, inst->id), 0);
}

static void fixed_request(struct activation_request *req)
{
    struct ctl_installation inst;
    struct binding_component comps[2];
    uint8_t nonce[16];

    fixed_installation(&inst);
    comps[0].type = COMPONENT_MACHINE_ID;
    memset(comps[0].digest, 0xab, 32);
    comps[1].type = COMPONENT_NIC;
    memset(comps[1].digest, 0x01, 32);
    memset(nonce, 0x5a, sizeof(nonce));
    /* 2026-11-29T10:00:00Z */
    assert_int_equal(ctl_request_build(req, KEY, &inst, comps, 2, false, 1795946400, nonce, NULL),
                     0);
}

static __attribute__((noinline)) char *request_json(const struct activation_request *req,
                                                    size_t *len)
{
    char *json = NULL;

    assert_int_equal(activation_request_to_json(req, &json, len), 0);
    assert_non_null(json);
    return json;
}

/* ------------------------------------------------------------ identity */

static void activation_installation_id__public_key__first_16_bytes_of_sha256(void **state)
{
    uint8_t pub[32];
    char id[ACTIVATION_INSTALLATION_ID_HEX + 1];

    for (int i = 0; i < 32; i++)
        pub[i] = (uint8_t)(i + 1);
    assert_int_equal(activation_installation_id(pub, id), 0);
    assert_string_equal(id, "ae216c2ef5247a3782c135efa279a3e4");
}

static void ctl_installation_load__first_use__creates_0600_and_reloads_same(void **state)
{
    char dir[64] = "/tmp/test_ctl_activate.XXXXXX", path[256], err[256];
    struct ctl_installation a, b;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    strcat(dir, "/state"); /* missing: made on the way */
    assert_int_equal(ctl_installation_load(dir, false, &a, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "no installation key"));
    assert_int_equal(ctl_installation_load(dir, true, &a, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, CTL_INSTALLATION_KEY_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(ctl_installation_load(dir, true, &b, err, sizeof(err)), 0);
    assert_string_equal(a.id, b.id);
    assert_memory_equal(a.pub, b.pub, 32);
    assert_int_equal(strlen(a.id), 32);

    /* Readable by others: refused, like ssh refuses such a key. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(ctl_installation_load(dir, true, &b, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(b.id[0], '\0');

    unlink(path);
    rmdir(dir);
    dir[strlen(dir) - strlen("/state")] = '\0';
    rmdir(dir);
    ctl_installation_clear(&a);
    ctl_installation_clear(&b);
}

/* ------------------------------------------------------------ the request */

static void activation_request_message__fixed_request__canonical_bytes(void **state)
{
    static const char expected[] = "licgate-activation-v1\0"
                                   "1\n" KEY "\n";
    struct activation_request req;
    char *msg = NULL, line[400], digest[65];
    size_t len = 0, off;

    fixed_request(&req);
    assert_int_equal(activation_request_message(&req, &msg, &len), 0);
    assert_memory_equal(msg, expected, sizeof(expected) - 1);
    off = sizeof(expected) - 1;
    snprintf(line, sizeof(line), "%s\n", req.installation_id);
    assert_memory_equal(msg + off, line, strlen(line));
    off += strlen(line);
    off += strcspn(msg + off, "\n") + 1; /* the public key, base64 */
    memset(digest, 'a', 64);
    for (int i = 1; i < 64; i += 2)
        digest[i] = 'b';
    digest[64] = '\0';
    snprintf(line, sizeof(line),
             "machine-id=%s\n"
             "nic=0101010101010101010101010101010101010101010101010101010101010101\n"
             "false\n"
             "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
             "2026-11-29T10:00:00Z\n",
             digest);
    assert_int_equal(len - off, strlen(line));
    assert_memory_equal(msg + off, line, strlen(line));
    free(msg);
}

static void ctl_request_build__signed__verifies_and_any_change_breaks_it(void **state)
{
    struct activation_request req, changed;

    fixed_request(&req);
    assert_int_equal(activation_request_verify(&req), 0);

    changed = req;
    changed.nonce[0] = changed.nonce[0] == '0' ? '1' : '0';
    assert_int_equal(activation_request_verify(&changed), -EBADMSG);
    changed = req;
    changed.is_virtual = true;
    assert_int_equal(activation_request_verify(&changed), -EBADMSG);
    changed = req;
    changed.components[1].digest[31] ^= 1;
    assert_int_equal(activation_request_verify(&changed), -EBADMSG);
    changed = req;
    changed.key[3] = 'X';
    assert_int_equal(activation_request_verify(&changed), -EBADMSG);
    changed = req;
    changed.ncomponents = 1;
    assert_int_equal(activation_request_verify(&changed), -EBADMSG);
}

static void ctl_request_build__bad_arguments__einval_and_zeroed(void **state)
{
    struct ctl_installation inst;
    struct binding_component comp = {.type = COMPONENT_NIC};
    struct activation_request req;
    uint8_t nonce[16] = {0};
    uint32_t peak = ACTIVATION_USAGE_PEAK_MAX + 1;

    fixed_installation(&inst);
    assert_int_equal(ctl_request_build(&req, "", &inst, &comp, 1, false, 1795946400, nonce, NULL),
                     -EINVAL);
    assert_int_equal(
        ctl_request_build(&req, "lg-lower", &inst, &comp, 1, false, 1795946400, nonce, NULL),
        -EINVAL);
    assert_int_equal(ctl_request_build(&req, KEY, &inst, &comp, 0, false, 1795946400, nonce, NULL),
                     -EINVAL);
    assert_int_equal(ctl_request_build(&req, KEY, &inst, &comp, 1, false, 1795946400, nonce, &peak),
                     -EINVAL);
    assert_int_equal(req.key[0], '\0');
}

/* A cluster node's usage report is signed as one more line after the time,
 * and only when it is there: a request without it signs what it always did. */
static void ctl_request_build__usage__signed_as_last_line(void **state)
{
    struct ctl_installation inst;
    struct binding_component comp = {.type = COMPONENT_NIC};
    struct activation_request plain, req;
    char *msg = NULL, *plain_msg = NULL;
    size_t len = 0, plain_len = 0;
    uint8_t nonce[16] = {0};
    uint32_t peak = 7;

    fixed_installation(&inst);
    assert_int_equal(
        ctl_request_build(&plain, KEY, &inst, &comp, 1, false, 1795946400, nonce, NULL), 0);
    assert_int_equal(ctl_request_build(&req, KEY, &inst, &comp, 1, false, 1795946400, nonce, &peak),
                     0);
    assert_true(req.has_usage);
    assert_int_equal(req.usage_peak, 7);
    assert_int_equal(activation_request_message(&plain, &plain_msg, &plain_len), 0);
    assert_int_equal(activation_request_message(&req, &msg, &len), 0);
    assert_int_equal(len, plain_len + strlen("usage.peak=7\n"));
    assert_memory_equal(msg, plain_msg, plain_len);
    assert_memory_equal(msg + plain_len, "usage.peak=7\n", strlen("usage.peak=7\n"));
    assert_int_equal(activation_request_verify(&req), 0);
    req.usage_peak = 8;
    assert_int_equal(activation_request_verify(&req), -EBADMSG);
    req.usage_peak = 7;
    req.has_usage = false;
    assert_int_equal(activation_request_verify(&req), -EBADMSG);
    free(msg);
    free(plain_msg);
}

static void activation_request_json__round_trip__same_request(void **state)
{
    struct activation_request req, back;
    char err[256], *json;
    size_t len;

    fixed_request(&req);
    json = request_json(&req, &len);
    assert_true(len < ACTIVATION_BODY_MAX);
    assert_null(strstr(json, "priv"));
    assert_int_equal(activation_request_parse(json, len, &back, err, sizeof(err)), 0);
    assert_memory_equal(&req, &back, sizeof(req));
    assert_int_equal(activation_request_verify(&back), 0);
    free(json);
}

/* Replaces the first occurrence of from in json by to; asserts the parse fails
 * with a reason containing why. */
static void assert_request_rejected(const char *from, const char *to, const char *why)
{
    struct activation_request req, back;
    char err[256] = "", *json, *edited;
    size_t len, off;

    fixed_request(&req);
    json = request_json(&req, &len);
    assert_non_null(strstr(json, from));
    off = (size_t)(strstr(json, from) - json);
    assert_true(asprintf(&edited, "%.*s%s%s", (int)off, json, to, json + off + strlen(from)) > 0);
    assert_int_equal(activation_request_parse(edited, strlen(edited), &back, err, sizeof(err)),
                     -EBADMSG);
    if (!strstr(err, why))
        fail_msg("'%s' does not say '%s'", err, why);
    assert_int_equal(back.key[0], '\0');
    free(edited);
    free(json);
}

static void activation_request_parse__malformed__ebadmsg_naming_the_field(void **state)
{
    assert_request_rejected("\"api\":1", "\"api\":\"1\"", "field 'api' is not an integer");
    assert_request_rejected("\"api\":1", "\"api\":2", "api 2");
    assert_request_rejected("\"api\":1,", "", "missing field 'api'");
    assert_request_rejected("\"api\":1", "\"api\":1,\"extra\":0", "unknown field 'extra'");
    assert_request_rejected("\"virtual\":false", "\"virtual\":0",
                            "field 'virtual' is not a boolean");
    assert_request_rejected("\"type\":\"nic\"", "\"type\":\"usb\"", "unknown type");
    assert_request_rejected("\"nonce\":\"5a", "\"nonce\":\"5A", "nonce");
    assert_request_rejected("\"time\":\"2026", "\"time\":\"2026x", "time");
    assert_request_rejected("\"installation_id\":\"", "\"installation_id\":\"0", "installation_id");
    assert_request_rejected("{", "[{", "not JSON");
    assert_request_rejected("\"signature\":\"", "\"signature\":\"A", "signature");
}

static void activation_request_parse__other_installations_id__ebadmsg(void **state)
{
    struct activation_request req, back;
    char err[256], *json;
    size_t len, off;

    fixed_request(&req);
    json = request_json(&req, &len);
    assert_non_null(strstr(json, req.installation_id));
    off = (size_t)(strstr(json, req.installation_id) - json);
    json[off] = json[off] == '0' ? '1' : '0';
    assert_int_equal(activation_request_parse(json, len, &back, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "does not belong to the public key"));
    free(json);
}

/* ------------------------------------------------------------ the armor */

static void activation_request_armor__round_trip__same_json_76_column_lines(void **state)
{
    struct activation_request req;
    char err[256], *json, *armored, *back, *line, *save = NULL, *copy;
    size_t len, alen, blen, lines = 0;

    fixed_request(&req);
    json = request_json(&req, &len);
    assert_int_equal(activation_request_armor(json, len, &armored, &alen), 0);
    assert_int_equal(strlen(armored), alen);
    assert_int_equal(
        strncmp(armored, OFFLINE_REQUEST_BEGIN "\n", strlen(OFFLINE_REQUEST_BEGIN) + 1), 0);
    assert_string_equal(armored + alen - strlen(OFFLINE_REQUEST_END) - 1, OFFLINE_REQUEST_END "\n");
    copy = strdup(armored);
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++)
        if (lines > 0 && strcmp(line, OFFLINE_REQUEST_END) != 0)
            assert_true(strlen(line) <= OFFLINE_LINE_LEN);
    assert_true(lines > 3);
    free(copy);

    assert_int_equal(activation_request_unarmor(armored, alen, &back, &blen, err, sizeof(err)), 0);
    assert_int_equal(blen, len);
    assert_string_equal(back, json);
    free(back);
    free(armored);
    free(json);
}

static void activation_request_unarmor__mail_body_with_crlf__same_json(void **state)
{
    char err[256], *armored, *mail, *back, *p, *q;
    size_t alen, blen;
    const char *json = "{\"api\":1}";

    assert_int_equal(activation_request_armor(json, strlen(json), &armored, &alen), 0);
    mail = malloc(2 * alen + 64);
    assert_non_null(mail);
    strcpy(mail, "Hello,\r\nhere is the request:\r\n\r\n");
    q = mail + strlen(mail);
    for (p = armored; *p; p++) {
        if (*p == '\n')
            *q++ = '\r';
        *q++ = *p;
    }
    strcpy(q, "\r\nRegards\r\n");
    assert_int_equal(activation_request_unarmor(mail, strlen(mail), &back, &blen, err, sizeof(err)),
                     0);
    assert_string_equal(back, json);
    free(back);
    free(mail);
    free(armored);
}

static void activation_request_unarmor__damaged__ebadmsg(void **state)
{
    char err[256], *back = (char *)"unchanged";
    size_t blen = 7;
    static const char *const damaged[] = {
        "no armor at all\n",
        OFFLINE_REQUEST_BEGIN "\neyJhcGkiOjF9\n",                           /* no END */
        OFFLINE_REQUEST_BEGIN "\neyJhcGki*jF9\n" OFFLINE_REQUEST_END "\n",  /* not base64 */
        OFFLINE_REQUEST_BEGIN "\neyJhcGkiOjF\n" OFFLINE_REQUEST_END "\n",   /* cut short */
        OFFLINE_REQUEST_BEGIN "\n" OFFLINE_REQUEST_END "\n",                /* empty */
        OFFLINE_REQUEST_BEGIN "\neyJhcGkiOjF9 \n" OFFLINE_REQUEST_END "\n", /* a space */
    };

    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        assert_int_equal(activation_request_unarmor(damaged[i], strlen(damaged[i]), &back, &blen,
                                                    err, sizeof(err)),
                         -EBADMSG);
        assert_null(back);
        assert_int_equal(blen, 0);
        assert_non_null(strstr(err, "request file: "));
    }
}

/* ------------------------------------------------------------ the answer */

static int answer(const char *body, long status, char **license, char *code, char *err)
{
    size_t len = 0;

    return ctl_parse_answer(body, strlen(body), status, license, &len, code, 64, err, 256);
}

static void ctl_parse_answer__ok__the_license(void **state)
{
    char code[64] = "x", err[256], *license = NULL;
    size_t len = 0;
    const char *body = "{\"api\":1,\"ok\":true,\"license\":\"-----BEGIN LICGATE LICENSE-----\\n"
                       "format: 1\\n\"}\n";

    assert_int_equal(ctl_parse_answer(body, strlen(body), 200, &license, &len, code, sizeof(code),
                                      err, sizeof(err)),
                     0);
    assert_string_equal(license, "-----BEGIN LICGATE LICENSE-----\nformat: 1\n");
    assert_int_equal(len, strlen(license));
    assert_string_equal(code, "");
    free(license);
}

static void ctl_parse_answer__refusal_codes__their_messages(void **state)
{
    static const struct {
        const char *code, *error, *expected;
        long status;
    } cases[] = {
        {"unknown-key", "whatever", "license key unknown", 404},
        {"refunded", "", "license key refunded", 410},
        {"already-activated", "x",
         "License error: machine properties validation failed: verify fail: key already "
         "activated on another machine",
         409},
        {"support-over", "support term over: ended 2026-01-01T00:00:00Z",
         "support term over: ended 2026-01-01T00:00:00Z", 403},
        {"support-over", "nope",
         "support term over: the machine changed and re-binding needs a valid support term", 403},
        {"rebind-limit", "re-bound 3 times in 30 days: contact support",
         "re-bound 3 times in 30 days: contact support", 429},
        {"bad-request", "field 'nonce': expected 32 lowercase hex digits",
         "the authority rejected the request: field 'nonce': expected 32 lowercase hex digits",
         400},
        {"revoked", "license key revoked", "license key revoked", 410},
        {"new-code", "", "the authority refused (HTTP 418, code 'new-code')", 418},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512], code[64], err[256], *license = (char *)"unchanged";

        snprintf(body, sizeof(body), "{\"api\":1,\"ok\":false,\"code\":\"%s\",\"error\":\"%s\"}",
                 cases[i].code, cases[i].error);
        assert_int_equal(answer(body, cases[i].status, &license, code, err), -EREMOTEIO);
        assert_null(license);
        assert_string_equal(code, cases[i].code);
        assert_string_equal(err, cases[i].expected);
    }
}

static void ctl_parse_answer__control_bytes_in_error__replaced(void **state)
{
    char code[64], err[256], *license;

    assert_int_equal(
        answer("{\"api\":1,\"ok\":false,\"code\":\"x\",\"error\":\"a\\u001b[2Jb\\nc\"}", 403,
               &license, code, err),
        -EREMOTEIO);
    assert_string_equal(err, "a?[2Jb?c");
}

static void ctl_parse_answer__malformed__ebadmsg(void **state)
{
    static const struct {
        const char *body, *why;
        long status;
    } cases[] = {
        {"<html>502 Bad Gateway</html>", "(HTTP 502): not JSON", 502},
        {"", "not JSON", 200},
        {"[1,2]", "not a JSON object", 200},
        {"{\"api\":1,\"ok\":true,\"license\":\"x\"} junk", "not JSON", 200},
        {"{\"api\":1,\"ok\":\"true\",\"license\":\"x\"}", "field 'ok' is not a boolean", 200},
        {"{\"api\":\"1\",\"ok\":true,\"license\":\"x\"}", "field 'api' is not an integer", 200},
        {"{\"ok\":true,\"license\":\"x\"}", "missing field 'api'", 200},
        {"{\"api\":1,\"ok\":true,\"license\":7}", "field 'license' is not a string", 200},
        {"{\"api\":1,\"ok\":true}", "missing field 'license'", 200},
        {"{\"api\":1,\"ok\":true,\"license\":\"\"}", "empty or oversized license", 200},
        {"{\"api\":1,\"ok\":true,\"license\":\"x\"}", "ok with HTTP 500", 500},
        {"{\"api\":1,\"ok\":false,\"code\":3,\"error\":\"x\"}", "field 'code' is not a string",
         400},
        {"{\"api\":1,\"ok\":false}", "without saying why", 400},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char code[64], err[256] = "", *license = (char *)"unchanged";

        assert_int_equal(answer(cases[i].body, cases[i].status, &license, code, err), -EBADMSG);
        assert_null(license);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].why);
    }
}

static void ctl_parse_answer__nul_byte__ebadmsg(void **state)
{
    static const char body[] = "{\"api\":1,\"ok\":true,\"license\":\"a\"}\0{}";
    char err[256], *license;
    size_t len;

    assert_int_equal(
        ctl_parse_answer(body, sizeof(body) - 1, 200, &license, &len, NULL, 0, err, sizeof(err)),
        -EBADMSG);
    assert_non_null(strstr(err, "NUL"));
}

static void ctl_parse_answer__other_api_version__eprotonosupport(void **state)
{
    char code[64], err[256], *license;

    assert_int_equal(answer("{\"api\":2,\"ok\":true,\"license\":\"x\"}", 200, &license, code, err),
                     -EPROTONOSUPPORT);
    assert_string_equal(err, "the authority speaks API 2, licgatectl speaks 1");
}

static void ctl_parse_answer__huge_body__emsgsize(void **state)
{
    size_t n = CTL_ANSWER_MAX + 1, len = 7;
    char *body = malloc(n), err[256], *license = (char *)"unchanged";

    assert_non_null(body);
    memset(body, ' ', n);
    body[0] = '{';
    body[n - 1] = '}';
    assert_int_equal(ctl_parse_answer(body, n, 200, &license, &len, NULL, 0, err, sizeof(err)),
                     -EMSGSIZE);
    assert_null(license);
    assert_int_equal(len, 0);
    assert_string_equal(err, "the authority's answer is larger than 64 KiB");
    free(body);
}

/* ------------------------------------------------------------ transfer errors */

static const char *transfer(int code, long os_errno, const char *detail)
{
    static char buf[512];

    ctl_transfer_error_message(code, os_errno, "licensing.example", 443, detail, buf, sizeof(buf));
    return buf;
}

static void ctl_transfer_error_message__each_cause__its_line(void **state)
{
    assert_string_equal(transfer(CURLE_COULDNT_RESOLVE_HOST, 0, "Could not resolve host"),
                        "DNS lookup failed: cannot resolve 'licensing.example' (check the "
                        "resolver, or use offline activation)");
    assert_string_equal(transfer(CURLE_OPERATION_TIMEDOUT, 0, "Connection timed out after 10001"),
                        "connection to licensing.example:443 timed out (a firewall? the "
                        "authority needs outbound TCP 443, no proxy)");
    assert_string_equal(transfer(CURLE_COULDNT_CONNECT, ETIMEDOUT, ""),
                        "connection to licensing.example:443 timed out (a firewall? the "
                        "authority needs outbound TCP 443, no proxy)");
    assert_string_equal(transfer(CURLE_COULDNT_CONNECT, ECONNREFUSED, "Failed to connect"),
                        "connection refused by licensing.example:443");
    assert_string_equal(transfer(CURLE_COULDNT_CONNECT, ENETUNREACH, ""),
                        "cannot connect to licensing.example:443: Network is unreachable (check "
                        "the route)");
    assert_string_equal(
        transfer(CURLE_PEER_FAILED_VERIFICATION, 0,
                 "SSL certificate problem: unable to get local issuer certificate"),
        "TLS verification failed: SSL certificate problem: unable to get local issuer certificate");
    assert_string_equal(transfer(CURLE_SSL_CACERT_BADFILE, 0, "error setting certificate file"),
                        "TLS verification failed: error setting certificate file");
    assert_string_equal(transfer(CURLE_SSL_CONNECT_ERROR, 0, "wrong version number"),
                        "TLS verification failed: wrong version number");
    assert_string_equal(transfer(CURLE_GOT_NOTHING, 0, "Empty reply from server"),
                        "connection to licensing.example:443 lost: Empty reply from server");
    assert_string_equal(transfer(CURLE_WRITE_ERROR, 0, "Failure writing output"),
                        "the answer from licensing.example:443 is larger than 64 KiB");
    assert_string_equal(transfer(CURLE_UNSUPPORTED_PROTOCOL, 0, "Protocol \"http\" not supported"),
                        "bad authority URL: Protocol \"http\" not supported (use "
                        "https://HOST[:PORT])");
    /* No detail: curl's own text for the code. */
    assert_string_equal(transfer(CURLE_TOO_MANY_REDIRECTS, 0, NULL),
                        "cannot reach the authority at licensing.example:443: Number of "
                        "redirects hit maximum amount");
    /* Control bytes in the detail are not printed. */
    assert_string_equal(transfer(CURLE_PEER_FAILED_VERIFICATION, 0, "bad\ncert\x1b"),
                        "TLS verification failed: bad?cert?");
}

static void ctl_authority_post__not_https__einval_before_any_network(void **state)
{
    char err[256], *ans = (char *)"unchanged";
    size_t len = 1;
    long status = 1;

    assert_int_equal(ctl_authority_post("http://127.0.0.1:1", "/v1/activate", "{}", 2, NULL, &ans,
                                        &len, &status, err, sizeof(err)),
                     -EINVAL);
    assert_null(ans);
    assert_string_equal(err, "bad authority URL 'http://127.0.0.1:1' (use https://HOST[:PORT])");
    assert_int_equal(ctl_authority_post("not a url", "/v1/activate", "{}", 2, NULL, &ans, &len,
                                        &status, err, sizeof(err)),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(activation_installation_id__public_key__first_16_bytes_of_sha256),
        cmocka_unit_test(ctl_installation_load__first_use__creates_0600_and_reloads_same),
        cmocka_unit_test(activation_request_message__fixed_request__canonical_bytes),
        cmocka_unit_test(ctl_request_build__signed__verifies_and_any_change_breaks_it),
        cmocka_unit_test(ctl_request_build__bad_arguments__einval_and_zeroed),
        cmocka_unit_test(ctl_request_build__usage__signed_as_last_line),
        cmocka_unit_test(activation_request_json__round_trip__same_request),
        cmocka_unit_test(activation_request_parse__malformed__ebadmsg_naming_the_field),
        cmocka_unit_test(activation_request_parse__other_installations_id__ebadmsg),
        cmocka_unit_test(activation_request_armor__round_trip__same_json_76_column_lines),
        cmocka_unit_test(activation_request_unarmor__mail_body_with_crlf__same_json),
        cmocka_unit_test(activation_request_unarmor__damaged__ebadmsg),
        cmocka_unit_test(ctl_parse_answer__ok__the_license),
        cmocka_unit_test(ctl_parse_answer__refusal_codes__their_messages),
        cmocka_unit_test(ctl_parse_answer__control_bytes_in_error__replaced),
        cmocka_unit_test(ctl_parse_answer__malformed__ebadmsg),
        cmocka_unit_test(ctl_parse_answer__nul_byte__ebadmsg),
        cmocka_unit_test(ctl_parse_answer__other_api_version__eprotonosupport),
        cmocka_unit_test(ctl_parse_answer__huge_body__emsgsize),
        cmocka_unit_test(ctl_transfer_error_message__each_cause__its_line),
        cmocka_unit_test(ctl_authority_post__not_https__einval_before_any_network),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
