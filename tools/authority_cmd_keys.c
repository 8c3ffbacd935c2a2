/* The key lifecycle commands: init, issue, extend, refund, replace,
 * failover-key and split; see authority_commands.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authority_cli.h"
#include "authority_clock.h"
#include "authority_commands.h"
#include "authority_lifecycle.h"
#include "cli.h"
#include "crypto.h"
#include "fs.h"
#include "hex.h"

/* The paths init makes in the authority directory. */
struct authority_paths {
    char priv[4096], pub[4096], ledger[4096];
};

/* Makes dir (0700, this user's) for a new authority: an exit status, 0 to go
 * on. An existing issuer key or ledger is never overwritten. */
static int prepare_dir(const char *dir, const struct authority_paths *p)
{
    struct fs_info st;
    int r;

    if (fs_info(dir, false, &st) == 0 && !S_ISDIR(st.mode)) {
        cli_fail("%s: not a directory", dir);
        return EXIT_FAILURE;
    }
    if (authority_check_dir_owner(dir) != 0)
        return EXIT_FAILURE;
    if (fs_info(p->priv, false, &st) == 0 || fs_info(p->ledger, false, &st) == 0) {
        cli_fail("%s: already initialized; refusing to overwrite its issuer key or ledger", dir);
        return EXIT_FAILURE;
    }
    r = fs_mkdir_mode(dir, 0700);
    if (r != 0) {
        cli_fail("%s: %s", dir, r == -ENOTDIR ? "not a directory" : strerror(-r));
        return EXIT_FAILURE;
    }
    return 0;
}

/* The issuer key pair: copied from issuer_key, else made; written to p. */
static int make_issuer_key(const char *dir, const char *issuer_key, const struct authority_paths *p,
                           uint8_t priv[32], uint8_t pub[32])
{
    int ret;

    if (issuer_key != NULL) {
        if (authority_read_private_key(issuer_key, priv) != 0)
            return -EIO;
        ret = crypto_ed25519_public_from_private(priv, pub);
        if (ret != 0) {
            cli_fail("%s: %s", issuer_key,
                     ret == -EBADMSG ? "not an Ed25519 private key PEM" : strerror(-ret));
            return ret;
        }
    } else {
        ret = crypto_ed25519_keygen(priv, pub);
    }
    if (ret == 0)
        ret = crypto_ed25519_write_private_pem(p->priv, priv);
    if (ret == 0)
        ret = crypto_ed25519_write_public_pem(p->pub, pub);
    if (ret != 0)
        cli_fail("cannot make the issuer key in %s: %s", dir, strerror(-ret));
    return ret;
}

/* The new ledger, its first audit row naming the issuer: 0, or -1 reported. */
static int make_ledger(const char *dir, const struct authority_paths *p, const uint8_t pub[32],
                       char issuer[17])
{
    struct ledger *ledger = NULL;
    struct issuer_key ik;
    char err[512], who[64], after[128];
    uint8_t id[8];
    int ret;

    if (ledger_open(dir, true, &ledger, err, sizeof(err)) != 0) {
        cli_fail("%s", err);
        return -1;
    }
    memcpy(ik.pub, pub, sizeof(ik.pub));
    license_issuer_id(&ik, id);
    hex_encode(id, sizeof(id), issuer);
    snprintf(after, sizeof(after), "{\"issuer\":\"%s\",\"schema\":%d}", issuer,
             LEDGER_SCHEMA_VERSION);
    authority_actor(who, sizeof(who));
    ret = ledger_begin(ledger);
    if (ret == 0)
        ret = ledger_audit(ledger, authority_now(), who, "init", NULL, NULL, after);
    if (ret == 0)
        ret = ledger_commit(ledger);
    if (ret != 0) {
        cli_fail("%s: %s", p->ledger, ledger_error(ledger));
        ledger_rollback(ledger);
    }
    ledger_close(ledger);
    return ret != 0 ? -1 : 0;
}

int authority_cmd_init(int argc, char **argv)
{
    struct authority_paths p;
    struct ledger_args a;
    uint8_t priv[32], pub[32];
    char issuer[17];
    int ret, status = EXIT_FAILURE;

    ret = authority_command_args(argc, argv, AUTHORITY_SEEN(OPT_ISSUER_KEY), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (authority_path_in(a.dir, AUTHORITY_ISSUER_KEY, p.priv, sizeof(p.priv)) != 0 ||
        authority_path_in(a.dir, AUTHORITY_ISSUER_PUB, p.pub, sizeof(p.pub)) != 0 ||
        authority_path_in(a.dir, LEDGER_FILE, p.ledger, sizeof(p.ledger)) != 0)
        return EXIT_FAILURE;
    if ((ret = prepare_dir(a.dir, &p)) != 0)
        return ret;
    if (make_issuer_key(a.dir, a.issuer_key, &p, priv, pub) == 0 &&
        make_ledger(a.dir, &p, pub, issuer) == 0) {
        printf("initialized %s: issuer %s (public key %s: add it to the trusted issuer keys)\n",
               a.dir, issuer, p.pub);
        status = EXIT_SUCCESS;
    }
    crypto_wipe(priv, sizeof(priv));
    return status;
}

int authority_cmd_issue(int argc, char **argv)
{
    struct ledger_args a;
    struct issue_order order;
    struct ledger *ledger;
    char key[KEYSTRING_BUFSIZE], err[256], who[64];
    int ret;

    ret = authority_command_args(argc, argv,
                                 AUTHORITY_SEEN(OPT_LCUSTOMER) | AUTHORITY_SEEN(OPT_LSEATS) |
                                     AUTHORITY_SEEN(OPT_YEARS) | AUTHORITY_SEEN(OPT_LPERPETUAL) |
                                     AUTHORITY_SEEN(OPT_RULE) | AUTHORITY_SEEN(OPT_LKIND) |
                                     AUTHORITY_SEEN(OPT_LNODES),
                                 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.customer == NULL || !a.have_seats)
        return cli_usage_error("issue: --customer and --seats are required");
    if (a.have_years && a.perpetual)
        return cli_usage_error("issue: --years and --perpetual exclude each other");
    if (a.kind == LICENSE_KIND_FAILOVER)
        return cli_usage_error("issue: --kind failover: a failover key is made with "
                               "'failover-key KEY' (Q24)");
    if (a.kind == LICENSE_KIND_CLUSTER && (a.seen & AUTHORITY_SEEN(OPT_LNODES)) == 0)
        return cli_usage_error("issue: --kind cluster needs --nodes M (%d..%d)", LEDGER_MIN_NODES,
                               LEDGER_MAX_NODES);
    if (a.kind != LICENSE_KIND_CLUSTER && (a.seen & AUTHORITY_SEEN(OPT_LNODES)) != 0)
        return cli_usage_error("issue: --nodes applies to --kind cluster only");
    if (authority_open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    memset(&order, 0, sizeof(order));
    order.customer = a.customer;
    order.seats = (uint32_t)a.seats;
    order.years = (unsigned)a.years;
    order.perpetual = a.perpetual;
    order.rule = a.rule;
    order.kind = a.kind;
    order.nodes = (unsigned)a.nodes;
    authority_actor(who, sizeof(who));
    ret = authority_issue(ledger, &order, authority_now(), who, key, err, sizeof(err));
    ledger_close(ledger);
    if (ret != 0)
        return authority_refused(NULL, ret, err);
    printf("%s\n", key);
    return EXIT_SUCCESS;
}

/* Runs one of the commands that take one KEY on the ledger; newkey gets the
 * key replace and failover-key make, until the support end extend sets. */
static int run_key_command(const char *cmd, struct ledger *ledger, const char *key, unsigned years,
                           const char *who, char newkey[KEYSTRING_BUFSIZE], int64_t *until,
                           char *err, size_t errlen)
{
    if (strcmp(cmd, "extend") == 0)
        return authority_extend(ledger, key, years, authority_now(), who, until, err, errlen);
    if (strcmp(cmd, "refund") == 0)
        return authority_refund(ledger, key, authority_now(), who, err, errlen);
    if (strcmp(cmd, "replace") == 0)
        return authority_replace(ledger, key, authority_now(), who, newkey, err, errlen);
    return authority_failover_key(ledger, key, authority_now(), who, newkey, err, errlen);
}

int authority_cmd_key(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool extend = strcmp(cmd, "extend") == 0;
    char key[KEYSTRING_BUFSIZE], newkey[KEYSTRING_BUFSIZE], err[512], who[64];
    char when[LICENSE_TIME_BUFSIZE];
    struct ledger_args a;
    struct ledger *ledger;
    int64_t until = 0;
    int ret;

    ret = authority_command_args(argc, argv, extend ? AUTHORITY_SEEN(OPT_YEARS) : 0, 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (extend && !a.have_years)
        return cli_usage_error("extend: --years is required");
    if (authority_key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    if (authority_open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    authority_actor(who, sizeof(who));
    newkey[0] = '\0';
    ret =
        run_key_command(cmd, ledger, key, (unsigned)a.years, who, newkey, &until, err, sizeof(err));
    ledger_close(ledger);
    if (ret != 0)
        return authority_refused(key, ret, err);
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

/* The seat counts after KEY: 0, or the exit status of a usage error. */
static int split_parts(const struct ledger_args *a, uint32_t *parts, size_t *nparts)
{
    long long n;

    if (a->npositional < 3)
        return cli_usage_error("split: expected KEY and at least two seat counts");
    *nparts = (size_t)a->npositional - 1;
    if (*nparts > AUTHORITY_MAX_SPLIT)
        return cli_usage_error("split: at most %d parts", AUTHORITY_MAX_SPLIT);
    for (size_t i = 0; i < *nparts; i++) {
        if (cli_parse_integer(a->positional[i + 1], 1, AUTHORITY_MAX_SEATS, &n) != 0)
            return cli_usage_error("split: '%s' is not a seat count 1..%d", a->positional[i + 1],
                                   AUTHORITY_MAX_SEATS);
        parts[i] = (uint32_t)n;
    }
    return 0;
}

int authority_cmd_split(int argc, char **argv)
{
    char key[KEYSTRING_BUFSIZE], err[512], who[64];
    char(*keys)[KEYSTRING_BUFSIZE] = NULL;
    uint32_t parts[AUTHORITY_MAX_SPLIT];
    struct ledger_args a;
    struct ledger *ledger;
    size_t nparts = 0;
    int ret;

    ret = authority_command_args(argc, argv, 0, -1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if ((ret = split_parts(&a, parts, &nparts)) != 0)
        return ret;
    if (authority_key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    keys = calloc(nparts, sizeof(*keys));
    if (keys == NULL) {
        cli_fail("out of memory");
        return EXIT_FAILURE;
    }
    if (authority_open_ledger(a.dir, &ledger) != 0) {
        free(keys);
        return EXIT_FAILURE;
    }
    authority_actor(who, sizeof(who));
    ret = authority_split(ledger, key, parts, nparts, authority_now(), who, keys, err, sizeof(err));
    ledger_close(ledger);
    if (ret == 0) {
        for (size_t i = 0; i < nparts; i++)
            printf("%s\n", keys[i]);
    }
    free(keys);
    return ret != 0 ? authority_refused(key, ret, err) : EXIT_SUCCESS;
}
