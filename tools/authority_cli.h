/* What the licgate-authority commands share: the help text, the options of
 * the ledger commands, the authority directory (its owner, issuer key and
 * ledger), who acts for the audit trail, and how results and refusals are
 * printed. Functions that fail report the reason on stderr (cli_fail)
 * themselves. */
#ifndef LICGATE_TOOLS_AUTHORITY_CLI_H
#define LICGATE_TOOLS_AUTHORITY_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "authority_ledger.h"
#include "keystring.h"
#include "license.h"

#define AUTHORITY_PROGRAM     "licgate-authority"
#define AUTHORITY_DEFAULT_DIR "/var/lib/licgate-authority"
#define AUTHORITY_ISSUER_KEY  "issuer.pem"
#define AUTHORITY_ISSUER_PUB  "issuer.pub.pem"

/* The help on stdout. */
void authority_usage(void);

/* The options of the ledger commands; each command allows a few of them
 * (AUTHORITY_SEEN of each) and rejects the rest. */
enum authority_option {
    OPT_DIR = 512,
    OPT_JSON,
    OPT_YEARS,
    OPT_LPERPETUAL,
    OPT_RULE,
    OPT_LCUSTOMER,
    OPT_LSEATS,
    OPT_LISTEN,
    OPT_CERT,
    OPT_TLS_KEY,
    OPT_INSTALLATION_KEY,
    OPT_COMPONENT,
    OPT_FINGERPRINT_FILE,
    OPT_VIRTUAL,
    OPT_TIME,
    OPT_OFFLINE,
    OPT_ISSUER_KEY,
    OPT_OUT,
    OPT_LLEASE_DAYS,
    OPT_LKIND,
    OPT_LNODES,
    OPT_USAGE_PEAK,
};

#define AUTHORITY_SEEN(opt) (1u << ((opt)-OPT_DIR))

struct ledger_args {
    const char *dir;
    bool json, perpetual, is_virtual, offline;
    const char *customer, *rule, *listen, *cert, *tls_key, *installation_key, *fingerprint_file;
    const char *time, *issuer_key, *out;
    long long seats, years, lease_days, nodes, usage_peak;
    bool have_seats, have_years;
    enum license_kind kind; /* --kind, standard unless given */
    const char *components[LICENSE_MAX_COMPONENTS];
    size_t ncomponents;
    char **positional;
    int npositional;
    unsigned seen; /* AUTHORITY_SEEN of each option given */
};

/* Parses the options of the command argv[0] (--dir always allowed, the
 * others as allowed says), wanting exactly npositional arguments (-1: at
 * least one). 0 to go on; -1 after printing the help (exit 0); else the
 * exit status of a usage error, already reported. */
int authority_command_args(int argc, char **argv, unsigned allowed, int npositional,
                           struct ledger_args *a);

/* Who is acting, for the audit trail: the sudo user, the login, else the uid. */
void authority_actor(char *out, size_t outlen);

/* dir/name into out; -ENAMETOOLONG (reported) when it does not fit. */
int authority_path_in(const char *dir, const char *name, char *out, size_t outlen);

/* The authority directory is one user's: the service's. Another user (root,
 * typically) would leave files there the owner cannot open (SQLite's -wal and
 * -shm, a new ledger), which stops the service: -EPERM (reported) then. A
 * missing directory is 0: the caller names that error. */
int authority_check_dir_owner(const char *dir);

/* Opens the ledger in dir after authority_check_dir_owner: 0, -EPERM or -EIO
 * (reported). */
int authority_open_ledger(const char *dir, struct ledger **ledger);

/* Reads the private key PEM at path (0, or -errno reported as "PATH: why"). */
int authority_read_private_key(const char *path, uint8_t priv[32]);

/* Reads dir's issuer private key (0, or -errno reported). */
int authority_read_issuer_key(const char *dir, uint8_t priv[32]);

/* Canonicalizes a key argument; a bad one is reported and is -EINVAL. */
int authority_key_argument(const char *text, char key[KEYSTRING_BUFSIZE]);

/* Reports a refusal from the lifecycle ("'KEY': why", or "why" when key is
 * NULL): EXIT_USAGE for -EINVAL, else EXIT_FAILURE. */
int authority_refused(const char *key, int ret, const char *err);

/* Prints obj pretty on stdout and puts it: an exit status (NULL is "out of
 * memory"). */
int authority_print_json(json_object *obj);

/* Flushes stdout: EXIT_SUCCESS, or EXIT_FAILURE when the output was lost. */
int authority_flush(void);

#endif
