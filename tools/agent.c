/* See agent.h. The order of every step is what keeps the seats right:
 * a grant grows in etcd (a transaction over the whole prefix) before the
 * pool may use it, and shrinks in the pool before etcd lists it smaller; the
 * deadline the pool admits until is computed from the send time of the last
 * keepalive etcd answered, so etcd cannot hand this node's seats to another
 * while this node may still admit on them. */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl_render.h"
#include "errbuf.h"
#include "fs.h"
#include "license.h"
#include "thread.h"
#include "usock.h"

#define SOCKET_TIMEOUT_MS 2000
#define ANSWER_MAX        (1024 * 1024)
#define KEY_BUF           (ETCD_KEY_MAX + 1)
#define REWRITE_TICKS     12 /* the value is rewritten this often even when nothing changed */
#define STATUS_TICKS      6  /* etcd's health is asked this often */
#define AGENT_ROUNDS      16 /* rounds kept: at 0.5 s (R = 3 s) 8 s, AGENT_BURST_MS and more */

struct agent {
    struct gate_config cfg;
    char node[CONFIG_NODE_MAX + 1];
    char socket[CONFIG_SOCKET_MAX + 1];
    char lease_path[CONFIG_PATH_MAX + CONFIG_POOL_MAX + 32];
    struct etcd *etcd;
    /* the pool, as it last answered */
    bool pool_up;
    int64_t down_since; /* when the pool stopped answering, 0 while it answers */
    char cluster[LICENSE_KEY_ID_MAX + 1];
    uint32_t seats, in_use, peak, local;
    uint64_t refusals; /* the pool's refusals at the limit, as last read */
    bool refusals_read;
    uint32_t waiting;                        /* clients refused lately and not seated since */
    struct agent_round rounds[AGENT_ROUNDS]; /* the last rounds, for agent_burst */
    unsigned round_next;
    int64_t demand_until; /* CLOCK_MONOTONIC ms: cluster-hold after the last refusal */
    /* this node in etcd */
    int64_t lease, ttl_s, deadline_ms;
    uint32_t held;   /* what the pool may admit on */
    uint32_t stored; /* what etcd lists for this node: never below held */
    bool want;
    uint32_t written_used;
    unsigned since_write, ticks;
    /* the others, as last read */
    struct agent_node others[AGENT_VIEW_MAX];
    size_t nothers;
    bool etcd_ok;
    char etcd_error[512];
    struct etcd_status health;
    bool have_health;
    char last_said[256];
};

static void say(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr, not repeated while it stays the same. */
static void say(struct agent *a, const char *fmt, ...)
{
    char line[sizeof(a->last_said)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (strcmp(line, a->last_said) == 0)
        return;
    snprintf(a->last_said, sizeof(a->last_said), "%s", line);
    fprintf(stderr, "licgate-agent: %s\n", line);
}

int agent_interval_ms(const struct agent *a)
{
    int64_t ttl = a->ttl_s > 0 ? a->ttl_s : a->cfg.cluster_lease;

    return (int)(ttl * 1000 / 6);
}

/* ------------------------------------------------------------------ setup */

static int split_endpoints(char *list, struct etcd_config *ec)
{
    for (char *p = strtok(list, ","); p != NULL; p = strtok(NULL, ","))
        if (ec->nendpoints < ETCD_MAX_ENDPOINTS)
            ec->endpoints[ec->nendpoints++] = p;
    return ec->nendpoints > 0 ? 0 : -EINVAL;
}

int agent_open(const struct gate_config *cfg, struct agent **out, char *err, size_t errlen)
{
    struct etcd_config ec = {.timeout_ms = 2000};
    char endpoints[CONFIG_ETCD_MAX + 1];
    struct agent *a;
    int r;

    *out = NULL;
    if (cfg->cluster_etcd[0] == '\0')
        return errbuf_fail(err, errlen, -EINVAL,
                           "cluster-etcd is not set: licgate-agent shares a cluster license's "
                           "seats through etcd (docs/cluster.md)");
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return errbuf_fail(err, errlen, -ENOMEM, "out of memory");
    a->cfg = *cfg;
    snprintf(a->node, sizeof(a->node), "%s", cfg->cluster_node);
    if (a->node[0] == '\0' && host_name(a->node, sizeof(a->node)) != 0) {
        free(a);
        return errbuf_fail(err, errlen, -EINVAL, "cannot read the host name: set cluster-node");
    }
    r = config_control_socket(cfg, a->socket, sizeof(a->socket));
    if (r == 0 && cfg->control_disabled)
        r = errbuf_fail(err, errlen, -EINVAL,
                        "control-socket is none: licgate-agent hands the grant to openvpn "
                        "through it");
    snprintf(a->lease_path, sizeof(a->lease_path), "%s/cluster-lease.%s", cfg->state_dir,
             cfg->pool);
    snprintf(endpoints, sizeof(endpoints), "%s", cfg->cluster_etcd);
    if (r == 0 && split_endpoints(endpoints, &ec) != 0)
        r = errbuf_fail(err, errlen, -EINVAL, "cluster-etcd names no endpoint");
    ec.ca_file = cfg->cluster_ca[0] ? cfg->cluster_ca : NULL;
    ec.cert_file = cfg->cluster_cert[0] ? cfg->cluster_cert : NULL;
    ec.key_file = cfg->cluster_key[0] ? cfg->cluster_key : NULL;
    if (r == 0)
        r = etcd_open(&ec, &a->etcd, err, errlen);
    if (r != 0) {
        free(a);
        return r;
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------ the pool */

/* One request on the pool's control socket: 0 and *resp, or -errno (said). */
static int pool_request(struct agent *a, const char *line, json_object **resp)
{
    char *buf = NULL, err[256];
    enum usock_stage stage;
    size_t len = 0;
    int r;

    *resp = NULL;
    r = usock_request(a->socket, line, SOCKET_TIMEOUT_MS, ANSWER_MAX, &buf, &len, &stage);
    if (r == 0)
        r = ctl_parse_response(buf, len, resp, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "%s", strerror(-r));
    free(buf);
    if (r < 0)
        say(a, "pool '%s' (%s): %s", a->cfg.pool, a->socket, err);
    return r;
}

static uint32_t member_u32(json_object *o, const char *key)
{
    json_object *v;
    int64_t n;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_int))
        return 0;
    n = json_object_get_int64(v);
    return n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The clients waiting for a seat, from one round to the next (agent_waiting); they count for
 * cluster-hold after the last refusal. */
static void waiting_count(struct agent *a, uint32_t in_use, uint32_t refused)
{
    uint32_t seated = in_use > a->in_use ? in_use - a->in_use : 0;
    uint32_t fresh = refused > a->refusals   ? refused - (uint32_t)a->refusals
                     : refused < a->refusals ? 1 /* the pool restarted and refused since */
                                             : 0;
    int64_t now = clock_monotonic_ms();

    a->rounds[a->round_next++ % AGENT_ROUNDS] =
        (struct agent_round){.at = now, .refused = fresh, .seated = seated};
    if (now >= a->demand_until)
        a->waiting = 0;
    a->waiting = agent_waiting(a->waiting, seated,
                               fresh > 0 ? agent_burst(a->rounds, AGENT_ROUNDS, now) : 0, a->seats);
    if (fresh > 0)
        a->demand_until = now + (int64_t)a->cfg.cluster_hold * 1000;
}

/* What the pool uses and which cluster license counts there. */
static void pool_read(struct agent *a)
{
    json_object *resp, *c = NULL, *key, *refusals = NULL;
    uint32_t usable, refused, in_use;

    a->pool_up = pool_request(a, "status\n", &resp) == 0;
    if (!a->pool_up)
        return; /* what it said last stands */
    a->seats = 0;
    a->cluster[0] = '\0';
    json_object_object_get_ex(resp, "cluster", &c);
    if (c != NULL && json_object_is_type(c, json_type_object) &&
        json_object_object_get_ex(c, "key", &key) && json_object_is_type(key, json_type_string)) {
        snprintf(a->cluster, sizeof(a->cluster), "%s", json_object_get_string(key));
        a->seats = member_u32(c, "seats");
    }
    in_use = member_u32(resp, "in_use");
    a->peak = member_u32(resp, "peak");
    json_object_object_get_ex(resp, "refusals", &refusals);
    refused = member_u32(refusals, "limit");
    if (a->refusals_read)
        waiting_count(a, in_use, refused);
    a->in_use = in_use;
    a->refusals = refused;
    a->refusals_read = true;
    usable = member_u32(c, "usable");
    a->local = member_u32(resp, "limit") > usable ? member_u32(resp, "limit") - usable : 0;
    json_object_put(resp);
    /* a cluster id names keys under /licgate/: the plugin verified it as a key id */
    if (a->cluster[0] != '\0' &&
        strspn(a->cluster, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(a->cluster))
        a->cluster[0] = '\0';
}

static void pool_grant(struct agent *a, uint32_t grant, int64_t deadline_ms)
{
    char line[96];
    json_object *resp;

    snprintf(line, sizeof(line), "cluster-grant %u %" PRId64 "\n", grant,
             deadline_ms > 0 ? deadline_ms : 0);
    if (pool_request(a, line, &resp) == 0)
        json_object_put(resp);
}

/* The seats of the cluster this node uses: beyond what its other licenses give. */
static uint32_t cluster_used(const struct agent *a)
{
    return a->in_use > a->local ? a->in_use - a->local : 0;
}

/* ------------------------------------------------------------------ the lease */

static void lease_forget(struct agent *a)
{
    a->lease = 0;
    a->held = a->stored = 0;
    a->deadline_ms = 0;
    fs_unlink(a->lease_path);
}

/* A lease a previous agent held and etcd still keeps: taken back with its grant. */
static void lease_restore(struct agent *a)
{
    char *text = NULL, *end, err[256];
    size_t len = 0;
    int64_t id, ttl;

    if (fs_read_bounded(a->lease_path, 32, &text, &len) != 0)
        return;
    id = strtoll(text, &end, 10);
    if (end != text && (*end == '\n' || *end == '\0') && id > 0 &&
        etcd_lease_keepalive(a->etcd, id, &ttl, err, sizeof(err)) == 0) {
        a->lease = id;
        a->ttl_s = ttl;
        say(a, "took back lease %" PRIx64 " of the previous agent (%" PRId64 " s left)",
            (uint64_t)id, ttl);
    }
    free(text);
}

static int lease_new(struct agent *a)
{
    char err[512], text[32];
    int64_t id, ttl, sent = clock_monotonic_ms();
    int r;

    r = etcd_lease_grant(a->etcd, a->cfg.cluster_lease, &id, &ttl, err, sizeof(err));
    if (r != 0) {
        say(a, "etcd: %s", err);
        return r;
    }
    a->lease = id;
    a->ttl_s = ttl;
    a->deadline_ms = sent + ttl * 1000 * (100 - AGENT_RATE_PERCENT) / 100 - AGENT_MARGIN_MS;
    snprintf(text, sizeof(text), "%" PRId64 "\n", id);
    r = fs_mkdir_parents(a->lease_path);
    if (r == 0)
        r = fs_write_atomic(a->lease_path, text, strlen(text), 0600);
    if (r != 0)
        say(a, "cannot keep the lease id in %s: %s", a->lease_path, strerror(-r));
    return 0;
}

/* Renews the lease: the deadline moves on only when etcd answered. */
static int lease_renew(struct agent *a)
{
    char err[512];
    int64_t ttl, sent = clock_monotonic_ms();
    int r = etcd_lease_keepalive(a->etcd, a->lease, &ttl, err, sizeof(err));

    if (r == -ENOENT) {
        say(a, "lease %" PRIx64 " ran out: the node holds no seats until it gets new ones",
            (uint64_t)a->lease);
        pool_grant(a, 0, 0);
        lease_forget(a);
        return r;
    }
    if (r != 0) {
        snprintf(a->etcd_error, sizeof(a->etcd_error), "%s", err);
        say(a, "etcd: %s (the node admits until its deadline, then freezes)", err);
        return r;
    }
    a->ttl_s = ttl;
    a->deadline_ms = sent + ttl * 1000 * (100 - AGENT_RATE_PERCENT) / 100 - AGENT_MARGIN_MS;
    return 0;
}

/* ------------------------------------------------------------------ grants */

static void grant_prefix(const struct agent *a, char *buf, size_t len)
{
    snprintf(buf, len, "/licgate/%s/grants/", a->cluster);
}

/* Reads every node's grant: the others into a->others, this node's into a->stored (when it is
 * on this node's lease). An unreadable value of another node counts as all the seats. 0 and
 * the revision, or -errno. */
static int grants_read(struct agent *a, int64_t *revision)
{
    char prefix[KEY_BUF], err[512];
    struct etcd_kv *kvs = NULL;
    size_t n = 0, plen;
    int r;

    grant_prefix(a, prefix, sizeof(prefix));
    plen = strlen(prefix);
    r = etcd_range_prefix(a->etcd, prefix, &kvs, &n, revision, err, sizeof(err));
    if (r != 0) {
        snprintf(a->etcd_error, sizeof(a->etcd_error), "%s", err);
        say(a, "etcd: %s", err);
        return r;
    }
    a->nothers = 0;
    for (size_t i = 0; i < n; i++) {
        struct agent_node node = {0};
        const char *name = kvs[i].key + plen;

        if (agent_node_parse(kvs[i].value, kvs[i].value_len, &node) != 0) {
            say(a, "etcd: %s holds no grant licgate-agent reads: all seats count as taken",
                kvs[i].key);
            node.grant = UINT32_MAX;
        }
        snprintf(node.name, sizeof(node.name), "%s", name);
        if (strcmp(name, a->node) == 0) {
            if (kvs[i].lease == a->lease && node.grant != UINT32_MAX)
                a->stored = node.grant;
            continue;
        }
        if (a->nothers < AGENT_VIEW_MAX)
            a->others[a->nothers++] = node;
    }
    free(kvs);
    return 0;
}

/* Writes this node's value at grant, comparing that the prefix did not change since revision. */
static int grant_write(struct agent *a, uint32_t grant, int64_t revision, bool *written)
{
    struct agent_node me = {
        .grant = grant, .used = cluster_used(a), .peak = a->peak, .want = a->want};
    char prefix[KEY_BUF], key[KEY_BUF + CONFIG_NODE_MAX], value[128], err[512];
    int64_t rev;
    int len, r;

    grant_prefix(a, prefix, sizeof(prefix));
    snprintf(key, sizeof(key), "%s%s", prefix, a->node);
    len = agent_node_format(&me, value, sizeof(value));
    r = etcd_txn_put_if_unchanged(a->etcd, prefix, revision, key, value, (size_t)len, a->lease,
                                  written, &rev, err, sizeof(err));
    if (r != 0) {
        snprintf(a->etcd_error, sizeof(a->etcd_error), "%s", err);
        say(a, "etcd: %s", err);
        return r;
    }
    if (*written) {
        a->stored = grant;
        a->written_used = me.used;
        a->since_write = 0;
    }
    return 0;
}

/* The clients this node refused lately that are still to be seated. */
static uint32_t waiting(const struct agent *a)
{
    return clock_monotonic_ms() < a->demand_until ? a->waiting : 0;
}

/* Grows or shrinks this node's grant by the plan; the pool's share follows in the safe order. */
static void grants_apply(struct agent *a, int64_t revision)
{
    uint32_t used = cluster_used(a);
    struct agent_plan plan =
        agent_plan(a->seats, a->stored, used, waiting(a), a->others, a->nothers);
    uint32_t block = agent_block(a->seats, a->nothers + 1, a->seats);
    bool written = false, changed = plan.grant != a->stored || plan.want != a->want;
    /* the use others see moves by blocks: a write per admission would cost etcd more than
     * the cluster gains from a fresher number */
    bool moved = used > a->written_used + block || used + block < a->written_used;

    a->want = plan.want;
    if (plan.grant < a->held) { /* the pool first, then etcd */
        a->held = plan.grant;
        pool_grant(a, a->held, a->deadline_ms);
    }
    if (changed || moved || ++a->since_write >= REWRITE_TICKS) {
        if (grant_write(a, plan.grant, revision, &written) == 0 && !written)
            say(a, "etcd: another node changed its grant meanwhile: trying again next round");
    }
    if (written && plan.grow)
        say(a, "holds %u of cluster %s's %u seats (uses %u)", plan.grant, a->cluster, a->seats,
            used);
    if (a->held < a->stored && a->stored <= a->seats)
        a->held = a->stored; /* etcd lists it: the pool may use it */
}

/* ------------------------------------------------------------------ status file */

static void status_write(struct agent *a)
{
    json_object *o = json_object_new_object(), *nodes = json_object_new_array(), *me, *e;
    char path[sizeof(AGENT_STATUS_DIR) + CONFIG_POOL_MAX + 8];
    const char *text;
    int r;

    if (o == NULL || nodes == NULL) {
        json_object_put(o);
        json_object_put(nodes);
        return;
    }
    json_object_object_add(o, "node", json_object_new_string(a->node));
    json_object_object_add(o, "cluster", json_object_new_string(a->cluster));
    json_object_object_add(o, "seats", json_object_new_int64(a->seats));
    json_object_object_add(o, "lease_ttl", json_object_new_int64(a->ttl_s));
    me = json_object_new_object();
    json_object_object_add(me, "name", json_object_new_string(a->node));
    json_object_object_add(me, "grant", json_object_new_int64(a->held));
    json_object_object_add(me, "used", json_object_new_int64(cluster_used(a)));
    json_object_object_add(me, "peak", json_object_new_int64(a->peak));
    json_object_object_add(me, "want", json_object_new_boolean(a->want));
    json_object_array_add(nodes, me);
    for (size_t i = 0; i < a->nothers; i++) {
        json_object *n = json_object_new_object();

        json_object_object_add(n, "name", json_object_new_string(a->others[i].name));
        json_object_object_add(
            n, "grant",
            a->others[i].grant == UINT32_MAX ? NULL : json_object_new_int64(a->others[i].grant));
        json_object_object_add(n, "used", json_object_new_int64(a->others[i].used));
        json_object_object_add(n, "peak", json_object_new_int64(a->others[i].peak));
        json_object_object_add(n, "want", json_object_new_boolean(a->others[i].want));
        json_object_array_add(nodes, n);
    }
    json_object_object_add(o, "nodes", nodes);
    e = json_object_new_object();
    json_object_object_add(e, "endpoint", json_object_new_string(etcd_endpoint(a->etcd)));
    json_object_object_add(e, "ok", json_object_new_boolean(a->etcd_ok));
    json_object_object_add(e, "error", a->etcd_ok ? NULL : json_object_new_string(a->etcd_error));
    if (a->have_health) {
        char id[24];

        snprintf(id, sizeof(id), "%" PRIx64, a->health.leader);
        json_object_object_add(e, "leader", json_object_new_string(id));
        json_object_object_add(e, "version", json_object_new_string(a->health.version));
    }
    json_object_object_add(o, "etcd", e);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    snprintf(path, sizeof(path), "%s/%s.json", AGENT_STATUS_DIR, a->cfg.pool);
    r = fs_mkdir_mode(AGENT_STATUS_DIR, 0755);
    if (r == 0)
        r = fs_write_atomic(path, text, strlen(text), 0644);
    if (r != 0)
        say(a, "cannot write %s: %s", path, strerror(-r));
    json_object_put(o);
}

/* ------------------------------------------------------------------ a round */

/* The pool uses none of the cluster, or has none: this node holds nothing. */
static void stand_down(struct agent *a, const char *why)
{
    char err[512];

    if (a->lease != 0 && etcd_lease_revoke(a->etcd, a->lease, err, sizeof(err)) == 0)
        lease_forget(a);
    say(a, "%s: holding no seats", why);
}

void agent_tick(struct agent *a)
{
    int64_t revision = 0;
    char err[512];

    a->ticks++;
    pool_read(a);
    if (a->pool_up)
        a->down_since = 0;
    else if (a->down_since == 0)
        a->down_since = clock_monotonic_ms();
    if (a->pool_up && a->cluster[0] == '\0') {
        stand_down(a, "no cluster license counts in this pool");
        return;
    }
    /* openvpn restarting keeps its seats for a lease's time; gone longer, they go back */
    if (!a->pool_up && clock_monotonic_ms() - a->down_since > a->ttl_s * 1000) {
        stand_down(a, "openvpn does not answer on the control socket");
        return;
    }
    if (!a->pool_up && a->lease == 0)
        return;
    if (a->lease == 0)
        lease_restore(a);
    if (a->lease == 0 ? lease_new(a) != 0 : lease_renew(a) != 0) {
        a->etcd_ok = false;
        status_write(a);
        return;
    }
    a->etcd_ok = grants_read(a, &revision) == 0;
    if (a->etcd_ok)
        grants_apply(a, revision);
    pool_grant(a, a->held, a->deadline_ms);
    if (a->ticks % STATUS_TICKS == 1)
        a->have_health = etcd_status(a->etcd, &a->health, err, sizeof(err)) == 0;
    status_write(a);
}

void agent_close(struct agent *a)
{
    char err[512];

    if (a == NULL)
        return;
    if (a->lease != 0 && a->pool_up && cluster_used(a) == 0 &&
        etcd_lease_revoke(a->etcd, a->lease, err, sizeof(err)) == 0) {
        pool_grant(a, 0, 0);
        lease_forget(a);
    }
    etcd_close(a->etcd);
    free(a);
}
