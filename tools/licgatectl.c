/* licgatectl: asks the licgate plugin of a running openvpn for its state over
 * the control socket (docs/control-protocol.md), one request per run, and
 * activates, installs and refreshes licenses (docs/activation.md). Exit 0 on
 * success, 1 on failure, 2 on usage errors; every error is one line on
 * stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "config.h"
#include "ctl_activate.h"
#include "ctl_fingerprint.h"
#include "ctl_install.h"
#include "ctl_render.h"
#include "fs.h"
#include "proc.h"
#include "usock.h"

#define PROGRAM "licgatectl"

#ifndef LICGATE_RUNDIR
#define LICGATE_RUNDIR "/run/licgate"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TIMEOUT_SECONDS 5 /* connect, send and read together */
#define POOL_NAME_MAX   32
#define DEFAULT_CONFIG  LICGATE_SYSCONFDIR "/licgate/licgate.conf"
#define TIMEOUT_MAX     300 /* --timeout, seconds */

enum {
    OPT_POOL = 256,
    OPT_JSON,
    OPT_KEY,
    OPT_RULE,
    OPT_CONFIG,
    OPT_LICENSE_DIR,
    OPT_STATE_DIR,
    OPT_AUTHORITY,
    OPT_CA_FILE,
    OPT_TIMEOUT,
    OPT_RULE_VIRTUAL,
    OPT_OFFLINE_REQUEST,
    OPT_QUIET
};

static const struct option long_options[] = {
    {"socket", required_argument, NULL, 's'},
    {"pool", required_argument, NULL, OPT_POOL},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"key", required_argument, NULL, OPT_KEY},
    {"rule", required_argument, NULL, OPT_RULE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"license-dir", required_argument, NULL, OPT_LICENSE_DIR},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"authority", required_argument, NULL, OPT_AUTHORITY},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"rule-virtual", no_argument, NULL, OPT_RULE_VIRTUAL},
    {"offline-request", no_argument, NULL, OPT_OFFLINE_REQUEST},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {NULL, 0, NULL, 0},
};

/* The help, in two parts around the line naming this build's authority. */
static const char usage_text[] =
    "usage: " PROGRAM " [-s|--socket PATH] [--pool NAME] [--json] COMMAND\n"
    "       " PROGRAM
    " [options] activate [--authority URL] [--ca-file FILE] [--rule-virtual] KEY\n"
    "       " PROGRAM " [options] activate --offline-request [--rule-virtual] KEY > request.txt\n"
    "       " PROGRAM " [options] install FILE\n"
    "       " PROGRAM " [options] refresh [--quiet]\n"
    "       " PROGRAM " -h|--help | -V|--version\n"
    "\n"
    "Asks the licgate plugin of a running openvpn server over its control socket.\n"
    "\n"
    "Commands:\n"
    "  status    seats in use, the limit, counters, serving processes, warnings\n"
    "  sessions  the connected clients that hold a seat\n"
    "  licenses  the installed license files and whether they count\n"
    "  reload    re-read the license directory in every process (root only)\n"
    "  metrics   the counters in Prometheus text format\n"
    "  version   the licgate version of the server\n"
    "  fingerprint  this machine's binding components (read here, no server needed);\n"
    "            with --key KEY-ID, the binding line a license for that key carries\n"
    "  activate KEY  activate a license key with the vendor's authority (HTTPS, port\n"
    "            443, no proxy) and install the license; --offline-request prints a\n"
    "            signed request for the vendor instead\n"
    "  install FILE  verify a license file (signature, key, installation, machine) and\n"
    "            install it into license-dir\n"
    "  refresh   renew every installed license that was activated online: one line\n"
    "            per license (renewed, re-bound, nothing to do), failures on stderr;\n"
    "            the daily timer runs it with --quiet\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH  the control socket (default: the one --config names, else\n"
    "                     " LICGATE_RUNDIR "/POOL/control.sock)\n"
    "      --pool NAME    the seat pool (default: the config's pool, else 'default')\n"
    "      --json         print the server's JSON response instead of text\n"
    "      --key KEY-ID   fingerprint: salt the digests for this license key\n"
    "      --rule RULE    fingerprint --key: all (default), all-but-N or machine-id-only,\n"
    "                     each optionally with +virtual\n"
    "      --config FILE  the plugin's config file, for license-dir, state-dir, pool,\n"
    "                     control-socket and authority (default, if it exists:\n"
    "                     " DEFAULT_CONFIG ")\n"
    "      --license-dir DIR  where licenses are installed (overrides the config)\n"
    "      --state-dir DIR    where the installation key and authorities live\n"
    "      --authority URL    activate: the authority (default: the config's authority,\n"
    "                         else this build's: ";
static const char usage_text_tail[] =
    ");\n"
    "                         refresh: ask URL instead of each key's recorded one\n"
    "      --ca-file FILE     activate/refresh: trust this CA for the authority's certificate\n"
    "      --timeout S        activate/refresh: give up after S seconds (default 30)\n"
    "      --rule-virtual     activate: count virtual links (containers, namespaces) as NICs\n"
    "      --offline-request  activate: print the signed request instead of sending it\n"
    "      --quiet            refresh: print nothing but failures\n"
    "  -h, --help         print this help\n"
    "  -V, --version      print the version of licgatectl\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

/* The plugin's rule for pool= (plugin/config.c). */
static bool valid_pool_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > POOL_NAME_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static const char *long_option_name(int val)
{
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == val)
            return o->name;
    return NULL;
}

/* EACCES on connect: say who may use the socket, from the group owning it
 * (or its directory when the socket itself cannot be looked at). */
static void report_access_denied(const char *path)
{
    struct stat st;
    struct passwd *root;
    struct group *gr;
    char *copy = strdup(path);
    int found = stat(path, &st) == 0 || (copy && stat(dirname(copy), &st) == 0);

    free(copy);
    if (!found) {
        cli_fail("permission denied on %s", path);
        return;
    }
    root = getpwuid(0);
    if (st.st_gid == (root ? root->pw_gid : 0)) {
        cli_fail("permission denied on %s: only root may use it (set control-group= in the plugin "
                 "config to grant read access)",
                 path);
        return;
    }
    gr = getgrgid(st.st_gid);
    if (gr)
        cli_fail("permission denied on %s: read access is granted to root and to members of group "
                 "'%s' (control-group=)",
                 path, gr->gr_name);
    else
        cli_fail("permission denied on %s: read access is granted to root and to members of group "
                 "%u (control-group=)",
                 path, (unsigned)st.st_gid);
}

/* An openvpn process that has the licgate plugin mapped: its pid, 0 when there is none, -1
 * when it cannot be told (another user's processes are not readable without root). */
static long plugin_process(void)
{
    pid_t pid;
    int r = proc_find_mapping_in("openvpn", "/openvpn-plugin-licgate.so", &pid);

    return r == 1 ? (long)pid : r == 0 ? 0 : -1;
}

static void report_connect_error(int err, const char *path, const char *pool)
{
    long pid;

    switch (err) {
    case ENOENT:
    case ENOTDIR:
        pid = plugin_process();
        if (pid > 0)
            cli_fail("no control socket at %s, but openvpn (pid %ld) runs the licgate plugin: "
                     "it serves another pool or another control-socket= (see --pool, --socket)",
                     path, pid);
        else if (pid == 0)
            cli_fail("no control socket at %s: no openvpn process is running the licgate plugin",
                     path);
        else
            cli_fail("no control socket at %s: is openvpn running with the licgate plugin%s%s%s?",
                     path, pool ? " (pool '" : "", pool ? pool : "", pool ? "')" : "");
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
        cli_fail("%s: no answer within %d seconds", path, TIMEOUT_SECONDS);
        break;
    default:
        cli_fail("cannot connect to %s: %s", path, strerror(err));
        break;
    }
}

/* Sends command, reads and validates the answer. 0 and *resp, or an exit
 * status after reporting the error. */
static int query(const char *path, const char *pool, const char *command, json_object **resp)
{
    char request[64], err[1024];
    enum usock_stage stage;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    *resp = NULL;
    snprintf(request, sizeof(request), "%s\n", command);
    rc = usock_request(path, request, TIMEOUT_SECONDS * 1000, CTL_RESPONSE_MAX, &buf, &len, &stage);
    if (rc == -ETIMEDOUT) {
        cli_fail("%s: no answer within %d seconds", path, TIMEOUT_SECONDS);
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
    switch (rc) {
    case 0:
        return EXIT_SUCCESS;
    case -EBADMSG:
    case -EMSGSIZE:
        cli_fail("malformed response from %s: %s", path, err);
        return EXIT_FAILURE;
    default: /* -EPROTONOSUPPORT, -EREMOTEIO (the server's error), -ENOMEM */
        cli_fail("%s", err);
        return EXIT_FAILURE;
    }
}

/* The options of the license commands (activate, install, refresh). */
struct license_options {
    const char *config, *license_dir, *state_dir, *authority, *ca_file;
    long timeout;
    bool rule_virtual, offline_request, quiet, given;
};

/* Where the reload after an install goes. */
struct reload_target {
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    const char *pool; /* NULL when named by --socket */
    bool disabled;    /* control-socket none */
    char pool_buf[CONFIG_POOL_MAX + 1];
};

static int reload_after_install(void *arg, bool quiet)
{
    const struct reload_target *t = arg;
    json_object *resp;
    char err[1024];
    struct stat st;
    int rc = 0;

    if (t->disabled) {
        if (!quiet)
            printf("the control socket is disabled (control-socket none): the license counts "
                   "when openvpn restarts\n");
        return 0;
    }
    if (stat(t->path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        if (!quiet)
            printf("no openvpn serves the pool now (no control socket at %s): the license "
                   "counts when openvpn starts\n",
                   t->path);
        return 0;
    }
    if (query(t->path, t->pool, "reload", &resp) != EXIT_SUCCESS)
        return -1;
    if (!quiet && ctl_render_reload(resp, stdout, err, sizeof(err)) < 0) {
        cli_fail("malformed response from %s: %s", t->path, err);
        rc = -1;
    }
    json_object_put(resp);
    return rc;
}

/* The plugin's settings licgatectl needs: the config file (--config, else
 * DEFAULT_CONFIG when it exists, else the compiled defaults), then the
 * --license-dir and --state-dir overrides. An exit status on failure. */
static int load_settings(const struct license_options *lo, struct gate_config *cfg)
{
    const char *file = lo->config;
    struct gate_config scratch;
    char err[1024], *text = NULL;
    size_t len = 0;
    int r;

    config_defaults(cfg);
    if (!file && access(DEFAULT_CONFIG, F_OK) == 0)
        file = DEFAULT_CONFIG;
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
    if (lo->license_dir) {
        config_defaults(&scratch);
        if (config_set(&scratch, "license-dir", lo->license_dir, err, sizeof(err)) < 0)
            return cli_usage_error("--%s", err);
        memcpy(cfg->license_dir, scratch.license_dir, sizeof(cfg->license_dir));
    }
    if (lo->state_dir) {
        config_defaults(&scratch);
        if (config_set(&scratch, "state-dir", lo->state_dir, err, sizeof(err)) < 0)
            return cli_usage_error("--%s", err);
        memcpy(cfg->state_dir, scratch.state_dir, sizeof(cfg->state_dir));
    }
    return EXIT_SUCCESS;
}

/* The control socket to ask: --socket, else the default path of --pool, else
 * the one the config file names (load_settings). An exit status on failure. */
static int control_target(const struct license_options *lo, const char *socket_path,
                          const char *pool, struct reload_target *t)
{
    struct gate_config cfg;
    int status;

    if (socket_path) {
        snprintf(t->path, sizeof(t->path), "%s", socket_path);
        return EXIT_SUCCESS;
    }
    if (pool) {
        t->pool = pool;
        snprintf(t->path, sizeof(t->path), "%s/%s/control.sock", LICGATE_RUNDIR, pool);
        return EXIT_SUCCESS;
    }
    if ((status = load_settings(lo, &cfg)) != EXIT_SUCCESS)
        return status;
    snprintf(t->pool_buf, sizeof(t->pool_buf), "%s", cfg.pool);
    t->pool = t->pool_buf;
    t->disabled = cfg.control_disabled;
    if (!t->disabled && config_control_socket(&cfg, t->path, sizeof(t->path)) < 0)
        return cli_usage_error("the control socket path of pool '%s' is too long", cfg.pool);
    return EXIT_SUCCESS;
}

/* The authority activate asks: --authority, else the config's authority,
 * else this build's (--with-authority-url). NULL after reporting that none
 * is configured, or that the build's is not a valid URL. */
static const char *activate_authority(const struct license_options *lo,
                                      const struct gate_config *cfg)
{
    struct gate_config scratch;
    char err[1024];

    if (lo->authority)
        return lo->authority;
    if (cfg->authority[0])
        return cfg->authority;
    if (LICGATE_AUTHORITY_URL[0]) {
        config_defaults(&scratch);
        if (config_set(&scratch, "authority", LICGATE_AUTHORITY_URL, err, sizeof(err)) < 0) {
            cli_fail("this build's authority (--with-authority-url): %s", err);
            return NULL;
        }
        return LICGATE_AUTHORITY_URL;
    }
    cli_fail("no authority is configured: set 'authority https://...' in %s, give --authority "
             "URL, or activate offline (" PROGRAM " activate --offline-request KEY)",
             lo->config ? lo->config : DEFAULT_CONFIG);
    return NULL;
}

static int license_command(const char *command, int nargs, char **args,
                           const struct license_options *lo, const char *socket_path,
                           const char *pool)
{
    struct gate_config cfg;
    struct reload_target target = {.pool = pool};
    struct ctl_context ctx = {
        .authority = lo->authority,
        .http = {.ca_file = lo->ca_file, .timeout = lo->timeout},
        .rule_virtual = lo->rule_virtual,
        .quiet = lo->quiet,
        .out = stdout,
        .errout = stderr,
        .reload = reload_after_install,
        .reload_arg = &target,
    };
    bool activate = strcmp(command, "activate") == 0, install = strcmp(command, "install") == 0;
    char err[1024];
    int status, rc;

    if ((activate || install) && nargs != 1)
        return nargs == 0 ? cli_usage_error("%s: missing %s", command, activate ? "KEY" : "FILE")
                          : cli_usage_error("%s: unexpected argument '%s'", command, args[1]);
    if (!activate && !install && nargs != 0)
        return cli_usage_error("%s: unexpected argument '%s'", command, args[0]);
    if (!activate && (lo->rule_virtual || lo->offline_request))
        return cli_usage_error("--%s is only for activate",
                               lo->rule_virtual ? "rule-virtual" : "offline-request");
    if (lo->quiet && strcmp(command, "refresh") != 0)
        return cli_usage_error("--quiet is only for refresh");
    if (install && (lo->authority || lo->ca_file || lo->timeout))
        return cli_usage_error("install: --authority, --ca-file and --timeout are for activate and "
                               "refresh");
    if (lo->offline_request && (lo->authority || lo->ca_file || lo->timeout))
        return cli_usage_error("--offline-request sends nothing: no --authority, --ca-file or "
                               "--timeout");
    if ((status = load_settings(lo, &cfg)) != EXIT_SUCCESS)
        return status;
    ctx.license_dir = cfg.license_dir;
    ctx.state_dir = cfg.state_dir;
    if (activate && !lo->offline_request && !(ctx.authority = activate_authority(lo, &cfg)))
        return EXIT_FAILURE;
    if ((status = control_target(lo, socket_path, pool, &target)) != EXIT_SUCCESS)
        return status;
    if (!lo->offline_request && !install && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cli_fail("cannot initialize libcurl");
        return EXIT_FAILURE;
    }
    if (lo->offline_request)
        rc = ctl_cmd_offline_request(&ctx, args[0], err, sizeof(err));
    else if (activate)
        rc = ctl_cmd_activate(&ctx, args[0], err, sizeof(err));
    else if (install)
        rc = ctl_cmd_install(&ctx, args[0], err, sizeof(err));
    else
        rc = ctl_cmd_refresh(&ctx, err, sizeof(err));
    if (!lo->offline_request && !install)
        curl_global_cleanup();
    if (rc < 0) {
        if (err[0])
            cli_fail("%s", err);
        return EXIT_FAILURE;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("cannot write to standard output: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static bool is_license_command(const char *command)
{
    return strcmp(command, "activate") == 0 || strcmp(command, "install") == 0 ||
           strcmp(command, "refresh") == 0;
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL, *pool = NULL, *command, *name, *key = NULL, *rule = NULL;
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    struct license_options lo = {0};
    struct reload_target target = {0};
    char err[1024], *end;
    json_object *resp;
    bool json = false;
    int opt, status, rc;

    cli_program = PROGRAM;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":s:hV", long_options, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_path = optarg;
            break;
        case OPT_POOL:
            pool = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_KEY:
            key = optarg;
            break;
        case OPT_RULE:
            rule = optarg;
            break;
        case OPT_CONFIG:
            lo.config = optarg; /* also for the control commands */
            break;
        case OPT_LICENSE_DIR:
            lo.license_dir = optarg;
            lo.given = true;
            break;
        case OPT_STATE_DIR:
            lo.state_dir = optarg;
            lo.given = true;
            break;
        case OPT_AUTHORITY:
            lo.authority = optarg;
            lo.given = true;
            break;
        case OPT_CA_FILE:
            lo.ca_file = optarg;
            lo.given = true;
            break;
        case OPT_TIMEOUT:
            errno = 0;
            lo.timeout = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || lo.timeout < 1 || lo.timeout > TIMEOUT_MAX)
                return cli_usage_error("--timeout: '%s' is not 1..%d seconds", optarg, TIMEOUT_MAX);
            lo.given = true;
            break;
        case OPT_RULE_VIRTUAL:
            lo.rule_virtual = true;
            lo.given = true;
            break;
        case OPT_OFFLINE_REQUEST:
            lo.offline_request = true;
            lo.given = true;
            break;
        case OPT_QUIET:
            lo.quiet = true;
            lo.given = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            fputs(LICGATE_AUTHORITY_URL[0] ? LICGATE_AUTHORITY_URL : "none", stdout);
            fputs(usage_text_tail, stdout);
            return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
        case 'V':
            printf(PROGRAM " (licgate) %s\n", PACKAGE_VERSION);
            return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
        case ':':
            name = long_option_name(optopt);
            return cli_usage_error("option '--%s' needs an argument", name ? name : "?");
        default:
            /* optopt is 0 for an unknown long option, the option's value for
             * a known one given an argument it does not take. */
            if (optopt == 0)
                return cli_usage_error("unknown option '%s'", argv[optind - 1]);
            if ((name = long_option_name(optopt)) != NULL)
                return cli_usage_error("option '--%s' takes no argument", name);
            return cli_usage_error("unknown option '-%c'", optopt);
        }
    }
    if (optind >= argc)
        return cli_usage_error("missing command (status, sessions, licenses, reload, metrics, "
                               "version, fingerprint, activate, install or refresh)");
    command = argv[optind];
    if (strcmp(command, "fingerprint") != 0 && (key != NULL || rule != NULL))
        return cli_usage_error("--%s is only for the fingerprint command", key ? "key" : "rule");
    if (is_license_command(command)) {
        if (json)
            return cli_usage_error("--json is not for %s", command);
        if (pool && !valid_pool_name(pool))
            return cli_usage_error("--pool: '%s' is not 1..%d of [A-Za-z0-9_.-] (no leading '.')",
                                   pool, POOL_NAME_MAX);
        if (socket_path && (socket_path[0] == '\0' || strlen(socket_path) >= sizeof(path)))
            return cli_usage_error("--socket: empty or longer than %zu bytes", sizeof(path) - 1);
        return license_command(command, argc - optind - 1, argv + optind + 1, &lo, socket_path,
                               pool);
    }
    if (lo.given)
        return cli_usage_error("%s: --license-dir, --state-dir, --authority, --ca-file, "
                               "--timeout, --rule-virtual, --offline-request and --quiet are for "
                               "activate, install and refresh",
                               command);
    if (strcmp(command, "fingerprint") == 0) {
        if (argc - optind > 1)
            return cli_usage_error("%s: unexpected argument '%s'", command, argv[optind + 1]);
        if (rule != NULL && key == NULL)
            return cli_usage_error("fingerprint: --rule needs --key KEY-ID (the rule shapes the "
                                   "binding line of a license for that key)");
        if (rule != NULL && ctl_fingerprint_rule_check(rule, err, sizeof(err)) < 0)
            return cli_usage_error("--rule: %s", err);
        if (ctl_fingerprint(stdout, json, key, rule ? rule : "all", err, sizeof(err)) < 0) {
            cli_fail("fingerprint: %s", err);
            return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
    }
    if (!ctl_command_known(command))
        return cli_usage_error("unknown command '%s'", command);
    if (argc - optind > 1)
        return cli_usage_error("%s: unexpected argument '%s'", command, argv[optind + 1]);
    if (pool && !valid_pool_name(pool))
        return cli_usage_error("--pool: '%s' is not 1..%d of [A-Za-z0-9_.-] (no leading '.')", pool,
                               POOL_NAME_MAX);
    if (socket_path) {
        if (socket_path[0] == '\0')
            return cli_usage_error("--socket: empty path");
        if (strlen(socket_path) >= sizeof(path))
            return cli_usage_error("--socket: path longer than %zu bytes", sizeof(path) - 1);
    }
    if ((status = control_target(&lo, socket_path, pool, &target)) != EXIT_SUCCESS)
        return status;
    if (target.disabled) {
        cli_fail("the plugin's config sets control-socket none: there is no control socket to ask");
        return EXIT_FAILURE;
    }
    snprintf(path, sizeof(path), "%s", target.path);
    status = query(path, target.pool, command, &resp);
    if (status != EXIT_SUCCESS)
        return status;
    if (json) {
        puts(json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PRETTY |
                                                      JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if ((rc = ctl_render(command, resp, stdout, err, sizeof(err))) < 0) {
        if (rc == -EBADMSG)
            cli_fail("malformed response from %s: %s", path, err);
        else
            cli_fail("%s", err);
        status = EXIT_FAILURE;
    }
    json_object_put(resp);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("cannot write to standard output: %s", strerror(errno));
        status = EXIT_FAILURE;
    }
    return status;
}
