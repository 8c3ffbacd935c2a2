/* A license document: its armor and signature, verified against the
 * trusted issuer keys, and its state at a given time. The fields are parsed
 * in license_fields.c; documents are made in license_sign.c, which the
 * plugin does not link. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "license.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "errbuf.h"
#include "hex.h"
#include "license_format.h"

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
    ret = license_parse_fields(doc.payload, doc.payload_len, 2, &lic, err, errlen);
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
