/* The HTTPS activation server; see authority_http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "authority_clock.h"
#include "authority_http.h"
#include "authority_activation.h"
#include "crypto.h"
#include "errbuf.h"
#include "fs.h"

#define PEM_MAX (256 * 1024)
/* A client has this long for its TLS handshake and its request, and between two reads of the
 * answer: an idle connection is dropped then. */
#define CONNECTION_TIMEOUT_SECS 5
/* Connections open at once, and from one address: one address cannot take them all. */
#define CONNECTION_LIMIT        512
#define CONNECTIONS_PER_ADDRESS 8
/* Threads that serve every connection between them (an idle one costs a descriptor, not a
 * thread). */
#define THREAD_POOL_SIZE 4
#define TLS_PRIORITIES   "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct server {
    const struct serve_config *cfg;
    pthread_mutex_t lock; /* one ledger transaction at a time */
};

/* Per-request state: the body received so far. */
struct upload {
    char body[ACTIVATION_BODY_MAX];
    size_t len;
    bool too_large;
};

static void client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;

    snprintf(out, outlen, "?");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_object *obj)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
                                           MHD_RESPMEM_MUST_COPY);
    json_object_put(obj);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_refusal(struct MHD_Connection *conn, unsigned status, const char *code,
                                    const char *error)
{
    json_object *obj = json_object_new_object();

    if (obj == NULL)
        return MHD_NO;
    json_object_object_add(obj, "api", json_object_new_int(ACTIVATION_API_VERSION));
    json_object_object_add(obj, "ok", json_object_new_boolean(false));
    json_object_object_add(obj, "code", json_object_new_string(code));
    json_object_object_add(obj, "error", json_object_new_string(error));
    return send_json(conn, status, obj);
}

static enum MHD_Result handle_activation(struct server *srv, struct MHD_Connection *conn,
                                         const char *endpoint, const struct upload *up,
                                         const char *peer)
{
    static const struct activation_terms online = {.channel = ACTIVATION_ONLINE};
    struct activation_request req;
    struct activation_result res;
    char err[256], who[96];
    enum MHD_Result ret;
    json_object *obj;
    int64_t now;

    if (up->too_large) {
        fprintf(stderr, "%s %s: refused: body larger than %d bytes\n", peer, endpoint,
                ACTIVATION_BODY_MAX);
        return send_refusal(conn, MHD_HTTP_CONTENT_TOO_LARGE, "bad-request",
                            "request body larger than 16384 bytes");
    }
    if (activation_request_parse(up->body, up->len, &req, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s %s: refused: bad-request: %s\n", peer, endpoint, err);
        return send_refusal(conn, MHD_HTTP_BAD_REQUEST, "bad-request", err);
    }
    snprintf(who, sizeof(who), "api %s", peer);
    pthread_mutex_lock(&srv->lock);
    now = authority_now();
    authority_accept_request(srv->cfg->ledger, &req, ACTIVATION_ONLINE, now, &res);
    if (res.outcome == ACTIVATION_OK)
        authority_activate(srv->cfg->ledger, srv->cfg->issuer_priv, &req, &online, now, who, &res);
    pthread_mutex_unlock(&srv->lock);
    if (res.outcome != ACTIVATION_OK) {
        fprintf(stderr, "%s %s %s installation %s: refused: %s: %s\n", peer, endpoint, req.key,
                req.installation_id, activation_code(res.outcome), res.error);
        return send_refusal(conn, activation_http_status(res.outcome), activation_code(res.outcome),
                            res.error);
    }
    fprintf(stderr, "%s %s %s installation %s: %s\n", peer, endpoint, req.key, req.installation_id,
            res.what);
    obj = json_object_new_object();
    if (obj == NULL) {
        free(res.license);
        return MHD_NO;
    }
    json_object_object_add(obj, "api", json_object_new_int(ACTIVATION_API_VERSION));
    json_object_object_add(obj, "ok", json_object_new_boolean(true));
    json_object_object_add(obj, "license", json_object_new_string_len(res.license, (int)res.len));
    free(res.license);
    ret = send_json(conn, MHD_HTTP_OK, obj);
    return ret;
}

static json_object *time_or_null(int64_t t)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (t == 0 || license_format_time(t, when, sizeof(when)) != 0)
        return NULL;
    return json_object_new_string(when);
}

static enum MHD_Result handle_key_status(struct server *srv, struct MHD_Connection *conn,
                                         const char *text, const char *peer)
{
    char key[KEYSTRING_BUFSIZE], why[128];
    struct key_record rec;
    json_object *obj;
    int ret;

    if (keystring_canonicalize(text, key, why, sizeof(why)) != 0)
        return send_refusal(conn, MHD_HTTP_BAD_REQUEST, "bad-request", why);
    pthread_mutex_lock(&srv->lock);
    ret = ledger_key_get(srv->cfg->ledger, key, &rec);
    pthread_mutex_unlock(&srv->lock);
    if (ret == -ENOENT)
        return send_refusal(conn, MHD_HTTP_NOT_FOUND, "unknown-key", "license key unknown");
    if (ret != 0) {
        fprintf(stderr, "%s status %s: ledger: %s\n", peer, key, ledger_error(srv->cfg->ledger));
        return send_refusal(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "ledger failure");
    }
    obj = json_object_new_object();
    if (obj == NULL)
        return MHD_NO;
    json_object_object_add(obj, "api", json_object_new_int(ACTIVATION_API_VERSION));
    json_object_object_add(obj, "ok", json_object_new_boolean(true));
    json_object_object_add(obj, "key", json_object_new_string(rec.key));
    json_object_object_add(obj, "state", json_object_new_string(key_state_name(rec.state)));
    json_object_object_add(obj, "support_until", time_or_null(rec.support_until));
    json_object_object_add(obj, "sunset", time_or_null(rec.sunset));
    return send_json(conn, MHD_HTTP_OK, obj);
}

/* Content-Length as a number, or -1 when absent or unparsable. */
static long long content_length(struct MHD_Connection *conn)
{
    const char *text =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    long long n;

    if (text == NULL)
        return -1;
    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 0)
        return -1;
    return n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static const char keys_prefix[] = "/v1/keys/";
    struct server *srv = cls;
    struct upload *up = *con_cls;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    char peer[INET6_ADDRSTRLEN];

    if (up == NULL) {
        up = calloc(1, sizeof(*up));
        if (up == NULL)
            return MHD_NO;
        *con_cls = up;
        /* Refuse an announced oversized body before reading any of it. */
        if (post && content_length(conn) > ACTIVATION_BODY_MAX) {
            client_address(conn, peer, sizeof(peer));
            fprintf(stderr, "%s %s: refused: Content-Length %lld larger than %d bytes\n", peer, url,
                    content_length(conn), ACTIVATION_BODY_MAX);
            return send_refusal(conn, MHD_HTTP_CONTENT_TOO_LARGE, "bad-request",
                                "request body larger than 16384 bytes");
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!up->too_large && *upload_data_size <= sizeof(up->body) - up->len) {
            memcpy(up->body + up->len, upload_data, *upload_data_size);
            up->len += *upload_data_size;
        } else {
            up->too_large = true; /* the rest is read and dropped, never kept */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    client_address(conn, peer, sizeof(peer));
    if (strcmp(url, "/v1/activate") == 0 || strcmp(url, "/v1/refresh") == 0) {
        if (!post)
            return send_refusal(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "bad-request",
                                "method not allowed: use POST");
        return handle_activation(srv, conn, url + 4, up, peer);
    }
    if (strncmp(url, keys_prefix, sizeof(keys_prefix) - 1) == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
            return send_refusal(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "bad-request",
                                "method not allowed: use GET");
        return handle_key_status(srv, conn, url + sizeof(keys_prefix) - 1, peer);
    }
    return send_refusal(conn, MHD_HTTP_NOT_FOUND, "not-found", "no such endpoint");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    fputs("licgate-authority: microhttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* Parses "ADDR:PORT" or "[V6ADDR]:PORT" (numeric only). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *text = spec;
    const char *colon = strrchr(text, ':'), *port;
    struct addrinfo hints, *ai = NULL;
    size_t hostlen;

    if (colon == NULL || colon == text || colon[1] == '\0')
        goto bad;
    port = colon + 1;
    hostlen = (size_t)(colon - text);
    if (text[0] == '[') {
        if (hostlen < 3 || text[hostlen - 1] != ']')
            goto bad;
        text++;
        hostlen -= 2;
    }
    if (hostlen >= sizeof(host))
        goto bad;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        goto bad;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
bad:
    errbuf_set(err, errlen, "--listen: '%s' is not ADDR:PORT or [ADDR]:PORT (numeric)", spec);
    return -EINVAL;
}

/* The listening socket, bound here so that a refusal names its real cause. */
static int listen_on(const struct sockaddr_storage *ss, const char *spec, char *err, size_t errlen)
{
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd, one = 1, e;

    fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        e = errno;
        return errbuf_fail(err, errlen, -e, "cannot listen on %s: %s", spec, strerror(e));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) == 0 && listen(fd, SOMAXCONN) == 0)
        return fd;
    e = errno;
    close(fd);
    errbuf_set(err, errlen, "cannot listen on %s: %s%s", spec, strerror(e),
               e == EADDRINUSE      ? " (another process listens on that port)"
               : e == EACCES        ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
               : e == EADDRNOTAVAIL ? " (no interface of this machine has that address)"
                                    : "");
    return -e;
}

int authority_serve(const struct serve_config *cfg, char *err, size_t errlen)
{
    struct server srv = {.cfg = cfg};
    struct sockaddr_storage ss;
    struct MHD_Daemon *daemon = NULL;
    char *cert = NULL, *key = NULL;
    size_t certlen = 0, keylen = 0;
    sigset_t stop, old;
    unsigned flags;
    int ret, sig, fd;

    ret = parse_listen(cfg->listen, &ss, err, errlen);
    if (ret != 0)
        return ret;
    ret = fs_read_bounded(cfg->cert_path, PEM_MAX, &cert, &certlen);
    if (ret != 0) {
        errbuf_set(err, errlen, "%s: %s", cfg->cert_path, strerror(-ret));
        goto out;
    }
    ret = fs_read_bounded(cfg->key_path, PEM_MAX, &key, &keylen);
    if (ret != 0) {
        errbuf_set(err, errlen, "%s: %s", cfg->key_path, strerror(-ret));
        goto out;
    }
    fd = listen_on(&ss, cfg->listen, err, errlen);
    if (fd < 0) {
        ret = fd;
        goto out;
    }
    pthread_mutex_init(&srv.lock, NULL);
    /* The server threads inherit this mask: only the main thread takes the
     * stop signals, through sigwait(). */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    signal(SIGPIPE, SIG_IGN);
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY,
        key, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONNECTION_TIMEOUT_SECS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CONNECTIONS_PER_ADDRESS,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREAD_POOL_SIZE, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_END);
    if (daemon == NULL) {
        errbuf_set(err, errlen,
                   "cannot serve on %s: the certificate %s and key %s do not load (PEM, and a "
                   "matching pair?)",
                   cfg->listen, cfg->cert_path, cfg->key_path);
        close(fd);
        ret = -EINVAL;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto out_lock;
    }
    fprintf(stderr, "licgate-authority: serving activation API v%d on https://%s\n",
            ACTIVATION_API_VERSION, cfg->listen);
    while (sigwait(&stop, &sig) != 0) {
    }
    fprintf(stderr, "licgate-authority: signal %d: stopping\n", sig);
    MHD_stop_daemon(daemon);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ret = 0;
out_lock:
    pthread_mutex_destroy(&srv.lock);
out:
    if (key != NULL)
        crypto_wipe(key, keylen);
    free(key);
    free(cert);
    return ret;
}
