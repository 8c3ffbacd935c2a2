/* The gate's state, shared by its parts: gate.c (open, close, admission), gate_log.c (the log
 * queue), gate_clock.c (effective time and the high-water mark) and gate_keys.c (licenses,
 * the keys other pools count, the pool's limit). Private to them and to their unit tests. */
#ifndef LICGATE_GATE_INTERNAL_H
#define LICGATE_GATE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gate.h"
#include "machine.h"
#include "pool.h"
#include "usage.h"

#define GATE_LOG_QUEUE     64
#define GATE_LOG_LINE_MAX  768
#define GATE_CLOCK_DIR     "/pools/"
#define GATE_CLOCK_FILE    "/clock"
#define GATE_USAGE_FILE    "/usage"
#define GATE_CLOCK_DIR_MAX (CONFIG_PATH_MAX + sizeof(GATE_CLOCK_DIR) + CONFIG_POOL_MAX)

struct queued_line {
    enum gate_log_level level;
    char text[GATE_LOG_LINE_MAX];
};

struct gate {
    struct gate_config cfg;
    struct gate_env env;
    struct machine *machine;
    struct seat_pool *pool; /* the machine's pool segment, this process's handle */
    struct registry *reg;   /* the machine registry, this process's handle */
    pthread_t owner;        /* the thread that may call env.log */

    /* Licenses: this process's own and those its pool's other processes lend
     * (license_set sources). Replaced by reload and the claims check (the
     * maintenance thread) and re-evaluated as time passes (admission path,
     * rarely); all under `lock`, which is never held across I/O. */
    pthread_mutex_t lock;
    struct license_set licenses;
    _Atomic uint32_t limit; /* what this process admits against: computed here, never read
                             * from shared memory */
    _Atomic bool evaluation;
    _Atomic uint32_t cluster_seats; /* a cluster license counts: its seats, the grant's cap */
    _Atomic int64_t next_change;    /* when license states must be evaluated again */
    _Atomic bool failover_active;   /* this node holds failover-vip */

    /* This process's own sessions and evaluation seats: a second count that
     * no shared byte can lower. */
    _Atomic uint32_t local_in_use;
    _Atomic uint32_t local_eval;

    /* The maintenance's memory. */
    uint32_t reg_generation;  /* the registry generation the last claims check saw */
    struct license_set peers; /* the other processes' license-dirs, as last read */
    uint64_t peers_key;       /* which dirs peers holds (a hash), 0 = none read */
    bool over_limit;          /* in use above the limit, said once */
    uint64_t own_mismatch;    /* the last audit's (own count, own slots) when they differed */
    bool tamper_said;         /* a repaired counter, said once per episode */
    bool registry_removed_said;
    bool lock_busy_said;

    /* Effective now = max(clock, mark): setting the clock back never revives
     * or extends a license. gate_clock.c. */
    char clock_path[GATE_CLOCK_DIR_MAX + sizeof(GATE_CLOCK_FILE)];
    uid_t clock_uid; /* the mark file's owner: user=, or (uid_t)-1 */
    _Atomic int64_t clock_mark;
    _Atomic int64_t rollback_clock; /* the clock seen behind the mark, 0 = none */
    int64_t mark_saved;
    bool save_error_said;

    /* The usage record, kept while this process serves the control socket (gate_usage.c):
     * written by the maintenance thread, read by the control thread, under usage_lock. The
     * fields below it are the recorder's, under usage_tick_lock: the maintenance thread's
     * tick, and the control thread loading the record as it starts to serve. */
    _Atomic bool serving;
    pthread_mutex_t usage_lock, usage_tick_lock;
    struct usage_log usage;
    char usage_path[GATE_CLOCK_DIR_MAX + sizeof(GATE_USAGE_FILE)];
    bool usage_loaded;
    bool usage_error_said;
    int64_t usage_hour;      /* the hour being recorded */
    int64_t usage_next_save; /* CLOCK_MONOTONIC ms */
    struct seat_pool_counters usage_base;
    uint32_t usage_licensed; /* the licensed seats and mode last seen, to mark a change */
    bool usage_evaluation;

    /* Lines logged on other threads, for gate_flush_log. gate_log.c. */
    pthread_mutex_t log_lock;
    _Atomic unsigned log_pending;
    unsigned log_dropped;
    struct queued_line log_queue[GATE_LOG_QUEUE];
};

/* gate_clock.c */
int64_t gate_time(struct gate *gate);
int gate_open_clock(struct gate *gate, char *err, size_t errlen);
void gate_save_mark(struct gate *gate, int64_t mark);

/* gate_usage.c */
void gate_usage_init(struct gate *gate);
void gate_usage_close(struct gate *gate);

/* gate_keys.c */
int gate_load_licenses(struct gate *gate, struct license_set *out, bool at_open, char *err,
                       size_t errlen);
void gate_install_licenses(struct gate *gate, struct license_set *set, const char *why);
void gate_apply_limit(struct gate *gate, const char *why, bool always_log);
/* Re-evaluates the licenses when `now` (gate_time(), read once by the caller's hook) reached
 * the next change of state; one relaxed load otherwise. */
void gate_follow_time(struct gate *gate, int64_t now);

/* A line made by the caller (at most GATE_LOG_LINE_MAX bytes are kept) to OpenVPN's log, or
 * queued for gate_flush_log() off OpenVPN's thread. gate_logf() formats, then calls this. */
void gate_log_text(struct gate *gate, enum gate_log_level level, const char *msg);
void log_license(struct gate *gate, const struct license_entry *e);

#endif
