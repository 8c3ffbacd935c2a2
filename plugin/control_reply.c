#include "control_reply.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "license.h"
#include "proc.h"
#include "text.h"
#include "usage.h"

static int take_session(const struct seat_session *s, void *arg)
{
    struct control_snapshot *snap = arg;
    struct seat_session *grown;

    if (snap->nsessions % 64 == 0) {
        grown = reallocarray(snap->sessions, snap->nsessions + 64, sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        snap->sessions = grown;
    }
    snap->sessions[snap->nsessions++] = *s;
    return 0;
}

static void take_cluster(struct gate *gate, struct control_cluster *c)
{
    c->seats = gate_cluster_seats(gate);
    c->usable = gate_cluster_grant(gate, &c->deadline_ms);
    seat_pool_cluster(gate_pool(gate), &c->grant, &c->deadline_ms);
    c->monotonic_ms = clock_monotonic_ms();
}

static void cluster_key(const struct license_set *set, struct control_cluster *c)
{
    const struct license_entry *e = license_set_cluster(set);

    if (e != NULL)
        snprintf(c->key, sizeof(c->key), "%s", e->lic.key_id);
}

int control_snapshot_take(struct gate *gate, enum control_command cmd, unsigned days,
                          struct control_snapshot *s)
{
    const struct gate_config *cfg = gate_config(gate);
    int r = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->pool, sizeof(s->pool), "%s", cfg->pool);
    snprintf(s->license_dir, sizeof(s->license_dir), "%s", cfg->license_dir);
    seat_pool_snapshot(gate_pool(gate), &s->st);
    s->limit = gate_limit(gate, &s->evaluation);
    s->development = gate_development_keys(gate);
    s->served_by = proc_self_pid();
    gate_machine_status(gate, &s->machine);
    s->has_failover = cfg->failover_vip[0] != '\0';
    snprintf(s->vip, sizeof(s->vip), "%s", cfg->failover_vip);
    s->failover_active = gate_failover_active(gate);
    s->now = gate_now(gate);
    s->rollback = gate_clock_state(gate, &s->clock, &s->mark);
    take_cluster(gate, &s->cluster);
    if (cmd != CONTROL_SESSIONS && cmd != CONTROL_VERSION && cmd != CONTROL_CLUSTER_GRANT)
        r = gate_copy_licenses(gate, &s->licenses);
    if (r == 0 && s->cluster.seats > 0)
        cluster_key(&s->licenses, &s->cluster);
    if (r == 0 && cmd == CONTROL_SESSIONS)
        r = seat_pool_foreach_session(gate_pool(gate), take_session, s);
    if (r == 0 && cmd == CONTROL_USAGE && days > 0) {
        s->usage = calloc(days, sizeof(*s->usage));
        if (s->usage == NULL)
            r = -ENOMEM;
        else
            s->nusage = gate_usage_days(gate, days, s->usage, days, &s->now);
    }
    if (r < 0)
        control_snapshot_free(s);
    return r;
}

void control_snapshot_free(struct control_snapshot *s)
{
    license_set_free(&s->licenses);
    free(s->sessions);
    free(s->usage);
    memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ JSON */

static json_object *response_new(bool ok)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "protocol", json_object_new_int(CONTROL_PROTOCOL));
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    return o;
}

/* Every string that crosses the socket: valid UTF-8, no control characters (but the
 * newlines of a text that is lines). */
static void add_text(json_object *o, const char *key, const char *value, unsigned flags)
{
    char *clean;

    if (value == NULL) {
        json_object_object_add(o, key, NULL);
        return;
    }
    clean = text_clean_dup(value, flags);
    json_object_object_add(o, key, clean != NULL ? json_object_new_string(clean) : NULL);
    free(clean);
}

static void add_str(json_object *o, const char *key, const char *value)
{
    add_text(o, key, value, 0);
}

static void add_line(json_object *array, const char *line)
{
    char *clean = text_clean_dup(line, 0);

    if (clean != NULL)
        json_object_array_add(array, json_object_new_string(clean));
    free(clean);
}

static void add_int(json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_bool(json_object *o, const char *key, bool v)
{
    json_object_object_add(o, key, json_object_new_boolean(v));
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

/* The object as one line with its newline; consumes o. */
static char *finish(json_object *o, size_t *len)
{
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(text);
    char *line = malloc(n + 2);

    if (line != NULL) {
        memcpy(line, text, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        *len = n + 1;
    }
    json_object_put(o);
    return line;
}

char *control_reply_error(const char *msg, size_t *len)
{
    json_object *o = response_new(false);

    add_str(o, "error", msg);
    return finish(o, len);
}

static void add_warnings(const struct control_snapshot *s, json_object *o)
{
    const struct license_set *set = &s->licenses;
    json_object *w = json_object_new_array();
    char line[1400], why[256], a[LICENSE_TIME_BUFSIZE], b[LICENSE_TIME_BUFSIZE];

    if (s->st.in_use > s->limit) {
        snprintf(line, sizeof(line),
                 "over the limit: %u in use, %u licensed: new connections are refused until %u "
                 "leave",
                 s->st.in_use, s->limit, s->st.in_use - s->limit);
        add_line(w, line);
    }
    if (s->rollback) {
        license_format_time(s->clock, a, sizeof(a));
        license_format_time(s->mark, b, sizeof(b));
        snprintf(line, sizeof(line),
                 "clock rollback detected: the system clock (%s) is behind the high-water mark "
                 "(%s); licenses are judged by the mark",
                 a, b);
        add_line(w, line);
    }
    if (s->development)
        add_line(w, "development build: the public development issuer key is trusted; anyone "
                    "can sign licenses for it");
    if (s->evaluation)
        add_line(w, "no valid license: evaluation mode with 2 seats (per machine, shared by "
                    "every pool)");
    if (set->skipped > 0) {
        snprintf(line, sizeof(line),
                 "license-dir %.900s: %zu *.lic files beyond the first %d (by name) skipped",
                 s->license_dir, set->skipped, LICENSE_SET_MAX_FILES);
        add_line(w, line);
    }
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];

        if (!e->loaded)
            snprintf(line, sizeof(line), "license '%s' skipped: %s", e->file, e->reason);
        else if (!license_entry_counts(e))
            snprintf(line, sizeof(line), "license '%s' (key %s) does not count: %s: %s", e->file,
                     e->lic.key_id, license_entry_state(e), e->reason);
        else if (control_license_warning(&e->lic, s->now, why, sizeof(why)))
            snprintf(line, sizeof(line), "license '%s' (key %s): %s", e->file, e->lic.key_id, why);
        else
            continue;
        add_line(w, line);
    }
    json_object_object_add(o, "warnings", w);
}

/* Whether e would count at time t, the rest of its state (binding, standby,
 * other pool) as it is now: license_entry_counts() is the one rule. */
static bool counts_at(const struct license_entry *e, int64_t t)
{
    struct license_entry at = *e;

    if (!e->loaded)
        return false;
    at.state = license_evaluate(&e->lic, t, NULL, 0);
    return license_entry_counts(&at);
}

int control_next_change(const struct license_set *set, int64_t now, int64_t *at, uint32_t *limit)
{
    uint64_t seats = 0;

    *at = INT64_MAX;
    *limit = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];
        int64_t t;

        /* once a counting license's state changes, it has stopped counting */
        if (!counts_at(e, now) || (t = license_next_change(&e->lic, now)) == INT64_MAX)
            continue;
        if (t < *at)
            *at = t;
    }
    if (*at == INT64_MAX)
        return 0;
    for (size_t i = 0; i < set->count; i++)
        if (counts_at(&set->entries[i], *at))
            seats += set->entries[i].lic.seats;
    *limit = seats == 0 ? GATE_EVALUATION_SEATS : seats > UINT32_MAX ? UINT32_MAX : (uint32_t)seats;
    return 1;
}

static void add_next_change(const struct control_snapshot *s, json_object *o)
{
    json_object *x;
    uint32_t limit;
    int64_t at;

    if (control_next_change(&s->licenses, s->now, &at, &limit) == 0) {
        json_object_object_add(o, "next_change", NULL);
        return;
    }
    x = json_object_new_object();
    add_time(x, "at", at);
    add_int(x, "limit", limit);
    json_object_object_add(o, "next_change", x);
}

/* "cluster": what this node holds of a cluster license (docs/cluster.md), null without one. */
static void add_cluster(const struct control_snapshot *s, json_object *o)
{
    const struct control_cluster *c = &s->cluster;
    json_object *x;

    if (c->seats == 0) {
        json_object_object_add(o, "cluster", NULL);
        return;
    }
    x = json_object_new_object();
    add_str(x, "key", c->key);
    add_int(x, "seats", c->seats);
    add_int(x, "grant", c->grant);
    add_int(x, "usable", c->usable);
    if (c->deadline_ms > 0)
        add_int(x, "deadline_in_ms", c->deadline_ms - c->monotonic_ms);
    else
        json_object_object_add(x, "deadline_in_ms", NULL);
    add_bool(x, "admitting", c->usable > 0);
    json_object_object_add(o, "cluster", x);
}

/* The answer to licgate-agent's cluster-grant: what the pool holds now. */
static json_object *reply_cluster_grant(const struct control_snapshot *s)
{
    json_object *o = response_new(true);

    add_int(o, "grant", s->cluster.grant);
    add_int(o, "usable", s->cluster.usable);
    add_int(o, "seats", s->cluster.seats);
    add_int(o, "in_use", s->st.in_use);
    add_int(o, "peak", s->st.peak);
    add_int(o, "limit", s->limit);
    return o;
}

static json_object *reply_status(const struct control_snapshot *s)
{
    json_object *o = response_new(true), *procs = json_object_new_array(), *x;

    add_str(o, "pool", s->pool);
    add_int(o, "in_use", s->st.in_use);
    add_int(o, "limit", s->limit);
    add_int(o, "over_limit", s->st.in_use > s->limit ? s->st.in_use - s->limit : 0);
    add_int(o, "capacity", s->st.capacity);
    add_bool(o, "evaluation", s->evaluation);
    add_bool(o, "development_build", s->development);
    add_int(o, "served_by", s->served_by);
    for (uint32_t i = 0; i < s->st.nprocs; i++) {
        json_object *p = json_object_new_object();

        add_int(p, "pid", s->st.procs[i].pid);
        add_int(p, "in_use", s->st.procs[i].in_use);
        json_object_array_add(procs, p);
    }
    json_object_object_add(o, "processes", procs);
    add_int(o, "admissions", (int64_t)s->st.admissions);
    x = json_object_new_object();
    add_int(x, "limit", (int64_t)s->st.refusals_limit);
    add_int(x, "capacity", (int64_t)s->st.refusals_capacity);
    json_object_object_add(o, "refusals", x);
    add_int(o, "releases", (int64_t)s->st.releases);
    add_int(o, "reclaimed", (int64_t)s->st.reclaimed);
    x = json_object_new_object();
    add_int(x, "evaluation_seats", GATE_EVALUATION_SEATS);
    add_int(x, "evaluation_seats_in_use", s->machine.eval_in_use);
    add_int(x, "registry_segment", s->machine.registry_id);
    add_int(x, "pool_segment", s->machine.pool_id);
    json_object_object_add(o, "machine", x);
    if (s->has_failover) {
        x = json_object_new_object();
        add_str(x, "vip", s->vip);
        add_str(x, "role", s->failover_active ? "active" : "standby");
        json_object_object_add(o, "failover", x);
    }
    x = json_object_new_object();
    add_time(x, "system", s->clock);
    add_time(x, "high_water_mark", s->mark);
    add_bool(x, "rollback_detected", s->rollback);
    json_object_object_add(o, "clock", x);
    add_int(o, "peak", s->st.peak);
    add_cluster(s, o);
    add_next_change(s, o);
    add_warnings(s, o);
    return o;
}

static json_object *reply_sessions(const struct control_snapshot *s)
{
    json_object *o = response_new(true), *list = json_object_new_array();

    for (size_t i = 0; i < s->nsessions; i++) {
        json_object *x = json_object_new_object();

        add_str(x, "cn", s->sessions[i].cn);
        add_str(x, "address", s->sessions[i].addr);
        add_time(x, "connected_since", s->sessions[i].connected_since);
        add_int(x, "pid", s->sessions[i].pid);
        json_object_array_add(list, x);
    }
    json_object_object_add(o, "sessions", list);
    return o;
}

static json_object *reply_licenses(const struct control_snapshot *s)
{
    json_object *o = response_new(true), *list = json_object_new_array();

    add_int(o, "limit", s->limit);
    add_bool(o, "evaluation", s->evaluation);
    for (size_t i = 0; i < s->licenses.count; i++) {
        const struct license_entry *e = &s->licenses.entries[i];
        json_object *l = json_object_new_object();

        add_str(l, "file", e->file);
        if (e->source != 0) {
            /* lent by another process of the pool, from its own license-dir */
            json_object *from = json_object_new_object();
            int pid;

            add_str(from, "license_dir", license_entry_source(&s->licenses, e, &pid));
            add_int(from, "pid", pid);
            json_object_object_add(l, "from", from);
        }
        if (e->loaded) {
            add_str(l, "key_id", e->lic.key_id);
            add_str(l, "customer", e->lic.customer);
            add_int(l, "seats", e->lic.seats);
            add_str(l, "kind", license_kind_name(e->lic.kind));
            add_time(l, "support_until", e->lic.support_until);
            add_bool(l, "perpetual", e->lic.perpetual);
            add_time(l, "lease_not_after", e->lic.lease_not_after);
            add_time(l, "sunset", e->lic.sunset);
        }
        add_str(l, "state", license_entry_state(e));
        add_str(l, "reason", e->reason);
        add_bool(l, "counted", license_entry_counts(e));
        json_object_array_add(list, l);
    }
    json_object_object_add(o, "licenses", list);
    return o;
}

static json_object *reply_metrics(const struct control_snapshot *s)
{
    struct control_numbers nums = {.pool = s->pool,
                                   .st = &s->st,
                                   .limit = s->limit,
                                   .evaluation = s->evaluation,
                                   .eval_in_use = s->machine.eval_in_use,
                                   .cluster = &s->cluster};
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    json_object *o;

    if (mem == NULL)
        return NULL;
    control_render_metrics(mem, &nums, &s->licenses, s->now);
    fclose(mem);
    o = response_new(true);
    add_text(o, "metrics", text, TEXT_KEEP_NEWLINES);
    free(text);
    return o;
}

static json_object *reply_version(const struct control_snapshot *s)
{
    json_object *o = response_new(true);

    add_str(o, "version", PACKAGE_VERSION);
    add_bool(o, "development_build", s->development);
    return o;
}

static json_object *usage_day_json(const struct usage_day *d)
{
    json_object *o = json_object_new_object();
    time_t t = (time_t)d->start;
    struct tm tm;
    char date[16] = "?";

    if (gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    add_str(o, "date", date);
    add_int(o, "start", d->start);
    add_int(o, "hours", d->hours);
    add_int(o, "peak", d->peak);
    add_int(o, "limit", d->limit);
    add_int(o, "hours_at_limit", d->hours_at_limit);
    add_int(o, "admissions", (int64_t)d->admissions);
    add_int(o, "refused_limit", (int64_t)d->refused_limit);
    add_int(o, "refused_capacity", (int64_t)d->refused_capacity);
    add_bool(o, "evaluation", (d->flags & USAGE_EVALUATION) != 0);
    add_bool(o, "changed", (d->flags & USAGE_CHANGED) != 0);
    return o;
}

static json_object *reply_usage(const struct control_snapshot *s)
{
    json_object *o = response_new(true), *days = json_object_new_array();

    add_text(o, "pool", s->pool, 0);
    add_int(o, "now", s->now);
    for (size_t i = 0; i < s->nusage; i++)
        json_object_array_add(days, usage_day_json(&s->usage[i]));
    json_object_object_add(o, "days", days);
    return o;
}

char *control_reply(const struct control_snapshot *s, enum control_command cmd, size_t *len)
{
    json_object *o = NULL;

    switch (cmd) {
    case CONTROL_STATUS:
        o = reply_status(s);
        break;
    case CONTROL_SESSIONS:
        o = reply_sessions(s);
        break;
    case CONTROL_LICENSES:
        o = reply_licenses(s);
        break;
    case CONTROL_METRICS:
        o = reply_metrics(s);
        break;
    case CONTROL_VERSION:
        o = reply_version(s);
        break;
    case CONTROL_CLUSTER_GRANT:
        o = reply_cluster_grant(s);
        break;
    case CONTROL_USAGE:
        o = reply_usage(s);
        break;
    case CONTROL_RELOAD:
        break;
    }
    return o != NULL ? finish(o, len) : control_reply_error("out of memory", len);
}

char *control_reply_reload(const struct maintenance_reload *r, bool followed, pid_t laggard,
                           size_t *len)
{
    char msg[600];
    json_object *o;

    if (r->result < 0) {
        snprintf(msg, sizeof(msg), "reload failed: %s", r->err);
        return control_reply_error(msg, len);
    }
    o = response_new(true);
    add_bool(o, "followed", followed);
    if (!followed)
        add_int(o, "waiting_for_pid", laggard);
    add_int(o, "limit", r->res.limit);
    add_bool(o, "evaluation", r->res.evaluation);
    add_int(o, "files", (int64_t)r->res.files);
    add_int(o, "counted", (int64_t)r->res.counted);
    return finish(o, len);
}
