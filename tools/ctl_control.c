/* licgatectl's side of the control socket; see ctl_control.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation_request.h"
#include "cli.h"
#include "ctl_control.h"
#include "ctl_render.h"
#include "fs.h"
#include "proc.h"
#include "usock.h"

int ctl_load_settings(const struct ctl_options *o, struct gate_config *cfg)
{
    const char *file = o->config;
    struct gate_config scratch;
    char err[1024], *text = NULL;
    size_t len = 0;
    int r;

    config_defaults(cfg);
    if (!file && fs_exists(CTL_DEFAULT_CONFIG))
        file = CTL_DEFAULT_CONFIG;
    if (file) {
        r = fs_read_bounded(file, CONFIG_FILE_MAX, &text, &len);
        if (r < 0) {
            cli_fail("config %s: %s", file, r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
            return EXIT_FAILURE;
        }
        r = config_parse_text(text, len, file, cfg, err, sizeof(err));
        free(text);
        if (r < 0) {
            cli_fail("%s", err);
            return EXIT_FAILURE;
        }
    }
    /* Validated by the plugin's own rules, on a scratch copy: a key may be
     * set once per config. */
    if (o->license_dir) {
        config_defaults(&scratch);
        if (config_set(&scratch, "license-dir", o->license_dir, err, sizeof(err)) < 0)
            return cli_usage_error("--%s", err);
        memcpy(cfg->license_dir, scratch.license_dir, sizeof(cfg->license_dir));
    }
    if (o->state_dir) {
        config_defaults(&scratch);
        if (config_set(&scratch, "state-dir", o->state_dir, err, sizeof(err)) < 0)
            return cli_usage_error("--%s", err);
        memcpy(cfg->state_dir, scratch.state_dir, sizeof(cfg->state_dir));
    }
    return EXIT_SUCCESS;
}

int ctl_control_target(const struct ctl_options *o, struct ctl_target *t)
{
    struct gate_config cfg;
    int status;

    if (o->socket_path) {
        snprintf(t->path, sizeof(t->path), "%s", o->socket_path);
        return EXIT_SUCCESS;
    }
    if (o->pool) {
        t->pool = o->pool;
        config_pool_socket(o->pool, t->path, sizeof(t->path));
        return EXIT_SUCCESS;
    }
    if ((status = ctl_load_settings(o, &cfg)) != EXIT_SUCCESS)
        return status;
    snprintf(t->pool_buf, sizeof(t->pool_buf), "%s", cfg.pool);
    t->pool = t->pool_buf;
    t->disabled = cfg.control_disabled;
    if (!t->disabled && config_control_socket(&cfg, t->path, sizeof(t->path)) < 0)
        return cli_usage_error("the control socket path of pool '%s' is too long", cfg.pool);
    return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ errors */

/* EACCES on connect: say who may use the socket, from the group owning it
 * (or its directory when the socket itself cannot be looked at). */
static void report_access_denied(const char *path)
{
    struct fs_info st;
    struct passwd *root;
    struct group *gr;
    char *copy = strdup(path);
    int found = fs_info(path, true, &st) == 0 || (copy && fs_info(dirname(copy), true, &st) == 0);

    free(copy);
    if (!found) {
        cli_fail("permission denied on %s", path);
        return;
    }
    root = getpwuid(0);
    if (st.gid == (root ? root->pw_gid : 0)) {
        cli_fail("permission denied on %s: only root may use it (set control-group= in the plugin "
                 "config to grant read access)",
                 path);
        return;
    }
    gr = getgrgid(st.gid);
    if (gr)
        cli_fail("permission denied on %s: read access is granted to root and to members of group "
                 "'%s' (control-group=)",
                 path, gr->gr_name);
    else
        cli_fail("permission denied on %s: read access is granted to root and to members of group "
                 "%u (control-group=)",
                 path, (unsigned)st.gid);
}

/* An openvpn process that has the licgate plugin mapped: its pid, 0 when there is none, -1
 * when it cannot be told (another user's processes are not readable without root). */
static long plugin_process(void)
{
    pid_t pid;
    int r = proc_find_mapping_in("openvpn", "/openvpn-plugin-licgate.so", &pid);

    return r == 1 ? (long)pid : r == 0 ? 0 : -1;
}

/* No socket at path: whether a plugin runs elsewhere, or none at all. */
static void report_no_socket(const char *path, const char *pool)
{
    long pid = plugin_process();

    if (pid > 0)
        cli_fail("no control socket at %s, but openvpn (pid %ld) runs the licgate plugin: "
                 "it serves another pool or another control-socket= (see --pool, --socket)",
                 path, pid);
    else if (pid == 0)
        cli_fail("no control socket at %s: no openvpn process is running the licgate plugin", path);
    else
        cli_fail("no control socket at %s: is openvpn running with the licgate plugin%s%s%s?", path,
                 pool ? " (pool '" : "", pool ? pool : "", pool ? "')" : "");
}

static void report_connect_error(int err, const char *path, const char *pool)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        report_no_socket(path, pool);
        break;
    case ECONNREFUSED:
        if (pool)
            cli_fail("nothing listens on %s: the openvpn process serving pool '%s' may have exited "
                     "(another takes over within a second; retry)",
                     path, pool);
        else
            cli_fail("nothing listens on %s: the openvpn process serving it may have exited "
                     "(another takes over within a second; retry)",
                     path);
        break;
    case EACCES:
    case EPERM:
        report_access_denied(path);
        break;
    case ETIMEDOUT:
        cli_fail("%s: no answer within %d seconds", path, CTL_TIMEOUT);
        break;
    default:
        cli_fail("cannot connect to %s: %s", path, strerror(err));
        break;
    }
}

/* ------------------------------------------------------------------ requests */

int ctl_query(const char *path, const char *pool, const char *command, json_object **resp)
{
    char request[64], err[1024];
    enum usock_stage stage;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    *resp = NULL;
    snprintf(request, sizeof(request), "%s\n", command);
    rc = usock_request(path, request, CTL_TIMEOUT * 1000, CTL_RESPONSE_MAX, &buf, &len, &stage);
    if (rc == -ETIMEDOUT) {
        cli_fail("%s: no answer within %d seconds", path, CTL_TIMEOUT);
        return EXIT_FAILURE;
    }
    if (rc < 0 && stage == USOCK_CONNECT) {
        report_connect_error(-rc, path, pool);
        return EXIT_FAILURE;
    }
    if (rc < 0) {
        cli_fail("cannot %s %s: %s", stage == USOCK_SEND ? "send to" : "read from", path,
                 strerror(-rc));
        return EXIT_FAILURE;
    }
    if (len == 0) {
        cli_fail("%s closed the connection without an answer", path);
        free(buf);
        return EXIT_FAILURE;
    }
    rc = ctl_parse_response(buf, len, resp, err, sizeof(err));
    free(buf);
    if (rc == -EBADMSG || rc == -EMSGSIZE)
        cli_fail("malformed response from %s: %s", path, err);
    else if (rc == -EREMOTEIO && strncmp(err, "unknown command '", 17) == 0)
        /* Said so that nobody takes it for licgatectl not knowing the command. */
        cli_fail("%s: the plugin serving %s is older than this licgatectl", err, path);
    else if (rc < 0) /* -EPROTONOSUPPORT, -EREMOTEIO (the server's error), -ENOMEM */
        cli_fail("%s", err);
    return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int ctl_reload_after_install(void *arg, bool quiet)
{
    const struct ctl_target *t = arg;
    json_object *resp;
    char err[1024];
    struct fs_info st;
    int rc = 0, r;

    if (t->disabled) {
        if (!quiet)
            printf("the control socket is disabled (control-socket none): the license counts "
                   "when openvpn restarts\n");
        return 0;
    }
    r = fs_info(t->path, true, &st);
    if (r == -ENOENT || r == -ENOTDIR) {
        if (!quiet)
            printf("no openvpn serves the pool now (no control socket at %s): the license "
                   "counts when openvpn starts\n",
                   t->path);
        return 0;
    }
    if (ctl_query(t->path, t->pool, "reload", &resp) != EXIT_SUCCESS)
        return -1;
    if (!quiet && ctl_render_reload(resp, stdout, err, sizeof(err)) < 0) {
        cli_fail("malformed response from %s: %s", t->path, err);
        rc = -1;
    }
    json_object_put(resp);
    return rc;
}

int ctl_pool_peak(void *arg, uint32_t *peak)
{
    const struct ctl_target *t = arg;
    enum usock_stage stage;
    json_object *resp = NULL, *v;
    char *buf = NULL, err[256];
    size_t len = 0;
    int64_t n;
    int r;

    *peak = 0;
    if (t->disabled)
        return -ENOTCONN;
    r = usock_request(t->path, "status\n", CTL_TIMEOUT * 1000, CTL_RESPONSE_MAX, &buf, &len,
                      &stage);
    if (r < 0)
        return r;
    r = ctl_parse_response(buf, len, &resp, err, sizeof(err));
    free(buf);
    if (r < 0)
        return r;
    if (!json_object_object_get_ex(resp, "peak", &v) || !json_object_is_type(v, json_type_int) ||
        (n = json_object_get_int64(v)) < 0 || n > ACTIVATION_USAGE_PEAK_MAX) {
        json_object_put(resp);
        return -EBADMSG;
    }
    json_object_put(resp);
    *peak = (uint32_t)n;
    return 0;
}
