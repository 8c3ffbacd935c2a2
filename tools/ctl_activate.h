/* licgatectl's half of the activation API (docs/activation-api.md): the
 * installation identity, the request made from it (the request model itself
 * is activation_request.h), the authority's answer, and the HTTPS transfer
 * with libcurl. Everything but
 * ctl_installation_load() and ctl_authority_post() is pure, so unit tests
 * call it directly. Int functions return 0 or -errno; on error err (may be
 * NULL when errlen is 0) holds one line saying why, without a newline. */
#ifndef LICGATE_TOOLS_CTL_ACTIVATE_H
#define LICGATE_TOOLS_CTL_ACTIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activation_request.h"
#include "license.h"

/* The installation key pair's file in state-dir. */
#define CTL_INSTALLATION_KEY_FILE "installation.key"
/* The most licgatectl reads of an answer: a license is at most 64 KiB too,
 * but travels JSON-escaped, so a real answer is a few KiB. */
#define CTL_ANSWER_MAX (64 * 1024)

/* The authority this build asks when neither --authority nor the config's
 * "authority" names one: ./configure --with-authority-url=URL, "" for none. */
#ifndef LICGATE_AUTHORITY_URL
#define LICGATE_AUTHORITY_URL ""
#endif
#define CTL_CONNECT_TIMEOUT 10 /* seconds */
#define CTL_TOTAL_TIMEOUT   30 /* seconds */

struct ctl_installation {
    uint8_t priv[32];
    uint8_t pub[32];
    char id[ACTIVATION_INSTALLATION_ID_HEX + 1];
};

/* Loads state_dir/installation.key into inst. When it does not exist and
 * create is set, makes a new key pair first: written to a temporary file
 * (0600), then linked into place, so two concurrent first runs agree on one
 * key and nobody ever sees half a file. Without create a missing key is
 * -ENOENT. inst is zeroed on failure; wipe it with ctl_installation_clear(). */
int ctl_installation_load(const char *state_dir, bool create, struct ctl_installation *inst,
                          char *err, size_t errlen);

void ctl_installation_clear(struct ctl_installation *inst);

/* Fills req (zeroed first) for key (canonical) from inst, the salted digests
 * comps[0..n), the virtual flag, the time now, 16 nonce bytes and, when
 * usage_peak is not NULL, the usage report of a cluster node (its pool's
 * peak), and signs it with inst's private key (activation_request_sign).
 * -EINVAL for an empty or too long key or one with other characters than
 * A-Z, 0-9 and '-', n of 0 or above LICENSE_MAX_COMPONENTS, a peak above
 * ACTIVATION_USAGE_PEAK_MAX, or a time that cannot be formatted; req is
 * zeroed on failure. */
int ctl_request_build(struct activation_request *req, const char *key,
                      const struct ctl_installation *inst, const struct binding_component *comps,
                      size_t n, bool binding_virtual, int64_t now, const uint8_t nonce[16],
                      const uint32_t *usage_peak);

/* Reads the authority's answer (len bytes, need not be NUL-terminated, HTTP
 * status http_status). ok:true with a "license" string: 0, *license the
 * malloc'd license text (caller frees), *license_len its length. Otherwise
 * *license is NULL and: -EMSGSIZE above CTL_ANSWER_MAX; -EBADMSG when the
 * answer is not the API's JSON (err says what, with the HTTP status);
 * -EREMOTEIO for a refusal: err is the message for its code ("license key
 * unknown", "license key refunded", "License error: machine properties
 * validation failed: verify fail: key already activated on another
 * machine", "support term over: ...", ...) or the answer's own "error"
 * text, sanitized, for other codes. code (may be NULL when codelen is 0)
 * gets the refusal's code, "" otherwise. */
int ctl_parse_answer(const char *body, size_t len, long http_status, char **license,
                     size_t *license_len, char *code, size_t codelen, char *err, size_t errlen);

/* The one-line message for a failed transfer: curl_code a CURLcode,
 * os_errno CURLINFO_OS_ERRNO, host and port where it went, detail curl's
 * error buffer (may be "" or NULL). Distinguishes DNS failure, timeout,
 * refused connection, TLS verification, a lost connection, an oversized
 * answer and a bad URL; see docs/activation.md for the wording. */
void ctl_transfer_error_message(int curl_code, long os_errno, const char *host, long port,
                                const char *detail, char *buf, size_t len);

struct ctl_http_options {
    const char *ca_file; /* NULL: the system's trust store */
    long timeout;        /* seconds, 0: CTL_TOTAL_TIMEOUT; also caps the connect timeout */
};

/* POSTs body (JSON) to authority + path ("/v1/activate") over HTTPS only,
 * TLS verified, no proxy, no redirects, within the timeouts, reading at most
 * CTL_ANSWER_MAX bytes. 0 when an HTTP answer arrived, whatever its status:
 * *answer (malloc'd, NUL-terminated, caller frees), *answer_len, *http_status.
 * A transfer failure is -EHOSTUNREACH, -ETIMEDOUT, -ECONNREFUSED,
 * -EPROTO (TLS), -EMSGSIZE or -EIO with ctl_transfer_error_message() in
 * err; a bad authority URL is -EINVAL. Call curl_global_init() first. */
int ctl_authority_post(const char *authority, const char *path, const char *body, size_t body_len,
                       const struct ctl_http_options *opt, char **answer, size_t *answer_len,
                       long *http_status, char *err, size_t errlen);

#endif
