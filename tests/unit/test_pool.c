/* Seat pool on anonymous shared memory (processes via fork).
 * LICGATE_POOL_STRESS_ITERS scales the fork stress test (e.g. down, under valgrind). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "pool.h"
#include "pool_layout.h"
#include "proc.h"

#define STRESS_PROCS 4
#define STRESS_LIMIT 3
/* How long a child waits for the others at the start of the stress test. */
#define STRESS_RENDEZVOUS_MS 10000
#define NAME                 "test"

static const uint8_t TOKEN[SEAT_POOL_TOKEN_LEN] = "0123456789abcdef";
/* The limit the caller admits against: the gate's, in the plugin. */
static uint32_t g_limit;

struct fixture {
    void *base;
    size_t size;
    uint32_t capacity;
    struct seat_pool *pool;
};

static void *map_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    assert_true(p != MAP_FAILED);
    return p;
}

static void fixture_open(struct fixture *fx, uint32_t capacity, uint32_t limit)
{
    char err[256];

    memset(fx, 0, sizeof(*fx));
    fx->capacity = capacity;
    fx->size = seat_pool_region_size(capacity);
    assert_true(fx->size > 0);
    fx->base = map_shared(fx->size);
    assert_int_equal(seat_pool_init_region(fx->base, fx->size, capacity, NAME, TOKEN), 0);
    assert_int_equal(
        seat_pool_attach_region(fx->base, fx->size, NAME, TOKEN, &fx->pool, err, sizeof(err)), 0);
    g_limit = limit;
}

static void fixture_close(struct fixture *fx)
{
    seat_pool_detach(fx->pool);
    munmap(fx->base, fx->size);
    memset(fx, 0, sizeof(*fx));
}

static int admit(struct seat_pool *pool, const char *cn, uint32_t *slot, struct seat_numbers *n)
{
    struct seat_request req = {.cn = cn, .addr = "192.0.2.1:1194", .now = 1700000000};

    return seat_pool_admit(pool, &req, g_limit, slot, n);
}

static int attach(void *base, size_t size, struct seat_pool **pool)
{
    return seat_pool_attach_region(base, size, NAME, TOKEN, pool, NULL, 0);
}

static struct seat_pool_status status(struct seat_pool *pool)
{
    struct seat_pool_status st;

    seat_pool_snapshot(pool, &st);
    return st;
}

static void wait_child_ok(pid_t pid)
{
    int ws;

    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
}

static void pool_attach_region__fresh_region__reports_capacity_and_zero_limit(void **state)
{
    struct seat_pool_status st;
    struct fixture fx;
    uint32_t slot;

    (void)state;
    fixture_open(&fx, 16, 0);
    st = status(fx.pool);
    assert_int_equal(st.capacity, 16);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.free_slots, 16);
    assert_int_equal(st.nprocs, 1);
    assert_int_equal(st.procs[0].pid, getpid());
    assert_int_equal(admit(fx.pool, "alice", &slot, NULL), -EDQUOT);
    assert_int_equal(slot, UINT32_MAX);
    fixture_close(&fx);
}

/* The peak follows the most sessions at once; the cluster word keeps a grant with its deadline,
 * seen by every process attached, and clears on grant 0 or a deadline out of range. */
static void pool_peak_and_cluster__set__read_back(void **state)
{
    struct seat_pool *other;
    struct fixture fx;
    uint32_t slot[3], grant;
    int64_t deadline;

    (void)state;
    fixture_open(&fx, 8, 8);
    for (int i = 0; i < 3; i++)
        assert_int_equal(admit(fx.pool, "a", &slot[i], NULL), 0);
    assert_int_equal(seat_pool_release(fx.pool, slot[0]), 0);
    assert_int_equal(seat_pool_release(fx.pool, slot[1]), 0);
    assert_int_equal(status(fx.pool).peak, 3);
    assert_int_equal(status(fx.pool).in_use, 1);
    seat_pool_cluster(fx.pool, &grant, &deadline);
    assert_int_equal(grant, 0);
    assert_int_equal(deadline, 0);
    seat_pool_set_cluster(fx.pool, 7, 123456789);
    assert_int_equal(attach(fx.base, fx.size, &other), 0);
    seat_pool_cluster(other, &grant, &deadline);
    assert_int_equal(grant, 7);
    assert_int_equal(deadline, 123456789);
    seat_pool_set_cluster(fx.pool, SEAT_POOL_GRANT_MAX + 5, (INT64_C(1) << 44) - 1);
    seat_pool_cluster(other, &grant, &deadline);
    assert_int_equal(grant, SEAT_POOL_GRANT_MAX);
    assert_int_equal(deadline, (INT64_C(1) << 44) - 1);
    seat_pool_set_cluster(fx.pool, 5, INT64_C(1) << 44);
    seat_pool_cluster(other, &grant, &deadline);
    assert_int_equal(grant, 0);
    seat_pool_detach(other);
    fixture_close(&fx);
}

static void pool_admit__at_limit__refused_edquot_with_numbers(void **state)
{
    struct seat_pool_status before, after;
    struct seat_numbers n;
    struct fixture fx;
    uint32_t slot, i;

    (void)state;
    fixture_open(&fx, 8, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(admit(fx.pool, "alice", &slot, &n), 0);
        assert_true(slot < 8);
        assert_int_equal(n.in_use, i + 1);
        assert_int_equal(n.limit, 3);
        assert_int_equal(n.capacity, 8);
    }
    before = status(fx.pool);
    assert_int_equal(admit(fx.pool, "mallory", &slot, &n), -EDQUOT);
    assert_int_equal(slot, UINT32_MAX);
    assert_int_equal(n.in_use, 3);
    assert_int_equal(n.limit, 3);
    assert_int_equal(n.capacity, 8);
    after = status(fx.pool);
    assert_int_equal(after.refusals_limit, before.refusals_limit + 1);
    after.refusals_limit = before.refusals_limit;
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(after.in_use, 3);
    assert_int_equal(after.admissions, 3);
    assert_int_equal(after.free_slots, 5);
    assert_int_equal(after.procs[0].in_use, 3);
    fixture_close(&fx);
}

static void pool_admit__capacity_below_limit__refused_enospc(void **state)
{
    struct seat_pool_status st;
    struct seat_numbers n;
    struct fixture fx;
    uint32_t slot;

    (void)state;
    fixture_open(&fx, 2, 5);
    assert_int_equal(admit(fx.pool, "a", &slot, &n), 0);
    assert_int_equal(admit(fx.pool, "b", &slot, &n), 0);
    assert_int_equal(admit(fx.pool, "c", &slot, &n), -ENOSPC);
    assert_int_equal(slot, UINT32_MAX);
    assert_int_equal(n.in_use, 2);
    assert_int_equal(n.limit, 5);
    assert_int_equal(n.capacity, 2);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 2);
    assert_int_equal(st.refusals_capacity, 1);
    assert_int_equal(st.refusals_limit, 0);
    assert_int_equal(st.free_slots, 0);
    fixture_close(&fx);
}

static void pool_release__then_admit__seat_reused(void **state)
{
    struct seat_pool_status st;
    struct fixture fx;
    uint32_t a, b;

    (void)state;
    fixture_open(&fx, 1, 1);
    assert_int_equal(admit(fx.pool, "a", &a, NULL), 0);
    assert_int_equal(admit(fx.pool, "b", &b, NULL), -EDQUOT);
    assert_int_equal(seat_pool_release(fx.pool, a), 0);
    assert_int_equal(admit(fx.pool, "b", &b, NULL), 0);
    assert_int_equal(b, a);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.admissions, 2);
    assert_int_equal(st.releases, 1);
    fixture_close(&fx);
}

static void pool_release__twice__ealready_and_state_unchanged(void **state)
{
    struct seat_pool_status before, after;
    struct fixture fx;
    uint32_t a, b;

    (void)state;
    fixture_open(&fx, 4, 4);
    assert_int_equal(admit(fx.pool, "a", &a, NULL), 0);
    assert_int_equal(admit(fx.pool, "b", &b, NULL), 0);
    assert_int_equal(seat_pool_release(fx.pool, a), 0);
    before = status(fx.pool);
    assert_int_equal(seat_pool_release(fx.pool, a), -EALREADY);
    assert_int_equal(seat_pool_release(fx.pool, 3), -EALREADY);
    assert_int_equal(seat_pool_release(fx.pool, 4), -EINVAL);
    assert_int_equal(seat_pool_release(fx.pool, UINT32_MAX), -EINVAL);
    after = status(fx.pool);
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(after.in_use, 1);
    assert_int_equal(after.releases, 1);
    fixture_close(&fx);
}

static void pool_release__slot_of_other_process__eperm(void **state)
{
    struct seat_pool_status before, after;
    _Atomic uint32_t *shared;
    struct fixture fx;
    pid_t pid;

    (void)state;
    fixture_open(&fx, 4, 4);
    shared = map_shared(sizeof(*shared));
    atomic_store(shared, UINT32_MAX);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct seat_pool *child;
        uint32_t slot;

        if (attach(fx.base, fx.size, &child) < 0)
            _exit(1);
        if (admit(child, "child", &slot, NULL) < 0)
            _exit(2);
        atomic_store(shared, slot);
        _exit(0);
    }
    wait_child_ok(pid);
    assert_true(atomic_load(shared) < 4);
    before = status(fx.pool);
    assert_int_equal(before.in_use, 1);
    assert_int_equal(seat_pool_release(fx.pool, atomic_load(shared)), -EPERM);
    after = status(fx.pool);
    assert_memory_equal(&before, &after, sizeof(before));
    munmap((void *)shared, sizeof(*shared));
    fixture_close(&fx);
}

static int count_session(const struct seat_session *s, void *arg)
{
    (void)s;
    (*(int *)arg)++;
    return 0;
}

static void pool_admit__limit_lowered__keeps_sessions_blocks_new(void **state)
{
    struct fixture fx;
    uint32_t slot[3], extra;
    int live = 0, i;

    (void)state;
    fixture_open(&fx, 8, 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(admit(fx.pool, "a", &slot[i], NULL), 0);
    g_limit = 1;
    assert_int_equal(status(fx.pool).in_use, 3);
    assert_int_equal(seat_pool_foreach_session(fx.pool, count_session, &live), 0);
    assert_int_equal(live, 3);
    assert_int_equal(admit(fx.pool, "b", &extra, NULL), -EDQUOT);
    assert_int_equal(seat_pool_release(fx.pool, slot[0]), 0);
    assert_int_equal(admit(fx.pool, "b", &extra, NULL), -EDQUOT);
    assert_int_equal(seat_pool_release(fx.pool, slot[1]), 0);
    assert_int_equal(admit(fx.pool, "b", &extra, NULL), -EDQUOT);
    assert_int_equal(seat_pool_release(fx.pool, slot[2]), 0);
    assert_int_equal(admit(fx.pool, "b", &extra, NULL), 0);
    assert_int_equal(status(fx.pool).in_use, 1);
    fixture_close(&fx);
}

struct found {
    int n;
    struct seat_session last;
};

static int keep_session(const struct seat_session *s, void *arg)
{
    struct found *f = arg;

    f->n++;
    f->last = *s;
    return 0;
}

static int stop_at_first(const struct seat_session *s, void *arg)
{
    (void)s;
    (void)arg;
    return 42;
}

static void pool_foreach_session__long_fields__truncated_with_pid(void **state)
{
    struct seat_request req = {.addr = "[2001:db8::1]:1194", .now = 1234};
    struct found f = {0};
    struct fixture fx;
    char cn[200];
    uint32_t slot;

    (void)state;
    memset(cn, 'x', sizeof(cn) - 1);
    cn[sizeof(cn) - 1] = '\0';
    req.cn = cn;
    fixture_open(&fx, 4, 4);
    assert_int_equal(seat_pool_admit(fx.pool, &req, g_limit, &slot, NULL), 0);
    req.cn = NULL;
    req.addr = NULL;
    assert_int_equal(seat_pool_admit(fx.pool, &req, g_limit, &slot, NULL), 0);
    assert_int_equal(seat_pool_foreach_session(fx.pool, stop_at_first, NULL), 42);
    f.n = 0;
    assert_int_equal(seat_pool_foreach_session(fx.pool, keep_session, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.last.cn, "");
    assert_string_equal(f.last.addr, "");
    assert_int_equal(seat_pool_release(fx.pool, slot), 0);
    f.n = 0;
    assert_int_equal(seat_pool_foreach_session(fx.pool, keep_session, &f), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(strlen(f.last.cn), SEAT_POOL_CN_MAX - 1);
    assert_string_equal(f.last.addr, "[2001:db8::1]:1194");
    assert_int_equal(f.last.pid, getpid());
    assert_int_equal(f.last.connected_since, 1234);
    fixture_close(&fx);
}

enum corruption {
    BAD_MAGIC,
    BAD_VERSION,
    BAD_HEADER_SIZE,
    BAD_PROCS,
    BAD_SLOT_SIZE,
    BAD_CAPACITY_ZERO,
    BAD_CAPACITY_HUGE,
    BAD_CAPACITY_MISMATCH,
    BAD_TOTAL_SMALL,
    BAD_TOTAL_HUGE,
    BAD_COUNT
};

static void corrupt(struct pool_header *hdr, enum corruption c)
{
    switch (c) {
    case BAD_MAGIC:
        memcpy((void *)&hdr->magic, "LICGPOOX", 8);
        break;
    case BAD_VERSION:
        hdr->version = POOL_LAYOUT_VERSION + 1;
        break;
    case BAD_HEADER_SIZE:
        hdr->header_size += 8;
        break;
    case BAD_PROCS:
        hdr->procs = 65;
        break;
    case BAD_SLOT_SIZE:
        hdr->slot_size = 8;
        break;
    case BAD_CAPACITY_ZERO:
        hdr->capacity = 0;
        break;
    case BAD_CAPACITY_HUGE:
        hdr->capacity = UINT32_MAX;
        break;
    case BAD_CAPACITY_MISMATCH:
        hdr->capacity = 5;
        break;
    case BAD_TOTAL_SMALL:
        hdr->total_size = 16;
        break;
    case BAD_TOTAL_HUGE:
        hdr->total_size = UINT64_MAX;
        break;
    case BAD_COUNT:
        break;
    }
}

static void pool_attach_region__each_header_field_corrupt__eproto_with_reason(void **state)
{
    const uint32_t capacity = 4;
    size_t size = seat_pool_region_size(capacity);
    void *base = map_shared(size);
    struct seat_pool *pool;
    char err[256];
    int c;

    (void)state;
    for (c = 0; c < BAD_COUNT; c++) {
        assert_int_equal(seat_pool_init_region(base, size, capacity, NAME, TOKEN), 0);
        corrupt(base, (enum corruption)c);
        pool = (struct seat_pool *)1;
        err[0] = '\0';
        assert_int_equal(seat_pool_attach_region(base, size, NAME, TOKEN, &pool, err, sizeof(err)),
                         -EPROTO);
        assert_null(pool);
        assert_true(strncmp(err, "pool test: ", 11) == 0);
        assert_null(strchr(err, '\n'));
        if (c == BAD_VERSION) {
            char want[64];

            snprintf(want, sizeof(want), "pool test: layout version %d, this build speaks %d",
                     POOL_LAYOUT_VERSION + 1, POOL_LAYOUT_VERSION);
            assert_string_equal(err, want);
        }
    }
    munmap(base, size);
}

static void pool_attach_region__truncated__eproto(void **state)
{
    const uint32_t capacity = 4;
    size_t size = seat_pool_region_size(capacity);
    void *base = map_shared(size);
    struct seat_pool *pool;
    char err[256];

    (void)state;
    assert_int_equal(seat_pool_init_region(base, size, capacity, NAME, TOKEN), 0);
    assert_int_equal(seat_pool_attach_region(base, size - 1, NAME, TOKEN, &pool, err, sizeof(err)),
                     -EPROTO);
    assert_null(pool);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(seat_pool_attach_region(base, 8, NAME, TOKEN, &pool, err, sizeof(err)),
                     -EPROTO);
    assert_non_null(strstr(err, "smaller than"));
    assert_int_equal(seat_pool_attach_region(base, 0, NAME, TOKEN, &pool, err, sizeof(err)),
                     -EPROTO);
    assert_int_equal(seat_pool_init_region(base, size - 1, capacity, NAME, TOKEN), -EINVAL);
    assert_int_equal(seat_pool_init_region(base, size, 0, NAME, TOKEN), -EINVAL);
    assert_int_equal(seat_pool_region_size(SEAT_POOL_CAPACITY_MAX + 1), 0);
    munmap(base, size);
}

static void pool_attach_region__never_published__eproto_after_wait(void **state)
{
    size_t size = seat_pool_region_size(4);
    void *base = map_shared(size);
    struct seat_pool *pool;
    char err[256];

    (void)state;
    assert_int_equal(seat_pool_attach_region(base, size, NAME, TOKEN, &pool, err, sizeof(err)),
                     -EPROTO);
    assert_null(pool);
    assert_non_null(strstr(err, "not initialized"));
    munmap(base, size);
}

static void pool_attach_region__full_process_table__eusers(void **state)
{
    struct fixture fx;
    struct seat_pool *pool;
    struct pool_header *hdr;
    uint64_t init_start;
    char err[256];
    int i;

    (void)state;
    fixture_open(&fx, 4, 4);
    hdr = fx.base;
    /* pid 1, with its real start time, is alive and never ours. */
    assert_int_equal(proc_start_time(1, &init_start), 0);
    for (i = 0; i < POOL_MAX_PROCS; i++) {
        if (atomic_load(&hdr->proc[i].state) == POOL_PROC_FREE) {
            atomic_store(&hdr->proc[i].pid, 1);
            atomic_store(&hdr->proc[i].start_time, init_start);
            atomic_store(&hdr->proc[i].state, POOL_PROC_LIVE);
        }
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(seat_pool_attach_region(fx.base, fx.size, NAME, TOKEN, &pool, err, sizeof(err)) ==
                      -EUSERS
                  ? 0
                  : 1);
    wait_child_ok(pid);
    fixture_close(&fx);
}

static long stress_iterations(void)
{
    const char *s = getenv("LICGATE_POOL_STRESS_ITERS");
    long n = s != NULL ? strtol(s, NULL, 10) : 20000;

    return n > 0 ? n : 20000;
}

struct stress_shared {
    _Atomic int holders;
    _Atomic int max_holders;
    _Atomic int arrived; /* children past their first admission, admitted or refused */
};

/* The first round: each child keeps what its first admission gave it until every child has
 * tried, so STRESS_LIMIT seats are held at once whatever the scheduler does. */
static int stress_rendezvous(struct stress_shared *sh)
{
    int64_t deadline = clock_monotonic_ms() + STRESS_RENDEZVOUS_MS;

    atomic_fetch_add(&sh->arrived, 1);
    while (atomic_load(&sh->arrived) < STRESS_PROCS) {
        if (clock_monotonic_ms() > deadline)
            return -ETIMEDOUT;
        sched_yield();
    }
    return 0;
}

static int stress_child(void *base, size_t size, struct stress_shared *sh, long iterations)
{
    struct seat_pool_status st;
    struct seat_numbers n;
    struct seat_pool *pool;
    uint32_t slot;
    long i;
    int r, h, m;

    if (attach(base, size, &pool) < 0)
        return 10;
    for (i = 0; i < iterations; i++) {
        r = admit(pool, "stress", &slot, &n);
        if (r == -EDQUOT) {
            if (i == 0 && stress_rendezvous(sh) != 0)
                return 16;
            continue;
        }
        if (r < 0)
            return 11;
        if (n.in_use > STRESS_LIMIT)
            return 12;
        h = atomic_fetch_add(&sh->holders, 1) + 1;
        m = atomic_load(&sh->max_holders);
        while (h > m && !atomic_compare_exchange_weak(&sh->max_holders, &m, h))
            ;
        if (h > STRESS_LIMIT)
            return 13;
        seat_pool_snapshot(pool, &st);
        if (st.in_use > STRESS_LIMIT)
            return 14;
        if (i == 0 && stress_rendezvous(sh) != 0)
            return 16;
        /* Hold the seat across a reschedule so the limit really binds on few CPUs. */
        if (i % 2 == 0)
            sched_yield();
        atomic_fetch_sub(&sh->holders, 1);
        if (seat_pool_release(pool, slot) != 0)
            return 15;
    }
    seat_pool_detach(pool);
    return 0;
}

static void pool_admit__fork_stress__never_exceeds_limit(void **state)
{
    const long iterations = stress_iterations();
    struct stress_shared *sh = map_shared(sizeof(*sh));
    struct seat_pool_status st;
    pid_t pids[STRESS_PROCS];
    struct fixture fx;
    int i;

    (void)state;
    fixture_open(&fx, 8, STRESS_LIMIT);
    for (i = 0; i < STRESS_PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(stress_child(fx.base, fx.size, sh, iterations));
    }
    for (i = 0; i < STRESS_PROCS; i++)
        wait_child_ok(pids[i]);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.free_slots, fx.capacity);
    assert_int_equal(st.admissions + st.refusals_limit, (uint64_t)iterations * STRESS_PROCS);
    assert_int_equal(st.releases, st.admissions);
    assert_int_equal(st.refusals_capacity, 0);
    assert_int_equal(st.nprocs, 1);
    /* the limit was reached (the first round) and never passed */
    assert_int_equal(atomic_load(&sh->max_holders), STRESS_LIMIT);
    assert_true(st.refusals_limit >= STRESS_PROCS - STRESS_LIMIT);
    assert_int_equal(atomic_load(&sh->holders), 0);
    munmap(sh, sizeof(*sh));
    fixture_close(&fx);
}

static void pool_reclaim_dead__child_exited_holding_two__returns_two(void **state)
{
    struct seat_pool_status st;
    struct fixture fx;
    uint32_t mine, slot;
    pid_t pid;

    (void)state;
    fixture_open(&fx, 8, 8);
    assert_int_equal(admit(fx.pool, "parent", &mine, NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct seat_pool *child;

        if (attach(fx.base, fx.size, &child) < 0)
            _exit(1);
        if (admit(child, "c1", &slot, NULL) < 0 || admit(child, "c2", &slot, NULL) < 0)
            _exit(2);
        _exit(0);
    }
    wait_child_ok(pid);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 3);
    assert_int_equal(st.nprocs, 2);
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 2);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.reclaimed, 2);
    assert_int_equal(st.nprocs, 1);
    assert_int_equal(st.procs[0].in_use, 1);
    assert_int_equal(st.free_slots, 7);
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 0);
    assert_int_equal(seat_pool_release(fx.pool, mine), 0);
    fixture_close(&fx);
}

/* The child dies the way kill -9 can catch a process: inside an admission,
 * after the in-use counter moved and before its slot was marked. The
 * counter is recounted from the slots once the death is noticed. */
static void pool_reclaim_dead__died_mid_admission__counter_recounted(void **state)
{
    struct pool_header *hdr;
    struct seat_pool_status st;
    struct fixture fx;
    uint32_t mine;
    pid_t pid;

    (void)state;
    fixture_open(&fx, 8, 8);
    hdr = fx.base;
    assert_int_equal(admit(fx.pool, "parent", &mine, NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct seat_pool *child;

        if (attach(fx.base, fx.size, &child) < 0)
            _exit(1);
        for (uint32_t i = 0; i < POOL_MAX_PROCS; i++) {
            if (atomic_load(&hdr->proc[i].pid) == (uint32_t)getpid()) {
                atomic_store(&hdr->proc[i].busy, 1);
                atomic_fetch_add(&hdr->in_use, 1); /* ...and dies here */
                _exit(0);
            }
        }
        _exit(2);
    }
    wait_child_ok(pid);
    assert_int_equal(status(fx.pool).in_use, 2);
    /* one seat given back: the counted seat that has no session */
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 1);
    st = status(fx.pool);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.reclaimed, 1);
    assert_int_equal(st.nprocs, 1);
    assert_int_equal(atomic_load(&hdr->audit_needed), 0);
    /* the parent's own session is untouched */
    assert_int_equal(seat_pool_release(fx.pool, mine), 0);
    assert_int_equal(status(fx.pool).in_use, 0);
    fixture_close(&fx);
}

/* The entry of the calling process in the pool's process table. */
static uint32_t own_entry(struct pool_header *hdr)
{
    for (uint32_t i = 0; i < POOL_MAX_PROCS; i++) {
        if (atomic_load(&hdr->proc[i].pid) == (uint32_t)getpid())
            return i;
    }
    return POOL_MAX_PROCS;
}

/* Takes the head slot off the free stack the way an admission does, and no more. */
static uint32_t take_head(struct fixture *fx)
{
    struct pool_header *hdr = fx->base;
    struct pool_slot *slots = (struct pool_slot *)((char *)fx->base + sizeof(*hdr));
    uint64_t head = atomic_load(&hdr->free_head);
    uint32_t idx = POOL_HEAD_IDX(head);

    atomic_store(&hdr->free_head,
                 POOL_HEAD(atomic_load(&slots[idx].next), POOL_HEAD_TAG(head) + 1));
    return idx;
}

/* Every slot is either in use or on the free stack, and every one can be handed out. */
static void assert_all_slots_usable(struct fixture *fx, uint32_t in_use)
{
    struct seat_pool_status st = status(fx->pool);
    uint32_t slot, n = 0;

    assert_int_equal(st.in_use, in_use);
    assert_int_equal(st.free_slots, fx->capacity - in_use);
    g_limit = fx->capacity;
    while (admit(fx->pool, "fill", &slot, NULL) == 0)
        n++;
    assert_int_equal(n, fx->capacity - in_use);
}

/* A child attaches, is handed its process-table entry, and exits wherever `dies` returns:
 * the state kill -9 leaves at that point. The parent holds one session throughout. */
static void die_in_child(struct fixture *fx,
                         void (*dies)(struct fixture *, struct seat_pool *, uint32_t))
{
    struct seat_pool *child;
    uint32_t mine, me;
    pid_t pid;

    assert_int_equal(admit(fx->pool, "parent", &mine, NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (attach(fx->base, fx->size, &child) < 0 || (me = own_entry(fx->base)) >= POOL_MAX_PROCS)
            _exit(1);
        dies(fx, child, me);
        _exit(0);
    }
    wait_child_ok(pid);
}

static void dies_holding_an_unmarked_slot(struct fixture *fx, struct seat_pool *child, uint32_t me)
{
    struct pool_header *hdr = fx->base;

    (void)child;
    atomic_store(&hdr->proc[me].busy, 1);
    atomic_fetch_add(&hdr->in_use, 1);
    take_head(fx);
}

static void dies_mid_release(struct fixture *fx, struct seat_pool *child, uint32_t me)
{
    struct pool_header *hdr = fx->base;
    struct pool_slot *slots = (struct pool_slot *)((char *)fx->base + sizeof(*hdr));
    uint32_t slot;
    uint64_t ctl;

    if (admit(child, "child", &slot, NULL) != 0)
        _exit(2);
    atomic_store(&hdr->proc[me].busy, 1);
    ctl = atomic_load(&slots[slot].ctl);
    atomic_store(&slots[slot].ctl, POOL_CTL(POOL_SLOT_FREE, me, POOL_CTL_SEQ(ctl)));
}

/* kill -9 between taking a slot off the free stack and marking it in use: the counter is
 * recounted and the slot, on no list, is put back once the death is noticed. */
static void pool_reclaim_dead__died_holding_an_unmarked_slot__slot_put_back(void **state)
{
    struct pool_header *hdr;
    struct fixture fx;

    (void)state;
    fixture_open(&fx, 8, 8);
    hdr = fx.base;
    die_in_child(&fx, dies_holding_an_unmarked_slot);
    assert_int_equal(status(fx.pool).free_slots, 6);
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 1);
    assert_int_equal(atomic_load(&hdr->put_back), 1);
    assert_int_equal(status(fx.pool).reclaimed, 1);
    assert_all_slots_usable(&fx, 1);
    fixture_close(&fx);
}

/* kill -9 inside a release, after the slot was marked free and before it was listed. */
static void pool_reclaim_dead__died_mid_release__slot_put_back(void **state)
{
    struct pool_header *hdr;
    struct fixture fx;

    (void)state;
    fixture_open(&fx, 8, 8);
    hdr = fx.base;
    die_in_child(&fx, dies_mid_release);
    assert_int_equal(status(fx.pool).in_use, 2);
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 1);
    assert_int_equal(atomic_load(&hdr->put_back), 1);
    assert_all_slots_usable(&fx, 1);
    fixture_close(&fx);
}

/* A live process between taking a slot and marking it holds the audit off; a slot lost with
 * nobody busy and nobody dead is another writer's doing: put back and said so. */
static void pool_audit__unlisted_slot__left_to_a_live_owner_else_put_back(void **state)
{
    struct seat_pool_audit a;
    struct pool_header *hdr;
    struct fixture fx;
    uint32_t me, idx;

    (void)state;
    fixture_open(&fx, 8, 8);
    hdr = fx.base;
    me = own_entry(hdr);
    assert_true(me < POOL_MAX_PROCS);
    atomic_store(&hdr->proc[me].busy, 1);
    idx = take_head(&fx);
    seat_pool_audit(fx.pool, &a);
    assert_false(a.quiet);
    assert_int_equal(a.put_back, 0);
    assert_int_equal(status(fx.pool).free_slots, 7);
    atomic_store(&hdr->proc[me].busy, 0);
    seat_pool_audit(fx.pool, &a);
    assert_true(a.quiet);
    assert_int_equal(a.lost, 1);
    assert_int_equal(a.put_back, 1);
    assert_false(a.after_death);
    assert_int_equal(POOL_HEAD_IDX(atomic_load(&hdr->free_head)), idx);
    seat_pool_audit(fx.pool, &a);
    assert_int_equal(a.lost, 0);
    assert_int_equal(a.put_back, 0);
    assert_all_slots_usable(&fx, 0);
    fixture_close(&fx);
}

/* A process busy inside an admission (alive) holds the audit off: its
 * counted-but-unmarked seat must not be taken back. */
static void pool_audit__live_process_busy__counter_left_alone(void **state)
{
    struct pool_header *hdr;
    struct fixture fx;
    uint32_t me = POOL_MAX_PROCS;

    (void)state;
    fixture_open(&fx, 8, 8);
    hdr = fx.base;
    for (uint32_t i = 0; i < POOL_MAX_PROCS; i++) {
        if (atomic_load(&hdr->proc[i].pid) == (uint32_t)getpid())
            me = i;
    }
    assert_true(me < POOL_MAX_PROCS);
    atomic_store(&hdr->proc[me].busy, 1);
    atomic_fetch_add(&hdr->in_use, 1);
    atomic_store(&hdr->audit_needed, 1);
    assert_int_equal(seat_pool_reclaim_dead(fx.pool), 0);
    assert_int_equal(status(fx.pool).in_use, 1);
    assert_int_equal(atomic_load(&hdr->audit_needed), 1); /* tried again later */
    atomic_store(&hdr->proc[me].busy, 0);
    atomic_fetch_sub(&hdr->in_use, 1);
    fixture_close(&fx);
}

static void proc_alive__self_dead_and_reused__distinguished(void **state)
{
    uint64_t start, dead_start;
    pid_t pid;

    (void)state;
    assert_int_equal(proc_start_time(getpid(), &start), 0);
    assert_true(start > 0);
    assert_int_equal(proc_alive(getpid(), start), 1);
    /* a start time of 0 names no process: a forged entry, never "any process" */
    assert_int_equal(proc_alive(getpid(), 0), 0);
    assert_int_equal(proc_alive(1, 0), 0);
    assert_int_equal(proc_alive(getpid(), start + 1), 0);
    assert_int_equal(proc_start_time(0, &start), -EINVAL);
    assert_int_equal(start, 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(proc_start_time(pid, &dead_start), 0);
    wait_child_ok(pid);
    assert_int_equal(proc_alive(pid, dead_start), 0);
    assert_int_equal(proc_start_time(pid, &dead_start), -ESRCH);
}

static void pool_attach_region__other_name_or_token__estale(void **state)
{
    const uint32_t capacity = 4;
    static const uint8_t other[SEAT_POOL_TOKEN_LEN] = "fedcba9876543210";
    size_t size = seat_pool_region_size(capacity);
    void *base = map_shared(size);
    struct seat_pool *pool;
    char err[256];

    (void)state;
    assert_int_equal(seat_pool_init_region(base, size, capacity, NAME, TOKEN), 0);
    assert_int_equal(seat_pool_attach_region(base, size, "other", TOKEN, &pool, err, sizeof(err)),
                     -ESTALE);
    assert_null(pool);
    assert_non_null(strstr(err, "belongs to another pool"));
    assert_int_equal(seat_pool_attach_region(base, size, NAME, other, &pool, err, sizeof(err)),
                     -ESTALE);
    assert_non_null(strstr(err, "not the one the machine registry names"));
    /* no token: any pool of that name */
    assert_int_equal(seat_pool_attach_region(base, size, NAME, NULL, &pool, err, sizeof(err)), 0);
    seat_pool_detach(pool);
    assert_int_equal(seat_pool_init_region(base, size, capacity,
                                           "a-name-that-is-longer-than-32-characters", TOKEN),
                     -EINVAL);
    munmap(base, size);
}

static void pool_audit__counter_written_by_another__set_to_the_sessions(void **state)
{
    struct seat_pool_audit a;
    struct pool_header *hdr;
    struct fixture fx;
    uint32_t slot[2], extra;

    (void)state;
    fixture_open(&fx, 8, 2);
    hdr = fx.base;
    assert_int_equal(admit(fx.pool, "a", &slot[0], NULL), 0);
    assert_int_equal(admit(fx.pool, "b", &slot[1], NULL), 0);
    seat_pool_audit(fx.pool, &a);
    assert_true(a.quiet);
    assert_false(a.repaired);
    assert_int_equal(a.sessions, 2);
    assert_int_equal(a.own_slots, 2);
    assert_true(a.own_entry_ok);

    /* Lowered, it would let the pool admit past the limit: raised back. */
    atomic_store(&hdr->in_use, 0);
    seat_pool_audit(fx.pool, &a);
    assert_true(a.repaired);
    assert_false(a.after_death);
    assert_int_equal(a.counted, 0);
    assert_int_equal(a.sessions, 2);
    assert_int_equal(atomic_load(&hdr->in_use), 2);
    assert_int_equal(admit(fx.pool, "c", &extra, NULL), -EDQUOT);

    /* Raised, it refuses everyone: lowered back. */
    atomic_store(&hdr->in_use, 1000);
    seat_pool_audit(fx.pool, &a);
    assert_true(a.repaired);
    assert_int_equal(atomic_load(&hdr->in_use), 2);
    assert_int_equal(seat_pool_release(fx.pool, slot[0]), 0);
    assert_int_equal(admit(fx.pool, "c", &extra, NULL), 0);

    /* Our entry rewritten: said, and our own slots still counted. */
    atomic_store(&hdr->proc[0].pid, 1);
    seat_pool_audit(fx.pool, &a);
    assert_false(a.own_entry_ok);
    assert_int_equal(a.own_slots, 2);
    /* Freed: said, and taken back with our own count. */
    atomic_store(&hdr->proc[0].state, POOL_PROC_FREE);
    seat_pool_audit(fx.pool, &a);
    assert_false(a.own_entry_ok);
    assert_int_equal(atomic_load(&hdr->proc[0].state), POOL_PROC_LIVE);
    assert_int_equal(atomic_load(&hdr->proc[0].pid), (uint32_t)getpid());
    assert_int_equal(atomic_load(&hdr->proc[0].in_use), 2);
    seat_pool_audit(fx.pool, &a);
    assert_true(a.own_entry_ok);
    fixture_close(&fx);
}

static void pool_region_size__60000_seats__under_10_mib(void **state)
{
    (void)state;
    assert_true(seat_pool_region_size(60000) < 10u * 1024 * 1024);
    assert_int_equal(seat_pool_region_size(2) - seat_pool_region_size(1), sizeof(struct pool_slot));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_attach_region__fresh_region__reports_capacity_and_zero_limit),
        cmocka_unit_test(pool_admit__at_limit__refused_edquot_with_numbers),
        cmocka_unit_test(pool_peak_and_cluster__set__read_back),
        cmocka_unit_test(pool_admit__capacity_below_limit__refused_enospc),
        cmocka_unit_test(pool_release__then_admit__seat_reused),
        cmocka_unit_test(pool_release__twice__ealready_and_state_unchanged),
        cmocka_unit_test(pool_release__slot_of_other_process__eperm),
        cmocka_unit_test(pool_admit__limit_lowered__keeps_sessions_blocks_new),
        cmocka_unit_test(pool_foreach_session__long_fields__truncated_with_pid),
        cmocka_unit_test(pool_attach_region__each_header_field_corrupt__eproto_with_reason),
        cmocka_unit_test(pool_attach_region__truncated__eproto),
        cmocka_unit_test(pool_attach_region__never_published__eproto_after_wait),
        cmocka_unit_test(pool_attach_region__full_process_table__eusers),
        cmocka_unit_test(pool_admit__fork_stress__never_exceeds_limit),
        cmocka_unit_test(pool_reclaim_dead__child_exited_holding_two__returns_two),
        cmocka_unit_test(pool_reclaim_dead__died_mid_admission__counter_recounted),
        cmocka_unit_test(pool_audit__live_process_busy__counter_left_alone),
        cmocka_unit_test(pool_reclaim_dead__died_holding_an_unmarked_slot__slot_put_back),
        cmocka_unit_test(pool_reclaim_dead__died_mid_release__slot_put_back),
        cmocka_unit_test(pool_audit__unlisted_slot__left_to_a_live_owner_else_put_back),
        cmocka_unit_test(proc_alive__self_dead_and_reused__distinguished),
        cmocka_unit_test(pool_region_size__60000_seats__under_10_mib),
        cmocka_unit_test(pool_attach_region__other_name_or_token__estale),
        cmocka_unit_test(pool_audit__counter_written_by_another__set_to_the_sessions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
