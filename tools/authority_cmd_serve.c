/* Activation: serve and activate-offline; see authority_commands.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation_request.h"
#include "authority_activation.h"
#include "authority_cli.h"
#include "authority_clock.h"
#include "authority_commands.h"
#include "authority_http.h"
#include "cli.h"
#include "crypto.h"
#include "fs.h"

int authority_cmd_serve(int argc, char **argv)
{
    struct serve_config cfg;
    struct ledger_args a;
    struct ledger *ledger;
    uint8_t priv[32];
    char err[512];
    int ret;

    ret = authority_command_args(
        argc, argv,
        AUTHORITY_SEEN(OPT_LISTEN) | AUTHORITY_SEEN(OPT_CERT) | AUTHORITY_SEEN(OPT_TLS_KEY), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (a.listen == NULL || a.cert == NULL || a.tls_key == NULL)
        return cli_usage_error("serve: --listen, --cert and --key are required");
    if (authority_read_issuer_key(a.dir, priv) != 0)
        return EXIT_FAILURE;
    if (authority_open_ledger(a.dir, &ledger) != 0) {
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
    struct fs_info st;
    int e;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (fs_info(path, false, &st) == 0 && !S_ISREG(st.mode)) {
        cli_fail("--out %s: not a regular file", path);
        return -EINVAL;
    }
    e = fs_dir_writable(dir);
    if (e != 0) {
        cli_fail("--out %s: cannot write in %s: %s", path, dir, strerror(-e));
        return e;
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

/* The verified request in the file at path: 0, or -1 after reporting why not. */
static int read_request_file(const char *path, struct activation_request *req)
{
    char *text = NULL, *body = NULL, err[256];
    size_t textlen, bodylen;
    int ret;

    ret = fs_read_bounded(path, OFFLINE_REQUEST_MAX, &text, &textlen);
    if (ret != 0) {
        cli_fail("%s: %s", path,
                 ret == -EFBIG ? "larger than 64 KiB: not a request file" : strerror(-ret));
        return -1;
    }
    ret = activation_request_unarmor(text, textlen, &body, &bodylen, err, sizeof(err));
    if (ret == 0)
        ret = activation_request_parse(body, bodylen, req, err, sizeof(err));
    if (ret != 0)
        cli_fail("%s: not a valid activation request: %s", path, err);
    free(body);
    free(text);
    return ret != 0 ? -1 : 0;
}

int authority_cmd_activate_offline(int argc, char **argv)
{
    struct activation_terms terms = {.channel = ACTIVATION_OFFLINE};
    struct activation_request req;
    struct activation_result res;
    struct ledger_args a;
    struct ledger *ledger = NULL;
    char who[80], user[64];
    uint8_t priv[32];
    int64_t now;
    int ret, status = EXIT_FAILURE;

    memset(priv, 0, sizeof(priv));
    ret = authority_command_args(argc, argv,
                                 AUTHORITY_SEEN(OPT_OUT) | AUTHORITY_SEEN(OPT_LLEASE_DAYS), 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    terms.lease_days = (unsigned)a.lease_days;
    if (a.out != NULL && out_writable(a.out) != 0)
        return EXIT_FAILURE;
    if (read_request_file(a.positional[0], &req) != 0)
        return EXIT_FAILURE;
    if (authority_read_issuer_key(a.dir, priv) != 0 || authority_open_ledger(a.dir, &ledger) != 0)
        goto out;
    authority_actor(user, sizeof(user));
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
    fprintf(stderr, AUTHORITY_PROGRAM ": %s installation %s: %s\n", req.key, req.installation_id,
            res.what);
    free(res.license);
out:
    ledger_close(ledger);
    crypto_wipe(priv, sizeof(priv));
    return status;
}
