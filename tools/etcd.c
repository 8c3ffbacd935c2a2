#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "etcd.h"
#include "curl_tls.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errbuf.h"
#include "text.h"

#define JSON_DEPTH       16  /* the deepest real answer (txn) nests 5 */
#define QUOTE_MAX        48  /* bytes of an offending value quoted in an error */
#define MESSAGE_MAX      200 /* bytes of etcd's own error message kept */
#define REASONS_MAX      768 /* bytes of the per-endpoint reasons when none answered */
#define REQUEST_MAX      4096
#define LEASE_TTL_MAX    9000000000LL /* etcd's MaxLeaseTTL */
#define GRPC_NOT_FOUND   5
#define GRPC_UNAVAILABLE 14
#define B64_KEY_SIZE     (CRYPTO_BASE64_LEN(ETCD_KEY_MAX) + 1)
#define B64_VALUE_SIZE   (CRYPTO_BASE64_LEN(ETCD_VALUE_MAX) + 1)

struct etcd {
    char *endpoints[ETCD_MAX_ENDPOINTS];
    size_t nendpoints;
    size_t current;
    bool https;
    unsigned timeout_ms;
    CURL *curl;
    struct curl_slist *headers;
    char curl_error[CURL_ERROR_SIZE];
};

/* One call: what it is, where it was answered, where its error goes. */
struct call {
    struct etcd *e;
    const char *what;
    size_t endpoint;
    char *err;
    size_t errlen;
};

struct answer {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool stream;    /* keep only the first newline-delimited message */
    bool line_done; /* the first message is complete: the transfer was cut on purpose */
    bool too_big;
    long status;
};

static int call_fail(const struct call *c, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int call_fail(const struct call *c, int ret, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errbuf_set(c->err, c->errlen, "etcd %s at %s: %s", c->what, c->e->endpoints[c->endpoint], msg);
    return ret;
}

/* The JSON text of v, cleaned and cut to QUOTE_MAX bytes, for an error message. */
static void quote_json(struct json_object *v, char *out, size_t outlen)
{
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

    text_clean(s ? s : "?", s ? strlen(s) : 1, out, outlen < QUOTE_MAX ? outlen : QUOTE_MAX, 0);
}

static void quote_bytes(const char *s, size_t len, char *out, size_t outlen)
{
    text_clean(s, len, out, outlen < QUOTE_MAX ? outlen : QUOTE_MAX, 0);
}

/* ------------------------------------------------------------ strict fields */

static const char *type_name(enum json_type t)
{
    switch (t) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
    case json_type_int:
        return "a number";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "?";
}

/* obj's member name of the given type into *out (NULL when absent and not required). */
static int member(const struct call *c, struct json_object *obj, const char *ctx, const char *name,
                  enum json_type type, bool required, struct json_object **out)
{
    struct json_object *v = NULL;
    char q[QUOTE_MAX];

    *out = NULL;
    if (!json_object_object_get_ex(obj, name, &v)) {
        if (required)
            return call_fail(c, -EPROTO, "no %s%s in the answer", ctx, name);
        return 0;
    }
    if (v == NULL) /* JSON null: the gateway omits a field rather than send it */
        return call_fail(c, -EPROTO, "%s%s is null, not %s", ctx, name, type_name(type));
    if (!json_object_is_type(v, type)) {
        quote_json(v, q, sizeof(q));
        return call_fail(c, -EPROTO, "%s%s is %s, not %s: %s", ctx, name,
                         type_name(json_object_get_type(v)), type_name(type), q);
    }
    *out = v;
    return 0;
}

/* s[0..len) as the canonical decimal text of a uint64 (no sign, no leading zero). */
static bool decimal_u64(const char *s, size_t len, uint64_t *v)
{
    uint64_t x = 0;

    if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';

        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

/* A 64-bit number, which the gateway sends as a decimal string and omits when 0. */
static int field_u64(const struct call *c, struct json_object *obj, const char *ctx,
                     const char *name, bool required, uint64_t *out)
{
    struct json_object *v;
    char q[QUOTE_MAX];
    int r;

    *out = 0;
    if ((r = member(c, obj, ctx, name, json_type_string, required, &v)) < 0 || v == NULL)
        return r;
    if (!decimal_u64(json_object_get_string(v), (size_t)json_object_get_string_len(v), out)) {
        quote_json(v, q, sizeof(q));
        return call_fail(c, -EPROTO, "%s%s is not a 64-bit decimal: %s", ctx, name, q);
    }
    return 0;
}

/* An int64 that must be min..INT64_MAX (etcd sends no negative value we read). */
static int field_i64(const struct call *c, struct json_object *obj, const char *ctx,
                     const char *name, bool required, int64_t min, int64_t *out)
{
    uint64_t u;
    int r;

    *out = 0;
    if ((r = field_u64(c, obj, ctx, name, required, &u)) < 0)
        return r;
    if (u > INT64_MAX || (int64_t)u < min)
        return call_fail(c, -EPROTO, "%s%s is %" PRIu64 ", outside %" PRId64 "..%" PRId64, ctx,
                         name, u, min, INT64_MAX);
    *out = (int64_t)u;
    return 0;
}

static int field_bool(const struct call *c, struct json_object *obj, const char *ctx,
                      const char *name, bool *out)
{
    struct json_object *v;
    int r;

    *out = false;
    if ((r = member(c, obj, ctx, name, json_type_boolean, false, &v)) < 0 || v == NULL)
        return r;
    *out = json_object_get_boolean(v);
    return 0;
}

/* Bytes sent as canonical base64 into out[0..max] (NUL-terminated), *len of them; absent is
 * empty. More than max bytes is -EMSGSIZE. */
static int field_bytes(const struct call *c, struct json_object *obj, const char *ctx,
                       const char *name, bool required, char *out, size_t max, size_t *len)
{
    struct json_object *v;
    const char *s;
    size_t slen, n;
    char q[QUOTE_MAX];
    int r;

    out[0] = '\0';
    *len = 0;
    if ((r = member(c, obj, ctx, name, json_type_string, required, &v)) < 0 || v == NULL)
        return r;
    s = json_object_get_string(v);
    slen = (size_t)json_object_get_string_len(v);
    if (slen == 0)
        return 0;
    if (slen % 4 != 0)
        goto bad;
    n = slen / 4 * 3 - (s[slen - 1] == '=') - (s[slen - 2] == '=');
    if (n > max)
        return call_fail(c, -EMSGSIZE, "%s%s is %zu bytes, more than %zu", ctx, name, n, max);
    if (n == 0 || crypto_base64_decode_exact(s, slen, (uint8_t *)out, n) < 0)
        goto bad;
    out[n] = '\0';
    *len = n;
    return 0;
bad:
    out[0] = '\0';
    quote_json(v, q, sizeof(q));
    return call_fail(c, -EPROTO, "%s%s is not canonical base64: %s", ctx, name, q);
}

/* A text field (version, alarm) cleaned into out; absent is "". */
static int field_text(const struct call *c, struct json_object *obj, const char *ctx,
                      const char *name, bool required, char *out, size_t outlen)
{
    struct json_object *v;
    int r;

    out[0] = '\0';
    if ((r = member(c, obj, ctx, name, json_type_string, required, &v)) < 0 || v == NULL)
        return r;
    text_clean(json_object_get_string(v), (size_t)json_object_get_string_len(v), out, outlen, 0);
    return 0;
}

/* ------------------------------------------------------------ answers */

/* data[0..len) as one JSON object and nothing after it. */
static int json_parse_object(const char *data, size_t len, struct json_object **out,
                             const char **why)
{
    struct json_tokener *tok;
    struct json_object *o;

    *out = NULL;
    *why = "";
    if (len == 0) {
        *why = "empty answer";
        return -EPROTO;
    }
    if (len > INT32_MAX || !(tok = json_tokener_new_ex(JSON_DEPTH)))
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, data, (int)len);
    if (!o) {
        enum json_tokener_error je = json_tokener_get_error(tok);

        *why = je == json_tokener_continue ? "truncated JSON" : json_tokener_error_desc(je);
    } else if (json_tokener_get_parse_end(tok) != len) {
        *why = "data after the JSON value";
    } else if (!json_object_is_type(o, json_type_object)) {
        *why = "not a JSON object";
    } else {
        json_tokener_free(tok);
        *out = o;
        return 0;
    }
    json_object_put(o);
    json_tokener_free(tok);
    return -EPROTO;
}

/* Whether o is the gateway's error: {"error":"...","message":"...","code":N} from a unary call,
 * or {"grpc_code":N,"message":"...",...} inside a stream's "error". *code and msg (cleaned)
 * when it is. */
static bool etcd_error(struct json_object *o, int *code, char *msg, size_t msglen)
{
    struct json_object *c, *m;

    if (!json_object_object_get_ex(o, "code", &c) && !json_object_object_get_ex(o, "grpc_code", &c))
        return false;
    if (!json_object_is_type(c, json_type_int) || json_object_get_int64(c) < 0 ||
        json_object_get_int64(c) > 64)
        return false;
    if ((!json_object_object_get_ex(o, "message", &m) ||
         !json_object_is_type(m, json_type_string) || json_object_get_string_len(m) == 0) &&
        (!json_object_object_get_ex(o, "error", &m) || !json_object_is_type(m, json_type_string)))
        return false;
    *code = (int)json_object_get_int64(c);
    text_clean(json_object_get_string(m), (size_t)json_object_get_string_len(m), msg,
               msglen < MESSAGE_MAX ? msglen : MESSAGE_MAX, 0);
    return true;
}

static int etcd_error_fail(const struct call *c, int code, const char *msg)
{
    return call_fail(c, code == GRPC_NOT_FOUND ? -ENOENT : -EIO, "%s (code %d)",
                     msg[0] ? msg : "(no message)", code);
}

/* The answer as a JSON object: 0 for HTTP 200 and a well-formed object; an etcd error is
 * -ENOENT or -EIO with its message; anything else -EPROTO. */
static int answer_object(const struct call *c, const struct answer *a, struct json_object **out)
{
    struct json_object *o;
    char q[QUOTE_MAX], msg[MESSAGE_MAX];
    const char *why;
    int code, r;

    *out = NULL;
    r = json_parse_object(a->data, a->len, &o, &why);
    if (r == -ENOMEM)
        return call_fail(c, r, "out of memory");
    if (a->status != 200) {
        if (r == 0 && etcd_error(o, &code, msg, sizeof(msg))) {
            json_object_put(o);
            return etcd_error_fail(c, code, msg);
        }
        json_object_put(o);
        quote_bytes(a->data, a->len, q, sizeof(q));
        return call_fail(c, -EPROTO, "HTTP %ld and not an etcd error: '%s'", a->status, q);
    }
    if (r < 0) {
        quote_bytes(a->data, a->len, q, sizeof(q));
        return call_fail(c, r, "malformed answer (%s): '%s'", why, q);
    }
    *out = o;
    return 0;
}

/* Whether the answer is etcd's "unavailable" (no leader, not ready): another member may serve. */
static bool answer_unavailable(const struct answer *a, char *why, size_t whylen)
{
    struct json_object *o;
    char msg[MESSAGE_MAX];
    const char *ignored;
    int code;
    bool unavailable = false;

    if (a->status == 200 || json_parse_object(a->data, a->len, &o, &ignored) < 0)
        return false;
    if (etcd_error(o, &code, msg, sizeof(msg)) && code == GRPC_UNAVAILABLE) {
        snprintf(why, whylen, "%s (code %d)", msg, code);
        unavailable = true;
    }
    json_object_put(o);
    return unavailable;
}

/* ------------------------------------------------------------ transfer */

static size_t answer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct answer *a = userdata;
    size_t n = size * nmemb; /* size is 1 for data callbacks */
    const char *nl = a->stream ? memchr(ptr, '\n', n) : NULL;
    size_t keep = nl ? (size_t)(nl - ptr) : n;

    if (a->max - a->len < keep) {
        a->too_big = true;
        return 0;
    }
    if (a->cap - a->len <= keep) {
        size_t cap = a->cap ? a->cap : 4096;
        char *p;

        while (cap - a->len <= keep)
            cap *= 2;
        if (cap > a->max + 1)
            cap = a->max + 1;
        if (!(p = realloc(a->data, cap)))
            return 0;
        a->data = p;
        a->cap = cap;
    }
    memcpy(a->data + a->len, ptr, keep);
    a->len += keep;
    a->data[a->len] = '\0';
    if (!nl)
        return n;
    a->line_done = true;
    return 0; /* ends the transfer after the first message */
}

/* A transfer that gave no usable answer: its -errno and a reason without the endpoint. */
static int transfer_failure(const struct etcd *e, CURLcode rc, long os_errno,
                            const struct answer *a, char *why, size_t whylen)
{
    char detail[CURL_ERROR_SIZE];
    const char *d = e->curl_error[0] ? e->curl_error : curl_easy_strerror(rc);

    text_clean(d, strlen(d), detail, sizeof(detail), 0);
    if (a->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, whylen, "answer larger than %zu bytes", a->max);
        return -EMSGSIZE;
    }
    /* Under TLS 1.3 a refused client certificate is an alert read after the handshake: a
     * receive error that no socket reported. */
    if (curl_tls_failure(rc) ||
        (e->https && os_errno == 0 && (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR))) {
        snprintf(why, whylen, "TLS failed: %s", detail);
        return -EPROTO;
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(why, whylen, "no answer within %u ms", e->timeout_ms);
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED) {
            snprintf(why, whylen, "connection refused");
            return -ECONNREFUSED;
        }
        snprintf(why, whylen, "cannot connect: %s", detail);
        return os_errno == ETIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(why, whylen, "cannot resolve the host: %s", detail);
        return -EHOSTUNREACH;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR: /* answer_write could not grow its buffer */
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    default:
        snprintf(why, whylen, "connection lost: %s", detail);
        return -ECONNRESET;
    }
}

/* One attempt at endpoint i: 0 when an HTTP answer arrived (whatever its status), else the
 * transfer's -errno and why. */
static int attempt(struct etcd *e, size_t i, const char *path, const char *body, struct answer *a,
                   char *why, size_t whylen)
{
    char url[ETCD_ENDPOINT_MAX + 64];
    long os_errno = 0;
    CURLcode rc;

    a->len = 0;
    a->line_done = a->too_big = false;
    a->status = 0;
    if (a->data)
        a->data[0] = '\0';
    e->curl_error[0] = '\0';
    snprintf(url, sizeof(url), "%s%s", e->endpoints[i], path);
    curl_easy_setopt(e->curl, CURLOPT_URL, url);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(e->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)a->max);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, a);
    rc = curl_easy_perform(e->curl);
    if (rc == CURLE_WRITE_ERROR && a->line_done)
        rc = CURLE_OK;
    if (rc != CURLE_OK) {
        curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &os_errno);
        return transfer_failure(e, rc, os_errno, a, why, whylen);
    }
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &a->status);
    if (!a->data && !(a->data = calloc(1, 1)))
        return -ENOMEM;
    return 0;
}

/* POSTs body to path on the current endpoint, then the next ones, until one answers. The one
 * that answered becomes current and c->endpoint. On failure the answer is freed and err lists
 * each endpoint's reason; the errno is the last one's. */
static int etcd_call(struct call *c, const char *path, const char *body, size_t max, bool stream,
                     struct answer *a)
{
    struct etcd *e = c->e;
    char reasons[REASONS_MAX] = "", why[CURL_ERROR_SIZE + 64];
    size_t used = 0;
    int r = -EIO;

    memset(a, 0, sizeof(*a));
    a->max = max;
    a->stream = stream;
    for (size_t k = 0; k < e->nendpoints; k++) {
        size_t i = (e->current + k) % e->nendpoints;
        int n;

        why[0] = '\0';
        r = attempt(e, i, path, body, a, why, sizeof(why));
        if (r == 0 && !answer_unavailable(a, why, sizeof(why))) {
            e->current = c->endpoint = i;
            return 0;
        }
        if (r == 0)
            r = -EIO;
        if (r == -ENOMEM || r == -EMSGSIZE) {
            c->endpoint = i;
            call_fail(c, r, "%s", why);
            goto fail;
        }
        n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s: %s", k ? "; " : "",
                     e->endpoints[i], why);
        if (n > 0)
            used += (size_t)n < sizeof(reasons) - used ? (size_t)n : sizeof(reasons) - used - 1;
    }
    errbuf_set(c->err, c->errlen, "etcd %s: no endpoint answered: %s", c->what, reasons);
fail:
    free(a->data);
    memset(a, 0, sizeof(*a));
    return r;
}

/* ------------------------------------------------------------ requests */

static int key_check(const char *what, const char *noun, const char *key, char *err, size_t errlen)
{
    size_t n = key ? strlen(key) : 0;

    if (n == 0 || n > ETCD_KEY_MAX)
        return errbuf_fail(err, errlen, -EINVAL, "etcd %s: the %s must be 1..%d bytes, not %zu",
                           what, noun, ETCD_KEY_MAX, n);
    return 0;
}

/* prefix's range end: the prefix with its last byte below 0xff incremented and the rest
 * dropped; all 0xff is "\0", which etcd reads as "every key from key on". */
static size_t prefix_range_end(const char *prefix, size_t len, unsigned char *end)
{
    memcpy(end, prefix, len);
    for (size_t i = len; i > 0; i--) {
        if (end[i - 1] != 0xff) {
            end[i - 1]++;
            return i;
        }
    }
    end[0] = 0;
    return 1;
}

/* {"key":...,"range_end":...} members for prefix into key64 and end64. */
static int prefix_b64(const char *prefix, char *key64, char *end64)
{
    unsigned char end[ETCD_KEY_MAX];
    size_t len = strlen(prefix), endlen = prefix_range_end(prefix, len, end);

    if (crypto_base64_encode((const uint8_t *)prefix, len, key64, B64_KEY_SIZE) < 0 ||
        crypto_base64_encode(end, endlen, end64, B64_KEY_SIZE) < 0)
        return -EINVAL;
    return 0;
}

static int header_revision(const struct call *c, struct json_object *o, int64_t *revision)
{
    struct json_object *h;
    int r;

    *revision = 0;
    if ((r = member(c, o, "", "header", json_type_object, true, &h)) < 0)
        return r;
    return field_i64(c, h, "header.", "revision", true, 1, revision);
}

/* ------------------------------------------------------------ open, close */

static int endpoint_check(const char *url, bool *https, char *err, size_t errlen)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL, *path = NULL, *part = NULL;
    char q[QUOTE_MAX];
    int r = -EINVAL;

    quote_bytes(url ? url : "", url ? strlen(url) : 0, q, sizeof(q));
    if (!url || strlen(url) > ETCD_ENDPOINT_MAX)
        return errbuf_fail(err, errlen, -EINVAL, "etcd endpoint '%s': empty or over %d bytes", q,
                           ETCD_ENDPOINT_MAX);
    if (!(u = curl_url()))
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        errbuf_set(err, errlen, "etcd endpoint '%s': not a URL (use http(s)://HOST:PORT)", q);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        errbuf_set(err, errlen, "etcd endpoint '%s': scheme must be http or https", q);
        goto out;
    }
    if ((path[0] && strcmp(path, "/") != 0) ||
        curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        errbuf_set(err, errlen, "etcd endpoint '%s': only scheme, host and port are allowed", q);
        goto out;
    }
    *https = strcmp(scheme, "https") == 0;
    r = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(part);
    curl_url_cleanup(u);
    return r;
}

static int config_check(const struct etcd_config *cfg, bool *first_https, char *err, size_t errlen)
{
    bool https = false;
    int r;

    if (cfg->nendpoints == 0 || cfg->nendpoints > ETCD_MAX_ENDPOINTS)
        return errbuf_fail(err, errlen, -EINVAL, "etcd: %zu endpoints, need 1..%d", cfg->nendpoints,
                           ETCD_MAX_ENDPOINTS);
    for (size_t i = 0; i < cfg->nendpoints; i++) {
        if ((r = endpoint_check(cfg->endpoints[i], &https, err, errlen)) < 0)
            return r;
        if (i == 0)
            *first_https = https;
        else if (https != *first_https)
            return errbuf_fail(err, errlen, -EINVAL, "etcd: endpoints mix http and https");
    }
    if (!cfg->cert_file != !cfg->key_file)
        return errbuf_fail(err, errlen, -EINVAL,
                           "etcd: a client certificate needs both cert_file and key_file");
    if (!*first_https && (cfg->ca_file || cfg->cert_file))
        return errbuf_fail(err, errlen, -EINVAL,
                           "etcd: TLS files given but the endpoints are http, not https");
    if (cfg->timeout_ms > ETCD_TIMEOUT_MAX_MS)
        return errbuf_fail(err, errlen, -EINVAL, "etcd: timeout %u ms, more than %u",
                           cfg->timeout_ms, ETCD_TIMEOUT_MAX_MS);
    return 0;
}

int etcd_open(const struct etcd_config *cfg, struct etcd **out, char *err, size_t errlen)
{
    struct etcd *e = NULL;
    bool ok = true, https = false;
    int r;

    *out = NULL;
    errbuf_set(err, errlen, "%s", "");
    if ((r = config_check(cfg, &https, err, errlen)) < 0)
        return r;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return errbuf_fail(err, errlen, -ENOMEM, "etcd: libcurl cannot start");
    if (!(e = calloc(1, sizeof(*e))))
        goto nomem;
    e->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : ETCD_TIMEOUT_DEFAULT_MS;
    e->https = https;
    for (size_t i = 0; i < cfg->nendpoints; i++) {
        size_t n = strlen(cfg->endpoints[i]);

        while (n > 0 && cfg->endpoints[i][n - 1] == '/')
            n--;
        if (!(e->endpoints[i] = strndup(cfg->endpoints[i], n)))
            goto nomem;
        e->nendpoints++;
    }
    if (!(e->curl = curl_easy_init()))
        goto nomem;
    e->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (e->headers)
        e->headers = curl_slist_append(e->headers, "Expect:");
    if (!e->headers)
        goto nomem;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok &= curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
    ok &= curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ==
          CURLE_OK;
#endif
    ok &= curl_easy_setopt(e->curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_PROXY, "") == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_NOPROXY, "*") == CURLE_OK;
    /* HTTP/1.1 keeps the keepalive stream a plain chunked body. */
    ok &= curl_easy_setopt(e->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (cfg->ca_file)
        ok &= curl_easy_setopt(e->curl, CURLOPT_CAINFO, cfg->ca_file) == CURLE_OK;
    if (cfg->cert_file) {
        ok &= curl_easy_setopt(e->curl, CURLOPT_SSLCERT, cfg->cert_file) == CURLE_OK;
        ok &= curl_easy_setopt(e->curl, CURLOPT_SSLKEY, cfg->key_file) == CURLE_OK;
    }
    ok &= curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_POST, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "licgate-etcd") == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, answer_write) == CURLE_OK;
    ok &= curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, e->curl_error) == CURLE_OK;
    if (!ok) {
        etcd_close(e);
        return errbuf_fail(err, errlen, -EINVAL, "etcd: libcurl refused an option (no TLS?)");
    }
    *out = e;
    return 0;
nomem:
    etcd_close(e);
    if (!e)
        curl_global_cleanup();
    return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
}

void etcd_close(struct etcd *e)
{
    if (!e)
        return;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->headers);
    for (size_t i = 0; i < e->nendpoints; i++)
        free(e->endpoints[i]);
    free(e);
    curl_global_cleanup();
}

const char *etcd_endpoint(const struct etcd *e)
{
    return e->endpoints[e->current];
}

/* ------------------------------------------------------------ leases */

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, int64_t *ttl_granted, char *err,
                     size_t errlen)
{
    struct call c = {e, "lease grant", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL, *v;
    char body[64], msg[MESSAGE_MAX];
    int r;

    *id = *ttl_granted = 0;
    errbuf_set(err, errlen, "%s", "");
    if (ttl_s < 1 || ttl_s > LEASE_TTL_MAX)
        return errbuf_fail(err, errlen, -EINVAL, "etcd lease grant: TTL %" PRId64 " s, not 1..%lld",
                           ttl_s, LEASE_TTL_MAX);
    snprintf(body, sizeof(body), "{\"TTL\":\"%" PRId64 "\"}", ttl_s);
    if ((r = etcd_call(&c, "/v3/lease/grant", body, ETCD_ANSWER_MAX, false, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0)
        goto out;
    if ((r = member(&c, o, "", "error", json_type_string, false, &v)) < 0)
        goto out;
    if (v && json_object_get_string_len(v) > 0) {
        text_clean(json_object_get_string(v), (size_t)json_object_get_string_len(v), msg,
                   sizeof(msg), 0);
        r = call_fail(&c, -EIO, "%s", msg);
        goto out;
    }
    if ((r = field_i64(&c, o, "", "ID", true, 1, id)) < 0 ||
        (r = field_i64(&c, o, "", "TTL", true, 1, ttl_granted)) < 0)
        *id = *ttl_granted = 0;
out:
    json_object_put(o);
    free(a.data);
    return r;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl, char *err, size_t errlen)
{
    struct call c = {e, "lease keepalive", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL, *res, *stream_err;
    char body[64], msg[MESSAGE_MAX];
    int64_t got = 0;
    int code, r;

    *ttl = 0;
    errbuf_set(err, errlen, "%s", "");
    if (id < 1)
        return errbuf_fail(err, errlen, -EINVAL, "etcd lease keepalive: lease id %" PRId64, id);
    snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", id);
    if ((r = etcd_call(&c, "/v3/lease/keepalive", body, ETCD_ANSWER_MAX, true, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0)
        goto out;
    /* A stream reports a failure inside its body, with HTTP 200. */
    if ((r = member(&c, o, "", "error", json_type_object, false, &stream_err)) < 0)
        goto out;
    if (stream_err) {
        if (etcd_error(stream_err, &code, msg, sizeof(msg)))
            r = etcd_error_fail(&c, code, msg);
        else
            r = call_fail(&c, -EPROTO, "malformed stream error");
        goto out;
    }
    if ((r = member(&c, o, "", "result", json_type_object, true, &res)) < 0 ||
        (r = field_i64(&c, res, "result.", "ID", true, 1, &got)) < 0 ||
        (r = field_i64(&c, res, "result.", "TTL", false, 0, ttl)) < 0)
        goto out;
    if (got != id)
        r = call_fail(&c, -EPROTO, "result for lease %" PRId64 ", asked for %" PRId64, got, id);
    else if (*ttl == 0)
        r = call_fail(&c, -ENOENT, "lease %" PRId64 " not found (TTL 0)", id);
out:
    if (r < 0)
        *ttl = 0;
    json_object_put(o);
    free(a.data);
    return r;
}

int etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen)
{
    struct call c = {e, "lease revoke", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL;
    char body[64];
    int r;

    errbuf_set(err, errlen, "%s", "");
    if (id < 1)
        return errbuf_fail(err, errlen, -EINVAL, "etcd lease revoke: lease id %" PRId64, id);
    snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", id);
    if ((r = etcd_call(&c, "/v3/lease/revoke", body, ETCD_ANSWER_MAX, false, &a)) < 0)
        return r;
    r = answer_object(&c, &a, &o);
    json_object_put(o);
    free(a.data);
    return r;
}

/* ------------------------------------------------------------ keys */

/* kvs[i] of a range answer into kv, checked against prefix. */
static int range_kv(const struct call *c, struct json_object *item, size_t i, const char *prefix,
                    struct etcd_kv *kv)
{
    char ctx[32], q[QUOTE_MAX];
    size_t klen;
    int r;

    snprintf(ctx, sizeof(ctx), "kvs[%zu].", i);
    if (!json_object_is_type(item, json_type_object))
        return call_fail(c, -EPROTO, "kvs[%zu] is %s, not an object", i,
                         type_name(json_object_get_type(item)));
    if ((r = field_bytes(c, item, ctx, "key", true, kv->key, ETCD_KEY_MAX, &klen)) < 0 ||
        (r = field_bytes(c, item, ctx, "value", false, kv->value, ETCD_VALUE_MAX, &kv->value_len)) <
            0 ||
        (r = field_i64(c, item, ctx, "create_revision", true, 1, &kv->create_revision)) < 0 ||
        (r = field_i64(c, item, ctx, "mod_revision", true, 1, &kv->mod_revision)) < 0 ||
        (r = field_i64(c, item, ctx, "version", true, 1, &kv->version)) < 0 ||
        (r = field_i64(c, item, ctx, "lease", false, 0, &kv->lease)) < 0)
        return r;
    quote_bytes(kv->key, klen, q, sizeof(q));
    if (klen == 0 || strlen(kv->key) != klen)
        return call_fail(c, -EPROTO, "%skey '%s' is empty or holds a NUL byte", ctx, q);
    if (strncmp(kv->key, prefix, strlen(prefix)) != 0)
        return call_fail(c, -EPROTO, "%skey '%s' is outside the prefix asked for", ctx, q);
    return 0;
}

int etcd_range_prefix(struct etcd *e, const char *prefix, struct etcd_kv **kvs, size_t *n,
                      int64_t *revision, char *err, size_t errlen)
{
    struct call c = {e, "range", e->current, err, errlen};
    struct answer a = {0};
    struct json_object *o = NULL, *list;
    struct etcd_kv *out = NULL;
    char key64[B64_KEY_SIZE], end64[B64_KEY_SIZE], body[REQUEST_MAX];
    int64_t count;
    size_t len = 0;
    bool more;
    int r;

    *kvs = NULL;
    *n = 0;
    *revision = 0;
    errbuf_set(err, errlen, "%s", "");
    if ((r = key_check("range", "prefix", prefix, err, errlen)) < 0)
        return r;
    if (prefix_b64(prefix, key64, end64) < 0)
        return errbuf_fail(err, errlen, -EINVAL, "etcd range: cannot encode the prefix");
    snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":\"%d\"}", key64,
             end64, ETCD_RANGE_MAX);
    if ((r = etcd_call(&c, "/v3/kv/range", body, ETCD_RANGE_ANSWER_MAX, false, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0 || (r = header_revision(&c, o, revision)) < 0 ||
        (r = member(&c, o, "", "kvs", json_type_array, false, &list)) < 0 ||
        (r = field_bool(&c, o, "", "more", &more)) < 0 ||
        (r = field_i64(&c, o, "", "count", false, 0, &count)) < 0)
        goto out;
    len = list ? json_object_array_length(list) : 0;
    if (more || len > ETCD_RANGE_MAX || count > ETCD_RANGE_MAX) {
        r = call_fail(&c, -E2BIG, "more than %d keys under the prefix (count %" PRId64 ")",
                      ETCD_RANGE_MAX, count);
        goto out;
    }
    if ((size_t)count != len) {
        r = call_fail(&c, -EPROTO, "count %" PRId64 " but %zu keys", count, len);
        goto out;
    }
    if (len > 0 && !(out = calloc(len, sizeof(*out)))) {
        r = call_fail(&c, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        if ((r = range_kv(&c, json_object_array_get_idx(list, i), i, prefix, &out[i])) < 0)
            goto out;
        /* Sorted and unique, or a seat could be counted twice. */
        if (i > 0 && strcmp(out[i - 1].key, out[i].key) >= 0) {
            r = call_fail(&c, -EPROTO, "kvs[%zu] is out of key order", i);
            goto out;
        }
    }
    *kvs = out;
    *n = len;
    out = NULL;
    r = 0;
out:
    if (r < 0)
        *revision = 0;
    free(out);
    json_object_put(o);
    free(a.data);
    return r;
}

int etcd_txn_put_if_unchanged(struct etcd *e, const char *prefix, int64_t revision, const char *key,
                              const void *value, size_t value_len, int64_t lease, bool *succeeded,
                              int64_t *new_revision, char *err, size_t errlen)
{
    struct call c = {e, "txn", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL, *responses, *first, *put;
    char p64[B64_KEY_SIZE], end64[B64_KEY_SIZE], key64[B64_KEY_SIZE], value64[B64_VALUE_SIZE];
    char body[REQUEST_MAX];
    bool ok;
    size_t nresp;
    int r;

    *succeeded = false;
    *new_revision = 0;
    errbuf_set(err, errlen, "%s", "");
    if ((r = key_check("txn", "prefix", prefix, err, errlen)) < 0 ||
        (r = key_check("txn", "key", key, err, errlen)) < 0)
        return r;
    if (strncmp(key, prefix, strlen(prefix)) != 0)
        return errbuf_fail(err, errlen, -EINVAL, "etcd txn: key is not under the prefix");
    if (revision < 0 || revision == INT64_MAX || lease < 0 || value_len > ETCD_VALUE_MAX ||
        (value_len > 0 && !value))
        return errbuf_fail(err, errlen, -EINVAL,
                           "etcd txn: revision %" PRId64 ", lease %" PRId64 " or value of %zu bytes"
                           " out of range",
                           revision, lease, value_len);
    if (prefix_b64(prefix, p64, end64) < 0 ||
        crypto_base64_encode((const uint8_t *)key, strlen(key), key64, sizeof(key64)) < 0 ||
        crypto_base64_encode(value, value_len, value64, sizeof(value64)) < 0)
        return errbuf_fail(err, errlen, -EINVAL, "etcd txn: cannot encode the request");
    snprintf(body, sizeof(body),
             "{\"compare\":[{\"target\":\"MOD\",\"result\":\"LESS\",\"key\":\"%s\",\"range_end\":"
             "\"%s\",\"mod_revision\":\"%" PRId64 "\"}],\"success\":[{\"request_put\":{\"key\":"
             "\"%s\",\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}}]}",
             p64, end64, revision + 1, key64, value64, lease);
    if ((r = etcd_call(&c, "/v3/kv/txn", body, ETCD_ANSWER_MAX, false, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0 || (r = header_revision(&c, o, new_revision)) < 0 ||
        (r = field_bool(&c, o, "", "succeeded", &ok)) < 0 ||
        (r = member(&c, o, "", "responses", json_type_array, false, &responses)) < 0)
        goto out;
    nresp = responses ? json_object_array_length(responses) : 0;
    if (nresp != (ok ? 1u : 0u)) {
        r = call_fail(&c, -EPROTO, "%zu responses to a txn that %s", nresp,
                      ok ? "succeeded" : "failed");
        goto out;
    }
    if (ok) {
        first = json_object_array_get_idx(responses, 0);
        if (!json_object_is_type(first, json_type_object)) {
            r = call_fail(&c, -EPROTO, "responses[0] is not an object");
            goto out;
        }
        if ((r = member(&c, first, "responses[0].", "response_put", json_type_object, true, &put)) <
            0)
            goto out;
    }
    *succeeded = ok;
out:
    if (r < 0)
        *new_revision = 0;
    json_object_put(o);
    free(a.data);
    return r;
}

int etcd_delete(struct etcd *e, const char *key, int64_t *deleted, int64_t *revision, char *err,
                size_t errlen)
{
    struct call c = {e, "delete", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL;
    char key64[B64_KEY_SIZE], body[REQUEST_MAX];
    int r;

    *deleted = *revision = 0;
    errbuf_set(err, errlen, "%s", "");
    if ((r = key_check("delete", "key", key, err, errlen)) < 0)
        return r;
    if (crypto_base64_encode((const uint8_t *)key, strlen(key), key64, sizeof(key64)) < 0)
        return errbuf_fail(err, errlen, -EINVAL, "etcd delete: cannot encode the key");
    snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key64);
    if ((r = etcd_call(&c, "/v3/kv/deleterange", body, ETCD_ANSWER_MAX, false, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0 || (r = header_revision(&c, o, revision)) < 0 ||
        (r = field_i64(&c, o, "", "deleted", false, 0, deleted)) < 0)
        goto out;
    if (*deleted > 1)
        r = call_fail(&c, -EPROTO, "deleted %" PRId64 " keys of one", *deleted);
out:
    if (r < 0)
        *deleted = *revision = 0;
    json_object_put(o);
    free(a.data);
    return r;
}

/* ------------------------------------------------------------ status */

static int status_errors(const struct call *c, struct json_object *o, struct etcd_status *st)
{
    struct json_object *list, *item;
    size_t used = 0;
    int r;

    if ((r = member(c, o, "", "errors", json_type_array, false, &list)) < 0 || !list)
        return r;
    for (size_t i = 0; i < json_object_array_length(list) && used < ETCD_STATUS_ERRORS; i++) {
        item = json_object_array_get_idx(list, i);
        if (!json_object_is_type(item, json_type_string))
            return call_fail(c, -EPROTO, "errors[%zu] is not a string", i);
        if (i > 0)
            used += (size_t)snprintf(st->errors + used, sizeof(st->errors) - used, "; ");
        if (used < ETCD_STATUS_ERRORS)
            used +=
                text_clean(json_object_get_string(item), (size_t)json_object_get_string_len(item),
                           st->errors + used, sizeof(st->errors) - used, 0);
    }
    return 0;
}

int etcd_status(struct etcd *e, struct etcd_status *st, char *err, size_t errlen)
{
    struct call c = {e, "status", e->current, err, errlen};
    struct answer a;
    struct json_object *o = NULL, *h;
    int r;

    memset(st, 0, sizeof(*st));
    errbuf_set(err, errlen, "%s", "");
    if ((r = etcd_call(&c, "/v3/maintenance/status", "{}", ETCD_ANSWER_MAX, false, &a)) < 0)
        return r;
    if ((r = answer_object(&c, &a, &o)) < 0 ||
        (r = member(&c, o, "", "header", json_type_object, true, &h)) < 0 ||
        (r = field_u64(&c, h, "header.", "cluster_id", true, &st->cluster_id)) < 0 ||
        (r = field_u64(&c, h, "header.", "member_id", true, &st->member_id)) < 0 ||
        (r = field_i64(&c, h, "header.", "revision", true, 1, &st->revision)) < 0 ||
        (r = field_text(&c, o, "", "version", true, st->version, sizeof(st->version))) < 0 ||
        (r = field_i64(&c, o, "", "dbSize", false, 0, &st->db_size)) < 0 ||
        (r = field_i64(&c, o, "", "dbSizeInUse", false, 0, &st->db_size_in_use)) < 0 ||
        (r = field_u64(&c, o, "", "leader", false, &st->leader)) < 0 ||
        (r = field_u64(&c, o, "", "raftIndex", false, &st->raft_index)) < 0 ||
        (r = field_u64(&c, o, "", "raftTerm", false, &st->raft_term)) < 0 ||
        (r = field_u64(&c, o, "", "raftAppliedIndex", false, &st->raft_applied_index)) < 0 ||
        (r = field_bool(&c, o, "", "isLearner", &st->is_learner)) < 0 ||
        (r = status_errors(&c, o, st)) < 0)
        goto out;
    st->endpoint = c.endpoint;
out:
    if (r < 0)
        memset(st, 0, sizeof(*st));
    json_object_put(o);
    free(a.data);
    return r;
}
