#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ctl_activate.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "crypto.h"
#include "fingerprint.h"
#include "fs.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define PUBKEY_B64_LEN CRYPTO_BASE64_LEN(32) /* 44 */
#define SIG_B64_LEN    CRYPTO_BASE64_LEN(64) /* 88 */
#define ERROR_TEXT_MAX 300                   /* of a refusal's text we show */

static void hex_encode(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 2 * n lowercase hex digits into n bytes. */
static bool hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hex_value(s[i]) < 0)
            return false;
    return s[n] == '\0';
}

static bool valid_key_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > LICENSE_KEY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* Control bytes (and C1 controls in UTF-8) become '?', at most max bytes. */
static void sanitize_copy(const char *s, char *out, size_t outlen, size_t max)
{
    size_t j = 0, n = strlen(s);

    if (outlen == 0)
        return;
    for (size_t i = 0; i < n && j + 1 < outlen && j < max; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            out[j++] = '?';
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            out[j++] = '?';
            i++;
        } else {
            out[j++] = (char)c;
        }
    }
    out[j] = '\0';
}

/* ------------------------------------------------------------ installation */

int ctl_installation_id(const uint8_t pub[32], char id[CTL_INSTALLATION_ID_HEX + 1])
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    int r;

    id[0] = '\0';
    if ((r = crypto_sha256(pub, 32, digest)) < 0)
        return r;
    hex_encode(digest, CTL_INSTALLATION_ID_HEX / 2, id);
    return 0;
}

void ctl_installation_clear(struct ctl_installation *inst)
{
    crypto_wipe(inst, sizeof(*inst));
}

static int installation_read(const char *path, struct ctl_installation *inst, char *err,
                             size_t errlen)
{
    struct stat st;
    int r;

    if (lstat(path, &st) != 0) {
        r = -errno;
        errbuf_set(err, errlen, "installation key %s: %s", path, strerror(errno));
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        errbuf_set(err, errlen, "installation key %s is not a regular file", path);
        return -EINVAL;
    }
    if (st.st_mode & 077) {
        errbuf_set(err, errlen,
                   "installation key %s is accessible by others (mode %04o): chmod 600 it", path,
                   (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    r = crypto_ed25519_read_private_pem(path, inst->priv);
    if (r == 0)
        r = crypto_ed25519_public_from_private(inst->priv, inst->pub);
    if (r == 0)
        r = ctl_installation_id(inst->pub, inst->id);
    if (r < 0)
        errbuf_set(err, errlen, "installation key %s: %s", path,
                   r == -EBADMSG ? "not an Ed25519 private key" : strerror(-r));
    return r;
}

/* Makes a key pair and links it into place; -EEXIST when another process was
 * first (its key is then the one to use). */
static int installation_create(const char *state_dir, const char *path, char *err, size_t errlen)
{
    uint8_t priv[32], pub[32];
    char tmp[4096];
    int fd, r;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.installation.key.XXXXXX", state_dir) >=
        sizeof(tmp)) {
        errbuf_set(err, errlen, "state-dir path too long");
        return -ENAMETOOLONG;
    }
    if ((r = fs_mkdir_parents(path)) < 0) {
        errbuf_set(err, errlen, "cannot create %s: %s", state_dir, strerror(-r));
        return r;
    }
    if ((fd = mkstemp(tmp)) < 0) { /* 0600 */
        r = -errno;
        errbuf_set(err, errlen, "cannot create a file in %s: %s", state_dir, strerror(errno));
        return r;
    }
    r = crypto_ed25519_keygen(priv, pub);
    if (r == 0)
        r = crypto_ed25519_write_private_pem(tmp, priv);
    crypto_wipe(priv, sizeof(priv));
    if (r == 0 && fsync(fd) != 0)
        r = -errno;
    close(fd);
    if (r == 0 && link(tmp, path) != 0)
        r = -errno;
    unlink(tmp);
    if (r < 0 && r != -EEXIST) {
        errbuf_set(err, errlen, "cannot write installation key %s: %s", path, strerror(-r));
        return r;
    }
    if ((fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return r;
}

int ctl_installation_load(const char *state_dir, bool create, struct ctl_installation *inst,
                          char *err, size_t errlen)
{
    char path[4096];
    int r;

    memset(inst, 0, sizeof(*inst));
    errbuf_set(err, errlen, "%s", "");
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, CTL_INSTALLATION_KEY_FILE) >=
        sizeof(path)) {
        errbuf_set(err, errlen, "state-dir path too long");
        return -ENAMETOOLONG;
    }
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        if (!create) {
            errbuf_set(err, errlen, "no installation key %s (made at the first activation)", path);
            return -ENOENT;
        }
        r = installation_create(state_dir, path, err, errlen);
        if (r < 0 && r != -EEXIST)
            return r;
    }
    r = installation_read(path, inst, err, errlen);
    if (r < 0)
        ctl_installation_clear(inst);
    return r;
}

/* ------------------------------------------------------------ the request */

int ctl_request_build(struct ctl_request *req, const char *key, const struct ctl_installation *inst,
                      const struct binding_component *comps, size_t n, bool binding_virtual,
                      int64_t now, const uint8_t nonce[16])
{
    char *msg = NULL;
    size_t len = 0;
    int r;

    memset(req, 0, sizeof(*req));
    if (!valid_key_id(key) || n == 0 || n > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    req->api = CTL_API_VERSION;
    memcpy(req->key, key, strlen(key) + 1);
    memcpy(req->installation_id, inst->id, sizeof(req->installation_id));
    memcpy(req->installation_public_key, inst->pub, 32);
    memcpy(req->components, comps, n * sizeof(*comps));
    req->ncomponents = n;
    req->binding_virtual = binding_virtual;
    hex_encode(nonce, 16, req->nonce);
    if (license_format_time(now, req->time, sizeof(req->time)) < 0) {
        r = -EINVAL;
        goto fail;
    }
    if ((r = ctl_request_message(req, &msg, &len)) < 0)
        goto fail;
    r = crypto_ed25519_sign(inst->priv, msg, len, req->signature);
    free(msg);
    if (r < 0)
        goto fail;
    return 0;
fail:
    memset(req, 0, sizeof(*req));
    return r;
}

int ctl_request_message(const struct ctl_request *req, char **msg, size_t *len)
{
    char pub[PUBKEY_B64_LEN + 1], digest[65];
    char *buf = NULL;
    size_t size = 0;
    FILE *f;
    int r;

    *msg = NULL;
    *len = 0;
    if ((r = crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub))) < 0)
        return r;
    if (req->ncomponents > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    f = open_memstream(&buf, &size);
    if (!f)
        return -ENOMEM;
    fwrite(CTL_REQUEST_DOMAIN, 1, sizeof(CTL_REQUEST_DOMAIN), f); /* with its NUL */
    fprintf(f, "%d\n%s\n%s\n%s\n", req->api, req->key, req->installation_id, pub);
    for (size_t i = 0; i < req->ncomponents; i++) {
        hex_encode(req->components[i].digest, 32, digest);
        fprintf(f, "%s=%s\n", fingerprint_type_name(req->components[i].type), digest);
    }
    fprintf(f, "%s\n%s\n%s\n", req->binding_virtual ? "true" : "false", req->nonce, req->time);
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

int ctl_request_verify(const struct ctl_request *req)
{
    char *msg;
    size_t len;
    int r;

    if ((r = ctl_request_message(req, &msg, &len)) < 0)
        return r;
    r = crypto_ed25519_verify(req->installation_public_key, msg, len, req->signature);
    free(msg);
    return r;
}

int ctl_request_to_json(const struct ctl_request *req, char **json, size_t *len)
{
    char pub[PUBKEY_B64_LEN + 1], sig[SIG_B64_LEN + 1], digest[65];
    json_object *o, *binding, *list;
    const char *text;
    size_t n;
    int r = -ENOMEM;

    *json = NULL;
    *len = 0;
    if (crypto_base64_encode(req->installation_public_key, 32, pub, sizeof(pub)) < 0 ||
        crypto_base64_encode(req->signature, 64, sig, sizeof(sig)) < 0)
        return -EINVAL;
    if (!(o = json_object_new_object()))
        return -ENOMEM;
    json_object_object_add(o, "api", json_object_new_int(req->api));
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
            c, "type", json_object_new_string(fingerprint_type_name(req->components[i].type)));
        json_object_object_add(c, "digest", json_object_new_string(digest));
        json_object_array_add(list, c);
    }
    json_object_object_add(binding, "components", list);
    json_object_object_add(binding, "virtual", json_object_new_boolean(req->binding_virtual));
    json_object_object_add(o, "binding", binding);
    json_object_object_add(o, "nonce", json_object_new_string(req->nonce));
    json_object_object_add(o, "time", json_object_new_string(req->time));
    json_object_object_add(o, "signature", json_object_new_string(sig));
    if (json_object_array_length(list) != req->ncomponents)
        goto out;
    text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text)
        goto out;
    n = strlen(text);
    if (!(*json = strdup(text)))
        goto out;
    *len = n;
    r = 0;
out:
    json_object_put(o);
    return r;
}

/* The member name of o that is json type t, else NULL (err says which). */
static json_object *member(json_object *o, const char *name, json_type t, const char *where,
                           char *err, size_t errlen)
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

        (void)v;
        for (const char *const *n = names; *n; n++)
            known |= strcmp(*n, k) == 0;
        if (!known) {
            char safe[65];

            sanitize_copy(k, safe, sizeof(safe), 64);
            errbuf_set(err, errlen, "%s: unknown field '%s'", where, safe);
            return false;
        }
    }
    return true;
}

/* One JSON object from exactly len bytes (whitespace may follow), or NULL. */
static json_object *parse_object(const char *text, size_t len, const char **why)
{
    json_tokener *tok;
    json_object *o;
    size_t used;

    if (memchr(text, '\0', len)) {
        *why = "a NUL byte";
        return NULL;
    }
    if (len > INT32_MAX || !(tok = json_tokener_new())) {
        *why = "out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, text, (int)len);
    used = json_tokener_get_parse_end(tok);
    if (!o || json_tokener_get_error(tok) != json_tokener_success) {
        *why = "not JSON";
        json_object_put(o);
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);
    for (; used < len; used++) {
        if (!strchr(" \t\r\n", text[used])) {
            *why = "trailing data after the JSON object";
            json_object_put(o);
            return NULL;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        *why = "not a JSON object";
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int component_type_from_name(const char *s, enum component_type *t)
{
    static const enum component_type all[] = {COMPONENT_MACHINE_ID, COMPONENT_DMI_UUID,
                                              COMPONENT_NIC};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, fingerprint_type_name(all[i])) == 0) {
            *t = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

static int request_binding_from_json(json_object *b, struct ctl_request *req, char *err,
                                     size_t errlen)
{
    static const char *const fields[] = {"components", "virtual", NULL};
    static const char *const comp_fields[] = {"type", "digest", NULL};
    json_object *list, *virt;
    size_t n;

    if (!only_fields(b, fields, "binding", err, errlen) ||
        !(list = member(b, "components", json_type_array, "binding", err, errlen)) ||
        !(virt = member(b, "virtual", json_type_boolean, "binding", err, errlen)))
        return -EBADMSG;
    n = json_object_array_length(list);
    if (n == 0 || n > LICENSE_MAX_COMPONENTS) {
        errbuf_set(err, errlen, "binding: %zu components, expected 1..%d", n,
                   LICENSE_MAX_COMPONENTS);
        return -EBADMSG;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(list, i), *type, *digest;
        char where[48];
        const char *s;

        snprintf(where, sizeof(where), "binding component %zu", i);
        if (!json_object_is_type(c, json_type_object)) {
            errbuf_set(err, errlen, "%s: not an object", where);
            return -EBADMSG;
        }
        if (!only_fields(c, comp_fields, where, err, errlen) ||
            !(type = member(c, "type", json_type_string, where, err, errlen)) ||
            !(digest = member(c, "digest", json_type_string, where, err, errlen)))
            return -EBADMSG;
        if (component_type_from_name(json_object_get_string(type), &req->components[i].type) < 0) {
            errbuf_set(err, errlen, "%s: unknown type", where);
            return -EBADMSG;
        }
        s = json_object_get_string(digest);
        if (!hex_decode(s, (size_t)json_object_get_string_len(digest), req->components[i].digest,
                        32)) {
            errbuf_set(err, errlen, "%s: digest is not 64 lowercase hex digits", where);
            return -EBADMSG;
        }
    }
    req->ncomponents = n;
    req->binding_virtual = json_object_get_boolean(virt);
    return 0;
}

int ctl_request_from_json(const char *json, size_t len, struct ctl_request *req, char *err,
                          size_t errlen)
{
    static const char *const fields[] = {"api",
                                         "key",
                                         "installation_id",
                                         "installation_public_key",
                                         "binding",
                                         "nonce",
                                         "time",
                                         "signature",
                                         NULL};
    json_object *o, *v;
    const char *why = "", *s;
    char id[CTL_INSTALLATION_ID_HEX + 1];
    int64_t t;
    size_t n;
    int r = -EBADMSG;

    memset(req, 0, sizeof(*req));
    errbuf_set(err, errlen, "%s", "");
    if (len > CTL_REQUEST_MAX) {
        errbuf_set(err, errlen, "request larger than %d bytes", CTL_REQUEST_MAX);
        return -EBADMSG;
    }
    if (!(o = parse_object(json, len, &why))) {
        errbuf_set(err, errlen, "request: %s", why);
        return -EBADMSG;
    }
    if (!only_fields(o, fields, "request", err, errlen))
        goto out;
    if (!(v = member(o, "api", json_type_int, "request", err, errlen)))
        goto out;
    if (json_object_get_int64(v) != CTL_API_VERSION) {
        errbuf_set(err, errlen, "request: api %lld, expected %d",
                   (long long)json_object_get_int64(v), CTL_API_VERSION);
        goto out;
    }
    req->api = CTL_API_VERSION;
    if (!(v = member(o, "key", json_type_string, "request", err, errlen)))
        goto out;
    s = json_object_get_string(v);
    if (!valid_key_id(s)) {
        errbuf_set(err, errlen, "request: key is not 1..%d of A-Z, 0-9 and '-'",
                   LICENSE_KEY_ID_MAX);
        goto out;
    }
    memcpy(req->key, s, strlen(s) + 1);
    if (!(v = member(o, "installation_id", json_type_string, "request", err, errlen)))
        goto out;
    s = json_object_get_string(v);
    if (strlen(s) != CTL_INSTALLATION_ID_HEX || !is_lower_hex(s, CTL_INSTALLATION_ID_HEX)) {
        errbuf_set(err, errlen, "request: installation_id is not 32 lowercase hex digits");
        goto out;
    }
    memcpy(req->installation_id, s, CTL_INSTALLATION_ID_HEX + 1);
    if (!(v = member(o, "installation_public_key", json_type_string, "request", err, errlen)))
        goto out;
    if (crypto_base64_decode_exact(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                                   req->installation_public_key, 32) < 0) {
        errbuf_set(err, errlen, "request: installation_public_key is not the base64 of 32 bytes");
        goto out;
    }
    if (ctl_installation_id(req->installation_public_key, id) < 0 ||
        strcmp(id, req->installation_id) != 0) {
        errbuf_set(err, errlen, "request: installation_id does not belong to the public key");
        goto out;
    }
    if (!(v = member(o, "binding", json_type_object, "request", err, errlen)))
        goto out;
    if (request_binding_from_json(v, req, err, errlen) < 0)
        goto out;
    if (!(v = member(o, "nonce", json_type_string, "request", err, errlen)))
        goto out;
    s = json_object_get_string(v);
    if (strlen(s) != 32 || !is_lower_hex(s, 32)) {
        errbuf_set(err, errlen, "request: nonce is not 32 lowercase hex digits");
        goto out;
    }
    memcpy(req->nonce, s, 33);
    if (!(v = member(o, "time", json_type_string, "request", err, errlen)))
        goto out;
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n != LICENSE_TIME_BUFSIZE - 1 || license_parse_time(s, n, &t) < 0) {
        errbuf_set(err, errlen, "request: time is not YYYY-MM-DDTHH:MM:SSZ");
        goto out;
    }
    memcpy(req->time, s, LICENSE_TIME_BUFSIZE);
    if (!(v = member(o, "signature", json_type_string, "request", err, errlen)))
        goto out;
    if (crypto_base64_decode_exact(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                                   req->signature, 64) < 0) {
        errbuf_set(err, errlen, "request: signature is not the base64 of 64 bytes");
        goto out;
    }
    r = 0;
out:
    json_object_put(o);
    if (r < 0)
        memset(req, 0, sizeof(*req));
    return r;
}

/* ------------------------------------------------------------ the offline armor */

int ctl_request_armor(const char *json, size_t len, char **out, size_t *outlen)
{
    size_t b64len = CRYPTO_BASE64_LEN(len), lines, size, used;
    char *b64, *buf;
    int r;

    *out = NULL;
    *outlen = 0;
    if (len == 0 || len > CTL_REQUEST_MAX)
        return -EINVAL;
    if (!(b64 = malloc(b64len + 1)))
        return -ENOMEM;
    if ((r = crypto_base64_encode((const uint8_t *)json, len, b64, b64len + 1)) < 0) {
        free(b64);
        return r;
    }
    lines = (b64len + CTL_ARMOR_WIDTH - 1) / CTL_ARMOR_WIDTH;
    size = sizeof(CTL_ARMOR_BEGIN) + b64len + lines + sizeof(CTL_ARMOR_END) + 1;
    if (!(buf = malloc(size))) {
        free(b64);
        return -ENOMEM;
    }
    used = (size_t)snprintf(buf, size, "%s\n", CTL_ARMOR_BEGIN);
    for (size_t i = 0; i < b64len; i += CTL_ARMOR_WIDTH) {
        size_t n = b64len - i < CTL_ARMOR_WIDTH ? b64len - i : CTL_ARMOR_WIDTH;

        memcpy(buf + used, b64 + i, n);
        used += n;
        buf[used++] = '\n';
    }
    used += (size_t)snprintf(buf + used, size - used, "%s\n", CTL_ARMOR_END);
    free(b64);
    *out = buf;
    *outlen = used;
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

int ctl_request_unarmor(const char *text, size_t len, char **json, size_t *jsonlen, char *err,
                        size_t errlen)
{
    size_t max_b64 = CRYPTO_BASE64_LEN(CTL_REQUEST_MAX), pos = 0, used = 0, n, outlen;
    const char *line;
    bool begun = false, ended = false;
    char *b64 = NULL, *out = NULL;
    int r = -EBADMSG;

    *json = NULL;
    *jsonlen = 0;
    errbuf_set(err, errlen, "%s", "");
    if (!(b64 = malloc(max_b64 + 1)))
        return -ENOMEM;
    while (!ended && next_line(text, len, &pos, &line, &n)) {
        if (!begun) {
            begun = line_is(line, n, CTL_ARMOR_BEGIN);
            continue;
        }
        if (line_is(line, n, CTL_ARMOR_END)) {
            ended = true;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (!is_base64_char(line[i])) {
                errbuf_set(err, errlen, "request file: a line inside the armor is not base64");
                goto out;
            }
        }
        if (max_b64 - used < n) {
            errbuf_set(err, errlen, "request file: larger than %d bytes", CTL_REQUEST_MAX);
            goto out;
        }
        memcpy(b64 + used, line, n);
        used += n;
    }
    if (!begun || !ended) {
        errbuf_set(err, errlen, "request file: %s",
                   begun ? "no '" CTL_ARMOR_END "' line" : "no '" CTL_ARMOR_BEGIN "' line");
        goto out;
    }
    if (used == 0 || used % 4 != 0) {
        errbuf_set(err, errlen, "request file: the base64 text is cut short");
        goto out;
    }
    outlen = used / 4 * 3 - (b64[used - 1] == '=') - (b64[used - 2] == '=');
    if (!(out = malloc(outlen + 1))) {
        r = -ENOMEM;
        goto out;
    }
    if (crypto_base64_decode_exact(b64, used, (uint8_t *)out, outlen) < 0) {
        errbuf_set(err, errlen, "request file: bad base64");
        goto out;
    }
    out[outlen] = '\0';
    *json = out;
    *jsonlen = outlen;
    out = NULL;
    r = 0;
out:
    free(out);
    free(b64);
    return r;
}

/* ------------------------------------------------------------ the answer */

/* The message for a refusal code; NULL for codes whose own text is shown. */
static const char *refusal_message(const char *code, const char *error)
{
    if (strcmp(code, "unknown-key") == 0)
        return "license key unknown";
    if (strcmp(code, "refunded") == 0)
        return "license key refunded";
    if (strcmp(code, "already-activated") == 0)
        return "License error: machine properties validation failed: verify fail: key already "
               "activated on another machine";
    if (strcmp(code, "support-over") == 0 && strncmp(error, "support term over", 17) != 0)
        return "support term over: the machine changed and re-binding needs a valid support term";
    return NULL;
}

int ctl_parse_answer(const char *body, size_t len, long http_status, char **license,
                     size_t *license_len, char *code, size_t codelen, char *err, size_t errlen)
{
    json_object *o, *v, *c;
    const char *why = "", *fixed;
    char safe_code[65], safe_error[ERROR_TEXT_MAX + 1];
    int r = -EBADMSG;

    *license = NULL;
    *license_len = 0;
    if (code && codelen)
        code[0] = '\0';
    errbuf_set(err, errlen, "%s", "");
    if (len > CTL_ANSWER_MAX) {
        errbuf_set(err, errlen, "the authority's answer is larger than %d KiB",
                   CTL_ANSWER_MAX / 1024);
        return -EMSGSIZE;
    }
    if (!(o = parse_object(body, len, &why))) {
        errbuf_set(err, errlen, "unexpected answer from the authority (HTTP %ld): %s", http_status,
                   why);
        return -EBADMSG;
    }
    if (!(v = member(o, "api", json_type_int, "answer", err, errlen)) ||
        !(c = member(o, "ok", json_type_boolean, "answer", err, errlen))) {
        char inner[256];

        snprintf(inner, sizeof(inner), "%s", err ? err : "");
        errbuf_set(err, errlen, "unexpected answer from the authority (HTTP %ld): %s", http_status,
                   inner);
        goto out;
    }
    if (json_object_get_int64(v) != CTL_API_VERSION) {
        errbuf_set(err, errlen, "the authority speaks API %lld, licgatectl speaks %d",
                   (long long)json_object_get_int64(v), CTL_API_VERSION);
        r = -EPROTONOSUPPORT;
        goto out;
    }
    if (json_object_get_boolean(c)) {
        if (http_status != 200) {
            errbuf_set(err, errlen, "unexpected answer from the authority: ok with HTTP %ld",
                       http_status);
            goto out;
        }
        if (!(v = member(o, "license", json_type_string, "answer", err, errlen))) {
            char inner[256];

            snprintf(inner, sizeof(inner), "%s", err ? err : "");
            errbuf_set(err, errlen, "unexpected answer from the authority: %s", inner);
            goto out;
        }
        if (json_object_get_string_len(v) == 0 ||
            (size_t)json_object_get_string_len(v) > LICENSE_MAX_TEXT) {
            errbuf_set(err, errlen,
                       "unexpected answer from the authority: empty or oversized license");
            goto out;
        }
        if (!(*license = strdup(json_object_get_string(v)))) {
            r = -ENOMEM;
            goto out;
        }
        *license_len = (size_t)json_object_get_string_len(v);
        r = 0;
        goto out;
    }
    /* A refusal: code and error, both strings. */
    if (!(c = member(o, "code", json_type_string, "answer", err, errlen)) ||
        !(v = member(o, "error", json_type_string, "answer", err, errlen))) {
        char inner[256];

        snprintf(inner, sizeof(inner), "%s", err ? err : "");
        errbuf_set(err, errlen, "the authority refused (HTTP %ld) without saying why: %s",
                   http_status, inner);
        goto out;
    }
    sanitize_copy(json_object_get_string(c), safe_code, sizeof(safe_code), 64);
    sanitize_copy(json_object_get_string(v), safe_error, sizeof(safe_error), ERROR_TEXT_MAX);
    if (code && codelen)
        snprintf(code, codelen, "%s", safe_code);
    fixed = refusal_message(safe_code, safe_error);
    if (fixed)
        errbuf_set(err, errlen, "%s", fixed);
    else if (strcmp(safe_code, "bad-request") == 0)
        errbuf_set(err, errlen, "the authority rejected the request: %s",
                   safe_error[0] ? safe_error : "(no reason given)");
    else if (safe_error[0])
        errbuf_set(err, errlen, "%s", safe_error);
    else
        errbuf_set(err, errlen, "the authority refused (HTTP %ld, code '%s')", http_status,
                   safe_code);
    r = -EREMOTEIO;
out:
    json_object_put(o);
    return r;
}

/* ------------------------------------------------------------ the transfer */

void ctl_transfer_error_message(int curl_code, long os_errno, const char *host, long port,
                                const char *detail, char *buf, size_t len)
{
    const char *d = detail && detail[0] ? detail : curl_easy_strerror((CURLcode)curl_code);
    char safe[CURL_ERROR_SIZE];

    sanitize_copy(d, safe, sizeof(safe), sizeof(safe) - 1);
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(buf, len,
                 "DNS lookup failed: cannot resolve '%s' (check the resolver, or use offline "
                 "activation)",
                 host);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY: /* no proxy is ever used; kept for completeness */
        snprintf(buf, len, "DNS lookup failed: %s", safe);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(buf, len,
                 "connection to %s:%ld timed out (a firewall? the authority needs outbound TCP "
                 "%ld, no proxy)",
                 host, port, port);
        break;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            snprintf(buf, len, "connection refused by %s:%ld", host, port);
        else if (os_errno == ETIMEDOUT)
            snprintf(buf, len,
                     "connection to %s:%ld timed out (a firewall? the authority needs outbound "
                     "TCP %ld, no proxy)",
                     host, port, port);
        else if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH)
            snprintf(buf, len, "cannot connect to %s:%ld: %s (check the route)", host, port,
                     strerror((int)os_errno));
        else
            snprintf(buf, len, "cannot connect to %s:%ld: %s", host, port, safe);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        snprintf(buf, len, "TLS verification failed: %s", safe);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        snprintf(buf, len, "connection to %s:%ld lost: %s", host, port, safe);
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        snprintf(buf, len, "the answer from %s:%ld is larger than %d KiB", host, port,
                 CTL_ANSWER_MAX / 1024);
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(buf, len, "bad authority URL: %s (use https://HOST[:PORT])", safe);
        break;
    case CURLE_OUT_OF_MEMORY:
        snprintf(buf, len, "out of memory");
        break;
    default:
        snprintf(buf, len, "cannot reach the authority at %s:%ld: %s", host, port, safe);
        break;
    }
}

static int transfer_errno(int curl_code, long os_errno)
{
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return os_errno == ECONNREFUSED ? -ECONNREFUSED
               : os_errno == ETIMEDOUT  ? -ETIMEDOUT
                                        : -EHOSTUNREACH;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return -EPROTO;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return -EMSGSIZE;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

struct answer_buffer {
    char *data;
    size_t len;
};

static size_t answer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct answer_buffer *b = userdata;
    size_t n = size * nmemb; /* size is 1 for data callbacks */
    char *p;

    if (n > CTL_ANSWER_MAX || CTL_ANSWER_MAX - b->len < n)
        return 0; /* CURLE_WRITE_ERROR: the answer is too large */
    if (!(p = realloc(b->data, b->len + n + 1)))
        return 0;
    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Host and port of an https URL for messages; -EINVAL for another scheme. */
static int authority_endpoint(const char *url, char *host, size_t hostlen, long *port)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    int r = -EINVAL;

    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        strcmp(scheme, "https") != 0 || curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    snprintf(host, hostlen, "%s", h);
    *port = strtol(p, NULL, 10);
    r = 0;
out:
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return r;
}

int ctl_authority_post(const char *authority, const char *path, const char *body, size_t body_len,
                       const struct ctl_http_options *opt, char **answer, size_t *answer_len,
                       long *http_status, char *err, size_t errlen)
{
    struct answer_buffer b = {NULL, 0};
    struct curl_slist *headers = NULL;
    char url[2048], host[256], detail[CURL_ERROR_SIZE] = "";
    long port = 443, os_errno = 0, total, connect;
    size_t alen = strlen(authority);
    CURL *c;
    CURLcode rc;
    int r;

    *answer = NULL;
    *answer_len = 0;
    *http_status = 0;
    errbuf_set(err, errlen, "%s", "");
    while (alen > 0 && authority[alen - 1] == '/')
        alen--;
    if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)alen, authority, path) >= sizeof(url) ||
        authority_endpoint(url, host, sizeof(host), &port) < 0) {
        errbuf_set(err, errlen, "bad authority URL '%s' (use https://HOST[:PORT])", authority);
        return -EINVAL;
    }
    total = opt && opt->timeout > 0 ? opt->timeout : CTL_TOTAL_TIMEOUT;
    connect = total < CTL_CONNECT_TIMEOUT ? total : CTL_CONNECT_TIMEOUT;
    if (!(c = curl_easy_init())) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    /* Q16: the authority is reached directly; proxy variables are ignored. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opt && opt->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, opt->ca_file);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, total);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "licgatectl/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CTL_ANSWER_MAX);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        ctl_transfer_error_message((int)rc, os_errno, host, port, detail, err, errlen);
        r = transfer_errno((int)rc, os_errno);
        free(b.data);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
    if (!b.data && !(b.data = strdup(""))) {
        r = -ENOMEM;
        goto out;
    }
    *answer = b.data;
    *answer_len = b.len;
    r = 0;
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}
