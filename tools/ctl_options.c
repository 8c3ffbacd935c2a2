/* licgatectl's command line; see ctl_options.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cli.h"
#include "config.h"
#include "ctl_activate.h"
#include "ctl_fingerprint.h"
#include "ctl_options.h"
#include "ctl_usage.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define PROGRAM    CTL_PROGRAM
#define SOCKET_MAX (sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

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
    OPT_QUIET,
    OPT_DAYS,
    OPT_HTML
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
    {"days", required_argument, NULL, OPT_DAYS},
    {"html", required_argument, NULL, OPT_HTML},
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
    "       " PROGRAM " [-s PATH] [--pool NAME] usage [--days N] [--json]\n"
    "       " PROGRAM " [-s PATH] [--pool NAME] report --html FILE\n"
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
    "  cluster   the nodes sharing a cluster license, their grants and use, and etcd,\n"
    "            as licgate-agent last saw them (docs/cluster.md)\n"
    "  usage     a row per day of the last N days (--days, default 30, at most 400):\n"
    "            peak seats in use, the limit, hours at the limit, admissions and\n"
    "            refusals, with a bar on a terminal; then a one-line verdict\n"
    "  report    write one self-contained HTML page (--html FILE): the status, a chart\n"
    "            of the daily peak against the limit over the last 400 days, the\n"
    "            licenses and their dates, the daily table\n"
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
    "                     " CTL_DEFAULT_CONFIG ")\n"
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
    "      --days N           usage: the last N days, today included (1..400, default 30)\n"
    "      --html FILE        report: the page to write (replaced atomically, mode 0644)\n"
    "  -h, --help         print this help\n"
    "  -V, --version      print the version of licgatectl\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static int print_help(void)
{
    fputs(usage_text, stdout);
    fputs(LICGATE_AUTHORITY_URL[0] ? LICGATE_AUTHORITY_URL : "none", stdout);
    fputs(usage_text_tail, stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int print_version(void)
{
    printf(PROGRAM " (licgate) %s\n", PACKAGE_VERSION);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const char *long_option_name(int val)
{
    for (const struct option *o = long_options; o->name; o++)
        if (o->val == val)
            return o->name;
    return NULL;
}

/* What getopt could not take: a missing argument (':'), an unknown option
 * or one given an argument it does not take. The exit status. */
static int option_error(int opt, char **argv)
{
    const char *name = long_option_name(optopt);

    if (opt == ':')
        return cli_usage_error("option '--%s' needs an argument", name ? name : "?");
    /* optopt is 0 for an unknown long option, the option's value for
     * a known one given an argument it does not take. */
    if (optopt == 0)
        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
    if (name != NULL)
        return cli_usage_error("option '--%s' takes no argument", name);
    return cli_usage_error("unknown option '-%c'", optopt);
}

/* Where an option that is a plain text goes; NULL for the others. */
static const char **text_option(int opt, struct ctl_options *o)
{
    switch (opt) {
    case 's':
        return &o->socket_path;
    case OPT_POOL:
        return &o->pool;
    case OPT_KEY:
        return &o->key;
    case OPT_RULE:
        return &o->rule;
    case OPT_CONFIG:
        return &o->config;
    case OPT_LICENSE_DIR:
        return &o->license_dir;
    case OPT_STATE_DIR:
        return &o->state_dir;
    case OPT_AUTHORITY:
        return &o->authority;
    case OPT_CA_FILE:
        return &o->ca_file;
    default:
        return NULL;
    }
}

/* Whether opt is one of the license commands' own options (not --config,
 * which names the control socket too). */
static bool license_option(int opt)
{
    return opt >= OPT_LICENSE_DIR && opt <= OPT_QUIET;
}

/* Stores one option: CTL_CONTINUE, or an exit status (help, version, error). */
static int take_option(int opt, char **argv, struct ctl_options *o)
{
    const char **text = text_option(opt, o);
    long long number;

    o->given |= license_option(opt);
    if (text != NULL) {
        *text = optarg;
        return CTL_CONTINUE;
    }
    switch (opt) {
    case OPT_JSON:
        o->json = true;
        return CTL_CONTINUE;
    case OPT_TIMEOUT:
        if (cli_parse_integer(optarg, 1, CTL_TIMEOUT_MAX, &number) != 0)
            return cli_usage_error("--timeout: '%s' is not 1..%d seconds", optarg, CTL_TIMEOUT_MAX);
        o->timeout = (long)number;
        return CTL_CONTINUE;
    case OPT_RULE_VIRTUAL:
        o->rule_virtual = true;
        return CTL_CONTINUE;
    case OPT_OFFLINE_REQUEST:
        o->offline_request = true;
        return CTL_CONTINUE;
    case OPT_QUIET:
        o->quiet = true;
        return CTL_CONTINUE;
    case OPT_DAYS:
        if (cli_parse_integer(optarg, 1, CTL_USAGE_DAYS_MAX, &number) != 0)
            return cli_usage_error("--days: '%s' is not 1..%d days", optarg, CTL_USAGE_DAYS_MAX);
        o->days = (long)number;
        return CTL_CONTINUE;
    case OPT_HTML:
        if (optarg[0] == '\0')
            return cli_usage_error("--html: empty file name");
        o->html = optarg;
        return CTL_CONTINUE;
    case 'h':
        return print_help();
    case 'V':
        return print_version();
    default:
        return option_error(opt, argv);
    }
}

int ctl_options_parse(int argc, char **argv, struct ctl_options *o)
{
    int opt, status;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":s:hV", long_options, NULL)) != -1) {
        if ((status = take_option(opt, argv, o)) != CTL_CONTINUE)
            return status;
    }
    if (optind >= argc)
        return cli_usage_error("missing command (status, sessions, licenses, reload, metrics, "
                               "version, usage, report, cluster, fingerprint, activate, install "
                               "or refresh)");
    o->command = argv[optind];
    o->nargs = argc - optind - 1;
    o->args = argv + optind + 1;
    return CTL_CONTINUE;
}

/* ------------------------------------------------------------------ the checks */

/* The plugin's own rule for pool= (config_set), so that the two never differ. */
static bool pool_valid(const char *pool)
{
    struct gate_config scratch;
    char err[256];

    config_defaults(&scratch);
    return config_set(&scratch, "pool", pool, err, sizeof(err)) == 0;
}

/* --pool and --socket, for the commands that reach the plugin. */
static int check_target(const struct ctl_options *o, enum ctl_kind kind)
{
    const char *s = o->socket_path;

    if (o->pool && !pool_valid(o->pool))
        return cli_usage_error("--pool: '%s' is not 1..%d of [A-Za-z0-9_.-] (no leading '.')",
                               o->pool, CONFIG_POOL_MAX);
    if (s == NULL)
        return CTL_CONTINUE;
    if (kind == CTL_LICENSE && (s[0] == '\0' || strlen(s) > SOCKET_MAX))
        return cli_usage_error("--socket: empty or longer than %zu bytes", SOCKET_MAX);
    if (s[0] == '\0')
        return cli_usage_error("--socket: empty path");
    if (strlen(s) > SOCKET_MAX)
        return cli_usage_error("--socket: path longer than %zu bytes", SOCKET_MAX);
    return CTL_CONTINUE;
}

/* The arguments and options of activate, install and refresh. */
static int check_license(const struct ctl_options *o)
{
    const char *command = o->command;
    bool activate = strcmp(command, "activate") == 0, install = strcmp(command, "install") == 0;
    bool network = o->authority || o->ca_file || o->timeout;

    if ((activate || install) && o->nargs != 1)
        return o->nargs == 0 ? cli_usage_error("%s: missing %s", command, activate ? "KEY" : "FILE")
                             : cli_usage_error("%s: unexpected argument '%s'", command, o->args[1]);
    if (!activate && !install && o->nargs != 0)
        return cli_usage_error("%s: unexpected argument '%s'", command, o->args[0]);
    if (!activate && (o->rule_virtual || o->offline_request))
        return cli_usage_error("--%s is only for activate",
                               o->rule_virtual ? "rule-virtual" : "offline-request");
    if (o->quiet && strcmp(command, "refresh") != 0)
        return cli_usage_error("--quiet is only for refresh");
    if (install && network)
        return cli_usage_error("install: --authority, --ca-file and --timeout are for activate and "
                               "refresh");
    if (o->offline_request && network)
        return cli_usage_error("--offline-request sends nothing: no --authority, --ca-file or "
                               "--timeout");
    return CTL_CONTINUE;
}

/* The arguments and options of fingerprint. */
static int check_fingerprint(const struct ctl_options *o)
{
    char err[1024];

    if (o->nargs > 0)
        return cli_usage_error("%s: unexpected argument '%s'", o->command, o->args[0]);
    if (o->rule != NULL && o->key == NULL)
        return cli_usage_error("fingerprint: --rule needs --key KEY-ID (the rule shapes the "
                               "binding line of a license for that key)");
    if (o->rule != NULL && ctl_fingerprint_rule_check(o->rule, err, sizeof(err)) < 0)
        return cli_usage_error("--rule: %s", err);
    return CTL_CONTINUE;
}

/* --days and --html, each for its own command; report needs --html and
 * writes no JSON. */
static int check_usage_report(const struct ctl_options *o, enum ctl_kind kind)
{
    if (o->days && kind != CTL_USAGE)
        return cli_usage_error("--days is only for usage");
    if (o->html && kind != CTL_REPORT)
        return cli_usage_error("--html is only for report");
    if (kind == CTL_REPORT && !o->html)
        return cli_usage_error("report: missing --html FILE");
    if (kind == CTL_REPORT && o->json)
        return cli_usage_error("--json is not for report");
    return CTL_CONTINUE;
}

int ctl_options_check(const struct ctl_options *o, enum ctl_kind kind)
{
    int status;

    if (kind != CTL_UNKNOWN && (status = check_usage_report(o, kind)) != CTL_CONTINUE)
        return status;
    if (kind != CTL_FINGERPRINT && (o->key != NULL || o->rule != NULL))
        return cli_usage_error("--%s is only for the fingerprint command", o->key ? "key" : "rule");
    if (kind == CTL_LICENSE) {
        if (o->json)
            return cli_usage_error("--json is not for %s", o->command);
        if ((status = check_target(o, kind)) != CTL_CONTINUE)
            return status;
        return check_license(o);
    }
    if (o->given)
        return cli_usage_error("%s: --license-dir, --state-dir, --authority, --ca-file, "
                               "--timeout, --rule-virtual, --offline-request and --quiet are for "
                               "activate, install and refresh",
                               o->command);
    if (kind == CTL_FINGERPRINT)
        return check_fingerprint(o);
    if (kind == CTL_UNKNOWN)
        return cli_usage_error("unknown command '%s'", o->command);
    if (o->nargs > 0)
        return cli_usage_error("%s: unexpected argument '%s'", o->command, o->args[0]);
    return check_target(o, kind);
}
