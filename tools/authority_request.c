/* Activation requests; see authority_request.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "authority_request.h"
#include "crypto.h"

#define JSON_DEPTH_MAX 8
#define PUBKEY_B64_LEN CRYPTO_BASE64_LEN(32)
#define SIG_B64_LEN    CRYPTO_BASE64_LEN(64)

static const struct {
    const char *name;
    enum component_type type;
} component_names[] = {
    {"machine-id", COMPONENT_MACHINE_ID},
    {"dmi-uuid", COMPONENT_DMI_UUID},
    {"nic", COMPONENT_NIC},
};

static const char *component_name(enum component_type type)
{
    for (size_t i = 0; i < sizeof(component_names) / sizeof(component_names[0]); i++) {
        if (component_names[i].type == type)
            return component_names[i].name;
    }
    return "?";
}

static int reject(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

static int hex_decode(const char *s, size_t n, uint8_t *out, size_t outlen)
{
    if (n != 2 * outlen)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -EINVAL;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int installation_id_of(const uint8_t pub[32], char out[33])
{
    uint8_t digest[32];
    int ret = crypto_sha256(pub, 32, digest);

    out[0] = '\0';
    if (ret != 0)
        return ret;
    hex_encode(digest, 16, out);
    return 0;
}

/* Checks that obj has exactly the named members (no others). */
static int exact_members(json_object *obj, const char *where, const char *const *names,
                         size_t nnames, char *err, size_t errlen)
{
    json_object_object_foreach(obj, name, value)
    {
        bool known = false;

        (void)value;
        for (size_t i = 0; i < nnames; i++)
            known = known || strcmp(name, names[i]) == 0;
        if (!known)
            return reject(err, errlen, "%s: unknown field '%.64s'", where, name);
    }
    for (size_t i = 0; i < nnames; i++) {
        if (!json_object_object_get_ex(obj, names[i], NULL))
            return reject(err, errlen, "%s: missing field '%s'", where, names[i]);
    }
    return 0;
}

/* The string member name of obj, of 1..max bytes without NUL. */
static int string_member(json_object *obj, const char *name, size_t max, const char **out,
                         size_t *len, char *err, size_t errlen)
{
    json_object *value = json_object_object_get(obj, name);

    if (!json_object_is_type(value, json_type_string))
        return reject(err, errlen, "field '%s': expected a string", name);
    *out = json_object_get_string(value);
    *len = (size_t)json_object_get_string_len(value);
    if (*len == 0 || *len > max || memchr(*out, '\0', *len) != NULL)
        return reject(err, errlen, "field '%s': expected 1..%zu bytes", name, max);
    return 0;
}

static int hex_member(json_object *obj, const char *name, size_t nbytes, char *out, char *err,
                      size_t errlen)
{
    uint8_t raw[32];
    const char *s;
    size_t n;
    int ret = string_member(obj, name, 2 * nbytes, &s, &n, err, errlen);

    if (ret != 0)
        return ret;
    if (hex_decode(s, n, raw, nbytes) != 0)
        return reject(err, errlen, "field '%s': expected %zu lowercase hex digits", name,
                      2 * nbytes);
    memcpy(out, s, n + 1);
    return 0;
}

static int parse_component(json_object *item, size_t index, struct binding_component *comp,
                           char *err, size_t errlen)
{
    static const char *const names[] = {"type", "digest"};
    char where[48];
    const char *type, *digest;
    size_t tlen, dlen;
    bool known = false;

    snprintf(where, sizeof(where), "binding.components[%zu]", index);
    if (!json_object_is_type(item, json_type_object))
        return reject(err, errlen, "%s: expected an object", where);
    if (exact_members(item, where, names, 2, err, errlen) != 0)
        return -EBADMSG;
    if (string_member(item, "type", 16, &type, &tlen, err, errlen) != 0 ||
        string_member(item, "digest", 64, &digest, &dlen, err, errlen) != 0)
        return reject(err, errlen, "%s: expected type and digest strings", where);
    for (size_t i = 0; i < sizeof(component_names) / sizeof(component_names[0]); i++) {
        if (strcmp(type, component_names[i].name) == 0) {
            comp->type = component_names[i].type;
            known = true;
        }
    }
    if (!known)
        return reject(err, errlen, "%s: type '%s' is not machine-id, dmi-uuid or nic", where, type);
    if (hex_decode(digest, dlen, comp->digest, sizeof(comp->digest)) != 0)
        return reject(err, errlen, "%s: digest: expected 64 lowercase hex digits", where);
    return 0;
}

static int parse_binding(json_object *root, struct activation_request *req, char *err,
                         size_t errlen)
{
    static const char *const names[] = {"components", "virtual"};
    json_object *binding = json_object_object_get(root, "binding"), *components, *virt;
    size_t n, machine_ids = 0, dmi_uuids = 0;

    if (!json_object_is_type(binding, json_type_object))
        return reject(err, errlen, "field 'binding': expected an object");
    if (exact_members(binding, "field 'binding'", names, 2, err, errlen) != 0)
        return -EBADMSG;
    virt = json_object_object_get(binding, "virtual");
    if (!json_object_is_type(virt, json_type_boolean))
        return reject(err, errlen, "field 'binding.virtual': expected true or false");
    req->is_virtual = json_object_get_boolean(virt);
    components = json_object_object_get(binding, "components");
    if (!json_object_is_type(components, json_type_array))
        return reject(err, errlen, "field 'binding.components': expected an array");
    n = json_object_array_length(components);
    if (n < 1 || n > LICENSE_MAX_COMPONENTS)
        return reject(err, errlen, "field 'binding.components': expected 1..%d components",
                      LICENSE_MAX_COMPONENTS);
    for (size_t i = 0; i < n; i++) {
        struct binding_component *comp = &req->components[i];

        if (parse_component(json_object_array_get_idx(components, i), i, comp, err, errlen) != 0)
            return -EBADMSG;
        for (size_t j = 0; j < i; j++) {
            if (req->components[j].type == comp->type &&
                memcmp(req->components[j].digest, comp->digest, sizeof(comp->digest)) == 0)
                return reject(err, errlen, "binding.components[%zu]: repeats a component", i);
        }
        machine_ids += comp->type == COMPONENT_MACHINE_ID;
        dmi_uuids += comp->type == COMPONENT_DMI_UUID;
    }
    if (machine_ids > 1 || dmi_uuids > 1)
        return reject(err, errlen,
                      "field 'binding.components': machine-id and dmi-uuid may appear once each");
    req->ncomponents = n;
    return 0;
}

static int parse_fields(json_object *root, struct activation_request *req, uint8_t sig[64],
                        char *err, size_t errlen)
{
    static const char *const names[] = {
        "api",   "key",  "installation_id", "installation_public_key", "binding",
        "nonce", "time", "signature"};
    char id[33];
    json_object *api;
    const char *s;
    size_t n;
    int64_t t;

    if (!json_object_is_type(root, json_type_object))
        return reject(err, errlen, "expected a JSON object");
    if (exact_members(root, "request", names, sizeof(names) / sizeof(names[0]), err, errlen) != 0)
        return -EBADMSG;
    api = json_object_object_get(root, "api");
    if (!json_object_is_type(api, json_type_int) || json_object_get_int64(api) != 1)
        return reject(err, errlen, "field 'api': expected 1");
    if (string_member(root, "key", LICENSE_KEY_ID_MAX, &s, &n, err, errlen) != 0)
        return -EBADMSG;
    memcpy(req->key, s, n + 1);
    if (hex_member(root, "installation_id", 16, req->installation_id, err, errlen) != 0)
        return -EBADMSG;
    if (string_member(root, "installation_public_key", PUBKEY_B64_LEN, &s, &n, err, errlen) != 0 ||
        crypto_base64_decode_exact(s, n, req->installation_public_key, 32) != 0)
        return reject(err, errlen, "field 'installation_public_key': expected base64 of 32 bytes");
    if (parse_binding(root, req, err, errlen) != 0)
        return -EBADMSG;
    if (hex_member(root, "nonce", 16, req->nonce, err, errlen) != 0)
        return -EBADMSG;
    if (string_member(root, "time", LICENSE_TIME_BUFSIZE - 1, &s, &n, err, errlen) != 0 ||
        license_parse_time(s, n, &t) != 0)
        return reject(err, errlen, "field 'time': expected YYYY-MM-DDTHH:MM:SSZ");
    memcpy(req->time, s, n + 1);
    if (string_member(root, "signature", SIG_B64_LEN, &s, &n, err, errlen) != 0 ||
        crypto_base64_decode_exact(s, n, sig, 64) != 0)
        return reject(err, errlen, "field 'signature': expected base64 of 64 bytes");
    if (installation_id_of(req->installation_public_key, id) != 0)
        return reject(err, errlen, "cannot hash the installation key");
    if (strcmp(id, req->installation_id) != 0)
        return reject(err, errlen,
                      "field 'installation_id': does not match "
                      "installation_public_key");
    return 0;
}

/* json-c accepts 'single-quoted' strings even in strict mode; JSON does not. */
static bool has_single_quote_outside_strings(const char *body, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (in_string && body[i] == '\\')
            i++;
        else if (body[i] == '"')
            in_string = !in_string;
        else if (!in_string && body[i] == '\'')
            return true;
    }
    return false;
}

int activation_request_parse(const char *body, size_t len, struct activation_request *out,
                             char *err, size_t errlen)
{
    struct json_tokener *tok = NULL;
    json_object *root = NULL;
    uint8_t sig[64], *msg = NULL;
    size_t msglen, end;
    int ret;

    memset(out, 0, sizeof(*out));
    if (errlen > 0)
        err[0] = '\0';
    if (len > ACTIVATION_BODY_MAX) {
        snprintf(err, errlen, "request body larger than %d bytes", ACTIVATION_BODY_MAX);
        return -EMSGSIZE;
    }
    if (memchr(body, '\0', len) != NULL)
        return reject(err, errlen, "request body contains a NUL byte");
    if (has_single_quote_outside_strings(body, len))
        return reject(err, errlen, "malformed JSON: single-quoted string");
    tok = json_tokener_new_ex(JSON_DEPTH_MAX);
    if (tok == NULL)
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        ret = reject(err, errlen, "malformed JSON: %s",
                     json_tokener_error_desc(json_tokener_get_error(tok) == json_tokener_continue
                                                 ? json_tokener_error_parse_eof
                                                 : json_tokener_get_error(tok)));
        goto out;
    }
    end = json_tokener_get_parse_end(tok);
    while (end < len && strchr(" \t\r\n", body[end]) != NULL)
        end++;
    if (end != len) {
        ret = reject(err, errlen, "trailing data after the JSON object");
        goto out;
    }
    ret = parse_fields(root, out, sig, err, errlen);
    if (ret != 0)
        goto out;
    ret = activation_request_message(out, &msg, &msglen);
    if (ret != 0)
        goto out;
    ret = crypto_ed25519_verify(out->installation_public_key, msg, msglen, sig);
    if (ret == -EBADMSG)
        reject(err, errlen,
               "bad signature (not made by installation_public_key over this "
               "request)");
    else if (ret != 0)
        snprintf(err, errlen, "cannot verify the signature: %s", strerror(-ret));
out:
    free(msg);
    json_object_put(root);
    json_tokener_free(tok);
    if (ret != 0)
        memset(out, 0, sizeof(*out));
    return ret;
}

int activation_request_message(const struct activation_request *req, uint8_t **msg, size_t *len)
{
    char pub[PUBKEY_B64_LEN + 1], digest[65];
    char *buf = NULL;
    size_t size = 0;
    FILE *f;
    int ret;

    *msg = NULL;
    *len = 0;
    ret = crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub));
    if (ret != 0)
        return ret;
    f = open_memstream(&buf, &size);
    if (f == NULL)
        return -ENOMEM;
    fwrite(ACTIVATION_DOMAIN, 1, sizeof(ACTIVATION_DOMAIN), f); /* with its NUL */
    fprintf(f, "%d\n%s\n%s\n%s\n", ACTIVATION_API_VERSION, req->key, req->installation_id, pub);
    for (size_t i = 0; i < req->ncomponents; i++) {
        hex_encode(req->components[i].digest, 32, digest);
        fprintf(f, "%s=%s\n", component_name(req->components[i].type), digest);
    }
    fprintf(f, "%s\n%s\n%s\n", req->is_virtual ? "true" : "false", req->nonce, req->time);
    if (ferror(f) != 0) {
        fclose(f);
        free(buf);
        return -ENOMEM;
    }
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *msg = (uint8_t *)buf;
    *len = size;
    return 0;
}

int activation_request_build(struct activation_request *req, const uint8_t installation_priv[32],
                             char **json)
{
    char pub[PUBKEY_B64_LEN + 1], sigtext[SIG_B64_LEN + 1], digest[65];
    json_object *root = NULL, *binding, *components;
    uint8_t sig[64], *msg = NULL;
    size_t msglen;
    int ret;

    *json = NULL;
    ret = crypto_ed25519_public_from_private(installation_priv, req->installation_public_key);
    if (ret == 0)
        ret = installation_id_of(req->installation_public_key, req->installation_id);
    if (ret == 0)
        ret = activation_request_message(req, &msg, &msglen);
    if (ret == 0)
        ret = crypto_ed25519_sign(installation_priv, msg, msglen, sig);
    if (ret == 0)
        ret = crypto_base64_encode(sig, sizeof(sig), sigtext, sizeof(sigtext));
    if (ret == 0)
        ret = crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub));
    free(msg);
    if (ret != 0)
        return ret;
    root = json_object_new_object();
    binding = json_object_new_object();
    components = json_object_new_array();
    if (root == NULL || binding == NULL || components == NULL) {
        json_object_put(root);
        json_object_put(binding);
        json_object_put(components);
        return -ENOMEM;
    }
    for (size_t i = 0; i < req->ncomponents; i++) {
        json_object *comp = json_object_new_object();

        hex_encode(req->components[i].digest, 32, digest);
        json_object_object_add(comp, "type",
                               json_object_new_string(component_name(req->components[i].type)));
        json_object_object_add(comp, "digest", json_object_new_string(digest));
        json_object_array_add(components, comp);
    }
    json_object_object_add(binding, "components", components);
    json_object_object_add(binding, "virtual", json_object_new_boolean(req->is_virtual));
    json_object_object_add(root, "api", json_object_new_int(ACTIVATION_API_VERSION));
    json_object_object_add(root, "key", json_object_new_string(req->key));
    json_object_object_add(root, "installation_id", json_object_new_string(req->installation_id));
    json_object_object_add(root, "installation_public_key", json_object_new_string(pub));
    json_object_object_add(root, "binding", binding);
    json_object_object_add(root, "nonce", json_object_new_string(req->nonce));
    json_object_object_add(root, "time", json_object_new_string(req->time));
    json_object_object_add(root, "signature", json_object_new_string(sigtext));
    *json = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return *json != NULL ? 0 : -ENOMEM;
}

int offline_request_armor(const char *body, size_t len, char **text)
{
    size_t b64len = CRYPTO_BASE64_LEN(len);
    char *b64 = malloc(b64len + 1), *out = NULL;
    size_t size = 0;
    FILE *f;
    int ret;

    *text = NULL;
    if (b64 == NULL)
        return -ENOMEM;
    ret = crypto_base64_encode((const uint8_t *)body, len, b64, b64len + 1);
    if (ret != 0)
        goto out;
    f = open_memstream(&out, &size);
    if (f == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    fputs(OFFLINE_REQUEST_BEGIN "\n", f);
    for (size_t i = 0; i < b64len; i += OFFLINE_LINE_LEN) {
        size_t n = b64len - i < OFFLINE_LINE_LEN ? b64len - i : OFFLINE_LINE_LEN;
        fwrite(b64 + i, 1, n, f);
        fputc('\n', f);
    }
    fputs(OFFLINE_REQUEST_END "\n", f);
    if (fclose(f) != 0) {
        free(out);
        ret = -ENOMEM;
        goto out;
    }
    *text = out;
out:
    free(b64);
    return ret;
}

/* The next line of text at *pos, without its LF and a CR before it. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *start, *lf;

    if (*pos >= len)
        return false;
    start = text + *pos;
    lf = memchr(start, '\n', len - *pos);
    *n = lf != NULL ? (size_t)(lf - start) : len - *pos;
    *pos += *n + (lf != NULL);
    if (*n > 0 && start[*n - 1] == '\r')
        (*n)--;
    *line = start;
    return true;
}

static bool line_is(const char *line, size_t n, const char *literal)
{
    return n == strlen(literal) && memcmp(line, literal, n) == 0;
}

int offline_request_unarmor(const char *text, size_t len, char **body, size_t *bodylen, char *err,
                            size_t errlen)
{
    char *b64 = NULL;
    uint8_t *out = NULL;
    size_t pos = 0, n, b64len = 0, outlen, lines = 0;
    const char *line;
    bool begun = false, ended = false;
    int ret;

    *body = NULL;
    *bodylen = 0;
    if (len > OFFLINE_REQUEST_MAX)
        return reject(err, errlen, "larger than %d bytes", OFFLINE_REQUEST_MAX);
    b64 = malloc(len + 1);
    if (b64 == NULL)
        return -ENOMEM;
    while (!ended && next_line(text, len, &pos, &line, &n)) {
        lines++;
        if (!begun) {
            begun = line_is(line, n, OFFLINE_REQUEST_BEGIN);
            continue;
        }
        if (line_is(line, n, OFFLINE_REQUEST_END)) {
            ended = true;
            continue;
        }
        if (n == 0 || n > OFFLINE_LINE_LEN ||
            strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") < n) {
            ret = reject(err, errlen, "line %zu: not a base64 line of 1..%d characters", lines,
                         OFFLINE_LINE_LEN);
            goto out;
        }
        memcpy(b64 + b64len, line, n);
        b64len += n;
    }
    if (!begun || !ended) {
        ret = reject(err, errlen, "no '%s' ... '%s' block", OFFLINE_REQUEST_BEGIN,
                     OFFLINE_REQUEST_END);
        goto out;
    }
    if (b64len == 0 || b64len % 4 != 0) {
        ret = reject(err, errlen, "the base64 block is not a whole number of 4-character groups");
        goto out;
    }
    outlen = b64len / 4 * 3 - (b64[b64len - 1] == '=') - (b64[b64len - 2] == '=');
    out = malloc(outlen + 1);
    if (out == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    ret = crypto_base64_decode_exact(b64, b64len, out, outlen);
    if (ret != 0) {
        ret = reject(err, errlen, "the base64 block is not canonical base64");
        goto out;
    }
    out[outlen] = '\0';
    *body = (char *)out;
    *bodylen = outlen;
    out = NULL;
    ret = 0;
out:
    free(out);
    free(b64);
    return ret;
}
