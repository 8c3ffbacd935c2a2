/* licgatectl's command line: the options parsed into one struct, the help,
 * and every check of which option goes with which command, made once before
 * anything runs. Functions that refuse report on stderr themselves (cli.h)
 * and return the exit status; CTL_CONTINUE means all is well. */
#ifndef LICGATE_TOOLS_CTL_OPTIONS_H
#define LICGATE_TOOLS_CTL_OPTIONS_H

#include <stdbool.h>

#define CTL_PROGRAM        "licgatectl"
#define CTL_CONTINUE       (-1)
#define CTL_TIMEOUT        5   /* seconds: the control socket's connect, send and read together */
#define CTL_TIMEOUT_MAX    300 /* --timeout, seconds */
#define CTL_DEFAULT_CONFIG LICGATE_SYSCONFDIR "/licgate/licgate.conf"

/* The kinds of command: those the plugin answers over the control socket
 * (status, sessions, ...), fingerprint (read here), the license commands
 * (activate, install, refresh), cluster, usage and report (the plugin's
 * daily record, read and drawn here), and a command licgatectl does not
 * know. */
enum ctl_kind {
    CTL_CONTROL,
    CTL_FINGERPRINT,
    CTL_LICENSE,
    CTL_CLUSTER,
    CTL_USAGE,
    CTL_REPORT,
    CTL_UNKNOWN
};

struct ctl_options {
    const char *socket_path, *pool;
    bool json;
    const char *key, *rule; /* fingerprint */
    /* the license commands; config also for the control commands */
    const char *config, *license_dir, *state_dir, *authority, *ca_file;
    long timeout;
    bool rule_virtual, offline_request, quiet;
    bool given;       /* one of the license commands' own options was given */
    long days;        /* usage --days; 0 when not given */
    const char *html; /* report --html */
    const char *command;
    int nargs; /* the arguments after the command */
    char **args;
};

/* Parses argv into o: CTL_CONTINUE, or an exit status after printing the
 * help or the version (0) or a usage error (2). A missing command is a usage
 * error. */
int ctl_options_parse(int argc, char **argv, struct ctl_options *o);

/* Checks that o->command is known, that every option given suits it (of
 * that kind) and that its arguments are there: CTL_CONTINUE, or the exit
 * status of a usage error. */
int ctl_options_check(const struct ctl_options *o, enum ctl_kind kind);

#endif
