/* tools/etcd.c against real etcd members started here (one plain, three as a cluster, one with
 * client-certificate TLS) and against a fake HTTP server that answers what etcd never would.
 * Without an etcd binary (PATH, or LICGATE_ETCD) only the fake-server tests run and the program
 * exits 77 when they pass. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "etcd.h"
#include "unit_fixture.h"

#define START_DEADLINE_MS 20000
#define FAKE_HANG_MS      30000
#define PORTS             10 /* one member, a cluster of three, one TLS member: 2 each */

static char dir[256];
static const char *etcd_bin;

/* ------------------------------------------------------------ helpers */

/* Asserts err is one non-empty line holding want. */
static void assert_one_line(const char *err, const char *want)
{
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\r'));
    assert_null(strchr(err, '\x1b'));
    if (want && !strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
}

static struct etcd *client(const char *const *urls, size_t n, unsigned timeout_ms, const char *ca,
                           const char *cert, const char *key)
{
    struct etcd_config cfg = {.nendpoints = n,
                              .ca_file = ca,
                              .cert_file = cert,
                              .key_file = key,
                              .timeout_ms = timeout_ms};
    struct etcd *e = NULL;
    char err[256];

    for (size_t i = 0; i < n; i++)
        cfg.endpoints[i] = urls[i];
    if (etcd_open(&cfg, &e, err, sizeof(err)) != 0)
        fail_msg("etcd_open: %s", err);
    return e;
}

static struct etcd *client1(const char *url, unsigned timeout_ms)
{
    return client(&url, 1, timeout_ms, NULL, NULL, NULL);
}

/* A loopback port nobody listens on, held bound so nobody can: connecting is refused. */
static int refused_port(char *url, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, len, "http://127.0.0.1:%u", ntohs(a.sin_port));
    return fd;
}

/* ------------------------------------------------------------ the fake server */

struct fake {
    int fd;
    int stop[2]; /* a byte in stop[1] ends every wait */
    pthread_t thread;
    char url[64];
    char *reply; /* raw HTTP: status line, headers and all or part of a body */
    size_t reply_len;
    size_t flood; /* then this many more bytes of spaces */
    bool hang;    /* then hold the connection open until stopped */
    int accepted;
};

static bool fake_stopped(struct fake *f, int timeout_ms)
{
    struct pollfd p = {f->stop[0], POLLIN, 0};

    return poll(&p, 1, timeout_ms) != 0;
}

/* Reads one request (headers and Content-Length bytes), at most 2 s of silence. */
static void fake_read_request(int c)
{
    char buf[16384];
    size_t used = 0, need = SIZE_MAX;
    struct pollfd p = {c, POLLIN, 0};

    while (used < need && used < sizeof(buf) && poll(&p, 1, 2000) == 1) {
        ssize_t n = recv(c, buf + used, sizeof(buf) - used, 0);
        char *end, *cl;

        if (n <= 0)
            return;
        used += (size_t)n;
        if (need == SIZE_MAX && (end = memmem(buf, used, "\r\n\r\n", 4))) {
            size_t body = 0;

            if ((cl = strcasestr(buf, "\r\nContent-Length:")) && cl < end)
                body = strtoul(cl + 17, NULL, 10);
            need = (size_t)(end + 4 - buf) + body;
        }
    }
}

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    static const char spaces[65536] = {[0 ... 65535] = ' '};

    for (;;) {
        struct pollfd p[2] = {{f->fd, POLLIN, 0}, {f->stop[0], POLLIN, 0}};
        size_t sent = 0;
        int c;

        if (poll(p, 2, FAKE_HANG_MS) <= 0 || p[1].revents)
            break;
        if ((c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            continue;
        __atomic_add_fetch(&f->accepted, 1, __ATOMIC_SEQ_CST);
        fake_read_request(c);
        if (f->reply_len > 0 && send(c, f->reply, f->reply_len, MSG_NOSIGNAL) < 0)
            goto next;
        while (sent < f->flood) {
            size_t n = f->flood - sent < sizeof(spaces) ? f->flood - sent : sizeof(spaces);
            ssize_t w = send(c, spaces, n, MSG_NOSIGNAL);

            if (w <= 0)
                break;
            sent += (size_t)w;
        }
        if (f->hang)
            fake_stopped(f, FAKE_HANG_MS);
    next:
        close(c);
    }
    return NULL;
}

static void fake_start_raw(struct fake *f, const char *reply, size_t len, size_t flood, bool hang)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    memset(f, 0, sizeof(*f));
    assert_non_null(f->reply = malloc(len + 1));
    memcpy(f->reply, reply, len);
    f->reply_len = len;
    f->flood = flood;
    f->hang = hang;
    assert_int_equal(pipe2(f->stop, O_CLOEXEC), 0);
    assert_true((f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(listen(f->fd, 16), 0);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", ntohs(a.sin_port));
    assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

/* A whole answer with Content-Length; body_len 0 means strlen(body). */
static void fake_start(struct fake *f, const char *status, const char *body, size_t body_len)
{
    char *reply;
    int n;

    if (body_len == 0)
        body_len = strlen(body);
    n = asprintf(&reply,
                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 status, body_len);
    assert_true(n > 0);
    assert_non_null(reply = realloc(reply, (size_t)n + body_len));
    memcpy(reply + n, body, body_len);
    fake_start_raw(f, reply, (size_t)n + body_len, 0, false);
    free(reply);
}

static void fake_stop(struct fake *f)
{
    assert_int_equal(write(f->stop[1], "x", 1), 1);
    pthread_join(f->thread, NULL);
    close(f->fd);
    close(f->stop[0]);
    close(f->stop[1]);
    free(f->reply);
}

static const char grant_ok[] = "{\"header\":{\"revision\":\"1\"},\"ID\":\"7\",\"TTL\":\"30\"}";

/* ------------------------------------------------------------ fake: arguments, transport */

static void etcd_open__bad_config__einval_and_no_handle(void **state)
{
    static const struct {
        const char *a, *b, *ca, *cert, *key;
        unsigned timeout;
        const char *says;
    } cases[] = {
        {"ftp://127.0.0.1:1", NULL, NULL, NULL, NULL, 0, "http or https"},
        {"http://127.0.0.1:1/v3", NULL, NULL, NULL, NULL, 0, "only scheme, host and port"},
        {"http://u:p@127.0.0.1:1", NULL, NULL, NULL, NULL, 0, "only scheme"},
        {"http://127.0.0.1:1?x=1", NULL, NULL, NULL, NULL, 0, "only scheme"},
        {"not a url", NULL, NULL, NULL, NULL, 0, "not a URL"},
        {"http://127.0.0.1:1", "https://127.0.0.1:2", NULL, NULL, NULL, 0, "mix"},
        {"https://127.0.0.1:1", NULL, NULL, "/c.pem", NULL, 0, "both cert_file and key_file"},
        {"http://127.0.0.1:1", NULL, "/ca.pem", NULL, NULL, 0, "endpoints are http"},
        {"http://127.0.0.1:1", NULL, NULL, NULL, NULL, ETCD_TIMEOUT_MAX_MS + 1, "timeout"},
    };
    struct etcd_config none = {0};
    struct etcd *e = (struct etcd *)&none;
    char err[256];

    (void)state;
    assert_int_equal(etcd_open(&none, &e, err, sizeof(err)), -EINVAL);
    assert_null(e);
    assert_one_line(err, "0 endpoints");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct etcd_config cfg = {.endpoints = {cases[i].a, cases[i].b},
                                  .nendpoints = cases[i].b ? 2 : 1,
                                  .ca_file = cases[i].ca,
                                  .cert_file = cases[i].cert,
                                  .key_file = cases[i].key,
                                  .timeout_ms = cases[i].timeout};

        e = (struct etcd *)&none;
        assert_int_equal(etcd_open(&cfg, &e, err, sizeof(err)), -EINVAL);
        assert_null(e);
        assert_one_line(err, cases[i].says);
    }
}

static void call__every_endpoint_refuses__econnrefused_one_line_at_once(void **state)
{
    char urls[3][64], err[512];
    const char *u[3] = {urls[0], urls[1], urls[2]};
    int fds[3];
    struct etcd *e;
    int64_t id = 5, ttl = 5, t0;

    (void)state;
    for (int i = 0; i < 3; i++)
        fds[i] = refused_port(urls[i], sizeof(urls[i]));
    e = client(u, 3, 1000, NULL, NULL, NULL);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -ECONNREFUSED);
    assert_true(clock_monotonic_ms() - t0 < 1000);
    assert_int_equal(id, 0);
    assert_int_equal(ttl, 0);
    assert_one_line(err, "no endpoint answered");
    for (int i = 0; i < 3; i++) {
        assert_non_null(strstr(err, urls[i]));
        close(fds[i]);
    }
    assert_non_null(strstr(err, "connection refused"));
    assert_string_equal(etcd_endpoint(e), urls[0]); /* nobody answered: nothing remembered */
    etcd_close(e);
}

static void call__every_endpoint_silent__etimedout_within_n_timeouts(void **state)
{
    struct fake a, b;
    const char *u[2];
    struct etcd *e;
    char err[512];
    int64_t id, ttl, t0, took;

    (void)state;
    fake_start_raw(&a, "", 0, 0, true);
    fake_start_raw(&b, "", 0, 0, true);
    u[0] = a.url;
    u[1] = b.url;
    e = client(u, 2, 300, NULL, NULL, NULL);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -ETIMEDOUT);
    took = clock_monotonic_ms() - t0;
    assert_true(took >= 2 * 300 - 20 && took < 2 * 300 + 700);
    assert_one_line(err, "no answer within 300 ms");
    etcd_close(e);
    fake_stop(&a);
    fake_stop(&b);
}

static void call__first_endpoint_silent__second_answers_and_is_remembered(void **state)
{
    struct fake silent, good;
    const char *u[2];
    struct etcd *e;
    char err[256];
    int64_t id, ttl, t0;

    (void)state;
    fake_start_raw(&silent, "", 0, 0, true);
    fake_start(&good, "200 OK", grant_ok, 0);
    u[0] = silent.url;
    u[1] = good.url;
    e = client(u, 2, 400, NULL, NULL, NULL);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), 0);
    assert_true(clock_monotonic_ms() - t0 >= 380);
    assert_int_equal(id, 7);
    assert_int_equal(ttl, 30);
    assert_string_equal(etcd_endpoint(e), good.url);
    /* The next call goes straight to the one that answered. */
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), 0);
    assert_true(clock_monotonic_ms() - t0 < 300);
    assert_int_equal(__atomic_load_n(&silent.accepted, __ATOMIC_SEQ_CST), 1);
    etcd_close(e);
    fake_stop(&silent);
    fake_stop(&good);
}

static void call__first_endpoint_unavailable__second_answers(void **state)
{
    struct fake sick, good;
    const char *u[2];
    struct etcd *e;
    char err[256];
    int64_t id, ttl;

    (void)state;
    fake_start(&sick, "503 Service Unavailable",
               "{\"error\":\"etcdserver: no leader\",\"message\":\"etcdserver: no leader\","
               "\"code\":14}",
               0);
    fake_start(&good, "200 OK", grant_ok, 0);
    u[0] = sick.url;
    u[1] = good.url;
    e = client(u, 2, 1000, NULL, NULL, NULL);
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), 0);
    assert_int_equal(id, 7);
    assert_string_equal(etcd_endpoint(e), good.url);
    etcd_close(e);
    /* Unavailable everywhere: an etcd error, with its message. */
    e = client1(sick.url, 1000);
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -EIO);
    assert_one_line(err, "etcdserver: no leader (code 14)");
    etcd_close(e);
    fake_stop(&sick);
    fake_stop(&good);
}

/* ------------------------------------------------------------ fake: hostile answers */

enum op { GRANT, KEEPALIVE, REVOKE, RANGE, TXN, DELETE, STATUS };

struct hostile {
    enum op op;
    const char *status;
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    int want;
    const char *says;
};

static int run_op(struct etcd *e, enum op op, char *err, size_t errlen)
{
    struct etcd_kv *kvs = NULL;
    struct etcd_status st;
    int64_t a = 0, b = 0;
    size_t n = 0;
    bool ok = false;
    int r = -1;

    switch (op) {
    case GRANT:
        r = etcd_lease_grant(e, 10, &a, &b, err, errlen);
        break;
    case KEEPALIVE:
        r = etcd_lease_keepalive(e, 7, &a, err, errlen);
        break;
    case REVOKE:
        r = etcd_lease_revoke(e, 7, err, errlen);
        break;
    case RANGE:
        r = etcd_range_prefix(e, "/t/", &kvs, &n, &a, err, errlen);
        if (r < 0) {
            assert_null(kvs);
            assert_int_equal(n, 0);
        }
        free(kvs);
        break;
    case TXN:
        r = etcd_txn_put_if_unchanged(e, "/t/", 4, "/t/a", "1", 1, 0, &ok, &a, err, errlen);
        if (r < 0)
            assert_false(ok);
        break;
    case DELETE:
        r = etcd_delete(e, "/t/a", &a, &b, err, errlen);
        break;
    case STATUS:
        r = etcd_status(e, &st, err, errlen);
        if (r < 0)
            assert_true(unit_all_zero(&st, sizeof(st)));
        break;
    }
    if (r < 0)
        assert_true(a == 0 && b == 0);
    return r;
}

#define H "\"header\":{\"revision\":\"9\"}"
#define KV(k)                                                                                      \
    "{\"key\":\"" k "\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\""
#define T_A     "L3QvYQ==" /* "/t/a" */
#define T_B     "L3QvYg==" /* "/t/b" */
#define ERR5    "{\"error\":\"etcdserver: requested lease not found\",\"code\":5}"
#define NESTED8 "[[[[[[[["
#define CLOSE8  "]]]]]]]]"

static const struct hostile hostile_answers[] = {
    /* not JSON, or more than one value */
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":", 0, -EPROTO, "truncated JSON"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"5\"} {}", 0, -EPROTO, "malformed answer"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"5\"\0}", 21, -EPROTO, "malformed answer"},
    {GRANT, "200 OK", "[\"ID\",\"7\"]", 0, -EPROTO, "not a JSON object"},
    {GRANT, "200 OK", "{'ID':'7','TTL':'5'}", 0, -EPROTO, "malformed answer"},
    {GRANT, "200 OK", "{\"x\":\"\xff\xfe\",\"ID\":\"7\",\"TTL\":\"5\"}", 0, -EPROTO, "malformed"},
    {GRANT, "200 OK", "{\"x\":" NESTED8 NESTED8 NESTED8 CLOSE8 CLOSE8 CLOSE8 "}", 0, -EPROTO,
     "malformed answer"},
    {GRANT, "200 OK", "\n", 0, -EPROTO, "malformed answer"},
    {GRANT, "200 OK", "", 0, -EPROTO, "empty answer"},
    /* wrong types and numbers */
    {GRANT, "200 OK", "{\"ID\":7,\"TTL\":\"5\"}", 0, -EPROTO, "ID is a number, not a string: 7"},
    {GRANT, "200 OK", "{\"ID\":null,\"TTL\":\"5\"}", 0, -EPROTO, "ID is null"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"abc\"}", 0, -EPROTO,
     "not a 64-bit decimal: \"abc\""},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"-5\"}", 0, -EPROTO, "TTL is not a 64-bit decimal"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"05\"}", 0, -EPROTO, "TTL is not a 64-bit decimal"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\" 5\"}", 0, -EPROTO, "TTL is not a 64-bit decimal"},
    {GRANT, "200 OK", "{\"ID\":\"18446744073709551616\",\"TTL\":\"5\"}", 0, -EPROTO,
     "ID is not a 64-bit decimal"},
    {GRANT, "200 OK", "{\"ID\":\"9223372036854775808\",\"TTL\":\"5\"}", 0, -EPROTO,
     "ID is 9223372036854775808, outside 1..9223372036854775807"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"0\"}", 0, -EPROTO, "TTL is 0, outside 1.."},
    {GRANT, "200 OK", "{\"TTL\":\"5\"}", 0, -EPROTO, "no ID in the answer"},
    {GRANT, "200 OK", "{\"ID\":\"7\",\"TTL\":\"5\",\"error\":\"lessor: no space\"}", 0, -EIO,
     "lessor: no space"},
    /* HTTP errors: etcd's, and not etcd's */
    {GRANT, "404 Not Found", "Not Found\n", 0, -EPROTO, "HTTP 404 and not an etcd error"},
    {GRANT, "502 Bad Gateway", "<html>bad gateway</html>", 0, -EPROTO, "HTTP 502"},
    {REVOKE, "404 Not Found", ERR5, 0, -ENOENT, "requested lease not found (code 5)"},
    {RANGE, "400 Bad Request",
     "{\"error\":\"x\",\"message\":\"etcdserver: key is not provided\\n\\u001b[31mred\","
     "\"code\":3}",
     0, -EIO, "etcdserver: key is not provided?"},
    {RANGE, "400 Bad Request", "{\"error\":\"x\",\"code\":\"3\"}", 0, -EPROTO, "HTTP 400"},
    /* range answers */
    {RANGE, "200 OK", "{\"kvs\":[]}", 0, -EPROTO, "no header in the answer"},
    {RANGE, "200 OK", "{\"header\":{\"revision\":9}}", 0, -EPROTO, "header.revision is a number"},
    {RANGE, "200 OK", "{" H ",\"kvs\":{}}", 0, -EPROTO, "kvs is an object, not an array"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[7],\"count\":\"1\"}", 0, -EPROTO, "kvs[0] is a number"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV("L3Qv!!==") "}],\"count\":\"1\"}", 0, -EPROTO,
     "kvs[0].key is not canonical base64"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) ",\"value\":\"AAF=\"}],\"count\":\"1\"}", 0,
     -EPROTO, "kvs[0].value is not canonical base64: \"AAF=\""},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) ",\"value\":\"AA E\"}],\"count\":\"1\"}", 0,
     -EPROTO, "not canonical base64"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV("L3UvYQ==") "}],\"count\":\"1\"}", 0, -EPROTO,
     "key '/u/a' is outside the prefix"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV("L3QvAGI=") "}],\"count\":\"1\"}", 0, -EPROTO,
     "holds a NUL byte"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_B) "}," KV(T_A) "}],\"count\":\"2\"}", 0, -EPROTO,
     "kvs[1] is out of key order"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) "}," KV(T_A) "}],\"count\":\"2\"}", 0, -EPROTO,
     "kvs[1] is out of key order"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) "}],\"count\":\"3\"}", 0, -EPROTO,
     "count 3 but 1 keys"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) "}],\"more\":true,\"count\":\"5000\"}", 0, -E2BIG,
     "more than 1024 keys"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) ",\"lease\":\"-1\"}],\"count\":\"1\"}", 0, -EPROTO,
     "kvs[0].lease is not a 64-bit decimal"},
    {RANGE, "200 OK", "{" H ",\"kvs\":[" KV(T_A) "}],\"count\":\"1\",\"more\":\"no\"}", 0, -EPROTO,
     "more is a string, not a boolean"},
    /* txn answers */
    {TXN, "200 OK", "{" H ",\"succeeded\":\"true\"}", 0, -EPROTO, "succeeded is a string"},
    {TXN, "200 OK", "{" H ",\"succeeded\":true}", 0, -EPROTO,
     "0 responses to a txn that succeeded"},
    {TXN, "200 OK", "{" H ",\"succeeded\":true,\"responses\":[{\"response_range\":{}}]}", 0,
     -EPROTO, "no responses[0].response_put"},
    {TXN, "200 OK", "{" H ",\"responses\":[{\"response_put\":{}}]}", 0, -EPROTO,
     "1 responses to a txn that failed"},
    {TXN, "404 Not Found", ERR5, 0, -ENOENT, "requested lease not found"},
    /* keepalive answers */
    {KEEPALIVE, "200 OK", "{\"result\":{\"ID\":\"8\",\"TTL\":\"30\"}}\n", 0, -EPROTO,
     "result for lease 8, asked for 7"},
    {KEEPALIVE, "200 OK", "{\"result\":{\"ID\":\"7\"}}\n", 0, -ENOENT, "lease 7 not found (TTL 0)"},
    {KEEPALIVE, "200 OK", "{\"result\":{\"ID\":\"7\",\"TTL\":\"0\"}}", 0, -ENOENT, "not found"},
    {KEEPALIVE, "200 OK", "{\"result\":\"7\"}\n", 0, -EPROTO, "result is a string"},
    {KEEPALIVE, "200 OK",
     "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
     "\"http_status\":\"Service Unavailable\"}}\n",
     0, -EIO, "etcdserver: no leader (code 14)"},
    {KEEPALIVE, "200 OK", "{\"error\":{\"what\":1}}\n", 0, -EPROTO, "malformed stream error"},
    {KEEPALIVE, "200 OK", "{\"result\":{\"ID\":\"7\",\"TTL\":\"30\"}} x\n", 0, -EPROTO,
     "malformed answer"},
    /* delete and status answers */
    {DELETE, "200 OK", "{" H ",\"deleted\":\"2\"}", 0, -EPROTO, "deleted 2 keys of one"},
    {STATUS, "200 OK",
     "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"3\"},\"version\":3.4}",
     0, -EPROTO, "version is a number"},
    {STATUS, "200 OK",
     "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"3\"},\"version\":"
     "\"3.4.23\",\"leader\":\"-2\"}",
     0, -EPROTO, "leader is not a 64-bit decimal"},
    {STATUS, "200 OK",
     "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"3\"},\"version\":"
     "\"3.4.23\",\"errors\":[1]}",
     0, -EPROTO, "errors[0] is not a string"},
};

static void answer__hostile__documented_error_and_nothing_returned(void **state)
{
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(hostile_answers) / sizeof(hostile_answers[0]); i++) {
        const struct hostile *h = &hostile_answers[i];
        struct fake f;
        struct etcd *e;
        int r;

        fake_start(&f, h->status, h->body, h->body_len);
        e = client1(f.url, 2000);
        r = run_op(e, h->op, err, sizeof(err));
        if (r != h->want || !strstr(err, h->says))
            fail_msg("case %zu: %d '%s', want %d '%s'", i, r, err, h->want, h->says);
        assert_one_line(err, h->says);
        assert_non_null(strstr(err, f.url));
        etcd_close(e);
        fake_stop(&f);
    }
}

static void answer__value_or_key_over_cap__emsgsize(void **state)
{
    char *body, *big = malloc(2000), err[256];
    struct etcd_kv *kvs;
    struct etcd *e;
    struct fake f;
    int64_t rev;
    size_t n;

    (void)state;
    assert_non_null(big);
    /* 1025 bytes of value: 1368 base64 characters ("AAAA" is 3 zero bytes). */
    memset(big, 0, 2000);
    for (int i = 0; i < 341; i++)
        memcpy(big + 4 * i, "AAAA", 4);
    memcpy(big + 4 * 341, "AAA=", 4);
    assert_true(asprintf(&body, "{" H ",\"kvs\":[" KV(T_A) ",\"value\":\"%s\"}],\"count\":\"1\"}",
                         big) > 0);
    fake_start(&f, "200 OK", body, 0);
    e = client1(f.url, 2000);
    assert_int_equal(etcd_range_prefix(e, "/t/", &kvs, &n, &rev, err, sizeof(err)), -EMSGSIZE);
    assert_one_line(err, "kvs[0].value is 1025 bytes, more than 1024");
    assert_null(kvs);
    etcd_close(e);
    fake_stop(&f);
    free(body);
    /* A 258-byte key "/t/" + 255 bytes: 344 characters. */
    memset(big, 0, 2000);
    memcpy(big, "L3Qv", 4);
    for (int i = 1; i < 86; i++)
        memcpy(big + 4 * i, "YWFh", 4);
    assert_true(asprintf(&body, "{" H ",\"kvs\":[" KV("%s") "}],\"count\":\"1\"}", big) > 0);
    fake_start(&f, "200 OK", body, 0);
    e = client1(f.url, 2000);
    assert_int_equal(etcd_range_prefix(e, "/t/", &kvs, &n, &rev, err, sizeof(err)), -EMSGSIZE);
    assert_one_line(err, "kvs[0].key is 258 bytes, more than 256");
    etcd_close(e);
    fake_stop(&f);
    free(body);
    free(big);
}

static void answer__more_keys_than_the_cap__e2big(void **state)
{
    size_t cap = (ETCD_RANGE_MAX + 1) * 128 + 256, used;
    char *body = malloc(cap), err[256];
    struct etcd_kv *kvs;
    struct etcd *e;
    struct fake f;
    int64_t rev;
    size_t n;

    (void)state;
    assert_non_null(body);
    used = (size_t)snprintf(body, cap, "{" H ",\"kvs\":[");
    for (int i = 0; i <= ETCD_RANGE_MAX; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s" KV("L3QvYQ==") "}", i ? "," : "");
    snprintf(body + used, cap - used, "],\"count\":\"%d\"}", ETCD_RANGE_MAX + 1);
    fake_start(&f, "200 OK", body, 0);
    e = client1(f.url, 2000);
    assert_int_equal(etcd_range_prefix(e, "/t/", &kvs, &n, &rev, err, sizeof(err)), -E2BIG);
    assert_one_line(err, "more than 1024 keys");
    assert_null(kvs);
    assert_int_equal(n, 0);
    etcd_close(e);
    fake_stop(&f);
    free(body);
}

static void answer__larger_than_the_cap__emsgsize_without_reading_it_all(void **state)
{
    static const char declared[] = "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{";
    static const char endless[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"ID\":\"7\",";
    struct etcd *e;
    struct fake f;
    char err[256];
    int64_t id, ttl, t0;

    (void)state;
    /* Declared too large: refused on the headers. */
    fake_start_raw(&f, declared, strlen(declared), 0, true);
    e = client1(f.url, 5000);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -EMSGSIZE);
    assert_true(clock_monotonic_ms() - t0 < 1000);
    assert_one_line(err, "answer larger than 65536 bytes");
    etcd_close(e);
    fake_stop(&f);
    /* No length, 100 MB of body: cut at the cap. */
    fake_start_raw(&f, endless, strlen(endless), 100 * 1024 * 1024, false);
    e = client1(f.url, 5000);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -EMSGSIZE);
    assert_true(clock_monotonic_ms() - t0 < 1000);
    assert_one_line(err, "answer larger than 65536 bytes");
    etcd_close(e);
    fake_stop(&f);
}

static void answer__body_never_ends__etimedout_after_the_timeout(void **state)
{
    static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"ID\":\"7\",";
    static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "a\r\n{\"ID\":\"7\",\r\n";
    const char *replies[] = {partial, chunked};
    struct etcd *e;
    struct fake f;
    char err[256];
    int64_t id, ttl, t0, took;

    (void)state;
    for (int i = 0; i < 2; i++) {
        fake_start_raw(&f, replies[i], strlen(replies[i]), 0, true);
        e = client1(f.url, 500);
        t0 = clock_monotonic_ms();
        assert_int_equal(etcd_lease_grant(e, 10, &id, &ttl, err, sizeof(err)), -ETIMEDOUT);
        took = clock_monotonic_ms() - t0;
        assert_true(took >= 480 && took < 1500);
        assert_one_line(err, "no answer within 500 ms");
        etcd_close(e);
        fake_stop(&f);
    }
}

static void keepalive__stream_stays_open__first_result_returned_at_once(void **state)
{
    static const char stream[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n"
                                 "10\r\n{\"result\":{\"ID\":\r\n"
                                 "13\r\n\"7\",\"TTL\":\"30\"}}\n{\"\r\n";
    struct etcd *e;
    struct fake f;
    char err[256];
    int64_t ttl, t0;

    (void)state;
    fake_start_raw(&f, stream, strlen(stream), 0, true);
    e = client1(f.url, 3000);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_keepalive(e, 7, &ttl, err, sizeof(err)), 0);
    assert_true(clock_monotonic_ms() - t0 < 1000);
    assert_int_equal(ttl, 30);
    etcd_close(e);
    fake_stop(&f);
}

static void status__alarms_and_big_ids__parsed(void **state)
{
    static const char body[] =
        "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
        "\"13668033151171901709\",\"revision\":\"12\",\"raft_term\":\"2\"},\"version\":\"3.4.23\","
        "\"dbSize\":\"20480\",\"leader\":\"13668033151171901709\",\"raftIndex\":\"5\","
        "\"raftTerm\":\"2\",\"raftAppliedIndex\":\"5\",\"errors\":[\"NOSPACE\",\"CORRUPT\\u0007\"],"
        "\"dbSizeInUse\":\"16384\",\"isLearner\":true,\"newerField\":{\"x\":[1]}}";
    struct etcd_status st;
    struct etcd *e;
    struct fake f;
    char err[256];

    (void)state;
    fake_start(&f, "200 OK", body, 0);
    e = client1(f.url, 2000);
    assert_int_equal(etcd_status(e, &st, err, sizeof(err)), 0);
    assert_string_equal(st.version, "3.4.23");
    assert_true(st.cluster_id == 15118495548433857066u);
    assert_true(st.member_id == 13668033151171901709u && st.leader == st.member_id);
    assert_int_equal(st.revision, 12);
    assert_int_equal(st.raft_term, 2);
    assert_int_equal(st.raft_index, 5);
    assert_int_equal(st.db_size, 20480);
    assert_int_equal(st.db_size_in_use, 16384);
    assert_true(st.is_learner);
    assert_string_equal(st.errors, "NOSPACE; CORRUPT?");
    assert_int_equal(st.endpoint, 0);
    etcd_close(e);
    fake_stop(&f);
}

/* ------------------------------------------------------------ etcd members */

struct member {
    pid_t pid;
    char name[8];
    unsigned client_port, peer_port;
    char url[64];
};

static unsigned port_base;
static struct member single, cluster[3], tls_member;
static char ca_pem[300], other_ca_pem[300], server_pem[300], server_key[300], client_pem[300],
    client_key[300];

static bool port_free(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

/* PORTS free consecutive ports below the ephemeral range, away from 2379/2380. */
static int ports_pick(void)
{
    unsigned lo = 20000, hi = 32000;

    srand((unsigned)getpid() ^ (unsigned)clock_monotonic_ms());
    for (int tries = 0; tries < 200; tries++) {
        unsigned base = lo + (unsigned)rand() % (hi - lo - PORTS);
        int i = 0;

        while (i < PORTS && port_free(base + (unsigned)i))
            i++;
        if (i == PORTS) {
            port_base = base;
            return 0;
        }
    }
    return -1;
}

static int member_start(struct member *m, const char *name, unsigned ports_at,
                        const char *initial_cluster, bool tls)
{
    char data[300], log[300], listen[64], peer[64], token[64];
    const char *scheme = tls ? "https" : "http";
    pid_t pid;

    snprintf(m->name, sizeof(m->name), "%s", name);
    m->client_port = port_base + ports_at;
    m->peer_port = port_base + ports_at + 1;
    snprintf(m->url, sizeof(m->url), "%s://127.0.0.1:%u", scheme, m->client_port);
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%u", m->peer_port);
    snprintf(listen, sizeof(listen), "%s", m->url);
    snprintf(data, sizeof(data), "%s/%s.data", dir, name);
    snprintf(log, sizeof(log), "%s/%s.log", dir, name);
    snprintf(token, sizeof(token), "licgate-test-%d-%u", (int)getpid(), port_base);
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        const char *argv[40] = {etcd_bin,
                                "--name",
                                name,
                                "--data-dir",
                                data,
                                "--listen-client-urls",
                                listen,
                                "--advertise-client-urls",
                                m->url,
                                "--listen-peer-urls",
                                peer,
                                "--initial-advertise-peer-urls",
                                peer,
                                "--initial-cluster",
                                initial_cluster,
                                "--initial-cluster-state",
                                "new",
                                "--initial-cluster-token",
                                token,
                                "--heartbeat-interval",
                                "50",
                                "--election-timeout",
                                "500",
                                "--logger",
                                "zap",
                                "--log-outputs",
                                "stderr"};
        int argc = 27, fd;

        if (tls) {
            const char *more[] = {"--cert-file",       server_pem, "--key-file",        server_key,
                                  "--trusted-ca-file", ca_pem,     "--client-cert-auth"};

            memcpy(argv + argc, more, sizeof(more));
            argc += 7;
        }
        argv[argc] = NULL;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that dies leaves no member behind */
        if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(etcd_bin, (char *const *)argv);
        _exit(127);
    }
    m->pid = pid;
    return 0;
}

static void member_kill(struct member *m, int sig)
{
    int64_t deadline = clock_monotonic_ms() + 5000;

    if (m->pid <= 0)
        return;
    kill(m->pid, sig);
    while (waitpid(m->pid, NULL, WNOHANG) == 0) {
        if (clock_monotonic_ms() > deadline) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, NULL, 0);
            break;
        }
        clock_sleep_ms(20);
    }
    m->pid = 0;
}

/* Waits until the member answers status and knows a leader. */
static int member_wait(const struct member *m, const char *ca, const char *cert, const char *key)
{
    const char *u = m->url;
    struct etcd *e = client(&u, 1, 500, ca, cert, key);
    int64_t deadline = clock_monotonic_ms() + START_DEADLINE_MS;
    struct etcd_status st;
    char err[256] = "";
    int r = -ETIMEDOUT;

    while (clock_monotonic_ms() < deadline) {
        if (waitpid(m->pid, NULL, WNOHANG) != 0) {
            fprintf(stderr, "etcd %s exited; see %s/%s.log\n", m->name, dir, m->name);
            r = -ECHILD;
            break;
        }
        if (etcd_status(e, &st, err, sizeof(err)) == 0 && st.leader != 0) {
            r = 0;
            break;
        }
        clock_sleep_ms(100);
    }
    if (r == -ETIMEDOUT)
        fprintf(stderr, "etcd %s not ready: %s\n", m->name, err);
    etcd_close(e);
    return r;
}

static int single_setup(void **state)
{
    char initial[128];

    (void)state;
    snprintf(initial, sizeof(initial), "m1=http://127.0.0.1:%u", port_base + 1);
    if (member_start(&single, "m1", 0, initial, false) < 0 ||
        member_wait(&single, NULL, NULL, NULL) < 0) {
        member_kill(&single, SIGKILL);
        return -1;
    }
    return 0;
}

static int single_teardown(void **state)
{
    (void)state;
    member_kill(&single, SIGTERM);
    return 0;
}

static int cluster_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        member_kill(&cluster[i], SIGTERM);
    return 0;
}

static int cluster_setup(void **state)
{
    char initial[256];

    (void)state;
    snprintf(initial, sizeof(initial),
             "c1=http://127.0.0.1:%u,c2=http://127.0.0.1:%u,c3=http://127.0.0.1:%u", port_base + 3,
             port_base + 5, port_base + 7);
    for (int i = 0; i < 3; i++) {
        char name[4];

        snprintf(name, sizeof(name), "c%d", i + 1);
        if (member_start(&cluster[i], name, 2 + 2 * (unsigned)i, initial, false) < 0)
            return cluster_teardown(state), -1;
    }
    for (int i = 0; i < 3; i++)
        if (member_wait(&cluster[i], NULL, NULL, NULL) < 0)
            return cluster_teardown(state), -1;
    return 0;
}

static int run_quiet(const char *cmd)
{
    char *full;
    int r;

    if (asprintf(&full, "cd '%s' && { %s ; } >>openssl.log 2>&1", dir, cmd) < 0)
        return -1;
    r = system(full);
    free(full);
    return r == 0 ? 0 : -1;
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
static int certificates_make(void)
{
    static const char *const steps[] = {
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=licgate-test-ca -keyout ca.key -out ca.pem",
        "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
        ">server.ext",
        "printf 'extendedKeyUsage=clientAuth\\n' >client.ext",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=licgate-test-ca -keyout other-ca.key -out other-ca.pem",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=etcd "
        "-keyout server.key -out server.csr",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile server.ext -out server.pem",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=agent "
        "-keyout client.key -out client.csr",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile client.ext -out client.pem",
    };

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (run_quiet(steps[i]) < 0) {
            fprintf(stderr, "openssl failed: %s (see %s/openssl.log)\n", steps[i], dir);
            return -1;
        }
    snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
    snprintf(other_ca_pem, sizeof(other_ca_pem), "%s/other-ca.pem", dir);
    snprintf(server_pem, sizeof(server_pem), "%s/server.pem", dir);
    snprintf(server_key, sizeof(server_key), "%s/server.key", dir);
    snprintf(client_pem, sizeof(client_pem), "%s/client.pem", dir);
    snprintf(client_key, sizeof(client_key), "%s/client.key", dir);
    return 0;
}

static int tls_setup(void **state)
{
    char initial[128];

    (void)state;
    if (certificates_make() < 0)
        return -1;
    snprintf(initial, sizeof(initial), "t1=http://127.0.0.1:%u", port_base + 9);
    if (member_start(&tls_member, "t1", 8, initial, true) < 0 ||
        member_wait(&tls_member, ca_pem, client_pem, client_key) < 0) {
        member_kill(&tls_member, SIGKILL);
        return -1;
    }
    return 0;
}

static int tls_teardown(void **state)
{
    (void)state;
    member_kill(&tls_member, SIGTERM);
    return 0;
}

/* ------------------------------------------------------------ real etcd: one member */

/* Puts key under prefix at the revision a fresh read gives: a plain write for the tests. */
static void put(struct etcd *e, const char *prefix, const char *key, const void *value, size_t len,
                int64_t lease)
{
    struct etcd_kv *kvs;
    int64_t rev, after;
    size_t n;
    bool ok;
    char err[256];

    if (etcd_range_prefix(e, prefix, &kvs, &n, &rev, err, sizeof(err)) != 0)
        fail_msg("range: %s", err);
    free(kvs);
    if (etcd_txn_put_if_unchanged(e, prefix, rev, key, value, len, lease, &ok, &after, err,
                                  sizeof(err)) != 0)
        fail_msg("txn: %s", err);
    assert_true(ok);
    assert_true(after > rev);
}

static void lease__grant_keepalive_revoke__then_keepalive_and_revoke_enoent(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    int64_t id, ttl, left;
    char err[256];

    (void)state;
    assert_int_equal(etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err)), 0);
    assert_true(id > 0);
    assert_int_equal(ttl, 30);
    assert_int_equal(etcd_lease_keepalive(e, id, &left, err, sizeof(err)), 0);
    assert_int_equal(left, 30);
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), 0);
    left = 99;
    assert_int_equal(etcd_lease_keepalive(e, id, &left, err, sizeof(err)), -ENOENT);
    assert_int_equal(left, 0);
    assert_one_line(err, "not found");
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), -ENOENT);
    assert_one_line(err, "etcdserver: requested lease not found (code 5)");
    /* etcd raises a TTL below its minimum. */
    assert_int_equal(etcd_lease_grant(e, 1, &id, &ttl, err, sizeof(err)), 0);
    assert_true(ttl >= 1);
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), 0);
    assert_int_equal(etcd_lease_grant(e, 0, &id, &ttl, err, sizeof(err)), -EINVAL);
    assert_int_equal(etcd_lease_grant(e, 9000000001LL, &id, &ttl, err, sizeof(err)), -EINVAL);
    etcd_close(e);
}

static void range__empty_prefix__no_keys_and_a_revision(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_kv *kvs = (struct etcd_kv *)1;
    int64_t rev;
    size_t n = 9;
    char err[256];

    (void)state;
    assert_int_equal(etcd_range_prefix(e, "/empty/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_null(kvs);
    assert_int_equal(n, 0);
    assert_true(rev >= 1);
    assert_int_equal(etcd_range_prefix(e, "", &kvs, &n, &rev, err, sizeof(err)), -EINVAL);
    etcd_close(e);
}

static void range__several_keys__sorted_exact_binary_values_and_nothing_outside(void **state)
{
    static const char bin[] = {0, (char)0xff, '\n', '"', '\\', 1, 'x'};
    struct etcd *e = client1(single.url, 2000);
    char big[ETCD_VALUE_MAX], err[256];
    struct etcd_kv *kvs;
    int64_t rev;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    put(e, "/rt/", "/rt/c", big, sizeof(big), 0);
    put(e, "/rt/", "/rt/a", bin, sizeof(bin), 0);
    put(e, "/rt/", "/rt/b", "", 0, 0);
    put(e, "/rt", "/rt", "outside", 7, 0);
    put(e, "/rt0", "/rt0", "outside", 7, 0);
    assert_int_equal(etcd_range_prefix(e, "/rt/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(kvs[0].key, "/rt/a");
    assert_int_equal(kvs[0].value_len, sizeof(bin));
    assert_memory_equal(kvs[0].value, bin, sizeof(bin));
    assert_string_equal(kvs[1].key, "/rt/b");
    assert_int_equal(kvs[1].value_len, 0);
    assert_string_equal(kvs[1].value, "");
    assert_string_equal(kvs[2].key, "/rt/c");
    assert_int_equal(kvs[2].value_len, sizeof(big));
    assert_memory_equal(kvs[2].value, big, sizeof(big));
    for (size_t i = 0; i < n; i++) {
        assert_true(kvs[i].create_revision > 0 && kvs[i].mod_revision <= rev);
        assert_int_equal(kvs[i].version, 1);
        assert_int_equal(kvs[i].lease, 0);
    }
    assert_true(kvs[0].mod_revision > kvs[2].mod_revision); /* written after /rt/c */
    free(kvs);
    /* A prefix ending in 0xff: the range ends after the byte before it. */
    put(e, "/ff/\xff", "/ff/\xff", "1", 1, 0);
    put(e, "/ff/\xff", "/ff/\xff\x01", "2", 1, 0);
    put(e, "/ff/\xfe", "/ff/\xfe", "no", 2, 0);
    put(e, "/ff0", "/ff0", "no", 2, 0);
    assert_int_equal(etcd_range_prefix(e, "/ff/\xff", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(kvs[0].key, "/ff/\xff");
    assert_string_equal(kvs[1].key, "/ff/\xff\x01");
    free(kvs);
    etcd_close(e);
}

static void txn__nothing_changed__put_succeeds(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_kv *kvs;
    int64_t rev, after;
    size_t n;
    bool ok = false;
    char err[256];

    (void)state;
    assert_int_equal(etcd_range_prefix(e, "/ok/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/ok/", rev, "/ok/n1", "5", 1, 0, &ok, &after,
                                               err, sizeof(err)),
                     0);
    assert_true(ok);
    assert_int_equal(after, rev + 1);
    assert_int_equal(etcd_range_prefix(e, "/ok/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(kvs[0].value, "5");
    assert_int_equal(kvs[0].mod_revision, after);
    assert_int_equal(rev, after);
    free(kvs);
    /* Our own key changed at rev: a txn at rev still passes (mod_revision < rev + 1). */
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/ok/", rev, "/ok/n1", "6", 1, 0, &ok, &after,
                                               err, sizeof(err)),
                     0);
    assert_true(ok);
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/ok/", rev, "/other/n1", "6", 1, 0, &ok, &after,
                                               err, sizeof(err)),
                     -EINVAL);
    etcd_close(e);
}

static void txn__another_key_written_after_the_read__fails_and_changes_nothing(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_kv *kvs;
    int64_t rev, stale, after;
    size_t n;
    bool ok = true;
    char err[256];

    (void)state;
    put(e, "/cf/", "/cf/n1", "3", 1, 0);
    assert_int_equal(etcd_range_prefix(e, "/cf/", &kvs, &n, &stale, err, sizeof(err)), 0);
    free(kvs);
    put(e, "/cf/", "/cf/n2", "4", 1, 0); /* another node came first */
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/cf/", stale, "/cf/n1", "9", 1, 0, &ok, &after,
                                               err, sizeof(err)),
                     0);
    assert_false(ok);
    assert_true(after > stale);
    assert_int_equal(etcd_range_prefix(e, "/cf/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(rev, after); /* the failed txn wrote nothing */
    assert_int_equal(n, 2);
    assert_string_equal(kvs[0].value, "3");
    free(kvs);
    /* Read again, retry: passes. */
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/cf/", rev, "/cf/n1", "9", 1, 0, &ok, &after,
                                               err, sizeof(err)),
                     0);
    assert_true(ok);
    etcd_close(e);
}

static void txn__put_attached_to_a_lease__gone_after_revoke(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_kv *kvs;
    int64_t id, ttl, rev, after;
    size_t n;
    bool ok;
    char err[256];

    (void)state;
    assert_int_equal(etcd_lease_grant(e, 60, &id, &ttl, err, sizeof(err)), 0);
    put(e, "/ls/", "/ls/n1", "8", 1, id);
    put(e, "/ls/", "/ls/n2", "1", 1, 0);
    assert_int_equal(etcd_range_prefix(e, "/ls/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(kvs[0].lease, id);
    assert_int_equal(kvs[1].lease, 0);
    free(kvs);
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), 0);
    assert_int_equal(etcd_range_prefix(e, "/ls/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(kvs[0].key, "/ls/n2");
    free(kvs);
    /* A put on a lease etcd does not know. */
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/ls/", rev, "/ls/n1", "8", 1, id, &ok, &after,
                                               err, sizeof(err)),
                     -ENOENT);
    assert_one_line(err, "requested lease not found");
    etcd_close(e);
}

static void delete__existing_key__gone_and_a_second_delete_deletes_nothing(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_kv *kvs;
    int64_t deleted, rev, rev2;
    size_t n;
    char err[256];

    (void)state;
    put(e, "/dl/", "/dl/n1", "2", 1, 0);
    assert_int_equal(etcd_delete(e, "/dl/n1", &deleted, &rev, err, sizeof(err)), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(etcd_delete(e, "/dl/n1", &deleted, &rev2, err, sizeof(err)), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(rev2, rev);
    assert_int_equal(etcd_range_prefix(e, "/dl/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    etcd_close(e);
}

static void status__one_member__it_leads(void **state)
{
    struct etcd *e = client1(single.url, 2000);
    struct etcd_status st;
    char err[256];

    (void)state;
    assert_int_equal(etcd_status(e, &st, err, sizeof(err)), 0);
    assert_true(strncmp(st.version, "3.", 2) == 0);
    assert_true(st.member_id != 0 && st.leader == st.member_id);
    assert_true(st.raft_term >= 1 && st.raft_index >= 1 && st.db_size > 0);
    assert_false(st.is_learner);
    assert_string_equal(st.errors, "");
    assert_int_equal(st.endpoint, 0);
    etcd_close(e);
}

/* ------------------------------------------------------------ real etcd: three members */

static void failover__member_killed__calls_go_on_through_the_others(void **state)
{
    struct etcd_status st[3];
    const char *u[3];
    struct etcd *e;
    struct etcd_kv *kvs;
    int64_t id, ttl, rev, after, t0;
    size_t n, first = 3;
    bool ok;
    char err[512];

    (void)state;
    /* Put a follower first, so killing it needs no election: the test shows failover alone. */
    for (size_t i = 0; i < 3; i++) {
        struct etcd *one = client1(cluster[i].url, 2000);

        assert_int_equal(etcd_status(one, &st[i], err, sizeof(err)), 0);
        if (st[i].leader != st[i].member_id && first == 3)
            first = i;
        etcd_close(one);
    }
    assert_true(first < 3);
    for (size_t i = 0; i < 3; i++)
        u[i] = cluster[(first + i) % 3].url;
    e = client(u, 3, 1000, NULL, NULL, NULL);
    assert_int_equal(etcd_lease_grant(e, 60, &id, &ttl, err, sizeof(err)), 0);
    put(e, "/fo/", "/fo/n1", "4", 1, id);
    assert_string_equal(etcd_endpoint(e), u[0]);

    member_kill(&cluster[first], SIGKILL);
    t0 = clock_monotonic_ms();
    assert_int_equal(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)), 0);
    assert_true(clock_monotonic_ms() - t0 < 1000); /* refused at once, then answered */
    assert_int_equal(ttl, 60);
    assert_string_equal(etcd_endpoint(e), u[1]);
    assert_int_equal(etcd_range_prefix(e, "/fo/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kvs[0].lease, id);
    free(kvs);
    assert_int_equal(etcd_txn_put_if_unchanged(e, "/fo/", rev, "/fo/n1", "5", 1, id, &ok, &after,
                                               err, sizeof(err)),
                     0);
    assert_true(ok);
    assert_int_equal(etcd_status(e, &st[0], err, sizeof(err)), 0);
    assert_int_equal(st[0].endpoint, 1);
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), 0);
    assert_string_equal(etcd_endpoint(e), u[1]);
    etcd_close(e);
}

/* ------------------------------------------------------------ real etcd: TLS */

static void tls__client_certificate__calls_work(void **state)
{
    const char *u = tls_member.url;
    struct etcd *e = client(&u, 1, 2000, ca_pem, client_pem, client_key);
    struct etcd_status st;
    struct etcd_kv *kvs;
    int64_t id, ttl, rev;
    size_t n;
    char err[256];

    (void)state;
    assert_int_equal(etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err)), 0);
    assert_int_equal(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)), 0);
    put(e, "/tls/", "/tls/n1", "1", 1, id);
    assert_int_equal(etcd_range_prefix(e, "/tls/", &kvs, &n, &rev, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    free(kvs);
    assert_int_equal(etcd_status(e, &st, err, sizeof(err)), 0);
    assert_int_equal(etcd_lease_revoke(e, id, err, sizeof(err)), 0);
    etcd_close(e);
}

static void tls__no_client_certificate__clean_transport_error(void **state)
{
    const char *u = tls_member.url;
    struct etcd *e = client(&u, 1, 2000, ca_pem, NULL, NULL);
    int64_t id, ttl, t0;
    char err[512];
    int r;

    (void)state;
    /* Under TLS 1.3 etcd's refusal is an alert read after the handshake. */
    t0 = clock_monotonic_ms();
    r = etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err));
    assert_true(clock_monotonic_ms() - t0 < 2000);
    assert_int_equal(r, -EPROTO);
    assert_one_line(err, "no endpoint answered");
    assert_non_null(strstr(err, "TLS failed"));
    assert_int_equal(id, 0);
    etcd_close(e);
}

/* Another CA of the same name: the server's certificate does not verify. */
static void tls__unknown_ca__tls_failed(void **state)
{
    const char *u = tls_member.url;
    struct etcd *e = client(&u, 1, 2000, other_ca_pem, client_pem, client_key);
    int64_t id, ttl;
    char err[512];

    (void)state;
    assert_int_equal(etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err)), -EPROTO);
    assert_one_line(err, "TLS failed");
    etcd_close(e);
}

/* ------------------------------------------------------------ main */

static const char *etcd_find(void)
{
    static char path[512];
    const char *env = getenv("LICGATE_ETCD"), *p = getenv("PATH");

    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    while (p && *p) {
        size_t n = strcspn(p, ":");

        snprintf(path, sizeof(path), "%.*s/etcd", (int)n, p);
        if (n > 0 && access(path, X_OK) == 0)
            return path;
        p += n + (p[n] == ':');
    }
    return NULL;
}

int main(void)
{
    const struct CMUnitTest fake_tests[] = {
        cmocka_unit_test(etcd_open__bad_config__einval_and_no_handle),
        cmocka_unit_test(call__every_endpoint_refuses__econnrefused_one_line_at_once),
        cmocka_unit_test(call__every_endpoint_silent__etimedout_within_n_timeouts),
        cmocka_unit_test(call__first_endpoint_silent__second_answers_and_is_remembered),
        cmocka_unit_test(call__first_endpoint_unavailable__second_answers),
        cmocka_unit_test(answer__hostile__documented_error_and_nothing_returned),
        cmocka_unit_test(answer__value_or_key_over_cap__emsgsize),
        cmocka_unit_test(answer__more_keys_than_the_cap__e2big),
        cmocka_unit_test(answer__larger_than_the_cap__emsgsize_without_reading_it_all),
        cmocka_unit_test(answer__body_never_ends__etimedout_after_the_timeout),
        cmocka_unit_test(keepalive__stream_stays_open__first_result_returned_at_once),
        cmocka_unit_test(status__alarms_and_big_ids__parsed),
    };
    const struct CMUnitTest single_tests[] = {
        cmocka_unit_test(lease__grant_keepalive_revoke__then_keepalive_and_revoke_enoent),
        cmocka_unit_test(range__empty_prefix__no_keys_and_a_revision),
        cmocka_unit_test(range__several_keys__sorted_exact_binary_values_and_nothing_outside),
        cmocka_unit_test(txn__nothing_changed__put_succeeds),
        cmocka_unit_test(txn__another_key_written_after_the_read__fails_and_changes_nothing),
        cmocka_unit_test(txn__put_attached_to_a_lease__gone_after_revoke),
        cmocka_unit_test(delete__existing_key__gone_and_a_second_delete_deletes_nothing),
        cmocka_unit_test(status__one_member__it_leads),
    };
    const struct CMUnitTest cluster_tests[] = {
        cmocka_unit_test(failover__member_killed__calls_go_on_through_the_others),
    };
    const struct CMUnitTest tls_tests[] = {
        cmocka_unit_test(tls__client_certificate__calls_work),
        cmocka_unit_test(tls__no_client_certificate__clean_transport_error),
        cmocka_unit_test(tls__unknown_ca__tls_failed),
    };
    int failed;

    alarm(600); /* a hung test ends; PR_SET_PDEATHSIG takes the members with it */
    signal(SIGPIPE, SIG_IGN);
    if (unit_tmpdir_make(dir, sizeof(dir), "licgate-etcd") < 0) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    failed = cmocka_run_group_tests_name("etcd client: fake server", fake_tests, NULL, NULL);
    if (!(etcd_bin = etcd_find())) {
        fprintf(stderr, "SKIP: no etcd binary (install etcd-server, or set LICGATE_ETCD): "
                        "the real-etcd tests did not run\n");
        unit_tmpdir_remove(dir);
        return failed ? 1 : 77;
    }
    if (ports_pick() < 0) {
        fprintf(stderr, "no %d free ports\n", PORTS);
        unit_tmpdir_remove(dir);
        return 1;
    }
    failed += cmocka_run_group_tests_name("etcd client: one member", single_tests, single_setup,
                                          single_teardown);
    failed += cmocka_run_group_tests_name("etcd client: three members", cluster_tests,
                                          cluster_setup, cluster_teardown);
    failed += cmocka_run_group_tests_name("etcd client: TLS", tls_tests, tls_setup, tls_teardown);
    if (failed == 0)
        unit_tmpdir_remove(dir);
    else
        fprintf(stderr, "etcd logs kept in %s\n", dir);
    return failed ? 1 : 0;
}
