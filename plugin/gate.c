#include "gate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "license_set.h"
#include "pool.h"
#include "shm.h"

struct gate {
    struct gate_config cfg;
    struct gate_env env;
    struct seat_pool *pool;
    struct license_set licenses;
    uint32_t limit;
    bool evaluation;
    int64_t next_change; /* when license states must be evaluated again */
};

static void gate_logf(const struct gate_env *env, enum gate_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void gate_logf(const struct gate_env *env, enum gate_log_level level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    if (env->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    env->log(env->log_arg, level, msg);
}

static void log_license(const struct gate *gate, const struct license_entry *e)
{
    const struct license *lic = &e->lic;
    char support[24], lease[24];

    if (!e->loaded) {
        gate_logf(&gate->env, GATE_LOG_WARN, "license '%s' skipped: %s", e->file, e->reason);
        return;
    }
    license_format_time(lic->support_until, support, sizeof(support));
    if (lic->lease_not_after != 0)
        license_format_time(lic->lease_not_after, lease, sizeof(lease));
    else
        snprintf(lease, sizeof(lease), "none");
    if (e->state == LICENSE_ACTIVE && e->reason[0] == '\0')
        gate_logf(&gate->env, GATE_LOG_NOTE,
                  "license '%s': key %s, customer '%s', %u seats, support until %s%s, lease "
                  "until %s: active",
                  e->file, lic->key_id, lic->customer, lic->seats, support,
                  lic->perpetual ? " (perpetual)" : "", lease);
    else
        gate_logf(&gate->env, GATE_LOG_WARN, "license '%s': key %s, %u seats: %s: %s", e->file,
                  lic->key_id, lic->seats, license_state_name(e->state), e->reason);
}

/* Publishes the limit the licenses give now; logs a change. */
static void gate_apply_limit(struct gate *gate, const char *why)
{
    uint32_t seats = license_set_seats(&gate->licenses);
    bool evaluation = seats == 0;
    uint32_t limit = evaluation ? GATE_EVALUATION_SEATS : seats;

    if (limit != gate->limit || evaluation != gate->evaluation) {
        if (evaluation)
            gate_logf(&gate->env, GATE_LOG_NOTE,
                      "%s: no valid license: evaluation mode, %u seats (pool '%s')", why, limit,
                      gate->cfg.pool);
        else
            gate_logf(&gate->env, GATE_LOG_NOTE, "%s: limit %u seats (pool '%s')", why, limit,
                      gate->cfg.pool);
    }
    gate->limit = limit;
    gate->evaluation = evaluation;
    seat_pool_set_limit(gate->pool, limit);
}

/* Called on the admission path: cheap unless a license changes state now. */
static void gate_follow_time(struct gate *gate)
{
    int64_t now = gate->env.now();
    enum license_state before[LICENSE_SET_MAX_FILES];
    size_t n = gate->licenses.count;

    if (now < gate->next_change)
        return;
    for (size_t i = 0; i < n; i++)
        before[i] = gate->licenses.entries[i].state;
    license_set_evaluate(&gate->licenses, now);
    for (size_t i = 0; i < n; i++) {
        const struct license_entry *e = &gate->licenses.entries[i];
        if (e->loaded && e->state != before[i])
            log_license(gate, e);
    }
    gate->next_change = license_set_next_change(&gate->licenses, now);
    gate_apply_limit(gate, "license state changed");
}

static int gate_load_licenses(struct gate *gate, struct license_set *out, char *err, size_t errlen)
{
    int r;

    r = license_set_load(gate->cfg.license_dir, gate->env.keys, gate->env.nkeys, gate->env.now(),
                         out);
    if (r < 0)
        snprintf(err, errlen, "license-dir %s: %s", gate->cfg.license_dir, strerror(-r));
    return r;
}

static void gate_install_licenses(struct gate *gate, struct license_set *set, const char *why)
{
    int64_t now = gate->env.now();

    license_set_free(&gate->licenses);
    gate->licenses = *set;
    memset(set, 0, sizeof(*set));
    for (size_t i = 0; i < gate->licenses.count; i++)
        log_license(gate, &gate->licenses.entries[i]);
    gate->next_change = license_set_next_change(&gate->licenses, now);
    gate->limit = UINT32_MAX; /* force the log line */
    gate_apply_limit(gate, why);
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
    r = gate_owner(cfg, &owner, err, errlen);
    if (r < 0)
        goto fail;
    r = seat_pool_attach(cfg->pool, cfg->capacity, &owner, &gate->pool, reason, sizeof(reason));
    if (r < 0) {
        snprintf(err, errlen, "pool '%s': %s", cfg->pool, reason);
        goto fail;
    }
    if (env->development_keys)
        gate_logf(env, GATE_LOG_WARN,
                  "DEVELOPMENT BUILD: trusting the public development issuer key; anyone can "
                  "sign licenses for this build");
    r = gate_load_licenses(gate, &set, err, errlen);
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
    if (gate->pool != NULL)
        seat_pool_detach(gate->pool);
    license_set_free(&gate->licenses);
    free(gate);
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
    gate_logf(&gate->env, GATE_LOG_NOTE,
              "refused cn='%s' %s at TLS handshake: limit reached (%u/%u seats%s)", cn, addr,
              nums.in_use, nums.limit, gate->evaluation ? ", evaluation mode" : "");
    return -EDQUOT;
}

int gate_client_connect(struct gate *gate, struct gate_client *client, const char *cn,
                        const char *addr)
{
    struct seat_request req = {.cn = cn, .addr = addr};
    struct seat_numbers nums;
    uint32_t slot;
    int r;

    if (client->admitted)
        return 0;
    gate_follow_time(gate);
    req.now = gate->env.now();
    r = seat_pool_admit(gate->pool, &req, &slot, &nums);
    if (r == -EDQUOT || r == -ENOSPC) {
        /* Seats of an openvpn that died without closing the plugin come back here at the
         * latest; a live pool never pays for this on its admission path. */
        int reclaimed = seat_pool_reclaim_dead(gate->pool);

        if (reclaimed > 0) {
            gate_logf(&gate->env, GATE_LOG_WARN,
                      "reclaimed %d seats held by openvpn processes that died", reclaimed);
            r = seat_pool_admit(gate->pool, &req, &slot, &nums);
        }
    }
    switch (r) {
    case 0:
        client->admitted = true;
        client->slot = slot;
        gate_logf(&gate->env, GATE_LOG_NOTE, "admitted cn='%s' %s (%u/%u seats%s)", cn, addr,
                  nums.in_use, nums.limit, gate->evaluation ? ", evaluation mode" : "");
        break;
    case -EDQUOT:
        gate_logf(&gate->env, GATE_LOG_NOTE, "refused cn='%s' %s: limit reached (%u/%u seats%s)",
                  cn, addr, nums.in_use, nums.limit, gate->evaluation ? ", evaluation mode" : "");
        break;
    case -ENOSPC:
        gate_logf(&gate->env, GATE_LOG_WARN,
                  "refused cn='%s' %s: pool capacity reached (%u sessions; raise capacity=)", cn,
                  addr, nums.capacity);
        break;
    default:
        gate_logf(&gate->env, GATE_LOG_ERR, "refused cn='%s' %s: %s", cn, addr, strerror(-r));
        break;
    }
    return r;
}

void gate_client_release(struct gate *gate, struct gate_client *client)
{
    int r;

    if (!client->admitted)
        return;
    client->admitted = false;
    r = seat_pool_release(gate->pool, client->slot);
    if (r < 0)
        gate_logf(&gate->env, GATE_LOG_ERR, "release of slot %u failed: %s", client->slot,
                  strerror(-r));
}

int gate_reload(struct gate *gate, char *err, size_t errlen)
{
    struct license_set set = {0};
    int r;

    r = gate_load_licenses(gate, &set, err, errlen);
    if (r < 0)
        return r;
    gate_install_licenses(gate, &set, "licenses reloaded");
    return 0;
}

uint32_t gate_limit(const struct gate *gate, bool *evaluation)
{
    if (evaluation != NULL)
        *evaluation = gate->evaluation;
    return gate->limit;
}
