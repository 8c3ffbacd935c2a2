/* The environment OpenVPN 2.6 hands a plugin, as a benchmark or stress host
 * must fake it: the variable names and their order were captured from a real
 * openvpn 2.6.14 server (tests/bench/capture-env.sh), the values are
 * plausible stand-ins, and the per-client ones (names, ports, addresses)
 * vary with the client. */
#ifndef LICGATE_BENCH_OVPN_ENV_H
#define LICGATE_BENCH_OVPN_ENV_H

#include <stddef.h>

/* What each hook sees. TLS_VERIFY at depth 1 lacks the depth-0 certificate
 * variables and common_name; CLIENT_CONNECT adds the pool address, trusted_*
 * and the client's peer info (IV_*). */
enum ovpn_env_kind {
    OVPN_ENV_TLS_VERIFY_1,
    OVPN_ENV_TLS_VERIFY_0,
    OVPN_ENV_CLIENT_CONNECT,
    OVPN_ENV_CLIENT_DISCONNECT,
    OVPN_ENV_KINDS,
};

#define OVPN_ENV_MAX     72
#define OVPN_ENV_STORAGE 16384

/* One client's four environments, NULL-terminated arrays of "name=value". */
struct ovpn_env {
    const char *envp[OVPN_ENV_KINDS][OVPN_ENV_MAX + 1];
    size_t count[OVPN_ENV_KINDS];
    char storage[OVPN_ENV_STORAGE];
};

/* Fills *env for client number `client` (its common name is "client<N>", its
 * source port and pool address derive from N). Returns 0, or -ENOBUFS if the
 * table outgrew the storage (a bug in the table). */
int ovpn_env_build(struct ovpn_env *env, unsigned client);

#endif
