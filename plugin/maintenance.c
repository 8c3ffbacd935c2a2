#include "maintenance.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "control_proto.h"
#include "errbuf.h"
#include "license.h"
#include "netlink.h"
#include "pool.h"
#include "thread.h"

#define MAINTENANCE_TICK_MS    250   /* reloads, failover role, the clock */
#define MAINTENANCE_RECLAIM_MS 2000  /* dead processes' seats, claims, the audit */
#define MAINTENANCE_WARN_MS    60000 /* expiry warnings are looked at this often, logged daily */
#define MAINTENANCE_WARNED_MAX 64

struct maintenance {
    struct gate *gate;
    pthread_t thread;
    struct wake wake;
    _Atomic bool stop; /* read by the thread after a wake-up */
    uint32_t reload_seen;
    int64_t next_reclaim, next_warn;
    struct {
        char key_id[LICENSE_KEY_ID_MAX + 1];
        int64_t day;
    } warned[MAINTENANCE_WARNED_MAX]; /* the day each license was last warned about */
    size_t nwarned;

    pthread_mutex_t lock; /* guards last */
    struct maintenance_reload last;
};

/* A reload requested through the pool (by any process's control socket): re-read, record the
 * outcome for the socket that asked, and say so in the pool, so that the asker can answer once
 * every process followed. */
static void follow_reloads(struct maintenance *m)
{
    struct seat_pool *pool = gate_pool(m->gate);
    uint32_t want = seat_pool_reload_requests(pool);
    struct maintenance_reload done = {.request = want};

    if (want == m->reload_seen)
        return;
    m->reload_seen = want;
    done.result = gate_reload(m->gate, &done.res, done.err, sizeof(done.err));
    pthread_mutex_lock(&m->lock);
    m->last = done;
    pthread_mutex_unlock(&m->lock);
    seat_pool_reload_ack(pool, want);
}

static void reclaim(struct maintenance *m)
{
    int n = seat_pool_reclaim_dead(gate_pool(m->gate));

    if (n > 0)
        gate_logf(m->gate, GATE_LOG_WARN, "reclaimed %d seats held by openvpn processes that died",
                  n);
}

/* One warning a day per license in the openvpn log; status shows them always. */
static void warn_expiry(struct maintenance *m)
{
    struct license_set set = {0};
    int64_t now = gate_now(m->gate), today = now / 86400;
    char why[256];

    if (gate_copy_licenses(m->gate, &set) != 0)
        return;
    for (size_t i = 0; i < set.count; i++) {
        const struct license_entry *e = &set.entries[i];
        size_t k;

        if (!license_entry_counts(e) || !control_license_warning(&e->lic, now, why, sizeof(why)))
            continue;
        for (k = 0; k < m->nwarned; k++) {
            if (strcmp(m->warned[k].key_id, e->lic.key_id) == 0)
                break;
        }
        if (k == m->nwarned) {
            if (k == MAINTENANCE_WARNED_MAX)
                continue;
            snprintf(m->warned[k].key_id, sizeof(m->warned[k].key_id), "%s", e->lic.key_id);
            m->warned[k].day = -1;
            m->nwarned++;
        }
        if (m->warned[k].day == today)
            continue;
        m->warned[k].day = today;
        gate_logf(m->gate, GATE_LOG_WARN, "license '%s' (key %s): %s", e->file, e->lic.key_id, why);
    }
    license_set_free(&set);
}

/* The failover address is looked at every tick (250 ms): a node that gains or loses it changes
 * role within that delay, off the admission path. */
static void follow_failover(struct maintenance *m)
{
    const char *vip = gate_config(m->gate)->failover_vip;
    int held = 0;

    if (vip[0] == '\0' || netlink_has_address(vip, &held) < 0)
        return;
    gate_set_failover_active(m->gate, held != 0);
}

static void tick(struct maintenance *m, int64_t now)
{
    follow_reloads(m);
    follow_failover(m);
    gate_clock_tick(m->gate);
    gate_usage_tick(m->gate);
    if (now >= m->next_reclaim) {
        reclaim(m);
        gate_check_claims(m->gate);
        gate_audit(m->gate);
        m->next_reclaim = now + MAINTENANCE_RECLAIM_MS;
    } else if (gate_machine_changed(m->gate)) {
        gate_check_claims(m->gate); /* a process came or went, a claim moved */
    }
    if (now >= m->next_warn) {
        warn_expiry(m);
        m->next_warn = now + MAINTENANCE_WARN_MS;
    }
}

static void *maintenance_main(void *arg)
{
    struct maintenance *m = arg;
    int64_t next = 0;

    while (!m->stop) {
        int64_t now = clock_monotonic_ms();

        if (now >= next) {
            tick(m, now);
            next = now + MAINTENANCE_TICK_MS;
            continue;
        }
        if (wake_wait(&m->wake, (int)(next - now)))
            next = 0; /* woken: look now */
    }
    return NULL;
}

int maintenance_start(struct gate *gate, struct maintenance **out, char *err, size_t errlen)
{
    struct maintenance *m;
    int r;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->gate = gate;
    m->reload_seen = seat_pool_reload_requests(gate_pool(gate));
    m->last.request = m->reload_seen - 1;
    pthread_mutex_init(&m->lock, NULL);
    r = wake_init(&m->wake);
    if (r == 0)
        r = thread_start(&m->thread, maintenance_main, m);
    if (r < 0) {
        errbuf_set(err, errlen, "maintenance thread: %s", strerror(-r));
        wake_close(&m->wake);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return r;
    }
    *out = m;
    return 0;
}

void maintenance_stop(struct maintenance *m)
{
    if (m == NULL)
        return;
    m->stop = 1;
    wake_signal(&m->wake);
    pthread_join(m->thread, NULL);
    wake_close(&m->wake);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void maintenance_wake(struct maintenance *m)
{
    wake_signal(&m->wake);
}

void maintenance_last_reload(struct maintenance *m, struct maintenance_reload *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->last;
    pthread_mutex_unlock(&m->lock);
}
