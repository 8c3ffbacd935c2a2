#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ctl_activate.h"
#include "curl_tls.h"
#include "hex.h"

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
#include "text.h"
#include "crypto.h"
#include "fs.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define ERROR_TEXT_MAX 300 /* of a refusal's text we show */

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

/* The first max bytes of s (cut between characters), as clean text
 * (text.h) that fits outlen: a cap on what is read of a peer's text, not
 * only on what is shown of it. */
static void sanitize_copy(const char *s, char *out, size_t outlen, size_t max)
{
    size_t n = strlen(s);

    text_clean(s, text_utf8_prefix(s, n, max), out, outlen, 0);
}

/* ------------------------------------------------------------ installation */

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
        r = activation_installation_id(inst->pub, inst->id);
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

int ctl_request_build(struct activation_request *req, const char *key,
                      const struct ctl_installation *inst, const struct binding_component *comps,
                      size_t n, bool binding_virtual, int64_t now, const uint8_t nonce[16],
                      const uint32_t *usage_peak)
{
    int r = -EINVAL;

    memset(req, 0, sizeof(*req));
    if (!valid_key_id(key) || n == 0 || n > LICENSE_MAX_COMPONENTS ||
        (usage_peak && *usage_peak > ACTIVATION_USAGE_PEAK_MAX))
        return -EINVAL;
    if (usage_peak) {
        req->has_usage = true;
        req->usage_peak = *usage_peak;
    }
    memcpy(req->key, key, strlen(key) + 1);
    memcpy(req->components, comps, n * sizeof(*comps));
    req->ncomponents = n;
    req->is_virtual = binding_virtual;
    hex_encode(nonce, 16, req->nonce);
    if (license_format_time(now, req->time, sizeof(req->time)) < 0 ||
        (r = activation_request_sign(req, inst->priv)) < 0) {
        memset(req, 0, sizeof(*req));
        return r;
    }
    return 0;
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

/* The answer as a JSON object of this API, with its "ok": 0 and *o (the
 * caller puts it), or -errno with the reason in err. */
static int answer_object(const char *body, size_t len, long http_status, json_object **o, bool *ok,
                         char *err, size_t errlen)
{
    json_object *api, *okv;
    char why[256];
    int r;

    *o = NULL;
    if ((r = activation_json_read(body, len, o, why, sizeof(why))) < 0)
        return errbuf_fail(err, errlen, r, "unexpected answer from the authority (HTTP %ld): %s",
                           http_status, r == -ENOMEM ? "out of memory" : why);
    if (!json_object_is_type(*o, json_type_object))
        return errbuf_fail(err, errlen, -EBADMSG,
                           "unexpected answer from the authority (HTTP %ld): not a JSON object",
                           http_status);
    if (!(api = activation_json_member(*o, "api", json_type_int, "answer", why, sizeof(why))) ||
        !(okv = activation_json_member(*o, "ok", json_type_boolean, "answer", why, sizeof(why))))
        return errbuf_fail(err, errlen, -EBADMSG,
                           "unexpected answer from the authority (HTTP %ld): %s", http_status, why);
    if (json_object_get_int64(api) != ACTIVATION_API_VERSION)
        return errbuf_fail(err, errlen, -EPROTONOSUPPORT,
                           "the authority speaks API %lld, licgatectl speaks %d",
                           (long long)json_object_get_int64(api), ACTIVATION_API_VERSION);
    *ok = json_object_get_boolean(okv);
    return 0;
}

/* The license of an answer that says ok: 0 and *license (malloc'd), or -errno. */
static int answer_license(json_object *o, long http_status, char **license, size_t *license_len,
                          char *err, size_t errlen)
{
    json_object *v;
    char why[256];
    size_t n;

    if (http_status != 200)
        return errbuf_fail(err, errlen, -EBADMSG,
                           "unexpected answer from the authority: ok with HTTP %ld", http_status);
    if (!(v = activation_json_member(o, "license", json_type_string, "answer", why, sizeof(why))))
        return errbuf_fail(err, errlen, -EBADMSG, "unexpected answer from the authority: %s", why);
    n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > LICENSE_MAX_TEXT)
        return errbuf_fail(err, errlen, -EBADMSG,
                           "unexpected answer from the authority: empty or oversized license");
    if (!(*license = strdup(json_object_get_string(v))))
        return -ENOMEM;
    *license_len = n;
    return 0;
}

/* A refusal: its code into code and its message into err; -EREMOTEIO, or
 * -EBADMSG when it does not say why. */
static int answer_refusal(json_object *o, long http_status, char *code, size_t codelen, char *err,
                          size_t errlen)
{
    json_object *c, *v;
    const char *fixed;
    char why[256], safe_code[65], safe_error[ERROR_TEXT_MAX + 1];

    if (!(c = activation_json_member(o, "code", json_type_string, "answer", why, sizeof(why))) ||
        !(v = activation_json_member(o, "error", json_type_string, "answer", why, sizeof(why))))
        return errbuf_fail(err, errlen, -EBADMSG,
                           "the authority refused (HTTP %ld) without saying why: %s", http_status,
                           why);
    sanitize_copy(json_object_get_string(c), safe_code, sizeof(safe_code), 64);
    sanitize_copy(json_object_get_string(v), safe_error, sizeof(safe_error), ERROR_TEXT_MAX);
    if (code && codelen)
        snprintf(code, codelen, "%s", safe_code);
    fixed = refusal_message(safe_code, safe_error);
    if (fixed)
        return errbuf_fail(err, errlen, -EREMOTEIO, "%s", fixed);
    if (strcmp(safe_code, "bad-request") == 0)
        return errbuf_fail(err, errlen, -EREMOTEIO, "the authority rejected the request: %s",
                           safe_error[0] ? safe_error : "(no reason given)");
    if (safe_error[0])
        return errbuf_fail(err, errlen, -EREMOTEIO, "%s", safe_error);
    return errbuf_fail(err, errlen, -EREMOTEIO, "the authority refused (HTTP %ld, code '%s')",
                       http_status, safe_code);
}

int ctl_parse_answer(const char *body, size_t len, long http_status, char **license,
                     size_t *license_len, char *code, size_t codelen, char *err, size_t errlen)
{
    json_object *o = NULL;
    bool ok = false;
    int r;

    *license = NULL;
    *license_len = 0;
    if (code && codelen)
        code[0] = '\0';
    errbuf_set(err, errlen, "%s", "");
    if (len > CTL_ANSWER_MAX)
        return errbuf_fail(err, errlen, -EMSGSIZE, "the authority's answer is larger than %d KiB",
                           CTL_ANSWER_MAX / 1024);
    r = answer_object(body, len, http_status, &o, &ok, err, errlen);
    if (r == 0 && ok)
        r = answer_license(o, http_status, license, license_len, err, errlen);
    else if (r == 0)
        r = answer_refusal(o, http_status, code, codelen, err, errlen);
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
    if (curl_tls_failure(curl_code)) {
        errbuf_set(buf, len, "TLS verification failed: %s", safe);
        return;
    }
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        errbuf_set(buf, len,
                   "DNS lookup failed: cannot resolve '%s' (check the resolver, or use offline "
                   "activation)",
                   host);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY: /* no proxy is ever used; kept for completeness */
        errbuf_set(buf, len, "DNS lookup failed: %s", safe);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        errbuf_set(buf, len,
                   "connection to %s:%ld timed out (a firewall? the authority needs outbound TCP "
                   "%ld, no proxy)",
                   host, port, port);
        break;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            errbuf_set(buf, len, "connection refused by %s:%ld", host, port);
        else if (os_errno == ETIMEDOUT)
            errbuf_set(buf, len,
                       "connection to %s:%ld timed out (a firewall? the authority needs outbound "
                       "TCP %ld, no proxy)",
                       host, port, port);
        else if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH)
            errbuf_set(buf, len, "cannot connect to %s:%ld: %s (check the route)", host, port,
                       strerror((int)os_errno));
        else
            errbuf_set(buf, len, "cannot connect to %s:%ld: %s", host, port, safe);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        errbuf_set(buf, len, "connection to %s:%ld lost: %s", host, port, safe);
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        errbuf_set(buf, len, "the answer from %s:%ld is larger than %d KiB", host, port,
                   CTL_ANSWER_MAX / 1024);
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        errbuf_set(buf, len, "bad authority URL: %s (use https://HOST[:PORT])", safe);
        break;
    case CURLE_OUT_OF_MEMORY:
        errbuf_set(buf, len, "out of memory");
        break;
    default:
        errbuf_set(buf, len, "cannot reach the authority at %s:%ld: %s", host, port, safe);
        break;
    }
}

static int transfer_errno(int curl_code, long os_errno)
{
    if (curl_tls_failure(curl_code))
        return -EPROTO;
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return os_errno == ECONNREFUSED ? -ECONNREFUSED
               : os_errno == ETIMEDOUT  ? -ETIMEDOUT
                                        : -EHOSTUNREACH;
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

/* The transfer's options: HTTPS only, TLS verified, no proxy (Q16: the
 * authority is reached directly; proxy variables are ignored), no
 * redirects, the timeouts, the answer into b and capped. */
static void set_transfer_options(CURL *c, const char *url, const char *body, size_t body_len,
                                 const struct ctl_http_options *opt, struct curl_slist *headers,
                                 struct answer_buffer *b, char *detail)
{
    long total = opt && opt->timeout > 0 ? opt->timeout : CTL_TOTAL_TIMEOUT;
    long connect = total < CTL_CONNECT_TIMEOUT ? total : CTL_CONNECT_TIMEOUT;

    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
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
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
}

int ctl_authority_post(const char *authority, const char *path, const char *body, size_t body_len,
                       const struct ctl_http_options *opt, char **answer, size_t *answer_len,
                       long *http_status, char *err, size_t errlen)
{
    struct answer_buffer b = {NULL, 0};
    struct curl_slist *headers = NULL;
    char url[2048], host[256], detail[CURL_ERROR_SIZE] = "";
    long port = 443, os_errno = 0;
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
        authority_endpoint(url, host, sizeof(host), &port) < 0)
        return errbuf_fail(err, errlen, -EINVAL, "bad authority URL '%s' (use https://HOST[:PORT])",
                           authority);
    if (!(c = curl_easy_init()))
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    set_transfer_options(c, url, body, body_len, opt, headers, &b, detail);
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
