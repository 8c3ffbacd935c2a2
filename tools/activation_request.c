/* The activation request; see activation_request.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "activation_request.h"
#include "hex.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errbuf.h"
#include "text.h"
#include "fingerprint.h"

#define JSON_DEPTH_MAX 8
#define PUBKEY_B64_LEN CRYPTO_BASE64_LEN(32) /* 44 */
#define SIG_B64_LEN    CRYPTO_BASE64_LEN(64) /* 88 */

/* ------------------------------------------------------------ the id */

int activation_installation_id(const uint8_t pub[32], char id[ACTIVATION_INSTALLATION_ID_HEX + 1])
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    int r;

    id[0] = '\0';
    if ((r = crypto_sha256(pub, 32, digest)) < 0)
        return r;
    hex_encode(digest, ACTIVATION_INSTALLATION_ID_HEX / 2, id);
    return 0;
}

/* ------------------------------------------------------------ message, signature */

int activation_request_message(const struct activation_request *req, char **msg, size_t *len)
{
    char pub[PUBKEY_B64_LEN + 1], digest[65];
    char *buf = NULL;
    size_t size = 0;
    FILE *f;
    int r;

    *msg = NULL;
    *len = 0;
    if (req->ncomponents > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    if ((r = crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub))) < 0)
        return r;
    if (!(f = open_memstream(&buf, &size)))
        return -ENOMEM;
    fwrite(ACTIVATION_DOMAIN, 1, sizeof(ACTIVATION_DOMAIN), f); /* with its NUL */
    fprintf(f, "%d\n%s\n%s\n%s\n", ACTIVATION_API_VERSION, req->key, req->installation_id, pub);
    for (size_t i = 0; i < req->ncomponents; i++) {
        hex_encode(req->components[i].digest, 32, digest);
        fprintf(f, "%s=%s\n", license_component_name(req->components[i].type), digest);
    }
    fprintf(f, "%s\n%s\n%s\n", req->is_virtual ? "true" : "false", req->nonce, req->time);
    if (req->has_usage)
        fprintf(f, "usage.peak=%" PRIu32 "\n", req->usage_peak);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return -ENOMEM;
    }
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *msg = buf;
    *len = size;
    return 0;
}

int activation_request_sign(struct activation_request *req, const uint8_t installation_priv[32])
{
    char *msg = NULL;
    size_t len = 0;
    int r;

    r = crypto_ed25519_public_from_private(installation_priv, req->installation_public_key);
    if (r == 0)
        r = activation_installation_id(req->installation_public_key, req->installation_id);
    if (r == 0)
        r = activation_request_message(req, &msg, &len);
    if (r == 0)
        r = crypto_ed25519_sign(installation_priv, msg, len, req->signature);
    free(msg);
    return r;
}

int activation_request_verify(const struct activation_request *req)
{
    char *msg;
    size_t len;
    int r;

    if ((r = activation_request_message(req, &msg, &len)) < 0)
        return r;
    r = crypto_ed25519_verify(req->installation_public_key, msg, len, req->signature);
    free(msg);
    return r;
}

/* ------------------------------------------------------------ JSON out */

int activation_request_to_json(const struct activation_request *req, char **json, size_t *len)
{
    char pub[PUBKEY_B64_LEN + 1], sig[SIG_B64_LEN + 1], digest[65];
    json_object *o, *binding, *list;
    const char *text;
    int r = -ENOMEM;

    *json = NULL;
    if (len)
        *len = 0;
    if (req->ncomponents > LICENSE_MAX_COMPONENTS ||
        crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub)) < 0 ||
        crypto_base64_encode(req->signature, 64, sig, sizeof(sig)) < 0)
        return -EINVAL;
    if (!(o = json_object_new_object()))
        return -ENOMEM;
    json_object_object_add(o, "api", json_object_new_int(ACTIVATION_API_VERSION));
    json_object_object_add(o, "key", json_object_new_string(req->key));
    json_object_object_add(o, "installation_id", json_object_new_string(req->installation_id));
    json_object_object_add(o, "installation_public_key", json_object_new_string(pub));
    binding = json_object_new_object();
    list = json_object_new_array();
    if (!binding || !list) {
        json_object_put(binding);
        json_object_put(list);
        goto out;
    }
    for (size_t i = 0; i < req->ncomponents; i++) {
        json_object *c = json_object_new_object();

        if (!c)
            break;
        hex_encode(req->components[i].digest, 32, digest);
        json_object_object_add(
            c, "type", json_object_new_string(license_component_name(req->components[i].type)));
        json_object_object_add(c, "digest", json_object_new_string(digest));
        json_object_array_add(list, c);
    }
    json_object_object_add(binding, "components", list);
    json_object_object_add(binding, "virtual", json_object_new_boolean(req->is_virtual));
    json_object_object_add(o, "binding", binding);
    json_object_object_add(o, "nonce", json_object_new_string(req->nonce));
    json_object_object_add(o, "time", json_object_new_string(req->time));
    if (req->has_usage) {
        json_object *usage = json_object_new_object();

        if (!usage)
            goto out;
        json_object_object_add(usage, "peak", json_object_new_int64(req->usage_peak));
        json_object_object_add(o, "usage", usage);
    }
    json_object_object_add(o, "signature", json_object_new_string(sig));
    if (json_object_array_length(list) != req->ncomponents)
        goto out;
    text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text || !(*json = strdup(text)))
        goto out;
    if (len)
        *len = strlen(text);
    r = 0;
out:
    json_object_put(o);
    return r;
}

int activation_request_build(struct activation_request *req, const uint8_t installation_priv[32],
                             char **json)
{
    int r;

    *json = NULL;
    if ((r = activation_request_sign(req, installation_priv)) < 0)
        return r;
    return activation_request_to_json(req, json, NULL);
}

/* ------------------------------------------------------------ JSON in */

/* json-c accepts 'single-quoted' strings even in strict mode; JSON does not. */
static bool has_single_quote_outside_strings(const char *text, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (in_string && text[i] == '\\')
            i++;
        else if (text[i] == '"')
            in_string = !in_string;
        else if (!in_string && text[i] == '\'')
            return true;
    }
    return false;
}

int activation_json_read(const char *text, size_t len, json_object **value, char *err,
                         size_t errlen)
{
    struct json_tokener *tok;
    enum json_tokener_error e;
    json_object *v;
    size_t used;

    *value = NULL;
    if (memchr(text, '\0', len)) {
        errbuf_set(err, errlen, "contains a NUL byte");
        return -EBADMSG;
    }
    if (has_single_quote_outside_strings(text, len)) {
        errbuf_set(err, errlen, "not JSON (malformed JSON: single-quoted string)");
        return -EBADMSG;
    }
    if (len > INT32_MAX || !(tok = json_tokener_new_ex(JSON_DEPTH_MAX)))
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    v = json_tokener_parse_ex(tok, text, (int)len);
    e = json_tokener_get_error(tok);
    used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!v || e != json_tokener_success) {
        errbuf_set(
            err, errlen, "not JSON (malformed JSON: %s)",
            json_tokener_error_desc(e == json_tokener_continue ? json_tokener_error_parse_eof : e));
        json_object_put(v);
        return -EBADMSG;
    }
    for (; used < len; used++) {
        if (!strchr(" \t\r\n", text[used])) {
            errbuf_set(err, errlen, "trailing data after the JSON object");
            json_object_put(v);
            return -EBADMSG;
        }
    }
    *value = v;
    return 0;
}

json_object *activation_json_member(json_object *o, const char *name, json_type t,
                                    const char *where, char *err, size_t errlen)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v)) {
        errbuf_set(err, errlen, "%s: missing field '%s'", where, name);
        return NULL;
    }
    if (!json_object_is_type(v, t)) {
        errbuf_set(err, errlen, "%s: field '%s' is not %s", where, name,
                   t == json_type_string    ? "a string"
                   : t == json_type_int     ? "an integer"
                   : t == json_type_boolean ? "a boolean"
                   : t == json_type_array   ? "an array"
                                            : "an object");
        return NULL;
    }
    return v;
}

/* Only the fields in names (NULL-terminated) may be in o. */
static bool only_fields(json_object *o, const char *const *names, const char *where, char *err,
                        size_t errlen)
{
    json_object_object_foreach(o, k, v)
    {
        bool known = false;
        char safe[65];

        (void)v;
        for (const char *const *n = names; *n; n++)
            known |= strcmp(*n, k) == 0;
        if (known)
            continue;
        text_clean(k, strlen(k), safe, sizeof(safe), 0);
        errbuf_set(err, errlen, "%s: unknown field '%s'", where, safe);
        return false;
    }
    return true;
}

/* The string member name of o, 1..max bytes without a NUL; NULL otherwise,
 * err then says the field "is not <what>". */
static const char *string_field(json_object *o, const char *name, size_t max, char *err,
                                size_t errlen, const char *what)
{
    json_object *v = activation_json_member(o, name, json_type_string, "request", err, errlen);
    const char *s;
    size_t n;

    if (!v)
        return NULL;
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > max || memchr(s, '\0', n)) {
        errbuf_set(err, errlen, "request: field '%s' is not %s", name, what);
        return NULL;
    }
    return s;
}

static bool lower_hex_field(json_object *o, const char *name, char out[33], char *err,
                            size_t errlen)
{
    uint8_t raw[16];
    const char *s = string_field(o, name, 32, err, errlen, "32 lowercase hex digits");

    if (!s)
        return false;
    if (hex_decode(s, strlen(s), raw, sizeof(raw)) < 0) {
        errbuf_set(err, errlen, "request: field '%s' is not 32 lowercase hex digits", name);
        return false;
    }
    memcpy(out, s, 33);
    return true;
}

static bool base64_field(json_object *o, const char *name, uint8_t *out, size_t n, char *err,
                         size_t errlen)
{
    char what[32];
    const char *s;

    snprintf(what, sizeof(what), "the base64 of %zu bytes", n);
    if (!(s = string_field(o, name, CRYPTO_BASE64_LEN(n), err, errlen, what)))
        return false;
    if (crypto_base64_decode_exact(s, strlen(s), out, n) < 0) {
        errbuf_set(err, errlen, "request: field '%s' is not %s", name, what);
        return false;
    }
    return true;
}

static int component_from_json(json_object *c, size_t i, struct binding_component *comp, char *err,
                               size_t errlen)
{
    static const char *const fields[] = {"type", "digest", NULL};
    json_object *type, *digest;
    char where[48], safe[17];
    const char *s;

    snprintf(where, sizeof(where), "binding.components[%zu]", i);
    if (!json_object_is_type(c, json_type_object)) {
        errbuf_set(err, errlen, "%s: expected an object", where);
        return -EBADMSG;
    }
    if (!only_fields(c, fields, where, err, errlen) ||
        !(type = activation_json_member(c, "type", json_type_string, where, err, errlen)) ||
        !(digest = activation_json_member(c, "digest", json_type_string, where, err, errlen)))
        return -EBADMSG;
    s = json_object_get_string(type);
    if (license_component_type(s, (size_t)json_object_get_string_len(type), &comp->type) != 0) {
        text_clean(s, strlen(s), safe, sizeof(safe), 0);
        errbuf_set(err, errlen, "%s: unknown type '%s' (it is not machine-id, dmi-uuid or nic)",
                   where, safe);
        return -EBADMSG;
    }
    if (hex_decode(json_object_get_string(digest), (size_t)json_object_get_string_len(digest),
                   comp->digest, sizeof(comp->digest)) < 0) {
        errbuf_set(err, errlen, "%s: digest is not 64 lowercase hex digits", where);
        return -EBADMSG;
    }
    return 0;
}

static int binding_from_json(json_object *b, struct activation_request *req, char *err,
                             size_t errlen)
{
    static const char *const fields[] = {"components", "virtual", NULL};
    json_object *list, *virt;
    size_t n, machine_ids = 0, dmi_uuids = 0;

    if (!only_fields(b, fields, "binding", err, errlen) ||
        !(list = activation_json_member(b, "components", json_type_array, "binding", err, errlen)))
        return -EBADMSG;
    if (!(virt = activation_json_member(b, "virtual", json_type_boolean, "binding", err, errlen))) {
        if (json_object_object_get_ex(b, "virtual", NULL))
            errbuf_set(err, errlen,
                       "binding: field 'virtual' is not a boolean (binding.virtual is true or "
                       "false)");
        return -EBADMSG;
    }
    n = json_object_array_length(list);
    if (n == 0 || n > LICENSE_MAX_COMPONENTS) {
        errbuf_set(err, errlen, "binding: %zu components, expected 1..%d components", n,
                   LICENSE_MAX_COMPONENTS);
        return -EBADMSG;
    }
    for (size_t i = 0; i < n; i++) {
        struct binding_component *comp = &req->components[i];

        if (component_from_json(json_object_array_get_idx(list, i), i, comp, err, errlen) < 0)
            return -EBADMSG;
        for (size_t j = 0; j < i; j++) {
            if (req->components[j].type == comp->type &&
                memcmp(req->components[j].digest, comp->digest, sizeof(comp->digest)) == 0) {
                errbuf_set(err, errlen, "binding.components[%zu]: repeats a component", i);
                return -EBADMSG;
            }
        }
        machine_ids += comp->type == COMPONENT_MACHINE_ID;
        dmi_uuids += comp->type == COMPONENT_DMI_UUID;
    }
    if (machine_ids > 1 || dmi_uuids > 1) {
        errbuf_set(err, errlen, "binding: machine-id and dmi-uuid may appear once each");
        return -EBADMSG;
    }
    req->ncomponents = n;
    req->is_virtual = json_object_get_boolean(virt);
    return 0;
}

/* The optional "usage" member: absent, or {"peak": 0..ACTIVATION_USAGE_PEAK_MAX}. */
static int usage_from_json(json_object *o, struct activation_request *req, char *err, size_t errlen)
{
    static const char *const fields[] = {"peak", NULL};
    json_object *usage, *peak;
    int64_t n;

    if (!json_object_object_get_ex(o, "usage", NULL))
        return 0;
    if (!(usage = activation_json_member(o, "usage", json_type_object, "request", err, errlen)) ||
        !only_fields(usage, fields, "usage", err, errlen) ||
        !(peak = activation_json_member(usage, "peak", json_type_int, "usage", err, errlen)))
        return -EBADMSG;
    n = json_object_get_int64(peak);
    if (n < 0 || n > ACTIVATION_USAGE_PEAK_MAX) {
        errbuf_set(err, errlen, "usage: field 'peak': %lld is not in 0..%d", (long long)n,
                   ACTIVATION_USAGE_PEAK_MAX);
        return -EBADMSG;
    }
    req->has_usage = true;
    req->usage_peak = (uint32_t)n;
    return 0;
}

static int request_from_json(json_object *o, struct activation_request *req, char *err,
                             size_t errlen)
{
    static const char *const fields[] = {"api",
                                         "key",
                                         "installation_id",
                                         "installation_public_key",
                                         "binding",
                                         "nonce",
                                         "time",
                                         "usage",
                                         "signature",
                                         NULL};
    char id[ACTIVATION_INSTALLATION_ID_HEX + 1], why[32];
    json_object *v;
    const char *s;
    int64_t t;

    if (!json_object_is_type(o, json_type_object)) {
        errbuf_set(err, errlen, "request: expected a JSON object");
        return -EBADMSG;
    }
    if (!only_fields(o, fields, "request", err, errlen) ||
        !(v = activation_json_member(o, "api", json_type_int, "request", err, errlen)))
        return -EBADMSG;
    if (json_object_get_int64(v) != ACTIVATION_API_VERSION) {
        errbuf_set(err, errlen, "request: field 'api': api %lld, expected %d",
                   (long long)json_object_get_int64(v), ACTIVATION_API_VERSION);
        return -EBADMSG;
    }
    snprintf(why, sizeof(why), "1..%d bytes", LICENSE_KEY_ID_MAX);
    if (!(s = string_field(o, "key", LICENSE_KEY_ID_MAX, err, errlen, why)))
        return -EBADMSG;
    memcpy(req->key, s, strlen(s) + 1);
    if (!lower_hex_field(o, "installation_id", req->installation_id, err, errlen) ||
        !base64_field(o, "installation_public_key", req->installation_public_key, 32, err, errlen))
        return -EBADMSG;
    if (activation_installation_id(req->installation_public_key, id) < 0) {
        errbuf_set(err, errlen, "request: cannot hash the installation key");
        return -EBADMSG;
    }
    if (strcmp(id, req->installation_id) != 0) {
        errbuf_set(err, errlen,
                   "request: field 'installation_id' does not match installation_public_key: it "
                   "does not belong to the public key");
        return -EBADMSG;
    }
    if (!(v = activation_json_member(o, "binding", json_type_object, "request", err, errlen)) ||
        binding_from_json(v, req, err, errlen) < 0 ||
        !lower_hex_field(o, "nonce", req->nonce, err, errlen))
        return -EBADMSG;
    s = string_field(o, "time", LICENSE_TIME_BUFSIZE - 1, err, errlen, "YYYY-MM-DDTHH:MM:SSZ");
    if (!s)
        return -EBADMSG;
    if (strlen(s) != LICENSE_TIME_BUFSIZE - 1 || license_parse_time(s, strlen(s), &t) < 0) {
        errbuf_set(err, errlen, "request: field 'time' is not YYYY-MM-DDTHH:MM:SSZ");
        return -EBADMSG;
    }
    memcpy(req->time, s, LICENSE_TIME_BUFSIZE);
    if (usage_from_json(o, req, err, errlen) < 0 ||
        !base64_field(o, "signature", req->signature, 64, err, errlen))
        return -EBADMSG;
    return 0;
}

int activation_request_parse(const char *body, size_t len, struct activation_request *out,
                             char *err, size_t errlen)
{
    json_object *o = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    errbuf_set(err, errlen, "%s", "");
    if (len > ACTIVATION_BODY_MAX) {
        errbuf_set(err, errlen, "request body larger than %d bytes", ACTIVATION_BODY_MAX);
        return -EMSGSIZE;
    }
    if ((r = activation_json_read(body, len, &o, err, errlen)) < 0)
        goto out;
    if ((r = request_from_json(o, out, err, errlen)) < 0)
        goto out;
    r = activation_request_verify(out);
    if (r == -EBADMSG)
        errbuf_set(err, errlen,
                   "bad signature (not made by installation_public_key over this request)");
    else if (r < 0)
        errbuf_set(err, errlen, "cannot verify the signature: %s", strerror(-r));
out:
    json_object_put(o);
    if (r < 0)
        memset(out, 0, sizeof(*out));
    return r;
}

/* ------------------------------------------------------------ the offline armor */

int activation_request_armor(const char *body, size_t len, char **text, size_t *textlen)
{
    size_t b64len = CRYPTO_BASE64_LEN(len), lines, size, used;
    char *b64, *buf;
    int r;

    *text = NULL;
    if (textlen)
        *textlen = 0;
    if (len == 0 || len > ACTIVATION_BODY_MAX)
        return -EINVAL;
    if (!(b64 = malloc(b64len + 1)))
        return -ENOMEM;
    if ((r = crypto_base64_encode((const uint8_t *)body, len, b64, b64len + 1)) < 0) {
        free(b64);
        return r;
    }
    lines = (b64len + OFFLINE_LINE_LEN - 1) / OFFLINE_LINE_LEN;
    size = sizeof(OFFLINE_REQUEST_BEGIN) + b64len + lines + sizeof(OFFLINE_REQUEST_END) + 1;
    if (!(buf = malloc(size))) {
        free(b64);
        return -ENOMEM;
    }
    used = (size_t)snprintf(buf, size, "%s\n", OFFLINE_REQUEST_BEGIN);
    for (size_t i = 0; i < b64len; i += OFFLINE_LINE_LEN) {
        size_t n = b64len - i < OFFLINE_LINE_LEN ? b64len - i : OFFLINE_LINE_LEN;

        memcpy(buf + used, b64 + i, n);
        used += n;
        buf[used++] = '\n';
    }
    used += (size_t)snprintf(buf + used, size - used, "%s\n", OFFLINE_REQUEST_END);
    free(b64);
    *text = buf;
    if (textlen)
        *textlen = used;
    return 0;
}

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* The line at text[*pos..] without its "\n" or "\r\n": start and length;
 * *pos moves past it. false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *nl;
    size_t end;

    if (*pos >= len)
        return false;
    *line = text + *pos;
    nl = memchr(*line, '\n', len - *pos);
    end = nl ? (size_t)(nl - text) : len;
    *n = end - *pos;
    if (*n > 0 && (*line)[*n - 1] == '\r')
        (*n)--;
    *pos = nl ? end + 1 : len;
    return true;
}

static bool line_is(const char *line, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(line, want, n) == 0;
}

int activation_request_unarmor(const char *text, size_t len, char **body, size_t *bodylen,
                               char *err, size_t errlen)
{
    size_t max_b64 = CRYPTO_BASE64_LEN(ACTIVATION_BODY_MAX), pos = 0, used = 0, lines = 0, n;
    size_t outlen;
    const char *line;
    bool begun = false, ended = false;
    char *b64 = NULL, *out = NULL;
    int r = -EBADMSG;

    *body = NULL;
    *bodylen = 0;
    errbuf_set(err, errlen, "%s", "");
    if (len > OFFLINE_REQUEST_MAX) {
        errbuf_set(err, errlen, "request file: larger than %d bytes", OFFLINE_REQUEST_MAX);
        return -EBADMSG;
    }
    if (!(b64 = malloc(max_b64 + 1)))
        return -ENOMEM;
    while (!ended && next_line(text, len, &pos, &line, &n)) {
        bool base64 = n > 0 && n <= OFFLINE_LINE_LEN;

        lines++;
        if (!begun) {
            begun = line_is(line, n, OFFLINE_REQUEST_BEGIN);
            continue;
        }
        if (line_is(line, n, OFFLINE_REQUEST_END)) {
            ended = true;
            continue;
        }
        for (size_t i = 0; base64 && i < n; i++)
            base64 = is_base64_char(line[i]);
        if (!base64) {
            errbuf_set(err, errlen, "request file: line %zu: not a base64 line of 1..%d characters",
                       lines, OFFLINE_LINE_LEN);
            goto out;
        }
        if (max_b64 - used < n) {
            errbuf_set(err, errlen, "request file: the request is larger than %d bytes",
                       ACTIVATION_BODY_MAX);
            goto out;
        }
        memcpy(b64 + used, line, n);
        used += n;
    }
    if (!begun || !ended) {
        errbuf_set(err, errlen, "request file: %s",
                   begun ? "no '" OFFLINE_REQUEST_END "' line"
                         : "no '" OFFLINE_REQUEST_BEGIN "' line");
        goto out;
    }
    if (used == 0 || used % 4 != 0) {
        errbuf_set(err, errlen,
                   "request file: the base64 text is cut short (not a whole number of "
                   "4-character groups)");
        goto out;
    }
    outlen = used / 4 * 3 - (b64[used - 1] == '=') - (b64[used - 2] == '=');
    if (!(out = malloc(outlen + 1))) {
        r = -ENOMEM;
        goto out;
    }
    if (crypto_base64_decode_exact(b64, used, (uint8_t *)out, outlen) < 0) {
        errbuf_set(err, errlen, "request file: the base64 text is not canonical base64");
        goto out;
    }
    out[outlen] = '\0';
    *body = out;
    *bodylen = outlen;
    out = NULL;
    r = 0;
out:
    free(out);
    free(b64);
    return r;
}
