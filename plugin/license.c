#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "license.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "cursor.h"
#include "crypto.h"
#include "hex.h"

/* sizeof includes the NUL, which is part of the signed domain prefix. */
static const char SIGNATURE_DOMAIN[] = "licgate-license-v1";
#define SIGNATURE_DOMAIN_LEN sizeof(SIGNATURE_DOMAIN)

#define ARMOR_BEGIN       "-----BEGIN LICGATE LICENSE-----"
#define ARMOR_END         "-----END LICGATE LICENSE-----"
#define SIGNATURE_PREFIX  "signature: "
#define SIGNATURE_B64_LEN CRYPTO_BASE64_LEN(64)
#define PAYLOAD_MAX       4096
#define SEATS_MAX         1000000
#define TOLERANCE_MAX     8
#define YEAR_MIN          1971
#define YEAR_MAX          2199
#define TIME_TEXT_LEN     20
/* 9999-12-31T23:59:59Z */
#define TIME_FORMAT_MAX 253402300799LL

/* Renders untrusted bytes for a one-line message: printable ASCII as is,
 * anything else as \xNN, cut after a few dozen bytes. */
static void quote_value(const char *value, size_t n, char *buf, size_t buflen)
{
    static const char hexdigits[] = "0123456789abcdef";
    const size_t shown_max = 48;
    size_t used = 0;

    if (buflen == 0)
        return;
    for (size_t i = 0; i < n && i < shown_max; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            if (buflen - used < 2)
                break;
            buf[used++] = (char)ch;
        } else {
            if (buflen - used < 5)
                break;
            buf[used++] = '\\';
            buf[used++] = 'x';
            buf[used++] = hexdigits[ch >> 4];
            buf[used++] = hexdigits[ch & 0xf];
        }
    }
    if (n > shown_max && buflen - used >= 4) {
        memcpy(buf + used, "...", 3);
        used += 3;
    }
    buf[used] = '\0';
}

static int field_error(char *err, size_t errlen, const char *field, const char *value, size_t n,
                       const char *what)
{
    char quoted[256];

    quote_value(value, n, quoted, sizeof(quoted));
    errbuf_set(err, errlen, "field '%s': '%s' %s", field, quoted, what);
    return -EBADMSG;
}

static bool value_is(const char *value, size_t n, const char *literal)
{
    return strlen(literal) == n && memcmp(value, literal, n) == 0;
}

static bool is_key_id(const char *value, size_t n)
{
    if (n < 4 || n > LICENSE_KEY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = value[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return false;
    }
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

int license_parse_time(const char *s, size_t len, int64_t *out)
{
    /* Digit runs and the separator expected after each. */
    static const struct {
        size_t offset, width;
        char separator;
    } parts[6] = {{0, 4, '-'}, {5, 2, '-'}, {8, 2, 'T'}, {11, 2, ':'}, {14, 2, ':'}, {17, 2, 'Z'}};
    int value[6];
    struct tm tm;
    time_t t;

    *out = 0;
    if (len != TIME_TEXT_LEN)
        return -EINVAL;
    for (size_t i = 0; i < 6; i++) {
        value[i] = 0;
        for (size_t d = 0; d < parts[i].width; d++) {
            char ch = s[parts[i].offset + d];
            if (ch < '0' || ch > '9')
                return -EINVAL;
            value[i] = value[i] * 10 + (ch - '0');
        }
        if (s[parts[i].offset + parts[i].width] != parts[i].separator)
            return -EINVAL;
    }
    if (value[0] < YEAR_MIN || value[0] > YEAR_MAX || value[1] < 1 || value[1] > 12 ||
        value[2] < 1 || value[2] > days_in_month(value[0], value[1]) || value[3] > 23 ||
        value[4] > 59 || value[5] > 59)
        return -EINVAL;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = value[0] - 1900;
    tm.tm_mon = value[1] - 1;
    tm.tm_mday = value[2];
    tm.tm_hour = value[3];
    tm.tm_min = value[4];
    tm.tm_sec = value[5];
    t = timegm(&tm);
    if (t == (time_t)-1 || t <= 0)
        return -EINVAL;
    *out = (int64_t)t;
    return 0;
}

int license_format_time(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (len > 0)
        buf[0] = '\0';
    if (len < LICENSE_TIME_BUFSIZE)
        return -ENOSPC;
    if (t < 0 || t > TIME_FORMAT_MAX || gmtime_r(&tt, &tm) == NULL)
        return -ERANGE;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

int license_issuer_id(const struct issuer_key *key, uint8_t id[8])
{
    uint8_t digest[32];
    int ret;

    memset(id, 0, 8);
    ret = crypto_sha256(key->pub, sizeof(key->pub), digest);
    if (ret != 0)
        return ret;
    memcpy(id, digest, 8);
    return 0;
}

/* ---- field parsers: value is the text after "name: ", n its length ---- */

typedef int (*field_parser)(const char *field, const char *value, size_t n, struct license *lic,
                            char *err, size_t errlen);

static int parse_format(const char *field, const char *value, size_t n, struct license *lic,
                        char *err, size_t errlen)
{
    (void)lic;
    if (!value_is(value, n, "1"))
        return field_error(err, errlen, field, value, n, "is not a supported format (1)");
    return 0;
}

static int parse_key_id(const char *field, const char *value, size_t n, struct license *lic,
                        char *err, size_t errlen)
{
    if (!is_key_id(value, n))
        return field_error(err, errlen, field, value, n,
                           "is not a key id (A-Z, 0-9 and '-', 4..64 characters)");
    memcpy(lic->key_id, value, n);
    lic->key_id[n] = '\0';
    return 0;
}

static int parse_customer(const char *field, const char *value, size_t n, struct license *lic,
                          char *err, size_t errlen)
{
    if (n < 1 || n > LICENSE_CUSTOMER_MAX)
        return field_error(err, errlen, field, value, n, "is not 1..128 bytes long");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch < 0x20 || ch == 0x7f)
            return field_error(err, errlen, field, value, n, "contains a control character");
    }
    if (value[0] == ' ' || value[n - 1] == ' ')
        return field_error(err, errlen, field, value, n, "has a leading or trailing space");
    memcpy(lic->customer, value, n);
    lic->customer[n] = '\0';
    return 0;
}

static int parse_seats(const char *field, const char *value, size_t n, struct license *lic,
                       char *err, size_t errlen)
{
    uint32_t seats = 0;

    for (size_t i = 0; i < n; i++) {
        if (value[i] < '0' || value[i] > '9')
            return field_error(err, errlen, field, value, n, "is not a decimal number");
    }
    if (n == 0)
        return field_error(err, errlen, field, value, n, "is not a decimal number");
    if (n > 1 && value[0] == '0')
        return field_error(err, errlen, field, value, n, "has a leading zero");
    if (n > 7)
        return field_error(err, errlen, field, value, n, "out of range 1..1000000");
    for (size_t i = 0; i < n; i++)
        seats = seats * 10 + (uint32_t)(value[i] - '0');
    if (seats < 1 || seats > SEATS_MAX)
        return field_error(err, errlen, field, value, n, "out of range 1..1000000");
    lic->seats = seats;
    return 0;
}

static int parse_kind(const char *field, const char *value, size_t n, struct license *lic,
                      char *err, size_t errlen)
{
    if (value_is(value, n, "standard"))
        lic->kind = LICENSE_KIND_STANDARD;
    else if (value_is(value, n, "failover"))
        lic->kind = LICENSE_KIND_FAILOVER;
    else
        return field_error(err, errlen, field, value, n, "is not standard or failover");
    return 0;
}

/* Relies on kind having been parsed: the fields come in a fixed order. */
static int parse_primary_key(const char *field, const char *value, size_t n, struct license *lic,
                             char *err, size_t errlen)
{
    if (value_is(value, n, "none")) {
        if (lic->kind == LICENSE_KIND_FAILOVER)
            return field_error(err, errlen, field, value, n,
                               "but a failover license must name its primary key");
        lic->primary_key[0] = '\0';
        return 0;
    }
    if (!is_key_id(value, n))
        return field_error(err, errlen, field, value, n, "is not 'none' or a key id");
    if (lic->kind != LICENSE_KIND_FAILOVER)
        return field_error(err, errlen, field, value, n, "but a standard license must have 'none'");
    memcpy(lic->primary_key, value, n);
    lic->primary_key[n] = '\0';
    return 0;
}

static int parse_date_field(const char *field, const char *value, size_t n, int64_t *out,
                            bool none_allowed, char *err, size_t errlen)
{
    if (none_allowed && value_is(value, n, "none")) {
        *out = 0;
        return 0;
    }
    if (license_parse_time(value, n, out) != 0)
        return field_error(err, errlen, field, value, n,
                           none_allowed ? "is not 'none' or a date YYYY-MM-DDTHH:MM:SSZ "
                                          "(1971..2199)"
                                        : "is not a date YYYY-MM-DDTHH:MM:SSZ (1971..2199)");
    return 0;
}

static int parse_issued(const char *field, const char *value, size_t n, struct license *lic,
                        char *err, size_t errlen)
{
    return parse_date_field(field, value, n, &lic->issued, false, err, errlen);
}

static int parse_support_until(const char *field, const char *value, size_t n, struct license *lic,
                               char *err, size_t errlen)
{
    return parse_date_field(field, value, n, &lic->support_until, false, err, errlen);
}

static int parse_perpetual(const char *field, const char *value, size_t n, struct license *lic,
                           char *err, size_t errlen)
{
    if (value_is(value, n, "yes"))
        lic->perpetual = true;
    else if (value_is(value, n, "no"))
        lic->perpetual = false;
    else
        return field_error(err, errlen, field, value, n, "is not yes or no");
    return 0;
}

static int parse_lease(const char *field, const char *value, size_t n, struct license *lic,
                       char *err, size_t errlen)
{
    return parse_date_field(field, value, n, &lic->lease_not_after, true, err, errlen);
}

static int parse_sunset(const char *field, const char *value, size_t n, struct license *lic,
                        char *err, size_t errlen)
{
    return parse_date_field(field, value, n, &lic->sunset, true, err, errlen);
}

static int parse_installation_id(const char *field, const char *value, size_t n,
                                 struct license *lic, char *err, size_t errlen)
{
    uint8_t raw[16];

    if (value_is(value, n, "none")) {
        lic->installation_id[0] = '\0';
        return 0;
    }
    if (hex_decode(value, n, raw, sizeof(raw)) != 0)
        return field_error(err, errlen, field, value, n,
                           "is not 'none' or 32 lowercase hex digits");
    memcpy(lic->installation_id, value, n);
    lic->installation_id[n] = '\0';
    return 0;
}

static int parse_binding_rule(const char *token, size_t n, struct license *lic)
{
    static const char suffix[] = "+virtual";
    size_t sn = sizeof(suffix) - 1;

    lic->binding_virtual = false;
    if (n > sn && memcmp(token + n - sn, suffix, sn) == 0) {
        lic->binding_virtual = true;
        n -= sn;
    }
    if (value_is(token, n, "all")) {
        lic->binding_rule = BINDING_ALL;
    } else if (value_is(token, n, "machine-id-only")) {
        lic->binding_rule = BINDING_MACHINE_ID_ONLY;
    } else if (n == strlen("all-but-N") && memcmp(token, "all-but-", 8) == 0 && token[8] >= '1' &&
               token[8] <= '0' + TOLERANCE_MAX) {
        lic->binding_rule = BINDING_ALL_BUT;
        lic->binding_tolerance = (unsigned)(token[8] - '0');
    } else {
        return -EINVAL;
    }
    return 0;
}

static const struct {
    const char *name;
    enum component_type type;
} component_names[] = {
    {"machine-id", COMPONENT_MACHINE_ID},
    {"dmi-uuid", COMPONENT_DMI_UUID},
    {"nic", COMPONENT_NIC},
};

static int parse_binding_component(const char *token, size_t n, struct binding_component *comp)
{
    const char *equals = memchr(token, '=', n);
    size_t namelen;

    if (equals == NULL)
        return -EINVAL;
    namelen = (size_t)(equals - token);
    for (size_t i = 0; i < sizeof(component_names) / sizeof(component_names[0]); i++) {
        if (!value_is(token, namelen, component_names[i].name))
            continue;
        comp->type = component_names[i].type;
        return hex_decode(equals + 1, n - namelen - 1, comp->digest, sizeof(comp->digest));
    }
    return -EINVAL;
}

static int parse_binding(const char *field, const char *value, size_t n, struct license *lic,
                         char *err, size_t errlen)
{
    const char *end = value + n, *token, *space;
    size_t machine_ids = 0, dmi_uuids = 0;

    if (value_is(value, n, "none")) {
        lic->binding_rule = BINDING_NONE;
        return 0;
    }
    space = memchr(value, ' ', n);
    if (space == NULL || parse_binding_rule(value, (size_t)(space - value), lic) != 0)
        return field_error(err, errlen, field, value, n,
                           "is not 'none' or '<all|all-but-N|machine-id-only> <component>...'");
    token = space + 1;
    for (;;) {
        size_t left = (size_t)(end - token);
        struct binding_component comp;

        space = memchr(token, ' ', left);
        size_t toklen = space != NULL ? (size_t)(space - token) : left;
        if (lic->ncomponents == LICENSE_MAX_COMPONENTS)
            return field_error(err, errlen, field, value, n, "has more than 16 components");
        if (parse_binding_component(token, toklen, &comp) != 0)
            return field_error(err, errlen, field, value, n,
                               "has a component that is not "
                               "<machine-id|dmi-uuid|nic>=<64 lowercase hex>");
        for (size_t i = 0; i < lic->ncomponents; i++) {
            if (lic->components[i].type == comp.type &&
                memcmp(lic->components[i].digest, comp.digest, sizeof(comp.digest)) == 0)
                return field_error(err, errlen, field, value, n, "repeats a component");
        }
        if (comp.type == COMPONENT_MACHINE_ID)
            machine_ids++;
        if (comp.type == COMPONENT_DMI_UUID)
            dmi_uuids++;
        lic->components[lic->ncomponents++] = comp;
        if (space == NULL)
            break;
        token = space + 1;
    }
    if (machine_ids > 1 || dmi_uuids > 1)
        return field_error(err, errlen, field, value, n,
                           "has more than one machine-id or dmi-uuid component");
    if (lic->binding_rule == BINDING_MACHINE_ID_ONLY && machine_ids == 0)
        return field_error(err, errlen, field, value, n,
                           "uses machine-id-only without a machine-id component");
    if (lic->binding_rule == BINDING_ALL_BUT && lic->binding_tolerance >= lic->ncomponents)
        return field_error(err, errlen, field, value, n,
                           "tolerates as many mismatches as it has components");
    return 0;
}

int license_parse_binding(const char *text, struct license *lic, char *err, size_t errlen)
{
    struct license next = *lic;
    int r;

    next.ncomponents = 0;
    next.binding_tolerance = 0;
    r = parse_binding("binding", text, strlen(text), &next, err, errlen);
    if (r != 0)
        return -EINVAL;
    *lic = next;
    return 0;
}

static int parse_issuer(const char *field, const char *value, size_t n, struct license *lic,
                        char *err, size_t errlen)
{
    if (hex_decode(value, n, lic->issuer_id, sizeof(lic->issuer_id)) != 0)
        return field_error(err, errlen, field, value, n, "is not 16 lowercase hex digits");
    return 0;
}

static const struct {
    const char *name;
    field_parser parse;
} license_fields[] = {
    {"format", parse_format},       {"key-id", parse_key_id},
    {"customer", parse_customer},   {"seats", parse_seats},
    {"kind", parse_kind},           {"primary-key", parse_primary_key},
    {"issued", parse_issued},       {"support-until", parse_support_until},
    {"perpetual", parse_perpetual}, {"lease-not-after", parse_lease},
    {"sunset", parse_sunset},       {"installation-id", parse_installation_id},
    {"binding", parse_binding},     {"issuer", parse_issuer},
};
#define LICENSE_FIELD_COUNT (sizeof(license_fields) / sizeof(license_fields[0]))

/* Parses the payload (the field lines, from "format:" through the newline
 * of "issuer:"). first_line is the document line number of "format:". */
static int parse_fields(const char *payload, size_t payload_len, unsigned first_line,
                        struct license *out, char *err, size_t errlen)
{
    struct license lic;
    struct cursor c;
    unsigned line_no = first_line;
    int ret;

    memset(out, 0, sizeof(*out));
    memset(&lic, 0, sizeof(lic));
    cursor_init(&c, payload, payload_len);
    for (size_t i = 0; i < LICENSE_FIELD_COUNT; i++, line_no++) {
        const char *name = license_fields[i].name, *line;
        size_t namelen = strlen(name), linelen;

        if (cursor_take_line(&c, &line, &linelen) != 0 || linelen < namelen + 2 ||
            memcmp(line, name, namelen) != 0 || line[namelen] != ':' || line[namelen + 1] != ' ') {
            errbuf_set(err, errlen, "line %u: expected field '%s'", line_no, name);
            return -EBADMSG;
        }
        ret = license_fields[i].parse(name, line + namelen + 2, linelen - namelen - 2, &lic, err,
                                      errlen);
        if (ret != 0)
            return ret;
    }
    if (cursor_remaining(&c) != 0) {
        errbuf_set(err, errlen, "line %u: unexpected line after field 'issuer'", line_no);
        return -EBADMSG;
    }
    *out = lic;
    return 0;
}

/* The unverified parts of a document. */
struct armored_license {
    const char *payload;
    size_t payload_len;
    const char *signature_b64;
    size_t signature_b64_len;
};

static int split_armor(const char *text, size_t len, struct armored_license *doc, char *err,
                       size_t errlen)
{
    struct cursor c;
    const char *line;
    size_t linelen;
    unsigned line_no = 2;

    memset(doc, 0, sizeof(*doc));
    cursor_init(&c, text, len);
    if (cursor_expect(&c, ARMOR_BEGIN "\n") != 0) {
        errbuf_set(err, errlen, "line 1: expected '" ARMOR_BEGIN "'");
        return -EBADMSG;
    }
    doc->payload = cursor_position(&c);
    while (!cursor_starts_with(&c, SIGNATURE_PREFIX)) {
        if (cursor_starts_with(&c, ARMOR_END)) {
            errbuf_set(err, errlen, "line %u: END line before the signature line", line_no);
            return -EBADMSG;
        }
        if (cursor_take_line(&c, &line, &linelen) != 0) {
            errbuf_set(err, errlen, "line %u: truncated before the signature line", line_no);
            return -EBADMSG;
        }
        line_no++;
    }
    doc->payload_len = (size_t)(cursor_position(&c) - doc->payload);
    if (cursor_take_line(&c, &line, &linelen) != 0) {
        errbuf_set(err, errlen, "line %u: truncated signature line", line_no);
        return -EBADMSG;
    }
    doc->signature_b64 = line + strlen(SIGNATURE_PREFIX);
    doc->signature_b64_len = linelen - strlen(SIGNATURE_PREFIX);
    line_no++;
    if (cursor_expect(&c, ARMOR_END) != 0 ||
        (cursor_remaining(&c) != 0 && !cursor_starts_with(&c, "\n"))) {
        errbuf_set(err, errlen, "line %u: expected '" ARMOR_END "'", line_no);
        return -EBADMSG;
    }
    if (cursor_remaining(&c) > 1) {
        errbuf_set(err, errlen, "trailing data after END line");
        return -EBADMSG;
    }
    return 0;
}

/* Only picks the error message: a signature that fails under the key the
 * document claims is "bad signature", anything else is an unknown issuer. */
static bool claims_trusted_issuer(const struct armored_license *doc, const uint8_t (*ids)[8],
                                  size_t nkeys)
{
    const size_t prefixlen = strlen("issuer: ");
    struct cursor c;
    const char *line;
    size_t linelen;
    uint8_t claimed[8];

    cursor_init(&c, doc->payload, doc->payload_len);
    while (cursor_take_line(&c, &line, &linelen) == 0) {
        if (linelen != prefixlen + 16 || memcmp(line, "issuer: ", prefixlen) != 0 ||
            hex_decode(line + prefixlen, 16, claimed, sizeof(claimed)) != 0)
            continue;
        for (size_t k = 0; k < nkeys; k++) {
            if (memcmp(ids[k], claimed, sizeof(claimed)) == 0)
                return true;
        }
    }
    return false;
}

/* Sets *signer to the index of the first key under which the signature over
 * the domain-separated payload verifies. */
static int verify_signature(const struct armored_license *doc, const uint8_t sig[64],
                            const struct issuer_key *keys, const uint8_t (*ids)[8], size_t nkeys,
                            size_t *signer, char *err, size_t errlen)
{
    uint8_t *message = NULL;
    size_t message_len = SIGNATURE_DOMAIN_LEN + doc->payload_len;
    int ret;

    *signer = 0;
    message = malloc(message_len);
    if (message == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(message, SIGNATURE_DOMAIN, SIGNATURE_DOMAIN_LEN);
    memcpy(message + SIGNATURE_DOMAIN_LEN, doc->payload, doc->payload_len);
    for (size_t k = 0; k < nkeys; k++) {
        ret = crypto_ed25519_verify(keys[k].pub, message, message_len, sig);
        if (ret == 0) {
            *signer = k;
            goto out;
        }
        if (ret != -EBADMSG) {
            errbuf_set(err, errlen, "signature check failed: %s", strerror(-ret));
            goto out;
        }
    }
    ret = -EBADMSG;
    if (claims_trusted_issuer(doc, ids, nkeys))
        errbuf_set(err, errlen, "bad signature");
    else
        errbuf_set(err, errlen, "unknown issuer (no trusted key verifies it)");
out:
    free(message);
    return ret;
}

int license_parse_verify(const char *text, size_t len, const struct issuer_key *keys, size_t nkeys,
                         struct license *out, char *err, size_t errlen)
{
    struct armored_license doc;
    struct license lic;
    uint8_t(*ids)[8] = NULL;
    uint8_t sig[64];
    size_t signer;
    int ret;

    memset(out, 0, sizeof(*out));
    if (errlen > 0)
        err[0] = '\0';
    if (len > LICENSE_MAX_TEXT) {
        errbuf_set(err, errlen, "license larger than %d bytes", LICENSE_MAX_TEXT);
        return -EBADMSG;
    }
    if (memchr(text, '\r', len) != NULL) {
        errbuf_set(err, errlen, "carriage return in license (only LF line endings allowed)");
        return -EBADMSG;
    }
    ret = split_armor(text, len, &doc, err, errlen);
    if (ret != 0)
        return ret;
    if (crypto_base64_decode_exact(doc.signature_b64, doc.signature_b64_len, sig, sizeof(sig)) !=
        0) {
        errbuf_set(err, errlen, "signature is not the canonical base64 of 64 bytes");
        return -EBADMSG;
    }
    if (nkeys > 0) {
        ids = calloc(nkeys, sizeof(*ids));
        if (ids == NULL) {
            errbuf_set(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    for (size_t k = 0; k < nkeys; k++) {
        ret = license_issuer_id(&keys[k], ids[k]);
        if (ret != 0) {
            errbuf_set(err, errlen, "cannot compute issuer id: %s", strerror(-ret));
            goto out;
        }
    }
    ret = verify_signature(&doc, sig, keys, (const uint8_t(*)[8])ids, nkeys, &signer, err, errlen);
    if (ret != 0)
        goto out;
    ret = parse_fields(doc.payload, doc.payload_len, 2, &lic, err, errlen);
    if (ret != 0)
        goto out;
    if (memcmp(lic.issuer_id, ids[signer], sizeof(lic.issuer_id)) != 0) {
        errbuf_set(err, errlen, "issuer field does not match signing key");
        ret = -EBADMSG;
        goto out;
    }
    *out = lic;
    ret = 0;
out:
    free(ids);
    return ret;
}

/* ---- authority side ---- */

struct text_builder {
    char *buf;
    size_t cap, len;
    bool overflow;
};

static void text_append(struct text_builder *tb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_append(struct text_builder *tb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (tb->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(tb->buf + tb->len, tb->cap - tb->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= tb->cap - tb->len) {
        tb->overflow = true;
        return;
    }
    tb->len += (size_t)n;
}

static void append_date(struct text_builder *tb, const char *name, int64_t t, bool none_allowed)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (none_allowed && t == 0)
        text_append(tb, "%s: none\n", name);
    else if (license_format_time(t, when, sizeof(when)) == 0)
        text_append(tb, "%s: %s\n", name, when);
    else
        text_append(tb, "%s: %lld\n", name, (long long)t);
}

static const char *binding_rule_text(const struct license *lic, char *buf, size_t len)
{
    const char *virt = lic->binding_virtual ? "+virtual" : "";

    switch (lic->binding_rule) {
    case BINDING_ALL:
        snprintf(buf, len, "all%s", virt);
        return buf;
    case BINDING_MACHINE_ID_ONLY:
        snprintf(buf, len, "machine-id-only%s", virt);
        return buf;
    case BINDING_ALL_BUT:
        snprintf(buf, len, "all-but-%u%s", lic->binding_tolerance, virt);
        return buf;
    case BINDING_NONE:
        break;
    }
    return "?";
}

int license_component_type(const char *name, size_t len, enum component_type *type)
{
    for (size_t i = 0; i < sizeof(component_names) / sizeof(component_names[0]); i++) {
        if (strlen(component_names[i].name) == len &&
            memcmp(component_names[i].name, name, len) == 0) {
            *type = component_names[i].type;
            return 0;
        }
    }
    return -EINVAL;
}

const char *license_component_name(enum component_type type)
{
    for (size_t i = 0; i < sizeof(component_names) / sizeof(component_names[0]); i++) {
        if (component_names[i].type == type)
            return component_names[i].name;
    }
    return "?";
}

/* Writes the payload lines for lic. Values the parser would reject are
 * written as they are, so validation reports them in the parser's words. */
static int format_payload(const struct license *lic, const uint8_t issuer_id[8], char *buf,
                          size_t cap, size_t *len)
{
    struct text_builder tb = {.buf = buf, .cap = cap, .len = 0, .overflow = false};
    char rule[32], hex[65];

    *len = 0;
    if (lic->ncomponents > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    text_append(&tb, "format: 1\n");
    text_append(&tb, "key-id: %.*s\n", (int)sizeof(lic->key_id), lic->key_id);
    text_append(&tb, "customer: %.*s\n", (int)sizeof(lic->customer), lic->customer);
    text_append(&tb, "seats: %u\n", (unsigned)lic->seats);
    text_append(&tb, "kind: %s\n",
                lic->kind == LICENSE_KIND_STANDARD   ? "standard"
                : lic->kind == LICENSE_KIND_FAILOVER ? "failover"
                                                     : "?");
    if (lic->primary_key[0] == '\0')
        text_append(&tb, "primary-key: none\n");
    else
        text_append(&tb, "primary-key: %.*s\n", (int)sizeof(lic->primary_key), lic->primary_key);
    append_date(&tb, "issued", lic->issued, false);
    append_date(&tb, "support-until", lic->support_until, false);
    text_append(&tb, "perpetual: %s\n", lic->perpetual ? "yes" : "no");
    append_date(&tb, "lease-not-after", lic->lease_not_after, true);
    append_date(&tb, "sunset", lic->sunset, true);
    if (lic->installation_id[0] == '\0')
        text_append(&tb, "installation-id: none\n");
    else
        text_append(&tb, "installation-id: %.*s\n", (int)sizeof(lic->installation_id),
                    lic->installation_id);
    if (lic->binding_rule == BINDING_NONE) {
        text_append(&tb, "binding: none\n");
    } else {
        text_append(&tb, "binding: %s", binding_rule_text(lic, rule, sizeof(rule)));
        for (size_t i = 0; i < lic->ncomponents; i++) {
            hex_encode(lic->components[i].digest, 32, hex);
            text_append(&tb, " %s=%s", license_component_name(lic->components[i].type), hex);
        }
        text_append(&tb, "\n");
    }
    hex_encode(issuer_id, 8, hex);
    text_append(&tb, "issuer: %s\n", hex);
    if (tb.overflow)
        return -EINVAL;
    *len = tb.len;
    return 0;
}

int license_validate(const struct license *lic, char *err, size_t errlen)
{
    static const uint8_t placeholder_issuer[8];
    struct license parsed;
    char payload[PAYLOAD_MAX];
    size_t payload_len;

    if (errlen > 0)
        err[0] = '\0';
    if (format_payload(lic, placeholder_issuer, payload, sizeof(payload), &payload_len) != 0) {
        errbuf_set(err, errlen, "license does not fit the format (too many components?)");
        return -EINVAL;
    }
    if (parse_fields(payload, payload_len, 2, &parsed, err, errlen) != 0)
        return -EINVAL;
    return 0;
}

int license_sign(const struct license *lic, const uint8_t priv[32], char **doc, size_t *len)
{
    struct issuer_key key;
    struct license check;
    uint8_t issuer_id[8], sig[64];
    char payload[PAYLOAD_MAX], sig_b64[SIGNATURE_B64_LEN + 1], reason[256];
    uint8_t *message = NULL;
    char *text = NULL;
    size_t payload_len, text_len;
    int ret;

    *doc = NULL;
    *len = 0;
    ret = license_validate(lic, reason, sizeof(reason));
    if (ret != 0)
        goto out;
    ret = crypto_ed25519_public_from_private(priv, key.pub);
    if (ret != 0)
        goto out;
    ret = license_issuer_id(&key, issuer_id);
    if (ret != 0)
        goto out;
    ret = format_payload(lic, issuer_id, payload, sizeof(payload), &payload_len);
    if (ret != 0)
        goto out;
    message = malloc(SIGNATURE_DOMAIN_LEN + payload_len);
    if (message == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    memcpy(message, SIGNATURE_DOMAIN, SIGNATURE_DOMAIN_LEN);
    memcpy(message + SIGNATURE_DOMAIN_LEN, payload, payload_len);
    ret = crypto_ed25519_sign(priv, message, SIGNATURE_DOMAIN_LEN + payload_len, sig);
    if (ret != 0)
        goto out;
    ret = crypto_base64_encode(sig, sizeof(sig), sig_b64, sizeof(sig_b64));
    if (ret != 0)
        goto out;
    text_len = strlen(ARMOR_BEGIN "\n") + payload_len + strlen(SIGNATURE_PREFIX) +
               SIGNATURE_B64_LEN + 1 + strlen(ARMOR_END "\n");
    text = malloc(text_len + 1);
    if (text == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    snprintf(text, text_len + 1, ARMOR_BEGIN "\n%.*s" SIGNATURE_PREFIX "%s\n" ARMOR_END "\n",
             (int)payload_len, payload, sig_b64);
    /* Never hand out a document the verifier would reject. */
    ret = license_parse_verify(text, text_len, &key, 1, &check, reason, sizeof(reason));
    if (ret != 0) {
        ret = -EIO;
        goto out;
    }
    *doc = text;
    *len = text_len;
    text = NULL;
out:
    free(text);
    free(message);
    return ret;
}

/* ---- time state ---- */

static void describe_time(char *why, size_t whylen, const char *what, int64_t t, const char *suffix)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (license_format_time(t, when, sizeof(when)) != 0)
        snprintf(when, sizeof(when), "%lld", (long long)t);
    errbuf_set(why, whylen, "%s%s%s", what, when, suffix);
}

enum license_state license_evaluate(const struct license *lic, int64_t now, char *why,
                                    size_t whylen)
{
    if (whylen > 0)
        why[0] = '\0';
    if (lic->issued - LICENSE_CLOCK_SKEW > now) {
        describe_time(why, whylen, "issued in the future (", lic->issued, ")");
        return LICENSE_NOT_YET_VALID;
    }
    if (!lic->perpetual && now >= lic->support_until) {
        describe_time(why, whylen, "support ended ", lic->support_until, "");
        return LICENSE_EXPIRED;
    }
    if (lic->lease_not_after != 0 && now >= lic->lease_not_after) {
        describe_time(why, whylen, "lease ended ", lic->lease_not_after, "");
        return LICENSE_LEASE_OVER;
    }
    if (lic->sunset != 0 && now >= lic->sunset) {
        describe_time(why, whylen, "sunset reached ", lic->sunset, "");
        return LICENSE_SUNSET;
    }
    return LICENSE_ACTIVE;
}

static void consider_change(int64_t *next, int64_t candidate, int64_t now)
{
    if (candidate > now && candidate < *next)
        *next = candidate;
}

int64_t license_next_change(const struct license *lic, int64_t now)
{
    int64_t next = INT64_MAX;

    consider_change(&next, lic->issued - LICENSE_CLOCK_SKEW, now);
    if (!lic->perpetual)
        consider_change(&next, lic->support_until, now);
    if (lic->lease_not_after != 0)
        consider_change(&next, lic->lease_not_after, now);
    if (lic->sunset != 0)
        consider_change(&next, lic->sunset, now);
    return next;
}

const char *license_state_name(enum license_state state)
{
    switch (state) {
    case LICENSE_ACTIVE:
        return "active";
    case LICENSE_EXPIRED:
        return "expired";
    case LICENSE_LEASE_OVER:
        return "lease-over";
    case LICENSE_NOT_YET_VALID:
        return "not-yet-valid";
    case LICENSE_SUNSET:
        return "sunset";
    }
    return "unknown";
}
