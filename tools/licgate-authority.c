/* licgate-authority: the vendor side. This first version makes issuer keys
 * and signs license documents. Exit 0 on success, 1 on failure, 2 on usage
 * errors; every error is one line on stderr. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "license.h"
#include "crypto.h"

#define PROGRAM         "licgate-authority"
#define EXIT_USAGE      2
#define SECONDS_PER_DAY 86400
#define DAYS_LIMIT      36500

static const char usage_text[] =
    "usage: " PROGRAM " keygen --private FILE --public FILE\n"
    "       " PROGRAM " sign --key PRIVPEM --key-id ID --customer NAME --seats N [options]\n"
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

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs(PROGRAM ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROGRAM ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try '" PROGRAM " --help')\n", stderr);
    return EXIT_USAGE;
}

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
        return usage_error("%s: '%s' is not in %d..%d", option, text, -DAYS_LIMIT, DAYS_LIMIT);
    return 0;
}

static int option_date(const char *option, const char *text, int64_t *t)
{
    if (license_parse_time(text, strlen(text), t) != 0)
        return usage_error("%s: '%s' is not a date YYYY-MM-DDTHH:MM:SSZ (1971..2199)", option,
                           text);
    return 0;
}

/* Copies an option value into a fixed field; too long is a usage error. */
static int option_string(const char *option, const char *text, char *field, size_t size)
{
    if (strlen(text) >= size)
        return usage_error("%s: longer than %zu bytes", option, size - 1);
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
            return usage_error("%s: missing argument", argv[optind - 1]);
        default:
            return usage_error("keygen: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return usage_error("keygen: unexpected argument '%s'", argv[optind]);
    if (private_path == NULL || public_path == NULL)
        return usage_error("keygen: --private and --public are required");
    if (lstat(private_path, &st) == 0) {
        fail("%s: already exists; refusing to overwrite a private key", private_path);
        return EXIT_FAILURE;
    }
    ret = crypto_ed25519_keygen(priv, pub);
    if (ret != 0) {
        fail("cannot generate a key: %s", strerror(-ret));
        goto out;
    }
    ret = crypto_ed25519_write_private_pem(private_path, priv);
    if (ret != 0) {
        fail("%s: %s", private_path, strerror(-ret));
        goto out;
    }
    ret = crypto_ed25519_write_public_pem(public_path, pub);
    if (ret != 0) {
        fail("%s: %s", public_path, strerror(-ret));
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
                return usage_error("--seats: '%s' is not in 1..1000000", optarg);
            req->lic.seats = (uint32_t)seats;
            break;
        case OPT_KIND:
            if (strcmp(optarg, "standard") == 0)
                req->lic.kind = LICENSE_KIND_STANDARD;
            else if (strcmp(optarg, "failover") == 0)
                req->lic.kind = LICENSE_KIND_FAILOVER;
            else
                return usage_error("--kind: '%s' is not standard or failover", optarg);
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
                return usage_error("--binding: %s", why);
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case ':':
            return usage_error("%s: missing argument", argv[optind - 1]);
        default:
            return usage_error("sign: unknown option '%s'", argv[optind - 1]);
        }
        if (ret != 0)
            return ret;
    }
    if (optind != argc)
        return usage_error("sign: unexpected argument '%s'", argv[optind]);
    if (req->key_path == NULL || !req->have_key_id || !req->have_customer || !req->have_seats)
        return usage_error("sign: --key, --key-id, --customer and --seats are required");
    if (req->have_issued && req->have_issued_days_ago)
        return usage_error("sign: --issued and --issued-days-ago exclude each other");
    if (req->have_support_until && req->have_support_days)
        return usage_error("sign: --support-until and --support-days exclude each other");
    if (req->lease_options > 1)
        return usage_error("sign: use only one of --lease-days, --lease-not-after, --no-lease");
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
        fail("%s", reason);
        return EXIT_USAGE;
    }
    ret = crypto_ed25519_read_private_pem(req.key_path, priv);
    if (ret != 0) {
        fail("%s: %s", req.key_path,
             ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
        goto out;
    }
    ret = license_sign(&req.lic, priv, &doc, &doclen);
    if (ret != 0) {
        fail("cannot sign: %s", strerror(-ret));
        goto out;
    }
    if (fwrite(doc, 1, doclen, stdout) != doclen || fflush(stdout) != 0) {
        fail("cannot write to stdout: %s", strerror(errno));
        goto out;
    }
    status = EXIT_SUCCESS;
out:
    crypto_wipe(priv, sizeof(priv));
    free(doc);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command (keygen or sign)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(argv[1], "keygen") == 0)
        return command_keygen(argc - 1, argv + 1);
    if (strcmp(argv[1], "sign") == 0)
        return command_sign(argc - 1, argv + 1);
    return usage_error("unknown command '%s'", argv[1]);
}
