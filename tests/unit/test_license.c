#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "license.h"
#include "license_sign.h"
#include "crypto.h"
#include "unit_fixture.h"

#define DAY     86400
#define DOC_MAX 8192
/* 2026-11-29T00:00:00Z */
#define T0       1795910400LL
#define DIGEST_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define DIGEST_2 "2222222222222222222222222222222222222222222222222222222222222222"

static void standard_license(struct license *lic)
{
    memset(lic, 0, sizeof(*lic));
    strcpy(lic->key_id, "LG-7KQ2-MX4P-9TZD");
    strcpy(lic->customer, "Example Corp");
    lic->seats = 10;
    lic->kind = LICENSE_KIND_STANDARD;
    lic->issued = T0;
    lic->support_until = T0 + 365 * DAY;
    lic->lease_not_after = T0 + 30 * DAY;
}

/* Signed document for lic in *doc; the caller frees it. */
static void sign_license(const struct license *lic, const uint8_t priv[32], char **doc, size_t *len)
{
    assert_int_equal(license_sign(lic, priv, doc, len), 0);
    assert_non_null(*doc);
}

/* Signs an arbitrary payload the way the format does, so parse errors
 * behind a valid signature can be reached. */
static size_t sign_payload(const char *payload, const uint8_t priv[32], char *doc, size_t cap)
{
    static const char domain[] = "licgate-license-v1";
    uint8_t message[DOC_MAX], sig[64];
    char b64[89];
    size_t plen = strlen(payload);
    int n;

    assert_true(sizeof(domain) + plen <= sizeof(message));
    memcpy(message, domain, sizeof(domain));
    memcpy(message + sizeof(domain), payload, plen);
    assert_int_equal(crypto_ed25519_sign(priv, message, sizeof(domain) + plen, sig), 0);
    assert_int_equal(crypto_base64_encode(sig, 64, b64, sizeof(b64)), 0);
    n = snprintf(doc, cap,
                 "-----BEGIN LICGATE LICENSE-----\n%ssignature: %s\n"
                 "-----END LICGATE LICENSE-----\n",
                 payload, b64);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void issuer_hex(const struct issuer_key *key, char hex[17])
{
    uint8_t id[8];

    assert_int_equal(license_issuer_id(key, id), 0);
    for (size_t i = 0; i < 8; i++)
        sprintf(hex + 2 * i, "%02x", id[i]);
}

/* A payload in canonical order with one line replaced (or not, if field is
 * NULL) by replacement. */
static void build_payload(char *buf, size_t cap, const struct issuer_key *issuer, const char *field,
                          const char *replacement)
{
    char hex[17], issuer_line[32];
    const char *lines[] = {
        "format: 1\n",
        "key-id: LG-7KQ2-MX4P-9TZD\n",
        "customer: Example Corp\n",
        "seats: 10\n",
        "kind: standard\n",
        "primary-key: none\n",
        "issued: 2026-11-29T00:00:00Z\n",
        "support-until: 2027-11-29T00:00:00Z\n",
        "perpetual: no\n",
        "lease-not-after: 2026-12-29T00:00:00Z\n",
        "sunset: none\n",
        "installation-id: none\n",
        "binding: none\n",
        issuer_line,
    };

    issuer_hex(issuer, hex);
    snprintf(issuer_line, sizeof(issuer_line), "issuer: %s\n", hex);
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const char *line = lines[i];
        if (field != NULL && strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
            line = replacement;
        assert_true(strlen(buf) + strlen(line) < cap);
        strcat(buf, line);
    }
}

/* Parses with only the trusted key; asserts rejection, a zeroed out and the
 * expected reason (when not NULL). */
static void assert_rejected(const char *doc, size_t len, const char *reason)
{
    struct license lic;
    char err[256];

    memset(&lic, 0xAA, sizeof(lic));
    assert_int_equal(license_parse_verify(doc, len, &trusted_key, 1, &lic, err, sizeof(err)),
                     -EBADMSG);
    assert_true(unit_all_zero(&lic, sizeof(lic)));
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    if (reason != NULL)
        assert_string_equal(err, reason);
}

static void license_parse_verify__valid__fields_correct(void **state)
{
    struct license in, out;
    char err[256], *doc;
    uint8_t id[8];
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    assert_int_equal(strlen(doc), len);
    assert_int_equal(license_parse_verify(doc, len, &trusted_key, 1, &out, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(out.key_id, "LG-7KQ2-MX4P-9TZD");
    assert_string_equal(out.customer, "Example Corp");
    assert_int_equal(out.seats, 10);
    assert_int_equal(out.kind, LICENSE_KIND_STANDARD);
    assert_string_equal(out.primary_key, "");
    assert_int_equal(out.issued, T0);
    assert_int_equal(out.support_until, T0 + 365 * DAY);
    assert_false(out.perpetual);
    assert_int_equal(out.lease_not_after, T0 + 30 * DAY);
    assert_int_equal(out.sunset, 0);
    assert_string_equal(out.installation_id, "");
    assert_int_equal(out.binding_rule, BINDING_NONE);
    assert_int_equal(out.ncomponents, 0);
    assert_int_equal(license_issuer_id(&trusted_key, id), 0);
    assert_memory_equal(out.issuer_id, id, 8);
    assert_non_null(strstr(doc, "issued: 2026-11-29T00:00:00Z\n"));
    free(doc);
}

static void license_parse_verify__all_fields_set__round_trip(void **state)
{
    struct license in, out;
    char err[256], *doc;
    size_t len;

    (void)state;
    standard_license(&in);
    in.kind = LICENSE_KIND_FAILOVER;
    strcpy(in.primary_key, "LG-PRIMARY-0001");
    strcpy(in.customer, "Ex\xc3\xa4mple GmbH & Co. KG");
    in.perpetual = true;
    in.sunset = T0 + 7 * DAY;
    strcpy(in.installation_id, "0123456789abcdef0123456789abcdef");
    in.binding_rule = BINDING_ALL_BUT;
    in.binding_tolerance = 1;
    in.ncomponents = 3;
    in.components[0].type = COMPONENT_MACHINE_ID;
    memset(in.components[0].digest, 0x11, 32);
    in.components[1].type = COMPONENT_NIC;
    memset(in.components[1].digest, 0x22, 32);
    in.components[2].type = COMPONENT_NIC;
    memset(in.components[2].digest, 0x33, 32);
    sign_license(&in, trusted_priv, &doc, &len);
    assert_int_equal(license_parse_verify(doc, len, &trusted_key, 1, &out, err, sizeof(err)), 0);
    assert_int_equal(license_issuer_id(&trusted_key, in.issuer_id), 0);
    assert_memory_equal(&in, &out, sizeof(in));
    free(doc);
}

static void license_parse_verify__no_final_newline__accepted(void **state)
{
    struct license in, out;
    char err[256], *doc;
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    assert_int_equal(license_parse_verify(doc, len - 1, &trusted_key, 1, &out, err, sizeof(err)),
                     0);
    free(doc);
}

/* Changes the last byte of a line to another byte of the same class. */
static void alter_line_end(char *line_end)
{
    char ch = line_end[-1];

    if (ch >= '0' && ch <= '8')
        line_end[-1] = (char)(ch + 1);
    else if (ch == '9')
        line_end[-1] = '8';
    else if (ch == 'z' || ch == 'Z')
        line_end[-1] = (char)(ch - 1);
    else
        line_end[-1] = (char)(ch + 1);
}

static void license_parse_verify__field_altered__bad_signature(void **state)
{
    struct license in;
    char *doc, *copy, *line, *newline;
    size_t len, altered = 0;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    copy = malloc(len + 1);
    assert_non_null(copy);
    line = strchr(doc, '\n') + 1;
    while (strncmp(line, "signature: ", 11) != 0) {
        newline = strchr(line, '\n');
        memcpy(copy, doc, len + 1);
        alter_line_end(copy + (newline - doc));
        if (strncmp(line, "issuer: ", 8) == 0)
            assert_rejected(copy, len, "unknown issuer (no trusted key verifies it)");
        else
            assert_rejected(copy, len, "bad signature");
        altered++;
        line = newline + 1;
    }
    assert_int_equal(altered, 14);
    memcpy(copy, doc, len + 1);
    line = strstr(copy, "signature: ") + 11;
    line[0] = line[0] == 'A' ? 'B' : 'A';
    assert_rejected(copy, len, "bad signature");
    free(copy);
    free(doc);
}

static void license_parse_verify__truncated__rejected(void **state)
{
    struct license in;
    char *doc;
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    /* len - 1 only drops the optional final newline. */
    for (size_t cut = 0; cut < len - 1; cut++)
        assert_rejected(doc, cut, NULL);
    assert_rejected(doc, 200, "line 10: truncated before the signature line");
    free(doc);
}

static void license_parse_verify__trailing_data__rejected(void **state)
{
    struct license in;
    char *doc, buf[DOC_MAX];
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    snprintf(buf, sizeof(buf), "%s\n", doc);
    assert_rejected(buf, strlen(buf), "trailing data after END line");
    snprintf(buf, sizeof(buf), "%sx", doc);
    assert_rejected(buf, strlen(buf), "trailing data after END line");
    snprintf(buf, sizeof(buf), "%s%s", doc, doc);
    assert_rejected(buf, strlen(buf), "trailing data after END line");
    snprintf(buf, sizeof(buf), "%s", doc);
    buf[len - 1] = ' ';
    assert_rejected(buf, len, "line 17: expected '-----END LICGATE LICENSE-----'");
    /* An embedded NUL after the document is still trailing data. */
    memcpy(buf, doc, len);
    buf[len] = '\0';
    assert_rejected(buf, len + 1, "trailing data after END line");
    snprintf(buf, sizeof(buf), "\n%s", doc);
    assert_rejected(buf, strlen(buf), "line 1: expected '-----BEGIN LICGATE LICENSE-----'");
    free(doc);
}

static void license_parse_verify__untrusted_signer__unknown_issuer(void **state)
{
    struct issuer_key both[2] = {foreign_key, trusted_key};
    struct license in, out;
    char err[256], *doc;
    uint8_t id[8];
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, foreign_priv, &doc, &len);
    assert_rejected(doc, len, "unknown issuer (no trusted key verifies it)");
    assert_int_equal(license_parse_verify(doc, len, NULL, 0, &out, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "unknown issuer (no trusted key verifies it)");
    assert_int_equal(license_parse_verify(doc, len, both, 2, &out, err, sizeof(err)), 0);
    assert_int_equal(license_issuer_id(&foreign_key, id), 0);
    assert_memory_equal(out.issuer_id, id, 8);
    free(doc);
    sign_license(&in, trusted_priv, &doc, &len);
    assert_int_equal(license_parse_verify(doc, len, both, 2, &out, err, sizeof(err)), 0);
    free(doc);
}

static void license_parse_verify__issuer_field_names_other_key__rejected(void **state)
{
    char payload[DOC_MAX], doc[DOC_MAX];
    size_t len;

    (void)state;
    build_payload(payload, sizeof(payload), &foreign_key, NULL, NULL);
    len = sign_payload(payload, trusted_priv, doc, sizeof(doc));
    assert_rejected(doc, len, "issuer field does not match signing key");
}

static void license_parse_verify__bad_base64__rejected(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *reason = "signature is not the canonical base64 of 64 bytes";
    struct license in;
    char *doc, *sig, buf[DOC_MAX];
    size_t len, sig_offset;
    int value;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    sig_offset = (size_t)(strstr(doc, "signature: ") + 11 - doc);

    memcpy(buf, doc, len + 1);
    buf[sig_offset + 3] = '!';
    assert_rejected(buf, len, reason);

    /* The last data character carries 4 unused bits; flipping one decodes
     * to the same bytes and must still be refused. */
    memcpy(buf, doc, len + 1);
    sig = buf + sig_offset;
    assert_memory_equal(sig + 86, "==", 2);
    value = (int)(strchr(alphabet, sig[85]) - alphabet);
    sig[85] = alphabet[value ^ 1];
    assert_rejected(buf, len, reason);

    memcpy(buf, doc, len + 1);
    buf[sig_offset + 87] = 'A';
    assert_rejected(buf, len, reason);

    /* One character short, one space inserted. */
    memcpy(buf, doc, sig_offset);
    memcpy(buf + sig_offset, doc + sig_offset + 1, len - sig_offset);
    assert_rejected(buf, len - 1, reason);
    memcpy(buf, doc, sig_offset);
    buf[sig_offset] = ' ';
    memcpy(buf + sig_offset + 1, doc + sig_offset, len - sig_offset + 1);
    assert_rejected(buf, len + 1, reason);
    free(doc);
}

static void license_parse_verify__carriage_return__rejected(void **state)
{
    const char *reason = "carriage return in license (only LF line endings allowed)";
    struct license in;
    char *doc, buf[DOC_MAX];
    size_t len;

    (void)state;
    standard_license(&in);
    sign_license(&in, trusted_priv, &doc, &len);
    snprintf(buf, sizeof(buf), "%.*s\r\n", (int)(len - 1), doc);
    assert_rejected(buf, strlen(buf), reason);
    memcpy(buf, doc, len + 1);
    *strchr(buf, '\n') = '\r';
    assert_rejected(buf, len, reason);
    free(doc);
}

static void license_parse_verify__field_order_swapped__rejected(void **state)
{
    char payload[DOC_MAX], doc[DOC_MAX], *customer, *seats, line[64];
    size_t len;

    (void)state;
    build_payload(payload, sizeof(payload), &trusted_key, NULL, NULL);
    customer = strstr(payload, "customer: ");
    seats = strstr(payload, "seats: ");
    snprintf(line, sizeof(line), "%.*s", (int)(seats - customer), customer);
    memmove(customer, seats, strlen("seats: 10\n"));
    memcpy(customer + strlen("seats: 10\n"), line, strlen(line));
    len = sign_payload(payload, trusted_priv, doc, sizeof(doc));
    assert_rejected(doc, len, "line 4: expected field 'customer'");
}

static void license_parse_verify__duplicate_field__rejected(void **state)
{
    char payload[DOC_MAX], doc[DOC_MAX];
    size_t len;

    (void)state;
    build_payload(payload, sizeof(payload), &trusted_key, "seats", "seats: 10\nseats: 10\n");
    len = sign_payload(payload, trusted_priv, doc, sizeof(doc));
    assert_rejected(doc, len, "line 6: expected field 'kind'");

    build_payload(payload, sizeof(payload), &trusted_key, NULL, NULL);
    strcat(payload, "binding: none\n");
    len = sign_payload(payload, trusted_priv, doc, sizeof(doc));
    assert_rejected(doc, len, "line 16: unexpected line after field 'issuer'");
}

static void license_parse_verify__bad_field_values__rejected(void **state)
{
    static const struct {
        const char *field, *line, *reason;
    } cases[] = {
        {"seats", "seats: 0\n", "field 'seats': '0' out of range 1..1000000"},
        {"seats", "seats: 1000001\n", "field 'seats': '1000001' out of range 1..1000000"},
        {"seats", "seats: 010\n", "field 'seats': '010' has a leading zero"},
        {"seats", "seats:  10\n", "field 'seats': ' 10' is not a decimal number"},
        {"seats", "seats 10\n", "line 5: expected field 'seats'"},
        {"format", "format: 2\n", "field 'format': '2' is not a supported format (1)"},
        {"key-id", "key-id: LG1\n",
         "field 'key-id': 'LG1' is not a key id (A-Z, 0-9 and '-', 4..64 characters)"},
        {"customer", "customer: Example Corp \n",
         "field 'customer': 'Example Corp ' has a leading or trailing space"},
        {"customer", "customer: Ex\tample\n",
         "field 'customer': 'Ex\\x09ample' contains a control character"},
        {"kind", "kind: failover\n",
         "field 'primary-key': 'none' but a failover license must name its primary key"},
        {"primary-key", "primary-key: LG-0001\n",
         "field 'primary-key': 'LG-0001' but a standard license must have 'none'"},
        {"issued", "issued: 2026-02-30T00:00:00Z\n",
         "field 'issued': '2026-02-30T00:00:00Z' is not a date YYYY-MM-DDTHH:MM:SSZ "
         "(1971..2199)"},
        {"perpetual", "perpetual: true\n", "field 'perpetual': 'true' is not yes or no"},
        {"lease-not-after", "lease-not-after: never\n",
         "field 'lease-not-after': 'never' is not 'none' or a date YYYY-MM-DDTHH:MM:SSZ "
         "(1971..2199)"},
        {"installation-id", "installation-id: 0123456789ABCDEF0123456789ABCDEF\n", NULL},
        {"binding", "binding: all\n", NULL},
        {"binding", "binding: all-but-1 machine-id=" DIGEST_1 "\n",
         "field 'binding': 'all-but-1 machine-id=111111111111111111111111111...' "
         "tolerates as many mismatches as it has components"},
        {"binding", "binding: all-but-9 nic=" DIGEST_1 " nic=" DIGEST_2 "\n", NULL},
        {"binding", "binding: machine-id-only nic=" DIGEST_1 "\n", NULL},
        {"binding", "binding: all  nic=" DIGEST_1 "\n", NULL},
        {"binding", "binding: all nic=" DIGEST_1 " \n", NULL},
        {"binding", "binding: all nic=" DIGEST_1 " nic=" DIGEST_1 "\n", NULL},
        {"binding", "binding: all nic=" DIGEST_1 " dmi-uuid=" DIGEST_1 " dmi-uuid=" DIGEST_2 "\n",
         NULL},
        {"binding", "binding: all mac=" DIGEST_1 "\n", NULL},
        {"issuer", "issuer: 0123\n", "field 'issuer': '0123' is not 16 lowercase hex digits"},
    };
    char payload[DOC_MAX], doc[DOC_MAX];
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        build_payload(payload, sizeof(payload), &trusted_key, cases[i].field, cases[i].line);
        len = sign_payload(payload, trusted_priv, doc, sizeof(doc));
        assert_rejected(doc, len, cases[i].reason);
    }
}

static void license_parse_verify__oversized__rejected(void **state)
{
    char *big;

    (void)state;
    big = calloc(1, LICENSE_MAX_TEXT + 1);
    assert_non_null(big);
    assert_rejected(big, LICENSE_MAX_TEXT + 1, "license larger than 65536 bytes");
    free(big);
}

static void license_sign__invalid_license__einval_and_no_doc(void **state)
{
    struct license lic;
    char *doc = (char *)"untouched", err[256];
    size_t len = 7;

    (void)state;
    standard_license(&lic);
    lic.seats = 0;
    assert_int_equal(license_sign(&lic, trusted_priv, &doc, &len), -EINVAL);
    assert_null(doc);
    assert_int_equal(len, 0);
    assert_int_equal(license_validate(&lic, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "field 'seats': '0' out of range 1..1000000");
    standard_license(&lic);
    lic.ncomponents = LICENSE_MAX_COMPONENTS + 1;
    lic.binding_rule = BINDING_ALL;
    assert_int_equal(license_validate(&lic, err, sizeof(err)), -EINVAL);
    standard_license(&lic);
    lic.issued = 0;
    assert_int_equal(license_validate(&lic, err, sizeof(err)), -EINVAL);
}

static void license_evaluate__states__in_order(void **state)
{
    struct license lic;
    char why[128];

    (void)state;
    standard_license(&lic);
    assert_int_equal(license_evaluate(&lic, T0, why, sizeof(why)), LICENSE_ACTIVE);
    assert_string_equal(why, "");

    assert_int_equal(license_evaluate(&lic, T0 - LICENSE_CLOCK_SKEW, why, sizeof(why)),
                     LICENSE_ACTIVE);
    assert_int_equal(license_evaluate(&lic, T0 - LICENSE_CLOCK_SKEW - 1, why, sizeof(why)),
                     LICENSE_NOT_YET_VALID);
    assert_string_equal(why, "issued in the future (2026-11-29T00:00:00Z)");

    assert_int_equal(license_evaluate(&lic, T0 + 30 * DAY - 1, why, sizeof(why)), LICENSE_ACTIVE);
    assert_int_equal(license_evaluate(&lic, T0 + 30 * DAY, why, sizeof(why)), LICENSE_LEASE_OVER);
    assert_string_equal(why, "lease ended 2026-12-29T00:00:00Z");

    assert_int_equal(license_evaluate(&lic, T0 + 365 * DAY, why, sizeof(why)), LICENSE_EXPIRED);
    assert_string_equal(why, "support ended 2027-11-29T00:00:00Z");

    lic.perpetual = true;
    lic.lease_not_after = 0;
    assert_int_equal(license_evaluate(&lic, T0 + 3650 * DAY, why, sizeof(why)), LICENSE_ACTIVE);

    lic.sunset = T0 + 7 * DAY;
    assert_int_equal(license_evaluate(&lic, T0 + 7 * DAY, why, sizeof(why)), LICENSE_SUNSET);
    assert_string_equal(why, "sunset reached 2026-12-06T00:00:00Z");
    assert_int_equal(license_evaluate(&lic, T0 + 7 * DAY - 1, NULL, 0), LICENSE_ACTIVE);

    assert_string_equal(license_state_name(LICENSE_ACTIVE), "active");
    assert_string_equal(license_state_name(LICENSE_EXPIRED), "expired");
    assert_string_equal(license_state_name(LICENSE_LEASE_OVER), "lease-over");
    assert_string_equal(license_state_name(LICENSE_NOT_YET_VALID), "not-yet-valid");
    assert_string_equal(license_state_name(LICENSE_SUNSET), "sunset");
}

static void license_next_change__each_boundary__next_in_turn(void **state)
{
    struct license lic;

    (void)state;
    standard_license(&lic);
    lic.sunset = T0 + 60 * DAY;
    assert_int_equal(license_next_change(&lic, T0 - DAY), T0 - LICENSE_CLOCK_SKEW);
    assert_int_equal(license_next_change(&lic, T0), T0 + 30 * DAY);
    assert_int_equal(license_next_change(&lic, T0 + 30 * DAY), T0 + 60 * DAY);
    assert_int_equal(license_next_change(&lic, T0 + 60 * DAY), T0 + 365 * DAY);
    assert_int_equal(license_next_change(&lic, T0 + 365 * DAY), INT64_MAX);
    lic.perpetual = true;
    lic.sunset = 0;
    lic.lease_not_after = 0;
    assert_int_equal(license_next_change(&lic, T0), INT64_MAX);
}

static void license_parse_time__valid__round_trips(void **state)
{
    static const char *const dates[] = {
        "1971-01-01T00:00:00Z", "2024-02-29T23:59:59Z", "2026-11-29T00:00:00Z",
        "2000-02-29T12:34:56Z", "2199-12-31T23:59:59Z",
    };
    char buf[LICENSE_TIME_BUFSIZE];
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        assert_int_equal(license_parse_time(dates[i], strlen(dates[i]), &t), 0);
        assert_int_equal(license_format_time(t, buf, sizeof(buf)), 0);
        assert_string_equal(buf, dates[i]);
    }
    assert_int_equal(license_parse_time("2026-11-29T00:00:00Z", 20, &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(license_format_time(T0, buf, sizeof(buf) - 1), -ENOSPC);
    assert_int_equal(license_format_time(-1, buf, sizeof(buf)), -ERANGE);
    assert_string_equal(buf, "");
}

static void license_parse_time__bad_dates__einval(void **state)
{
    static const char *const dates[] = {
        "2026-02-30T00:00:00Z",  "2025-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",  "2026-11-29T24:00:00Z",
        "2026-11-29T23:60:00Z",  "2026-11-29T23:59:60Z",
        "2026-13-01T00:00:00Z",  "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",  "2026-04-31T00:00:00Z",
        "1970-01-01T00:00:00Z",  "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",  "2026-11-29 00:00:00Z",
        "2026-11-29T00:00:00z",  "2026-11-29T00:00:00+",
        "2026-1-29T00:00:00ZZ",  "+026-11-29T00:00:00Z",
        "2026-11-29T0 :00:00Z",  "2026-11-29T00:00:00",
        "2026-11-29T00:00:00Z ", "",
    };
    int64_t t = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        assert_int_equal(license_parse_time(dates[i], strlen(dates[i]), &t), -EINVAL);
        assert_int_equal(t, 0);
    }
    assert_int_equal(license_parse_time("2026-11-29T00:\0000:00Z", 20, &t), -EINVAL);
}

static void crypto_base64_decode_exact__variants__only_canonical(void **state)
{
    uint8_t bytes[2] = {0xfb, 0xff}, out[2];
    char b64[5];

    (void)state;
    assert_int_equal(crypto_base64_encode(bytes, 2, b64, sizeof(b64)), 0);
    assert_string_equal(b64, "+/8=");
    assert_int_equal(crypto_base64_decode_exact("+/8=", 4, out, 2), 0);
    assert_memory_equal(out, bytes, 2);
    assert_int_equal(crypto_base64_decode_exact("+/9=", 4, out, 2), -EBADMSG);
    assert_int_equal(crypto_base64_decode_exact("+/8", 3, out, 2), -EBADMSG);
    assert_int_equal(crypto_base64_decode_exact(" +/8", 4, out, 2), -EBADMSG);
    assert_int_equal(crypto_base64_decode_exact("+/8=", 4, out, 1), -EBADMSG);
    assert_int_equal(crypto_base64_encode(bytes, 2, b64, 4), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(license_parse_verify__valid__fields_correct),
        cmocka_unit_test(license_parse_verify__all_fields_set__round_trip),
        cmocka_unit_test(license_parse_verify__no_final_newline__accepted),
        cmocka_unit_test(license_parse_verify__field_altered__bad_signature),
        cmocka_unit_test(license_parse_verify__truncated__rejected),
        cmocka_unit_test(license_parse_verify__trailing_data__rejected),
        cmocka_unit_test(license_parse_verify__untrusted_signer__unknown_issuer),
        cmocka_unit_test(license_parse_verify__issuer_field_names_other_key__rejected),
        cmocka_unit_test(license_parse_verify__bad_base64__rejected),
        cmocka_unit_test(license_parse_verify__carriage_return__rejected),
        cmocka_unit_test(license_parse_verify__field_order_swapped__rejected),
        cmocka_unit_test(license_parse_verify__duplicate_field__rejected),
        cmocka_unit_test(license_parse_verify__bad_field_values__rejected),
        cmocka_unit_test(license_parse_verify__oversized__rejected),
        cmocka_unit_test(license_sign__invalid_license__einval_and_no_doc),
        cmocka_unit_test(license_evaluate__states__in_order),
        cmocka_unit_test(license_next_change__each_boundary__next_in_turn),
        cmocka_unit_test(license_parse_time__valid__round_trips),
        cmocka_unit_test(license_parse_time__bad_dates__einval),
        cmocka_unit_test(crypto_base64_decode_exact__variants__only_canonical),
    };

    return cmocka_run_group_tests(tests, unit_keys_setup, unit_keys_teardown);
}
