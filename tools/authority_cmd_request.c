/* Test builds only: make-request, what licgatectl sends, made from given
 * digests, so the authority's tests need no client; see authority_commands.h.
 * Built into licgate-authority-test only (LICGATE_TEST_SEAMS). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "activation_request.h"
#include "authority_cli.h"
#include "authority_clock.h"
#include "authority_commands.h"
#include "cli.h"
#include "crypto.h"
#include "fs.h"
#include "hex.h"

static int parse_component_arg(const char *text, struct binding_component *comp)
{
    const char *eq = strchr(text, '=');

    if (eq == NULL || license_component_type(text, (size_t)(eq - text), &comp->type) != 0)
        return -EINVAL;
    return hex_decode(eq + 1, strlen(eq + 1), comp->digest, sizeof(comp->digest));
}

/* Adds the lines of --fingerprint-file (not blank, not '#') to a's
 * components; *file keeps the text they point into. 0, or -1 reported. */
static int read_fingerprint_file(struct ledger_args *a, char **file)
{
    size_t filelen = 0;
    int ret = fs_read_bounded(a->fingerprint_file, 64 * 1024, file, &filelen);

    if (ret != 0) {
        cli_fail("%s: %s", a->fingerprint_file, strerror(-ret));
        return -1;
    }
    for (char *line = strtok(*file, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (a->ncomponents == LICENSE_MAX_COMPONENTS) {
            cli_fail("%s: more than %d components", a->fingerprint_file, LICENSE_MAX_COMPONENTS);
            return -1;
        }
        a->components[a->ncomponents++] = line;
    }
    return 0;
}

/* The installation's private key, made and written when the file is missing. */
static int installation_key(const char *path, uint8_t priv[32])
{
    uint8_t pub[32];
    struct fs_info st;
    int ret;

    if (fs_info(path, false, &st) != 0) {
        ret = crypto_ed25519_keygen(priv, pub);
        if (ret == 0)
            ret = crypto_ed25519_write_private_pem(path, priv);
    } else {
        ret = crypto_ed25519_read_private_pem(path, priv);
    }
    if (ret != 0)
        cli_fail("%s: %s", path, strerror(-ret));
    return ret;
}

/* Signs req with priv and prints it: JSON on one line, or armored. */
static int print_request(struct activation_request *req, const uint8_t priv[32], bool offline)
{
    char *json = NULL, *armored = NULL;
    int ret, status = EXIT_FAILURE;

    ret = activation_request_build(req, priv, &json);
    if (ret == 0 && offline)
        ret = activation_request_armor(json, strlen(json), &armored, NULL);
    if (ret != 0) {
        cli_fail("cannot build the request: %s", strerror(-ret));
    } else {
        if (offline)
            fputs(armored, stdout);
        else
            printf("%s\n", json);
        status = authority_flush();
    }
    free(json);
    free(armored);
    return status;
}

/* The request's fields from the arguments: 0, or an exit status. */
static int request_fields(struct ledger_args *a, struct activation_request *req)
{
    char key[KEYSTRING_BUFSIZE];

    memset(req, 0, sizeof(*req));
    /* The key goes out as typed (canonical when it is valid), so tests can
     * send malformed keys too. */
    if (keystring_canonicalize(a->positional[0], key, NULL, 0) == 0)
        snprintf(req->key, sizeof(req->key), "%s", key);
    else
        snprintf(req->key, sizeof(req->key), "%s", a->positional[0]);
    for (size_t i = 0; i < a->ncomponents; i++) {
        if (parse_component_arg(a->components[i], &req->components[i]) != 0)
            return cli_usage_error("make-request: '%s' is not TYPE=<64 hex>", a->components[i]);
    }
    req->ncomponents = a->ncomponents;
    req->is_virtual = a->is_virtual;
    req->has_usage = (a->seen & AUTHORITY_SEEN(OPT_USAGE_PEAK)) != 0;
    req->usage_peak = (uint32_t)a->usage_peak;
    if (a->time != NULL)
        snprintf(req->time, sizeof(req->time), "%s", a->time);
    else
        license_format_time(authority_now(), req->time, sizeof(req->time));
    return 0;
}

int authority_cmd_make_request(int argc, char **argv)
{
    struct activation_request req;
    struct ledger_args a;
    uint8_t priv[32], nonce[16];
    char *file = NULL;
    int ret, status = EXIT_FAILURE;

    memset(priv, 0, sizeof(priv));
    ret = authority_command_args(
        argc, argv,
        AUTHORITY_SEEN(OPT_INSTALLATION_KEY) | AUTHORITY_SEEN(OPT_COMPONENT) |
            AUTHORITY_SEEN(OPT_FINGERPRINT_FILE) | AUTHORITY_SEEN(OPT_VIRTUAL) |
            AUTHORITY_SEEN(OPT_TIME) | AUTHORITY_SEEN(OPT_OFFLINE) | AUTHORITY_SEEN(OPT_USAGE_PEAK),
        1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.installation_key == NULL)
        return cli_usage_error("make-request: --installation-key is required");
    if (a.fingerprint_file != NULL && read_fingerprint_file(&a, &file) != 0)
        goto out;
    if ((ret = request_fields(&a, &req)) != 0) {
        status = ret;
        goto out;
    }
    if (installation_key(a.installation_key, priv) != 0)
        goto out;
    ret = crypto_random(nonce, sizeof(nonce));
    if (ret != 0) {
        cli_fail("getentropy: %s", strerror(-ret));
        goto out;
    }
    hex_encode(nonce, sizeof(nonce), req.nonce);
    status = print_request(&req, priv, a.offline);
out:
    crypto_wipe(priv, sizeof(priv));
    free(file);
    return status;
}
