#include "gate.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "fingerprint.h"
#include "fs.h"
#include "netlink.h"
#include "usock.h"
#include "pool.h"
#include "shm.h"

#define GATE_LOG_QUEUE          64
#define GATE_LOG_LINE_MAX       768
#define GATE_CLOCK_DIR          "/pools/"
#define GATE_CLOCK_FILE         "/clock"
#define GATE_CLOCK_DIR_MAX      (CONFIG_PATH_MAX + sizeof(GATE_CLOCK_DIR) + CONFIG_POOL_MAX)
#define GATE_CLOCK_SAVE_EVERY   3600 /* seconds between writes of the high-water mark */
#define GATE_ROLLBACK_TOLERANCE 300  /* a clock this far behind the mark was set back */
/* What a client refused in reason-to-client mode waits before it retries. */
#define GATE_CLIENT_BACKOFF 10

struct queued_line {
    enum gate_log_level level;
    char text[GATE_LOG_LINE_MAX];
};

struct gate {
    struct gate_config cfg;
    struct gate_env env;
    struct seat_pool *pool;
    pthread_t owner; /* the thread that may call env.log */

    /* Licenses: replaced by reload (any thread) and re-evaluated as time
     * passes (admission path, rarely); both under `lock`, which is never
     * held across I/O. */
    pthread_mutex_t lock;
    struct license_set licenses;
    _Atomic uint32_t limit;
    _Atomic bool evaluation;
    _Atomic int64_t next_change;  /* when license states must be evaluated again */
    _Atomic bool failover_active; /* this node holds failover-vip */

    /* Effective now = max(clock, mark): setting the clock back never revives
     * or extends a license. The mark is raised and saved by the maintenance
     * thread (gate_clock_tick). */
    char clock_path[GATE_CLOCK_DIR_MAX + sizeof(GATE_CLOCK_FILE)];
    uid_t clock_uid; /* the mark file's owner: user=, or (uid_t)-1 */
    _Atomic int64_t clock_mark;
    _Atomic int64_t rollback_clock; /* the clock seen behind the mark, 0 = none */
    int64_t mark_saved;
    bool save_error_said;

    /* Lines logged on other threads, for gate_flush_log. */
    pthread_mutex_t log_lock;
    _Atomic unsigned log_pending;
    unsigned log_dropped;
    struct queued_line log_queue[GATE_LOG_QUEUE];
};

static void gate_vlogf(struct gate *gate, enum gate_log_level level, const char *fmt, va_list ap)
{
    char msg[GATE_LOG_LINE_MAX];

    if (gate->env.log == NULL)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (pthread_equal(pthread_self(), gate->owner)) {
        gate_flush_log(gate);
        gate->env.log(gate->env.log_arg, level, msg);
        return;
    }
    pthread_mutex_lock(&gate->log_lock);
    unsigned n = atomic_load_explicit(&gate->log_pending, memory_order_relaxed);
    if (n < GATE_LOG_QUEUE) {
        gate->log_queue[n].level = level;
        memcpy(gate->log_queue[n].text, msg, sizeof(msg));
        atomic_store_explicit(&gate->log_pending, n + 1, memory_order_release);
    } else {
        gate->log_dropped++;
    }
    pthread_mutex_unlock(&gate->log_lock);
}

void gate_logf(struct gate *gate, enum gate_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gate_vlogf(gate, level, fmt, ap);
    va_end(ap);
}

void gate_flush_log(struct gate *gate)
{
    struct queued_line lines[GATE_LOG_QUEUE];
    unsigned n, dropped;

    if (atomic_load_explicit(&gate->log_pending, memory_order_acquire) == 0)
        return;
    pthread_mutex_lock(&gate->log_lock);
    n = atomic_load_explicit(&gate->log_pending, memory_order_relaxed);
    memcpy(lines, gate->log_queue, n * sizeof(lines[0]));
    dropped = gate->log_dropped;
    gate->log_dropped = 0;
    atomic_store_explicit(&gate->log_pending, 0, memory_order_release);
    pthread_mutex_unlock(&gate->log_lock);
    for (unsigned i = 0; i < n; i++)
        gate->env.log(gate->env.log_arg, lines[i].level, lines[i].text);
    if (dropped > 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%u log lines from the control thread were dropped", dropped);
        gate->env.log(gate->env.log_arg, GATE_LOG_WARN, msg);
    }
}

static void gate_save_mark(struct gate *gate, int64_t mark);
static int gate_open_clock(struct gate *gate, char *err, size_t errlen);

static int64_t gate_time(struct gate *gate)
{
    int64_t now = gate->env.now();
    int64_t mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);

    return now > mark ? now : mark;
}

static const char *evaluation_note(const struct gate *gate)
{
    return atomic_load_explicit(&gate->evaluation, memory_order_relaxed) ? ", evaluation mode" : "";
}

static void log_license(struct gate *gate, const struct license_entry *e)
{
    const struct license *lic = &e->lic;
    char support[24], lease[24];

    if (!e->loaded) {
        gate_logf(gate, GATE_LOG_WARN, "license '%s' skipped: %s", e->file, e->reason);
        return;
    }
    license_format_time(lic->support_until, support, sizeof(support));
    if (lic->lease_not_after != 0)
        license_format_time(lic->lease_not_after, lease, sizeof(lease));
    else
        snprintf(lease, sizeof(lease), "none");
    if (e->state == LICENSE_ACTIVE && !e->binding_ok)
        gate_logf(gate, GATE_LOG_ERR,
                  "License error: machine properties validation failed: verify fail: %s",
                  e->binding_why);
    if (license_entry_counts(e))
        gate_logf(gate, GATE_LOG_NOTE,
                  "license '%s': key %s, customer '%s', %u seats, support until %s%s, lease "
                  "until %s: active",
                  e->file, lic->key_id, lic->customer, lic->seats, support,
                  lic->perpetual ? " (perpetual)" : "", lease);
    else
        gate_logf(gate, GATE_LOG_WARN, "license '%s': key %s, %u seats: %s: %s", e->file,
                  lic->key_id, lic->seats, license_entry_state(e), e->reason);
}

/* Publishes the limit the licenses give now; logs a change. Under lock. */
static void gate_apply_limit(struct gate *gate, const char *why, bool always_log)
{
    uint32_t seats = license_set_seats(&gate->licenses);
    bool evaluation = seats == 0;
    uint32_t limit = evaluation ? GATE_EVALUATION_SEATS : seats;
    uint32_t old = atomic_load_explicit(&gate->limit, memory_order_relaxed);

    if (always_log || limit != old ||
        evaluation != atomic_load_explicit(&gate->evaluation, memory_order_relaxed)) {
        if (evaluation)
            gate_logf(gate, GATE_LOG_NOTE,
                      "%s: no valid license: evaluation mode, %u seats (pool '%s')", why, limit,
                      gate->cfg.pool);
        else
            gate_logf(gate, GATE_LOG_NOTE, "%s: limit %u seats (pool '%s')", why, limit,
                      gate->cfg.pool);
    }
    atomic_store_explicit(&gate->limit, limit, memory_order_relaxed);
    atomic_store_explicit(&gate->evaluation, evaluation, memory_order_relaxed);
    seat_pool_set_limit(gate->pool, limit);
}

/* Called on the admission path: one clock read unless a license changes state now. */
static void gate_follow_time(struct gate *gate)
{
    int64_t now = gate_time(gate);
    enum license_state before[LICENSE_SET_MAX_FILES];
    size_t n;

    if (now < atomic_load_explicit(&gate->next_change, memory_order_relaxed))
        return;
    pthread_mutex_lock(&gate->lock);
    n = gate->licenses.count < LICENSE_SET_MAX_FILES ? gate->licenses.count : LICENSE_SET_MAX_FILES;
    for (size_t i = 0; i < n; i++)
        before[i] = gate->licenses.entries[i].state;
    license_set_evaluate(&gate->licenses, now);
    for (size_t i = 0; i < n; i++) {
        const struct license_entry *e = &gate->licenses.entries[i];
        if (e->loaded && e->state != before[i])
            log_license(gate, e);
    }
    atomic_store_explicit(&gate->next_change, license_set_next_change(&gate->licenses, now),
                          memory_order_relaxed);
    gate_apply_limit(gate, "license state changed", false);
    pthread_mutex_unlock(&gate->lock);
}

struct gate_fingerprints {
    struct fingerprint physical, all; /* "all" also counts virtual links (+virtual) */
    int physical_err, all_err;
};

static int gate_check_binding(const struct license *lic, void *arg, char *why, size_t whylen)
{
    struct gate_fingerprints *fps = arg;

    if ((lic->binding_virtual ? fps->all_err : fps->physical_err) < 0) {
        snprintf(why, whylen, "machine properties could not be read");
        return 0;
    }
    return fingerprint_match(lic, lic->binding_virtual ? &fps->all : &fps->physical, why, whylen);
}

/* Reads the licenses and, when one is bound, this machine's fingerprint; both
 * off the admission path (open, reload). A missing license-dir is no license
 * at open (said once), and a failed reload otherwise: a directory that
 * vanished (an unmounted volume, a typo in a move) must not drop the seats. */
static int gate_load_licenses(struct gate *gate, struct license_set *out, bool at_open, char *err,
                              size_t errlen)
{
    struct gate_fingerprints *fps;
    bool bound = false;
    int r;

    r = license_set_load(gate->cfg.license_dir, gate->env.keys, gate->env.nkeys, gate_time(gate),
                         out);
    if (r == -ENOENT && at_open) {
        gate_logf(gate, GATE_LOG_WARN, "license-dir %s does not exist: no license",
                  gate->cfg.license_dir);
        r = 0;
    }
    if (r < 0) {
        snprintf(err, errlen, "license-dir %s: %s", gate->cfg.license_dir, strerror(-r));
        return r;
    }
    for (size_t i = 0; i < out->count; i++)
        bound |= out->entries[i].loaded && out->entries[i].lic.binding_rule != BINDING_NONE;
    if (bound && (fps = calloc(1, sizeof(*fps))) != NULL) {
        fps->physical_err = fingerprint_read(&fps->physical);
        fps->all_err = fingerprint_read_virtual(&fps->all);
        if (fps->physical_err < 0)
            gate_logf(gate, GATE_LOG_ERR, "cannot read this machine's properties: %s",
                      strerror(-fps->physical_err));
        /* after OpenVPN dropped root the DMI UUID is unreadable, not missing */
        fps->physical.dmi_unreadable_is_unknown = geteuid() != 0;
        fps->all.dmi_unreadable_is_unknown = geteuid() != 0;
        license_set_bind(out, gate_check_binding, fps);
        fingerprint_clear(&fps->physical);
        fingerprint_clear(&fps->all);
        free(fps);
    }
    out->failover_active = atomic_load_explicit(&gate->failover_active, memory_order_relaxed);
    license_set_evaluate(out, gate_time(gate));
    return 0;
}

/* One check of the key claims: the keys a license set could count, and for
 * each the other pool that counts it instead ("" = nobody). */
struct claims_check {
    char (*key)[SEAT_POOL_KEY_MAX + 1];
    const char **ptr;
    char (*winner)[SEAT_POOL_NAME_MAX + 1];
    int64_t *since;
    size_t n;
    char **pools, **unreadable; /* the pools listed; those that could not be read */
    size_t npools, nunreadable;
};

static void claims_check_free(struct claims_check *c)
{
    free(c->key);
    free(c->ptr);
    free(c->winner);
    free(c->since);
    free(c->unreadable);
    seat_pool_free_names(c->pools, c->npools);
    memset(c, 0, sizeof(*c));
}

static int claims_collect(const struct license_set *set, struct claims_check *c)
{
    memset(c, 0, sizeof(*c));
    if (set->count == 0)
        return 0;
    c->key = calloc(set->count, sizeof(*c->key));
    c->ptr = calloc(set->count, sizeof(*c->ptr));
    c->winner = calloc(set->count, sizeof(*c->winner));
    c->since = calloc(set->count, sizeof(*c->since));
    if (c->key == NULL || c->ptr == NULL || c->winner == NULL || c->since == NULL) {
        claims_check_free(c);
        return -ENOMEM;
    }
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];

        if (!license_entry_claimable(e) || strlen(e->lic.key_id) > SEAT_POOL_KEY_MAX)
            continue;
        snprintf(c->key[c->n], sizeof(c->key[c->n]), "%s", e->lic.key_id);
        c->ptr[c->n] = c->key[c->n];
        c->n++;
    }
    return 0;
}

/* Marks the keys that the live pool `name` claimed before us. */
static void claims_compare(struct claims_check *c, const char *self, const char *name,
                           const struct seat_claim *theirs, size_t ntheirs)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->winner[i][0] != '\0')
            continue;
        for (size_t j = 0; j < ntheirs; j++) {
            if (strcmp(theirs[j].key_id, c->key[i]) != 0)
                continue;
            if (theirs[j].since < c->since[i] ||
                (theirs[j].since == c->since[i] && strcmp(name, self) < 0))
                snprintf(c->winner[i], sizeof(c->winner[i]), "%s", name);
            break;
        }
    }
}

/* Publishes our claims and reads the other pools'. I/O, no lock held. */
static int claims_resolve(struct gate *gate, struct claims_check *c)
{
    const char *self = gate->cfg.pool;
    struct seat_claim *claims;
    char err[256];
    size_t nclaims;
    int r;

    claims = calloc(SEAT_POOL_CLAIMS_MAX, sizeof(*claims));
    if (claims == NULL)
        return -ENOMEM;
    /* a key left unpublished (table full) has since INT64_MAX: any claimant wins */
    r = seat_pool_publish_claims(gate->pool, c->ptr, c->n, gate_time(gate), c->since);
    if (r < 0)
        goto out;
    r = seat_pool_list(&c->pools, &c->npools);
    if (r < 0)
        goto out;
    c->unreadable = calloc(c->npools + 1, sizeof(*c->unreadable));
    if (c->unreadable == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t p = 0; p < c->npools; p++) {
        struct seat_pool *other;

        if (strcmp(c->pools[p], self) == 0)
            continue;
        r = seat_pool_observe(c->pools[p], &other, err, sizeof(err));
        if (r == -ENOENT)
            continue;
        if (r == 0 && !seat_pool_live(other)) {
            seat_pool_detach(other);
            continue;
        }
        if (r == 0 && seat_pool_read_claims(other, claims, SEAT_POOL_CLAIMS_MAX, &nclaims) == 0)
            claims_compare(c, self, c->pools[p], claims, nclaims);
        else
            c->unreadable[c->nunreadable++] = c->pools[p];
        seat_pool_detach(other);
    }
    r = 0;
out:
    free(claims);
    return r;
}

/* Gives each claimable entry of set the verdict; an entry a pool we cannot
 * read now was seen to hold stays with it. Logs each change; true if any. */
static bool claims_apply(struct gate *gate, struct license_set *set, const struct claims_check *c)
{
    bool changed = false;

    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *e = &set->entries[i];
        const char *winner = NULL;

        if (!license_entry_claimable(e)) {
            changed |= e->elsewhere[0] != '\0'; /* nothing to claim any more */
            e->elsewhere[0] = '\0';
            continue;
        }
        for (size_t j = 0; j < c->n && winner == NULL; j++)
            if (strcmp(c->key[j], e->lic.key_id) == 0)
                winner = c->winner[j];
        if (winner == NULL)
            continue; /* came with a reload meanwhile: the next check */
        for (size_t u = 0; winner[0] == '\0' && u < c->nunreadable; u++)
            if (strcmp(e->elsewhere, c->unreadable[u]) == 0)
                winner = e->elsewhere;
        if (strcmp(winner, e->elsewhere) == 0)
            continue;
        if (winner[0] != '\0')
            gate_logf(gate, GATE_LOG_WARN,
                      "license '%s' (key %s): pool '%s' on this machine counts it, so this "
                      "pool does not (a key counts in one pool)",
                      e->file, e->lic.key_id, winner);
        else
            gate_logf(gate, GATE_LOG_NOTE,
                      "license '%s' (key %s): no other pool on this machine counts it now: it "
                      "counts here",
                      e->file, e->lic.key_id);
        snprintf(e->elsewhere, sizeof(e->elsewhere), "%s", winner);
        changed = true;
    }
    if (changed)
        license_set_evaluate(set, gate_time(gate));
    return changed;
}

/* The claims check on a set not installed yet (open, reload), so the first
 * limit published already leaves other pools' keys out. */
static void gate_claims_for(struct gate *gate, struct license_set *set)
{
    struct claims_check c;

    if (gate->pool == NULL || claims_collect(set, &c) < 0)
        return;
    if (claims_resolve(gate, &c) == 0)
        claims_apply(gate, set, &c);
    claims_check_free(&c);
}

void gate_check_claims(struct gate *gate)
{
    struct claims_check c;
    int r;

    if (gate->pool == NULL)
        return;
    pthread_mutex_lock(&gate->lock);
    r = claims_collect(&gate->licenses, &c);
    pthread_mutex_unlock(&gate->lock);
    if (r < 0)
        return;
    if (claims_resolve(gate, &c) == 0) {
        pthread_mutex_lock(&gate->lock);
        if (claims_apply(gate, &gate->licenses, &c))
            gate_apply_limit(gate, "license claims changed", false);
        pthread_mutex_unlock(&gate->lock);
    }
    claims_check_free(&c);
}

/* Takes ownership of *set. */
static void gate_install_licenses(struct gate *gate, struct license_set *set, const char *why)
{
    int64_t now = gate_time(gate);

    pthread_mutex_lock(&gate->lock);
    license_set_free(&gate->licenses);
    gate->licenses = *set;
    memset(set, 0, sizeof(*set));
    /* the failover role may have changed while the disk was read */
    gate->licenses.failover_active =
        atomic_load_explicit(&gate->failover_active, memory_order_relaxed);
    license_set_evaluate(&gate->licenses, now);
    for (size_t i = 0; i < gate->licenses.count; i++)
        log_license(gate, &gate->licenses.entries[i]);
    atomic_store_explicit(&gate->next_change, license_set_next_change(&gate->licenses, now),
                          memory_order_relaxed);
    gate_apply_limit(gate, why, true);
    pthread_mutex_unlock(&gate->lock);
}

static int gate_owner(const struct gate_config *cfg, struct shm_owner *owner, char *err,
                      size_t errlen)
{
    int r;

    memset(owner, 0, sizeof(*owner));
    owner->mode = 0600;
    if (cfg->user[0] != '\0') {
        r = account_user(cfg->user, &owner->uid);
        if (r < 0) {
            snprintf(err, errlen, "user=%s: %s", cfg->user,
                     r == -ENOENT ? "no such user" : strerror(-r));
            return r;
        }
        owner->set_uid = 1;
    }
    if (cfg->group[0] != '\0') {
        r = account_group(cfg->group, &owner->gid);
        if (r < 0) {
            snprintf(err, errlen, "group=%s: %s", cfg->group,
                     r == -ENOENT ? "no such group" : strerror(-r));
            return r;
        }
        owner->set_gid = 1;
        owner->mode = 0660;
    }
    return 0;
}

int gate_open(const struct gate_config *cfg, const struct gate_env *env, struct gate **out,
              char *err, size_t errlen)
{
    struct license_set set = {0};
    struct shm_owner owner;
    struct gate *gate;
    char reason[256];
    int r;

    *out = NULL;
    gate = calloc(1, sizeof(*gate));
    if (gate == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    gate->cfg = *cfg;
    gate->env = *env;
    gate->owner = pthread_self();
    pthread_mutex_init(&gate->lock, NULL);
    pthread_mutex_init(&gate->log_lock, NULL);
    r = gate_owner(cfg, &owner, err, errlen);
    if (r < 0)
        goto fail;
    r = seat_pool_attach(cfg->pool, cfg->capacity, &owner, &gate->pool, reason, sizeof(reason));
    if (r < 0) {
        snprintf(err, errlen, "pool '%s': %s", cfg->pool, reason);
        goto fail;
    }
    if (cfg->failover_vip[0] != '\0') {
        int held = 0;
        r = netlink_has_address(cfg->failover_vip, &held);
        if (r < 0) {
            snprintf(err, errlen, "failover-vip %s: %s", cfg->failover_vip, strerror(-r));
            goto fail;
        }
        atomic_store_explicit(&gate->failover_active, held != 0, memory_order_relaxed);
        gate_logf(gate, GATE_LOG_NOTE, "failover: this node %s %s: %s",
                  held ? "holds" : "does not hold", cfg->failover_vip, held ? "active" : "standby");
    }
    r = gate_open_clock(gate, reason, sizeof(reason));
    if (r < 0) {
        snprintf(err, errlen, "state-dir: %s", reason);
        goto fail;
    }
    if (env->development_keys)
        gate_logf(gate, GATE_LOG_WARN,
                  "DEVELOPMENT BUILD: trusting the public development issuer key; anyone can "
                  "sign licenses for this build");
    r = gate_load_licenses(gate, &set, true, err, errlen);
    if (r < 0)
        goto fail;
    gate_claims_for(gate, &set);
    gate_install_licenses(gate, &set, "licenses loaded");
    *out = gate;
    return 0;
fail:
    license_set_free(&set);
    gate_close(gate);
    return r;
}

void gate_close(struct gate *gate)
{
    if (gate == NULL)
        return;
    if (gate->pool != NULL)
        seat_pool_detach(gate->pool);
    if (gate->clock_path[0] != '\0')
        gate_save_mark(gate, atomic_load_explicit(&gate->clock_mark, memory_order_relaxed));
    if (gate->env.log != NULL && pthread_equal(pthread_self(), gate->owner))
        gate_flush_log(gate);
    license_set_free(&gate->licenses);
    pthread_mutex_destroy(&gate->lock);
    pthread_mutex_destroy(&gate->log_lock);
    free(gate);
}

bool gate_tls_would_refuse(struct gate *gate, const struct gate_client *client)
{
    struct seat_numbers nums;

    if (client != NULL && client->admitted)
        return false;
    gate_follow_time(gate);
    seat_pool_numbers(gate->pool, &nums);
    return nums.in_use >= nums.limit;
}

int gate_tls_verify(struct gate *gate, const struct gate_client *client, const char *cn,
                    const char *addr)
{
    struct seat_numbers nums;

    if (client != NULL && client->admitted)
        return 0;
    gate_follow_time(gate);
    seat_pool_numbers(gate->pool, &nums);
    if (nums.in_use < nums.limit)
        return 0;
    seat_pool_count_refusal(gate->pool);
    gate_logf(gate, GATE_LOG_NOTE,
              "refused cn='%s' %s at TLS handshake: limit reached (%u/%u seats%s)", cn, addr,
              nums.in_use, nums.limit, evaluation_note(gate));
    return -EDQUOT;
}

static int gate_admit(struct gate *gate, struct gate_client *client, const char *cn,
                      const char *addr, char *reason, size_t reasonlen)
{
    struct seat_request req = {.cn = cn, .addr = addr};
    struct seat_numbers nums = {0};
    char why[160];
    uint32_t slot;
    int r;

    if (client->admitted)
        return 0;
    gate_follow_time(gate);
    req.now = gate_time(gate);
    r = seat_pool_admit(gate->pool, &req, &slot, &nums);
    if (r == -EDQUOT || r == -ENOSPC) {
        /* Seats of an openvpn that died without closing the plugin come back here at the
         * latest; a live pool never pays for this on its admission path. */
        int reclaimed = seat_pool_reclaim_dead(gate->pool);

        if (reclaimed > 0) {
            gate_logf(gate, GATE_LOG_WARN, "reclaimed %d seats held by openvpn processes that died",
                      reclaimed);
            r = seat_pool_admit(gate->pool, &req, &slot, &nums);
        }
    }
    switch (r) {
    case 0:
        client->admitted = true;
        client->slot = slot;
        gate_logf(gate, GATE_LOG_NOTE, "admitted cn='%s' %s (%u/%u seats%s)", cn, addr, nums.in_use,
                  nums.limit, evaluation_note(gate));
        return 0;
    case -EDQUOT:
        snprintf(why, sizeof(why), "limit reached (%u/%u seats%s)", nums.in_use, nums.limit,
                 evaluation_note(gate));
        break;
    case -ENOSPC:
        snprintf(why, sizeof(why), "pool capacity reached (%u sessions; raise capacity=)",
                 nums.capacity);
        break;
    default:
        snprintf(why, sizeof(why), "internal error: %s", strerror(-r));
        break;
    }
    gate_logf(gate, r == -EDQUOT ? GATE_LOG_NOTE : GATE_LOG_WARN, "refused cn='%s' %s: %s", cn,
              addr, why);
    if (reason != NULL)
        snprintf(reason, reasonlen, "TEMP[backoff %d]: licgate: %s", GATE_CLIENT_BACKOFF, why);
    return r;
}

int gate_client_connect(struct gate *gate, struct gate_client *client, const char *cn,
                        const char *addr)
{
    return gate_admit(gate, client, cn, addr, NULL, 0);
}

int gate_client_auth(struct gate *gate, struct gate_client *client, const char *cn,
                     const char *addr, char *reason, size_t reasonlen)
{
    if (reasonlen > 0)
        reason[0] = '\0';
    return gate_admit(gate, client, cn, addr, reason, reasonlen);
}

void gate_client_release(struct gate *gate, struct gate_client *client)
{
    int r;

    if (!client->admitted)
        return;
    client->admitted = false;
    r = seat_pool_release(gate->pool, client->slot);
    if (r < 0)
        gate_logf(gate, GATE_LOG_ERR, "release of slot %u failed: %s", client->slot, strerror(-r));
}

int gate_reload(struct gate *gate, struct gate_reload_result *result, char *err, size_t errlen)
{
    struct license_set set = {0};
    int r;

    r = gate_load_licenses(gate, &set, false, err, errlen);
    if (r < 0) {
        gate_logf(gate, GATE_LOG_ERR, "reload failed, previous licenses stay in force: %s", err);
        return r;
    }
    /* keys another pool counts stay with it unless the check says otherwise */
    pthread_mutex_lock(&gate->lock);
    for (size_t i = 0; i < set.count; i++) {
        for (size_t j = 0; set.entries[i].loaded && j < gate->licenses.count; j++) {
            const struct license_entry *old = &gate->licenses.entries[j];

            if (old->loaded && strcmp(old->lic.key_id, set.entries[i].lic.key_id) == 0)
                memcpy(set.entries[i].elsewhere, old->elsewhere, sizeof(old->elsewhere));
        }
    }
    pthread_mutex_unlock(&gate->lock);
    gate_claims_for(gate, &set);
    gate_install_licenses(gate, &set, "licenses reloaded");
    if (result != NULL) {
        pthread_mutex_lock(&gate->lock);
        result->limit = atomic_load_explicit(&gate->limit, memory_order_relaxed);
        result->evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
        result->files = gate->licenses.count;
        result->counted = 0;
        for (size_t i = 0; i < gate->licenses.count; i++)
            result->counted += license_entry_counts(&gate->licenses.entries[i]);
        pthread_mutex_unlock(&gate->lock);
    }
    return 0;
}

uint32_t gate_limit(const struct gate *gate, bool *evaluation)
{
    if (evaluation != NULL)
        *evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
    return atomic_load_explicit(&gate->limit, memory_order_relaxed);
}

int gate_copy_licenses(struct gate *gate, struct license_set *out)
{
    int r;

    pthread_mutex_lock(&gate->lock);
    r = license_set_copy(&gate->licenses, out);
    pthread_mutex_unlock(&gate->lock);
    return r;
}

struct seat_pool *gate_pool(struct gate *gate)
{
    return gate->pool;
}

const struct gate_config *gate_config(const struct gate *gate)
{
    return &gate->cfg;
}

bool gate_development_keys(const struct gate *gate)
{
    return gate->env.development_keys;
}

int64_t gate_now(const struct gate *gate)
{
    return gate_time((struct gate *)gate);
}

/* Reads the saved mark; a missing file is a first start, a corrupt one is
 * reported and replaced. */
static int64_t gate_read_mark(struct gate *gate)
{
    char *text = NULL, *end;
    size_t len = 0;
    long long v;
    int r;

    r = fs_read_bounded(gate->clock_path, 32, &text, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        gate_logf(gate, GATE_LOG_WARN, "clock high-water mark %s: %s", gate->clock_path,
                  strerror(-r));
        return 0;
    }
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || (*end != '\n' && *end != '\0') || v < 0 ||
        (*end == '\n' && end[1] != '\0')) {
        gate_logf(gate, GATE_LOG_WARN, "clock high-water mark %s is corrupt; starting anew",
                  gate->clock_path);
        v = 0;
    }
    free(text);
    return v;
}

static void gate_save_mark(struct gate *gate, int64_t mark)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%lld\n", (long long)mark);
    int r = fs_write_atomic_owned(gate->clock_path, text, (size_t)n, 0600, gate->clock_uid);

    if (r < 0) {
        if (!gate->save_error_said)
            gate_logf(gate, GATE_LOG_ERR, "cannot save the clock high-water mark %s: %s",
                      gate->clock_path, strerror(-r));
        gate->save_error_said = true;
        return;
    }
    gate->save_error_said = false;
    gate->mark_saved = mark;
}

static int gate_open_clock(struct gate *gate, char *err, size_t errlen)
{
    struct usock_owner owner = {0};
    char dir[GATE_CLOCK_DIR_MAX];
    int64_t mark;
    int r;

    if (gate->cfg.user[0] != '\0' && account_user(gate->cfg.user, &owner.uid) == 0)
        owner.set_uid = true;
    /* The mark lives in a directory of the pool's own, given to the runtime
     * user like the file, so that a SIGHUP re-open after the privilege drop
     * reads and advances it; state-dir itself (licgatectl's installation
     * key) and its pools/ stay root's. */
    gate->clock_uid = owner.set_uid ? owner.uid : (uid_t)-1;
    snprintf(dir, sizeof(dir), "%s%s%s", gate->cfg.state_dir, GATE_CLOCK_DIR, gate->cfg.pool);
    r = fs_mkdir_parents(dir);
    if (r < 0) {
        snprintf(err, errlen, "%.200s: %s", gate->cfg.state_dir, strerror(-r));
        return r;
    }
    r = usock_prepare_dir(dir, &owner, err, errlen);
    if (r < 0)
        return r;
    snprintf(gate->clock_path, sizeof(gate->clock_path), "%s%s", dir, GATE_CLOCK_FILE);
    mark = gate_read_mark(gate);
    gate->mark_saved = 0; /* written once at open: proves the directory works, fixes the mode */
    atomic_store_explicit(&gate->clock_mark, mark, memory_order_relaxed);
    gate_clock_tick(gate);
    return 0;
}

void gate_clock_tick(struct gate *gate)
{
    int64_t now = gate->env.now();
    int64_t mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);

    if (now + GATE_ROLLBACK_TOLERANCE < mark) {
        if (atomic_exchange_explicit(&gate->rollback_clock, now, memory_order_relaxed) == 0) {
            char a[LICENSE_TIME_BUFSIZE], b[LICENSE_TIME_BUFSIZE];
            license_format_time(now, a, sizeof(a));
            license_format_time(mark, b, sizeof(b));
            gate_logf(gate, GATE_LOG_WARN,
                      "clock rollback detected: the system clock (%s) is behind the high-water "
                      "mark (%s); licenses are judged by the mark",
                      a, b);
        }
    } else if (now >= mark) {
        atomic_store_explicit(&gate->rollback_clock, 0, memory_order_relaxed);
    }
    if (now > mark) {
        atomic_store_explicit(&gate->clock_mark, now, memory_order_relaxed);
        mark = now;
    }
    if (mark - gate->mark_saved >= GATE_CLOCK_SAVE_EVERY || gate->mark_saved == 0)
        gate_save_mark(gate, mark);
}

void gate_set_failover_active(struct gate *gate, bool active)
{
    if (atomic_exchange_explicit(&gate->failover_active, active, memory_order_relaxed) == active)
        return;
    gate_logf(gate, GATE_LOG_NOTE, "failover: this node %s %s: %s",
              active ? "now holds" : "no longer holds", gate->cfg.failover_vip,
              active ? "active, failover licenses count"
                     : "standby, failover licenses do not count");
    pthread_mutex_lock(&gate->lock);
    gate->licenses.failover_active = active;
    license_set_evaluate(&gate->licenses, gate_time(gate));
    gate_apply_limit(gate, "failover role changed", false);
    pthread_mutex_unlock(&gate->lock);
}

bool gate_failover_active(const struct gate *gate)
{
    return atomic_load_explicit(&gate->failover_active, memory_order_relaxed);
}

bool gate_clock_state(const struct gate *gate, int64_t *clock, int64_t *mark)
{
    *clock = gate->env.now();
    *mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);
    return atomic_load_explicit(&gate->rollback_clock, memory_order_relaxed) != 0;
}
