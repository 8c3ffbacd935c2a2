/* licgate-authority: the vendor side. Issuer keys, the ledger of license
 * keys and their lifecycle (docs/authority.md), the HTTPS activation server
 * and offline activation (docs/activation-api.md), and `sign` for hand-made
 * documents. Exit 0 on success, 1 on failure or refusal, 2 on usage errors;
 * every error is one line on stderr. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"
#include "license.h"
#include "crypto.h"
#include "fs.h"
#include "activation_request.h"
#include "authority_clock.h"
#include "authority_http.h"
#include "authority_ledger.h"
#include "authority_lifecycle.h"
#include "keystring.h"

#define PROGRAM         "licgate-authority"
#define SECONDS_PER_DAY 86400
#define DAYS_LIMIT      36500

#define DEFAULT_DIR "/var/lib/licgate-authority"
#define ISSUER_KEY  "issuer.pem"
#define ISSUER_PUB  "issuer.pub.pem"

static const char usage_text[] =
    "usage: " PROGRAM " init [--dir D]\n"
    "       " PROGRAM " issue --customer C --seats N [--years Y | --perpetual] [--rule R]\n"
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
    "Ledger commands take --dir D (default " DEFAULT_DIR "): the issuer key pair\n"
    "(" ISSUER_KEY ", " ISSUER_PUB ") and " LEDGER_FILE "; init makes a new issuer key or\n"
    "copies --issuer-key. issue makes a key with a support\n"
    "term of Y years (default 1) and at least 10 seats; --rule picks the machine binding\n"
    "rule signed into its license (all, all-but-N, machine-id-only; default all-but-1).\n"
    "KEY may be typed in any case, with or without hyphens.\n"
    "activate-offline answers an offline request file with a license that holds to the\n"
    "end of support (or N days, --lease-days), written to --out atomically (or stdout).\n"
    "\n"
    "keygen writes a new Ed25519 issuer key pair as PEM (private key mode 0600);\n"
    "it never overwrites an existing private key file.\n"
    "\n"
    "sign writes a signed license document to stdout. Options:\n"
    "  --kind standard|failover   default standard\n"
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

static int parse_integer(const char *text, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    *out = 0;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int option_days(const char *option, const char *text, long long *days)
{
    if (parse_integer(text, -DAYS_LIMIT, DAYS_LIMIT, days) != 0)
        return cli_usage_error("%s: '%s' is not in %d..%d", option, text, -DAYS_LIMIT, DAYS_LIMIT);
    return 0;
}

static int option_date(const char *option, const char *text, int64_t *t)
{
    if (license_parse_time(text, strlen(text), t) != 0)
        return cli_usage_error("%s: '%s' is not a date YYYY-MM-DDTHH:MM:SSZ (1971..2199)", option,
                               text);
    return 0;
}

/* Copies an option value into a fixed field; too long is a usage error. */
static int option_string(const char *option, const char *text, char *field, size_t size)
{
    if (strlen(text) >= size)
        return cli_usage_error("%s: longer than %zu bytes", option, size - 1);
    memcpy(field, text, strlen(text) + 1);
    return 0;
}

static int command_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"private", required_argument, NULL, 'p'},
        {"public", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *private_path = NULL, *public_path = NULL;
    uint8_t priv[32], pub[32];
    struct stat st;
    int opt, ret, status = EXIT_FAILURE;

    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            private_path = optarg;
            break;
        case 'P':
            public_path = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_SUCCESS;
        case ':':
            return cli_usage_error("%s: missing argument", argv[optind - 1]);
        default:
            return cli_usage_error("keygen: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("keygen: unexpected argument '%s'", argv[optind]);
    if (private_path == NULL || public_path == NULL)
        return cli_usage_error("keygen: --private and --public are required");
    if (lstat(private_path, &st) == 0) {
        cli_fail("%s: already exists; refusing to overwrite a private key", private_path);
        return EXIT_FAILURE;
    }
    ret = crypto_ed25519_keygen(priv, pub);
    if (ret != 0) {
        cli_fail("cannot generate a key: %s", strerror(-ret));
        goto out;
    }
    ret = crypto_ed25519_write_private_pem(private_path, priv);
    if (ret != 0) {
        cli_fail("%s: %s", private_path, strerror(-ret));
        goto out;
    }
    ret = crypto_ed25519_write_public_pem(public_path, pub);
    if (ret != 0) {
        cli_fail("%s: %s", public_path, strerror(-ret));
        goto out;
    }
    status = EXIT_SUCCESS;
out:
    crypto_wipe(priv, sizeof(priv));
    return status;
}

enum sign_option {
    OPT_KEY = 256,
    OPT_KEY_ID,
    OPT_CUSTOMER,
    OPT_SEATS,
    OPT_KIND,
    OPT_PRIMARY_KEY,
    OPT_ISSUED,
    OPT_ISSUED_DAYS_AGO,
    OPT_SUPPORT_UNTIL,
    OPT_SUPPORT_DAYS,
    OPT_PERPETUAL,
    OPT_LEASE_DAYS,
    OPT_LEASE_NOT_AFTER,
    OPT_NO_LEASE,
    OPT_SUNSET,
    OPT_INSTALLATION_ID,
    OPT_BINDING,
};

/* What the command line said, before it becomes a struct license. */
struct sign_request {
    const char *key_path;
    struct license lic;
    bool have_key_id, have_customer, have_seats;
    bool have_issued, have_issued_days_ago;
    int64_t issued;
    long long issued_days_ago;
    bool have_support_until, have_support_days;
    int64_t support_until;
    long long support_days;
    int lease_options;
    bool no_lease, have_lease_not_after;
    int64_t lease_not_after;
    long long lease_days;
};

static int parse_sign_options(int argc, char **argv, struct sign_request *req)
{
    static const struct option options[] = {
        {"key", required_argument, NULL, OPT_KEY},
        {"key-id", required_argument, NULL, OPT_KEY_ID},
        {"customer", required_argument, NULL, OPT_CUSTOMER},
        {"seats", required_argument, NULL, OPT_SEATS},
        {"kind", required_argument, NULL, OPT_KIND},
        {"primary-key", required_argument, NULL, OPT_PRIMARY_KEY},
        {"issued", required_argument, NULL, OPT_ISSUED},
        {"issued-days-ago", required_argument, NULL, OPT_ISSUED_DAYS_AGO},
        {"support-until", required_argument, NULL, OPT_SUPPORT_UNTIL},
        {"support-days", required_argument, NULL, OPT_SUPPORT_DAYS},
        {"perpetual", no_argument, NULL, OPT_PERPETUAL},
        {"lease-days", required_argument, NULL, OPT_LEASE_DAYS},
        {"lease-not-after", required_argument, NULL, OPT_LEASE_NOT_AFTER},
        {"no-lease", no_argument, NULL, OPT_NO_LEASE},
        {"sunset", required_argument, NULL, OPT_SUNSET},
        {"installation-id", required_argument, NULL, OPT_INSTALLATION_ID},
        {"binding", required_argument, NULL, OPT_BINDING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long long seats;
    int opt, ret;

    memset(req, 0, sizeof(*req));
    req->support_days = 365;
    req->lease_days = 30;
    req->lic.kind = LICENSE_KIND_STANDARD;
    req->lic.binding_rule = BINDING_NONE;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        ret = 0;
        switch (opt) {
        case OPT_KEY:
            req->key_path = optarg;
            break;
        case OPT_KEY_ID:
            req->have_key_id = true;
            ret = option_string("--key-id", optarg, req->lic.key_id, sizeof(req->lic.key_id));
            break;
        case OPT_CUSTOMER:
            req->have_customer = true;
            ret = option_string("--customer", optarg, req->lic.customer, sizeof(req->lic.customer));
            break;
        case OPT_SEATS:
            req->have_seats = true;
            if (parse_integer(optarg, 1, 1000000, &seats) != 0)
                return cli_usage_error("--seats: '%s' is not in 1..1000000", optarg);
            req->lic.seats = (uint32_t)seats;
            break;
        case OPT_KIND:
            if (strcmp(optarg, "standard") == 0)
                req->lic.kind = LICENSE_KIND_STANDARD;
            else if (strcmp(optarg, "failover") == 0)
                req->lic.kind = LICENSE_KIND_FAILOVER;
            else
                return cli_usage_error("--kind: '%s' is not standard or failover", optarg);
            break;
        case OPT_PRIMARY_KEY:
            ret = option_string("--primary-key", optarg, req->lic.primary_key,
                                sizeof(req->lic.primary_key));
            break;
        case OPT_ISSUED:
            req->have_issued = true;
            ret = option_date("--issued", optarg, &req->issued);
            break;
        case OPT_ISSUED_DAYS_AGO:
            req->have_issued_days_ago = true;
            ret = option_days("--issued-days-ago", optarg, &req->issued_days_ago);
            break;
        case OPT_SUPPORT_UNTIL:
            req->have_support_until = true;
            ret = option_date("--support-until", optarg, &req->support_until);
            break;
        case OPT_SUPPORT_DAYS:
            req->have_support_days = true;
            ret = option_days("--support-days", optarg, &req->support_days);
            break;
        case OPT_PERPETUAL:
            req->lic.perpetual = true;
            break;
        case OPT_LEASE_DAYS:
            req->lease_options++;
            ret = option_days("--lease-days", optarg, &req->lease_days);
            break;
        case OPT_LEASE_NOT_AFTER:
            req->lease_options++;
            req->have_lease_not_after = true;
            ret = option_date("--lease-not-after", optarg, &req->lease_not_after);
            break;
        case OPT_NO_LEASE:
            req->lease_options++;
            req->no_lease = true;
            break;
        case OPT_SUNSET:
            ret = option_date("--sunset", optarg, &req->lic.sunset);
            break;
        case OPT_INSTALLATION_ID:
            ret = option_string("--installation-id", optarg, req->lic.installation_id,
                                sizeof(req->lic.installation_id));
            break;
        case OPT_BINDING: {
            char why[256];
            if (license_parse_binding(optarg, &req->lic, why, sizeof(why)) != 0)
                return cli_usage_error("--binding: %s", why);
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case ':':
            return cli_usage_error("%s: missing argument", argv[optind - 1]);
        default:
            return cli_usage_error("sign: unknown option '%s'", argv[optind - 1]);
        }
        if (ret != 0)
            return ret;
    }
    if (optind != argc)
        return cli_usage_error("sign: unexpected argument '%s'", argv[optind]);
    if (req->key_path == NULL || !req->have_key_id || !req->have_customer || !req->have_seats)
        return cli_usage_error("sign: --key, --key-id, --customer and --seats are required");
    if (req->have_issued && req->have_issued_days_ago)
        return cli_usage_error("sign: --issued and --issued-days-ago exclude each other");
    if (req->have_support_until && req->have_support_days)
        return cli_usage_error("sign: --support-until and --support-days exclude each other");
    if (req->lease_options > 1)
        return cli_usage_error("sign: use only one of --lease-days, --lease-not-after, --no-lease");
    return 0;
}

static void resolve_dates(struct sign_request *req, int64_t now)
{
    struct license *lic = &req->lic;

    if (req->have_issued)
        lic->issued = req->issued;
    else
        lic->issued = now - req->issued_days_ago * SECONDS_PER_DAY;
    if (req->have_support_until)
        lic->support_until = req->support_until;
    else
        lic->support_until = lic->issued + req->support_days * SECONDS_PER_DAY;
    if (req->no_lease)
        lic->lease_not_after = 0;
    else if (req->have_lease_not_after)
        lic->lease_not_after = req->lease_not_after;
    else
        lic->lease_not_after = lic->issued + req->lease_days * SECONDS_PER_DAY;
}

static int command_sign(int argc, char **argv)
{
    struct sign_request req;
    uint8_t priv[32];
    char reason[256];
    char *doc = NULL;
    size_t doclen = 0;
    int ret, status = EXIT_FAILURE;

    memset(priv, 0, sizeof(priv));
    ret = parse_sign_options(argc, argv, &req);
    if (ret < 0)
        return EXIT_SUCCESS;
    if (ret != 0)
        return ret;
    resolve_dates(&req, (int64_t)time(NULL));
    if (license_validate(&req.lic, reason, sizeof(reason)) != 0) {
        cli_fail("%s", reason);
        return EXIT_USAGE;
    }
    ret = crypto_ed25519_read_private_pem(req.key_path, priv);
    if (ret != 0) {
        cli_fail("%s: %s", req.key_path,
                 ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
        goto out;
    }
    ret = license_sign(&req.lic, priv, &doc, &doclen);
    if (ret != 0) {
        cli_fail("cannot sign: %s", strerror(-ret));
        goto out;
    }
    if (fwrite(doc, 1, doclen, stdout) != doclen || fflush(stdout) != 0) {
        cli_fail("cannot write to stdout: %s", strerror(errno));
        goto out;
    }
    status = EXIT_SUCCESS;
out:
    crypto_wipe(priv, sizeof(priv));
    free(doc);
    return status;
}

/* ------------------------------------------------------------------ the ledger commands */

/* Who is acting, for the audit trail: the sudo user, the login, else the uid. */
static void actor(char *out, size_t outlen)
{
    const char *name = getenv("SUDO_USER");

    if (name == NULL || name[0] == '\0')
        name = getenv("USER");
    if (name != NULL && name[0] != '\0')
        snprintf(out, outlen, "%s", name);
    else
        snprintf(out, outlen, "uid %u", (unsigned)getuid());
}

static int path_in(const char *dir, const char *name, char *out, size_t outlen)
{
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen) {
        cli_fail("%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* The authority directory is one user's: the service's. Another user (root,
 * typically) would leave files there the owner cannot open (SQLite's -wal and
 * -shm, a new ledger), which stops the service; refuse instead. */
static int check_dir_owner(const char *dir)
{
    char buf[1024];
    struct passwd pw, *found = NULL;
    struct stat st;

    if (lstat(dir, &st) != 0 || st.st_uid == geteuid())
        return 0; /* a missing directory is the caller's error to name */
    if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &found) != 0 || found == NULL) {
        cli_fail("%s belongs to uid %u, not to this user: run licgate-authority as uid %u", dir,
                 (unsigned)st.st_uid, (unsigned)st.st_uid);
        return -EPERM;
    }
    cli_fail("%s belongs to %s: run licgate-authority as that user (runuser -u %s -- "
             "licgate-authority ...), or files made now would lock it out",
             dir, found->pw_name, found->pw_name);
    return -EPERM;
}

static int open_ledger(const char *dir, struct ledger **ledger)
{
    char err[512];

    if (check_dir_owner(dir) != 0)
        return -EPERM;
    if (ledger_open(dir, false, ledger, err, sizeof(err)) != 0) {
        cli_fail("%s", err);
        return -EIO;
    }
    return 0;
}

static int read_issuer_key(const char *dir, uint8_t priv[32])
{
    char path[4096];
    int ret;

    ret = path_in(dir, ISSUER_KEY, path, sizeof(path));
    if (ret != 0)
        return ret;
    ret = crypto_ed25519_read_private_pem(path, priv);
    if (ret != 0)
        cli_fail("%s: %s", path,
                 ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
    return ret;
}

/* Canonicalizes a key argument; a bad one is reported and is a failure. */
static int key_argument(const char *text, char key[KEYSTRING_BUFSIZE])
{
    char why[128];

    if (keystring_canonicalize(text, key, why, sizeof(why)) != 0) {
        cli_fail("'%s': %s", text, why);
        return -EINVAL;
    }
    return 0;
}

static int refused(const char *key, int ret, const char *err)
{
    if (key != NULL)
        cli_fail("'%s': %s", key, err);
    else
        cli_fail("%s", err);
    return ret == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
}

enum ledger_option {
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
};

/* Options every ledger command understands; each command rejects those it
 * does not use. */
struct ledger_args {
    const char *dir;
    bool json, perpetual, is_virtual, offline;
    const char *customer, *rule, *listen, *cert, *tls_key, *installation_key, *fingerprint_file;
    const char *time, *issuer_key, *out;
    long long seats, years, lease_days;
    bool have_seats, have_years;
    const char *components[LICENSE_MAX_COMPONENTS];
    size_t ncomponents;
    char **positional;
    int npositional;
    unsigned seen; /* bit per option index, to reject unused ones */
};

#define SEEN(opt) (1u << ((opt)-OPT_DIR))

static int parse_ledger_args(int argc, char **argv, unsigned allowed, struct ledger_args *a)
{
    static const struct option options[] = {
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(a, 0, sizeof(*a));
    a->dir = DEFAULT_DIR;
    a->years = 1;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt >= OPT_DIR && (allowed & SEEN(opt)) == 0) {
            /* argv[optind - 1] may be the option's value ("--years 2") */
            const char *name = "?";
            for (const struct option *o = options; o->name != NULL; o++)
                if (o->val == opt)
                    name = o->name;
            return cli_usage_error("%s: option '--%s' does not apply", argv[0], name);
        }
        if (opt >= OPT_DIR)
            a->seen |= SEEN(opt);
        switch (opt) {
        case OPT_DIR:
            a->dir = optarg;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_YEARS:
            a->have_years = true;
            if (parse_integer(optarg, 1, AUTHORITY_MAX_YEARS, &a->years) != 0)
                return cli_usage_error("--years: '%s' is not in 1..%d", optarg,
                                       AUTHORITY_MAX_YEARS);
            break;
        case OPT_LPERPETUAL:
            a->perpetual = true;
            break;
        case OPT_RULE:
            if (!authority_rule_valid(optarg))
                return cli_usage_error("--rule: '%s' is not all, all-but-N (N 1..8) or "
                                       "machine-id-only",
                                       optarg);
            a->rule = optarg;
            break;
        case OPT_LCUSTOMER:
            a->customer = optarg;
            break;
        case OPT_LSEATS:
            a->have_seats = true;
            if (parse_integer(optarg, 1, AUTHORITY_MAX_SEATS, &a->seats) != 0)
                return cli_usage_error("--seats: '%s' is not in 1..%d", optarg,
                                       AUTHORITY_MAX_SEATS);
            break;
        case OPT_LISTEN:
            a->listen = optarg;
            break;
        case OPT_CERT:
            a->cert = optarg;
            break;
        case OPT_TLS_KEY:
            a->tls_key = optarg;
            break;
        case OPT_INSTALLATION_KEY:
            a->installation_key = optarg;
            break;
        case OPT_COMPONENT:
            if (a->ncomponents == LICENSE_MAX_COMPONENTS)
                return cli_usage_error("--component: at most %d", LICENSE_MAX_COMPONENTS);
            a->components[a->ncomponents++] = optarg;
            break;
        case OPT_FINGERPRINT_FILE:
            a->fingerprint_file = optarg;
            break;
        case OPT_VIRTUAL:
            a->is_virtual = true;
            break;
        case OPT_TIME:
            a->time = optarg;
            break;
        case OPT_OFFLINE:
            a->offline = true;
            break;
        case OPT_ISSUER_KEY:
            a->issuer_key = optarg;
            break;
        case OPT_OUT:
            a->out = optarg;
            break;
        case OPT_LLEASE_DAYS:
            if (parse_integer(optarg, 1, AUTHORITY_MAX_LEASE_DAYS, &a->lease_days) != 0)
                return cli_usage_error("--lease-days: '%s' is not in 1..%d", optarg,
                                       AUTHORITY_MAX_LEASE_DAYS);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case ':':
            return cli_usage_error("%s: missing argument", argv[optind - 1]);
        default:
            return cli_usage_error("%s: unknown option '%s'", argv[0], argv[optind - 1]);
        }
    }
    a->positional = argv + optind;
    a->npositional = argc - optind;
    return 0;
}

/* Parses the command's options, wanting exactly npositional arguments
 * (-1: at least one). Returns 0, or the exit status to return. */
static int command_args(int argc, char **argv, unsigned allowed, int npositional,
                        struct ledger_args *a)
{
    int ret = parse_ledger_args(argc, argv, allowed | SEEN(OPT_DIR), a);

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

static int print_json(json_object *obj)
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

static int command_init(int argc, char **argv)
{
    char priv_path[4096], pub_path[4096], ledger_path[4096], err[512], who[64], after[128];
    uint8_t priv[32], pub[32], id[8];
    struct ledger_args a;
    struct ledger *ledger = NULL;
    struct stat st;
    int ret, status = EXIT_FAILURE;

    ret = command_args(argc, argv, SEEN(OPT_ISSUER_KEY), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (path_in(a.dir, ISSUER_KEY, priv_path, sizeof(priv_path)) != 0 ||
        path_in(a.dir, ISSUER_PUB, pub_path, sizeof(pub_path)) != 0 ||
        path_in(a.dir, LEDGER_FILE, ledger_path, sizeof(ledger_path)) != 0)
        return EXIT_FAILURE;
    if (mkdir(a.dir, 0700) != 0 && errno != EEXIST) {
        cli_fail("%s: %s", a.dir, strerror(errno));
        return EXIT_FAILURE;
    }
    if (lstat(a.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_fail("%s: not a directory", a.dir);
        return EXIT_FAILURE;
    }
    if (check_dir_owner(a.dir) != 0)
        return EXIT_FAILURE;
    if (lstat(priv_path, &st) == 0 || lstat(ledger_path, &st) == 0) {
        cli_fail("%s: already initialized; refusing to overwrite its issuer key or ledger", a.dir);
        return EXIT_FAILURE;
    }
    if (chmod(a.dir, 0700) != 0) {
        cli_fail("%s: %s", a.dir, strerror(errno));
        return EXIT_FAILURE;
    }
    if (a.issuer_key != NULL) {
        ret = crypto_ed25519_read_private_pem(a.issuer_key, priv);
        if (ret == 0)
            ret = crypto_ed25519_public_from_private(priv, pub);
        if (ret != 0) {
            cli_fail("%s: %s", a.issuer_key,
                     ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
            goto out;
        }
    } else {
        ret = crypto_ed25519_keygen(priv, pub);
    }
    if (ret == 0)
        ret = crypto_ed25519_write_private_pem(priv_path, priv);
    if (ret == 0)
        ret = crypto_ed25519_write_public_pem(pub_path, pub);
    if (ret != 0) {
        cli_fail("cannot make the issuer key in %s: %s", a.dir, strerror(-ret));
        goto out;
    }
    if (ledger_open(a.dir, true, &ledger, err, sizeof(err)) != 0) {
        cli_fail("%s", err);
        goto out;
    }
    struct issuer_key ik;
    memcpy(ik.pub, pub, sizeof(pub));
    license_issuer_id(&ik, id);
    snprintf(after, sizeof(after),
             "{\"issuer\":\"%02x%02x%02x%02x%02x%02x%02x%02x\",\"schema\":%d}", id[0], id[1], id[2],
             id[3], id[4], id[5], id[6], id[7], LEDGER_SCHEMA_VERSION);
    actor(who, sizeof(who));
    ret = ledger_begin(ledger);
    if (ret == 0)
        ret = ledger_audit(ledger, authority_now(), who, "init", NULL, NULL, after);
    if (ret == 0)
        ret = ledger_commit(ledger);
    if (ret != 0) {
        cli_fail("%s: %s", ledger_path, ledger_error(ledger));
        ledger_rollback(ledger);
        goto out;
    }
    printf("initialized %s: issuer %.16s (public key %s: add it to the trusted issuer keys)\n",
           a.dir, after + 11, pub_path);
    status = EXIT_SUCCESS;
out:
    ledger_close(ledger);
    crypto_wipe(priv, sizeof(priv));
    return status;
}

static int command_issue(int argc, char **argv)
{
    struct ledger_args a;
    struct issue_order order;
    struct ledger *ledger;
    char key[KEYSTRING_BUFSIZE], err[256], who[64];
    int ret;

    ret = command_args(argc, argv,
                       SEEN(OPT_LCUSTOMER) | SEEN(OPT_LSEATS) | SEEN(OPT_YEARS) |
                           SEEN(OPT_LPERPETUAL) | SEEN(OPT_RULE),
                       0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.customer == NULL || !a.have_seats)
        return cli_usage_error("issue: --customer and --seats are required");
    if (a.have_years && a.perpetual)
        return cli_usage_error("issue: --years and --perpetual exclude each other");
    if (open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    memset(&order, 0, sizeof(order));
    order.customer = a.customer;
    order.seats = (uint32_t)a.seats;
    order.years = (unsigned)a.years;
    order.perpetual = a.perpetual;
    order.rule = a.rule;
    actor(who, sizeof(who));
    ret = authority_issue(ledger, &order, authority_now(), who, key, err, sizeof(err));
    ledger_close(ledger);
    if (ret != 0)
        return refused(NULL, ret, err);
    printf("%s\n", key);
    return EXIT_SUCCESS;
}

/* Runs the commands that take one KEY: extend, refund, replace, failover-key. */
static int command_key(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool extend = strcmp(cmd, "extend") == 0;
    char key[KEYSTRING_BUFSIZE], newkey[KEYSTRING_BUFSIZE], err[512], who[64];
    char when[LICENSE_TIME_BUFSIZE];
    struct ledger_args a;
    struct ledger *ledger;
    int64_t until = 0;
    int ret;

    ret = command_args(argc, argv, extend ? SEEN(OPT_YEARS) : 0, 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (extend && !a.have_years)
        return cli_usage_error("extend: --years is required");
    if (key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    if (open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    actor(who, sizeof(who));
    newkey[0] = '\0';
    if (extend)
        ret = authority_extend(ledger, key, (unsigned)a.years, authority_now(), who, &until, err,
                               sizeof(err));
    else if (strcmp(cmd, "refund") == 0)
        ret = authority_refund(ledger, key, authority_now(), who, err, sizeof(err));
    else if (strcmp(cmd, "replace") == 0)
        ret = authority_replace(ledger, key, authority_now(), who, newkey, err, sizeof(err));
    else
        ret = authority_failover_key(ledger, key, authority_now(), who, newkey, err, sizeof(err));
    ledger_close(ledger);
    if (ret != 0)
        return refused(key, ret, err);
    if (extend) {
        license_format_time(until, when, sizeof(when));
        printf("%s support-until %s\n", key, when);
    } else if (newkey[0] != '\0') {
        printf("%s\n", newkey);
    } else {
        printf("%s %s\n", key, "refunded");
    }
    return EXIT_SUCCESS;
}

static int command_split(int argc, char **argv)
{
    char key[KEYSTRING_BUFSIZE], err[512], who[64];
    char(*keys)[KEYSTRING_BUFSIZE] = NULL;
    uint32_t parts[AUTHORITY_MAX_SPLIT];
    struct ledger_args a;
    struct ledger *ledger;
    size_t nparts;
    int ret;

    ret = command_args(argc, argv, 0, -1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.npositional < 3)
        return cli_usage_error("split: expected KEY and at least two seat counts");
    nparts = (size_t)a.npositional - 1;
    if (nparts > AUTHORITY_MAX_SPLIT)
        return cli_usage_error("split: at most %d parts", AUTHORITY_MAX_SPLIT);
    for (size_t i = 0; i < nparts; i++) {
        long long n;
        if (parse_integer(a.positional[i + 1], 1, AUTHORITY_MAX_SEATS, &n) != 0)
            return cli_usage_error("split: '%s' is not a seat count 1..%d", a.positional[i + 1],
                                   AUTHORITY_MAX_SEATS);
        parts[i] = (uint32_t)n;
    }
    if (key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    keys = calloc(nparts, sizeof(*keys));
    if (keys == NULL) {
        cli_fail("out of memory");
        return EXIT_FAILURE;
    }
    if (open_ledger(a.dir, &ledger) != 0) {
        free(keys);
        return EXIT_FAILURE;
    }
    actor(who, sizeof(who));
    ret = authority_split(ledger, key, parts, nparts, authority_now(), who, keys, err, sizeof(err));
    ledger_close(ledger);
    if (ret == 0) {
        for (size_t i = 0; i < nparts; i++)
            printf("%s\n", keys[i]);
    }
    free(keys);
    return ret != 0 ? refused(key, ret, err) : EXIT_SUCCESS;
}

static const char *date_or_none(int64_t t, char buf[LICENSE_TIME_BUFSIZE])
{
    if (t == 0 || license_format_time(t, buf, LICENSE_TIME_BUFSIZE) != 0)
        return "none";
    return buf;
}

static const char *or_none(const char *s)
{
    return s[0] != '\0' ? s : "none";
}

/* The keys made from key, comma-separated into out ("" when none). */
static void children_text(char (*children)[KEYSTRING_BUFSIZE], size_t n, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", i > 0 ? ", " : "", children[i]);
}

static int show_json(const struct key_record *rec, const char *binding,
                     char (*children)[KEYSTRING_BUFSIZE], size_t n, const char *failover)
{
    json_object *obj = key_record_json(rec), *list = json_object_new_array();

    if (obj == NULL || list == NULL) {
        json_object_put(obj);
        json_object_put(list);
        return print_json(NULL);
    }
    json_object_object_add(obj, "binding",
                           binding[0] != '\0' ? json_object_new_string(binding) : NULL);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(list, json_object_new_string(children[i]));
    json_object_object_add(obj, "children", list);
    json_object_object_add(obj, "failover_key",
                           failover[0] != '\0' ? json_object_new_string(failover) : NULL);
    return print_json(obj);
}

static int command_show(int argc, char **argv)
{
    char key[KEYSTRING_BUFSIZE], binding[LEDGER_BINDING_MAX], failover[KEYSTRING_BUFSIZE];
    char d1[LICENSE_TIME_BUFSIZE], d2[LICENSE_TIME_BUFSIZE], d3[LICENSE_TIME_BUFSIZE],
        d4[LICENSE_TIME_BUFSIZE], d5[LICENSE_TIME_BUFSIZE], kids[AUTHORITY_MAX_SPLIT * 32];
    char(*children)[KEYSTRING_BUFSIZE] = NULL;
    struct ledger_args a;
    struct ledger *ledger;
    struct key_record rec;
    size_t nchildren = 0;
    int ret;

    ret = command_args(argc, argv, SEEN(OPT_JSON), 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    if (open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_key_get(ledger, key, &rec);
    if (ret == 0) {
        ret = ledger_binding_active(ledger, key, binding, sizeof(binding));
        if (ret == 0 || ret == -ENOENT)
            ret = ledger_failover_of(ledger, key, failover);
        if (ret == -ENOENT)
            ret = 0;
    }
    if (ret == 0)
        ret = ledger_children(ledger, key, &children, &nchildren);
    if (ret != 0) {
        if (ret == -ENOENT)
            cli_fail("'%s': license key unknown", key);
        else
            cli_fail("ledger: %s", ledger_error(ledger));
        ledger_close(ledger);
        return EXIT_FAILURE;
    }
    ledger_close(ledger);
    if (a.json) {
        ret = show_json(&rec, binding, children, nchildren, failover);
        free(children);
        return ret;
    }
    children_text(children, nchildren, kids, sizeof(kids));
    free(children);
    printf("key:             %s\n"
           "state:           %s\n"
           "customer:        %s\n"
           "seats:           %u\n"
           "kind:            %s\n"
           "primary-key:     %s\n"
           "failover-key:    %s\n"
           "perpetual:       %s\n"
           "rule:            %s\n"
           "created:         %s\n"
           "support-until:   %s\n"
           "sunset:          %s\n"
           "origin:          %s\n"
           "children:        %s\n"
           "replaced-by:     %s\n"
           "activated:       %s\n"
           "installation-id: %s\n"
           "binding:         %s\n"
           "cloned:          %s\n",
           rec.key, key_state_name(rec.state), rec.customer, rec.seats,
           rec.kind == LICENSE_KIND_FAILOVER ? "failover" : "standard", or_none(rec.primary_key),
           or_none(failover), rec.perpetual ? "yes" : "no", rec.rule, date_or_none(rec.created, d1),
           date_or_none(rec.support_until, d2), date_or_none(rec.sunset, d3), or_none(rec.origin),
           or_none(kids), or_none(rec.replaced_by), date_or_none(rec.activated, d4),
           or_none(rec.installation_id), or_none(binding), date_or_none(rec.cloned, d5));
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int command_list(int argc, char **argv)
{
    char d1[LICENSE_TIME_BUFSIZE];
    struct ledger_args a;
    struct ledger *ledger;
    struct key_record *list;
    size_t n;
    int ret;

    ret = command_args(argc, argv, SEEN(OPT_JSON) | SEEN(OPT_LCUSTOMER), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_key_list(ledger, a.customer, &list, &n);
    if (ret != 0) {
        cli_fail("ledger: %s", ledger_error(ledger));
        ledger_close(ledger);
        return EXIT_FAILURE;
    }
    ledger_close(ledger);
    if (a.json) {
        json_object *array = json_object_new_array();
        for (size_t i = 0; array != NULL && i < n; i++)
            json_object_array_add(array, key_record_json(&list[i]));
        free(list);
        return print_json(array);
    }
    printf("%-22s  %-9s  %7s  %-8s  %-20s  %s\n", "KEY", "STATE", "SEATS", "KIND", "SUPPORT-UNTIL",
           "CUSTOMER");
    for (size_t i = 0; i < n; i++)
        printf("%-22s  %-9s  %7u  %-8s  %-20s  %s\n", list[i].key, key_state_name(list[i].state),
               list[i].seats, list[i].kind == LICENSE_KIND_FAILOVER ? "failover" : "standard",
               date_or_none(list[i].support_until, d1), list[i].customer);
    free(list);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const char *member_text(json_object *obj, const char *name)
{
    json_object *v = json_object_object_get(obj, name);

    return v != NULL ? json_object_get_string(v) : "-";
}

static int command_audit(int argc, char **argv)
{
    struct ledger_args a;
    struct ledger *ledger;
    json_object *rows;
    int ret;

    ret = command_args(argc, argv, SEEN(OPT_JSON), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_audit_json(ledger, &rows);
    if (ret != 0) {
        cli_fail("ledger: %s", ledger_error(ledger));
        ledger_close(ledger);
        return EXIT_FAILURE;
    }
    ledger_close(ledger);
    if (a.json)
        return print_json(rows);
    printf("%6s  %-20s  %-16s  %-12s  %s\n", "ID", "AT", "WHO", "WHAT", "KEY");
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        printf("%6s  %-20s  %-16s  %-12s  %s\n", member_text(row, "id"), member_text(row, "at"),
               member_text(row, "who"), member_text(row, "what"), member_text(row, "key"));
    }
    json_object_put(rows);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int command_serve(int argc, char **argv)
{
    struct serve_config cfg;
    struct ledger_args a;
    struct ledger *ledger;
    uint8_t priv[32];
    char err[512];
    int ret;

    ret = command_args(argc, argv, SEEN(OPT_LISTEN) | SEEN(OPT_CERT) | SEEN(OPT_TLS_KEY), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.listen == NULL || a.cert == NULL || a.tls_key == NULL)
        return cli_usage_error("serve: --listen, --cert and --key are required");
    if (read_issuer_key(a.dir, priv) != 0)
        return EXIT_FAILURE;
    if (open_ledger(a.dir, &ledger) != 0) {
        crypto_wipe(priv, sizeof(priv));
        return EXIT_FAILURE;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = a.listen;
    cfg.cert_path = a.cert;
    cfg.key_path = a.tls_key;
    cfg.ledger = ledger;
    cfg.issuer_priv = priv;
    ret = authority_serve(&cfg, err, sizeof(err));
    if (ret != 0)
        cli_fail("%s", err);
    ledger_close(ledger);
    crypto_wipe(priv, sizeof(priv));
    return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Whether the license can be written to path: checked before the request
 * is answered, so that a typo in --out does not spend the request. */
static int out_writable(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_fail("--out %s: not a regular file", path);
        return -EINVAL;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_fail("--out %s: cannot write in %s: %s", path, dir, strerror(errno));
        return -errno;
    }
    return 0;
}

/* Writes the license to path atomically (mode 0644: a license is no secret),
 * or to stdout when path is NULL; when path cannot be written after all, the
 * license goes to stdout so that the granted answer is not lost. */
static int write_license(const char *path, const char *license, size_t len)
{
    int ret = 0;

    if (path != NULL) {
        ret = fs_write_atomic(path, license, len, 0644);
        if (ret == 0)
            return 0;
        cli_fail("cannot write %s: %s: the license follows on stdout", path, strerror(-ret));
    }
    if (fwrite(license, 1, len, stdout) == len && fflush(stdout) == 0)
        return ret;
    cli_fail("cannot write to stdout: %s", strerror(errno));
    return -EIO;
}

static int command_activate_offline(int argc, char **argv)
{
    struct activation_terms terms = {.channel = ACTIVATION_OFFLINE};
    struct activation_request req;
    struct activation_result res;
    struct ledger_args a;
    struct ledger *ledger = NULL;
    char *text = NULL, *body = NULL, err[256], who[80], user[64];
    size_t textlen, bodylen;
    uint8_t priv[32];
    int64_t now;
    int ret, status = EXIT_FAILURE;

    memset(priv, 0, sizeof(priv));
    ret = command_args(argc, argv, SEEN(OPT_OUT) | SEEN(OPT_LLEASE_DAYS), 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    terms.lease_days = (unsigned)a.lease_days;
    if (a.out != NULL && out_writable(a.out) != 0)
        return EXIT_FAILURE;
    ret = fs_read_bounded(a.positional[0], OFFLINE_REQUEST_MAX, &text, &textlen);
    if (ret != 0) {
        cli_fail("%s: %s", a.positional[0],
                 ret == -EFBIG ? "larger than 64 KiB: not a request file" : strerror(-ret));
        return EXIT_FAILURE;
    }
    ret = activation_request_unarmor(text, textlen, &body, &bodylen, err, sizeof(err));
    if (ret == 0)
        ret = activation_request_parse(body, bodylen, &req, err, sizeof(err));
    if (ret != 0) {
        cli_fail("%s: not a valid activation request: %s", a.positional[0], err);
        goto out;
    }
    if (read_issuer_key(a.dir, priv) != 0 || open_ledger(a.dir, &ledger) != 0)
        goto out;
    actor(user, sizeof(user));
    snprintf(who, sizeof(who), "offline %s", user);
    now = authority_now();
    authority_accept_request(ledger, &req, ACTIVATION_OFFLINE, now, &res);
    if (res.outcome == ACTIVATION_OK)
        authority_activate(ledger, priv, &req, &terms, now, who, &res);
    if (res.outcome != ACTIVATION_OK) {
        cli_fail("'%s': %s", req.key, res.error);
        goto out;
    }
    if (write_license(a.out, res.license, res.len) == 0)
        status = EXIT_SUCCESS;
    fprintf(stderr, PROGRAM ": %s installation %s: %s\n", req.key, req.installation_id, res.what);
    free(res.license);
out:
    ledger_close(ledger);
    crypto_wipe(priv, sizeof(priv));
    free(body);
    free(text);
    return status;
}

#ifdef LICGATE_TEST_SEAMS
/* Test builds only: what licgatectl sends, made from given digests, so the
 * authority's tests need no client. The installation key file is created
 * when missing. */
static int parse_component_arg(const char *text, struct binding_component *comp)
{
    const char *eq = strchr(text, '=');

    if (eq == NULL || license_component_type(text, (size_t)(eq - text), &comp->type) != 0)
        return -EINVAL;
    return hex_decode(eq + 1, strlen(eq + 1), comp->digest, sizeof(comp->digest));
}

static int command_make_request(int argc, char **argv)
{
    struct activation_request req;
    struct ledger_args a;
    uint8_t priv[32], pub[32], nonce[16];
    char *json = NULL, *armored = NULL, *file = NULL, key[KEYSTRING_BUFSIZE];
    size_t filelen = 0;
    struct stat st;
    int ret, status = EXIT_FAILURE;

    ret =
        command_args(argc, argv,
                     SEEN(OPT_INSTALLATION_KEY) | SEEN(OPT_COMPONENT) | SEEN(OPT_FINGERPRINT_FILE) |
                         SEEN(OPT_VIRTUAL) | SEEN(OPT_TIME) | SEEN(OPT_OFFLINE),
                     1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.installation_key == NULL)
        return cli_usage_error("make-request: --installation-key is required");
    memset(&req, 0, sizeof(req));
    /* The key goes out as typed (canonical when it is valid), so tests can
     * send malformed keys too. */
    if (keystring_canonicalize(a.positional[0], key, NULL, 0) == 0)
        snprintf(req.key, sizeof(req.key), "%s", key);
    else
        snprintf(req.key, sizeof(req.key), "%s", a.positional[0]);
    if (a.fingerprint_file != NULL) {
        ret = fs_read_bounded(a.fingerprint_file, 64 * 1024, &file, &filelen);
        if (ret != 0) {
            cli_fail("%s: %s", a.fingerprint_file, strerror(-ret));
            return EXIT_FAILURE;
        }
        for (char *line = strtok(file, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (line[0] == '\0' || line[0] == '#')
                continue;
            if (a.ncomponents == LICENSE_MAX_COMPONENTS) {
                cli_fail("%s: more than %d components", a.fingerprint_file, LICENSE_MAX_COMPONENTS);
                goto out;
            }
            a.components[a.ncomponents++] = line;
        }
    }
    for (size_t i = 0; i < a.ncomponents; i++) {
        if (parse_component_arg(a.components[i], &req.components[i]) != 0) {
            status = cli_usage_error("make-request: '%s' is not TYPE=<64 hex>", a.components[i]);
            goto out;
        }
    }
    req.ncomponents = a.ncomponents;
    req.is_virtual = a.is_virtual;
    if (lstat(a.installation_key, &st) != 0) {
        ret = crypto_ed25519_keygen(priv, pub);
        if (ret == 0)
            ret = crypto_ed25519_write_private_pem(a.installation_key, priv);
    } else {
        ret = crypto_ed25519_read_private_pem(a.installation_key, priv);
    }
    if (ret != 0) {
        cli_fail("%s: %s", a.installation_key, strerror(-ret));
        goto out;
    }
    if (getentropy(nonce, sizeof(nonce)) != 0) {
        cli_fail("getentropy: %s", strerror(errno));
        goto out;
    }
    hex_encode(nonce, sizeof(nonce), req.nonce);
    if (a.time != NULL)
        snprintf(req.time, sizeof(req.time), "%s", a.time);
    else
        license_format_time(authority_now(), req.time, sizeof(req.time));
    ret = activation_request_build(&req, priv, &json);
    if (ret == 0 && a.offline)
        ret = activation_request_armor(json, strlen(json), &armored, NULL);
    if (ret != 0) {
        cli_fail("cannot build the request: %s", strerror(-ret));
        goto out;
    }
    if (a.offline)
        fputs(armored, stdout);
    else
        printf("%s\n", json);
    status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
    crypto_wipe(priv, sizeof(priv));
    free(json);
    free(armored);
    free(file);
    return status;
}
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"keygen", command_keygen},
    {"sign", command_sign},
    {"init", command_init},
    {"issue", command_issue},
    {"extend", command_key},
    {"split", command_split},
    {"refund", command_key},
    {"replace", command_key},
    {"failover-key", command_key},
    {"show", command_show},
    {"list", command_list},
    {"audit", command_audit},
    {"serve", command_serve},
    {"activate-offline", command_activate_offline},
#ifdef LICGATE_TEST_SEAMS
    {"make-request", command_make_request},
#endif
};

int main(int argc, char **argv)
{
    cli_program = PROGRAM;
    if (argc < 2)
        return cli_usage_error("missing command");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_SUCCESS;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("unknown command '%s'", argv[1]);
}
