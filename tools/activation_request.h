/* The activation request (docs/activation-api.md), the one model both sides
 * share: licgatectl builds, signs and armors it, licgate-authority parses,
 * verifies and unarmors it. The canonical signed message, the JSON body and
 * the offline armor are defined here and nowhere else. Int functions return
 * 0 or -errno; err (may be NULL when errlen is 0) gets one line saying why,
 * without a newline. */
#ifndef LICGATE_TOOLS_ACTIVATION_REQUEST_H
#define LICGATE_TOOLS_ACTIVATION_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "license.h"

#define ACTIVATION_API_VERSION 1
#define ACTIVATION_BODY_MAX    (16 * 1024)
/* Domain separation of the installation's signature. */
#define ACTIVATION_DOMAIN              "licgate-activation-v1"
#define ACTIVATION_INSTALLATION_ID_HEX 32
#define OFFLINE_REQUEST_BEGIN          "-----BEGIN LICGATE ACTIVATION REQUEST-----"
#define OFFLINE_REQUEST_END            "-----END LICGATE ACTIVATION REQUEST-----"
/* The most a request file may hold, text around the armor included. */
#define OFFLINE_REQUEST_MAX (64 * 1024)
#define OFFLINE_LINE_LEN    76
/* The most sessions a usage report may say a pool held at once. */
#define ACTIVATION_USAGE_PEAK_MAX 1000000

/* One activate or refresh request; every field is what the JSON body says. */
struct activation_request {
    char key[LICENSE_KEY_ID_MAX + 1]; /* as sent; the signature covers this spelling */
    char installation_id[ACTIVATION_INSTALLATION_ID_HEX + 1];
    uint8_t installation_public_key[32];
    size_t ncomponents;
    struct binding_component components[LICENSE_MAX_COMPONENTS];
    bool is_virtual;
    char nonce[33];                  /* 32 lowercase hex */
    char time[LICENSE_TIME_BUFSIZE]; /* YYYY-MM-DDTHH:MM:SSZ */
    bool has_usage;                  /* "usage" is optional: a cluster node's report */
    uint32_t usage_peak;             /* usage.peak: the pool's peak, 0..ACTIVATION_USAGE_PEAK_MAX */
    uint8_t signature[64];
};

/* The installation id of a raw public key: the first 16 bytes of its
 * SHA-256 as 32 lowercase hex digits. id is "" on failure. */
int activation_installation_id(const uint8_t pub[32], char id[ACTIVATION_INSTALLATION_ID_HEX + 1]);

/* The canonical message the installation signs: "licgate-activation-v1\0",
 * then api, key, installation_id, installation_public_key (base64), each
 * component as type=digest (64 hex), virtual (true/false), nonce and time,
 * and, only when the request carries usage, usage.peak=N, each followed by
 * "\n", every value exactly as sent (a request without usage signs the
 * same bytes as before the field existed). *msg is malloc'd
 * (caller frees), *len its length; on failure *msg is NULL. -EINVAL when
 * req->ncomponents is above LICENSE_MAX_COMPONENTS. */
int activation_request_message(const struct activation_request *req, char **msg, size_t *len);

/* Signs req with the installation's private key: sets
 * installation_public_key and installation_id from it, then signature over
 * the canonical message. The other fields are the caller's. */
int activation_request_sign(struct activation_request *req, const uint8_t installation_priv[32]);

/* Verifies req's signature with the public key req carries: 0, -EBADMSG for
 * a bad signature, or -errno when the check could not run. */
int activation_request_verify(const struct activation_request *req);

/* The JSON body of req, compact, NUL-terminated; *json is malloc'd (caller
 * frees), *len (may be NULL) excludes the NUL. */
int activation_request_to_json(const struct activation_request *req, char **json, size_t *len);

/* activation_request_sign(), then activation_request_to_json(). */
int activation_request_build(struct activation_request *req, const uint8_t installation_priv[32],
                             char **json);

/* Parses and verifies a request body of len bytes (need not be
 * NUL-terminated): at most ACTIVATION_BODY_MAX bytes (-EMSGSIZE), one JSON
 * object read by activation_json_read() with exactly the documented fields
 * and types (unknown or missing fields refused, hex and base64 of exact
 * lengths, 1..16 components, at most one machine-id and one dmi-uuid, no
 * repeated component; "usage" optional, an object holding exactly "peak",
 * an integer 0..ACTIVATION_USAGE_PEAK_MAX), installation_id equal to the id of
 * installation_public_key, and the Ed25519 signature of the installation
 * over the canonical message. -EBADMSG otherwise, err naming the field, e.g.
 * "request: field 'nonce' is not 32 lowercase hex digits". out is zeroed
 * unless 0 is returned. */
int activation_request_parse(const char *body, size_t len, struct activation_request *out,
                             char *err, size_t errlen);

/* The offline request file: OFFLINE_REQUEST_BEGIN, the base64 of body in
 * lines of OFFLINE_LINE_LEN characters, OFFLINE_REQUEST_END, each line ended
 * by "\n". -EINVAL for an empty body or one above ACTIVATION_BODY_MAX.
 * *text is malloc'd and NUL-terminated, *textlen (may be NULL) excludes the
 * NUL. */
int activation_request_armor(const char *body, size_t len, char **text, size_t *textlen);

/* The inverse: at most OFFLINE_REQUEST_MAX bytes of text; tolerates CRLF
 * line ends and text around the armor (a mail body); inside it nothing but
 * base64 lines of 1..OFFLINE_LINE_LEN characters, canonical base64 of at most
 * ACTIVATION_BODY_MAX bytes. -EBADMSG with a reason starting "request file: ".
 * *body is malloc'd and NUL-terminated, *bodylen its length. */
int activation_request_unarmor(const char *text, size_t len, char **body, size_t *bodylen,
                               char *err, size_t errlen);

/* Reads JSON text of len bytes (need not be NUL-terminated) strictly, as
 * both sides of the API do: no NUL byte, no single-quoted string, valid
 * UTF-8, nested at most 8 deep, nothing but whitespace after the value.
 * 0 with *value (caller puts it), -EBADMSG with the reason ("not JSON
 * (malformed JSON: ...)", ...), or -ENOMEM. Does not cap len: callers do. */
int activation_json_read(const char *text, size_t len, json_object **value, char *err,
                         size_t errlen);

/* The member name of object o if it is of type t; NULL otherwise, err then
 * says "WHERE: missing field 'NAME'" or "WHERE: field 'NAME' is not a ...". */
json_object *activation_json_member(json_object *o, const char *name, json_type t,
                                    const char *where, char *err, size_t errlen);

#endif
