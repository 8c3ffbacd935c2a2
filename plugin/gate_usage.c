/* The usage record of a pool (usage.h), kept by the process that serves its control socket.
 * The maintenance thread adds to it every tick and writes it to state-dir/pools/<pool>/usage
 * (the clock mark's directory and owner) at each new hour, every 5 minutes, when this process
 * stops serving and when it closes; the control thread reads it for `usage`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fs.h"
#include "gate_internal.h"
#include "hex.h"

#define USAGE_SAVE_MS (5 * 60 * 1000)
#define HOUR          3600

void gate_usage_init(struct gate *gate)
{
    pthread_mutex_init(&gate->usage_lock, NULL);
    pthread_mutex_init(&gate->usage_tick_lock, NULL);
}

/* The pool segment's token, as the record's base line names it. */
static void pool_token_hex(struct gate *gate, char hex[USAGE_TOKEN_HEX + 1])
{
    uint8_t token[SEAT_POOL_TOKEN_LEN];

    _Static_assert(2 * SEAT_POOL_TOKEN_LEN == USAGE_TOKEN_HEX, "token size");
    seat_pool_token(gate->pool, token);
    hex_encode(token, sizeof(token), hex);
}

static void usage_save(struct gate *gate)
{
    char *text;
    size_t len = 0;
    int r;

    pthread_mutex_lock(&gate->usage_lock);
    pool_token_hex(gate, gate->usage.base.token);
    gate->usage.base.admissions = gate->usage_base.admissions;
    gate->usage.base.refused_limit = gate->usage_base.refusals_limit;
    gate->usage.base.refused_capacity = gate->usage_base.refusals_capacity;
    text = usage_format(&gate->usage, &len);
    pthread_mutex_unlock(&gate->usage_lock);
    if (text == NULL)
        return;
    r = fs_write_atomic_owned(gate->usage_path, text, len, 0600, gate->clock_uid);
    free(text);
    if (r < 0 && !gate->usage_error_said)
        gate_logf(gate, GATE_LOG_ERR, "cannot save the usage record %s: %s", gate->usage_path,
                  strerror(-r));
    gate->usage_error_said = r < 0;
    gate->usage_next_save = clock_monotonic_ms() + USAGE_SAVE_MS;
}

/* What the last process that served left; a record that cannot be read is set aside as
 * usage.bad (said once) and a new one begun, so nothing is overwritten unseen. */
static void usage_load(struct gate *gate)
{
    char *text = NULL, err[160], bad[sizeof(gate->usage_path) + 4], token[USAGE_TOKEN_HEX + 1];
    struct usage_log log = {0};
    size_t len = 0, skipped = 0;
    int r = fs_read_bounded(gate->usage_path, USAGE_FILE_MAX, &text, &len);

    if (r == 0)
        r = usage_parse(text, len, &log, &skipped, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "%s", strerror(-r));
    free(text);
    if (r < 0 && r != -ENOENT) {
        snprintf(bad, sizeof(bad), "%s.bad", gate->usage_path);
        gate_logf(gate, GATE_LOG_WARN, "usage record %s: %s; kept as %s, a new one begins",
                  gate->usage_path, err, bad);
        fs_rename(gate->usage_path, bad);
    } else if (skipped > 0) {
        gate_logf(gate, GATE_LOG_WARN,
                  "usage record %s: %zu rows could not be read and are left out", gate->usage_path,
                  skipped);
    }
    /* The rows count this segment's counters as far as the base line says; a segment made
     * since counted from 0. The window peak since the last take is this hour's. */
    pool_token_hex(gate, token);
    memset(&gate->usage_base, 0, sizeof(gate->usage_base));
    if (strcmp(log.base.token, token) == 0) {
        gate->usage_base.admissions = log.base.admissions;
        gate->usage_base.refusals_limit = log.base.refused_limit;
        gate->usage_base.refusals_capacity = log.base.refused_capacity;
    }
    pthread_mutex_lock(&gate->usage_lock);
    usage_free(&gate->usage);
    gate->usage = log;
    pthread_mutex_unlock(&gate->usage_lock);
    gate->usage_loaded = true;
    gate->usage_hour = gate_time(gate) / HOUR * HOUR;
    gate->usage_licensed = atomic_load_explicit(&gate->limit, memory_order_relaxed) +
                           atomic_load_explicit(&gate->cluster_seats, memory_order_relaxed);
    gate->usage_evaluation = atomic_load_explicit(&gate->evaluation, memory_order_relaxed);
    gate->usage_next_save = clock_monotonic_ms() + USAGE_SAVE_MS;
}

static uint64_t since(uint64_t now, uint64_t base)
{
    return now >= base ? now - base : now; /* the pool was made anew: its counters restarted */
}

/* What the pool did since the last tick, as a row of the record's current hour. */
static void usage_sample(struct gate *gate, struct usage_hour *h, bool take_peak)
{
    struct seat_pool_counters c;
    uint32_t licensed = atomic_load_explicit(&gate->limit, memory_order_relaxed) +
                        atomic_load_explicit(&gate->cluster_seats, memory_order_relaxed);
    bool evaluation;

    seat_pool_counters(gate->pool, &c);
    memset(h, 0, sizeof(*h));
    h->hour = gate->usage_hour;
    h->peak =
        take_peak ? seat_pool_take_window_peak(gate->pool) : seat_pool_window_peak(gate->pool);
    if (c.in_use > h->peak)
        h->peak = c.in_use;
    h->limit = gate_limit(gate, &evaluation);
    h->admissions = since(c.admissions, gate->usage_base.admissions);
    h->refused_limit = since(c.refusals_limit, gate->usage_base.refusals_limit);
    h->refused_capacity = since(c.refusals_capacity, gate->usage_base.refusals_capacity);
    h->flags = evaluation ? USAGE_EVALUATION : 0;
    if (licensed != gate->usage_licensed || evaluation != gate->usage_evaluation)
        h->flags |= USAGE_CHANGED;
    gate->usage_base = c;
    gate->usage_licensed = licensed;
    gate->usage_evaluation = evaluation;
}

static void usage_add_locked(struct gate *gate, const struct usage_hour *h)
{
    pthread_mutex_lock(&gate->usage_lock);
    usage_add(&gate->usage, h);
    pthread_mutex_unlock(&gate->usage_lock);
}

static void usage_tick_locked(struct gate *gate)
{
    struct usage_hour h;
    int64_t hour;

    if (!atomic_load_explicit(&gate->serving, memory_order_acquire)) {
        if (gate->usage_loaded) { /* another process serves now: it reads what we saved */
            usage_save(gate);
            gate->usage_loaded = false;
        }
        return;
    }
    if (!gate->usage_loaded)
        usage_load(gate);
    hour = gate_time(gate) / HOUR * HOUR;
    usage_sample(gate, &h, hour > gate->usage_hour);
    usage_add_locked(gate, &h);
    if (hour > gate->usage_hour) {
        /* The new hour begins with what is in use now. */
        gate->usage_hour = hour;
        h.hour = hour;
        h.admissions = h.refused_limit = h.refused_capacity = 0;
        h.flags &= USAGE_EVALUATION;
        h.peak = seat_pool_window_peak(gate->pool);
        usage_add_locked(gate, &h);
        usage_save(gate);
    } else if (clock_monotonic_ms() >= gate->usage_next_save) {
        usage_save(gate);
    }
}

void gate_usage_tick(struct gate *gate)
{
    pthread_mutex_lock(&gate->usage_tick_lock);
    usage_tick_locked(gate);
    pthread_mutex_unlock(&gate->usage_tick_lock);
}

/* A process that starts to serve reads the record before it answers anybody: a `usage` in
 * the moment after a restart or a takeover sees the history, not an empty record. */
void gate_set_serving(struct gate *gate, bool serving)
{
    bool was = atomic_exchange_explicit(&gate->serving, serving, memory_order_acq_rel);

    if (serving && !was) {
        pthread_mutex_lock(&gate->usage_tick_lock);
        if (!gate->usage_loaded)
            usage_load(gate);
        pthread_mutex_unlock(&gate->usage_tick_lock);
    }
}

size_t gate_usage_days(struct gate *gate, unsigned days, struct usage_day *out, size_t max,
                       int64_t *now)
{
    size_t n;

    *now = gate_time(gate);
    pthread_mutex_lock(&gate->usage_lock);
    n = usage_days(&gate->usage, *now, days, out, max);
    pthread_mutex_unlock(&gate->usage_lock);
    return n;
}

void gate_usage_close(struct gate *gate)
{
    if (gate->usage_loaded && gate->usage_path[0] != '\0')
        usage_save(gate);
    usage_free(&gate->usage);
    pthread_mutex_destroy(&gate->usage_lock);
    pthread_mutex_destroy(&gate->usage_tick_lock);
}
