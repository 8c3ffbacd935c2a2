#include "plugin_abi.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool plugin_log_verbose;
unsigned long plugin_log_lines;
unsigned long plugin_log_errors;

static void host_vlog(openvpn_plugin_log_flags_t flags, const char *name, const char *format,
                      va_list ap)
{
    plugin_log_lines++;
    if (flags & PLOG_ERR)
        plugin_log_errors++;
    if (!plugin_log_verbose)
        return;
    fprintf(stderr, "[%s] ", name);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
}

static void host_log(openvpn_plugin_log_flags_t flags, const char *name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(openvpn_plugin_log_flags_t flags, const char *name, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    host_vlog(flags, name, format, ap);
    va_end(ap);
}

static void host_secure_memzero(void *data, size_t len)
{
    volatile unsigned char *p = data;

    while (len-- > 0)
        *p++ = 0;
}

static struct openvpn_plugin_callbacks callbacks = {
    .plugin_log = host_log,
    .plugin_vlog = host_vlog,
    .plugin_secure_memzero = host_secure_memzero,
};

/* What openvpn 2.6 passes to open_v3: its own startup environment (the
 * variables it set before the first script, not the process environment). */
static const char *const open_envp[] = {
    "daemon_pid=3129",
    "daemon_start_time=1795915011",
    "daemon_log_redirect=1",
    "daemon=0",
    "verb=4",
    "config=/etc/openvpn/server/server.conf",
    "ifconfig_local=10.8.0.1",
    "ifconfig_netmask=255.255.0.0",
    "script_context=init",
    "tun_mtu=1500",
    "dev=tun0",
    "dev_type=tun",
    "redirect_gateway=0",
    "remote_port_1=1194",
    "local_port_1=1194",
    "local_1=127.0.0.1",
    "proto_1=udp",
    NULL,
};

static void *resolve(void *dl, const char *name, const char *path)
{
    void *sym = dlsym(dl, name);

    if (sym == NULL)
        fprintf(stderr, "plugin %s: no symbol %s\n", path, name);
    return sym;
}

int plugin_so_load(struct plugin_so *so, const char *path)
{
    memset(so, 0, sizeof(*so));
    so->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (so->dl == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    /* POSIX allows casting dlsym's void * to a function pointer. */
    *(void **)&so->open_v3 = resolve(so->dl, "openvpn_plugin_open_v3", path);
    *(void **)&so->func_v3 = resolve(so->dl, "openvpn_plugin_func_v3", path);
    *(void **)&so->client_constructor =
        resolve(so->dl, "openvpn_plugin_client_constructor_v1", path);
    *(void **)&so->client_destructor = resolve(so->dl, "openvpn_plugin_client_destructor_v1", path);
    *(void **)&so->close = resolve(so->dl, "openvpn_plugin_close_v1", path);
    if (so->open_v3 == NULL || so->func_v3 == NULL || so->client_constructor == NULL ||
        so->client_destructor == NULL || so->close == NULL) {
        plugin_so_unload(so);
        return -1;
    }
    return 0;
}

void plugin_so_unload(struct plugin_so *so)
{
    if (so->dl != NULL)
        dlclose(so->dl);
    memset(so, 0, sizeof(*so));
}

int plugin_open(const struct plugin_so *so, const char *path, const char *const *args,
                struct plugin_instance *out)
{
    const char *argv[PLUGIN_ARGS_MAX + 2];
    struct openvpn_plugin_args_open_return ret;
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    argv[n++] = path;
    for (size_t i = 0; args != NULL && args[i] != NULL && i < PLUGIN_ARGS_MAX; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    memset(&ret, 0, sizeof(ret));
    struct openvpn_plugin_args_open_in in = {
        .type_mask = ~0,
        .argv = (const char **)argv,
        .envp = (const char **)open_envp,
        .callbacks = &callbacks,
        .ssl_api = SSLAPI_OPENSSL,
        .ovpn_version = "2.6.14",
        .ovpn_version_major = 2,
        .ovpn_version_minor = 6,
        .ovpn_version_patch = "14",
    };
    if (so->open_v3(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret) != OPENVPN_PLUGIN_FUNC_SUCCESS)
        return -1;
    out->so = so;
    out->handle = ret.handle;
    out->type_mask = (unsigned)ret.type_mask;
    return 0;
}

void plugin_close(struct plugin_instance *pi)
{
    if (pi->so != NULL)
        pi->so->close(pi->handle);
    memset(pi, 0, sizeof(*pi));
}

int plugin_call(const struct plugin_instance *pi, int type, struct plugin_client *client,
                const char *const *envp, int depth)
{
    static const char *const argv[] = {"openvpn-plugin-licgate.so", NULL};
    struct openvpn_plugin_args_func_return ret = {0};

    if ((pi->type_mask & OPENVPN_PLUGIN_MASK(type)) == 0)
        return OPENVPN_PLUGIN_FUNC_SUCCESS; /* openvpn does not call an unrequested hook */
    struct openvpn_plugin_args_func_in in = {
        .type = type,
        .argv = (const char **)argv,
        .envp = (const char **)envp,
        .handle = pi->handle,
        .per_client_context = client != NULL ? client->ctx : NULL,
        .current_cert_depth = depth,
    };
    return pi->so->func_v3(OPENVPN_PLUGINv3_STRUCTVER, &in, &ret);
}

void plugin_client_new(const struct plugin_instance *pi, struct plugin_client *c)
{
    c->ctx = pi->so->client_constructor(pi->handle);
    c->admitted = false;
}

bool plugin_client_connect(const struct plugin_instance *pi, struct plugin_client *c,
                           const struct ovpn_env *env)
{
    if (plugin_call(pi, OPENVPN_PLUGIN_TLS_VERIFY, c, env->envp[OVPN_ENV_TLS_VERIFY_1], 1) !=
        OPENVPN_PLUGIN_FUNC_SUCCESS)
        return false;
    if (plugin_call(pi, OPENVPN_PLUGIN_TLS_VERIFY, c, env->envp[OVPN_ENV_TLS_VERIFY_0], 0) !=
        OPENVPN_PLUGIN_FUNC_SUCCESS)
        return false;
    c->admitted = plugin_call(pi, OPENVPN_PLUGIN_CLIENT_CONNECT_V2, c,
                              env->envp[OVPN_ENV_CLIENT_CONNECT], 0) == OPENVPN_PLUGIN_FUNC_SUCCESS;
    return c->admitted;
}

void plugin_client_disconnect(const struct plugin_instance *pi, struct plugin_client *c,
                              const struct ovpn_env *env)
{
    plugin_call(pi, OPENVPN_PLUGIN_CLIENT_DISCONNECT, c, env->envp[OVPN_ENV_CLIENT_DISCONNECT], 0);
    c->admitted = false;
}

void plugin_client_free(const struct plugin_instance *pi, struct plugin_client *c)
{
    pi->so->client_destructor(pi->handle, c->ctx);
    c->ctx = NULL;
    c->admitted = false;
}
