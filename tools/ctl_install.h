/* licgatectl activate, install and refresh: checking a license against this
 * installation and machine, writing it into license-dir without ever
 * replacing a newer or working one, the record of which authority each key
 * was activated with (state-dir/authorities), and the three commands built on
 * ctl_activate.h. Int functions return 0 or -errno; err (may be NULL when
 * errlen is 0) holds one line saying why, without a newline. */
#ifndef LICGATE_TOOLS_CTL_INSTALL_H
#define LICGATE_TOOLS_CTL_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_activate.h"
#include "license.h"

#define CTL_AUTHORITIES_FILE "authorities"
#define CTL_AUTHORITIES_MAX  (64 * 1024)
#define CTL_URL_MAX          1024

/* Asks the running plugin to re-read license-dir. Prints its own result:
 * nothing when quiet and all went well; when no openvpn serves the pool, a
 * line saying the license counts once openvpn starts (not an error). Returns
 * 0, or -1 after printing the failure. */
typedef int (*ctl_reload_fn)(void *arg, bool quiet);

/* Reads the peak of the pool the plugin serves (the most sessions in use at
 * once since the pool was made) into *peak: 0, or -errno when it cannot be
 * told (no control socket, nobody listening, refused): then refresh sends
 * no usage. Reports nothing. */
typedef int (*ctl_peak_fn)(void *arg, uint32_t *peak);

struct ctl_context {
    const char *license_dir;
    const char *state_dir;
    /* activate: the authority to ask (NULL: none is configured, an error);
     * refresh: NULL asks each key's recorded authority, else this one */
    const char *authority;
    struct ctl_http_options http;
    bool rule_virtual; /* activate: bind to virtual links too ("+virtual") */
    bool quiet;        /* refresh: nothing on out, failures only */
    FILE *out;         /* results */
    FILE *errout;      /* refresh: one line per failed key */
    ctl_reload_fn reload;
    void *reload_arg;
    ctl_peak_fn pool_peak; /* refresh: a cluster license's usage report; NULL: none */
    void *pool_peak_arg;
};

/* Checks a license document before it is installed, in this order: the
 * signature with the compiled-in issuer keys; the key id (equal to key when
 * key is not NULL, else a well-formed license key); when the license carries
 * an installation id, that it is this installation's (state_dir's key; a
 * missing key is a mismatch); when it is machine-bound, that this machine
 * matches it as the plugin would judge (fingerprint_match). -EBADMSG with the
 * reason ("bad signature", "the license is for key X, not Y", "License error:
 * machine properties validation failed: verify fail: nic count 2 expected, 1
 * found", ...). *out is filled on success. */
int ctl_license_check(const char *text, size_t len, const char *key, const char *state_dir,
                      struct license *out, char *err, size_t errlen);

/* Writes a checked license (text, lic) into license_dir: over the file that
 * already holds lic's key (the first by name, the one the plugin counts),
 * else as license_dir/<key-id>.lic, mode 0644, atomically. Refuses (-ESTALE,
 * nothing written) a license issued before the installed one, and one that
 * would not count now while the installed one does. The same text again is
 * 0 with *changed false. path (may be NULL when pathlen is 0) gets the file. */
int ctl_license_install(const char *license_dir, const char *text, size_t len,
                        const struct license *lic, bool *changed, char *path, size_t pathlen,
                        char *err, size_t errlen);

/* The URL (and virtual flag) recorded for key in state_dir/authorities:
 * 0, -ENOENT when none; a malformed file is -EBADMSG. */
int ctl_authority_lookup(const char *state_dir, const char *key, char *url, size_t urllen,
                         bool *binding_virtual, char *err, size_t errlen);

/* Records (or replaces) key -> url in state_dir/authorities, atomically. */
int ctl_authority_record(const char *state_dir, const char *key, const char *url,
                         bool binding_virtual, char *err, size_t errlen);

/* licgatectl activate KEY: canonical key (a typo is -EINVAL before any
 * network), request signed by this installation, POST /v1/activate to
 * ctx->authority (NULL is -EDESTADDRREQ, "no authority is configured",
 * before anything is made or sent), the answer checked with
 * ctl_license_check(), installed, the authority recorded, then ctx->reload.
 * Prints the result to ctx->out. */
int ctl_cmd_activate(const struct ctl_context *ctx, const char *key_input, char *err,
                     size_t errlen);

/* licgatectl activate --offline-request KEY: the same signed request, armored,
 * on ctx->out. */
int ctl_cmd_offline_request(const struct ctl_context *ctx, const char *key_input, char *err,
                            size_t errlen);

/* licgatectl install FILE: ctl_license_check(), ctl_license_install(), reload. */
int ctl_cmd_install(const struct ctl_context *ctx, const char *file, char *err, size_t errlen);

/* licgatectl refresh: for every license in license-dir (the first file of
 * each key, as the plugin counts them) whose key has a recorded authority,
 * POST /v1/refresh and install the answer. A cluster license's request
 * carries the pool's peak (ctx->pool_peak) as its usage report when the
 * plugin tells it, and none otherwise. One line per license on ctx->out
 * unless ctx->quiet: "KEY: renewed, lease until DATE", "KEY: re-bound to
 * this machine's changed hardware, lease until DATE" (the new license's
 * binding differs from the installed one), "KEY: nothing to do (offline
 * license: no authority recorded)", or "nothing to do: no valid license in
 * DIR" when there is none. Each failure is one line on ctx->errout,
 * "licgatectl: KEY: refused: <the authority's reason> (the installed license
 * is kept)" or "licgatectl: KEY: not renewed: <why> (...)", and leaves that
 * license as it was; the other keys are still refreshed, and ctx->reload
 * (quiet with ctx->quiet) follows when any license changed. Returns 0;
 * -EREMOTEIO when some key failed (err is "": each has had its line); or
 * -errno with err when nothing could be tried (a license-dir that does not
 * exist is -ENOENT) or the reload failed. */
int ctl_cmd_refresh(const struct ctl_context *ctx, char *err, size_t errlen);

#endif
