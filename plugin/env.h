/* The environment OpenVPN hands to a plugin hook: a NULL-terminated array of
 * "name=value" strings, about 60 of them at CLIENT_CONNECT. */
#ifndef LICGATE_ENV_H
#define LICGATE_ENV_H

#include <stddef.h>

/* Returns the value of name in envp, or NULL when envp is NULL, name is empty
 * or absent. The first match wins; "name" alone (no '=') never matches. The
 * result points into envp. */
const char *env_get(const char *const envp[], const char *name);

/* What the hooks read of a client, each the value of its first entry (NULL when
 * absent), pointing into envp. */
struct env_client {
    const char *common_name;
    const char *x509_cn; /* X509_0_CN: the certificate's CN at TLS_VERIFY */
    const char *username;
    const char *reason_file; /* auth_failed_reason_file */
    const char *trusted_ip, *trusted_ip6, *trusted_port;
    const char *untrusted_ip, *untrusted_ip6, *untrusted_port;
};

enum env_scan_mode {
    ENV_SCAN_ALL,
    /* Stop once common_name, a non-empty trusted_ip and trusted_port are found: all that
     * CLIENT_CONNECT reads, the same values as a whole scan (the first of each name, and
     * trusted_ip comes first in env_format_address). OpenVPN lists them among the first
     * dozen of about 60 entries. */
    ENV_SCAN_CONNECT,
};

/* Fills *c in one pass over envp, dispatching on each entry's first byte: an
 * entry no hook reads costs a byte compare or two. envp may be NULL. */
void env_scan(const char *const envp[], enum env_scan_mode mode, struct env_client *c);

/* Formats the client's real address for logs and the session table:
 * "ip:port" from trusted_ip/trusted_port (CLIENT_CONNECT) or
 * untrusted_ip/untrusted_port (TLS_VERIFY), IPv6 in brackets, the first
 * non-empty of trusted_ip, trusted_ip6, untrusted_ip, untrusted_ip6. Writes
 * "?" when unknown. Always NUL-terminates buf (len > 0). */
void env_format_address(const struct env_client *c, char *buf, size_t len);

/* env_scan (ENV_SCAN_ALL) and env_format_address. */
void env_client_address(const char *const envp[], char *buf, size_t len);

#endif
