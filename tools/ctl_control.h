/* licgatectl's side of the control socket (docs/control-protocol.md): where
 * it is, one request and its validated answer, and a failure told in the
 * operator's terms (no socket, nobody listening, not allowed, no answer).
 * Functions that fail report on stderr (cli.h) and return an exit status. */
#ifndef LICGATE_TOOLS_CTL_CONTROL_H
#define LICGATE_TOOLS_CTL_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "config.h"
#include "ctl_options.h"

/* The control socket to ask. */
struct ctl_target {
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    const char *pool; /* NULL when named by --socket */
    bool disabled;    /* control-socket none */
    char pool_buf[CONFIG_POOL_MAX + 1];
};

/* The plugin's settings licgatectl needs: the config file (--config, else
 * CTL_DEFAULT_CONFIG when it exists, else the compiled defaults), then the
 * --license-dir and --state-dir overrides. EXIT_SUCCESS, or an exit status. */
int ctl_load_settings(const struct ctl_options *o, struct gate_config *cfg);

/* The control socket to ask: --socket, else the default path of --pool, else
 * the one the config file names (ctl_load_settings). EXIT_SUCCESS, or an exit
 * status. t->pool names the pool of --pool or of the config; with --socket it
 * is left as the caller set it. */
int ctl_control_target(const struct ctl_options *o, struct ctl_target *t);

/* Sends command and reads and validates the answer: EXIT_SUCCESS and *resp
 * (the caller puts it), or an exit status after reporting the error. */
int ctl_query(const char *path, const char *pool, const char *command, json_object **resp);

/* Asks the plugin at arg (a struct ctl_target) to re-read the license
 * directory, for ctl_context.reload: prints the result unless quiet, or why
 * the license counts only when openvpn (re)starts. 0, or -1 after reporting. */
int ctl_reload_after_install(void *arg, bool quiet);

/* The "peak" of the plugin's status at arg (a struct ctl_target), for
 * ctl_context.pool_peak: 0 with *peak, or -errno without a word when there
 * is no answer to read (control-socket none, no socket, nobody listening,
 * not allowed, a malformed answer, a peak above ACTIVATION_USAGE_PEAK_MAX). */
int ctl_pool_peak(void *arg, uint32_t *peak);

#endif
