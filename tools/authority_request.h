/* Activation requests (docs/activation-api.md): the JSON body of
 * POST /v1/activate and /v1/refresh, its canonical signed message, and the
 * armored offline request file. Int functions return 0 or -errno. */
#ifndef LICGATE_TOOLS_AUTHORITY_REQUEST_H
#define LICGATE_TOOLS_AUTHORITY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "license.h"

#define ACTIVATION_API_VERSION 1
#define ACTIVATION_BODY_MAX    (16 * 1024)
#define ACTIVATION_DOMAIN      "licgate-activation-v1"
#define OFFLINE_REQUEST_BEGIN  "-----BEGIN LICGATE ACTIVATION REQUEST-----"
#define OFFLINE_REQUEST_END    "-----END LICGATE ACTIVATION REQUEST-----"
#define OFFLINE_REQUEST_MAX    (64 * 1024)
#define OFFLINE_LINE_LEN       76

struct activation_request {
    char key[LICENSE_KEY_ID_MAX + 1]; /* as sent; the signature covers this spelling */
    char installation_id[33];
    uint8_t installation_public_key[32];
    size_t ncomponents;
    struct binding_component components[LICENSE_MAX_COMPONENTS];
    bool is_virtual;
    char nonce[33];
    char time[LICENSE_TIME_BUFSIZE];
};

/* Parses and verifies a request body of len bytes (need not be
 * NUL-terminated): at most ACTIVATION_BODY_MAX bytes (-EMSGSIZE), one JSON
 * object with exactly the documented fields and types (unknown or missing
 * fields refused, hex and base64 of exact lengths, 1..16 components, at most
 * one machine-id and one dmi-uuid, no repeated component), installation_id
 * equal to the id of installation_public_key, and the Ed25519 signature of
 * the installation over the canonical message. -EBADMSG otherwise. err gets
 * one line naming the field, e.g. "field 'nonce': expected 32 lowercase hex
 * digits". out is zeroed unless 0 is returned. */
int activation_request_parse(const char *body, size_t len, struct activation_request *out,
                             char *err, size_t errlen);

/* The canonical message: "licgate-activation-v1\0", then api, key,
 * installation_id, installation_public_key (base64), every component as
 * type=digest, virtual (true/false), nonce, time, each followed by "\n".
 * *msg is malloc'd; the caller frees it. */
int activation_request_message(const struct activation_request *req, uint8_t **msg, size_t *len);

/* The installation id of a raw public key: the first 16 bytes of its
 * SHA-256 as 32 lowercase hex digits. */
int installation_id_of(const uint8_t pub[32], char out[33]);

/* Builds the signed JSON body for req with the installation's private key
 * (req->installation_public_key and installation_id are derived from it).
 * *json is malloc'd and NUL-terminated; the caller frees it. */
int activation_request_build(struct activation_request *req, const uint8_t installation_priv[32],
                             char **json);

/* Wraps a body into the armored offline request (BEGIN line, base64 in
 * 76-character lines, END line). *text is malloc'd and NUL-terminated. */
int offline_request_armor(const char *body, size_t len, char **text);

/* Extracts the body from an armored offline request (at most
 * OFFLINE_REQUEST_MAX bytes; text around the armor and CR line ends are
 * tolerated, the base64 must be canonical). -EBADMSG with a reason in err.
 * *body is malloc'd and NUL-terminated. */
int offline_request_unarmor(const char *text, size_t len, char **body, size_t *bodylen, char *err,
                            size_t errlen);

#endif
