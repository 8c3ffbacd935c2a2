#include "env.h"

#include <stdbool.h>
#include <string.h>

#include "line.h"

const char *env_get(const char *const envp[], const char *name)
{
    size_t n;

    if (envp == NULL || name == NULL || name[0] == '\0')
        return NULL;
    n = strlen(name);
    for (size_t i = 0; envp[i] != NULL; i++) {
        /* the first byte rules out almost every entry before strncmp runs */
        if (envp[i][0] == name[0] && strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    }
    return NULL;
}

/* e past `prefix`, or NULL when e does not start with it. Stops at the first
 * difference, so at e's NUL: never reads past the entry. */
static const char *skip(const char *e, const char *prefix)
{
    for (; *prefix != '\0'; e++, prefix++) {
        if (*e != *prefix)
            return NULL;
    }
    return e;
}

/* *value = what follows "rest=" in e, unless an earlier entry set it. */
static void take(const char **value, const char *e, const char *rest)
{
    if (*value == NULL && (e = skip(e, rest)) != NULL && *e == '=')
        *value = e + 1;
}

/* After "trusted_" or "untrusted_": "ip=", "ip6=" or "port=". */
static void take_address(const char **ip, const char **ip6, const char **port, const char *e)
{
    if (e[0] == 'i' && e[1] == 'p') {
        if (e[2] == '=' && *ip == NULL)
            *ip = e + 3;
        else if (e[2] == '6' && e[3] == '=' && *ip6 == NULL)
            *ip6 = e + 4;
    } else {
        take(port, e, "port");
    }
}

static bool connect_found(const struct env_client *c)
{
    return c->common_name != NULL && c->trusted_port != NULL && c->trusted_ip != NULL &&
           c->trusted_ip[0] != '\0';
}

void env_scan(const char *const envp[], enum env_scan_mode mode, struct env_client *c)
{
    const char *e, *rest;

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; envp != NULL && (e = envp[i]) != NULL; i++) {
        switch (e[0]) {
        case 'c':
            take(&c->common_name, e + 1, "ommon_name");
            if (mode == ENV_SCAN_CONNECT && connect_found(c))
                return;
            break;
        case 'X':
            take(&c->x509_cn, e + 1, "509_0_CN");
            break;
        case 'a':
            take(&c->reason_file, e + 1, "uth_failed_reason_file");
            break;
        case 't':
            if ((rest = skip(e + 1, "rusted_")) == NULL)
                break;
            take_address(&c->trusted_ip, &c->trusted_ip6, &c->trusted_port, rest);
            if (mode == ENV_SCAN_CONNECT && connect_found(c))
                return;
            break;
        case 'u':
            if ((rest = skip(e + 1, "ntrusted_")) != NULL)
                take_address(&c->untrusted_ip, &c->untrusted_ip6, &c->untrusted_port, rest);
            else
                take(&c->username, e + 1, "sername");
            break;
        default:
            break;
        }
    }
}

void env_format_address(const struct env_client *c, char *buf, size_t len)
{
    const char *ips[] = {c->trusted_ip, c->trusted_ip6, c->untrusted_ip, c->untrusted_ip6};
    const char *ip = NULL, *port = NULL;
    struct line l;

    for (size_t v = 0; v < sizeof(ips) / sizeof(ips[0]); v++) {
        if (ips[v] != NULL && ips[v][0] != '\0') {
            ip = ips[v];
            port = v < 2 ? c->trusted_port : c->untrusted_port;
            break;
        }
    }
    line_init(&l, buf, len);
    if (ip == NULL) {
        line_str(&l, "?");
    } else if (port == NULL || port[0] == '\0') {
        line_str(&l, ip);
    } else if (strchr(ip, ':') != NULL) {
        line_char(&l, '[');
        line_str(&l, ip);
        line_str(&l, "]:");
        line_str(&l, port);
    } else {
        line_str(&l, ip);
        line_char(&l, ':');
        line_str(&l, port);
    }
}

void env_client_address(const char *const envp[], char *buf, size_t len)
{
    struct env_client c;

    env_scan(envp, ENV_SCAN_ALL, &c);
    env_format_address(&c, buf, len);
}
