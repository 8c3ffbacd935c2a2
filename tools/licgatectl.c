/* licgatectl: asks the licgate plugin of a running openvpn for its state over
 * the control socket (docs/control-protocol.md), one request per run (three
 * for report), and activates, installs and refreshes licenses
 * (docs/activation.md). Exit 0 on success, 1 on failure, 2 on usage errors;
 * every error is one line on stderr. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "ctl_activate.h"
#include "ctl_control.h"
#include "ctl_fingerprint.h"
#include "ctl_install.h"
#include "ctl_cluster.h"
#include "ctl_options.h"
#include "ctl_render.h"
#include "ctl_report.h"
#include "ctl_usage.h"

/* Flushes stdout: the exit status, with a line when the output was lost. */
static int flush_output(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("cannot write to standard output: %s", strerror(errno));
        return EXIT_FAILURE;
    }
    return status;
}

/* The control socket to ask: EXIT_SUCCESS, or an exit status after saying
 * why there is none. */
static int control_target(const struct ctl_options *o, struct ctl_target *target)
{
    int status;

    if ((status = ctl_control_target(o, target)) != EXIT_SUCCESS)
        return status;
    if (target->disabled) {
        cli_fail("the plugin's config sets control-socket none: there is no control socket to ask");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static void print_json(json_object *resp)
{
    puts(json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* status, sessions, licenses, reload, metrics, version: the plugin's answer,
 * as text or as its JSON. */
static int run_control(const struct ctl_options *o)
{
    struct ctl_target target = {0};
    json_object *resp;
    char err[1024];
    int status, rc;

    if ((status = control_target(o, &target)) != EXIT_SUCCESS)
        return status;
    status = ctl_query(target.path, target.pool, o->command, &resp);
    if (status != EXIT_SUCCESS)
        return status;
    if (o->json) {
        print_json(resp);
    } else if ((rc = ctl_render(o->command, resp, stdout, err, sizeof(err))) < 0) {
        if (rc == -EBADMSG)
            cli_fail("malformed response from %s: %s", target.path, err);
        else
            cli_fail("%s", err);
        status = EXIT_FAILURE;
    }
    json_object_put(resp);
    return flush_output(status);
}

static int run_fingerprint(const struct ctl_options *o)
{
    char err[1024];

    if (ctl_fingerprint(stdout, o->json, o->key, o->rule ? o->rule : "all", err, sizeof(err)) < 0) {
        cli_fail("fingerprint: %s", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* The authority activate asks: --authority, else the config's authority,
 * else this build's (--with-authority-url). NULL after reporting that none
 * is configured, or that the build's is not a valid URL. */
static const char *activate_authority(const struct ctl_options *o, const struct gate_config *cfg)
{
    struct gate_config scratch;
    char err[1024];

    if (o->authority)
        return o->authority;
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
             "URL, or activate offline (" CTL_PROGRAM " activate --offline-request KEY)",
             o->config ? o->config : CTL_DEFAULT_CONFIG);
    return NULL;
}

/* Runs activate, install or refresh in ctx: the exit status. */
static int run_license_command(const struct ctl_options *o, struct ctl_context *ctx)
{
    bool network = !o->offline_request && strcmp(o->command, "install") != 0;
    char err[1024];
    int rc;

    if (network && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cli_fail("cannot initialize libcurl");
        return EXIT_FAILURE;
    }
    if (o->offline_request)
        rc = ctl_cmd_offline_request(ctx, o->args[0], err, sizeof(err));
    else if (strcmp(o->command, "activate") == 0)
        rc = ctl_cmd_activate(ctx, o->args[0], err, sizeof(err));
    else if (strcmp(o->command, "install") == 0)
        rc = ctl_cmd_install(ctx, o->args[0], err, sizeof(err));
    else
        rc = ctl_cmd_refresh(ctx, err, sizeof(err));
    if (network)
        curl_global_cleanup();
    if (rc < 0) {
        if (err[0])
            cli_fail("%s", err);
        return EXIT_FAILURE;
    }
    return flush_output(EXIT_SUCCESS);
}

/* activate, install, refresh: in the plugin's license-dir and state-dir, then
 * the reload that makes a new license count. */
static int run_license(const struct ctl_options *o)
{
    struct gate_config cfg;
    struct ctl_target target = {.pool = o->pool};
    struct ctl_context ctx = {
        .authority = o->authority,
        .http = {.ca_file = o->ca_file, .timeout = o->timeout},
        .rule_virtual = o->rule_virtual,
        .quiet = o->quiet,
        .out = stdout,
        .errout = stderr,
        .reload = ctl_reload_after_install,
        .reload_arg = &target,
        .pool_peak = ctl_pool_peak,
        .pool_peak_arg = &target,
    };
    int status;

    if ((status = ctl_load_settings(o, &cfg)) != EXIT_SUCCESS)
        return status;
    ctx.license_dir = cfg.license_dir;
    ctx.state_dir = cfg.state_dir;
    if (strcmp(o->command, "activate") == 0 && !o->offline_request &&
        !(ctx.authority = activate_authority(o, &cfg)))
        return EXIT_FAILURE;
    if ((status = ctl_control_target(o, &target)) != EXIT_SUCCESS)
        return status;
    return run_license_command(o, &ctx);
}

/* cluster: what licgate-agent sees of the cluster (docs/cluster.md). */
static int run_cluster(const struct ctl_options *o)
{
    struct ctl_target target = {0};
    int status;

    if ((status = ctl_control_target(o, &target)) != EXIT_SUCCESS)
        return status;
    return flush_output(ctl_cluster_show(target.pool, o->json));
}

/* Asks request and reads the answer into *u: EXIT_SUCCESS with *resp (the
 * caller puts it), or an exit status after reporting. */
static int query_usage(const struct ctl_target *t, long days, struct ctl_usage *u,
                       json_object **resp)
{
    char request[32], err[1024];
    int status;

    snprintf(request, sizeof(request), "usage %ld", days);
    if ((status = ctl_query(t->path, t->pool, request, resp)) != EXIT_SUCCESS)
        return status;
    if (ctl_usage_parse(*resp, days, u, err, sizeof(err)) < 0) {
        cli_fail("malformed response from %s: %s", t->path, err);
        json_object_put(*resp);
        *resp = NULL;
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* usage: the daily record as a table and a verdict (bars on a terminal), or
 * as its JSON, checked first like the table. */
static int run_usage(const struct ctl_options *o)
{
    struct ctl_target target = {0};
    struct ctl_usage *u = malloc(sizeof(*u));
    json_object *resp = NULL;
    int status;

    if (!u) {
        cli_fail("out of memory");
        return EXIT_FAILURE;
    }
    if ((status = control_target(o, &target)) == EXIT_SUCCESS &&
        (status = query_usage(&target, o->days ? o->days : CTL_USAGE_DAYS_DEFAULT, u, &resp)) ==
            EXIT_SUCCESS) {
        if (o->json)
            print_json(resp);
        else if (ctl_usage_render(u, isatty(STDOUT_FILENO) == 1, stdout) < 0) {
            cli_fail("out of memory");
            status = EXIT_FAILURE;
        }
        status = flush_output(status);
    }
    json_object_put(resp);
    free(u);
    return status;
}

/* The answers report draws: usage of the last CTL_USAGE_DAYS_MAX days into
 * *u, status into *st and licenses into *lic (the caller frees it). An exit
 * status, after reporting a failure. */
static int query_report(const struct ctl_target *t, struct ctl_usage *u,
                        struct ctl_report_status *st, struct ctl_report_licenses *lic)
{
    const char *command = "status";
    json_object *resp;
    char err[1024];
    int status, rc;

    if ((status = query_usage(t, CTL_USAGE_DAYS_MAX, u, &resp)) != EXIT_SUCCESS)
        return status;
    json_object_put(resp);
    if ((status = ctl_query(t->path, t->pool, command, &resp)) != EXIT_SUCCESS)
        return status;
    rc = ctl_report_parse_status(resp, st, err, sizeof(err));
    json_object_put(resp);
    if (rc == 0) {
        command = "licenses";
        if ((status = ctl_query(t->path, t->pool, command, &resp)) != EXIT_SUCCESS)
            return status;
        rc = ctl_report_parse_licenses(resp, lic, err, sizeof(err));
        json_object_put(resp);
    }
    if (rc < 0) {
        cli_fail("malformed response from %s to %s: %s", t->path, command, err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* report: usage of the last CTL_USAGE_DAYS_MAX days, status and licenses
 * drawn into one HTML file. */
static int run_report(const struct ctl_options *o)
{
    struct ctl_target target = {0};
    struct ctl_report_status st;
    struct ctl_report_licenses lic = {0};
    struct ctl_usage *u = malloc(sizeof(*u));
    struct ctl_report r = {.usage = u, .status = &st, .licenses = &lic};
    char err[1024];
    int status;

    if (!u) {
        cli_fail("out of memory");
        return EXIT_FAILURE;
    }
    /* A file that cannot be written is said before anything is asked. */
    if (ctl_report_check_path(o->html, err, sizeof(err)) < 0) {
        cli_fail("report: %s", err);
        status = EXIT_FAILURE;
    } else if ((status = control_target(o, &target)) == EXIT_SUCCESS &&
               (status = query_report(&target, u, &st, &lic)) == EXIT_SUCCESS) {
        r.generated = clock_wall_now();
        if (ctl_report_save(o->html, &r, err, sizeof(err)) < 0) {
            cli_fail("report: %s", err);
            status = EXIT_FAILURE;
        } else {
            printf("wrote %s (pool %s, %zu of %d days recorded)\n", o->html, u->pool, u->ndays,
                   CTL_USAGE_DAYS_MAX);
            status = flush_output(status);
        }
    }
    ctl_report_licenses_free(&lic);
    free(u);
    return status;
}

static const struct {
    const char *name;
    enum ctl_kind kind;
} commands[] = {
    {"fingerprint", CTL_FINGERPRINT}, {"activate", CTL_LICENSE}, {"install", CTL_LICENSE},
    {"refresh", CTL_LICENSE},         {"cluster", CTL_CLUSTER},  {"usage", CTL_USAGE},
    {"report", CTL_REPORT},
};

static int (*const runners[])(const struct ctl_options *) = {
    [CTL_CONTROL] = run_control, [CTL_FINGERPRINT] = run_fingerprint,
    [CTL_LICENSE] = run_license, [CTL_CLUSTER] = run_cluster,
    [CTL_USAGE] = run_usage,     [CTL_REPORT] = run_report,
};

static enum ctl_kind command_kind(const char *command)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, command) == 0)
            return commands[i].kind;
    return ctl_command_known(command) ? CTL_CONTROL : CTL_UNKNOWN;
}

int main(int argc, char **argv)
{
    struct ctl_options o;
    enum ctl_kind kind;
    int status;

    cli_program = CTL_PROGRAM;
    if ((status = ctl_options_parse(argc, argv, &o)) != CTL_CONTINUE)
        return status;
    kind = command_kind(o.command);
    if ((status = ctl_options_check(&o, kind)) != CTL_CONTINUE)
        return status;
    return runners[kind](&o);
}
