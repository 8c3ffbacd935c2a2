/* libFuzzer target for license_parse_verify. The first input byte picks a mode:
 *
 *   even: the rest is a whole document, parsed against two trusted keys (a fresh one and the
 *         committed development key that signs the fixtures), so armor, base64 and signature
 *         handling see arbitrary bytes and mutated real documents;
 *   odd:  the rest is a payload (the field lines), signed here with the development key and
 *         armored, so the field parsers behind the signature see arbitrary bytes. An accepted
 *         payload must be canonical: license_sign() of the parsed license reproduces it byte
 *         for byte.
 *
 * Every accepted license must pass license_validate() and evaluate without trouble. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "license.h"
#include "license_sign.h"

#ifndef FUZZ_KEYS_DIR
#define FUZZ_KEYS_DIR "keys"
#endif

#define ARMOR_BEGIN "-----BEGIN LICGATE LICENSE-----\n"
#define ARMOR_END   "-----END LICGATE LICENSE-----\n"
#define SIG_PREFIX  "signature: "
#define PAYLOAD_CAP 8192

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char domain[] = "licgate-license-v1"; /* sizeof includes the signed NUL */
static uint8_t dev_priv[32];
static struct issuer_key keys[2]; /* [0] fresh, [1] development */

static void die(const char *what, int r)
{
    fprintf(stderr, "fuzz_license: %s: %d\n", what, r);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t fresh_priv[32];
    int r;

    (void)argc;
    (void)argv;
    r = crypto_ed25519_keygen(fresh_priv, keys[0].pub);
    if (r != 0)
        die("keygen", r);
    crypto_wipe(fresh_priv, sizeof(fresh_priv));
    r = crypto_ed25519_read_private_pem(FUZZ_KEYS_DIR "/dev-issuer.pem", dev_priv);
    if (r != 0)
        die(FUZZ_KEYS_DIR "/dev-issuer.pem", r);
    r = crypto_ed25519_public_from_private(dev_priv, keys[1].pub);
    if (r != 0)
        die("public key", r);
    return 0;
}

static void check_accepted(const struct license *lic)
{
    char err[256], why[256];
    int64_t now = lic->issued + 86400;

    if (license_validate(lic, err, sizeof(err)) != 0) {
        fprintf(stderr, "accepted license fails license_validate: %s\n", err);
        abort();
    }
    (void)license_evaluate(lic, now, why, sizeof(why));
    if (license_next_change(lic, now) <= now)
        abort();
}

static void parse_document(const char *text, size_t len)
{
    struct license lic;
    char err[256];
    int r;

    r = license_parse_verify(text, len, keys, 2, &lic, err, sizeof(err));
    if (r == 0)
        check_accepted(&lic);
    else if (err[0] == '\0' || strchr(err, '\n') != NULL)
        abort(); /* every rejection has a one-line reason */
}

/* Signs payload with the development key and armors it into doc. */
static size_t armor_payload(const uint8_t *payload, size_t len, char *doc, size_t cap)
{
    uint8_t message[sizeof(domain) + PAYLOAD_CAP], sig[64];
    char b64[CRYPTO_BASE64_LEN(64) + 1];
    size_t used = 0;
    int r;

    memcpy(message, domain, sizeof(domain));
    memcpy(message + sizeof(domain), payload, len);
    r = crypto_ed25519_sign(dev_priv, message, sizeof(domain) + len, sig);
    if (r != 0)
        die("sign", r);
    r = crypto_base64_encode(sig, sizeof(sig), b64, sizeof(b64));
    if (r != 0)
        die("base64", r);
    if (cap - used <
        strlen(ARMOR_BEGIN) + len + strlen(SIG_PREFIX) + strlen(b64) + 1 + strlen(ARMOR_END))
        die("document buffer", 0);
    memcpy(doc + used, ARMOR_BEGIN, strlen(ARMOR_BEGIN));
    used += strlen(ARMOR_BEGIN);
    memcpy(doc + used, payload, len);
    used += len;
    memcpy(doc + used, SIG_PREFIX, strlen(SIG_PREFIX));
    used += strlen(SIG_PREFIX);
    memcpy(doc + used, b64, strlen(b64));
    used += strlen(b64);
    doc[used++] = '\n';
    memcpy(doc + used, ARMOR_END, strlen(ARMOR_END));
    used += strlen(ARMOR_END);
    return used;
}

static void parse_signed_payload(const uint8_t *payload, size_t len)
{
    char doc[PAYLOAD_CAP + 256], err[256], *again;
    struct license lic;
    size_t doclen, againlen;
    int r;

    if (len > PAYLOAD_CAP)
        return;
    doclen = armor_payload(payload, len, doc, sizeof(doc));
    r = license_parse_verify(doc, doclen, keys, 2, &lic, err, sizeof(err));
    if (r != 0) {
        if (err[0] == '\0' || strchr(err, '\n') != NULL)
            abort();
        return;
    }
    check_accepted(&lic);
    r = license_sign(&lic, dev_priv, &again, &againlen);
    if (r != 0)
        die("re-signing an accepted license", r);
    if (againlen != doclen || memcmp(again, doc, doclen) != 0) {
        fprintf(stderr, "accepted payload is not canonical; re-signed:\n%s", again);
        abort();
    }
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        parse_signed_payload(data + 1, size - 1);
    else
        parse_document((const char *)data + 1, size - 1);
    return 0;
}
