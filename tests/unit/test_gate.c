/* The gate against a real machine registry and pool segment (in an IPC
 * namespace of the test's own when it can make one) and real signed
 * licenses, with the clock and the log in the test's hands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "gate.h"
#include "license.h"
#include "license_sign.h"
#include "pool.h"
#include "pool_layout.h"
#include "unit_fixture.h"

#define DAY 86400

static int64_t test_now;
static char log_text[64 * 1024];
/* Whether the test has an IPC namespace of its own: only then is every segment in it ours. */
static bool own_ipc_namespace;

static int64_t test_clock(void)
{
    return test_now;
}

static void test_log(void *arg, enum gate_log_level level, const char *msg)
{
    size_t used = strlen(log_text);

    snprintf(log_text + used, sizeof(log_text) - used, "%s\n", msg);
}

static size_t log_count(const char *needle)
{
    size_t n = 0;

    for (const char *p = log_text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

struct fixture {
    char dir[64];
    struct gate_config cfg;
    struct gate_env env;
    struct gate *gate;
};

static void write_kind_in(const char *dir, const char *name, uint32_t seats, int64_t support_until,
                          enum license_kind kind)
{
    struct license lic;
    char file[96], *doc = NULL;
    size_t len = 0;

    memset(&lic, 0, sizeof(lic));
    snprintf(lic.key_id, sizeof(lic.key_id), "LG-UNIT-%s", name);
    snprintf(lic.customer, sizeof(lic.customer), "Unit");
    lic.seats = seats;
    lic.kind = kind;
    lic.issued = test_now - DAY;
    lic.support_until = support_until;
    lic.binding_rule = BINDING_NONE;
    assert_int_equal(license_sign(&lic, trusted_priv, &doc, &len), 0);
    snprintf(file, sizeof(file), "%s.lic", name);
    unit_write_file(dir, file, doc, len);
    free(doc);
}

static void write_license_in(const char *dir, const char *name, uint32_t seats,
                             int64_t support_until)
{
    write_kind_in(dir, name, seats, support_until, LICENSE_KIND_STANDARD);
}

static void write_license(struct fixture *f, const char *name, uint32_t seats,
                          int64_t support_until)
{
    write_license_in(f->dir, name, seats, support_until);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    test_now = 1800000000;
    log_text[0] = '\0';
    if (f == NULL || unit_tmpdir_make(f->dir, sizeof(f->dir), "test_gate") != 0) {
        free(f);
        return -1;
    }
    config_defaults(&f->cfg);
    snprintf(f->cfg.license_dir, sizeof(f->cfg.license_dir), "%s", f->dir);
    snprintf(f->cfg.pool, sizeof(f->cfg.pool), "unit-%ld", (long)getpid());
    snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s/state", f->dir);
    f->cfg.capacity = 16;
    f->env = (struct gate_env){
        .keys = &trusted_key, .nkeys = 1, .now = test_clock, .log = test_log, .log_arg = NULL};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    gate_close(f->gate);
    if (unit_tmpdir_remove(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static void open_gate(struct fixture *f)
{
    char err[256];

    assert_int_equal(gate_open(&f->cfg, &f->env, &f->gate, err, sizeof(err)), 0);
}

static void gate_open__no_license__two_evaluation_seats(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[3] = {0};
    bool evaluation = false;

    open_gate(f);
    assert_int_equal(gate_limit(f->gate, &evaluation), GATE_EVALUATION_SEATS);
    assert_true(evaluation);
    assert_int_equal(gate_client_connect(f->gate, &c[0], "a", "1.1.1.1:1"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[1], "b", "1.1.1.1:2"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "1.1.1.1:3"), -EDQUOT);
    assert_false(c[2].admitted);
    assert_int_equal(
        log_count("refused cn='c' 1.1.1.1:3: limit reached (2/2 seats, evaluation mode)"), 1);
}

static void gate_open__stacked_licenses__seats_sum(void **state)
{
    struct fixture *f = *state;

    write_license(f, "TWO", 2, test_now + 365 * DAY);
    write_license(f, "THREE", 3, test_now + 365 * DAY);
    open_gate(f);
    assert_int_equal(gate_limit(f->gate, NULL), 5);
    assert_int_equal(log_count("licenses loaded: limit 5 seats"), 1);
}

/* A cluster license counts no seats by itself: the node admits on what the
 * agent granted, while the grant's deadline is ahead (docs/cluster.md). */
static void gate_client_connect__cluster_license__admits_on_grant_until_deadline(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[5] = {{0}};
    bool evaluation = true;
    int64_t deadline;
    char err[160];

    write_kind_in(f->dir, "CLUSTER", 20, test_now + 365 * DAY, LICENSE_KIND_CLUSTER);
    open_gate(f);
    assert_int_equal(gate_cluster_seats(f->gate), 20);
    assert_int_equal(gate_limit(f->gate, &evaluation), 0);
    assert_false(evaluation);
    assert_int_equal(gate_client_connect(f->gate, &c[0], "a", "x"), -EDQUOT);
    /* a grant above the license's seats is refused; a grant of 2 admits 2 */
    assert_int_equal(
        gate_set_cluster_grant(f->gate, 21, clock_monotonic_ms() + 60000, err, sizeof(err)),
        -ERANGE);
    assert_string_equal(err, "grant 21 exceeds the cluster license's 20 seats");
    assert_int_equal(
        gate_set_cluster_grant(f->gate, 2, clock_monotonic_ms() + 60000, err, sizeof(err)), 0);
    assert_int_equal(gate_cluster_grant(f->gate, &deadline), 2);
    assert_true(deadline > clock_monotonic_ms());
    assert_int_equal(gate_client_connect(f->gate, &c[0], "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[1], "b", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "x"), -EDQUOT);
    /* past the deadline (by more than the coarse clock's tick): nobody new, the live ones
     * stay */
    assert_int_equal(
        gate_set_cluster_grant(f->gate, 4, clock_monotonic_ms() - 50, err, sizeof(err)), 0);
    assert_int_equal(gate_cluster_grant(f->gate, NULL), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "x"), -EDQUOT);
    assert_true(c[0].admitted && c[1].admitted);
    /* a grant of 0 takes it back */
    assert_int_equal(gate_set_cluster_grant(f->gate, 0, 0, err, sizeof(err)), 0);
    assert_int_equal(gate_limit(f->gate, NULL), 0);
}

static void gate_set_cluster_grant__no_cluster_license__enoent(void **state)
{
    struct fixture *f = *state;
    char err[160];

    write_license(f, "TEN", 10, test_now + 365 * DAY);
    open_gate(f);
    assert_int_equal(
        gate_set_cluster_grant(f->gate, 1, clock_monotonic_ms() + 1000, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "no cluster license counts in pool"));
    assert_int_equal(gate_limit(f->gate, NULL), 10);
}

static void gate_tls_verify__full_pool__refuses_new_passes_admitted(void **state)
{
    struct fixture *f = *state;
    struct gate_client a = {0}, b = {0}, c = {0};

    open_gate(f);
    assert_int_equal(gate_tls_verify(f->gate, &a, "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &a, "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &b, "b", "x"), 0);
    assert_true(gate_tls_would_refuse(f->gate, &c));
    assert_false(gate_tls_would_refuse(f->gate, &a));
    assert_int_equal(gate_tls_verify(f->gate, &c, "c", "x"), -EDQUOT);
    assert_int_equal(log_count("refused cn='c' x at TLS handshake: limit reached (2/2 seats"), 1);
    /* renegotiation of an admitted client */
    assert_int_equal(gate_tls_verify(f->gate, &a, "a", "x"), 0);
    /* the early refusal counted nothing */
    gate_client_release(f->gate, &b);
    assert_int_equal(gate_tls_verify(f->gate, &c, "c", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c, "c", "x"), 0);
}

static void gate_client_release__twice__releases_once(void **state)
{
    struct fixture *f = *state;
    struct gate_client a = {0}, b = {0}, c = {0}, d = {0};

    open_gate(f);
    assert_int_equal(gate_client_connect(f->gate, &a, "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &b, "b", "x"), 0);
    gate_client_release(f->gate, &a); /* CLIENT_DISCONNECT */
    gate_client_release(f->gate, &a); /* destructor */
    assert_false(a.admitted);
    assert_int_equal(gate_client_connect(f->gate, &c, "c", "x"), 0);
    /* had the second release freed another seat, d would get in */
    assert_int_equal(gate_client_connect(f->gate, &d, "d", "x"), -EDQUOT);
}

static void gate_client_connect__already_admitted__no_second_seat(void **state)
{
    struct fixture *f = *state;
    struct gate_client a = {0}, b = {0};

    open_gate(f);
    assert_int_equal(gate_client_connect(f->gate, &a, "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &a, "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &b, "b", "x"), 0);
}

static void gate_client_connect__license_expires__live_kept_new_follow(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[4] = {0};

    write_license(f, "THREE", 3, test_now + DAY);
    open_gate(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gate_client_connect(f->gate, &c[i], "a", "x"), 0);
    test_now += DAY; /* support ends */
    assert_int_equal(gate_client_connect(f->gate, &c[3], "d", "x"), -EDQUOT);
    assert_int_equal(gate_limit(f->gate, NULL), GATE_EVALUATION_SEATS);
    assert_int_equal(log_count("expired: support ended"), 1);
    /* nobody was dropped: all three still hold their seats */
    for (int i = 0; i < 3; i++)
        assert_true(c[i].admitted);
    /* 3 live above the new limit of 2: one leaving is not enough, two are */
    gate_client_release(f->gate, &c[0]);
    assert_int_equal(gate_client_connect(f->gate, &c[3], "d", "x"), -EDQUOT);
    gate_client_release(f->gate, &c[1]);
    assert_int_equal(gate_client_connect(f->gate, &c[3], "d", "x"), 0);
}

static void gate_reload__license_added__limit_raised(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[3] = {0};
    char err[256];

    open_gate(f);
    assert_int_equal(gate_client_connect(f->gate, &c[0], "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[1], "b", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "x"), -EDQUOT);
    write_license(f, "TEN", 10, test_now + 365 * DAY);
    assert_int_equal(gate_reload(f->gate, NULL, err, sizeof(err)), 0);
    assert_int_equal(gate_limit(f->gate, NULL), 10);
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "x"), 0);
}

/* The shared-memory segments in this IPC namespace (ipcs -m). */
static size_t segment_count(void)
{
    FILE *fp = fopen("/proc/sysvipc/shm", "r");
    size_t lines = 0;
    int c;

    assert_non_null(fp);
    while ((c = fgetc(fp)) != EOF)
        lines += c == '\n';
    fclose(fp);
    assert_true(lines >= 1);
    return lines - 1; /* the header */
}

static void gate_open__unknown_user__error_nothing_attached(void **state)
{
    struct fixture *f = *state;
    struct gate_machine_status ms;
    struct seat_pool_status st;
    struct gate *g = NULL;
    char err[256] = "";
    size_t segments;
    struct stat sb;
    bool evaluation;

    write_license(f, "TEN", 10, test_now + 365 * DAY);
    segments = segment_count();
    snprintf(f->cfg.user, sizeof(f->cfg.user), "no-such-user-licgate");
    assert_int_equal(gate_open(&f->cfg, &f->env, &g, err, sizeof(err)), -ENOENT);
    assert_null(g);
    assert_non_null(strstr(err, "no-such-user-licgate"));
    assert_non_null(strstr(err, "no such user"));
    /* no segment made or left mapped, no state directory, nothing said */
    if (own_ipc_namespace)
        assert_int_equal(segment_count(), segments);
    assert_int_equal(stat(f->cfg.state_dir, &sb), -1);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(log_text, "");
    /* the pool, its seats and the license are all there for the next open, as if the failed one
     * had never been */
    f->cfg.user[0] = '\0';
    open_gate(f);
    assert_int_equal(gate_limit(f->gate, &evaluation), 10);
    assert_false(evaluation);
    seat_pool_snapshot(gate_pool(f->gate), &st);
    assert_int_equal(st.nprocs, 1);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.capacity, f->cfg.capacity);
    gate_machine_status(f->gate, &ms);
    assert_int_equal(ms.eval_in_use, 0);
}

/* A second gate of this process, on pool `pool`, reading license-dir dir. */
static struct gate *open_second(struct fixture *f, const char *pool, const char *dir)
{
    struct gate_config cfg = f->cfg;
    struct gate *g = NULL;
    char err[256];

    snprintf(cfg.pool, sizeof(cfg.pool), "%s", pool);
    snprintf(cfg.license_dir, sizeof(cfg.license_dir), "%s", dir);
    assert_int_equal(gate_open(&cfg, &f->env, &g, err, sizeof(err)), 0);
    return g;
}

static void gate_open__two_pools_without_license__two_evaluation_seats_in_all(void **state)
{
    struct fixture *f = *state;
    struct gate_client a[2] = {0}, b[2] = {0};
    struct gate_machine_status ms;
    char empty[96], pool[40];
    struct gate *other;

    snprintf(empty, sizeof(empty), "%s/empty", f->dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(pool, sizeof(pool), "%s-b", f->cfg.pool);
    open_gate(f);
    other = open_second(f, pool, empty);
    assert_int_equal(gate_client_connect(f->gate, &a[0], "a0", "x"), 0);
    assert_int_equal(gate_client_connect(other, &b[0], "b0", "x"), 0);
    /* each pool has 1 of its 2, but the machine's 2 evaluation seats are taken */
    assert_true(gate_tls_would_refuse(f->gate, &a[1]));
    assert_int_equal(gate_client_connect(f->gate, &a[1], "a1", "x"), -EDQUOT);
    assert_int_equal(gate_client_connect(other, &b[1], "b1", "x"), -EDQUOT);
    assert_int_equal(log_count("the machine's 2 evaluation seats are in use, 1 in other pools"), 2);
    gate_machine_status(other, &ms);
    assert_int_equal(ms.eval_in_use, 2);
    /* one leaves: the other pool takes the seat */
    gate_client_release(f->gate, &a[0]);
    assert_int_equal(gate_client_connect(other, &b[1], "b1", "x"), 0);
    gate_machine_status(f->gate, &ms);
    assert_int_equal(ms.eval_in_use, 2);
    gate_close(other); /* its two sessions go, and their seats with them */
    gate_machine_status(f->gate, &ms);
    assert_int_equal(ms.eval_in_use, 0);
    assert_int_equal(gate_client_connect(f->gate, &a[0], "a0", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &a[1], "a1", "x"), 0);
}

static void gate_check_claims__one_pool_two_license_dirs__union_of_keys(void **state)
{
    struct fixture *f = *state;
    char dir[96];
    struct gate *other;

    snprintf(dir, sizeof(dir), "%s/second", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_license(f, "THREE", 3, test_now + 365 * DAY);
    write_license_in(dir, "TWO", 2, test_now + 365 * DAY);
    open_gate(f);
    assert_int_equal(gate_limit(f->gate, NULL), 3);
    other = open_second(f, f->cfg.pool, dir);
    /* the second process counts its own key and the first one's */
    assert_int_equal(gate_limit(other, NULL), 5);
    assert_true(gate_machine_changed(f->gate));
    gate_check_claims(f->gate);
    assert_int_equal(gate_limit(f->gate, NULL), 5);
    assert_non_null(strstr(log_text, "(license-dir "));
    /* a process that exits takes its keys' seats with it */
    gate_close(other);
    gate_check_claims(f->gate);
    assert_int_equal(gate_limit(f->gate, NULL), 3);
}

static void gate_check_claims__two_pools_one_key__first_counts_then_the_other(void **state)
{
    struct fixture *f = *state;
    char pool[40];
    struct gate *other;
    bool evaluation;

    write_license(f, "THREE", 3, test_now + 365 * DAY);
    snprintf(pool, sizeof(pool), "%s-b", f->cfg.pool);
    open_gate(f);
    other = open_second(f, pool, f->dir);
    assert_int_equal(gate_limit(other, &evaluation), GATE_EVALUATION_SEATS);
    assert_true(evaluation);
    assert_int_equal(log_count("on this machine counts it, so this pool does not"), 1);
    gate_close(f->gate);
    f->gate = NULL;
    gate_check_claims(other);
    assert_int_equal(gate_limit(other, &evaluation), 3);
    assert_false(evaluation);
    gate_close(other);
}

/* The pool segment of a gate, mapped by the test as another writer would. */
static struct pool_header *scribble_pool(struct gate *g)
{
    struct gate_machine_status ms;
    void *base;

    gate_machine_status(g, &ms);
    base = shmat(ms.pool_id, NULL, 0);
    assert_true(base != (void *)-1);
    return base;
}

static void gate_client_connect__shared_counter_zeroed__own_count_refuses(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[3] = {0};
    struct pool_header *hdr;

    write_license(f, "TWO", 2, test_now + 365 * DAY);
    open_gate(f);
    assert_int_equal(gate_client_connect(f->gate, &c[0], "a", "x"), 0);
    assert_int_equal(gate_client_connect(f->gate, &c[1], "b", "x"), 0);
    hdr = scribble_pool(f->gate);
    atomic_store(&hdr->in_use, 0);
    /* the shared counter says 0/2, this process knows it holds 2 */
    assert_true(gate_tls_would_refuse(f->gate, &c[2]));
    assert_int_equal(gate_client_connect(f->gate, &c[2], "c", "x"), -EDQUOT);
    assert_int_equal(log_count("limit reached (2/2 seats)"), 1);
    /* the audit puts the counter right and says so once */
    gate_audit(f->gate);
    assert_int_equal(atomic_load(&hdr->in_use), 2);
    assert_int_equal(log_count("written by something other than licgate"), 1);
    gate_audit(f->gate);
    assert_int_equal(log_count("written by something other than licgate"), 1);
    shmdt(hdr);
}

static void gate_audit__over_the_limit__said_once_until_back(void **state)
{
    struct fixture *f = *state;
    struct gate_client c[3] = {0};
    struct gate_machine_status ms;
    char path[160], err[256];

    write_license(f, "THREE", 3, test_now + 365 * DAY);
    open_gate(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gate_client_connect(f->gate, &c[i], "a", "x"), 0);
    snprintf(path, sizeof(path), "%s/THREE.lic", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(gate_reload(f->gate, NULL, err, sizeof(err)), 0);
    gate_audit(f->gate);
    gate_audit(f->gate);
    assert_int_equal(log_count("over the limit: 3 in use, 2 licensed: new connections are "
                               "refused until 1 leave"),
                     1);
    gate_machine_status(f->gate, &ms);
    assert_int_equal(ms.over, 1);
    gate_client_release(f->gate, &c[0]);
    gate_audit(f->gate);
    assert_int_equal(log_count("back within the limit: 2 in use, 2 licensed"), 1);
}

static void gate_open__new_pool_name_after_clock_set_back__license_stays_expired(void **state)
{
    struct fixture *f = *state;
    char pool[40], dir[96];
    struct gate *other;
    bool evaluation;

    snprintf(dir, sizeof(dir), "%s/later", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    open_gate(f);
    test_now += 10 * DAY;
    gate_clock_tick(f->gate); /* the machine's mark moves on */
    test_now -= 10 * DAY;     /* the clock is set back */
    write_license_in(dir, "FIVE", 5, test_now + 5 * DAY);
    snprintf(pool, sizeof(pool), "%s-new", f->cfg.pool);
    other = open_second(f, pool, dir);
    assert_int_equal(gate_limit(other, &evaluation), GATE_EVALUATION_SEATS);
    assert_true(evaluation);
    gate_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(gate_open__no_license__two_evaluation_seats, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gate_open__stacked_licenses__seats_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(
            gate_client_connect__cluster_license__admits_on_grant_until_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_set_cluster_grant__no_cluster_license__enoent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gate_tls_verify__full_pool__refuses_new_passes_admitted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(gate_client_release__twice__releases_once, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_client_connect__already_admitted__no_second_seat,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(gate_client_connect__license_expires__live_kept_new_follow,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(gate_reload__license_added__limit_raised, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_open__unknown_user__error_nothing_attached, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            gate_open__two_pools_without_license__two_evaluation_seats_in_all, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_check_claims__one_pool_two_license_dirs__union_of_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            gate_check_claims__two_pools_one_key__first_counts_then_the_other, setup, teardown),
        cmocka_unit_test_setup_teardown(
            gate_client_connect__shared_counter_zeroed__own_count_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(gate_audit__over_the_limit__said_once_until_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            gate_open__new_pool_name_after_clock_set_back__license_stays_expired, setup, teardown),
    };

    /* A machine registry of this test's own, when it may make a namespace (root): the
     * machine's evaluation seats are not shared with openvpn servers of other tests. */
    own_ipc_namespace = unshare(CLONE_NEWIPC) == 0;
    if (!own_ipc_namespace)
        fprintf(stderr, "test_gate: no IPC namespace of its own (%s): using the machine's\n",
                strerror(errno));
    return cmocka_run_group_tests(tests, unit_keys_setup, unit_keys_teardown);
}
