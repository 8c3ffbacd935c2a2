/* The machine registry on anonymous shared memory (other processes by fork), written as a
 * process of the runtime user could write it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "registry.h"
#include "registry_layout.h"

struct fixture {
    struct reg_header *hdr;
    size_t size;
    struct registry *reg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];

    f->size = registry_region_size();
    f->hdr = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (f->hdr == MAP_FAILED || registry_init_region(f->hdr, f->size) != 0 ||
        registry_attach_region(f->hdr, f->size, &f->reg, err, sizeof(err)) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    registry_release(f->reg);
    munmap(f->hdr, f->size);
    free(f);
    return 0;
}

static void must_lock(struct registry *reg)
{
    assert_int_equal(registry_lock(reg, 100), 0);
}

/* A child that registers in pool `pool`, runs fn, and exits (dead afterwards). */
static void in_child(struct fixture *f, const char *pool, void (*fn)(struct registry *))
{
    pid_t pid = fork();
    int ws;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct registry *reg;

        if (registry_attach_region(f->hdr, f->size, &reg, NULL, 0) != 0 ||
            registry_lock(reg, 100) != 0 || registry_register(reg, pool, "/dir/child", 50) != 0)
            _exit(1);
        registry_unlock(reg);
        fn(reg);
        _exit(0); /* dies registered: its entries stay for reclaim */
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

static void child_claims_and_evaluates(struct registry *reg)
{
    const char *keys[] = {"LG-CHILD"};
    struct registry_eval e;

    if (registry_lock(reg, 100) != 0 || registry_publish_claims(reg, keys, 1, 60, NULL) != 0)
        _exit(2);
    registry_unlock(reg);
    if (registry_eval_take(reg, &e) != 0)
        _exit(3);
}

static void registry_attach_region__each_field_corrupt__eproto(void **state)
{
    struct fixture *f = *state;
    struct registry *reg = (struct registry *)1;
    char err[128];

    f->hdr->version = REG_LAYOUT_VERSION + 1;
    assert_int_equal(registry_attach_region(f->hdr, f->size, &reg, err, sizeof(err)), -EPROTO);
    assert_null(reg);
    assert_non_null(strstr(err, "layout version 2, this build speaks 1"));
    f->hdr->version = REG_LAYOUT_VERSION;
    f->hdr->nclaims = 1;
    assert_int_equal(registry_attach_region(f->hdr, f->size, &reg, err, sizeof(err)), -EPROTO);
    f->hdr->nclaims = REG_MAX_CLAIMS;
    assert_int_equal(registry_attach_region(f->hdr, f->size - 8, &reg, err, sizeof(err)), -EPROTO);
    memcpy((void *)&f->hdr->magic, "LICGPOOL", 8);
    assert_int_equal(registry_attach_region(f->hdr, f->size, &reg, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "bad magic"));
}

static void registry_lock__holder_dead_or_live__taken_or_busy(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    /* a holder that died holding it: taken at once */
    atomic_store(&f->hdr->lock, (uint64_t)(uint32_t)pid | 1ull << 32);
    assert_int_equal(registry_lock(f->reg, 0), 0);
    registry_unlock(f->reg);
    assert_int_equal(atomic_load(&f->hdr->lock), 0);
    /* a live holder (pid 1) for the whole timeout: busy, the word untouched */
    atomic_store(&f->hdr->lock, 1ull | 7ull << 32);
    assert_int_equal(registry_lock(f->reg, 20), -EBUSY);
    assert_int_equal(atomic_load(&f->hdr->lock), 1ull | 7ull << 32);
    atomic_store(&f->hdr->lock, 0);
}

static void registry_reclaim_dead__dead_child_and_forgeries__freed(void **state)
{
    struct fixture *f = *state;
    struct registry_view v;
    uint64_t init_start;

    must_lock(f->reg);
    assert_int_equal(registry_register(f->reg, "a", "/dir/a", 100), 0);
    registry_unlock(f->reg);
    in_child(f, "a", child_claims_and_evaluates);
    assert_int_equal(registry_eval_in_use(f->reg), 1);
    /* a forged entry: pid 1 with start time 0 ("any process" once) names no process */
    f->hdr->procs[10].state = REG_LIVE;
    f->hdr->procs[10].pid = 1;
    f->hdr->procs[10].start_time = 0;
    memcpy(f->hdr->procs[10].pool, "b", 2);
    /* pid 1 with its real start time is alive and stays */
    assert_int_equal(proc_start_time(1, &init_start), 0);
    f->hdr->procs[11].state = REG_LIVE;
    f->hdr->procs[11].pid = 1;
    f->hdr->procs[11].start_time = init_start;
    memcpy(f->hdr->procs[11].pool, "c", 2);
    /* an orphan claim, a seat whose word names a free entry */
    f->hdr->claims[100].proc = 200;
    memcpy(f->hdr->claims[100].key_id, "LG-ORPHAN", 10);
    f->hdr->claims[100].since = 1;
    atomic_store(&f->hdr->eval[1], REG_EVAL_WORD(150, 9));
    must_lock(f->reg);
    assert_int_equal(registry_reclaim_dead(f->reg), 4); /* child, forgery, 2 orphans */
    assert_int_equal(registry_snapshot(f->reg, &v), 0);
    registry_unlock(f->reg);
    assert_int_equal(v.nprocs, 2); /* us and pid 1 */
    assert_int_equal(v.nclaims, 0);
    assert_int_equal(registry_eval_in_use(f->reg), 0);
    registry_view_free(&v);
}

static void registry_eval__two_seats_machine_wide__third_refused(void **state)
{
    struct fixture *f = *state;
    struct registry_eval e[3];

    must_lock(f->reg);
    assert_int_equal(registry_register(f->reg, "a", "/dir/a", 100), 0);
    registry_unlock(f->reg);
    assert_int_equal(registry_eval_take(f->reg, &e[0]), 0);
    assert_int_equal(registry_eval_take(f->reg, &e[1]), 0);
    assert_int_equal(registry_eval_take(f->reg, &e[2]), -EDQUOT);
    assert_int_equal(e[2].seat, -1);
    assert_int_equal(registry_eval_in_use(f->reg), 2);
    assert_true(registry_eval_held(f->reg, &e[0]));
    /* another writer takes seat 0 over: giving it back says so and leaves it */
    atomic_store(&f->hdr->eval[e[0].seat], REG_EVAL_WORD(3, 3));
    assert_false(registry_eval_held(f->reg, &e[0]));
    assert_int_equal(registry_eval_give(f->reg, &e[0]), -ESTALE);
    assert_int_equal(registry_eval_give(f->reg, &e[1]), 0);
    assert_int_equal(registry_eval_in_use(f->reg), 1);
    assert_int_equal(registry_eval_give(f->reg, &e[1]), 0); /* a no-op now */
}

static void registry_publish_claims__since_kept_inherited_or_now(void **state)
{
    struct fixture *f = *state;
    const char *first[] = {"LG-K1", "LG-K2"}, *second[] = {"LG-K2", "LG-K3"};
    int64_t since[2];
    struct registry_view v;

    in_child(f, "b", child_claims_and_evaluates); /* dead: reclaimed below */
    must_lock(f->reg);
    registry_reclaim_dead(f->reg);
    assert_int_equal(registry_register(f->reg, "a", "/dir/a", 100), 0);
    assert_int_equal(registry_publish_claims(f->reg, first, 2, 100, since), 0);
    assert_int_equal(since[0], 100);
    assert_int_equal(registry_publish_claims(f->reg, second, 2, 200, since), 0);
    assert_int_equal(since[0], 100); /* kept */
    assert_int_equal(since[1], 200); /* new */
    /* another live process of pool a that claimed K3 earlier lends its since */
    f->hdr->procs[20] = f->hdr->procs[f->hdr->procs[0].state == REG_LIVE ? 0 : 1];
    f->hdr->claims[500].proc = 21;
    f->hdr->claims[500].since = 50;
    memcpy(f->hdr->claims[500].key_id, "LG-K4", 6);
    const char *third[] = {"LG-K4"};
    assert_int_equal(registry_publish_claims(f->reg, third, 1, 300, since), 0);
    assert_int_equal(since[0], 50);
    assert_int_equal(registry_snapshot(f->reg, &v), 0);
    registry_unlock(f->reg);
    assert_true(registry_view_claimed_by(&v, "LG-K4", "a"));
    assert_false(registry_view_claimed_by(&v, "LG-K1", "a")); /* dropped */
    registry_view_free(&v);
}

static void registry_view_winner__earliest_then_name(void **state)
{
    struct registry_claim_view c[3] = {
        {.key_id = "K", .pool = "zeta", .pid = 1, .since = 100},
        {.key_id = "K", .pool = "beta", .pid = 2, .since = 200},
        {.key_id = "K", .pool = "alpha", .pid = 3, .since = 100},
    };
    struct registry_view v = {.claims = c, .nclaims = 3};

    (void)state;
    assert_string_equal(registry_view_winner(&v, "K"), "alpha");
    c[2].since = 101;
    assert_string_equal(registry_view_winner(&v, "K"), "zeta");
    assert_null(registry_view_winner(&v, "OTHER"));
}

static void registry_snapshot__unterminated_fields__skipped(void **state)
{
    struct fixture *f = *state;
    struct registry_view v;

    must_lock(f->reg);
    assert_int_equal(registry_register(f->reg, "a", "/dir/a", 100), 0);
    memset(f->hdr->claims[7].key_id, 'A', REG_KEY_LEN); /* no NUL */
    f->hdr->claims[7].proc = 1;
    f->hdr->claims[7].since = 5;
    assert_int_equal(registry_snapshot(f->reg, &v), 0);
    registry_unlock(f->reg);
    assert_int_equal(v.nclaims, 0);
    assert_int_equal(v.nprocs, 1);
    assert_true(v.procs[0].self);
    assert_string_equal(v.procs[0].license_dir, "/dir/a");
    registry_view_free(&v);
}

static void registry_self_ok__entry_rewritten__false(void **state)
{
    struct fixture *f = *state;
    uint32_t self;

    must_lock(f->reg);
    assert_int_equal(registry_register(f->reg, "a", "/dir/a", 100), 0);
    registry_unlock(f->reg);
    assert_true(registry_self_ok(f->reg));
    self = f->hdr->procs[0].state == REG_LIVE ? 0 : 1;
    f->hdr->procs[self].license_dir[1] = 'X';
    assert_false(registry_self_ok(f->reg));
}

static bool all_stale(int shmid, void *arg)
{
    (void)shmid;
    (void)arg;
    return true;
}

static void registry_set_pool__full_table__stale_entry_reused(void **state)
{
    struct fixture *f = *state;
    struct registry_pool_entry e = {.shmid = 42, .capacity = 8, .token = "0123456789abcdef"};
    struct registry_pool_entry got;
    char name[16];

    for (int i = 0; i < REGISTRY_MAX_POOLS; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        e.shmid = i;
        assert_int_equal(registry_set_pool(f->reg, name, &e, NULL, NULL), 0);
    }
    assert_int_equal(registry_set_pool(f->reg, "one-more", &e, NULL, NULL), -ENOSPC);
    assert_int_equal(registry_set_pool(f->reg, "p3", &e, NULL, NULL), 0); /* replaced */
    assert_int_equal(registry_set_pool(f->reg, "one-more", &e, all_stale, NULL), 0);
    assert_int_equal(registry_find_pool(f->reg, "one-more", &got), 0);
    assert_memory_equal(got.token, e.token, sizeof(e.token));
    assert_int_equal(registry_find_pool(f->reg, "nowhere", &got), -ENOENT);
}

static void registry_clock_raise__only_up(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(registry_clock_raise(f->reg, 500), 500);
    assert_int_equal(registry_clock_raise(f->reg, 100), 500);
    assert_int_equal(registry_clock_raise(f->reg, 900), 900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registry_attach_region__each_field_corrupt__eproto, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_lock__holder_dead_or_live__taken_or_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_reclaim_dead__dead_child_and_forgeries__freed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(registry_eval__two_seats_machine_wide__third_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_publish_claims__since_kept_inherited_or_now, setup,
                                        teardown),
        cmocka_unit_test(registry_view_winner__earliest_then_name),
        cmocka_unit_test_setup_teardown(registry_snapshot__unterminated_fields__skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_self_ok__entry_rewritten__false, setup, teardown),
        cmocka_unit_test_setup_teardown(registry_set_pool__full_table__stale_entry_reused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_clock_raise__only_up, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
