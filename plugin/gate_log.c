/* The gate's log: OpenVPN's log callbacks may be called only on its own thread, so lines
 * made on the maintenance thread wait in a bounded queue until gate_flush_log(). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gate_internal.h"

void gate_log_text(struct gate *gate, enum gate_log_level level, const char *msg)
{
    unsigned n;

    if (gate->env.log == NULL)
        return;
    if (pthread_equal(pthread_self(), gate->owner)) {
        gate_flush_log(gate);
        gate->env.log(gate->env.log_arg, level, msg);
        return;
    }
    pthread_mutex_lock(&gate->log_lock);
    n = atomic_load_explicit(&gate->log_pending, memory_order_relaxed);
    if (n < GATE_LOG_QUEUE) {
        gate->log_queue[n].level = level;
        snprintf(gate->log_queue[n].text, sizeof(gate->log_queue[n].text), "%s", msg);
        atomic_store_explicit(&gate->log_pending, n + 1, memory_order_release);
    } else {
        gate->log_dropped++;
    }
    pthread_mutex_unlock(&gate->log_lock);
}

static void gate_vlogf(struct gate *gate, enum gate_log_level level, const char *fmt, va_list ap)
{
    char msg[GATE_LOG_LINE_MAX];

    if (gate->env.log == NULL)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    gate_log_text(gate, level, msg);
}

void gate_logf(struct gate *gate, enum gate_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gate_vlogf(gate, level, fmt, ap);
    va_end(ap);
}

/* Apart from gate_flush_log, which every hook calls: its 48 KiB of lines would otherwise be
 * probed page by page (stack clash protection) on every call, with nothing queued. */
static __attribute__((noinline)) void gate_flush_queued(struct gate *gate)
{
    struct queued_line lines[GATE_LOG_QUEUE];
    unsigned n, dropped;

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

void gate_flush_log(struct gate *gate)
{
    if (atomic_load_explicit(&gate->log_pending, memory_order_acquire) != 0)
        gate_flush_queued(gate);
}
