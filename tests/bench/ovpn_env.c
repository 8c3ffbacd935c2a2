#include "ovpn_env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Which hooks a variable appears in (bit per enum ovpn_env_kind). */
#define TLS1 (1u << OVPN_ENV_TLS_VERIFY_1)
#define TLS0 (1u << OVPN_ENV_TLS_VERIFY_0)
#define CC   (1u << OVPN_ENV_CLIENT_CONNECT)
#define CD   (1u << OVPN_ENV_CLIENT_DISCONNECT)
#define ALL  (TLS1 | TLS0 | CC | CD)

/* Per-client values are formatted from these markers. */
enum var_value {
    V_FIXED,
    V_CN,        /* client<N> */
    V_PORT,      /* 30000 + N % 30000 */
    V_POOL_IP,   /* 10.8.x.y */
    V_SERIAL,    /* decimal serial */
    V_TIME_UNIX, /* fixed, but per hook in a real server */
};

struct var {
    const char *name;
    const char *value;
    enum var_value kind;
    unsigned hooks;
};

/* The order is OpenVPN's (newest variable first), as captured on a server
 * with tls-verify, client-connect and client-disconnect scripts. The
 * IV_GUI_VER .. IV_HWADDR group is what a 2.6 client with push-peer-info
 * (every GUI client) adds to its peer info. */
static const struct var vars[] = {
    {"bytes_received", "5260", V_FIXED, CD},
    {"bytes_sent", "5421", V_FIXED, CD},
    {"time_duration", "7", V_FIXED, CD},
    {"client_connect_deferred_file", "/tmp/openvpn_ccr_1ff43a91f3cb7e4d620ba3beeef7f7df.tmp",
     V_FIXED, CC},
    {"client_connect_config_file", "/tmp/openvpn_cc_2e7197dd58f0c8b8558c92c48914bb63.tmp", V_FIXED,
     CC},
    {"script_type", "client-connect", V_FIXED, ALL},
    {"time_unix", "1795915011", V_TIME_UNIX, CC | CD},
    {"time_ascii", "2026-11-29 01:16:51", V_FIXED, CC | CD},
    {"ifconfig_pool_netmask", "255.255.255.0", V_FIXED, CC | CD},
    {"ifconfig_pool_remote_ip", NULL, V_POOL_IP, CC | CD},
    {"trusted_port", NULL, V_PORT, CC | CD},
    {"trusted_ip", "127.0.0.1", V_FIXED, CC | CD},
    {"common_name", NULL, V_CN, CC | CD},
    {"IV_GUI_VER", "OpenVPN_GUI_11.51.0.0", V_FIXED, CC | CD},
    {"IV_PLAT_VER", "10.0.22631", V_FIXED, CC | CD},
    {"IV_SSO", "openurl,webauth,crtext", V_FIXED, CC | CD},
    {"IV_BS64DL", "1", V_FIXED, CC | CD},
    {"IV_SSL", "OpenSSL_3.0.13_30_Jan_2024", V_FIXED, CC | CD},
    {"IV_HWADDR", "00:16:3e:5d:2a:41", V_FIXED, CC | CD},
    {"IV_COMP_STUBv2", "1", V_FIXED, CC | CD},
    {"IV_COMP_STUB", "1", V_FIXED, CC | CD},
    {"IV_LZO_STUB", "1", V_FIXED, CC | CD},
    {"IV_PROTO", "990", V_FIXED, CC | CD},
    {"IV_CIPHERS", "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305", V_FIXED, CC | CD},
    {"IV_NCP", "2", V_FIXED, CC | CD},
    {"IV_MTU", "1600", V_FIXED, CC | CD},
    {"IV_TCPNL", "1", V_FIXED, CC | CD},
    {"IV_PLAT", "linux", V_FIXED, CC | CD},
    {"IV_VER", "2.6.14", V_FIXED, CC | CD},
    {"untrusted_port", NULL, V_PORT, ALL},
    {"untrusted_ip", "127.0.0.1", V_FIXED, ALL},
    {"tls_serial_hex_0", "22:ae:6c:0b:37:27:7b:e4:c7:45:67:65:71:de:01:b9:f5:e0:d3:75", V_FIXED,
     TLS0 | CC | CD},
    {"tls_serial_0", NULL, V_SERIAL, TLS0 | CC | CD},
    {"tls_digest_sha256_0",
     "17:67:a2:ce:63:eb:f3:a3:9b:e6:de:36:09:22:08:41:76:7d:34:ae:11:c0:9f:b6:0e:36:0f:14:70:85:"
     "94:c7",
     V_FIXED, TLS0 | CC | CD},
    {"tls_digest_0", "b9:0c:7f:20:17:13:98:15:b9:26:10:c3:3b:4c:eb:25:e3:a0:5f:8a", V_FIXED,
     TLS0 | CC | CD},
    {"tls_id_0", NULL, V_CN, TLS0 | CC | CD},
    {"X509_0_CN", NULL, V_CN, TLS0 | CC | CD},
    {"tls_serial_hex_1", "7f:6b:91:c2:41:06:5b:af:0d:4c:60:aa:24:f0:cd:f9:94:49:e8:6d", V_FIXED,
     ALL},
    {"tls_serial_1", "727440705013542517227068019674163812507732011117", V_FIXED, ALL},
    {"tls_digest_sha256_1",
     "0b:c8:12:bf:72:c6:bc:0a:51:95:98:33:0f:46:b7:57:f1:49:ae:cf:5d:dd:d3:46:82:b4:21:cc:97:d3:"
     "d9:a9",
     V_FIXED, ALL},
    {"tls_digest_1", "28:27:d0:88:16:9b:21:23:bb:5c:f2:71:bf:87:20:7e:79:6b:48:7d", V_FIXED, ALL},
    {"tls_id_1", "CN=licgate-test-ca", V_FIXED, ALL},
    {"X509_1_CN", "licgate-test-ca", V_FIXED, ALL},
    {"remote_port_1", "1194", V_FIXED, ALL},
    {"local_port_1", "1194", V_FIXED, ALL},
    {"local_1", "127.0.0.1", V_FIXED, ALL},
    {"proto_1", "udp", V_FIXED, ALL},
    {"daemon_pid", "3129", V_FIXED, ALL},
    {"daemon_start_time", "1795915011", V_FIXED, ALL},
    {"daemon_log_redirect", "1", V_FIXED, ALL},
    {"daemon", "0", V_FIXED, ALL},
    {"verb", "4", V_FIXED, ALL},
    {"config", "/etc/openvpn/server/server.conf", V_FIXED, ALL},
    {"ifconfig_local", "10.8.0.1", V_FIXED, ALL},
    {"ifconfig_netmask", "255.255.0.0", V_FIXED, ALL},
    {"script_context", "init", V_FIXED, ALL},
    {"tun_mtu", "1500", V_FIXED, ALL},
    {"dev", "tun0", V_FIXED, ALL},
    {"dev_type", "tun", V_FIXED, ALL},
    {"redirect_gateway", "0", V_FIXED, ALL},
};

static const char *const script_types[OVPN_ENV_KINDS] = {
    "tls-verify",
    "tls-verify",
    "client-connect",
    "client-disconnect",
};

int ovpn_env_build(struct ovpn_env *env, unsigned client)
{
    size_t used = 0;
    char value[96];

    memset(env, 0, sizeof(*env));
    for (unsigned k = 0; k < OVPN_ENV_KINDS; k++) {
        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
            const struct var *v = &vars[i];
            const char *val = v->value;
            int n;

            if ((v->hooks & (1u << k)) == 0)
                continue;
            switch (v->kind) {
            case V_CN:
                snprintf(value, sizeof(value), "%sclient%u",
                         strcmp(v->name, "tls_id_0") == 0 ? "CN=" : "", client);
                val = value;
                break;
            case V_PORT:
                snprintf(value, sizeof(value), "%u", 30000 + client % 30000);
                val = value;
                break;
            case V_POOL_IP:
                snprintf(value, sizeof(value), "10.8.%u.%u", (client / 250) % 250,
                         2 + client % 250);
                val = value;
                break;
            case V_SERIAL:
                snprintf(value, sizeof(value), "1979954278158540906952419951088672%u",
                         100000 + client);
                val = value;
                break;
            case V_TIME_UNIX:
            case V_FIXED:
                break;
            }
            if (strcmp(v->name, "script_type") == 0)
                val = script_types[k];
            if (env->count[k] >= OVPN_ENV_MAX)
                return -ENOBUFS;
            n = snprintf(env->storage + used, sizeof(env->storage) - used, "%s=%s", v->name, val);
            if (n < 0 || (size_t)n >= sizeof(env->storage) - used)
                return -ENOBUFS;
            env->envp[k][env->count[k]++] = env->storage + used;
            used += (size_t)n + 1;
        }
        env->envp[k][env->count[k]] = NULL;
    }
    return 0;
}
