#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_render.h"
#include "errbuf.h"
#include "text.h"

#define CTL_NAME_MAX 96 /* "licenses[123].lease_not_after" and the like */

/* One line of at most CTL_RESPONSE_MAX bytes ended by '\n', without a NUL. */
static int check_framing(const char *buf, size_t len, char *err, size_t errlen)
{
    if (len > CTL_RESPONSE_MAX)
        return errbuf_fail(err, errlen, -EMSGSIZE, "response larger than %u MiB",
                           CTL_RESPONSE_MAX >> 20);
    if (len == 0)
        return errbuf_fail(err, errlen, -EBADMSG, "empty response");
    if (buf[len - 1] != '\n')
        return errbuf_fail(err, errlen, -EBADMSG, "no newline at the end");
    if (memchr(buf, '\n', len - 1))
        return errbuf_fail(err, errlen, -EBADMSG, "more than one line");
    if (memchr(buf, '\0', len - 1))
        return errbuf_fail(err, errlen, -EBADMSG, "contains a NUL byte");
    return 0;
}

/* The one JSON object of body[0..len): 0 and *obj, or -errno with err. */
static int parse_object(const char *buf, size_t body, json_object **obj, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    size_t end;
    int rc = -EBADMSG;

    *obj = NULL;
    if (!tok)
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    /* Trailing data is checked below, for a clearer error. json_tokener
     * takes an int length; CTL_RESPONSE_MAX keeps body far below INT_MAX. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    *obj = json_tokener_parse_ex(tok, buf, (int)body);
    if (!*obj) {
        enum json_tokener_error jerr = json_tokener_get_error(tok);

        errbuf_set(err, errlen, "not JSON: %s",
                   jerr == json_tokener_continue ? "unexpected end of input"
                                                 : json_tokener_error_desc(jerr));
        goto out;
    }
    end = json_tokener_get_parse_end(tok);
    while (end < body && (buf[end] == ' ' || buf[end] == '\t'))
        end++;
    if (end != body)
        errbuf_set(err, errlen, "trailing data after the JSON value");
    else if (!json_object_is_type(*obj, json_type_object))
        errbuf_set(err, errlen, "not a JSON object");
    else
        rc = 0;
out:
    json_tokener_free(tok);
    return rc;
}

/* The protocol's fields: 0 when ok is true; else -errno with err, the
 * server's own error (sanitized) for a refusal. */
static int check_protocol(json_object *obj, char *err, size_t errlen)
{
    json_object *protocol, *ok, *error;
    char *text;

    if (!json_object_object_get_ex(obj, "protocol", &protocol) ||
        !json_object_is_type(protocol, json_type_int))
        return errbuf_fail(err, errlen, -EBADMSG, "field 'protocol' is missing or not an integer");
    if (json_object_get_int64(protocol) != CTL_PROTOCOL_VERSION)
        return errbuf_fail(err, errlen, -EPROTONOSUPPORT,
                           "server speaks protocol %" PRId64 ", licgatectl speaks %d",
                           json_object_get_int64(protocol), CTL_PROTOCOL_VERSION);
    if (!json_object_object_get_ex(obj, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
        return errbuf_fail(err, errlen, -EBADMSG, "field 'ok' is missing or not a boolean");
    if (json_object_get_boolean(ok))
        return 0;
    if (!json_object_object_get_ex(obj, "error", &error) ||
        !json_object_is_type(error, json_type_string))
        return errbuf_fail(err, errlen, -EBADMSG, "field 'error' is missing or not a string");
    if (!(text = text_clean_dup(json_object_get_string(error), 0)))
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    errbuf_set(err, errlen, "%s", text[0] ? text : "the server refused without saying why");
    free(text);
    return -EREMOTEIO;
}

int ctl_parse_response(const char *buf, size_t len, json_object **out, char *err, size_t errlen)
{
    json_object *obj = NULL;
    int rc;

    *out = NULL;
    errbuf_set(err, errlen, "%s", "");
    rc = check_framing(buf, len, err, errlen);
    if (rc == 0)
        rc = parse_object(buf, len - 1, &obj, err, errlen);
    if (rc == 0)
        rc = check_protocol(obj, err, errlen);
    if (rc == 0) {
        *out = obj;
        obj = NULL;
    }
    json_object_put(obj);
    return rc;
}

/* ------------------------------------------------------------------ field access */

/* Where a renderer reports a malformed field. prefix is "" or e.g. "licenses[2]." */
struct render_ctx {
    char *err;
    size_t errlen;
};

static int bad_field(struct render_ctx *ctx, const char *prefix, const char *key, const char *what)
{
    errbuf_set(ctx->err, ctx->errlen, "field '%s%s' is %s", prefix, key, what);
    return -EBADMSG;
}

/* *v is the member of that type, or NULL when absent or null and nullable.
 * expected names the type for the error ("a string"). */
static int get_member(struct render_ctx *ctx, json_object *obj, const char *prefix, const char *key,
                      json_type type, bool nullable, const char *expected, json_object **v)
{
    char what[96];

    if (!json_object_object_get_ex(obj, key, v) || !*v) {
        *v = NULL;
        return nullable ? 0 : bad_field(ctx, prefix, key, "missing");
    }
    if (!json_object_is_type(*v, type)) {
        snprintf(what, sizeof(what), "%s %s, not %s",
                 json_object_is_type(*v, json_type_array) ||
                         json_object_is_type(*v, json_type_object) ||
                         json_object_is_type(*v, json_type_int)
                     ? "an"
                     : "a",
                 json_type_to_name(json_object_get_type(*v)), expected);
        *v = NULL;
        return bad_field(ctx, prefix, key, what);
    }
    return 0;
}

/* *s is NULL when the field is absent or null and nullable. */
static int get_string(struct render_ctx *ctx, json_object *obj, const char *prefix, const char *key,
                      bool nullable, const char **s)
{
    json_object *v;
    int rc = get_member(ctx, obj, prefix, key, json_type_string, nullable, "a string", &v);

    *s = v ? json_object_get_string(v) : NULL;
    return rc;
}

/* A non-negative integer; *present false when absent or null and nullable. */
static int get_count(struct render_ctx *ctx, json_object *obj, const char *prefix, const char *key,
                     bool nullable, int64_t *n, bool *present)
{
    json_object *v;
    int rc = get_member(ctx, obj, prefix, key, json_type_int, nullable, "a count", &v);
    char what[64];

    *n = 0;
    if (present)
        *present = false;
    if (rc < 0 || !v)
        return rc;
    *n = json_object_get_int64(v);
    if (*n < 0) {
        snprintf(what, sizeof(what), "%" PRId64 ", not a count", *n);
        *n = 0;
        return bad_field(ctx, prefix, key, what);
    }
    if (present)
        *present = true;
    return 0;
}

static int get_bool(struct render_ctx *ctx, json_object *obj, const char *prefix, const char *key,
                    bool nullable, bool *b, bool *present)
{
    json_object *v;
    int rc = get_member(ctx, obj, prefix, key, json_type_boolean, nullable, "a boolean", &v);

    *b = v ? json_object_get_boolean(v) : false;
    if (present)
        *present = v != NULL;
    return rc;
}

static int get_array(struct render_ctx *ctx, json_object *obj, const char *key, json_object **a)
{
    return get_member(ctx, obj, "", key, json_type_array, false, "an array", a);
}

/* Element i of array key, which must be an object; prefix receives "key[i]." */
static int get_element(struct render_ctx *ctx, json_object *array, const char *key, size_t i,
                       json_object **elem, char *prefix, size_t prefixlen)
{
    snprintf(prefix, prefixlen, "%s[%zu].", key, i);
    *elem = json_object_array_get_idx(array, i);
    if (!*elem || !json_object_is_type(*elem, json_type_object)) {
        errbuf_set(ctx->err, ctx->errlen, "field '%s[%zu]' is not an object", key, i);
        return -EBADMSG;
    }
    return 0;
}

int ctl_field_member(json_object *obj, const char *prefix, const char *key, json_type type,
                     bool nullable, json_object **v, char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};
    static const char *const names[] = {
        [json_type_boolean] = "a boolean", [json_type_double] = "a number",
        [json_type_int] = "an integer",    [json_type_object] = "an object",
        [json_type_array] = "an array",    [json_type_string] = "a string",
    };
    const char *expected = (size_t)type < sizeof(names) / sizeof(names[0]) && names[type]
                               ? names[type]
                               : "of another type";

    return get_member(&ctx, obj, prefix, key, type, nullable, expected, v);
}

int ctl_field_int(json_object *obj, const char *prefix, const char *key, int64_t min, int64_t max,
                  int64_t *n, bool *present, char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};
    json_object *v;
    char what[96];
    int rc = get_member(&ctx, obj, prefix, key, json_type_int, present != NULL, "an integer", &v);

    *n = 0;
    if (present)
        *present = false;
    if (rc < 0 || !v)
        return rc;
    /* json-c clamps a larger number to INT64_MAX, which max rejects. */
    *n = json_object_get_int64(v);
    if (*n < min || *n > max) {
        snprintf(what, sizeof(what), "%" PRId64 ", not %" PRId64 "..%" PRId64, *n, min, max);
        *n = 0;
        return bad_field(&ctx, prefix, key, what);
    }
    if (present)
        *present = true;
    return 0;
}

int ctl_field_string(json_object *obj, const char *prefix, const char *key, bool nullable,
                     const char **s, char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};

    return get_string(&ctx, obj, prefix, key, nullable, s);
}

int ctl_field_bool(json_object *obj, const char *prefix, const char *key, bool *b, bool *present,
                   char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};

    return get_bool(&ctx, obj, prefix, key, present != NULL, b, present);
}

int ctl_field_element(json_object *array, const char *key, size_t i, json_object **elem,
                      char *prefix, size_t prefixlen, char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};

    return get_element(&ctx, array, key, i, elem, prefix, prefixlen);
}

static const char *plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* a, b and c concatenated, malloc'd; NULL when out of memory. */
static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* ------------------------------------------------------------------ tables */

/* Terminal columns of a sanitized UTF-8 string, taking every code point as
 * one column (enough for Latin scripts; wide characters may misalign). */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

int ctl_table_add(struct ctl_table *t, const char *const *values)
{
    if (t->nrows == t->caprows) {
        size_t caprows = t->caprows ? t->caprows * 2 : 8;
        char **cells;

        if (caprows > SIZE_MAX / sizeof(char *) / t->ncols)
            return -ENOMEM;
        cells = realloc(t->cells, caprows * t->ncols * sizeof(char *));
        if (!cells)
            return -ENOMEM;
        t->cells = cells;
        t->caprows = caprows;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        char *cell = text_clean_dup(values[c] ? values[c] : "-", 0);

        if (!cell) {
            while (c-- > 0)
                free(t->cells[t->nrows * t->ncols + c]);
            return -ENOMEM;
        }
        t->cells[t->nrows * t->ncols + c] = cell;
    }
    t->nrows++;
    return 0;
}

static void table_print_row(const struct ctl_table *t, const size_t *widths, const char *const *row,
                            FILE *out)
{
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(row[c], out);
        if (c + 1 < t->ncols)
            fprintf(out, "%*s", (int)(widths[c] - text_width(row[c]) + 2), "");
    }
    fputc('\n', out);
}

int ctl_table_print(const struct ctl_table *t, FILE *out)
{
    size_t *widths = calloc(t->ncols, sizeof(*widths));

    if (!widths)
        return -ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        widths[c] = text_width(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);

            if (w > widths[c])
                widths[c] = w;
        }
    }
    table_print_row(t, widths, t->headers, out);
    for (size_t r = 0; r < t->nrows; r++)
        table_print_row(t, widths, (const char *const *)&t->cells[r * t->ncols], out);
    free(widths);
    return 0;
}

void ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->caprows = 0;
}

/* A sanitized "key:   value" line, keys padded to one column (a key of 12
 * characters or more gets one space). */
static int print_kv(FILE *out, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int print_kv(FILE *out, const char *key, const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL, *clean;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    clean = text_clean_dup(raw, 0);
    free(raw);
    if (!clean)
        return -ENOMEM;
    fprintf(out, "%-11s %s\n", key, clean);
    free(clean);
    return 0;
}

/* ------------------------------------------------------------------ renderers */

typedef int (*render_fn)(json_object *resp, FILE *out, struct render_ctx *ctx);

/* The fields of a status answer every plugin sends. */
struct status_fields {
    const char *pool;
    int64_t in_use, limit, capacity, served_by, admissions, releases, reclaimed, ref_limit,
        ref_capacity;
    bool evaluation, development;
    json_object *processes, *warnings, *next;
};

static int read_status(struct render_ctx *ctx, json_object *resp, struct status_fields *s)
{
    json_object *refusals;
    int rc;

    if ((rc = get_string(ctx, resp, "", "pool", false, &s->pool)) < 0 ||
        (rc = get_count(ctx, resp, "", "in_use", false, &s->in_use, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "limit", false, &s->limit, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "capacity", false, &s->capacity, NULL)) < 0 ||
        (rc = get_bool(ctx, resp, "", "evaluation", false, &s->evaluation, NULL)) < 0 ||
        (rc = get_bool(ctx, resp, "", "development_build", false, &s->development, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "served_by", false, &s->served_by, NULL)) < 0 ||
        (rc = get_array(ctx, resp, "processes", &s->processes)) < 0 ||
        (rc = get_count(ctx, resp, "", "admissions", false, &s->admissions, NULL)) < 0 ||
        (rc = get_member(ctx, resp, "", "refusals", json_type_object, false, "an object",
                         &refusals)) < 0 ||
        (rc = get_count(ctx, refusals, "refusals.", "limit", false, &s->ref_limit, NULL)) < 0 ||
        (rc = get_count(ctx, refusals, "refusals.", "capacity", false, &s->ref_capacity, NULL)) <
            0 ||
        (rc = get_count(ctx, resp, "", "releases", false, &s->releases, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "reclaimed", false, &s->reclaimed, NULL)) < 0 ||
        (rc = get_array(ctx, resp, "warnings", &s->warnings)) < 0)
        return rc;
    return get_member(ctx, resp, "", "next_change", json_type_object, true, "an object", &s->next);
}

/* The serving processes into procs; the warnings checked to be strings. */
static int read_status_lists(struct render_ctx *ctx, const struct status_fields *s,
                             struct ctl_table *procs)
{
    char prefix[CTL_NAME_MAX];
    size_t n = json_object_array_length(s->processes);
    int rc;

    for (size_t i = 0; i < n; i++) {
        json_object *p;
        int64_t pid, seats;
        char pidbuf[24], seatbuf[24];

        if ((rc = get_element(ctx, s->processes, "processes", i, &p, prefix, sizeof(prefix))) < 0 ||
            (rc = get_count(ctx, p, prefix, "pid", false, &pid, NULL)) < 0 ||
            (rc = get_count(ctx, p, prefix, "in_use", false, &seats, NULL)) < 0)
            return rc;
        snprintf(pidbuf, sizeof(pidbuf), "%" PRId64, pid);
        snprintf(seatbuf, sizeof(seatbuf), "%" PRId64, seats);
        if ((rc = ctl_table_add(procs, (const char *const[]){pidbuf, seatbuf})) < 0)
            return rc;
    }
    n = json_object_array_length(s->warnings);
    for (size_t i = 0; i < n; i++) {
        json_object *w = json_object_array_get_idx(s->warnings, i);

        if (!w || !json_object_is_type(w, json_type_string)) {
            errbuf_set(ctx->err, ctx->errlen, "field 'warnings[%zu]' is not a string", i);
            return -EBADMSG;
        }
    }
    return 0;
}

/* pool, seats, mode and the next limit change (null when nothing will
 * change; absent from an older plugin's answer). */
static int print_status_limit(struct render_ctx *ctx, FILE *out, const struct status_fields *s)
{
    const char *at;
    int64_t next_limit;
    int rc;

    if ((rc = print_kv(out, "pool:", "%s", s->pool)) < 0 ||
        (rc = print_kv(out, "seats:", "%" PRId64 "/%" PRId64 " in use", s->in_use, s->limit)) < 0)
        return rc;
    if (s->evaluation)
        rc = print_kv(out, "mode:", "evaluation (no valid license: %" PRId64 " %s)", s->limit,
                      plural(s->limit, "seat", "seats"));
    else
        rc = print_kv(out, "mode:", "licensed");
    if (rc < 0 || !s->next)
        return rc;
    if ((rc = get_string(ctx, s->next, "next_change.", "at", false, &at)) < 0 ||
        (rc = get_count(ctx, s->next, "next_change.", "limit", false, &next_limit, NULL)) < 0)
        return rc;
    return print_kv(out, "next change:", "%s: limit %" PRId64 " -> %" PRId64 " %s", at, s->limit,
                    next_limit, plural(next_limit, "seat", "seats"));
}

static int print_status_counters(FILE *out, const struct status_fields *s)
{
    int rc;

    if ((rc = print_kv(out, "capacity:", "%" PRId64 " sessions", s->capacity)) < 0 ||
        (rc = print_kv(out, "served by:", "pid %" PRId64, s->served_by)) < 0 ||
        (rc = print_kv(out, "admissions:", "%" PRId64, s->admissions)) < 0 ||
        (rc = print_kv(out, "refusals:", "%" PRId64 " at the limit, %" PRId64 " at capacity",
                       s->ref_limit, s->ref_capacity)) < 0 ||
        (rc = print_kv(out, "releases:", "%" PRId64, s->releases)) < 0 ||
        (rc = print_kv(out, "reclaimed:", "%" PRId64, s->reclaimed)) < 0)
        return rc;
    return s->development ? print_kv(out, "build:", "development") : 0;
}

/* The machine's facts: absent from an older plugin's answer. */
static int print_status_machine(struct render_ctx *ctx, FILE *out, json_object *resp)
{
    json_object *machine;
    int64_t eval_in_use, eval_seats, reg_id, pool_id;
    int rc;

    if (!json_object_object_get_ex(resp, "machine", &machine))
        return 0;
    if ((rc = get_member(ctx, resp, "", "machine", json_type_object, false, "an object",
                         &machine)) < 0 ||
        (rc = get_count(ctx, machine, "machine.", "evaluation_seats_in_use", false, &eval_in_use,
                        NULL)) < 0 ||
        (rc = get_count(ctx, machine, "machine.", "evaluation_seats", false, &eval_seats, NULL)) <
            0 ||
        (rc = get_count(ctx, machine, "machine.", "registry_segment", false, &reg_id, NULL)) < 0 ||
        (rc = get_count(ctx, machine, "machine.", "pool_segment", false, &pool_id, NULL)) < 0)
        return rc;
    return print_kv(out, "machine:",
                    "evaluation seats: %" PRId64 "/%" PRId64
                    " in use on this machine; shared memory: registry %" PRId64 ", pool %" PRId64,
                    eval_in_use, eval_seats, reg_id, pool_id);
}

/* The failover role: present only on a node with failover-vip. */
static int print_status_failover(struct render_ctx *ctx, FILE *out, json_object *resp)
{
    json_object *failover, *vip = NULL, *role = NULL;
    char *v, *r;
    int rc;

    if (!json_object_object_get_ex(resp, "failover", &failover))
        return 0;
    if (!json_object_is_type(failover, json_type_object) ||
        !json_object_object_get_ex(failover, "vip", &vip) ||
        !json_object_object_get_ex(failover, "role", &role) ||
        !json_object_is_type(vip, json_type_string) ||
        !json_object_is_type(role, json_type_string)) {
        errbuf_set(ctx->err, ctx->errlen, "field 'failover' is not {vip, role}");
        return -EBADMSG;
    }
    v = text_clean_dup(json_object_get_string(vip), 0);
    r = text_clean_dup(json_object_get_string(role), 0);
    rc = v && r ? print_kv(out, "failover:", "%s (failover-vip %s)", r, v) : -ENOMEM;
    free(v);
    free(r);
    return rc;
}

/* The cluster line: present only where a cluster license counts (docs/cluster.md). */
static int print_status_cluster(struct render_ctx *ctx, FILE *out, json_object *resp)
{
    json_object *c, *dl = NULL;
    int64_t seats, grant, usable, left = 0;
    const char *key;
    bool admitting;
    char *k;
    int rc;

    if ((rc = get_member(ctx, resp, "", "cluster", json_type_object, true, "an object", &c)) < 0 ||
        !c)
        return rc;
    if ((rc = get_string(ctx, c, "cluster.", "key", false, &key)) < 0 ||
        (rc = get_count(ctx, c, "cluster.", "seats", false, &seats, NULL)) < 0 ||
        (rc = get_count(ctx, c, "cluster.", "grant", false, &grant, NULL)) < 0 ||
        (rc = get_count(ctx, c, "cluster.", "usable", false, &usable, NULL)) < 0 ||
        (rc = get_bool(ctx, c, "cluster.", "admitting", false, &admitting, NULL)) < 0 ||
        (rc = get_member(ctx, c, "cluster.", "deadline_in_ms", json_type_int, true, "an integer",
                         &dl)) < 0)
        return rc;
    if (dl)
        left = json_object_get_int64(dl);
    if (!(k = text_clean_dup(key, 0)))
        return -ENOMEM;
    if (!dl)
        rc = print_kv(out, "cluster:",
                      "%s: no grant yet of its %" PRId64 " seats (is licgate-agent running?)", k,
                      seats);
    else if (!admitting && left > 0)
        rc = print_kv(out, "cluster:",
                      "%s: this node holds none of its %" PRId64 " seats: admitting nobody new", k,
                      seats);
    else if (admitting)
        rc = print_kv(out, "cluster:",
                      "%s: this node holds %" PRId64 " of %" PRId64 " seats, admitting for %" PRId64
                      ".%01" PRId64 " s unless renewed",
                      k, grant, seats, left / 1000, (left % 1000) / 100);
    else
        rc = print_kv(out, "cluster:",
                      "%s: frozen, admitting nobody new: the grant's deadline "
                      "passed %" PRId64 ".%01" PRId64 " s ago (%" PRId64 " of %" PRId64
                      " seats; licgate-agent is not renewing it)",
                      k, -left / 1000, (-left % 1000) / 100, grant, seats);
    free(k);
    return rc;
}

static int print_status_warnings(FILE *out, json_object *warnings)
{
    size_t n = json_object_array_length(warnings);

    if (n > 0)
        fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        char *w = text_clean_dup(json_object_get_string(json_object_array_get_idx(warnings, i)), 0);

        if (!w)
            return -ENOMEM;
        fprintf(out, "warning: %s\n", w);
        free(w);
    }
    return 0;
}

static int render_status(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    static const char *const headers[] = {"PID", "SEATS"};
    struct ctl_table procs = {.ncols = 2, .headers = headers};
    struct status_fields s;
    int rc;

    if ((rc = read_status(ctx, resp, &s)) < 0)
        return rc;
    if ((rc = read_status_lists(ctx, &s, &procs)) < 0 ||
        (rc = print_status_limit(ctx, out, &s)) < 0 || (rc = print_status_counters(out, &s)) < 0 ||
        (rc = print_status_machine(ctx, out, resp)) < 0 ||
        (rc = print_status_failover(ctx, out, resp)) < 0 ||
        (rc = print_status_cluster(ctx, out, resp)) < 0)
        goto out;
    fputc('\n', out);
    if ((rc = ctl_table_print(&procs, out)) < 0)
        goto out;
    rc = print_status_warnings(out, s.warnings);
out:
    ctl_table_free(&procs);
    return rc;
}

static int render_sessions(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    static const char *const headers[] = {"CN", "ADDRESS", "CONNECTED SINCE", "PID"};
    struct ctl_table t = {.ncols = 4, .headers = headers};
    json_object *sessions;
    char prefix[CTL_NAME_MAX];
    size_t n;
    int rc;

    if ((rc = get_array(ctx, resp, "sessions", &sessions)) < 0)
        return rc;
    n = json_object_array_length(sessions);
    for (size_t i = 0; i < n; i++) {
        json_object *s;
        const char *cn, *address, *since;
        int64_t pid;
        char pidbuf[24];

        if ((rc = get_element(ctx, sessions, "sessions", i, &s, prefix, sizeof(prefix))) < 0 ||
            (rc = get_string(ctx, s, prefix, "cn", false, &cn)) < 0 ||
            (rc = get_string(ctx, s, prefix, "address", false, &address)) < 0 ||
            (rc = get_string(ctx, s, prefix, "connected_since", false, &since)) < 0 ||
            (rc = get_count(ctx, s, prefix, "pid", false, &pid, NULL)) < 0)
            goto out;
        snprintf(pidbuf, sizeof(pidbuf), "%" PRId64, pid);
        if ((rc = ctl_table_add(&t, (const char *const[]){cn, address, since, pidbuf})) < 0)
            goto out;
    }
    if (n == 0)
        fputs("no sessions\n", out);
    else
        rc = ctl_table_print(&t, out);
out:
    ctl_table_free(&t);
    return rc;
}

static int render_licenses(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    static const char *const headers[] = {"FILE",          "KEY",   "CUSTOMER", "SEATS", "KIND",
                                          "SUPPORT UNTIL", "LEASE", "STATE",    "REASON"};
    struct ctl_table t = {.ncols = 9, .headers = headers};
    char *kindcell = NULL, *statecell = NULL, *reasoncell = NULL;
    json_object *licenses;
    int64_t limit;
    bool evaluation;
    char prefix[CTL_NAME_MAX];
    size_t n;
    int rc;

    if ((rc = get_count(ctx, resp, "", "limit", false, &limit, NULL)) < 0 ||
        (rc = get_bool(ctx, resp, "", "evaluation", false, &evaluation, NULL)) < 0 ||
        (rc = get_array(ctx, resp, "licenses", &licenses)) < 0)
        return rc;
    n = json_object_array_length(licenses);
    for (size_t i = 0; i < n; i++) {
        json_object *l;
        const char *file, *key, *customer, *kind, *support, *lease, *sunset, *state, *reason;
        int64_t seats;
        bool has_seats, perpetual, counted;
        char seatbuf[24];

        if ((rc = get_element(ctx, licenses, "licenses", i, &l, prefix, sizeof(prefix))) < 0 ||
            (rc = get_string(ctx, l, prefix, "file", false, &file)) < 0 ||
            (rc = get_string(ctx, l, prefix, "key_id", true, &key)) < 0 ||
            (rc = get_string(ctx, l, prefix, "customer", true, &customer)) < 0 ||
            (rc = get_count(ctx, l, prefix, "seats", true, &seats, &has_seats)) < 0 ||
            (rc = get_string(ctx, l, prefix, "kind", true, &kind)) < 0 ||
            (rc = get_string(ctx, l, prefix, "support_until", true, &support)) < 0 ||
            (rc = get_bool(ctx, l, prefix, "perpetual", true, &perpetual, NULL)) < 0 ||
            (rc = get_string(ctx, l, prefix, "lease_not_after", true, &lease)) < 0 ||
            (rc = get_string(ctx, l, prefix, "sunset", true, &sunset)) < 0 ||
            (rc = get_string(ctx, l, prefix, "state", false, &state)) < 0 ||
            (rc = get_string(ctx, l, prefix, "reason", true, &reason)) < 0 ||
            (rc = get_bool(ctx, l, prefix, "counted", false, &counted, NULL)) < 0)
            goto out;
        if (has_seats)
            snprintf(seatbuf, sizeof(seatbuf), "%" PRId64, seats);
        if (reason && !reason[0])
            reason = NULL;
        /* Only an active license that does not count needs saying so. */
        kindcell = kind ? join3(kind, perpetual ? ", perpetual" : "", "") : NULL;
        statecell =
            join3(state, !counted && strcmp(state, "active") == 0 ? ", not counted" : "", "");
        reasoncell =
            sunset ? join3(reason ? reason : "", reason ? "; sunset " : "sunset ", sunset) : NULL;
        if ((kind && !kindcell) || !statecell || (sunset && !reasoncell)) {
            rc = -ENOMEM;
            goto out;
        }
        rc = ctl_table_add(
            &t, (const char *const[]){file, key, customer, has_seats ? seatbuf : NULL, kindcell,
                                      support, lease, statecell, sunset ? reasoncell : reason});
        free(kindcell);
        free(statecell);
        free(reasoncell);
        kindcell = statecell = reasoncell = NULL;
        if (rc < 0)
            goto out;
    }
    if (n == 0)
        fputs("no license files\n", out);
    else if ((rc = ctl_table_print(&t, out)) < 0)
        goto out;
    fprintf(out, "\nlimit: %" PRId64 " %s%s\n", limit, plural(limit, "seat", "seats"),
            evaluation ? " (evaluation mode)" : "");
    rc = 0;
out:
    free(kindcell);
    free(statecell);
    free(reasoncell);
    ctl_table_free(&t);
    return rc;
}

static int render_reload(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    int64_t limit, files, counted;
    bool evaluation;
    int rc;

    if ((rc = get_count(ctx, resp, "", "limit", false, &limit, NULL)) < 0 ||
        (rc = get_bool(ctx, resp, "", "evaluation", false, &evaluation, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "files", false, &files, NULL)) < 0 ||
        (rc = get_count(ctx, resp, "", "counted", false, &counted, NULL)) < 0)
        return rc;
    fprintf(out, "reloaded: limit %" PRId64 " %s%s (%" PRId64 " of %" PRId64 " license %s %s)\n",
            limit, plural(limit, "seat", "seats"), evaluation ? ", evaluation mode" : "", counted,
            files, plural(files, "file", "files"), plural(files, "counts", "count"));
    return 0;
}

static int render_metrics(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    const char *metrics;
    char *clean;
    size_t n;
    int rc;

    if ((rc = get_string(ctx, resp, "", "metrics", false, &metrics)) < 0)
        return rc;
    clean = text_clean_dup(metrics, TEXT_KEEP_NEWLINES);
    if (!clean)
        return -ENOMEM;
    n = strlen(clean);
    fputs(clean, out);
    if (n > 0 && clean[n - 1] != '\n')
        fputc('\n', out);
    free(clean);
    return 0;
}

static int render_version(json_object *resp, FILE *out, struct render_ctx *ctx)
{
    const char *version;
    bool development;
    char *clean;
    int rc;

    if ((rc = get_string(ctx, resp, "", "version", false, &version)) < 0 ||
        (rc = get_bool(ctx, resp, "", "development_build", false, &development, NULL)) < 0)
        return rc;
    clean = text_clean_dup(version, 0);
    if (!clean)
        return -ENOMEM;
    fprintf(out, "licgate %s (server)\n", clean);
    if (development)
        fputs("development build: it trusts the public development issuer key\n", out);
    free(clean);
    return 0;
}

/* Renders into memory first so that a malformed field late in the response
 * leaves out untouched. */
static int render_buffered(render_fn fn, json_object *resp, FILE *out, char *err, size_t errlen)
{
    struct render_ctx ctx = {.err = err, .errlen = errlen};
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    int rc;

    errbuf_set(err, errlen, "%s", "");
    if (!resp || !json_object_is_type(resp, json_type_object)) {
        errbuf_set(err, errlen, "not a JSON object");
        return -EBADMSG;
    }
    mem = open_memstream(&text, &len);
    if (!mem) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = fn(resp, mem, &ctx);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc == -ENOMEM)
        errbuf_set(err, errlen, "out of memory");
    if (rc == 0)
        fwrite(text, 1, len, out);
    free(text);
    return rc;
}

int ctl_render_status(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_status, resp, out, err, errlen);
}

int ctl_render_sessions(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_sessions, resp, out, err, errlen);
}

int ctl_render_licenses(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_licenses, resp, out, err, errlen);
}

int ctl_render_reload(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_reload, resp, out, err, errlen);
}

int ctl_render_metrics(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_metrics, resp, out, err, errlen);
}

int ctl_render_version(json_object *resp, FILE *out, char *err, size_t errlen)
{
    return render_buffered(render_version, resp, out, err, errlen);
}

static const struct {
    const char *name;
    int (*render)(json_object *resp, FILE *out, char *err, size_t errlen);
} commands[] = {
    {"status", ctl_render_status},     {"sessions", ctl_render_sessions},
    {"licenses", ctl_render_licenses}, {"reload", ctl_render_reload},
    {"metrics", ctl_render_metrics},   {"version", ctl_render_version},
};

bool ctl_command_known(const char *command)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, command) == 0)
            return true;
    return false;
}

int ctl_render(const char *command, json_object *resp, FILE *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, command) == 0)
            return commands[i].render(resp, out, err, errlen);
    errbuf_set(err, errlen, "unknown command '%s'", command);
    return -ENOENT;
}
