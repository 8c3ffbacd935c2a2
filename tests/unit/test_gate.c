/* The gate against a real pool object and real signed licenses, with the
 * clock and the log in the test's hands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "gate.h"
#include "license.h"

#define DAY 86400

static int64_t test_now;
static char log_text[64 * 1024];
static uint8_t issuer_priv[32];
static struct issuer_key issuer;

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

static void write_license(struct fixture *f, const char *name, uint32_t seats,
                          int64_t support_until)
{
    struct license lic;
    char path[128], *doc = NULL;
    size_t len = 0;
    FILE *fp;

    memset(&lic, 0, sizeof(lic));
    snprintf(lic.key_id, sizeof(lic.key_id), "LG-UNIT-%s", name);
    snprintf(lic.customer, sizeof(lic.customer), "Unit");
    lic.seats = seats;
    lic.kind = LICENSE_KIND_STANDARD;
    lic.issued = test_now - DAY;
    lic.support_until = support_until;
    lic.binding_rule = BINDING_NONE;
    assert_int_equal(license_sign(&lic, issuer_priv, &doc, &len), 0);
    snprintf(path, sizeof(path), "%s/%s.lic", f->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(doc, 1, len, fp), len);
    fclose(fp);
    free(doc);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    test_now = 1800000000;
    log_text[0] = '\0';
    snprintf(f->dir, sizeof(f->dir), "/tmp/licgate-gate-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    config_defaults(&f->cfg);
    snprintf(f->cfg.license_dir, sizeof(f->cfg.license_dir), "%s", f->dir);
    snprintf(f->cfg.pool, sizeof(f->cfg.pool), "unit-%ld", (long)getpid());
    snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s/state", f->dir);
    f->cfg.capacity = 16;
    f->env = (struct gate_env){
        .keys = &issuer, .nkeys = 1, .now = test_clock, .log = test_log, .log_arg = NULL};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    gate_close(f->gate);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '/dev/shm/licgate.%s'", f->dir, f->cfg.pool);
    if (system(cmd) != 0)
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

static void gate_open__unknown_user__error_nothing_attached(void **state)
{
    struct fixture *f = *state;
    struct gate *g = NULL;
    char err[256] = "";

    snprintf(f->cfg.user, sizeof(f->cfg.user), "no-such-user-licgate");
    assert_true(gate_open(&f->cfg, &f->env, &g, err, sizeof(err)) < 0);
    assert_null(g);
    assert_non_null(strstr(err, "no such user"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(gate_open__no_license__two_evaluation_seats, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gate_open__stacked_licenses__seats_sum, setup, teardown),
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
    };

    if (crypto_ed25519_keygen(issuer_priv, issuer.pub) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
