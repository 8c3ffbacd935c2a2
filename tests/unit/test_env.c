#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "env.h"

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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
