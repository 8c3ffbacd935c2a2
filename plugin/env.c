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
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    }
    return NULL;
}

void env_client_address(const char *const envp[], char *buf, unsigned long len)
{
    static const char *const names[][2] = {
        {"trusted_ip", "trusted_port"},
        {"trusted_ip6", "trusted_port"},
        {"untrusted_ip", "untrusted_port"},
        {"untrusted_ip6", "untrusted_port"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *ip = env_get(envp, names[i][0]);
        const char *port = env_get(envp, names[i][1]);

        if (ip == NULL || ip[0] == '\0')
            continue;
        if (port == NULL || port[0] == '\0')
            snprintf(buf, len, "%s", ip);
        else if (strchr(ip, ':') != NULL)
            snprintf(buf, len, "[%s]:%s", ip, port);
        else
            snprintf(buf, len, "%s:%s", ip, port);
        return;
    }
    snprintf(buf, len, "?");
}
