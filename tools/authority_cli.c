/* What the licgate-authority commands share; see authority_cli.h. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "authority_cli.h"
#include "authority_decision.h"
#include "authority_lifecycle.h"
#include "cli.h"
#include "crypto.h"
#include "fs.h"

#define PROGRAM AUTHORITY_PROGRAM

static const char usage_text[] =
    "usage: " PROGRAM " init [--dir D]\n"
    "       " PROGRAM " issue --customer C --seats N [--years Y | --perpetual] [--rule R]\n"
    "                 [--kind cluster --nodes M]\n"
    "       " PROGRAM " extend KEY --years Y\n"
    "       " PROGRAM " split KEY N1 N2 ...\n"
    "       " PROGRAM " refund KEY\n"
    "       " PROGRAM " replace KEY\n"
    "       " PROGRAM " failover-key KEY\n"
    "       " PROGRAM " show KEY [--json]\n"
    "       " PROGRAM " list [--customer C] [--json]\n"
    "       " PROGRAM " audit [--json]\n"
    "       " PROGRAM " serve --listen ADDR:PORT --cert PEM --key PEM\n"
    "       " PROGRAM " activate-offline REQUEST-FILE [--out LICENSE] [--lease-days N]\n"
    "       " PROGRAM " keygen --private FILE --public FILE\n"
    "       " PROGRAM " sign --key PRIVPEM --key-id ID --customer NAME --seats N [options]\n"
    "\n"
    "Ledger commands take --dir D (default " AUTHORITY_DEFAULT_DIR "): the issuer key pair\n"
    "(" AUTHORITY_ISSUER_KEY ", " AUTHORITY_ISSUER_PUB ") and " LEDGER_FILE
    "; init makes a new issuer key or\n"
    "copies --issuer-key. issue makes a key with a support\n"
    "term of Y years (default 1) and at least 10 seats; --rule picks the machine binding\n"
    "rule signed into its license (all, all-but-N, machine-id-only; default all-but-1);\n"
    "--kind cluster makes a key whose seats M installations (2..64, --nodes) share.\n"
    "KEY may be typed in any case, with or without hyphens.\n"
    "activate-offline answers an offline request file with a license that holds to the\n"
    "end of support (or N days, --lease-days), written to --out atomically (or stdout).\n"
    "\n"
    "keygen writes a new Ed25519 issuer key pair as PEM (private key mode 0600);\n"
    "it never overwrites an existing private key file.\n"
    "\n"
    "sign writes a signed license document to stdout. Options:\n"
    "  --kind standard|failover|cluster  default standard\n"
    "  --primary-key ID           the primary key of a failover license\n"
    "  --issued DATE              issue time (default: now)\n"
    "  --issued-days-ago N        issue time N days before now (negative: future)\n"
    "  --support-until DATE       end of support\n"
    "  --support-days N           support ends N days after issue (default 365)\n"
    "  --perpetual                keeps working after support ends\n"
    "  --lease-not-after DATE     end of the lease\n"
    "  --lease-days N             lease ends N days after issue (default 30)\n"
    "  --no-lease                 no lease\n"
    "  --sunset DATE              stops working at DATE (replaced keys)\n"
    "  --installation-id HEX      32 lowercase hex digits\n"
    "  --binding SPEC             machine binding: none | RULE COMPONENT... with RULE all,\n"
    "                             all-but-N or machine-id-only and COMPONENT\n"
    "                             machine-id=HEX, dmi-uuid=HEX or nic=HEX (salted digests,\n"
    "                             as `licgatectl fingerprint --key KEY-ID` prints them)\n"
    "DATE is YYYY-MM-DDTHH:MM:SSZ (UTC). N for days may be negative.\n";

void authority_usage(void)
{
    fputs(usage_text, stdout);
}

/* ------------------------------------------------------------------ options */

static const struct option ledger_options[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"json", no_argument, NULL, OPT_JSON},
    {"years", required_argument, NULL, OPT_YEARS},
    {"perpetual", no_argument, NULL, OPT_LPERPETUAL},
    {"rule", required_argument, NULL, OPT_RULE},
    {"customer", required_argument, NULL, OPT_LCUSTOMER},
    {"seats", required_argument, NULL, OPT_LSEATS},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_TLS_KEY},
    {"installation-key", required_argument, NULL, OPT_INSTALLATION_KEY},
    {"component", required_argument, NULL, OPT_COMPONENT},
    {"fingerprint-file", required_argument, NULL, OPT_FINGERPRINT_FILE},
    {"virtual", no_argument, NULL, OPT_VIRTUAL},
    {"time", required_argument, NULL, OPT_TIME},
    {"offline", no_argument, NULL, OPT_OFFLINE},
    {"issuer-key", required_argument, NULL, OPT_ISSUER_KEY},
    {"out", required_argument, NULL, OPT_OUT},
    {"lease-days", required_argument, NULL, OPT_LLEASE_DAYS},
    {"kind", required_argument, NULL, OPT_LKIND},
    {"nodes", required_argument, NULL, OPT_LNODES},
    {"usage-peak", required_argument, NULL, OPT_USAGE_PEAK},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* An option whose value is a number: 0, or the exit status of its usage error. */
static int number_option(int opt, const char *value, struct ledger_args *a)
{
    switch (opt) {
    case OPT_YEARS:
        a->have_years = true;
        if (cli_parse_integer(value, 1, AUTHORITY_MAX_YEARS, &a->years) != 0)
            return cli_usage_error("--years: '%s' is not in 1..%d", value, AUTHORITY_MAX_YEARS);
        return 0;
    case OPT_LSEATS:
        a->have_seats = true;
        if (cli_parse_integer(value, 1, AUTHORITY_MAX_SEATS, &a->seats) != 0)
            return cli_usage_error("--seats: '%s' is not in 1..%d", value, AUTHORITY_MAX_SEATS);
        return 0;
    case OPT_LNODES:
        if (cli_parse_integer(value, LEDGER_MIN_NODES, LEDGER_MAX_NODES, &a->nodes) != 0)
            return cli_usage_error("--nodes: '%s' is not in %d..%d", value, LEDGER_MIN_NODES,
                                   LEDGER_MAX_NODES);
        return 0;
    case OPT_USAGE_PEAK:
        if (cli_parse_integer(value, 0, ACTIVATION_USAGE_PEAK_MAX, &a->usage_peak) != 0)
            return cli_usage_error("--usage-peak: '%s' is not in 0..%d", value,
                                   ACTIVATION_USAGE_PEAK_MAX);
        return 0;
    default: /* OPT_LLEASE_DAYS */
        if (cli_parse_integer(value, 1, AUTHORITY_MAX_LEASE_DAYS, &a->lease_days) != 0)
            return cli_usage_error("--lease-days: '%s' is not in 1..%d", value,
                                   AUTHORITY_MAX_LEASE_DAYS);
        return 0;
    }
}

/* Where an option that is a plain text goes; NULL for the others. */
static const char **text_option(int opt, struct ledger_args *a)
{
    switch (opt) {
    case OPT_DIR:
        return &a->dir;
    case OPT_LCUSTOMER:
        return &a->customer;
    case OPT_LISTEN:
        return &a->listen;
    case OPT_CERT:
        return &a->cert;
    case OPT_TLS_KEY:
        return &a->tls_key;
    case OPT_INSTALLATION_KEY:
        return &a->installation_key;
    case OPT_FINGERPRINT_FILE:
        return &a->fingerprint_file;
    case OPT_TIME:
        return &a->time;
    case OPT_ISSUER_KEY:
        return &a->issuer_key;
    case OPT_OUT:
        return &a->out;
    default:
        return NULL;
    }
}

/* Stores one ledger option: 0, or the exit status of its usage error. */
static int ledger_option(int opt, const char *value, struct ledger_args *a)
{
    const char **text = text_option(opt, a);

    if (text != NULL) {
        *text = value;
        return 0;
    }
    switch (opt) {
    case OPT_JSON:
        a->json = true;
        return 0;
    case OPT_LPERPETUAL:
        a->perpetual = true;
        return 0;
    case OPT_VIRTUAL:
        a->is_virtual = true;
        return 0;
    case OPT_OFFLINE:
        a->offline = true;
        return 0;
    case OPT_RULE:
        if (!authority_rule_valid(value))
            return cli_usage_error("--rule: '%s' is not all, all-but-N (N 1..8) or "
                                   "machine-id-only",
                                   value);
        a->rule = value;
        return 0;
    case OPT_LKIND:
        if (license_kind_from_name(value, strlen(value), &a->kind) != 0)
            return cli_usage_error("--kind: '%s' is not standard, failover or cluster", value);
        return 0;
    case OPT_COMPONENT:
        if (a->ncomponents == LICENSE_MAX_COMPONENTS)
            return cli_usage_error("--component: at most %d", LICENSE_MAX_COMPONENTS);
        a->components[a->ncomponents++] = value;
        return 0;
    default:
        return number_option(opt, value, a);
    }
}

static const char *ledger_option_name(int opt)
{
    for (const struct option *o = ledger_options; o->name != NULL; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

/* 0 to go on, -1 after the help, or the exit status of a usage error. */
static int parse_ledger_args(int argc, char **argv, unsigned allowed, struct ledger_args *a)
{
    int opt, ret;

    memset(a, 0, sizeof(*a));
    a->dir = AUTHORITY_DEFAULT_DIR;
    a->years = 1;
    while ((opt = getopt_long(argc, argv, ":h", ledger_options, NULL)) != -1) {
        if (opt == 'h') {
            authority_usage();
            return -1;
        }
        if (opt == ':')
            return cli_usage_error("%s: missing argument", argv[optind - 1]);
        if (opt < OPT_DIR)
            return cli_usage_error("%s: unknown option '%s'", argv[0], argv[optind - 1]);
        /* argv[optind - 1] may be the option's value ("--years 2"): name it from the table */
        if ((allowed & AUTHORITY_SEEN(opt)) == 0)
            return cli_usage_error("%s: option '--%s' does not apply", argv[0],
                                   ledger_option_name(opt));
        a->seen |= AUTHORITY_SEEN(opt);
        ret = ledger_option(opt, optarg, a);
        if (ret != 0)
            return ret;
    }
    a->positional = argv + optind;
    a->npositional = argc - optind;
    return 0;
}

int authority_command_args(int argc, char **argv, unsigned allowed, int npositional,
                           struct ledger_args *a)
{
    int ret = parse_ledger_args(argc, argv, allowed | AUTHORITY_SEEN(OPT_DIR), a);

    if (ret < 0)
        return -1;
    if (ret != 0)
        return ret;
    if (npositional >= 0 && a->npositional > npositional)
        return cli_usage_error("%s: unexpected argument '%s'", argv[0], a->positional[npositional]);
    if ((npositional > 0 && a->npositional < npositional) ||
        (npositional < 0 && a->npositional < 1))
        return cli_usage_error("%s: missing KEY", argv[0]);
    return 0;
}

/* ------------------------------------------------------------------ the directory */

void authority_actor(char *out, size_t outlen)
{
    const char *name = getenv("SUDO_USER");

    if (name == NULL || name[0] == '\0')
        name = getenv("USER");
    if (name != NULL && name[0] != '\0')
        snprintf(out, outlen, "%s", name);
    else
        snprintf(out, outlen, "uid %u", (unsigned)account_uid());
}

int authority_path_in(const char *dir, const char *name, char *out, size_t outlen)
{
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen) {
        cli_fail("%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    return 0;
}

int authority_check_dir_owner(const char *dir)
{
    char buf[1024];
    struct passwd pw, *found = NULL;
    struct fs_info st;

    if (fs_info(dir, false, &st) != 0 || st.uid == account_euid())
        return 0;
    if (getpwuid_r(st.uid, &pw, buf, sizeof(buf), &found) != 0 || found == NULL) {
        cli_fail("%s belongs to uid %u, not to this user: run licgate-authority as uid %u", dir,
                 (unsigned)st.uid, (unsigned)st.uid);
        return -EPERM;
    }
    cli_fail("%s belongs to %s: run licgate-authority as that user (runuser -u %s -- "
             "licgate-authority ...), or files made now would lock it out",
             dir, found->pw_name, found->pw_name);
    return -EPERM;
}

int authority_open_ledger(const char *dir, struct ledger **ledger)
{
    char err[512];

    if (authority_check_dir_owner(dir) != 0)
        return -EPERM;
    if (ledger_open(dir, false, ledger, err, sizeof(err)) != 0) {
        cli_fail("%s", err);
        return -EIO;
    }
    return 0;
}

int authority_read_private_key(const char *path, uint8_t priv[32])
{
    int ret = crypto_ed25519_read_private_pem(path, priv);

    if (ret != 0)
        cli_fail("%s: %s", path,
                 ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
    return ret;
}

int authority_read_issuer_key(const char *dir, uint8_t priv[32])
{
    char path[4096];
    int ret;

    ret = authority_path_in(dir, AUTHORITY_ISSUER_KEY, path, sizeof(path));
    if (ret != 0)
        return ret;
    return authority_read_private_key(path, priv);
}

/* ------------------------------------------------------------------ results */

int authority_key_argument(const char *text, char key[KEYSTRING_BUFSIZE])
{
    char why[128];

    if (keystring_canonicalize(text, key, why, sizeof(why)) != 0) {
        cli_fail("'%s': %s", text, why);
        return -EINVAL;
    }
    return 0;
}

int authority_refused(const char *key, int ret, const char *err)
{
    if (key != NULL)
        cli_fail("'%s': %s", key, err);
    else
        cli_fail("%s", err);
    return ret == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
}

int authority_print_json(json_object *obj)
{
    int ok;

    if (obj == NULL) {
        cli_fail("out of memory");
        return EXIT_FAILURE;
    }
    ok = printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    return ok < 0 || fflush(stdout) != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int authority_flush(void)
{
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
