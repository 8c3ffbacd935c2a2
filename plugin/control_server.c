#include "control_server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "clock.h"
#include "control_proto.h"
#include "control_reply.h"
#include "errbuf.h"
#include "fs.h"
#include "pool.h"
#include "thread.h"
#include "usock.h"

#define SERVER_TICK_MS     250 /* takeover, and checking the socket is still ours */
#define SERVER_REJECTS_MAX 16  /* connections kept only to be told they are over quota */
#define SERVER_REJECT_MS   500
#define SERVER_RELOAD_POLL 10 /* how often a reload looks whether the pool followed */
#define SERVER_LOCK_SUFFIX ".lock"
#define SERVER_SLOTS       (CONTROL_SERVER_MAX_CONNS + SERVER_REJECTS_MAX)

enum conn_state { CONN_FREE, CONN_READING, CONN_RELOADING, CONN_WRITING };

struct conn {
    enum conn_state state;
    int fd;
    uid_t uid;
    bool root;
    bool rejected; /* answered with reject whatever it asks (over its quota, or no right) */
    char reject[160];
    int64_t deadline;
    uint32_t reload_request;
    size_t len;
    char buf[CONTROL_REQUEST_MAX + 2];
    char *out; /* the answer, written from outpos on */
    size_t outlen, outpos;
};

struct control_server {
    struct gate *gate;
    struct maintenance *maint;
    char path[CONFIG_SOCKET_MAX + 1];
    char lock_path[CONFIG_SOCKET_MAX + sizeof(SERVER_LOCK_SUFFIX)];
    struct usock_owner owner;
    bool have_group;
    gid_t read_gid;
    struct wake stop_wake;
    _Atomic bool stop;
    int lock_fd, listen_fd;
    struct usock_id sock_id; /* the socket this process bound, to remove only its own */
    bool lead_error_said;
    pthread_t thread;
    struct conn conns[SERVER_SLOTS];
};

/* ------------------------------------------------------------------ connections */

static void conn_close(struct conn *c)
{
    usock_close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->state = CONN_FREE;
}

/* Starts writing an answer (taken over); a NULL one (out of memory) just closes. */
static void conn_answer(struct conn *c, char *text, size_t len, int64_t now)
{
    if (text == NULL) {
        conn_close(c);
        return;
    }
    free(c->out);
    c->out = text;
    c->outlen = len;
    c->outpos = 0;
    c->state = CONN_WRITING;
    c->deadline = now + CONTROL_SERVER_WRITE_MS;
}

static void conn_error(struct conn *c, const char *msg, int64_t now)
{
    size_t len = 0;
    char *text = control_reply_error(msg, &len);

    conn_answer(c, text, len, now);
}

/* Writes what the peer's buffer takes; closes once all is written or the peer is gone. */
static void conn_write(struct conn *c)
{
    while (c->outpos < c->outlen) {
        long n = usock_write(c->fd, c->out + c->outpos, c->outlen - c->outpos);

        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->outpos += (size_t)n;
    }
    conn_close(c);
}

static void run_reload(struct control_server *s, struct conn *c, int64_t now)
{
    c->reload_request = seat_pool_request_reload(gate_pool(s->gate));
    gate_logf(s->gate, GATE_LOG_NOTE, "reload requested through the control socket");
    maintenance_wake(s->maint);
    c->state = CONN_RELOADING;
    c->deadline = now + CONTROL_SERVER_RELOAD_MS;
}

/* A reload is answered once this process's maintenance has carried it out and every other
 * process of the pool acknowledged it (or the deadline passed). */
static void check_reload(struct control_server *s, struct conn *c, int64_t now)
{
    struct maintenance_reload r;
    bool followed;
    pid_t laggard;
    size_t len = 0;
    char *text;

    maintenance_last_reload(s->maint, &r);
    if ((int32_t)(r.request - c->reload_request) < 0) {
        if (now >= c->deadline)
            conn_error(c, "reload failed: this process did not carry it out in time", now);
        return;
    }
    followed = seat_pool_reload_followed(gate_pool(s->gate), c->reload_request, &laggard);
    if (!followed && now < c->deadline)
        return;
    text = control_reply_reload(&r, followed, laggard, &len);
    conn_answer(c, text, len, now);
}

static void run(struct control_server *s, struct conn *c, enum control_command cmd, int64_t now)
{
    struct control_snapshot snap;
    char msg[128], *text;
    unsigned days = 0;
    size_t len = 0;

    if (c->rejected) {
        conn_error(c, c->reject, now);
        return;
    }
    if (control_command_needs_root(cmd) && !c->root) {
        snprintf(msg, sizeof(msg), "permission denied: %s needs root", control_command_name(cmd));
        conn_error(c, msg, now);
        return;
    }
    if (cmd == CONTROL_RELOAD) {
        run_reload(s, c, now);
        return;
    }
    if (cmd == CONTROL_CLUSTER_GRANT) {
        uint32_t grant = 0;
        int64_t deadline = 0;
        char err[160];

        control_parse_cluster_grant(c->buf, c->len, &grant, &deadline);
        if (gate_set_cluster_grant(s->gate, grant, deadline, err, sizeof(err)) < 0) {
            conn_error(c, err, now);
            return;
        }
    }
    if (cmd == CONTROL_USAGE && control_parse_usage(c->buf, c->len, &days) != 0)
        days = CONTROL_USAGE_DAYS;
    if (control_snapshot_take(s->gate, cmd, days, &snap) < 0) {
        conn_error(c, "out of memory", now);
        return;
    }
    text = control_reply(&snap, cmd, &len);
    control_snapshot_free(&snap);
    conn_answer(c, text, len, now);
}

static void conn_read(struct control_server *s, struct conn *c, int64_t now)
{
    enum control_command cmd;
    char err[160];
    bool eof = false;
    long n;
    int r;

    n = usock_read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n == -EAGAIN)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    eof = n == 0;
    c->len += (size_t)n;
    r = control_parse_request(c->buf, c->len, eof, &cmd, err, sizeof(err));
    if (r == -EAGAIN && c->len == sizeof(c->buf))
        r = control_parse_request(c->buf, c->len, true, &cmd, err, sizeof(err));
    if (r == -EAGAIN)
        return;
    if (r < 0 && c->rejected)
        conn_error(c, c->reject, now);
    else if (r < 0)
        conn_error(c, err, now);
    else
        run(s, c, cmd, now);
}

/* The quota a new connection of uid meets: NULL when it may have a slot, else the one line it
 * is told. Root may take any slot; another user at most CONTROL_SERVER_PER_USER, and all of
 * them together not the slots kept for root. */
static const char *over_quota(const struct control_server *s, uid_t uid, bool root)
{
    size_t all = 0, others = 0, same = 0;

    for (size_t i = 0; i < CONTROL_SERVER_MAX_CONNS; i++) {
        const struct conn *c = &s->conns[i];

        if (c->state == CONN_FREE)
            continue;
        all++;
        others += !c->root;
        same += c->uid == uid;
    }
    if (all == CONTROL_SERVER_MAX_CONNS)
        return "too many control connections; retry";
    if (!root && (same >= CONTROL_SERVER_PER_USER ||
                  others >= CONTROL_SERVER_MAX_CONNS - CONTROL_SERVER_ROOT_ONLY))
        return "too many control connections from this user; retry";
    return NULL;
}

static struct conn *free_slot(struct control_server *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (s->conns[i].state == CONN_FREE)
            return &s->conns[i];
    return NULL;
}

/* Takes every pending connection. Credentials decide before a byte of the request is read;
 * a peer without the right, or over its quota, still has its request read (closing on unread
 * data would reset the connection before it reads the one line that says why) in a slot kept
 * for refusals, with a short deadline. */
static void accept_all(struct control_server *s, int64_t now)
{
    for (;;) {
        const char *quota;
        char msg[160] = "";
        struct conn *c;
        uid_t uid;
        gid_t gid;
        pid_t pid;
        int fd;

        if (usock_accept(s->listen_fd, &fd) != 0)
            return;
        if (usock_peer(fd, &uid, &gid, &pid) != 0)
            snprintf(msg, sizeof(msg), "permission denied: peer credentials unavailable");
        else if (uid != 0 && !(s->have_group && usock_uid_in_group(uid, s->read_gid)) &&
                 s->have_group)
            snprintf(msg, sizeof(msg),
                     "permission denied: uid %u is not root or a member of group '%s'",
                     (unsigned)uid, gate_config(s->gate)->control_group);
        else if (uid != 0 && !s->have_group)
            snprintf(msg, sizeof(msg),
                     "permission denied: uid %u is not root (no control-group configured)",
                     (unsigned)uid);
        else if ((quota = over_quota(s, uid, uid == 0)) != NULL)
            snprintf(msg, sizeof(msg), "%s", quota);
        c = msg[0] == '\0' ? free_slot(s, 0, CONTROL_SERVER_MAX_CONNS)
                           : free_slot(s, CONTROL_SERVER_MAX_CONNS, SERVER_SLOTS);
        if (c == NULL) {
            usock_close(fd); /* every slot, even the refusals', is taken */
            continue;
        }
        *c = (struct conn){.state = CONN_READING,
                           .fd = fd,
                           .uid = uid,
                           .root = uid == 0,
                           .rejected = msg[0] != '\0',
                           .deadline =
                               now + (msg[0] != '\0' ? SERVER_REJECT_MS : CONTROL_SERVER_READ_MS)};
        snprintf(c->reject, sizeof(c->reject), "%s", msg);
    }
}

/* ------------------------------------------------------------------ leadership */

static void try_lead(struct control_server *s)
{
    char err[256];
    int r;

    if (s->lock_fd < 0) {
        r = usock_lock_try(s->lock_path, &s->owner, &s->lock_fd);
        if (r == -EWOULDBLOCK)
            return;
        if (r < 0) {
            if (!s->lead_error_said)
                gate_logf(s->gate, GATE_LOG_ERR, "control lock %s: %s", s->lock_path, strerror(-r));
            s->lead_error_said = true;
            return;
        }
    }
    r = usock_listen(s->path, &s->owner, &s->listen_fd, err, sizeof(err));
    if (r < 0) {
        if (!s->lead_error_said)
            gate_logf(s->gate, GATE_LOG_ERR, "control socket: %s", err);
        s->lead_error_said = true;
        usock_close(s->lock_fd);
        s->lock_fd = -1;
        return;
    }
    s->lead_error_said = false;
    usock_path_id(s->path, &s->sock_id);
    gate_logf(s->gate, GATE_LOG_NOTE, "serving the control socket %s for pool '%s'", s->path,
              gate_config(s->gate)->pool);
}

/* The serving process's socket and lock file are still at their paths: a directory removed or
 * replaced under it (rm -rf /run/licgate/<pool>) lets another process lock and bind anew, and
 * two would serve, then the first to stop would remove the other's socket. When they are not,
 * it stops serving (its files are gone anyway) and contends for the lock again. */
static void check_lead(struct control_server *s)
{
    struct usock_id lock_now, lock_held, sock_now;

    if (s->listen_fd < 0)
        return;
    if (usock_path_id(s->lock_path, &lock_now) == 0 && usock_fd_id(s->lock_fd, &lock_held) == 0 &&
        lock_now.dev == lock_held.dev && lock_now.ino == lock_held.ino &&
        usock_path_id(s->path, &sock_now) == 0 && sock_now.dev == s->sock_id.dev &&
        sock_now.ino == s->sock_id.ino)
        return;
    gate_logf(s->gate, GATE_LOG_WARN,
              "the control socket %s or its lock file was removed or replaced: this process "
              "stops serving it and contends for it again",
              s->path);
    usock_close(s->listen_fd);
    s->listen_fd = -1;
    usock_close(s->lock_fd);
    s->lock_fd = -1;
}

/* ------------------------------------------------------------------ the thread */

/* Deadlines, reloads in progress; the poll timeout until the next thing to do. */
static int64_t expire(struct control_server *s, int64_t now, int64_t next_tick)
{
    int64_t wake = next_tick;

    for (size_t i = 0; i < SERVER_SLOTS; i++) {
        struct conn *c = &s->conns[i];

        if (c->state == CONN_RELOADING)
            check_reload(s, c, now);
        if (c->state == CONN_FREE)
            continue;
        if (now >= c->deadline) {
            if (c->state == CONN_READING) {
                conn_error(c, c->rejected ? c->reject : "request timed out", now);
                conn_write(c);
                /* a peer that cannot take even the error line is dropped */
                if (c->state != CONN_FREE)
                    c->deadline = now + SERVER_REJECT_MS;
            } else {
                conn_close(c); /* an answer the peer did not read in time */
            }
            continue;
        }
        if (c->state == CONN_RELOADING && now + SERVER_RELOAD_POLL < wake)
            wake = now + SERVER_RELOAD_POLL;
        if (c->deadline < wake)
            wake = c->deadline;
    }
    return wake;
}

static void *server_main(void *arg)
{
    struct control_server *s = arg;
    struct pollfd pfd[2 + SERVER_SLOTS];
    struct conn *at[2 + SERVER_SLOTS];
    int64_t next_tick = 0;

    while (!atomic_load(&s->stop)) {
        int64_t now = clock_monotonic_ms(), wake;
        size_t n = 0;

        if (now >= next_tick) {
            check_lead(s);
            if (s->listen_fd < 0)
                try_lead(s);
            gate_set_serving(s->gate, s->listen_fd >= 0); /* the serving one keeps the usage */
            next_tick = now + SERVER_TICK_MS;
        }
        wake = expire(s, now, next_tick);
        pfd[n] = (struct pollfd){.fd = s->stop_wake.fd[0], .events = POLLIN};
        at[n++] = NULL;
        pfd[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        at[n++] = NULL;
        for (size_t i = 0; i < SERVER_SLOTS; i++) {
            struct conn *c = &s->conns[i];

            if (c->state != CONN_READING && c->state != CONN_WRITING)
                continue;
            pfd[n] =
                (struct pollfd){.fd = c->fd, .events = c->state == CONN_READING ? POLLIN : POLLOUT};
            at[n++] = c;
        }
        if (usock_poll(pfd, n, (int)(wake > now ? wake - now : 0)) <= 0)
            continue;
        if (pfd[0].revents != 0)
            wake_drain(&s->stop_wake);
        now = clock_monotonic_ms();
        for (size_t i = 2; i < n; i++) {
            if (pfd[i].revents == 0 || at[i]->fd != pfd[i].fd)
                continue;
            if (at[i]->state == CONN_READING)
                conn_read(s, at[i], now);
            if (at[i]->state == CONN_WRITING)
                conn_write(at[i]);
        }
        if (s->listen_fd >= 0 && pfd[1].revents != 0)
            accept_all(s, now);
    }
    for (size_t i = 0; i < SERVER_SLOTS; i++)
        if (s->conns[i].state != CONN_FREE)
            conn_close(&s->conns[i]);
    if (s->listen_fd >= 0) {
        usock_close(s->listen_fd);
        usock_unlink_if(s->path, &s->sock_id);
    }
    usock_close(s->lock_fd);
    gate_set_serving(s->gate, false);
    return NULL;
}

/* ------------------------------------------------------------------ start, stop */

static int socket_dir(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (n == 0 || n >= len)
        return -EINVAL;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 0;
}

static int server_setup(struct control_server *s, char *err, size_t errlen)
{
    const struct gate_config *cfg = gate_config(s->gate);
    char dir[CONFIG_SOCKET_MAX + 1];
    int r;

    r = config_control_socket(cfg, s->path, sizeof(s->path));
    if (r < 0 || socket_dir(s->path, dir, sizeof(dir)) < 0) {
        errbuf_set(err, errlen, "control socket path too long or without a directory");
        return -EINVAL;
    }
    snprintf(s->lock_path, sizeof(s->lock_path), "%s%s", s->path, SERVER_LOCK_SUFFIX);
    if (cfg->user[0] != '\0' && account_user(cfg->user, &s->owner.uid) == 0)
        s->owner.set_uid = true;
    if (cfg->control_group[0] != '\0') {
        r = account_group(cfg->control_group, &s->read_gid);
        if (r < 0) {
            errbuf_set(err, errlen, "control-group=%s: %s", cfg->control_group,
                       r == -ENOENT ? "no such group" : strerror(-r));
            return r;
        }
        s->have_group = true;
        s->owner.gid = s->read_gid;
        s->owner.set_gid = true;
    }
    /* The socket's own directory belongs to the runtime user, so that a SIGHUP re-open after
     * the privilege drop can bind there again; its parents (RUNDIR, shared by the pools) stay
     * root's, 0755. */
    r = fs_mkdir_parents(dir);
    if (r < 0) {
        errbuf_set(err, errlen, "mkdir parents of %s: %s", dir, strerror(-r));
        return r;
    }
    return usock_prepare_dir(dir, &s->owner, err, errlen);
}

int control_server_start(struct gate *gate, struct maintenance *maint, struct control_server **out,
                         char *err, size_t errlen)
{
    struct control_server *s;
    int r;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->gate = gate;
    s->maint = maint;
    s->lock_fd = s->listen_fd = -1;
    for (size_t i = 0; i < SERVER_SLOTS; i++)
        s->conns[i].fd = -1;
    r = server_setup(s, err, errlen);
    if (r == 0 && (r = wake_init(&s->stop_wake)) < 0)
        errbuf_set(err, errlen, "pipe: %s", strerror(-r));
    if (r == 0 && (r = thread_start(&s->thread, server_main, s)) < 0) {
        errbuf_set(err, errlen, "control thread: %s", strerror(-r));
        wake_close(&s->stop_wake);
    }
    if (r < 0) {
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

void control_server_stop(struct control_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    wake_signal(&s->stop_wake);
    pthread_join(s->thread, NULL);
    wake_close(&s->stop_wake);
    free(s);
}
