/* OpenVPN's entry points: turn the plugin ABI into typed calls on the gate.
 * Everything with a decision in it lives in gate.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openvpn-plugin.h>

#include "clock.h"
#include "config.h"
#include "control_server.h"
#include "env.h"
#include "fs.h"
#include "gate.h"
#include "issuer_keys.h"
#include "maintenance.h"

#define PLUGIN_NAME "licgate"

struct plugin_handle {
    struct gate *gate;
    struct maintenance *maintenance;
    struct control_server *server; /* NULL with control-socket=none */
    plugin_log_t log;
    bool reason_to_client;
};

static void plugin_log_line(void *arg, enum gate_log_level level, const char *msg)
{
    const struct plugin_handle *h = arg;
    openvpn_plugin_log_flags_t flags;

    switch (level) {
    case GATE_LOG_ERR:
        flags = PLOG_ERR | PLOG_NOMUTE;
        break;
    case GATE_LOG_WARN:
        flags = PLOG_WARN | PLOG_NOMUTE;
        break;
    case GATE_LOG_NOTE:
        flags = PLOG_NOTE;
        break;
    default:
        flags = PLOG_DEBUG;
        break;
    }
    h->log(flags, PLUGIN_NAME, "%s", msg);
}

/* reason-to-client mode: admit at AUTH_USER_PASS_VERIFY, where a refusal can
 * carry a reason (auth_failed_reason_file, OpenVPN 2.6) that the client logs
 * before it backs off and retries. */
static int plugin_auth(struct plugin_handle *h, struct gate_client *client, const char *const *envp)
{
    struct env_client ec;
    const char *cn;
    char addr[96], reason[256];

    env_scan(envp, ENV_SCAN_ALL, &ec);
    cn = ec.common_name != NULL && ec.common_name[0] != '\0' ? ec.common_name : ec.username;
    env_format_address(&ec, addr, sizeof(addr));
    if (gate_client_auth(h->gate, client, cn != NULL ? cn : "?", addr, reason, sizeof(reason)) == 0)
        return OPENVPN_PLUGIN_FUNC_SUCCESS;
    if (ec.reason_file != NULL) /* best effort: the refusal stands */
        fs_write_file(ec.reason_file, reason, strlen(reason));
    return OPENVPN_PLUGIN_FUNC_ERROR;
}

OPENVPN_EXPORT int openvpn_plugin_min_version_required_v1(void)
{
    return 3;
}

OPENVPN_EXPORT int openvpn_plugin_open_v3(const int v3structver,
                                          struct openvpn_plugin_args_open_in const *args,
                                          struct openvpn_plugin_args_open_return *ret)
{
    struct plugin_handle *h;
    struct gate_config cfg;
    struct gate_env env;
    char err[1024];

    if (v3structver < OPENVPN_PLUGINv3_STRUCTVER)
        return OPENVPN_PLUGIN_FUNC_ERROR;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return OPENVPN_PLUGIN_FUNC_ERROR;
    h->log = args->callbacks->plugin_log;
    if (config_parse_argv(args->argv, &cfg, err, sizeof(err)) < 0) {
        h->log(PLOG_ERR | PLOG_NOMUTE, PLUGIN_NAME, "fatal: %s", err);
        goto fail;
    }
    env = (struct gate_env){
        .keys = licgate_issuer_keys,
        .nkeys = licgate_issuer_keys_count,
        .development_keys = licgate_issuer_development,
        .now = clock_wall_coarse,
        .log = plugin_log_line,
        .log_arg = h,
    };
    if (gate_open(&cfg, &env, &h->gate, err, sizeof(err)) < 0) {
        h->log(PLOG_ERR | PLOG_NOMUTE, PLUGIN_NAME, "fatal: %s", err);
        goto fail;
    }
    if (maintenance_start(h->gate, &h->maintenance, err, sizeof(err)) < 0) {
        h->log(PLOG_ERR | PLOG_NOMUTE, PLUGIN_NAME, "fatal: %s", err);
        goto fail;
    }
    if (!cfg.control_disabled &&
        control_server_start(h->gate, h->maintenance, &h->server, err, sizeof(err)) < 0) {
        h->log(PLOG_ERR | PLOG_NOMUTE, PLUGIN_NAME, "fatal: control socket: %s", err);
        goto fail;
    }
    h->reason_to_client = cfg.reason_to_client;
    ret->type_mask = OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_TLS_VERIFY) |
                     OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_CONNECT_V2) |
                     OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_DISCONNECT);
    if (h->reason_to_client)
        ret->type_mask |= OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_AUTH_USER_PASS_VERIFY);
    ret->handle = (openvpn_plugin_handle_t *)h;
    return OPENVPN_PLUGIN_FUNC_SUCCESS;
fail:
    maintenance_stop(h->maintenance);
    gate_close(h->gate);
    free(h);
    return OPENVPN_PLUGIN_FUNC_ERROR;
}

OPENVPN_EXPORT int openvpn_plugin_func_v3(const int v3structver,
                                          struct openvpn_plugin_args_func_in const *args,
                                          struct openvpn_plugin_args_func_return *ret)
{
    struct plugin_handle *h = (struct plugin_handle *)args->handle;
    struct gate_client *client = args->per_client_context;
    const char *const *envp = (const char *const *)args->envp;
    struct env_client ec;
    char addr[96];

    if (v3structver < OPENVPN_PLUGINv3_STRUCTVER || h == NULL)
        return OPENVPN_PLUGIN_FUNC_ERROR;
    gate_flush_log(h->gate);
    switch (args->type) {
    case OPENVPN_PLUGIN_TLS_VERIFY:
        /* Without a client context a renegotiation can't be told apart:
         * leave the decision to CLIENT_CONNECT. In reason-to-client mode the
         * refusal waits for AUTH_USER_PASS_VERIFY, where a reason can be sent. */
        if (args->current_cert_depth != 0 || client == NULL || h->reason_to_client)
            return OPENVPN_PLUGIN_FUNC_SUCCESS;
        if (!gate_tls_would_refuse(h->gate, client))
            return OPENVPN_PLUGIN_FUNC_SUCCESS;
        env_scan(envp, ENV_SCAN_ALL, &ec);
        env_format_address(&ec, addr, sizeof(addr));
        if (gate_tls_verify(h->gate, client, ec.x509_cn != NULL ? ec.x509_cn : "?", addr) < 0)
            return OPENVPN_PLUGIN_FUNC_ERROR;
        return OPENVPN_PLUGIN_FUNC_SUCCESS;
    case OPENVPN_PLUGIN_CLIENT_CONNECT_V2:
        if (client == NULL)
            return OPENVPN_PLUGIN_FUNC_ERROR;
        env_scan(envp, ENV_SCAN_CONNECT, &ec);
        env_format_address(&ec, addr, sizeof(addr));
        if (gate_client_connect(h->gate, client, ec.common_name != NULL ? ec.common_name : "?",
                                addr) < 0)
            return OPENVPN_PLUGIN_FUNC_ERROR;
        return OPENVPN_PLUGIN_FUNC_SUCCESS;
    case OPENVPN_PLUGIN_AUTH_USER_PASS_VERIFY:
        if (client == NULL)
            return OPENVPN_PLUGIN_FUNC_ERROR;
        return plugin_auth(h, client, envp);
    case OPENVPN_PLUGIN_CLIENT_DISCONNECT:
        if (client != NULL)
            gate_client_release(h->gate, client);
        return OPENVPN_PLUGIN_FUNC_SUCCESS;
    default:
        return OPENVPN_PLUGIN_FUNC_SUCCESS;
    }
}

OPENVPN_EXPORT void *openvpn_plugin_client_constructor_v1(openvpn_plugin_handle_t handle)
{
    return calloc(1, sizeof(struct gate_client));
}

/* CLIENT_DISCONNECT is not always called after a successful connect; this is. */
OPENVPN_EXPORT void openvpn_plugin_client_destructor_v1(openvpn_plugin_handle_t handle,
                                                        void *per_client_context)
{
    struct plugin_handle *h = (struct plugin_handle *)handle;
    struct gate_client *client = per_client_context;

    if (client == NULL)
        return;
    if (h != NULL)
        gate_client_release(h->gate, client);
    free(client);
}

OPENVPN_EXPORT void openvpn_plugin_close_v1(openvpn_plugin_handle_t handle)
{
    struct plugin_handle *h = (struct plugin_handle *)handle;

    if (h == NULL)
        return;
    control_server_stop(h->server);
    maintenance_stop(h->maintenance);
    gate_close(h->gate);
    free(h);
}
