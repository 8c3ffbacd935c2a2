/* The plugin's settings: "key=value" plugin arguments, or one "config=FILE"
 * argument naming a file of "key value" lines. Every value is validated here;
 * an unknown key, a repeated key or a bad value is an error naming it. */
#ifndef LICGATE_CONFIG_H
#define LICGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX     1024
#define CONFIG_POOL_MAX     32
#define CONFIG_NAME_MAX     32
#define CONFIG_CAPACITY_MAX 1000000
#define CONFIG_FILE_MAX     (64 * 1024)
/* authority=: "https://" and at most this many bytes in all */
#define CONFIG_AUTHORITY_MAX 512

#ifndef LICGATE_SYSCONFDIR
#define LICGATE_SYSCONFDIR "/etc"
#endif
#ifndef LICGATE_LOCALSTATEDIR
#define LICGATE_LOCALSTATEDIR "/var"
#endif
#ifndef LICGATE_RUNDIR
#define LICGATE_RUNDIR "/run/licgate"
#endif
/* cluster-etcd: at most this many endpoints, this many bytes in all */
#define CONFIG_ETCD_ENDPOINTS 8
#define CONFIG_ETCD_MAX       1024
#define CONFIG_NODE_MAX       63
/* cluster-lease: the etcd lease's TTL in seconds (docs/cluster.md) */
#define CONFIG_LEASE_DEFAULT 10
#define CONFIG_LEASE_MIN     3
#define CONFIG_LEASE_MAX     600
/* cluster-hold: how long a refused client's seat is kept for it, in seconds: openvpn's UDP
 * client refused at the TLS handshake tries again after its hand-window, 60 s by default */
#define CONFIG_HOLD_DEFAULT 65
#define CONFIG_HOLD_MIN     1
#define CONFIG_HOLD_MAX     600
/* Where licgate-agent tells licgatectl what it sees: CONFIG_AGENT_DIR/<pool>.json, root's. A
 * pool name never starts with '.', so the directory cannot be a pool's. */
#define CONFIG_AGENT_DIR LICGATE_RUNDIR "/.agent"
/* sockaddr_un's sun_path holds 108 bytes with the NUL */
#define CONFIG_SOCKET_MAX 107

struct gate_config {
    char license_dir[CONFIG_PATH_MAX]; /* absolute */
    char pool[CONFIG_POOL_MAX + 1];    /* [A-Za-z0-9_.-], not starting with '.' */
    uint32_t capacity;                 /* session slots when this process creates the pool */
    char user[CONFIG_NAME_MAX + 1];    /* openvpn's --user, "" when it keeps root */
    char group[CONFIG_NAME_MAX + 1];   /* openvpn's --group, "" when none */
    char control_socket[CONFIG_SOCKET_MAX + 1]; /* "" = RUNDIR/<pool>/control.sock */
    bool control_disabled;                      /* control-socket=none */
    char control_group[CONFIG_NAME_MAX + 1];    /* may read status; "" = root only */
    bool reason_to_client;                      /* decide in AUTH_USER_PASS_VERIFY too */
    char state_dir[CONFIG_PATH_MAX];            /* the clock high-water mark lives here */
    char failover_vip[64];                      /* "" = no failover role */
    char authority[CONFIG_AUTHORITY_MAX + 1];   /* licgatectl's; the plugin ignores it */
    /* licgate-agent's (docs/cluster.md); the plugin ignores them */
    char cluster_etcd[CONFIG_ETCD_MAX + 1]; /* "" = no cluster */
    char cluster_ca[CONFIG_PATH_MAX], cluster_cert[CONFIG_PATH_MAX], cluster_key[CONFIG_PATH_MAX];
    char cluster_node[CONFIG_NODE_MAX + 1]; /* "" = the host name */
    uint32_t cluster_lease;                 /* seconds */
    uint32_t cluster_hold;                  /* seconds */
    unsigned set_mask;                      /* which keys were given, to refuse repeats */
};

/* Fills the defaults: license-dir SYSCONFDIR/licgate/licenses, pool "default",
 * capacity 4096, no user or group, the control socket at RUNDIR/<pool>/control.sock
 * readable by root only, no reason to clients, state-dir LOCALSTATEDIR/lib/licgate,
 * no failover address, no authority. */
void config_defaults(struct gate_config *cfg);

/* The cluster keys (licgate-agent's, docs/cluster.md): cluster-etcd is 1..8 comma-separated
 * http://HOST[:PORT] or https://HOST[:PORT] endpoints (not mixed); cluster-ca, cluster-cert and
 * cluster-key absolute paths; cluster-node 1..63 of [A-Za-z0-9_.-]; cluster-lease 3..600;
 * cluster-hold 1..600. */

/* Sets one key. Returns 0, or -EINVAL with a one-line reason in err naming the
 * key and quoting the value; cfg is unchanged on error. "authority" (the
 * activation authority licgatectl asks; the plugin accepts and ignores it)
 * must be https://HOST[:PORT][/PATH] of at most CONFIG_AUTHORITY_MAX bytes:
 * HOST a name or address of [A-Za-z0-9.-] or a bracketed IPv6 address, PORT
 * 1..65535, PATH of [A-Za-z0-9._~%/-]; no user, query or fragment. */
int config_set(struct gate_config *cfg, const char *key, const char *value, char *err,
               size_t errlen);

/* Parses OpenVPN's plugin argv (argv[0] is the plugin path and is skipped).
 * Starts from the defaults. Returns 0, or -errno with a reason in err. */
int config_parse_argv(const char *const argv[], struct gate_config *cfg, char *err, size_t errlen);

/* Parses a config file's text: "key value" lines, '#' comments, blank lines.
 * origin names the file in errors ("FILE:LINE: ..."). Applies on top of cfg. */
int config_parse_text(const char *text, size_t len, const char *origin, struct gate_config *cfg,
                      char *err, size_t errlen);

/* The control socket path in effect: control-socket=, or RUNDIR/<pool>/control.sock.
 * Returns 0, or -ENAMETOOLONG when it does not fit a socket address. */
int config_control_socket(const struct gate_config *cfg, char *buf, size_t len);

/* A pool's default control socket, RUNDIR/<pool>/control.sock: 0, or -ENAMETOOLONG. */
int config_pool_socket(const char *pool, char *buf, size_t len);

/* The rule for a pool name, wherever one is read (pool=, licgatectl --pool, the machine
 * registry): 1..CONFIG_POOL_MAX of [A-Za-z0-9_.-], not starting with '.'. */
bool config_pool_name_valid(const char *name);

#endif
