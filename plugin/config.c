#include "config.h"

#include "errbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

enum config_key {
    KEY_LICENSE_DIR,
    KEY_POOL,
    KEY_CAPACITY,
    KEY_USER,
    KEY_GROUP,
    KEY_CONTROL_SOCKET,
    KEY_CONTROL_GROUP,
    KEY_REASON_TO_CLIENT,
    KEY_STATE_DIR,
    KEY_FAILOVER_VIP,
    KEY_AUTHORITY,
    KEY_CLUSTER_ETCD,
    KEY_CLUSTER_CA,
    KEY_CLUSTER_CERT,
    KEY_CLUSTER_KEY,
    KEY_CLUSTER_NODE,
    KEY_CLUSTER_LEASE,
    KEY_CLUSTER_HOLD,
    KEY_COUNT,
};

static const char *const key_names[KEY_COUNT] = {
    [KEY_LICENSE_DIR] = "license-dir",
    [KEY_POOL] = "pool",
    [KEY_CAPACITY] = "capacity",
    [KEY_USER] = "user",
    [KEY_GROUP] = "group",
    [KEY_CONTROL_SOCKET] = "control-socket",
    [KEY_CONTROL_GROUP] = "control-group",
    [KEY_REASON_TO_CLIENT] = "reason-to-client",
    [KEY_STATE_DIR] = "state-dir",
    [KEY_FAILOVER_VIP] = "failover-vip",
    [KEY_AUTHORITY] = "authority",
    [KEY_CLUSTER_ETCD] = "cluster-etcd",
    [KEY_CLUSTER_CA] = "cluster-ca",
    [KEY_CLUSTER_CERT] = "cluster-cert",
    [KEY_CLUSTER_KEY] = "cluster-key",
    [KEY_CLUSTER_NODE] = "cluster-node",
    [KEY_CLUSTER_LEASE] = "cluster-lease",
    [KEY_CLUSTER_HOLD] = "cluster-hold",
};

void config_defaults(struct gate_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->license_dir, sizeof(cfg->license_dir), "%s/licgate/licenses", LICGATE_SYSCONFDIR);
    snprintf(cfg->pool, sizeof(cfg->pool), "default");
    cfg->capacity = 4096;
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s/lib/licgate", LICGATE_LOCALSTATEDIR);
    cfg->cluster_lease = CONFIG_LEASE_DEFAULT;
    cfg->cluster_hold = CONFIG_HOLD_DEFAULT;
}

static int has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

bool config_pool_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONFIG_POOL_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static int valid_account_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONFIG_NAME_MAX || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || (c == '$' && i == n - 1)))
            return 0;
    }
    return 1;
}

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* HOST[:PORT] at p: a name or address of [A-Za-z0-9.-] or a bracketed IPv6 address, PORT
 * 1..65535. Where it ends, or NULL. */
static const char *skip_host_port(const char *p)
{
    const char *end;
    unsigned long port = 0;

    if (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL || end == p + 1)
            return NULL;
        for (p++; p < end; p++)
            if (!in_set(*p, "0123456789abcdefABCDEF:."))
                return NULL;
        p++;
    } else {
        for (end = p; in_set(*end, ALNUM ".-"); end++)
            ;
        if (end == p)
            return NULL;
        p = end;
    }
    if (*p == ':') {
        for (end = ++p; *end >= '0' && *end <= '9' && end - p < 5; end++)
            port = port * 10 + (unsigned long)(*end - '0');
        if (end == p || port < 1 || port > 65535)
            return NULL;
        p = end;
    }
    return p;
}

/* https://HOST[:PORT][/PATH], as config.h says: licgatectl appends the API's
 * paths ("/v1/activate") to it, so a query or fragment would break them. */
static bool valid_authority(const char *s)
{
    const char *p;

    if (strlen(s) > CONFIG_AUTHORITY_MAX || strncmp(s, "https://", 8) != 0 ||
        (p = skip_host_port(s + 8)) == NULL)
        return false;
    if (*p != '\0' && *p != '/')
        return false;
    for (; *p != '\0'; p++)
        if (!in_set(*p, ALNUM "._~%/-"))
            return false;
    return true;
}

/* cluster-etcd: 1..CONFIG_ETCD_ENDPOINTS of SCHEME://HOST[:PORT], comma-separated, all http or
 * all https. */
static bool valid_endpoints(const char *s)
{
    size_t n = 0, scheme = strncmp(s, "https://", 8) == 0 ? 8 : 7;
    const char *p = s;

    if (strlen(s) > CONFIG_ETCD_MAX || (scheme == 7 && strncmp(s, "http://", 7) != 0))
        return false;
    for (;;) {
        if (strncmp(p, scheme == 8 ? "https://" : "http://", scheme) != 0 ||
            (p = skip_host_port(p + scheme)) == NULL || ++n > CONFIG_ETCD_ENDPOINTS)
            return false;
        if (*p == '\0')
            return true;
        if (*p++ != ',')
            return false;
    }
}

/* Strict decimal: no sign, no leading zeros, no trailing bytes. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;

    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -EINVAL;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -ERANGE;
    }
    if (v < min)
        return -ERANGE;
    *out = (uint32_t)v;
    return 0;
}

static int key_lookup(const char *key)
{
    for (int i = 0; i < KEY_COUNT; i++) {
        if (strcmp(key, key_names[i]) == 0)
            return i;
    }
    return -1;
}

/* One setter per key: the value is checked and stored, or refused with the key's own words. */
typedef int key_setter(struct gate_config *cfg, enum config_key k, const char *key,
                       const char *value, char *err, size_t errlen);

static int set_dir(struct gate_config *cfg, enum config_key k, const char *key, const char *value,
                   char *err, size_t errlen)
{
    char *field = k == KEY_LICENSE_DIR    ? cfg->license_dir
                  : k == KEY_STATE_DIR    ? cfg->state_dir
                  : k == KEY_CLUSTER_CA   ? cfg->cluster_ca
                  : k == KEY_CLUSTER_CERT ? cfg->cluster_cert
                                          : cfg->cluster_key;

    if (value[0] != '/' || strlen(value) >= CONFIG_PATH_MAX)
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not an absolute path shorter than %d bytes", key, value,
                           CONFIG_PATH_MAX);
    snprintf(field, CONFIG_PATH_MAX, "%s", value);
    return 0;
}

static int set_cluster_etcd(struct gate_config *cfg, enum config_key k, const char *key,
                            const char *value, char *err, size_t errlen)
{
    if (!valid_endpoints(value))
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not 1..%d comma-separated http://HOST[:PORT] or "
                           "https://HOST[:PORT] (not mixed) of at most %d bytes",
                           key, value, CONFIG_ETCD_ENDPOINTS, CONFIG_ETCD_MAX);
    snprintf(cfg->cluster_etcd, sizeof(cfg->cluster_etcd), "%s", value);
    return 0;
}

static int set_cluster_node(struct gate_config *cfg, enum config_key k, const char *key,
                            const char *value, char *err, size_t errlen)
{
    size_t n = strlen(value);

    if (n == 0 || n > CONFIG_NODE_MAX || strspn(value, ALNUM "_.-") != n || value[0] == '.')
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not 1..%d of [A-Za-z0-9_.-] (no leading '.')", key, value,
                           CONFIG_NODE_MAX);
    memcpy(cfg->cluster_node, value, n + 1);
    return 0;
}

/* cluster-lease and cluster-hold: seconds within their key's range. */
static int set_seconds(struct gate_config *cfg, enum config_key k, const char *key,
                       const char *value, char *err, size_t errlen)
{
    bool lease = k == KEY_CLUSTER_LEASE;
    uint32_t min = lease ? CONFIG_LEASE_MIN : CONFIG_HOLD_MIN;
    uint32_t max = lease ? CONFIG_LEASE_MAX : CONFIG_HOLD_MAX;

    if (parse_u32(value, min, max, lease ? &cfg->cluster_lease : &cfg->cluster_hold) != 0)
        return errbuf_fail(err, errlen, -EINVAL, "%s: '%s' is not a number of seconds in %u..%u",
                           key, value, min, max);
    return 0;
}

static int set_failover_vip(struct gate_config *cfg, enum config_key k, const char *key,
                            const char *value, char *err, size_t errlen)
{
    unsigned char addr[16];

    if (strlen(value) >= sizeof(cfg->failover_vip) ||
        (inet_pton(AF_INET, value, addr) != 1 && inet_pton(AF_INET6, value, addr) != 1))
        return errbuf_fail(err, errlen, -EINVAL, "%s: '%s' is not an IPv4 or IPv6 address", key,
                           value);
    snprintf(cfg->failover_vip, sizeof(cfg->failover_vip), "%s", value);
    return 0;
}

static int set_authority(struct gate_config *cfg, enum config_key k, const char *key,
                         const char *value, char *err, size_t errlen)
{
    if (!valid_authority(value))
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not an https://HOST[:PORT][/PATH] URL of at most %d bytes",
                           key, value, CONFIG_AUTHORITY_MAX);
    snprintf(cfg->authority, sizeof(cfg->authority), "%s", value);
    return 0;
}

static int set_pool(struct gate_config *cfg, enum config_key k, const char *key, const char *value,
                    char *err, size_t errlen)
{
    if (!config_pool_name_valid(value))
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not 1..%d of [A-Za-z0-9_.-] (no leading '.')", key, value,
                           CONFIG_POOL_MAX);
    snprintf(cfg->pool, sizeof(cfg->pool), "%s", value);
    return 0;
}

static int set_capacity(struct gate_config *cfg, enum config_key k, const char *key,
                        const char *value, char *err, size_t errlen)
{
    if (parse_u32(value, 1, CONFIG_CAPACITY_MAX, &cfg->capacity) != 0)
        return errbuf_fail(err, errlen, -EINVAL, "%s: '%s' is not a number in 1..%d", key, value,
                           CONFIG_CAPACITY_MAX);
    return 0;
}

static int set_account(struct gate_config *cfg, enum config_key k, const char *key,
                       const char *value, char *err, size_t errlen)
{
    char *field = k == KEY_USER ? cfg->user : k == KEY_GROUP ? cfg->group : cfg->control_group;

    if (!valid_account_name(value))
        return errbuf_fail(err, errlen, -EINVAL, "%s: '%s' is not a valid %s name", key, value,
                           k == KEY_CONTROL_GROUP ? "group" : "account");
    size_t n = strnlen(value, CONFIG_NAME_MAX); /* valid_account_name bounds it */

    memcpy(field, value, n);
    field[n] = '\0';
    return 0;
}

static int set_control_socket(struct gate_config *cfg, enum config_key k, const char *key,
                              const char *value, char *err, size_t errlen)
{
    if (strcmp(value, "none") == 0) {
        cfg->control_disabled = true;
        return 0;
    }
    if (value[0] != '/' || strlen(value) > CONFIG_SOCKET_MAX || strcmp(value, "/") == 0 ||
        value[strlen(value) - 1] == '/')
        return errbuf_fail(err, errlen, -EINVAL,
                           "%s: '%s' is not 'none' or an absolute file path of at most %d bytes",
                           key, value, CONFIG_SOCKET_MAX);
    snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s", value);
    return 0;
}

static int set_reason_to_client(struct gate_config *cfg, enum config_key k, const char *key,
                                const char *value, char *err, size_t errlen)
{
    if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
        return errbuf_fail(err, errlen, -EINVAL, "%s: '%s' is not yes or no", key, value);
    cfg->reason_to_client = strcmp(value, "yes") == 0;
    return 0;
}

static key_setter *const setters[KEY_COUNT] = {
    [KEY_LICENSE_DIR] = set_dir,
    [KEY_STATE_DIR] = set_dir,
    [KEY_FAILOVER_VIP] = set_failover_vip,
    [KEY_AUTHORITY] = set_authority,
    [KEY_POOL] = set_pool,
    [KEY_CAPACITY] = set_capacity,
    [KEY_USER] = set_account,
    [KEY_GROUP] = set_account,
    [KEY_CONTROL_GROUP] = set_account,
    [KEY_CONTROL_SOCKET] = set_control_socket,
    [KEY_REASON_TO_CLIENT] = set_reason_to_client,
    [KEY_CLUSTER_ETCD] = set_cluster_etcd,
    [KEY_CLUSTER_CA] = set_dir,
    [KEY_CLUSTER_CERT] = set_dir,
    [KEY_CLUSTER_KEY] = set_dir,
    [KEY_CLUSTER_NODE] = set_cluster_node,
    [KEY_CLUSTER_LEASE] = set_seconds,
    [KEY_CLUSTER_HOLD] = set_seconds,
};

int config_set(struct gate_config *cfg, const char *key, const char *value, char *err,
               size_t errlen)
{
    int k = key_lookup(key), r;

    if (k < 0)
        return errbuf_fail(err, errlen, -EINVAL, "unknown key '%s'", key);
    if (cfg->set_mask & (1u << k))
        return errbuf_fail(err, errlen, -EINVAL, "%s: given more than once", key);
    if (has_control(value))
        return errbuf_fail(err, errlen, -EINVAL, "%s: value contains control characters", key);
    r = setters[k](cfg, (enum config_key)k, key, value, err, errlen);
    if (r == 0)
        cfg->set_mask |= 1u << k;
    return r;
}

/* Splits "key=value" in place into buffers; -EINVAL without '='. */
static int split_assignment(const char *arg, char *key, size_t keylen, const char **value)
{
    const char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= keylen)
        return -EINVAL;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    *value = eq + 1;
    return 0;
}

static int config_load_file(const char *path, struct gate_config *cfg, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int r;

    char why[512] = "";

    r = fs_read_config(path, CONFIG_FILE_MAX, &text, &len, why, sizeof(why));
    if (r < 0) {
        if (why[0] != '\0')
            errbuf_set(err, errlen, "config=%s", why);
        else if (r == -EFBIG)
            errbuf_set(err, errlen, "config=%s: larger than %d bytes", path, CONFIG_FILE_MAX);
        else
            errbuf_set(err, errlen, "config=%s: %s", path, strerror(-r));
        return r;
    }
    r = config_parse_text(text, len, path, cfg, err, errlen);
    free(text);
    return r;
}

int config_parse_argv(const char *const argv[], struct gate_config *cfg, char *err, size_t errlen)
{
    struct gate_config next;
    char key[64], reason[512];
    const char *value;
    int r;

    config_defaults(&next);
    if (argv == NULL || argv[0] == NULL)
        goto done;
    if (argv[1] != NULL && strncmp(argv[1], "config=", 7) == 0) {
        if (argv[2] != NULL) {
            errbuf_set(err, errlen, "plugin argument '%s': config= must be the only argument",
                       argv[2]);
            return -EINVAL;
        }
        r = config_load_file(argv[1] + 7, &next, err, errlen);
        if (r < 0)
            return r;
        goto done;
    }
    for (size_t i = 1; argv[i] != NULL; i++) {
        if (split_assignment(argv[i], key, sizeof(key), &value) != 0) {
            errbuf_set(err, errlen, "plugin argument '%s': expected key=value", argv[i]);
            return -EINVAL;
        }
        if (strcmp(key, "config") == 0) {
            errbuf_set(err, errlen, "plugin argument '%s': config= must be the only argument",
                       argv[i]);
            return -EINVAL;
        }
        r = config_set(&next, key, value, reason, sizeof(reason));
        if (r < 0) {
            errbuf_set(err, errlen, "plugin argument '%s': %s", argv[i], reason);
            return r;
        }
    }
done:
    *cfg = next;
    return 0;
}

int config_parse_text(const char *text, size_t len, const char *origin, struct gate_config *cfg,
                      char *err, size_t errlen)
{
    struct gate_config next = *cfg;
    char line[CONFIG_PATH_MAX + 128], reason[512];
    size_t used = 0, lineno = 0;
    int r;

    while (len - used > 0) {
        const char *start = text + used, *nl = memchr(start, '\n', len - used);
        size_t n = nl != NULL ? (size_t)(nl - start) : len - used;
        char *key, *value, *end;

        lineno++;
        used += n + (nl != NULL ? 1 : 0);
        if (n >= sizeof(line)) {
            errbuf_set(err, errlen, "%s:%zu: line longer than %zu bytes", origin, lineno,
                       sizeof(line) - 1);
            return -EINVAL;
        }
        if (memchr(start, '\0', n) != NULL) {
            errbuf_set(err, errlen, "%s:%zu: NUL byte in line", origin, lineno);
            return -EINVAL;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        for (end = line + n; end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');)
            *--end = '\0';
        for (key = line; *key == ' ' || *key == '\t';)
            key++;
        if (*key == '\0' || *key == '#')
            continue;
        value = key + strcspn(key, " \t");
        if (*value == '\0') {
            errbuf_set(err, errlen, "%s:%zu: '%s' has no value", origin, lineno, key);
            return -EINVAL;
        }
        *value++ = '\0';
        while (*value == ' ' || *value == '\t')
            value++;
        r = config_set(&next, key, value, reason, sizeof(reason));
        if (r < 0) {
            errbuf_set(err, errlen, "%s:%zu: %s", origin, lineno, reason);
            return r;
        }
    }
    *cfg = next;
    return 0;
}

int config_pool_socket(const char *pool, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s/control.sock", LICGATE_RUNDIR, pool);

    if (n < 0 || (size_t)n >= len || n > CONFIG_SOCKET_MAX)
        return -ENAMETOOLONG;
    return 0;
}

int config_control_socket(const struct gate_config *cfg, char *buf, size_t len)
{
    int n;

    if (cfg->control_socket[0] == '\0')
        return config_pool_socket(cfg->pool, buf, len);
    n = snprintf(buf, len, "%s", cfg->control_socket);
    if (n < 0 || (size_t)n >= len || n > CONFIG_SOCKET_MAX)
        return -ENAMETOOLONG;
    return 0;
}
