/* Making license documents: the authority's side, linked into
 * licgate-authority and the tests, never into the plugin. */
#include "license_sign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errbuf.h"
#include "hex.h"
#include "license_format.h"

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
    text_append(&tb, "kind: %s\n", license_kind_name(lic->kind));
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
    if (license_parse_fields(payload, payload_len, 2, &parsed, err, errlen) != 0)
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
