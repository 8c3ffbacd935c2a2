/* The license payload's fields: times, the binding, each field's parser,
 * and the payload as a whole (license_format.h). Values come from a document
 * that is not yet trusted: every parser bounds what it reads and quotes
 * what it rejects. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "license_format.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cursor.h"
#include "errbuf.h"
#include "hex.h"

#define SEATS_MAX     1000000
#define TOLERANCE_MAX 8
#define YEAR_MIN      1971
#define YEAR_MAX      2199
#define TIME_TEXT_LEN 20
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

static const char *const kind_names[] = {
    [LICENSE_KIND_STANDARD] = "standard",
    [LICENSE_KIND_FAILOVER] = "failover",
    [LICENSE_KIND_CLUSTER] = "cluster",
};

const char *license_kind_name(enum license_kind kind)
{
    if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]))
        return kind_names[kind];
    return "?";
}

int license_kind_from_name(const char *name, size_t len, enum license_kind *kind)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (value_is(name, len, kind_names[i])) {
            *kind = (enum license_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_kind(const char *field, const char *value, size_t n, struct license *lic,
                      char *err, size_t errlen)
{
    if (license_kind_from_name(value, n, &lic->kind) != 0)
        return field_error(err, errlen, field, value, n, "is not standard, failover or cluster");
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
        return field_error(err, errlen, field, value, n,
                           lic->kind == LICENSE_KIND_CLUSTER
                               ? "but a cluster license must have 'none'"
                               : "but a standard license must have 'none'");
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
int license_parse_fields(const char *payload, size_t payload_len, unsigned first_line,
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
