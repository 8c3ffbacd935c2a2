#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "clock.h"
#include "control_proto.h"
#include "fs.h"
#include "license.h"
#include "netlink.h"
#include "pool.h"
#include "usock.h"

#define CONTROL_MAX_CONNS   32
#define CONTROL_TICK_MS     250  /* takeover and reload polling */
#define CONTROL_READ_MS     2000 /* a request must be complete within this */
#define CONTROL_WRITE_MS    2000
#define CONTROL_LOCK_SUFFIX ".lock"
#define CONTROL_RECLAIM_MS  2000  /* dead processes\' seats come back within this */
#define CONTROL_WARN_MS     60000 /* expiry warnings are looked at this often, logged daily */
#define CONTROL_WARNED_MAX  64
#define CONTROL_FOLLOW_MS   3000 /* a reload answers once the pool's processes followed */

struct control_conn {
    int fd;
    bool root;
    long deadline;
    size_t len;
    char buf[CONTROL_REQUEST_MAX + 2];
};

struct control {
    struct gate *gate;
    char path[CONFIG_SOCKET_MAX + 1];
    char lock_path[CONFIG_SOCKET_MAX + sizeof(CONTROL_LOCK_SUFFIX)];
    struct usock_owner owner;
    bool have_group;
    gid_t read_gid;
    int stop_pipe[2];
    int lock_fd, listen_fd;
    struct usock_id sock_id; /* the socket this process bound, to remove only its own */
    pthread_t thread;
    uint32_t reload_seen;
    bool lead_error_said; /* log a failing takeover once, not every tick */
    bool serve;           /* false with control-socket=none: maintenance only */
    long next_reclaim, next_warn;
    struct {
        char key_id[LICENSE_KEY_ID_MAX + 1];
        int64_t day;
    } warned[CONTROL_WARNED_MAX]; /* the day each license was last warned about */
    size_t nwarned;
    struct control_conn conns[CONTROL_MAX_CONNS];
    size_t nconns;
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ responses */

static json_object *response_new(bool ok)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "protocol", json_object_new_int(CONTROL_PROTOCOL));
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    return o;
}

static void add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value != NULL ? json_object_new_string(value) : NULL);
}

static void add_time(json_object *o, const char *key, int64_t t)
{
    char buf[LICENSE_TIME_BUFSIZE];

    if (t == 0 || license_format_time(t, buf, sizeof(buf)) != 0) {
        json_object_object_add(o, key, NULL);
        return;
    }
    add_str(o, key, buf);
}

static void send_json(int fd, json_object *o)
{
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    char *line = malloc(len + 1);

    if (line != NULL) {
        memcpy(line, text, len);
        line[len] = '\n';
        usock_write_all(fd, line, len + 1, CONTROL_WRITE_MS);
        free(line);
    }
    json_object_put(o);
}

static void send_error(int fd, const char *msg)
{
    json_object *o = response_new(false);

    add_str(o, "error", msg);
    send_json(fd, o);
}

static void add_warnings(struct control *c, json_object *o, const struct license_set *set,
                         const struct seat_pool_status *st)
{
    json_object *w = json_object_new_array();
    int64_t now = gate_now(c->gate);
    bool evaluation;
    uint32_t limit = gate_limit(c->gate, &evaluation);
    char line[1024], why[256];

    if (st->in_use > limit) {
        snprintf(line, sizeof(line),
                 "over the limit: %u in use, %u licensed: new connections are refused until %u "
                 "leave",
                 st->in_use, limit, st->in_use - limit);
        json_object_array_add(w, json_object_new_string(line));
    }
    {
        int64_t clock, mark;
        char a[LICENSE_TIME_BUFSIZE], b[LICENSE_TIME_BUFSIZE];
        if (gate_clock_state(c->gate, &clock, &mark)) {
            license_format_time(clock, a, sizeof(a));
            license_format_time(mark, b, sizeof(b));
            snprintf(line, sizeof(line),
                     "clock rollback detected: the system clock (%s) is behind the high-water "
                     "mark (%s); licenses are judged by the mark",
                     a, b);
            json_object_array_add(w, json_object_new_string(line));
        }
    }
    if (gate_development_keys(c->gate))
        json_object_array_add(
            w, json_object_new_string("development build: the public development issuer key "
                                      "is trusted; anyone can sign licenses for it"));
    if (evaluation)
        json_object_array_add(
            w, json_object_new_string("no valid license: evaluation mode with 2 seats (per "
                                      "machine, shared by every pool)"));
    if (set->skipped > 0) {
        snprintf(line, sizeof(line),
                 "license-dir %.900s: %zu *.lic files beyond the first %d (by name) skipped",
                 gate_config(c->gate)->license_dir, set->skipped, LICENSE_SET_MAX_FILES);
        json_object_array_add(w, json_object_new_string(line));
    }
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];

        if (!e->loaded) {
            snprintf(line, sizeof(line), "license '%s' skipped: %s", e->file, e->reason);
        } else if (!license_entry_counts(e)) {
            snprintf(line, sizeof(line), "license '%s' (key %s) does not count: %s: %s", e->file,
                     e->lic.key_id, license_entry_state(e), e->reason);
        } else if (control_license_warning(&e->lic, now, why, sizeof(why))) {
            snprintf(line, sizeof(line), "license '%s' (key %s): %s", e->file, e->lic.key_id, why);
        } else {
            continue;
        }
        json_object_array_add(w, json_object_new_string(line));
    }
    json_object_object_add(o, "warnings", w);
}

static void reply_status(struct control *c, int fd)
{
    struct gate_machine_status ms;
    struct seat_pool_status st;
    struct license_set set = {0};
    json_object *o = response_new(true), *procs = json_object_new_array(), *ref, *mach;
    bool evaluation;
    uint32_t limit;

    seat_pool_snapshot(gate_pool(c->gate), &st);
    limit = gate_limit(c->gate, &evaluation);
    gate_machine_status(c->gate, &ms);
    add_str(o, "pool", gate_config(c->gate)->pool);
    json_object_object_add(o, "in_use", json_object_new_int64(st.in_use));
    json_object_object_add(o, "limit", json_object_new_int64(limit));
    json_object_object_add(o, "over_limit",
                           json_object_new_int64(st.in_use > limit ? st.in_use - limit : 0));
    json_object_object_add(o, "capacity", json_object_new_int64(st.capacity));
    json_object_object_add(o, "evaluation", json_object_new_boolean(evaluation));
    json_object_object_add(o, "development_build",
                           json_object_new_boolean(gate_development_keys(c->gate)));
    json_object_object_add(o, "served_by", json_object_new_int64(getpid()));
    for (uint32_t i = 0; i < st.nprocs; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "pid", json_object_new_int64(st.procs[i].pid));
        json_object_object_add(p, "in_use", json_object_new_int64(st.procs[i].in_use));
        json_object_array_add(procs, p);
    }
    json_object_object_add(o, "processes", procs);
    json_object_object_add(o, "admissions", json_object_new_int64((int64_t)st.admissions));
    ref = json_object_new_object();
    json_object_object_add(ref, "limit", json_object_new_int64((int64_t)st.refusals_limit));
    json_object_object_add(ref, "capacity", json_object_new_int64((int64_t)st.refusals_capacity));
    json_object_object_add(o, "refusals", ref);
    json_object_object_add(o, "releases", json_object_new_int64((int64_t)st.releases));
    json_object_object_add(o, "reclaimed", json_object_new_int64((int64_t)st.reclaimed));
    mach = json_object_new_object();
    json_object_object_add(mach, "evaluation_seats", json_object_new_int64(GATE_EVALUATION_SEATS));
    json_object_object_add(mach, "evaluation_seats_in_use", json_object_new_int64(ms.eval_in_use));
    json_object_object_add(mach, "registry_segment", json_object_new_int64(ms.registry_id));
    json_object_object_add(mach, "pool_segment", json_object_new_int64(ms.pool_id));
    json_object_object_add(o, "machine", mach);
    if (gate_config(c->gate)->failover_vip[0] != '\0') {
        json_object *fo = json_object_new_object();
        add_str(fo, "vip", gate_config(c->gate)->failover_vip);
        add_str(fo, "role", gate_failover_active(c->gate) ? "active" : "standby");
        json_object_object_add(o, "failover", fo);
    }
    {
        int64_t clock, mark;
        bool rollback = gate_clock_state(c->gate, &clock, &mark);
        json_object *ck = json_object_new_object();
        add_time(ck, "system", clock);
        add_time(ck, "high_water_mark", mark);
        json_object_object_add(ck, "rollback_detected", json_object_new_boolean(rollback));
        json_object_object_add(o, "clock", ck);
    }
    if (gate_copy_licenses(c->gate, &set) == 0)
        add_warnings(c, o, &set, &st);
    license_set_free(&set);
    send_json(fd, o);
}

static int add_session(const struct seat_session *s, void *arg)
{
    json_object *o = json_object_new_object();

    add_str(o, "cn", s->cn);
    add_str(o, "address", s->addr);
    add_time(o, "connected_since", s->connected_since);
    json_object_object_add(o, "pid", json_object_new_int64(s->pid));
    json_object_array_add(arg, o);
    return 0;
}

static void reply_sessions(struct control *c, int fd)
{
    json_object *o = response_new(true), *list = json_object_new_array();

    seat_pool_foreach_session(gate_pool(c->gate), add_session, list);
    json_object_object_add(o, "sessions", list);
    send_json(fd, o);
}

static void reply_licenses(struct control *c, int fd)
{
    struct license_set set = {0};
    json_object *o, *list;
    bool evaluation;
    uint32_t limit = gate_limit(c->gate, &evaluation);

    if (gate_copy_licenses(c->gate, &set) != 0) {
        send_error(fd, "out of memory");
        return;
    }
    o = response_new(true);
    list = json_object_new_array();
    json_object_object_add(o, "limit", json_object_new_int64(limit));
    json_object_object_add(o, "evaluation", json_object_new_boolean(evaluation));
    for (size_t i = 0; i < set.count; i++) {
        const struct license_entry *e = &set.entries[i];
        json_object *l = json_object_new_object();
        bool counts = license_entry_counts(e);

        add_str(l, "file", e->file);
        if (e->source != 0) {
            /* lent by another process of the pool, from its own license-dir */
            json_object *from = json_object_new_object();
            int pid;

            add_str(from, "license_dir", license_entry_source(&set, e, &pid));
            json_object_object_add(from, "pid", json_object_new_int64(pid));
            json_object_object_add(l, "from", from);
        }
        if (e->loaded) {
            add_str(l, "key_id", e->lic.key_id);
            add_str(l, "customer", e->lic.customer);
            json_object_object_add(l, "seats", json_object_new_int64(e->lic.seats));
            add_str(l, "kind", e->lic.kind == LICENSE_KIND_FAILOVER ? "failover" : "standard");
            add_time(l, "support_until", e->lic.support_until);
            json_object_object_add(l, "perpetual", json_object_new_boolean(e->lic.perpetual));
            add_time(l, "lease_not_after", e->lic.lease_not_after);
            add_time(l, "sunset", e->lic.sunset);
        }
        add_str(l, "state", license_entry_state(e));
        add_str(l, "reason", e->reason);
        json_object_object_add(l, "counted", json_object_new_boolean(counts));
        json_object_array_add(list, l);
    }
    json_object_object_add(o, "licenses", list);
    license_set_free(&set);
    send_json(fd, o);
}

static void reply_reload(struct control *c, int fd)
{
    struct gate_reload_result res;
    char err[512], msg[600];
    bool followed;
    pid_t laggard;
    json_object *o;

    if (gate_reload(c->gate, &res, err, sizeof(err)) != 0) {
        snprintf(msg, sizeof(msg), "reload failed: %s", err);
        send_error(fd, msg);
        return;
    }
    /* The other processes on the pool follow within a tick; the answer waits for them, so
     * that no admission that starts after it is decided on the old licenses. */
    c->reload_seen = seat_pool_request_reload(gate_pool(c->gate));
    seat_pool_reload_ack(gate_pool(c->gate), c->reload_seen);
    gate_logf(c->gate, GATE_LOG_NOTE, "reload requested through the control socket");
    for (int64_t end = clock_monotonic_ms() + CONTROL_FOLLOW_MS;
         !(followed = seat_pool_reload_followed(gate_pool(c->gate), c->reload_seen, &laggard)) &&
         clock_monotonic_ms() < end;)
        clock_sleep_ms(10);
    o = response_new(true);
    json_object_object_add(o, "followed", json_object_new_boolean(followed));
    if (!followed)
        json_object_object_add(o, "waiting_for_pid", json_object_new_int64(laggard));
    json_object_object_add(o, "limit", json_object_new_int64(res.limit));
    json_object_object_add(o, "evaluation", json_object_new_boolean(res.evaluation));
    json_object_object_add(o, "files", json_object_new_int64((int64_t)res.files));
    json_object_object_add(o, "counted", json_object_new_int64((int64_t)res.counted));
    send_json(fd, o);
}

static void reply_metrics(struct control *c, int fd)
{
    struct gate_machine_status ms;
    struct seat_pool_status st;
    struct license_set set = {0};
    struct control_numbers nums = {.pool = gate_config(c->gate)->pool, .st = &st};
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    json_object *o;

    seat_pool_snapshot(gate_pool(c->gate), &st);
    nums.limit = gate_limit(c->gate, &nums.evaluation);
    gate_machine_status(c->gate, &ms);
    nums.eval_in_use = ms.eval_in_use;
    mem = open_memstream(&text, &len);
    if (mem == NULL || gate_copy_licenses(c->gate, &set) != 0) {
        if (mem != NULL)
            fclose(mem);
        free(text);
        send_error(fd, "out of memory");
        return;
    }
    control_render_metrics(mem, &nums, &set, gate_now(c->gate));
    fclose(mem);
    license_set_free(&set);
    o = response_new(true);
    add_str(o, "metrics", text);
    free(text);
    send_json(fd, o);
}

static void reply_version(struct control *c, int fd)
{
    json_object *o = response_new(true);

    add_str(o, "version", PACKAGE_VERSION);
    json_object_object_add(o, "development_build",
                           json_object_new_boolean(gate_development_keys(c->gate)));
    send_json(fd, o);
}

static void control_run(struct control *c, struct control_conn *conn, enum control_command cmd)
{
    if (control_command_needs_root(cmd) && !conn->root) {
        char msg[128];
        snprintf(msg, sizeof(msg), "permission denied: %s needs root", control_command_name(cmd));
        send_error(conn->fd, msg);
        return;
    }
    switch (cmd) {
    case CONTROL_STATUS:
        reply_status(c, conn->fd);
        break;
    case CONTROL_SESSIONS:
        reply_sessions(c, conn->fd);
        break;
    case CONTROL_LICENSES:
        reply_licenses(c, conn->fd);
        break;
    case CONTROL_RELOAD:
        reply_reload(c, conn->fd);
        break;
    case CONTROL_METRICS:
        reply_metrics(c, conn->fd);
        break;
    case CONTROL_VERSION:
        reply_version(c, conn->fd);
        break;
    }
}

/* ------------------------------------------------------------------ connections */

static void conn_close(struct control *c, size_t i)
{
    close(c->conns[i].fd);
    c->conns[i] = c->conns[--c->nconns];
}

static void control_accept(struct control *c)
{
    for (;;) {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        int fd;
        char msg[192];

        if (usock_accept(c->listen_fd, &fd) != 0)
            return;
        /* Credentials decide before a byte of the request is read. */
        if (usock_peer(fd, &uid, &gid, &pid) != 0) {
            send_error(fd, "permission denied: peer credentials unavailable");
            close(fd);
            continue;
        }
        if (uid != 0 && !(c->have_group && usock_uid_in_group(uid, c->read_gid))) {
            if (c->have_group)
                snprintf(msg, sizeof(msg),
                         "permission denied: uid %u is not root or a member of group '%s'",
                         (unsigned)uid, gate_config(c->gate)->control_group);
            else
                snprintf(msg, sizeof(msg),
                         "permission denied: uid %u is not root (no control-group configured)",
                         (unsigned)uid);
            send_error(fd, msg);
            close(fd);
            continue;
        }
        if (c->nconns == CONTROL_MAX_CONNS) {
            send_error(fd, "too many control connections; retry");
            close(fd);
            continue;
        }
        c->conns[c->nconns++] = (struct control_conn){
            .fd = fd, .root = uid == 0, .deadline = now_ms() + CONTROL_READ_MS};
    }
}

/* Returns true when the connection is finished (answered or failed). */
static bool control_read(struct control *c, struct control_conn *conn)
{
    enum control_command cmd;
    char err[160];
    bool eof = false;
    long n;
    int r;

    n = usock_read(conn->fd, conn->buf + conn->len, sizeof(conn->buf) - conn->len);
    if (n < 0)
        return n != -EAGAIN;
    if (n == 0)
        eof = true;
    conn->len += (size_t)n;
    r = control_parse_request(conn->buf, conn->len, eof, &cmd, err, sizeof(err));
    if (r == -EAGAIN && conn->len == sizeof(conn->buf))
        r = control_parse_request(conn->buf, conn->len, true, &cmd, err, sizeof(err));
    if (r == -EAGAIN)
        return false;
    if (r < 0)
        send_error(conn->fd, err);
    else
        control_run(c, conn, cmd);
    return true;
}

/* ------------------------------------------------------------------ the thread */

static void control_try_lead(struct control *c)
{
    char err[256];
    int r;

    if (c->lock_fd < 0) {
        r = usock_lock_try(c->lock_path, &c->owner, &c->lock_fd);
        if (r == -EWOULDBLOCK)
            return;
        if (r < 0) {
            if (!c->lead_error_said)
                gate_logf(c->gate, GATE_LOG_ERR, "control lock %s: %s", c->lock_path, strerror(-r));
            c->lead_error_said = true;
            return;
        }
    }
    r = usock_listen(c->path, &c->owner, &c->listen_fd, err, sizeof(err));
    if (r < 0) {
        if (!c->lead_error_said)
            gate_logf(c->gate, GATE_LOG_ERR, "control socket: %s", err);
        c->lead_error_said = true;
        close(c->lock_fd);
        c->lock_fd = -1;
        return;
    }
    c->lead_error_said = false;
    usock_path_id(c->path, &c->sock_id);
    gate_logf(c->gate, GATE_LOG_NOTE, "serving the control socket %s for pool '%s'", c->path,
              gate_config(c->gate)->pool);
}

/* The serving process's socket and lock file are still at their paths: a directory removed or
 * replaced under it (rm -rf /run/licgate/<pool>) lets another process lock and bind anew, and
 * two would serve, then the first to stop would remove the other's socket. When they are not,
 * it stops serving (its files are gone anyway) and contends for the lock again. */
static void control_check_lead(struct control *c)
{
    struct usock_id lock_now, lock_held, sock_now;

    if (c->listen_fd < 0)
        return;
    if (usock_path_id(c->lock_path, &lock_now) == 0 && usock_fd_id(c->lock_fd, &lock_held) == 0 &&
        lock_now.dev == lock_held.dev && lock_now.ino == lock_held.ino &&
        usock_path_id(c->path, &sock_now) == 0 && sock_now.dev == c->sock_id.dev &&
        sock_now.ino == c->sock_id.ino)
        return;
    gate_logf(c->gate, GATE_LOG_WARN,
              "the control socket %s or its lock file was removed or replaced: this process "
              "stops serving it and contends for it again",
              c->path);
    close(c->listen_fd);
    c->listen_fd = -1;
    close(c->lock_fd);
    c->lock_fd = -1;
}

static void control_follow_reloads(struct control *c)
{
    uint32_t want = seat_pool_reload_requests(gate_pool(c->gate));
    char err[512];

    if (want == c->reload_seen)
        return;
    c->reload_seen = want;
    gate_reload(c->gate, NULL, err, sizeof(err));
    seat_pool_reload_ack(gate_pool(c->gate), want);
}

static void control_reclaim(struct control *c)
{
    int n = seat_pool_reclaim_dead(gate_pool(c->gate));

    if (n > 0)
        gate_logf(c->gate, GATE_LOG_WARN, "reclaimed %d seats held by openvpn processes that died",
                  n);
}

/* One warning a day per license in the openvpn log; status shows them always. */
static void control_warn_expiry(struct control *c)
{
    struct license_set set = {0};
    int64_t now = gate_now(c->gate), today = now / 86400;
    char why[256];

    if (gate_copy_licenses(c->gate, &set) != 0)
        return;
    for (size_t i = 0; i < set.count; i++) {
        const struct license_entry *e = &set.entries[i];
        size_t k;

        if (!license_entry_counts(e) || !control_license_warning(&e->lic, now, why, sizeof(why)))
            continue;
        for (k = 0; k < c->nwarned; k++) {
            if (strcmp(c->warned[k].key_id, e->lic.key_id) == 0)
                break;
        }
        if (k == c->nwarned) {
            if (k == CONTROL_WARNED_MAX)
                continue;
            snprintf(c->warned[k].key_id, sizeof(c->warned[k].key_id), "%s", e->lic.key_id);
            c->warned[k].day = -1;
            c->nwarned++;
        }
        if (c->warned[k].day == today)
            continue;
        c->warned[k].day = today;
        gate_logf(c->gate, GATE_LOG_WARN, "license '%s' (key %s): %s", e->file, e->lic.key_id, why);
    }
    license_set_free(&set);
}

/* The failover address is looked at every tick (250 ms): a node that gains or
 * loses it changes role within that delay, off the admission path. */
static void control_follow_failover(struct control *c)
{
    const char *vip = gate_config(c->gate)->failover_vip;
    int held = 0;

    if (vip[0] == '\0' || netlink_has_address(vip, &held) < 0)
        return;
    gate_set_failover_active(c->gate, held != 0);
}

static void control_maintain(struct control *c, long now)
{
    if (c->serve)
        control_check_lead(c);
    if (c->serve && c->listen_fd < 0)
        control_try_lead(c);
    control_follow_reloads(c);
    control_follow_failover(c);
    gate_clock_tick(c->gate);
    if (now >= c->next_reclaim) {
        control_reclaim(c);
        gate_check_claims(c->gate);
        gate_audit(c->gate);
        c->next_reclaim = now + CONTROL_RECLAIM_MS;
    } else if (gate_machine_changed(c->gate)) {
        gate_check_claims(c->gate); /* a process came or went, a claim moved */
    }
    if (now >= c->next_warn) {
        control_warn_expiry(c);
        c->next_warn = now + CONTROL_WARN_MS;
    }
}

static void *control_main(void *arg)
{
    struct control *c = arg;
    struct pollfd pfd[2 + CONTROL_MAX_CONNS];
    long next_tick = 0;

    for (;;) {
        long now = now_ms(), timeout = CONTROL_TICK_MS;
        size_t n = 0, first_conn;

        if (now >= next_tick) {
            control_maintain(c, now);
            next_tick = now + CONTROL_TICK_MS;
        }
        for (size_t i = 0; i < c->nconns;) {
            if (now >= c->conns[i].deadline) {
                send_error(c->conns[i].fd, "request timed out");
                conn_close(c, i);
                continue;
            }
            if (c->conns[i].deadline - now < timeout)
                timeout = c->conns[i].deadline - now;
            i++;
        }
        if (next_tick - now < timeout)
            timeout = next_tick - now;
        pfd[n++] = (struct pollfd){.fd = c->stop_pipe[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
        first_conn = n;
        for (size_t i = 0; i < c->nconns; i++)
            pfd[n++] = (struct pollfd){.fd = c->conns[i].fd, .events = POLLIN};
        if (poll(pfd, n, (int)(timeout > 0 ? timeout : 0)) < 0 && errno != EINTR)
            continue;
        if (pfd[0].revents != 0)
            break;
        /* connections first: accepting may reorder the table */
        for (size_t i = c->nconns; i-- > 0;) {
            if (pfd[first_conn + i].revents == 0)
                continue;
            if (control_read(c, &c->conns[i]))
                conn_close(c, i);
        }
        if (c->listen_fd >= 0 && pfd[1].revents != 0)
            control_accept(c);
    }
    while (c->nconns > 0)
        conn_close(c, 0);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        usock_unlink_if(c->path, &c->sock_id);
    }
    if (c->lock_fd >= 0)
        close(c->lock_fd);
    return NULL;
}

static int control_dirname(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (n == 0 || n >= len)
        return -EINVAL;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 0;
}

int control_start(struct gate *gate, struct control **out, char *err, size_t errlen)
{
    const struct gate_config *cfg = gate_config(gate);
    struct control *c;
    char dir[CONFIG_SOCKET_MAX + 1];
    sigset_t all, old;
    int r;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->gate = gate;
    c->lock_fd = c->listen_fd = -1;
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    c->reload_seen = seat_pool_reload_requests(gate_pool(gate));
    c->serve = !cfg->control_disabled;
    if (!c->serve)
        goto start;
    r = config_control_socket(cfg, c->path, sizeof(c->path));
    if (r < 0 || control_dirname(c->path, dir, sizeof(dir)) < 0) {
        snprintf(err, errlen, "control socket path too long or without a directory");
        r = -EINVAL;
        goto fail;
    }
    snprintf(c->lock_path, sizeof(c->lock_path), "%s%s", c->path, CONTROL_LOCK_SUFFIX);
    if (cfg->user[0] != '\0' && account_user(cfg->user, &c->owner.uid) == 0)
        c->owner.set_uid = true;
    if (cfg->control_group[0] != '\0') {
        r = account_group(cfg->control_group, &c->read_gid);
        if (r < 0) {
            snprintf(err, errlen, "control-group=%s: %s", cfg->control_group,
                     r == -ENOENT ? "no such group" : strerror(-r));
            goto fail;
        }
        c->have_group = true;
        c->owner.gid = c->read_gid;
        c->owner.set_gid = true;
    }
    /* The socket's own directory belongs to the runtime user, so that a
     * SIGHUP re-open after the privilege drop can bind there again; its
     * parents (RUNDIR, shared by the pools) stay root's, 0755. */
    r = fs_mkdir_parents(dir);
    if (r < 0) {
        snprintf(err, errlen, "mkdir parents of %s: %s", dir, strerror(-r));
        goto fail;
    }
    r = usock_prepare_dir(dir, &c->owner, err, errlen);
    if (r < 0)
        goto fail;
start:
    if (pipe2(c->stop_pipe, O_CLOEXEC) != 0) {
        r = -errno;
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    /* The thread must never take OpenVPN's signals. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = -pthread_create(&c->thread, NULL, control_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        snprintf(err, errlen, "control thread: %s", strerror(-r));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (c->stop_pipe[0] >= 0) {
        close(c->stop_pipe[0]);
        close(c->stop_pipe[1]);
    }
    free(c);
    return r;
}

void control_stop(struct control *c)
{
    if (c == NULL)
        return;
    if (write(c->stop_pipe[1], "x", 1) != 1) {
        /* the pipe is empty and ours: cannot fail short of a bug */
    }
    pthread_join(c->thread, NULL);
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    free(c);
}
