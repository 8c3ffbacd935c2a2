/* Effective time: the later of the wall clock and the machine's high-water mark, so setting the
 * clock back never revives or extends a license. The mark is held once per machine, in the
 * registry, while any licgate process runs; each pool saves it to its own file hourly
 * (state-dir/pools/<pool>/clock, the runtime user's), and a process that starts takes the
 * latest of the registry and every pool's file, so a new pool name starts from the machine's
 * mark, not from zero. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "errbuf.h"
#include "fs.h"
#include "gate_internal.h"
#include "license.h"
#include "usock.h"

#define GATE_CLOCK_SAVE_EVERY   3600 /* seconds between writes of the high-water mark */
#define GATE_ROLLBACK_TOLERANCE 300  /* a clock this far behind the mark was set back */
#define GATE_CLOCK_POOLS_MAX    1024 /* pool files looked at when starting */

int64_t gate_time(struct gate *gate)
{
    int64_t now = gate->env.now();
    int64_t mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);

    return now > mark ? now : mark;
}

int64_t gate_now(const struct gate *gate)
{
    return gate_time((struct gate *)gate);
}

/* A saved mark: 0 for a missing file; a corrupt one is reported (when say) and ignored. */
static int64_t read_mark(struct gate *gate, const char *path, bool say)
{
    char *text = NULL, *end;
    size_t len = 0;
    long long v;
    int r;

    r = fs_read_bounded(path, 32, &text, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        if (say)
            gate_logf(gate, GATE_LOG_WARN, "clock high-water mark %s: %s", path, strerror(-r));
        return 0;
    }
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || (*end != '\n' && *end != '\0') || v < 0 ||
        (*end == '\n' && end[1] != '\0')) {
        if (say)
            gate_logf(gate, GATE_LOG_WARN, "clock high-water mark %s is corrupt; starting anew",
                      path);
        v = 0;
    }
    free(text);
    return v;
}

/* The latest mark any pool of the machine saved (the ones this process can read). */
static int64_t read_pool_marks(struct gate *gate)
{
    char dir[GATE_CLOCK_DIR_MAX], path[GATE_CLOCK_DIR_MAX + 2 * CONFIG_POOL_MAX];
    char **names = NULL;
    size_t n = 0, total = 0;
    int64_t best = 0;

    snprintf(dir, sizeof(dir), "%s%s", gate->cfg.state_dir, GATE_CLOCK_DIR);
    if (fs_list_dir_first(dir, "", "", false, GATE_CLOCK_POOLS_MAX, &names, &n, &total) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v;

        if (strlen(names[i]) > CONFIG_POOL_MAX)
            continue;
        snprintf(path, sizeof(path), "%s%s%s", dir, names[i], GATE_CLOCK_FILE);
        v = read_mark(gate, path, strcmp(names[i], gate->cfg.pool) == 0);
        if (v > best)
            best = v;
    }
    fs_free_list(names, n);
    return best;
}

void gate_save_mark(struct gate *gate, int64_t mark)
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

int gate_open_clock(struct gate *gate, char *err, size_t errlen)
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
        errbuf_set(err, errlen, "%.200s: %s", gate->cfg.state_dir, strerror(-r));
        return r;
    }
    r = usock_prepare_dir(dir, &owner, err, errlen);
    if (r < 0)
        return r;
    snprintf(gate->clock_path, sizeof(gate->clock_path), "%s%s", dir, GATE_CLOCK_FILE);
    snprintf(gate->usage_path, sizeof(gate->usage_path), "%s%s", dir, GATE_USAGE_FILE);
    mark = read_pool_marks(gate);
    if (gate->reg != NULL)
        mark = registry_clock_raise(gate->reg, mark);
    gate->mark_saved = 0; /* written once at open: proves the directory works, fixes the mode */
    atomic_store_explicit(&gate->clock_mark, mark, memory_order_relaxed);
    gate_clock_tick(gate);
    return 0;
}

void gate_clock_tick(struct gate *gate)
{
    int64_t now = gate->env.now();
    int64_t mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);

    if (gate->reg != NULL)
        mark = registry_clock_raise(gate->reg, mark);
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
        mark = now;
        if (gate->reg != NULL)
            registry_clock_raise(gate->reg, mark);
    }
    atomic_store_explicit(&gate->clock_mark, mark, memory_order_relaxed);
    if (mark - gate->mark_saved >= GATE_CLOCK_SAVE_EVERY || gate->mark_saved == 0)
        gate_save_mark(gate, mark);
}

bool gate_clock_state(const struct gate *gate, int64_t *clock, int64_t *mark)
{
    *clock = gate->env.now();
    *mark = atomic_load_explicit(&gate->clock_mark, memory_order_relaxed);
    return atomic_load_explicit(&gate->rollback_clock, memory_order_relaxed) != 0;
}
