/* The gate: opening and closing it, and every admission and release. The licenses and the
 * limit are gate_keys.c's, time is gate_clock.c's, the log queue gate_log.c's. */
#include "gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "clock.h"
#include "errbuf.h"
#include "gate_internal.h"
#include "line.h"
#include "netlink.h"
#include "pool.h"

/* What a client refused in reason-to-client mode waits before it retries. */
#define GATE_CLIENT_BACKOFF 10
/* How long an admission that found the evaluation seats taken waits for the registry's lock
 * to reclaim the seats of processes that died. */
#define GATE_EVAL_RECLAIM_MS 20

static const char *evaluation_note(const struct gate *gate)
{
    return atomic_load_explicit(&gate->evaluation, memory_order_relaxed) ? ", evaluation mode" : "";
}

static int gate_identity(const struct gate_config *cfg, struct machine_identity *id, char *err,
                         size_t errlen)
{
    int r;

    memset(id, 0, sizeof(*id));
    if (cfg->user[0] != '\0') {
        r = account_user(cfg->user, &id->uid);
        if (r < 0) {
            errbuf_set(err, errlen, "user=%s: %s", cfg->user,
                       r == -ENOENT ? "no such user" : strerror(-r));
            return r;
        }
        id->set_uid = true;
    }
    if (cfg->group[0] != '\0') {
        r = account_group(cfg->group, &id->gid);
        if (r < 0) {
            errbuf_set(err, errlen, "group=%s: %s", cfg->group,
                       r == -ENOENT ? "no such group" : strerror(-r));
            return r;
        }
        id->set_gid = true;
    }
    return 0;
}

int gate_open(const struct gate_config *cfg, const struct gate_env *env, struct gate **out,
              char *err, size_t errlen)
{
    struct license_set set = {0};
    struct machine_identity id;
    struct gate *gate;
    char reason[512];
    int r;

    *out = NULL;
    gate = calloc(1, sizeof(*gate));
    if (gate == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    gate->cfg = *cfg;
    gate->env = *env;
    gate->owner = pthread_self();
    pthread_mutex_init(&gate->lock, NULL);
    pthread_mutex_init(&gate->log_lock, NULL);
    gate_usage_init(gate);
    r = gate_identity(cfg, &id, err, errlen);
    if (r < 0)
        goto fail;
    r = machine_attach(LICGATE_RUNDIR, cfg->pool, cfg->capacity, cfg->license_dir, &id, env->now(),
                       &gate->machine, reason, sizeof(reason));
    if (r < 0) {
        errbuf_set(err, errlen, "pool '%s': %s", cfg->pool, reason);
        goto fail;
    }
    gate->pool = machine_pool(gate->machine);
    gate->reg = machine_registry(gate->machine);
    if (cfg->failover_vip[0] != '\0') {
        int held = 0;
        r = netlink_has_address(cfg->failover_vip, &held);
        if (r < 0) {
            errbuf_set(err, errlen, "failover-vip %s: %s", cfg->failover_vip, strerror(-r));
            goto fail;
        }
        atomic_store_explicit(&gate->failover_active, held != 0, memory_order_relaxed);
        gate_logf(gate, GATE_LOG_NOTE, "failover: this node %s %s: %s",
                  held ? "holds" : "does not hold", cfg->failover_vip, held ? "active" : "standby");
    }
    r = gate_open_clock(gate, reason, sizeof(reason));
    if (r < 0) {
        errbuf_set(err, errlen, "state-dir: %s", reason);
        goto fail;
    }
    if (env->development_keys)
        gate_logf(gate, GATE_LOG_WARN,
                  "DEVELOPMENT BUILD: trusting the public development issuer key; anyone can "
                  "sign licenses for this build");
    r = gate_load_licenses(gate, &set, true, err, errlen);
    if (r < 0)
        goto fail;
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
    gate_usage_close(gate);
    machine_detach(gate->machine);
    if (gate->clock_path[0] != '\0')
        gate_save_mark(gate, atomic_load_explicit(&gate->clock_mark, memory_order_relaxed));
    if (gate->env.log != NULL && pthread_equal(pthread_self(), gate->owner))
        gate_flush_log(gate);
    license_set_free(&gate->licenses);
    license_set_free(&gate->peers);
    pthread_mutex_destroy(&gate->lock);
    pthread_mutex_destroy(&gate->log_lock);
    free(gate);
}

/* The numbers an admission is decided on: the pool's in-use count against this process's own
 * limit, and this process's own count against the same limit, which no shared byte can
 * lower. */
uint32_t gate_cluster_grant(const struct gate *gate, int64_t *deadline_ms)
{
    uint32_t cap = atomic_load_explicit(&gate->cluster_seats, memory_order_relaxed), grant;
    int64_t deadline;

    if (deadline_ms != NULL)
        *deadline_ms = 0;
    if (cap == 0)
        return 0;
    seat_pool_cluster(gate->pool, &grant, &deadline);
    if (deadline_ms != NULL)
        *deadline_ms = deadline;
    /* Coarse: up to a tick late, well inside the 500 ms the agent keeps off the deadline. */
    if (grant == 0 || clock_monotonic_coarse_ms() >= deadline)
        return 0;
    return grant < cap ? grant : cap;
}

static bool gate_full(struct gate *gate, struct seat_numbers *nums)
{
    uint32_t local = atomic_load_explicit(&gate->local_in_use, memory_order_relaxed);

    seat_pool_numbers(gate->pool, nums);
    nums->limit =
        atomic_load_explicit(&gate->limit, memory_order_relaxed) + gate_cluster_grant(gate, NULL);
    if (local > nums->in_use)
        nums->in_use = local;
    return nums->in_use >= nums->limit;
}

/* In evaluation mode, whether the machine's evaluation seats are all held. */
static bool gate_eval_full(struct gate *gate)
{
    return atomic_load_explicit(&gate->evaluation, memory_order_relaxed) &&
           (registry_eval_in_use(gate->reg) >= GATE_EVALUATION_SEATS ||
            atomic_load_explicit(&gate->local_eval, memory_order_relaxed) >= GATE_EVALUATION_SEATS);
}

bool gate_tls_would_refuse(struct gate *gate, const struct gate_client *client)
{
    struct seat_numbers nums;

    if (client != NULL && client->admitted)
        return false;
    gate_follow_time(gate, gate_time(gate));
    return gate_full(gate, &nums) || gate_eval_full(gate);
}

static void eval_reason(struct gate *gate, const struct seat_numbers *nums, char *why, size_t len)
{
    snprintf(why, len,
             "limit reached (%u/%u seats, evaluation mode: the machine's %u evaluation seats "
             "are in use, %u in other pools)",
             nums->in_use, nums->limit, GATE_EVALUATION_SEATS,
             registry_eval_in_use(gate->reg) -
                 atomic_load_explicit(&gate->local_eval, memory_order_relaxed));
}

int gate_tls_verify(struct gate *gate, const struct gate_client *client, const char *cn,
                    const char *addr)
{
    struct seat_numbers nums;
    char why[192];

    if (client != NULL && client->admitted)
        return 0;
    gate_follow_time(gate, gate_time(gate));
    if (gate_full(gate, &nums))
        snprintf(why, sizeof(why), "limit reached (%u/%u seats%s)", nums.in_use, nums.limit,
                 evaluation_note(gate));
    else if (gate_eval_full(gate))
        eval_reason(gate, &nums, why, sizeof(why));
    else
        return 0;
    seat_pool_count_refusal(gate->pool);
    gate_logf(gate, GATE_LOG_NOTE, "refused cn='%s' %s at TLS handshake: %s", cn, addr, why);
    return -EDQUOT;
}

/* One of the machine's evaluation seats; the seats of processes that died come back first
 * when none is free. */
static int gate_take_eval(struct gate *gate, struct gate_client *client)
{
    if (atomic_load_explicit(&gate->local_eval, memory_order_relaxed) >= GATE_EVALUATION_SEATS)
        return -EDQUOT;
    if (registry_eval_take(gate->reg, &client->eval) == 0)
        return 0;
    if (registry_lock(gate->reg, GATE_EVAL_RECLAIM_MS) == 0) {
        registry_reclaim_dead(gate->reg);
        registry_unlock(gate->reg);
    }
    return registry_eval_take(gate->reg, &client->eval);
}

static void gate_give_eval(struct gate *gate, struct gate_client *client)
{
    if (client->eval.seat < 0)
        return;
    if (registry_eval_give(gate->reg, &client->eval) == -ESTALE)
        gate_logf(gate, GATE_LOG_WARN,
                  "an evaluation seat this process held was taken over in the machine "
                  "registry (written by something other than licgate)");
    atomic_fetch_sub_explicit(&gate->local_eval, 1, memory_order_relaxed);
}

/* "N/M seats" and the evaluation note, as the admission lines say them. */
static void line_seats(struct line *l, const struct gate *gate, const struct seat_numbers *nums)
{
    line_u32(l, nums->in_use);
    line_char(l, '/');
    line_u32(l, nums->limit);
    line_str(l, " seats");
    line_str(l, evaluation_note(gate));
}

/* The decision line, "admitted cn='CN' ADDR (N/M seats)" or "refused cn='CN' ADDR: WHY", made
 * without printf: it is on every admission's path. */
static void log_decision(struct gate *gate, enum gate_log_level level, const char *cn,
                         const char *addr, const struct seat_numbers *admitted, const char *why)
{
    char msg[GATE_LOG_LINE_MAX];
    struct line l;

    line_init(&l, msg, sizeof(msg));
    if (admitted != NULL)
        line_str(&l, "admitted cn='");
    else
        line_str(&l, "refused cn='");
    line_str(&l, cn);
    line_str(&l, "' ");
    line_str(&l, addr);
    if (admitted != NULL) {
        line_str(&l, " (");
        line_seats(&l, gate, admitted);
        line_char(&l, ')');
    } else {
        line_str(&l, ": ");
        line_str(&l, why);
    }
    gate_log_text(gate, level, msg);
}

static int gate_admit(struct gate *gate, struct gate_client *client, const char *cn,
                      const char *addr, char *reason, size_t reasonlen)
{
    struct line l;
    struct seat_request req = {.cn = cn, .addr = addr};
    struct seat_numbers nums = {0};
    bool evaluation;
    char why[192];
    uint32_t slot;
    int r;

    if (client->admitted)
        return 0;
    client->eval.seat = -1;
    req.now = gate_time(gate);
    gate_follow_time(gate, req.now);
    evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
    if (gate_full(gate, &nums)) {
        seat_pool_count_refusal(gate->pool);
        r = -EDQUOT;
    } else if (evaluation && gate_take_eval(gate, client) < 0) {
        seat_pool_count_refusal(gate->pool);
        eval_reason(gate, &nums, why, sizeof(why));
        r = -EDQUOT;
        goto refused;
    } else {
        if (evaluation)
            atomic_fetch_add_explicit(&gate->local_eval, 1, memory_order_relaxed);
        r = seat_pool_admit(gate->pool, &req, nums.limit, &slot, &nums);
        if (r == -EDQUOT || r == -ENOSPC) {
            /* Seats of an openvpn that died without closing the plugin come back here at the
             * latest; a live pool never pays for this on its admission path. */
            int reclaimed = seat_pool_reclaim_dead(gate->pool);

            if (reclaimed > 0) {
                gate_logf(gate, GATE_LOG_WARN,
                          "reclaimed %d seats held by openvpn processes that died", reclaimed);
                r = seat_pool_admit(gate->pool, &req, nums.limit, &slot, &nums);
            }
        }
        if (r < 0)
            gate_give_eval(gate, client);
    }
    switch (r) {
    case 0:
        client->admitted = true;
        client->slot = slot;
        atomic_fetch_add_explicit(&gate->local_in_use, 1, memory_order_relaxed);
        log_decision(gate, GATE_LOG_NOTE, cn, addr, &nums, NULL);
        return 0;
    case -EDQUOT:
        line_init(&l, why, sizeof(why));
        line_str(&l, "limit reached (");
        line_seats(&l, gate, &nums);
        line_char(&l, ')');
        break;
    case -ENOSPC:
        snprintf(why, sizeof(why), "pool capacity reached (%u sessions; raise capacity=)",
                 nums.capacity);
        break;
    default:
        snprintf(why, sizeof(why), "internal error: %s", strerror(-r));
        break;
    }
refused:
    log_decision(gate, r == -EDQUOT ? GATE_LOG_NOTE : GATE_LOG_WARN, cn, addr, NULL, why);
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
    uint32_t n;
    int r;

    if (!client->admitted)
        return;
    client->admitted = false;
    r = seat_pool_release(gate->pool, client->slot);
    if (r == -EALREADY || r == -EPERM)
        gate_logf(gate, GATE_LOG_WARN,
                  "release of slot %u: it was %s (the pool's shared memory was written by "
                  "something other than licgate)",
                  client->slot, r == -EALREADY ? "free already" : "another process's");
    else if (r < 0)
        gate_logf(gate, GATE_LOG_ERR, "release of slot %u failed: %s", client->slot, strerror(-r));
    n = atomic_load_explicit(&gate->local_in_use, memory_order_relaxed);
    if (n > 0)
        atomic_store_explicit(&gate->local_in_use, n - 1, memory_order_relaxed);
    gate_give_eval(gate, client);
}

uint32_t gate_limit(const struct gate *gate, bool *evaluation)
{
    if (evaluation != NULL)
        *evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
    return atomic_load_explicit(&gate->limit, memory_order_relaxed) +
           gate_cluster_grant(gate, NULL);
}

uint32_t gate_cluster_seats(const struct gate *gate)
{
    return atomic_load_explicit(&gate->cluster_seats, memory_order_relaxed);
}

int gate_set_cluster_grant(struct gate *gate, uint32_t grant, int64_t deadline_ms, char *err,
                           size_t errlen)
{
    uint32_t cap = gate_cluster_seats(gate);

    if (cap == 0)
        return errbuf_fail(err, errlen, -ENOENT, "no cluster license counts in pool '%s'",
                           gate->cfg.pool);
    if (grant > cap)
        return errbuf_fail(err, errlen, -ERANGE, "grant %u exceeds the cluster license's %u seats",
                           grant, cap);
    seat_pool_set_cluster(gate->pool, grant, deadline_ms);
    return 0;
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

bool gate_failover_active(const struct gate *gate)
{
    return atomic_load_explicit(&gate->failover_active, memory_order_relaxed);
}

void gate_machine_status(struct gate *gate, struct gate_machine_status *out)
{
    struct seat_numbers nums;

    memset(out, 0, sizeof(*out));
    out->eval_in_use = registry_eval_in_use(gate->reg);
    machine_ids(gate->machine, &out->registry_id, &out->pool_id);
    seat_pool_numbers(gate->pool, &nums);
    nums.limit = atomic_load_explicit(&gate->limit, memory_order_relaxed);
    out->over = nums.in_use > nums.limit ? nums.in_use - nums.limit : 0;
}

/* Says once per episode what another writer of the shared memory changed. */
static void gate_tampered(struct gate *gate, const char *what)
{
    if (gate->tamper_said)
        return;
    gate->tamper_said = true;
    gate_logf(gate, GATE_LOG_WARN,
              "%s: the shared memory of pool '%s' or of the machine registry was written by "
              "something other than licgate (a process of the runtime user?); repaired where it "
              "could be",
              what, gate->cfg.pool);
}

static void gate_check_over(struct gate *gate)
{
    struct seat_numbers nums;

    seat_pool_numbers(gate->pool, &nums);
    nums.limit = atomic_load_explicit(&gate->limit, memory_order_relaxed);
    if (nums.in_use > nums.limit && !gate->over_limit) {
        gate->over_limit = true;
        gate_logf(gate, GATE_LOG_WARN,
                  "over the limit: %u in use, %u licensed: new connections are refused until %u "
                  "leave (pool '%s')",
                  nums.in_use, nums.limit, nums.in_use - nums.limit, gate->cfg.pool);
    } else if (nums.in_use <= nums.limit && gate->over_limit) {
        gate->over_limit = false;
        gate_logf(gate, GATE_LOG_NOTE, "back within the limit: %u in use, %u licensed (pool '%s')",
                  nums.in_use, nums.limit, gate->cfg.pool);
    }
}

void gate_audit(struct gate *gate)
{
    struct seat_pool_audit a;
    struct machine_check mc;
    uint64_t mismatch;
    uint32_t local;
    bool clean = true;
    char what[160];

    seat_pool_audit(gate->pool, &a);
    if (a.repaired && a.after_death) {
        gate_logf(gate, GATE_LOG_WARN,
                  "recounted pool '%s' after an openvpn process died inside an admission: %u "
                  "sessions hold seats (the counter said %u)",
                  gate->cfg.pool, a.sessions, a.counted);
    } else if (a.repaired) {
        snprintf(what, sizeof(what), "the in-use counter said %u, %u sessions hold seats",
                 a.counted, a.sessions);
        gate_tampered(gate, what);
        clean = false;
    }
    if (a.put_back > 0 && a.after_death) {
        gate_logf(gate, GATE_LOG_WARN,
                  "put %u slots of pool '%s' back on the free list: an openvpn process died "
                  "while it moved them",
                  a.put_back, gate->cfg.pool);
    } else if (a.put_back > 0) {
        snprintf(what, sizeof(what), "%u slots were neither in use nor free", a.put_back);
        gate_tampered(gate, what);
        clean = false;
    }
    /* An admission in flight differs for microseconds; the same difference two audits
     * apart is another writer's. */
    local = atomic_load_explicit(&gate->local_in_use, memory_order_relaxed);
    mismatch =
        a.quiet && a.own_slots != local ? (uint64_t)local << 32 | a.own_slots | 1ull << 63 : 0;
    if (mismatch != 0 && mismatch == gate->own_mismatch) {
        snprintf(what, sizeof(what),
                 "this process holds %u sessions, the pool's slots name it "
                 "for %u",
                 local, a.own_slots);
        gate_tampered(gate, what);
        clean = false;
    }
    gate->own_mismatch = mismatch;
    if (!a.own_entry_ok) {
        gate_tampered(gate, "this process's entry in the pool's process table was changed");
        clean = false;
    }
    machine_check(gate->machine, gate_time(gate), &mc);
    if (mc.perms_changed || mc.self_reregistered || mc.pool_republished) {
        gate_tampered(gate, mc.perms_changed       ? "a segment's owner or mode was changed"
                            : mc.self_reregistered ? "this process's registry entry was changed"
                                                   : "the registry no longer named this pool's "
                                                     "segment");
        clean = false;
        if (mc.self_reregistered)
            gate_check_claims(gate);
    }
    if (mc.registry_removed && !gate->registry_removed_said) {
        gate->registry_removed_said = true;
        gate_logf(gate, GATE_LOG_WARN,
                  "the machine registry was marked for removal (ipcrm): it stays in use while "
                  "an openvpn process holds it, and is made anew after the last one stops");
    }
    if (clean && a.quiet)
        gate->tamper_said = false;
    gate_check_over(gate);
}
