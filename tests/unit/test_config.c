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

#include "config.h"

static void config_parse_argv__no_arguments__defaults(void **state)
{
    const char *argv[] = {"/x/plugin.so", NULL};
    struct gate_config cfg;
    char err[256];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.pool, "default");
    assert_int_equal(cfg.capacity, 4096);
    assert_string_equal(cfg.license_dir, LICGATE_SYSCONFDIR "/licgate/licenses");
    assert_string_equal(cfg.user, "");
    assert_int_equal(cfg.cluster_lease, 10);
    assert_int_equal(cfg.cluster_hold, 65); /* openvpn's hand-window and 5 s */
}

/* Each pool has a directory of its own under RUNDIR, which the runtime user
 * can own without owning RUNDIR. */
static void config_control_socket__default__in_the_pools_directory(void **state)
{
    const char *argv[] = {"p.so", "pool=udp-tcp.1", NULL};
    const char *named[] = {"p.so", "control-socket=/srv/ctl.sock", NULL};
    struct gate_config cfg;
    char err[256], path[CONFIG_SOCKET_MAX + 1];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    assert_int_equal(config_control_socket(&cfg, path, sizeof(path)), 0);
    assert_string_equal(path, LICGATE_RUNDIR "/udp-tcp.1/control.sock");
    assert_int_equal(config_parse_argv(named, &cfg, err, sizeof(err)), 0);
    assert_int_equal(config_control_socket(&cfg, path, sizeof(path)), 0);
    assert_string_equal(path, "/srv/ctl.sock");
}

static void config_parse_argv__all_keys__applied(void **state)
{
    const char *argv[] = {"p.so",
                          "license-dir=/tmp/l",
                          "pool=udp-tcp.1",
                          "capacity=100",
                          "user=nobody",
                          "group=nogroup",
                          NULL};
    struct gate_config cfg;
    char err[256];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.license_dir, "/tmp/l");
    assert_string_equal(cfg.pool, "udp-tcp.1");
    assert_int_equal(cfg.capacity, 100);
    assert_string_equal(cfg.user, "nobody");
    assert_string_equal(cfg.group, "nogroup");
}

/* Each bad argument is refused with an error naming it, and cfg stays as it was. */
static void config_parse_argv__bad_argument__error_names_it(void **state)
{
    static const char *const bad[][2] = {
        {"colour=blue", "unknown key 'colour'"},
        {"capacity=0", "capacity"},
        {"capacity=01", "capacity"},
        {"capacity=1000001", "capacity"},
        {"capacity=12x", "capacity"},
        {"capacity=", "capacity"},
        {"pool=a/b", "pool"},
        {"pool=.hidden", "pool"},
        {"pool=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "pool"},
        {"license-dir=relative/dir", "license-dir"},
        {"license-dir=/a\tb", "control characters"},
        {"user=-rf", "user"},
        {"cluster-lease=2", "cluster-lease"},
        {"cluster-hold=0", "cluster-hold"},
        {"cluster-hold=601", "cluster-hold"},
        {"cluster-hold=1m", "cluster-hold"},
        {"noequals", "expected key=value"},
        {"=value", "expected key=value"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"p.so", bad[i][0], NULL};
        struct gate_config cfg;
        char err[256] = "";

        memset(&cfg, 0x5a, sizeof(cfg));
        assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, bad[i][0]));
        assert_non_null(strstr(err, bad[i][1]));
        for (size_t j = 0; j < sizeof(cfg); j++)
            assert_int_equal(((unsigned char *)&cfg)[j], 0x5a);
    }
}

static void config_parse_argv__repeated_key__error(void **state)
{
    const char *argv[] = {"p.so", "pool=a", "pool=b", NULL};
    struct gate_config cfg;
    char err[256];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "more than once"));
}

static void config_parse_argv__config_not_alone__error(void **state)
{
    const char *argv[] = {"p.so", "config=/x", "pool=b", NULL};
    const char *argv2[] = {"p.so", "pool=b", "config=/x", NULL};
    struct gate_config cfg;
    char err[256];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), -EINVAL);
    assert_int_equal(config_parse_argv(argv2, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "only argument"));
}

static void config_parse_argv__config_file__applied(void **state)
{
    char path[] = "/tmp/licgate-config-XXXXXX";
    const char *text = "# licgate\n\nlicense-dir /srv/lic\n  pool\tfront  \ncapacity 64\r\n";
    const char *argv[] = {"p.so", NULL, NULL};
    char arg[64];
    struct gate_config cfg;
    char err[256];
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(arg, sizeof(arg), "config=%s", path);
    argv[1] = arg;
    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    unlink(path);
    assert_string_equal(cfg.license_dir, "/srv/lic");
    assert_string_equal(cfg.pool, "front");
    assert_int_equal(cfg.capacity, 64);
}

static void config_parse_argv__config_file_missing__error_names_file(void **state)
{
    const char *argv[] = {"p.so", "config=/nonexistent/licgate.conf", NULL};
    struct gate_config cfg;
    char err[256];

    assert_true(config_parse_argv(argv, &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "/nonexistent/licgate.conf"));
}

static void config_parse_argv__config_symlink__followed_only_where_no_one_else_writes(void **state)
{
    char dir[] = "/run/licgate-config-XXXXXX", file[96], link[96], tmplink[96], arg[128];
    const char *argv[] = {"p.so", arg, NULL};
    struct gate_config cfg;
    char err[512];
    FILE *f;

    /* a directory only root may write on the way: /run is, /tmp is not */
    if (geteuid() != 0)
        skip();
    assert_non_null(mkdtemp(dir)); /* ours, 0700 */
    snprintf(file, sizeof(file), "%s/licgate.conf", dir);
    snprintf(link, sizeof(link), "%s/link.conf", dir);
    snprintf(tmplink, sizeof(tmplink), "/tmp/licgate-config-link-%ld", (long)getpid());
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("pool linked\n", f);
    fclose(f);
    assert_int_equal(symlink(file, link), 0);
    snprintf(arg, sizeof(arg), "config=%s", link);
    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.pool, "linked");
    /* a link in a directory everyone may write (/tmp) could have been pointed anywhere */
    unlink(tmplink);
    assert_int_equal(symlink(file, tmplink), 0);
    snprintf(arg, sizeof(arg), "config=%s", tmplink);
    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "a symbolic link is followed only when root owns it"));
    assert_non_null(strstr(err, "/tmp is writable by other users"));
    unlink(tmplink);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

static void config_parse_text__bad_line__error_has_line_number(void **state)
{
    static const char *const bad[][2] = {
        {"pool a\nbogus 1\n", "f:2: unknown key 'bogus'"},
        {"pool\n", "f:1: 'pool' has no value"},
        {"capacity 5\ncapacity 6\n", "f:2: capacity: given more than once"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gate_config cfg;
        char err[256];

        config_defaults(&cfg);
        assert_int_equal(
            config_parse_text(bad[i][0], strlen(bad[i][0]), "f", &cfg, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, bad[i][1]);
        assert_string_equal(cfg.pool, "default");
    }
}

static void config_parse_text__nul_and_long_line__error(void **state)
{
    char text[4096];
    struct gate_config cfg;
    char err[256];

    config_defaults(&cfg);
    assert_int_equal(config_parse_text("pool a\0b\n", 9, "f", &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "NUL"));
    memset(text, 'a', sizeof(text));
    assert_int_equal(config_parse_text(text, sizeof(text), "f", &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "longer than"));
}

/* licgatectl's authority: the plugin accepts the key (it parses the same file)
 * and keeps it as given; no default. */
static void config_parse_text__authority__accepted_as_given(void **state)
{
    static const char *const good[] = {
        "https://licensing.example.com",
        "https://licensing.example.com/",
        "https://192.0.2.1:8443",
        "https://[2001:db8::1]:443/licgate/v-2",
        "https://a",
    };
    struct gate_config cfg;
    char text[700], err[256];

    config_defaults(&cfg);
    assert_string_equal(cfg.authority, "");
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        config_defaults(&cfg);
        snprintf(text, sizeof(text), "pool p\nauthority   %s\n", good[i]);
        assert_int_equal(config_parse_text(text, strlen(text), "f", &cfg, err, sizeof(err)), 0);
        assert_string_equal(cfg.authority, good[i]);
        assert_string_equal(cfg.pool, "p");
    }
}

/* Anything licgatectl could not append "/v1/activate" to and reach over
 * https is refused with the key and the value, and cfg stays as it was. */
static void config_set__bad_authority__error_names_it_cfg_unchanged(void **state)
{
    static const char *const bad[] = {
        "http://licensing.example.com",
        "licensing.example.com",
        "https://",
        "https:///v1",
        "https://:443",
        "https://host:",
        "https://host:0",
        "https://host:65536",
        "https://host:123456",
        "https://host:8x",
        "https://user@host",
        "https://host/path?query",
        "https://host/#fragment",
        "https://host name",
        "https://[::1",
        "https://[]",
        "https://[::1]x",
        "HTTPS://host",
    };
    char long_url[CONFIG_AUTHORITY_MAX + 2];
    struct gate_config cfg, before;
    char err[1024];

    for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        const char *value = bad[0];

        if (i < sizeof(bad) / sizeof(bad[0])) {
            value = bad[i];
        } else { /* one byte too long */
            memset(long_url, 'a', sizeof(long_url) - 1);
            memcpy(long_url, "https://", 8);
            long_url[sizeof(long_url) - 1] = '\0';
            value = long_url;
        }
        config_defaults(&cfg);
        before = cfg;
        err[0] = '\0';
        assert_int_equal(config_set(&cfg, "authority", value, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "authority: '"));
        assert_non_null(strstr(err, value));
        assert_non_null(
            strstr(err, "is not an https://HOST[:PORT][/PATH] URL of at most 512 bytes"));
        assert_memory_equal(&cfg, &before, sizeof(cfg));
    }
    /* the longest that fits is fine */
    memset(long_url, 'a', CONFIG_AUTHORITY_MAX);
    memcpy(long_url, "https://", 8);
    long_url[CONFIG_AUTHORITY_MAX] = '\0';
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "authority", long_url, err, sizeof(err)), 0);
    assert_string_equal(cfg.authority, long_url);
    assert_int_equal(config_set(&cfg, "authority", "https://b", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "authority: given more than once");
}

/* The plugin line may carry it too (authority=URL): accepted, not used. */
static void config_parse_argv__authority__accepted(void **state)
{
    const char *argv[] = {"p.so", "authority=https://licensing.example.com:8443", NULL};
    struct gate_config cfg;
    char err[256];

    assert_int_equal(config_parse_argv(argv, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.authority, "https://licensing.example.com:8443");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_parse_argv__no_arguments__defaults),
        cmocka_unit_test(config_parse_argv__all_keys__applied),
        cmocka_unit_test(config_control_socket__default__in_the_pools_directory),
        cmocka_unit_test(config_parse_argv__bad_argument__error_names_it),
        cmocka_unit_test(config_parse_argv__repeated_key__error),
        cmocka_unit_test(config_parse_argv__config_not_alone__error),
        cmocka_unit_test(config_parse_argv__config_file__applied),
        cmocka_unit_test(config_parse_argv__config_file_missing__error_names_file),
        cmocka_unit_test(config_parse_argv__config_symlink__followed_only_where_no_one_else_writes),
        cmocka_unit_test(config_parse_text__bad_line__error_has_line_number),
        cmocka_unit_test(config_parse_text__nul_and_long_line__error),
        cmocka_unit_test(config_parse_text__authority__accepted_as_given),
        cmocka_unit_test(config_set__bad_authority__error_names_it_cfg_unchanged),
        cmocka_unit_test(config_parse_argv__authority__accepted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
