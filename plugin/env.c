#include "env.h"

#include <stdio.h>
#include <string.h>

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

/* The address variables, in the order they are preferred. */
enum { TRUSTED_IP, TRUSTED_IP6, UNTRUSTED_IP, UNTRUSTED_IP6, TRUSTED_PORT, UNTRUSTED_PORT, NVARS };
static const char *const address_vars[NVARS] = {
    "trusted_ip", "trusted_ip6", "untrusted_ip", "untrusted_ip6", "trusted_port", "untrusted_port",
};

void env_client_address(const char *const envp[], char *buf, unsigned long len)
{
    const char *val[NVARS] = {0};
    const char *ip = NULL, *port = NULL;

    /* One pass over envp (about 60 entries at CLIENT_CONNECT) for all six. */
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *e = envp[i];

        if (e[0] != 't' && e[0] != 'u')
            continue;
        for (int v = 0; v < NVARS; v++) {
            size_t n = strlen(address_vars[v]);
            if (val[v] == NULL && strncmp(e, address_vars[v], n) == 0 && e[n] == '=') {
                val[v] = e + n + 1;
                break;
            }
        }
    }
    for (int v = TRUSTED_IP; v <= UNTRUSTED_IP6; v++) {
        if (val[v] != NULL && val[v][0] != '\0') {
            ip = val[v];
            port = val[v <= TRUSTED_IP6 ? TRUSTED_PORT : UNTRUSTED_PORT];
            break;
        }
    }
    if (ip == NULL)
        snprintf(buf, len, "?");
    else if (port == NULL || port[0] == '\0')
        snprintf(buf, len, "%s", ip);
    else if (strchr(ip, ':') != NULL)
        snprintf(buf, len, "[%s]:%s", ip, port);
    else
        snprintf(buf, len, "%s:%s", ip, port);
}
