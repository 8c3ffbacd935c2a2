/* The licenses a pool counts, and its limit. A process reads its own license-dir; the other
 * live processes of its pool lend theirs (their directories are listed in the machine
 * registry, and this process reads and verifies their licenses itself: a claim in shared
 * memory names a key, it never grants seats). A key counts in the one pool on the machine
 * that claimed it first; the pool's limit is the seats of the distinct keys it counts, and
 * the process admits against that number, computed here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "errbuf.h"
#include "fingerprint.h"
#include "fs.h"
#include "gate_internal.h"
#include "pool.h"

#define GATE_REGISTRY_LOCK_MS 500

static const char *evaluation_word(bool evaluation)
{
    return evaluation ? "no valid license: evaluation mode, " : "limit ";
}

void log_license(struct gate *gate, const struct license_entry *e)
{
    const struct license *lic = &e->lic;
    char support[24], lease[24];
    int pid;
    const char *dir = license_entry_source(&gate->licenses, e, &pid);
    char via[REGISTRY_DIR_MAX + 64] = "";

    if (dir[0] != '\0')
        snprintf(via, sizeof(via), " (license-dir %s of pid %d)", dir, pid);
    if (!e->loaded) {
        gate_logf(gate, GATE_LOG_WARN, "license '%s'%s skipped: %s", e->file, via, e->reason);
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
                  "license '%s'%s: key %s, customer '%s', %u seats, support until %s%s, lease "
                  "until %s: active",
                  e->file, via, lic->key_id, lic->customer, lic->seats, support,
                  lic->perpetual ? " (perpetual)" : "", lease);
    else
        gate_logf(gate, GATE_LOG_WARN, "license '%s'%s: key %s, %u seats: %s: %s", e->file, via,
                  lic->key_id, lic->seats, license_entry_state(e), e->reason);
}

/* Sets the limit the licenses give now; logs a change. Under lock. */
void gate_apply_limit(struct gate *gate, const char *why, bool always_log)
{
    const struct license_entry *cluster = license_set_cluster(&gate->licenses);
    uint32_t seats = license_set_seats(&gate->licenses);
    bool evaluation = seats == 0 && cluster == NULL;
    uint32_t limit = evaluation ? GATE_EVALUATION_SEATS : seats;
    uint32_t old = atomic_load_explicit(&gate->limit, memory_order_relaxed);
    uint32_t cap = cluster != NULL ? cluster->lic.seats : 0;

    if (always_log || limit != old ||
        evaluation != atomic_load_explicit(&gate->evaluation, memory_order_relaxed) ||
        cap != atomic_load_explicit(&gate->cluster_seats, memory_order_relaxed)) {
        if (cluster != NULL)
            gate_logf(gate, GATE_LOG_NOTE,
                      "%s: %u seats and what cluster %s grants this node (of its %u) (pool '%s')",
                      why, limit, cluster->lic.key_id, cap, gate->cfg.pool);
        else
            gate_logf(gate, GATE_LOG_NOTE, "%s: %s%u seats (pool '%s')", why,
                      evaluation_word(evaluation), limit, gate->cfg.pool);
    }
    atomic_store_explicit(&gate->cluster_seats, cap, memory_order_relaxed);
    atomic_store_explicit(&gate->limit, limit, memory_order_relaxed);
    atomic_store_explicit(&gate->evaluation, evaluation, memory_order_relaxed);
}

/* Called on the admission path: one clock read unless a license changes state now. */
void gate_follow_time(struct gate *gate, int64_t now)
{
    enum license_state *before;
    size_t n;

    if (now < atomic_load_explicit(&gate->next_change, memory_order_relaxed))
        return;
    pthread_mutex_lock(&gate->lock);
    n = gate->licenses.count;
    before = calloc(n > 0 ? n : 1, sizeof(*before));
    for (size_t i = 0; i < n && before != NULL; i++)
        before[i] = gate->licenses.entries[i].state;
    license_set_evaluate(&gate->licenses, now);
    for (size_t i = 0; i < n && before != NULL; i++) {
        const struct license_entry *e = &gate->licenses.entries[i];
        if (e->loaded && e->state != before[i])
            log_license(gate, e);
    }
    free(before);
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

/* What the set needs to know of the failover role: whether failover-vip is set and held. */
static void failover_facts(const struct gate *gate, struct license_set *set)
{
    set->failover_set = gate->cfg.failover_vip[0] != '\0';
    set->failover_active = atomic_load_explicit(&gate->failover_active, memory_order_relaxed);
}

/* Reads and verifies the licenses of dir, checking bound ones against this machine. */
static int load_dir(struct gate *gate, const char *dir, struct license_set *out)
{
    struct gate_fingerprints *fps;
    bool bound = false;
    int r;

    r = license_set_load(dir, gate->env.keys, gate->env.nkeys, gate_time(gate), out);
    if (r < 0)
        return r;
    for (size_t i = 0; i < out->count; i++)
        bound |= out->entries[i].loaded && out->entries[i].lic.binding_rule != BINDING_NONE;
    if (bound && (fps = calloc(1, sizeof(*fps))) != NULL) {
        fps->physical_err = fingerprint_read(&fps->physical);
        fps->all_err = fingerprint_read_virtual(&fps->all);
        if (fps->physical_err < 0)
            gate_logf(gate, GATE_LOG_ERR, "cannot read this machine's properties: %s",
                      strerror(-fps->physical_err));
        /* after OpenVPN dropped root the DMI UUID is unreadable, not missing */
        fps->physical.dmi_unreadable_is_unknown = account_euid() != 0;
        fps->all.dmi_unreadable_is_unknown = account_euid() != 0;
        license_set_bind(out, gate_check_binding, fps);
        fingerprint_clear(&fps->physical);
        fingerprint_clear(&fps->all);
        free(fps);
    }
    failover_facts(gate, out);
    license_set_evaluate(out, gate_time(gate));
    return 0;
}

/* A missing license-dir is no license at open (said once), and a failed reload otherwise: a
 * directory that vanished (an unmounted volume, a typo in a move) must not drop the seats. */
int gate_load_licenses(struct gate *gate, struct license_set *out, bool at_open, char *err,
                       size_t errlen)
{
    int r = load_dir(gate, gate->cfg.license_dir, out);

    if (r == -ENOENT && at_open) {
        gate_logf(gate, GATE_LOG_WARN, "license-dir %s does not exist: no license",
                  gate->cfg.license_dir);
        memset(out, 0, sizeof(*out));
        failover_facts(gate, out);
        r = 0;
    }
    if (r < 0) {
        errbuf_set(err, errlen, "license-dir %s: %s", gate->cfg.license_dir, strerror(-r));
        return r;
    }
    if (out->skipped > 0)
        gate_logf(gate, GATE_LOG_WARN,
                  "license-dir %s: %zu *.lic files beyond the first %d (by name) skipped",
                  gate->cfg.license_dir, out->skipped, LICENSE_SET_MAX_FILES);
    return 0;
}

/* ------------------------------------------------------------------ the pool's keys */

/* The other processes' license directories (distinct, not ours), as the registry lists them. */
struct peer_dirs {
    const struct registry_proc_view *proc[REGISTRY_MAX_PROCS];
    size_t n;
    uint64_t key; /* a hash of the directories, to tell when they change */
};

static void peer_dirs_collect(const struct gate *gate, const struct registry_view *view,
                              struct peer_dirs *pd)
{
    uint64_t h = 1469598103934665603ull;

    pd->n = 0;
    for (size_t i = 0; i < view->nprocs; i++) {
        const struct registry_proc_view *p = &view->procs[i];
        bool seen = strcmp(p->license_dir, gate->cfg.license_dir) == 0;

        if (p->self || strcmp(p->pool, gate->cfg.pool) != 0)
            continue;
        for (size_t j = 0; j < pd->n && !seen; j++)
            seen = strcmp(pd->proc[j]->license_dir, p->license_dir) == 0;
        if (seen)
            continue;
        pd->proc[pd->n++] = p;
        for (const char *c = p->license_dir; *c != '\0'; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    pd->key = pd->n > 0 ? h : 0;
}

/* Reads the peers' directories into one set of entries; a directory another user could write
 * into is not read (its path came from shared memory). */
static void peers_read(struct gate *gate, const struct peer_dirs *pd, struct license_set *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < pd->n; i++) {
        const struct registry_proc_view *p = pd->proc[i];
        struct license_set set;
        char why[256];
        int r;

        if (p->license_dir[0] != '/') {
            gate_logf(gate, GATE_LOG_WARN,
                      "pid %d of pool '%s' names license-dir '%s': not an "
                      "absolute path; its licenses do not count here",
                      (int)p->pid, gate->cfg.pool, p->license_dir);
            continue;
        }
        r = fs_dir_private(p->license_dir, why, sizeof(why));
        if (r == 0)
            r = load_dir(gate, p->license_dir, &set);
        else
            gate_logf(gate, GATE_LOG_WARN,
                      "pid %d of pool '%s': %s; its licenses do not count "
                      "here",
                      (int)p->pid, gate->cfg.pool, why);
        if (r < 0) {
            if (r != -EPERM && r != -ENOTDIR)
                gate_logf(gate, GATE_LOG_WARN, "license-dir %s of pid %d (pool '%s'): %s",
                          p->license_dir, (int)p->pid, gate->cfg.pool, strerror(-r));
            continue;
        }
        license_set_append(out, &set, (int)p->pid, p->license_dir);
        license_set_free(&set);
    }
}

/* The own entries of set (source 0), copied. */
static int own_entries(const struct license_set *set, struct license_set *out)
{
    int r = license_set_copy(set, out);
    size_t m = 0;

    if (r < 0)
        return r;
    for (size_t i = 0; i < out->count; i++)
        if (out->entries[i].source == 0)
            out->entries[m++] = out->entries[i];
    out->count = m;
    free(out->sources);
    out->sources = NULL;
    out->nsources = 0;
    return 0;
}

/* The peers' entries that a process of this pool claims (the others it does not count). */
static void peers_claimed(const struct gate *gate, const struct registry_view *view,
                          struct license_set *peers)
{
    size_t m = 0;

    for (size_t i = 0; i < peers->count; i++)
        if (registry_view_claimed_by(view, peers->entries[i].lic.key_id, gate->cfg.pool))
            peers->entries[m++] = peers->entries[i];
    peers->count = m;
}

/* Each claimable entry's verdict: "" when this pool counts it, else the pool that does. */
static void apply_winners(const struct gate *gate, const struct registry_view *view,
                          struct license_set *set, int64_t now)
{
    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *e = &set->entries[i];

        e->elsewhere[0] = '\0';
        /* a failover key never counts where a pool counts its primary (Q24) */
        e->primary_claimed = e->loaded && e->lic.kind == LICENSE_KIND_FAILOVER &&
                             registry_view_winner(view, e->lic.primary_key) != NULL;
    }
    license_set_evaluate(set, now); /* the states before the verdict */
    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *e = &set->entries[i];
        const char *winner;

        if (!license_entry_claimable(e))
            continue;
        winner = registry_view_winner(view, e->lic.key_id);
        if (winner != NULL && strcmp(winner, gate->cfg.pool) != 0)
            snprintf(e->elsewhere, sizeof(e->elsewhere), "%s", winner);
    }
    license_set_evaluate(set, now);
}

/* The keys of own that this process claims for its pool. */
static const char **claim_keys(const struct license_set *own, size_t *n)
{
    const char **keys = calloc(own->count > 0 ? own->count : 1, sizeof(*keys));

    *n = 0;
    for (size_t i = 0; keys != NULL && i < own->count; i++)
        if (license_entry_claimable(&own->entries[i]))
            keys[(*n)++] = own->entries[i].lic.key_id;
    return keys;
}

/* Says what changed between the installed set and next, entry by entry (a fresh set's own
 * entries are logged whole afterwards). */
static void log_changes(struct gate *gate, const struct license_set *next, bool fresh)
{
    for (size_t i = 0; i < next->count; i++) {
        const struct license_entry *e = &next->entries[i];
        const struct license_entry *was = NULL;

        for (size_t j = 0; j < gate->licenses.count && was == NULL; j++)
            if (gate->licenses.entries[j].loaded && e->loaded &&
                strcmp(gate->licenses.entries[j].lic.key_id, e->lic.key_id) == 0)
                was = &gate->licenses.entries[j];
        if (!e->loaded || (was != NULL && strcmp(was->elsewhere, e->elsewhere) == 0 &&
                           license_entry_counts(was) == license_entry_counts(e)))
            continue;
        if (e->elsewhere[0] != '\0')
            gate_logf(gate, GATE_LOG_WARN,
                      "license '%s' (key %s): pool '%s' on this machine counts it, so this "
                      "pool does not (a key counts in one pool)",
                      e->file, e->lic.key_id, e->elsewhere);
        else if (was != NULL && was->elsewhere[0] != '\0')
            gate_logf(gate, GATE_LOG_NOTE,
                      "license '%s' (key %s): no other pool on this machine counts it now: it "
                      "counts here",
                      e->file, e->lic.key_id);
        else if (!fresh && e->source != 0 && license_entry_counts(e))
            log_license(gate, e);
    }
}

/* The claims check: publishes this process's keys, reads every live process's claims, reads
 * the peers' license-dirs when they changed (or reread), and installs the result. own, when
 * not NULL, is a freshly loaded set (taken over) and every entry is logged; else the own
 * entries stay and only changes are logged. I/O; never on the admission path. */
static void refresh_keys(struct gate *gate, struct license_set *own, bool reread, const char *why)
{
    struct license_set mine = {0}, next = {0}, peers = {0};
    struct registry_view view = {0};
    struct peer_dirs *pd = NULL;
    const char **keys = NULL;
    int64_t now = gate_time(gate);
    bool fresh = own != NULL;
    size_t nkeys;
    int r;

    if (fresh) {
        mine = *own;
        memset(own, 0, sizeof(*own));
    } else {
        pthread_mutex_lock(&gate->lock);
        r = own_entries(&gate->licenses, &mine);
        pthread_mutex_unlock(&gate->lock);
        if (r < 0)
            return;
    }
    keys = claim_keys(&mine, &nkeys);
    pd = calloc(1, sizeof(*pd));
    if (keys == NULL || pd == NULL)
        goto out;
    r = registry_lock(gate->reg, GATE_REGISTRY_LOCK_MS);
    if (r == 0) {
        registry_reclaim_dead(gate->reg);
        registry_publish_claims(gate->reg, keys, nkeys, now, NULL);
        r = registry_snapshot(gate->reg, &view);
        gate->reg_generation = registry_generation(gate->reg);
        registry_unlock(gate->reg);
        gate->lock_busy_said = false;
    } else if (!gate->lock_busy_said) {
        gate->lock_busy_said = true;
        gate_logf(gate, GATE_LOG_WARN,
                  "the machine registry's lock is held by another process: "
                  "the keys other pools count are not checked now");
    }
    if (r < 0 && !fresh)
        goto out; /* keep the last verdict */
    peer_dirs_collect(gate, &view, pd);
    if (reread || pd->key != gate->peers_key) {
        peers_read(gate, pd, &peers);
        license_set_free(&gate->peers);
        license_set_copy(&peers, &gate->peers);
        gate->peers_key = pd->key;
    } else {
        license_set_copy(&gate->peers, &peers);
        failover_facts(gate, &peers);
        license_set_evaluate(&peers, now);
    }
    peers_claimed(gate, &view, &peers);
    next = mine;
    memset(&mine, 0, sizeof(mine));
    failover_facts(gate, &next);
    license_set_append(&next, &peers, 0, "");
    apply_winners(gate, &view, &next, now);

    pthread_mutex_lock(&gate->lock);
    log_changes(gate, &next, fresh);
    license_set_free(&gate->licenses);
    gate->licenses = next;
    memset(&next, 0, sizeof(next));
    for (size_t i = 0; fresh && i < gate->licenses.count; i++)
        log_license(gate, &gate->licenses.entries[i]);
    atomic_store_explicit(&gate->next_change, license_set_next_change(&gate->licenses, now),
                          memory_order_relaxed);
    gate_apply_limit(gate, why, fresh);
    pthread_mutex_unlock(&gate->lock);
out:
    registry_view_free(&view);
    license_set_free(&mine);
    license_set_free(&next);
    license_set_free(&peers);
    free(keys);
    free(pd);
}

void gate_install_licenses(struct gate *gate, struct license_set *set, const char *why)
{
    refresh_keys(gate, set, true, why);
}

void gate_check_claims(struct gate *gate)
{
    refresh_keys(gate, NULL, false, "license claims changed");
}

bool gate_machine_changed(struct gate *gate)
{
    return registry_generation(gate->reg) != gate->reg_generation;
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
    refresh_keys(gate, &set, true, "licenses reloaded");
    if (result != NULL) {
        pthread_mutex_lock(&gate->lock);
        result->limit = atomic_load_explicit(&gate->limit, memory_order_relaxed);
        result->evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
        result->files = 0;
        result->counted = 0;
        for (size_t i = 0; i < gate->licenses.count; i++) {
            result->files += gate->licenses.entries[i].source == 0;
            result->counted += license_entry_counts(&gate->licenses.entries[i]);
        }
        pthread_mutex_unlock(&gate->lock);
    }
    return 0;
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
    /* a failover key now claimable (or not) changes what this pool claims */
    gate_check_claims(gate);
}
