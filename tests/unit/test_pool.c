/* Seat pool on anonymous shared memory (processes via fork) and on a real POSIX shm object.
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

#include "pool.h"
#include "pool_layout.h"
#include "proc.h"
#include "shm.h"

#define STRESS_PROCS 4
#define STRESS_LIMIT 3

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
    assert_int_equal(seat_pool_init_region(fx->base, fx->size, capacity), 0);
    assert_int_equal(seat_pool_attach_region(fx->base, fx->size, &fx->pool, err, sizeof(err)), 0);
    seat_pool_set_limit(fx->pool, limit);
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

    return seat_pool_admit(pool, &req, slot, n);
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
    assert_int_equal(st.limit, 0);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.free_slots, 16);
    assert_int_equal(st.nprocs, 1);
    assert_int_equal(st.procs[0].pid, getpid());
    assert_int_equal(admit(fx.pool, "alice", &slot, NULL), -EDQUOT);
    assert_int_equal(slot, UINT32_MAX);
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

        if (seat_pool_attach_region(fx.base, fx.size, &child, NULL, 0) < 0)
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

static void pool_set_limit__lowered__keeps_sessions_blocks_new(void **state)
{
    struct seat_pool_status st;
    struct fixture fx;
    uint32_t slot[3], extra;
    int live = 0, i;

    (void)state;
    fixture_open(&fx, 8, 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(admit(fx.pool, "a", &slot[i], NULL), 0);
    st = status(fx.pool);
    seat_pool_set_limit(fx.pool, 1);
    assert_int_equal(status(fx.pool).generation, st.generation + 1);
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
    assert_int_equal(seat_pool_admit(fx.pool, &req, &slot, NULL), 0);
    req.cn = NULL;
    req.addr = NULL;
    assert_int_equal(seat_pool_admit(fx.pool, &req, &slot, NULL), 0);
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
        assert_int_equal(seat_pool_init_region(base, size, capacity), 0);
        corrupt(base, (enum corruption)c);
        pool = (struct seat_pool *)1;
        err[0] = '\0';
        assert_int_equal(seat_pool_attach_region(base, size, &pool, err, sizeof(err)), -EPROTO);
        assert_null(pool);
        assert_true(strncmp(err, "pool: ", 6) == 0);
        assert_null(strchr(err, '\n'));
        if (c == BAD_VERSION)
            assert_string_equal(err, "pool: layout version 3, this build speaks 2");
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
    assert_int_equal(seat_pool_init_region(base, size, capacity), 0);
    assert_int_equal(seat_pool_attach_region(base, size - 1, &pool, err, sizeof(err)), -EPROTO);
    assert_null(pool);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(seat_pool_attach_region(base, 8, &pool, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "smaller than"));
    assert_int_equal(seat_pool_attach_region(base, 0, &pool, err, sizeof(err)), -EPROTO);
    assert_int_equal(seat_pool_init_region(base, size - 1, capacity), -EINVAL);
    assert_int_equal(seat_pool_init_region(base, size, 0), -EINVAL);
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
    assert_int_equal(seat_pool_attach_region(base, size, &pool, err, sizeof(err)), -EPROTO);
    assert_null(pool);
    assert_non_null(strstr(err, "not initialized"));
    munmap(base, size);
}

static void pool_attach_region__full_process_table__eusers(void **state)
{
    struct fixture fx;
    struct seat_pool *pool;
    struct pool_header *hdr;
    char err[256];
    int i;

    (void)state;
    fixture_open(&fx, 4, 4);
    hdr = fx.base;
    /* pid 1 with an unknown start time is alive and never ours. */
    for (i = 0; i < POOL_MAX_PROCS; i++) {
        if (atomic_load(&hdr->proc[i].state) == POOL_PROC_FREE) {
            atomic_store(&hdr->proc[i].pid, 1);
            atomic_store(&hdr->proc[i].state, POOL_PROC_LIVE);
        }
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(seat_pool_attach_region(fx.base, fx.size, &pool, err, sizeof(err)) == -EUSERS ? 0
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
};

static int stress_child(void *base, size_t size, struct stress_shared *sh, long iterations)
{
    struct seat_pool_status st;
    struct seat_numbers n;
    struct seat_pool *pool;
    uint32_t slot;
    long i;
    int r, h, m;

    if (seat_pool_attach_region(base, size, &pool, NULL, 0) < 0)
        return 10;
    for (i = 0; i < iterations; i++) {
        r = admit(pool, "stress", &slot, &n);
        if (r == -EDQUOT)
            continue;
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
    assert_true(atomic_load(&sh->max_holders) <= STRESS_LIMIT);
    assert_true(atomic_load(&sh->max_holders) >= 1);
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

        if (seat_pool_attach_region(fx.base, fx.size, &child, NULL, 0) < 0)
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

        if (seat_pool_attach_region(fx.base, fx.size, &child, NULL, 0) < 0)
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
    assert_int_equal(proc_alive(getpid(), 0), 1);
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

static void pool_attach__real_shm__mode_0600_and_existing_capacity_wins(void **state)
{
    char name[32], shm_name[64], path[96], err[256];
    struct seat_pool *pool, *again;
    struct seat_pool_status st;
    struct stat sb;
    uint32_t slot;

    (void)state;
    snprintf(name, sizeof(name), "utest-%ld", (long)getpid());
    snprintf(shm_name, sizeof(shm_name), "/licgate.%s", name);
    snprintf(path, sizeof(path), "/dev/shm/licgate.%s", name);
    shm_region_unlink(shm_name);
    assert_int_equal(seat_pool_attach(name, 16, NULL, &pool, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_uid, geteuid());
    assert_int_equal((size_t)sb.st_size, seat_pool_region_size(16));
    seat_pool_set_limit(pool, 2);
    assert_int_equal(admit(pool, "alice", &slot, NULL), 0);
    seat_pool_detach(pool);

    assert_int_equal(seat_pool_attach(name, 32, NULL, &again, err, sizeof(err)), 0);
    st = status(again);
    assert_int_equal(st.capacity, 16);
    assert_int_equal(st.limit, 2);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.admissions, 1);
    seat_pool_detach(again);
    assert_int_equal(shm_region_unlink(shm_name), 0);
    assert_int_equal(shm_region_unlink(shm_name), -ENOENT);
}

static void pool_attach__object_readable_by_others__eperm(void **state)
{
    char name[32], shm_name[64], err[256];
    struct seat_pool *pool;
    int fd;

    (void)state;
    snprintf(name, sizeof(name), "utest-open-%ld", (long)getpid());
    snprintf(shm_name, sizeof(shm_name), "/licgate.%s", name);
    fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0644), 0);
    assert_int_equal(ftruncate(fd, (off_t)seat_pool_region_size(4)), 0);
    close(fd);
    assert_int_equal(seat_pool_attach(name, 4, NULL, &pool, err, sizeof(err)), -EPERM);
    assert_null(pool);
    assert_non_null(strstr(err, "mode 0644"));
    assert_int_equal(shm_region_unlink(shm_name), 0);
}

static void pool_attach__invalid_name_or_capacity__einval(void **state)
{
    static const char *const bad[] = {"", "a/b", "../x", "x y",
                                      "123456789012345678901234567890123"};
    struct seat_pool *pool;
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(seat_pool_attach(bad[i], 4, NULL, &pool, err, sizeof(err)), -EINVAL);
        assert_null(pool);
    }
    assert_int_equal(seat_pool_attach("ok", 0, NULL, &pool, err, sizeof(err)), -EINVAL);
    assert_int_equal(
        seat_pool_attach("ok", SEAT_POOL_CAPACITY_MAX + 1, NULL, &pool, err, sizeof(err)), -EINVAL);
}

/* ---- key claims ---- */

static void pool_claims__republished__keep_since_new_get_now_dropped_go(void **state)
{
    const char *first[] = {"LG-AAAA-0001", "LG-BBBB-0002"};
    const char *second[] = {"LG-BBBB-0002", "LG-CCCC-0003"};
    struct seat_claim got[8];
    int64_t since[2];
    struct fixture fx;
    size_t n;

    (void)state;
    fixture_open(&fx, 4, 2);
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(seat_pool_publish_claims(fx.pool, first, 2, 1000, NULL), 0);
    assert_int_equal(seat_pool_publish_claims(fx.pool, second, 2, 2000, since), 0);
    assert_int_equal(since[0], 1000);
    assert_int_equal(since[1], 2000);
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].key_id, "LG-BBBB-0002");
    assert_int_equal(got[0].since, 1000); /* claimed since the first publication */
    assert_string_equal(got[1].key_id, "LG-CCCC-0003");
    assert_int_equal(got[1].since, 2000);
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 1, &n), 0); /* max is honoured */
    assert_int_equal(n, 1);
    assert_int_equal(seat_pool_publish_claims(fx.pool, NULL, 0, 3000, NULL), 0);
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 8, &n), 0);
    assert_int_equal(n, 0);
    fixture_close(&fx);
}

/* A writer that died mid-write leaves the sequence odd: readers see nothing
 * consistent (-EAGAIN, never a torn copy); the next writer takes over. */
static void pool_claims__writer_died_mid_write__read_eagain_then_overridden(void **state)
{
    const char *keys[] = {"LG-AAAA-0001"};
    struct pool_header *hdr;
    struct seat_claim got[4];
    struct fixture fx;
    size_t n = 9;

    (void)state;
    fixture_open(&fx, 4, 2);
    hdr = fx.base;
    atomic_store(&hdr->claims_seq, 7);
    hdr->nclaims = 1;
    memset(hdr->claims[0].key_id, 'x', sizeof(hdr->claims[0].key_id)); /* torn: no NUL */
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 4, &n), -EAGAIN);
    assert_int_equal(n, 0);
    assert_int_equal(seat_pool_publish_claims(fx.pool, keys, 1, 1000, NULL), 0);
    assert_int_equal(atomic_load(&hdr->claims_seq) % 2, 0);
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].key_id, "LG-AAAA-0001");
    fixture_close(&fx);
}

/* What another pool wrote is hostile: a count beyond the table is refused,
 * keys without a NUL or empty are skipped. */
static void pool_claims__hostile_table__eproto_or_skipped(void **state)
{
    struct pool_header *hdr;
    struct seat_claim got[4];
    struct fixture fx;
    size_t n;

    (void)state;
    fixture_open(&fx, 4, 2);
    hdr = fx.base;
    hdr->nclaims = POOL_CLAIMS_MAX + 1;
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 4, &n), -EPROTO);
    assert_int_equal(n, 0);
    hdr->nclaims = 3;
    memset(hdr->claims[0].key_id, 'x', sizeof(hdr->claims[0].key_id));
    hdr->claims[1].key_id[0] = '\0';
    snprintf(hdr->claims[2].key_id, sizeof(hdr->claims[2].key_id), "LG-GOOD-0001");
    hdr->claims[2].since = 5;
    assert_int_equal(seat_pool_read_claims(fx.pool, got, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].key_id, "LG-GOOD-0001");
    assert_int_equal(got[0].since, 5);
    fixture_close(&fx);
}

/* Another pool is seen read-only, by name, and is live only while a process
 * other than the observer is attached; a missing one is -ENOENT. */
static void pool_observe__real_shm__claims_visible_live_follows_processes(void **state)
{
    const char *keys[] = {"LG-AAAA-0001"};
    char name[32], shm_name[64], err[256], **names;
    struct seat_pool *pool, *seen;
    struct seat_claim got[4];
    size_t n, count;
    bool listed = false;
    pid_t child;
    int ready[2], done[2];
    char c;

    (void)state;
    snprintf(name, sizeof(name), "utest-obs-%ld", (long)getpid());
    snprintf(shm_name, sizeof(shm_name), "/licgate.%s", name);
    shm_region_unlink(shm_name);
    assert_int_equal(seat_pool_observe(name, &seen, err, sizeof(err)), -ENOENT);
    assert_null(seen);
    assert_int_equal(seat_pool_attach(name, 4, NULL, &pool, err, sizeof(err)), 0);
    assert_int_equal(seat_pool_publish_claims(pool, keys, 1, 1000, NULL), 0);
    assert_int_equal(seat_pool_observe(name, &seen, err, sizeof(err)), 0);
    assert_int_equal(seat_pool_read_claims(seen, got, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].key_id, "LG-AAAA-0001");
    assert_true(seat_pool_live(seen)); /* this process, attached through `pool` */
    assert_int_equal(seat_pool_publish_claims(seen, keys, 1, 1000, NULL), -EINVAL); /* read-only */
    assert_int_equal(seat_pool_list(&names, &count), 0);
    for (size_t i = 0; i < count; i++)
        listed |= strcmp(names[i], name) == 0;
    seat_pool_free_names(names, count);
    assert_true(listed);
    seat_pool_detach(pool);
    assert_false(seat_pool_live(seen)); /* nobody attached now */

    /* a child attaches and dies: not live once it is gone */
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct seat_pool *p;
        if (seat_pool_attach(name, 4, NULL, &p, err, sizeof(err)) != 0)
            _exit(1);
        if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(1);
        _exit(0); /* dies attached */
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_true(seat_pool_live(seen));
    assert_int_equal(write(done[1], "d", 1), 1);
    wait_child_ok(child);
    assert_false(seat_pool_live(seen));
    seat_pool_detach(seen);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
    assert_int_equal(shm_region_unlink(shm_name), 0);
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
        cmocka_unit_test(pool_admit__capacity_below_limit__refused_enospc),
        cmocka_unit_test(pool_release__then_admit__seat_reused),
        cmocka_unit_test(pool_release__twice__ealready_and_state_unchanged),
        cmocka_unit_test(pool_release__slot_of_other_process__eperm),
        cmocka_unit_test(pool_set_limit__lowered__keeps_sessions_blocks_new),
        cmocka_unit_test(pool_foreach_session__long_fields__truncated_with_pid),
        cmocka_unit_test(pool_attach_region__each_header_field_corrupt__eproto_with_reason),
        cmocka_unit_test(pool_attach_region__truncated__eproto),
        cmocka_unit_test(pool_attach_region__never_published__eproto_after_wait),
        cmocka_unit_test(pool_attach_region__full_process_table__eusers),
        cmocka_unit_test(pool_admit__fork_stress__never_exceeds_limit),
        cmocka_unit_test(pool_reclaim_dead__child_exited_holding_two__returns_two),
        cmocka_unit_test(pool_reclaim_dead__died_mid_admission__counter_recounted),
        cmocka_unit_test(pool_audit__live_process_busy__counter_left_alone),
        cmocka_unit_test(proc_alive__self_dead_and_reused__distinguished),
        cmocka_unit_test(pool_attach__real_shm__mode_0600_and_existing_capacity_wins),
        cmocka_unit_test(pool_attach__object_readable_by_others__eperm),
        cmocka_unit_test(pool_attach__invalid_name_or_capacity__einval),
        cmocka_unit_test(pool_region_size__60000_seats__under_10_mib),
        cmocka_unit_test(pool_claims__republished__keep_since_new_get_now_dropped_go),
        cmocka_unit_test(pool_claims__writer_died_mid_write__read_eagain_then_overridden),
        cmocka_unit_test(pool_claims__hostile_table__eproto_or_skipped),
        cmocka_unit_test(pool_observe__real_shm__claims_visible_live_follows_processes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
