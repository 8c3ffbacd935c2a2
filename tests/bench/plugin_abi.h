/* Loads openvpn-plugin-licgate.so through OpenVPN's plugin ABI, as openvpn
 * 2.6 does: dlopen, open_v3 with argv/envp/callbacks, then per client the
 * constructor, func_v3 for each hook, and the destructor. The benchmark and
 * the stress harness drive the real .so only through this. */
#ifndef LICGATE_BENCH_PLUGIN_ABI_H
#define LICGATE_BENCH_PLUGIN_ABI_H

#include <stdbool.h>
#include <stddef.h>

#include <openvpn-plugin.h>

#include "ovpn_env.h"

#define PLUGIN_ARGS_MAX 16

struct plugin_so {
    void *dl;
    int (*open_v3)(int, struct openvpn_plugin_args_open_in const *,
                   struct openvpn_plugin_args_open_return *);
    int (*func_v3)(int, struct openvpn_plugin_args_func_in const *,
                   struct openvpn_plugin_args_func_return *);
    void *(*client_constructor)(openvpn_plugin_handle_t);
    void (*client_destructor)(openvpn_plugin_handle_t, void *);
    void (*close)(openvpn_plugin_handle_t);
};

struct plugin_instance {
    const struct plugin_so *so;
    openvpn_plugin_handle_t handle;
    unsigned type_mask;
};

/* One client as openvpn keeps it: the plugin's per-client context. */
struct plugin_client {
    void *ctx;
    bool admitted;
};

/* Every line the plugin logs through the callbacks is counted; with
 * plugin_log_verbose set it is also printed on stderr. */
extern bool plugin_log_verbose;
extern unsigned long plugin_log_lines;
extern unsigned long plugin_log_errors; /* lines with PLOG_ERR */

/* dlopen(path) and resolve the entry points. 0 or -1 with a message on stderr. */
int plugin_so_load(struct plugin_so *so, const char *path);
void plugin_so_unload(struct plugin_so *so);

/* openvpn_plugin_open_v3 with argv = { path, args..., NULL } and a server's
 * startup environment. 0, or -1 when the plugin refused to open. */
int plugin_open(const struct plugin_so *so, const char *path, const char *const *args,
                struct plugin_instance *out);
void plugin_close(struct plugin_instance *pi);

/* Calls func_v3 for `type` with the environment `envp`, per-client context
 * of `client` (may be NULL) and certificate depth `depth`. Returns the
 * plugin's OPENVPN_PLUGIN_FUNC_* value. */
int plugin_call(const struct plugin_instance *pi, int type, struct plugin_client *client,
                const char *const *envp, int depth);

/* A client's life through the hooks, as openvpn 2.6 runs it. */
void plugin_client_new(const struct plugin_instance *pi, struct plugin_client *c);
/* TLS_VERIFY at depth 1 and 0, then CLIENT_CONNECT_V2; true if admitted.
 * A refusal at the handshake skips CLIENT_CONNECT (openvpn drops the
 * handshake there). */
bool plugin_client_connect(const struct plugin_instance *pi, struct plugin_client *c,
                           const struct ovpn_env *env);
void plugin_client_disconnect(const struct plugin_instance *pi, struct plugin_client *c,
                              const struct ovpn_env *env);
void plugin_client_free(const struct plugin_instance *pi, struct plugin_client *c);

#endif
