/* The environment OpenVPN hands to a plugin hook: a NULL-terminated array of
 * "name=value" strings. */
#ifndef LICGATE_ENV_H
#define LICGATE_ENV_H

/* Returns the value of name in envp, or NULL when envp is NULL, name is empty
 * or absent. The first match wins; "name" alone (no '=') never matches. The
 * result points into envp. */
const char *env_get(const char *const envp[], const char *name);

/* Formats the client's real address for logs and the session table:
 * "ip:port" from trusted_ip/trusted_port (CLIENT_CONNECT) or
 * untrusted_ip/untrusted_port (TLS_VERIFY), IPv6 in brackets. Writes "?" when
 * unknown. Always NUL-terminates buf (len > 0). */
void env_client_address(const char *const envp[], char *buf, unsigned long len);

#endif
