/* The developer commands: keygen and sign; see authority_commands.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authority_cli.h"
#include "authority_commands.h"
#include "cli.h"
#include "clock.h"
#include "crypto.h"
#include "fs.h"
#include "license.h"
#include "license_sign.h"

#define SECONDS_PER_DAY 86400
#define DAYS_LIMIT      36500

int authority_cmd_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"private", required_argument, NULL, 'p'},
        {"public", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *private_path = NULL, *public_path = NULL;
    uint8_t priv[32], pub[32];
    struct fs_info st;
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
            authority_usage();
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
    if (fs_info(private_path, false, &st) == 0) {
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

/* ------------------------------------------------------------------ sign */

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

static int option_days(const char *option, const char *text, long long *days)
{
    if (cli_parse_integer(text, -DAYS_LIMIT, DAYS_LIMIT, days) != 0)
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

/* The options that say when: issue, support, lease and sunset. 0, or the
 * exit status of a usage error. */
static int term_option(int opt, const char *value, struct sign_request *req)
{
    switch (opt) {
    case OPT_ISSUED:
        req->have_issued = true;
        return option_date("--issued", value, &req->issued);
    case OPT_ISSUED_DAYS_AGO:
        req->have_issued_days_ago = true;
        return option_days("--issued-days-ago", value, &req->issued_days_ago);
    case OPT_SUPPORT_UNTIL:
        req->have_support_until = true;
        return option_date("--support-until", value, &req->support_until);
    case OPT_SUPPORT_DAYS:
        req->have_support_days = true;
        return option_days("--support-days", value, &req->support_days);
    case OPT_PERPETUAL:
        req->lic.perpetual = true;
        return 0;
    case OPT_LEASE_DAYS:
        req->lease_options++;
        return option_days("--lease-days", value, &req->lease_days);
    case OPT_LEASE_NOT_AFTER:
        req->lease_options++;
        req->have_lease_not_after = true;
        return option_date("--lease-not-after", value, &req->lease_not_after);
    case OPT_NO_LEASE:
        req->lease_options++;
        req->no_lease = true;
        return 0;
    default: /* OPT_SUNSET */
        return option_date("--sunset", value, &req->lic.sunset);
    }
}

/* The options that say what and for whom. 0, or the exit status of a usage
 * error. */
static int sign_option(int opt, const char *value, struct sign_request *req)
{
    struct license *lic = &req->lic;
    long long seats;
    char why[256];

    switch (opt) {
    case OPT_KEY:
        req->key_path = value;
        return 0;
    case OPT_KEY_ID:
        req->have_key_id = true;
        return option_string("--key-id", value, lic->key_id, sizeof(lic->key_id));
    case OPT_CUSTOMER:
        req->have_customer = true;
        return option_string("--customer", value, lic->customer, sizeof(lic->customer));
    case OPT_SEATS:
        req->have_seats = true;
        if (cli_parse_integer(value, 1, 1000000, &seats) != 0)
            return cli_usage_error("--seats: '%s' is not in 1..1000000", value);
        lic->seats = (uint32_t)seats;
        return 0;
    case OPT_KIND:
        if (license_kind_from_name(value, strlen(value), &lic->kind) != 0)
            return cli_usage_error("--kind: '%s' is not standard, failover or cluster", value);
        return 0;
    case OPT_PRIMARY_KEY:
        return option_string("--primary-key", value, lic->primary_key, sizeof(lic->primary_key));
    case OPT_INSTALLATION_ID:
        return option_string("--installation-id", value, lic->installation_id,
                             sizeof(lic->installation_id));
    case OPT_BINDING:
        if (license_parse_binding(value, lic, why, sizeof(why)) != 0)
            return cli_usage_error("--binding: %s", why);
        return 0;
    default:
        return term_option(opt, value, req);
    }
}

/* 0 to go on, -1 after the help, or the exit status of a usage error. */
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
    int opt, ret;

    memset(req, 0, sizeof(*req));
    req->support_days = 365;
    req->lease_days = 30;
    req->lic.kind = LICENSE_KIND_STANDARD;
    req->lic.binding_rule = BINDING_NONE;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'h') {
            authority_usage();
            return -1;
        }
        if (opt == ':')
            return cli_usage_error("%s: missing argument", argv[optind - 1]);
        if (opt < OPT_KEY)
            return cli_usage_error("sign: unknown option '%s'", argv[optind - 1]);
        if ((ret = sign_option(opt, optarg, req)) != 0)
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

int authority_cmd_sign(int argc, char **argv)
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
    resolve_dates(&req, clock_wall_now());
    if (license_validate(&req.lic, reason, sizeof(reason)) != 0) {
        cli_fail("%s", reason);
        return EXIT_USAGE;
    }
    if (authority_read_private_key(req.key_path, priv) != 0)
        goto out;
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
