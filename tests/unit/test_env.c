#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "env.h"
#include "line.h"

static void env_get__present__returns_value(void **state)
{
    const char *envp[] = {"common_name=alice", "trusted_ip=10.0.0.1", NULL};

    assert_string_equal(env_get(envp, "common_name"), "alice");
    assert_string_equal(env_get(envp, "trusted_ip"), "10.0.0.1");
}

static void env_get__prefix_of_longer_name__not_matched(void **state)
{
    const char *envp[] = {"common_name_x=bob", "common=carol", NULL};

    assert_null(env_get(envp, "common_name"));
}

static void env_get__entry_without_equals__not_matched(void **state)
{
    const char *envp[] = {"common_name", "common_name=dave", NULL};

    assert_string_equal(env_get(envp, "common_name"), "dave");
}

static void env_get__null_or_empty__returns_null(void **state)
{
    const char *envp[] = {"=x", NULL};

    assert_null(env_get(NULL, "a"));
    assert_null(env_get(envp, ""));
    assert_null(env_get(envp, NULL));
}

static void env_get__empty_value__returns_empty(void **state)
{
    const char *envp[] = {"a=", NULL};

    assert_string_equal(env_get(envp, "a"), "");
}

static void env_client_address__trusted_ipv4__ip_colon_port(void **state)
{
    const char *envp[] = {"untrusted_ip=1.1.1.1", "trusted_ip=127.0.0.1", "trusted_port=51820",
                          NULL};
    char buf[64];

    env_client_address(envp, buf, sizeof(buf));
    assert_string_equal(buf, "127.0.0.1:51820");
}

static void env_client_address__untrusted_ipv6__bracketed(void **state)
{
    const char *envp[] = {"untrusted_ip6=::1", "untrusted_port=1194", NULL};
    char buf[64];

    env_client_address(envp, buf, sizeof(buf));
    assert_string_equal(buf, "[::1]:1194");
}

static void env_client_address__nothing__question_mark(void **state)
{
    const char *envp[] = {"common_name=x", NULL};
    char buf[64];

    env_client_address(envp, buf, sizeof(buf));
    assert_string_equal(buf, "?");
}

static void env_client_address__small_buffer__truncated_terminated(void **state)
{
    const char *envp[] = {"trusted_ip=192.168.100.200", "trusted_port=65535", NULL};
    char buf[8];

    env_client_address(envp, buf, sizeof(buf));
    assert_int_equal(strlen(buf), 7);
}

/* OpenVPN's CLIENT_CONNECT environment, shortened: what the hooks read among what they
 * do not. */
static void env_scan__connect_environment__every_variable_found(void **state)
{
    const char *envp[] = {"time_unix=1795915011",
                          "trusted_port=40001",
                          "trusted_ip=10.1.2.3",
                          "common_name=alice",
                          "IV_VER=2.6.14",
                          "untrusted_port=40001",
                          "untrusted_ip=10.1.2.3",
                          "tls_id_0=alice",
                          "X509_0_CN=alice-cert",
                          "username=al",
                          "auth_failed_reason_file=/tmp/r",
                          NULL};
    struct env_client c;
    char buf[64];

    env_scan(envp, ENV_SCAN_ALL, &c);
    assert_string_equal(c.common_name, "alice");
    assert_string_equal(c.x509_cn, "alice-cert");
    assert_string_equal(c.username, "al");
    assert_string_equal(c.reason_file, "/tmp/r");
    assert_string_equal(c.trusted_ip, "10.1.2.3");
    assert_string_equal(c.trusted_port, "40001");
    assert_string_equal(c.untrusted_ip, "10.1.2.3");
    assert_string_equal(c.untrusted_port, "40001");
    assert_null(c.trusted_ip6);
    assert_null(c.untrusted_ip6);
    env_format_address(&c, buf, sizeof(buf));
    assert_string_equal(buf, "10.1.2.3:40001");
}

/* Names that share a prefix, lack '=', or stop short are not the variable; the first entry of
 * a name wins, as env_get has it. */
static void env_scan__near_names__not_matched_first_wins(void **state)
{
    const char *envp[] = {"common_name_x=bob",
                          "common_nam",
                          "common_name",
                          "c",
                          "",
                          "trusted_ipx=1.1.1.1",
                          "trusted_ip6x=::2",
                          "trusted_",
                          "untrusted",
                          "usernames=x",
                          "X509_0_CNx=y",
                          "common_name=carol",
                          "common_name=dave",
                          "trusted_ip6=fe80::1",
                          "trusted_port=1",
                          "trusted_port=2",
                          NULL};
    struct env_client c;

    env_scan(envp, ENV_SCAN_ALL, &c);
    assert_string_equal(c.common_name, "carol");
    assert_null(c.trusted_ip);
    assert_string_equal(c.trusted_ip6, "fe80::1");
    assert_string_equal(c.trusted_port, "1");
    assert_null(c.username);
    assert_null(c.x509_cn);
    assert_null(c.untrusted_ip);
    env_scan(NULL, ENV_SCAN_ALL, &c);
    assert_null(c.common_name);
}

/* Every answer of env_scan agrees with env_get on the same environment. */
static void env_scan__agrees_with_env_get(void **state)
{
    const char *envp[] = {"untrusted_ip6=::1", "username=",    "trusted_ip=",       "X509_0_CN=x",
                          "untrusted_port=9",  "common_name=", "untrusted_ip6=::2", NULL};
    struct env_client c;

    env_scan(envp, ENV_SCAN_ALL, &c);
    assert_ptr_equal(c.untrusted_ip6, env_get(envp, "untrusted_ip6"));
    assert_ptr_equal(c.username, env_get(envp, "username"));
    assert_ptr_equal(c.trusted_ip, env_get(envp, "trusted_ip"));
    assert_ptr_equal(c.x509_cn, env_get(envp, "X509_0_CN"));
    assert_ptr_equal(c.untrusted_port, env_get(envp, "untrusted_port"));
    assert_ptr_equal(c.common_name, env_get(envp, "common_name"));
}

/* CLIENT_CONNECT's scan stops at the last variable it reads, with the values and address a
 * whole scan gives: IPv4, IPv6 (trusted_ip absent or empty), duplicates, nothing. */
static void env_scan__connect_mode__same_answer_as_a_whole_scan(void **state)
{
    const char *v4[] = {"trusted_port=1", "trusted_ip=10.0.0.1", "common_name=a",
                        "username=u",     "trusted_ip=10.9.9.9", NULL};
    const char *v6[] = {"trusted_port=2", "trusted_ip6=2001:db8::1", "common_name=b", "username=u",
                        NULL};
    const char *empty[] = {"trusted_ip=",   "trusted_port=3",
                           "common_name=c", "trusted_ip6=2001:db8::2",
                           "username=u",    NULL};
    const char *none[] = {"IV_VER=2.6", "untrusted_ip=192.0.2.7", "untrusted_port=4", NULL};
    const char *const *envs[] = {v4, v6, empty, none};
    struct env_client all, connect;
    char a[64], b[64];

    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        env_scan(envs[i], ENV_SCAN_ALL, &all);
        env_scan(envs[i], ENV_SCAN_CONNECT, &connect);
        env_format_address(&all, a, sizeof(a));
        env_format_address(&connect, b, sizeof(b));
        assert_string_equal(a, b);
        assert_ptr_equal(all.common_name, connect.common_name);
    }
    env_scan(v4, ENV_SCAN_CONNECT, &connect);
    assert_null(connect.username); /* stopped before it */
    assert_string_equal(connect.trusted_ip, "10.0.0.1");
    env_scan(v6, ENV_SCAN_CONNECT, &connect);
    assert_non_null(connect.username); /* no trusted_ip: read to the end */
}

static void line__numbers_and_text__as_printf_would(void **state)
{
    uint32_t values[] = {0, 7, 10, 99, 1000, 4294967295u};
    char buf[64], want[64];
    struct line l;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        line_init(&l, buf, sizeof(buf));
        line_str(&l, "n=");
        line_u32(&l, values[i]);
        line_char(&l, ';');
        snprintf(want, sizeof(want), "n=%u;", values[i]);
        assert_string_equal(buf, want);
        assert_int_equal(l.len, strlen(want));
    }
}

static void line__full__cut_and_terminated(void **state)
{
    char buf[8];
    struct line l;

    line_init(&l, buf, sizeof(buf));
    line_str(&l, "abcde");
    line_u32(&l, 12345);
    line_char(&l, 'x');
    line_str(&l, "more");
    assert_string_equal(buf, "abcde12");
    assert_int_equal(l.len, 7);
    line_init(&l, buf, 1);
    line_str(&l, "a");
    line_char(&l, 'b');
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_get__present__returns_value),
        cmocka_unit_test(env_get__prefix_of_longer_name__not_matched),
        cmocka_unit_test(env_get__entry_without_equals__not_matched),
        cmocka_unit_test(env_get__null_or_empty__returns_null),
        cmocka_unit_test(env_get__empty_value__returns_empty),
        cmocka_unit_test(env_client_address__trusted_ipv4__ip_colon_port),
        cmocka_unit_test(env_client_address__untrusted_ipv6__bracketed),
        cmocka_unit_test(env_client_address__nothing__question_mark),
        cmocka_unit_test(env_client_address__small_buffer__truncated_terminated),
        cmocka_unit_test(env_scan__connect_environment__every_variable_found),
        cmocka_unit_test(env_scan__near_names__not_matched_first_wins),
        cmocka_unit_test(env_scan__agrees_with_env_get),
        cmocka_unit_test(env_scan__connect_mode__same_answer_as_a_whole_scan),
        cmocka_unit_test(line__numbers_and_text__as_printf_would),
        cmocka_unit_test(line__full__cut_and_terminated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
