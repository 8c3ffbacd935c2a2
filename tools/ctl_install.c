#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ctl_install.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "clock.h"
#include "errbuf.h"
#include "crypto.h"
#include "fingerprint.h"
#include "fs.h"
#include "issuer_keys.h"
#include "keystring.h"

#define LICENSE_DIR_MAX_FILES 1024 /* as the plugin */
#define PATH_BUF              4096

static int join_path(char *buf, size_t len, const char *dir, const char *name)
{
    return (size_t)snprintf(buf, len, "%s/%s", dir, name) < len ? 0 : -ENAMETOOLONG;
}

/* This machine's fingerprint as the plugin reads it for lic's rule. */
static int read_fingerprint(bool binding_virtual, struct fingerprint *fp, char *err, size_t errlen)
{
    int r = binding_virtual ? fingerprint_read_virtual(fp) : fingerprint_read(fp);

    if (r < 0)
        errbuf_set(err, errlen, "cannot read this machine's properties: %s", strerror(-r));
    /* run unprivileged, the DMI UUID is unknown rather than missing, as the plugin judges it */
    fp->dmi_unreadable_is_unknown = account_euid() != 0;
    return r;
}

int ctl_license_check(const char *text, size_t len, const char *key, const char *state_dir,
                      struct license *out, char *err, size_t errlen)
{
    char why[FINGERPRINT_WHY_MAX], canonical[KEYSTRING_BUFSIZE];
    struct ctl_installation inst;
    struct fingerprint fp;
    int r;

    memset(out, 0, sizeof(*out));
    errbuf_set(err, errlen, "%s", "");
    r = license_parse_verify(text, len, licgate_issuer_keys, licgate_issuer_keys_count, out, why,
                             sizeof(why));
    if (r < 0) {
        errbuf_set(err, errlen, "%s", why);
        return r;
    }
    if (key && strcmp(out->key_id, key) != 0) {
        errbuf_set(err, errlen, "the license is for key %s, not %s", out->key_id, key);
        r = -EBADMSG;
        goto fail;
    }
    if (!key && (keystring_canonicalize(out->key_id, canonical, NULL, 0) < 0 ||
                 strcmp(canonical, out->key_id) != 0)) {
        errbuf_set(err, errlen, "key-id '%s' is not a license key (LG-XXXX-XXXX-XXXX-XXXX)",
                   out->key_id);
        r = -EBADMSG;
        goto fail;
    }
    if (out->installation_id[0]) {
        r = ctl_installation_load(state_dir, false, &inst, why, sizeof(why));
        if (r == -ENOENT) {
            errbuf_set(err, errlen,
                       "the license is for installation %s; this machine has none (%s/%s is "
                       "made at the first activation)",
                       out->installation_id, state_dir, CTL_INSTALLATION_KEY_FILE);
            r = -EBADMSG;
            goto fail;
        }
        if (r < 0) {
            errbuf_set(err, errlen, "%s", why);
            goto fail;
        }
        r = strcmp(inst.id, out->installation_id) == 0 ? 0 : -EBADMSG;
        if (r < 0)
            errbuf_set(err, errlen, "the license is for installation %s, this one is %s",
                       out->installation_id, inst.id);
        ctl_installation_clear(&inst);
        if (r < 0)
            goto fail;
    }
    if (out->binding_rule != BINDING_NONE) {
        memset(&fp, 0, sizeof(fp));
        r = read_fingerprint(out->binding_virtual, &fp, err, errlen);
        if (r == 0) {
            r = fingerprint_match(out, &fp, why, sizeof(why));
            if (r != 1) {
                errbuf_set(err, errlen,
                           "License error: machine properties validation failed: verify fail: %s",
                           r == 0 ? why : "the match could not run");
                r = -EBADMSG;
            } else {
                r = 0;
            }
        }
        fingerprint_clear(&fp);
        if (r < 0)
            goto fail;
    }
    return 0;
fail:
    memset(out, 0, sizeof(*out));
    return r;
}

/* The first file in license_dir (by name) that verifies and carries key:
 * its name in found (or "" when none), its text and license. */
static int find_installed(const char *license_dir, const char *key, char *found, size_t foundlen,
                          char **text, size_t *textlen, struct license *lic)
{
    char **names = NULL, path[PATH_BUF];
    size_t count = 0;
    int r;

    found[0] = '\0';
    *text = NULL;
    *textlen = 0;
    r = fs_list_dir(license_dir, "", ".lic", true, &names, &count, LICENSE_DIR_MAX_FILES);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    for (size_t i = 0; i < count; i++) {
        char *t = NULL;
        size_t n = 0;

        if (join_path(path, sizeof(path), license_dir, names[i]) < 0 ||
            fs_read_bounded(path, LICENSE_MAX_TEXT, &t, &n) < 0)
            continue;
        if (license_parse_verify(t, n, licgate_issuer_keys, licgate_issuer_keys_count, lic, NULL,
                                 0) == 0 &&
            strcmp(lic->key_id, key) == 0) {
            snprintf(found, foundlen, "%s", names[i]);
            *text = t;
            *textlen = n;
            break;
        }
        free(t);
    }
    fs_free_list(names, count);
    if (!found[0])
        memset(lic, 0, sizeof(*lic));
    return 0;
}

int ctl_license_install(const char *license_dir, const char *text, size_t len,
                        const struct license *lic, bool *changed, char *path, size_t pathlen,
                        char *err, size_t errlen)
{
    char name[LICENSE_KEY_ID_MAX + 8], target[PATH_BUF], issued[LICENSE_TIME_BUFSIZE], why_new[128],
        why_old[128];
    struct license old;
    char *old_text = NULL;
    size_t old_len = 0;
    int64_t now = clock_wall_now();
    int r;

    *changed = false;
    if (path && pathlen)
        path[0] = '\0';
    errbuf_set(err, errlen, "%s", "");
    r = find_installed(license_dir, lic->key_id, name, sizeof(name), &old_text, &old_len, &old);
    if (r < 0) {
        errbuf_set(err, errlen, "license-dir %s: %s", license_dir, strerror(-r));
        return r;
    }
    if (!name[0])
        snprintf(name, sizeof(name), "%s.lic", lic->key_id);
    if (join_path(target, sizeof(target), license_dir, name) < 0) {
        errbuf_set(err, errlen, "license-dir path too long");
        r = -ENAMETOOLONG;
        goto out;
    }
    if (path && pathlen)
        snprintf(path, pathlen, "%s", target);
    if (old_text) {
        if (old_len == len && memcmp(old_text, text, len) == 0)
            goto out; /* already installed: nothing to do */
        if (old.issued > lic->issued) {
            license_format_time(old.issued, issued, sizeof(issued));
            errbuf_set(err, errlen, "%s holds a newer license for %s (issued %s); kept it", target,
                       lic->key_id, issued);
            r = -ESTALE;
            goto out;
        }
        if (license_evaluate(lic, now, why_new, sizeof(why_new)) != LICENSE_ACTIVE &&
            license_evaluate(&old, now, why_old, sizeof(why_old)) == LICENSE_ACTIVE) {
            errbuf_set(err, errlen,
                       "the new license for %s would not count (%s) while %s does; kept it",
                       lic->key_id, why_new, target);
            r = -ESTALE;
            goto out;
        }
    }
    r = fs_mkdir_parents(target);
    if (r == 0)
        r = fs_write_atomic(target, text, len, 0644);
    if (r < 0) {
        errbuf_set(err, errlen, "cannot write %s: %s", target, strerror(-r));
        goto out;
    }
    *changed = true;
out:
    free(old_text);
    return r;
}

/* ------------------------------------------------------------ state-dir/authorities */

/* One "KEY URL [+virtual]" line; false when malformed. */
static bool parse_authority_line(char *line, char **key, char **url, bool *binding_virtual)
{
    char *save = NULL, *flag, *extra;

    *key = strtok_r(line, " \t", &save);
    *url = strtok_r(NULL, " \t", &save);
    flag = strtok_r(NULL, " \t", &save);
    extra = strtok_r(NULL, " \t", &save);
    if (!*key || !*url || extra || strlen(*url) >= CTL_URL_MAX)
        return false;
    if (flag && strcmp(flag, "+virtual") != 0)
        return false;
    *binding_virtual = flag != NULL;
    return true;
}

static int authorities_read(const char *state_dir, char **text, size_t *len, char *path,
                            size_t pathlen, char *err, size_t errlen)
{
    int r;

    if (join_path(path, pathlen, state_dir, CTL_AUTHORITIES_FILE) < 0) {
        errbuf_set(err, errlen, "state-dir path too long");
        return -ENAMETOOLONG;
    }
    r = fs_read_bounded(path, CTL_AUTHORITIES_MAX, text, len);
    if (r < 0 && r != -ENOENT)
        errbuf_set(err, errlen, "cannot read %s: %s", path, strerror(-r));
    return r;
}

int ctl_authority_lookup(const char *state_dir, const char *key, char *url, size_t urllen,
                         bool *binding_virtual, char *err, size_t errlen)
{
    char path[PATH_BUF], *text = NULL, *line, *save = NULL;
    size_t len = 0, lineno = 0;
    int r;

    url[0] = '\0';
    *binding_virtual = false;
    r = authorities_read(state_dir, &text, &len, path, sizeof(path), err, errlen);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *k, *u;
        bool v;

        lineno++;
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        if (!parse_authority_line(line, &k, &u, &v)) {
            errbuf_set(err, errlen, "%s: line %zu: expected 'KEY URL [+virtual]'", path, lineno);
            r = -EBADMSG;
            break;
        }
        if (strcmp(k, key) == 0) {
            snprintf(url, urllen, "%s", u);
            *binding_virtual = v;
            r = 0;
        }
    }
    free(text);
    return r;
}

int ctl_authority_record(const char *state_dir, const char *key, const char *url,
                         bool binding_virtual, char *err, size_t errlen)
{
    char path[PATH_BUF], *text = NULL, *line, *save = NULL, *out = NULL;
    size_t len = 0, outlen = 0;
    FILE *f;
    int r;

    if (strlen(url) >= CTL_URL_MAX || strpbrk(url, " \t\n") || strpbrk(key, " \t\n")) {
        errbuf_set(err, errlen, "cannot record authority '%s' for %s", url, key);
        return -EINVAL;
    }
    r = authorities_read(state_dir, &text, &len, path, sizeof(path), err, errlen);
    if (r < 0 && r != -ENOENT)
        return r;
    if (!(f = open_memstream(&out, &outlen))) {
        free(text);
        return -ENOMEM;
    }
    fputs("# licgate: the authority each license key was activated with (licgatectl refresh)\n", f);
    for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char copy[CTL_URL_MAX + LICENSE_KEY_ID_MAX + 32], *k, *u;
        bool v;

        if (line[0] == '#' || strlen(line) >= sizeof(copy))
            continue;
        memcpy(copy, line, strlen(line) + 1);
        if (parse_authority_line(copy, &k, &u, &v) && strcmp(k, key) != 0)
            fprintf(f, "%s %s%s\n", k, u, v ? " +virtual" : "");
    }
    fprintf(f, "%s %s%s\n", key, url, binding_virtual ? " +virtual" : "");
    free(text);
    if (fclose(f) != 0) {
        free(out);
        return -ENOMEM;
    }
    r = fs_mkdir_parents(path);
    if (r == 0)
        r = fs_write_atomic(path, out, outlen, 0644);
    if (r < 0)
        errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(-r));
    free(out);
    return r;
}

/* ------------------------------------------------------------ the commands */

/* The canonical key, or -EINVAL with the reason. */
static int canonical_key(const char *input, char out[KEYSTRING_BUFSIZE], char *err, size_t errlen)
{
    char why[256];

    if (keystring_canonicalize(input, out, why, sizeof(why)) < 0) {
        errbuf_set(err, errlen, "license key '%s': %s", input, why);
        return -EINVAL;
    }
    return 0;
}

/* The signed request for key from this installation and machine, with the
 * usage report usage_peak when it is not NULL. */
static int make_request(const struct ctl_context *ctx, const char *key, bool binding_virtual,
                        const uint32_t *usage_peak, char **json, size_t *jsonlen, char *err,
                        size_t errlen)
{
    struct binding_component comps[LICENSE_MAX_COMPONENTS];
    struct ctl_installation inst;
    struct activation_request req;
    struct fingerprint fp;
    uint8_t nonce[16];
    size_t n = 0;
    int r;

    *json = NULL;
    *jsonlen = 0;
    memset(&fp, 0, sizeof(fp));
    if ((r = ctl_installation_load(ctx->state_dir, true, &inst, err, errlen)) < 0)
        return r;
    if ((r = read_fingerprint(binding_virtual, &fp, err, errlen)) < 0)
        goto out;
    r = fingerprint_digests_for_key(&fp, key, comps, LICENSE_MAX_COMPONENTS, &n);
    if (r == 0 && n == 0)
        r = -ENODEV;
    if (r < 0) {
        errbuf_set(err, errlen, "this machine has no binding components%s",
                   binding_virtual ? "" : " (no machine-id and no physical NIC: --rule-virtual?)");
        goto out;
    }
    if ((r = crypto_random(nonce, sizeof(nonce))) < 0) {
        errbuf_set(err, errlen, "no random bytes: %s", strerror(-r));
        goto out;
    }
    r = ctl_request_build(&req, key, &inst, comps, n, binding_virtual, clock_wall_now(), nonce,
                          usage_peak);
    if (r == 0)
        r = activation_request_to_json(&req, json, jsonlen);
    if (r < 0)
        errbuf_set(err, errlen, "cannot build the request: %s", strerror(-r));
out:
    fingerprint_clear(&fp);
    ctl_installation_clear(&inst);
    return r;
}

/* POSTs the request for key (with usage_peak, when not NULL) to
 * authority/path; the license text of the answer. */
static int exchange(const struct ctl_context *ctx, const char *authority, const char *path,
                    const char *key, bool binding_virtual, const uint32_t *usage_peak,
                    char **license, size_t *license_len, char *code, size_t codelen, char *err,
                    size_t errlen)
{
    char *json = NULL, *answer = NULL;
    size_t jsonlen = 0, answer_len = 0;
    long status = 0;
    int r;

    *license = NULL;
    *license_len = 0;
    code[0] = '\0';
    r = make_request(ctx, key, binding_virtual, usage_peak, &json, &jsonlen, err, errlen);
    if (r == 0)
        r = ctl_authority_post(authority, path, json, jsonlen, &ctx->http, &answer, &answer_len,
                               &status, err, errlen);
    if (r == 0)
        r = ctl_parse_answer(answer, answer_len, status, license, license_len, code, codelen, err,
                             errlen);
    free(json);
    free(answer);
    return r;
}

static void describe(FILE *out, const struct license *lic);

/* "<what> <license> installed PATH", then the reload that makes it count. */
static int report_installed(const struct ctl_context *ctx, const char *what,
                            const struct license *lic, bool changed, const char *path, char *err,
                            size_t errlen)
{
    fprintf(ctx->out, "%s ", what);
    describe(ctx->out, lic);
    fprintf(ctx->out, "%s %s\n", changed ? "installed" : "already installed", path);
    fflush(ctx->out);
    if (ctx->reload && ctx->reload(ctx->reload_arg, false) < 0) {
        errbuf_set(err, errlen, "the license is installed, but the reload failed");
        return -EIO;
    }
    return 0;
}

static void describe(FILE *out, const struct license *lic)
{
    char support[LICENSE_TIME_BUFSIZE], lease[LICENSE_TIME_BUFSIZE], why[128];
    enum license_state state = license_evaluate(lic, clock_wall_now(), why, sizeof(why));

    license_format_time(lic->support_until, support, sizeof(support));
    fprintf(out, "%s: %u seats for %s, support until %s%s", lic->key_id, lic->seats, lic->customer,
            support, lic->perpetual ? " (perpetual)" : "");
    if (lic->lease_not_after) {
        license_format_time(lic->lease_not_after, lease, sizeof(lease));
        fprintf(out, ", lease until %s", lease);
    }
    if (lic->sunset) {
        license_format_time(lic->sunset, lease, sizeof(lease));
        fprintf(out, ", sunset %s", lease);
    }
    fputc('\n', out);
    if (state != LICENSE_ACTIVE)
        fprintf(out, "warning: this license does not count now: %s\n", why);
}

int ctl_cmd_activate(const struct ctl_context *ctx, const char *key_input, char *err, size_t errlen)
{
    const char *authority = ctx->authority;
    char key[KEYSTRING_BUFSIZE], code[64], path[PATH_BUF], note[512];
    char *license = NULL;
    size_t license_len = 0;
    struct license lic;
    bool changed = false;
    int r;

    if ((r = canonical_key(key_input, key, err, errlen)) < 0)
        return r;
    if (!authority) {
        errbuf_set(err, errlen, "no authority is configured");
        return -EDESTADDRREQ;
    }
    r = exchange(ctx, authority, "/v1/activate", key, ctx->rule_virtual, NULL, &license,
                 &license_len, code, sizeof(code), err, errlen);
    if (r < 0)
        goto out;
    r = ctl_license_check(license, license_len, key, ctx->state_dir, &lic, note, sizeof(note));
    if (r < 0) {
        errbuf_set(err, errlen, "the authority's license was not installed: %s", note);
        goto out;
    }
    r = ctl_license_install(ctx->license_dir, license, license_len, &lic, &changed, path,
                            sizeof(path), err, errlen);
    if (r < 0)
        goto out;
    if ((r = ctl_authority_record(ctx->state_dir, key, authority, ctx->rule_virtual, err, errlen)) <
        0)
        goto out;
    r = report_installed(ctx, "activated", &lic, changed, path, err, errlen);
out:
    free(license);
    return r;
}

int ctl_cmd_offline_request(const struct ctl_context *ctx, const char *key_input, char *err,
                            size_t errlen)
{
    char key[KEYSTRING_BUFSIZE], *json = NULL, *armored = NULL;
    size_t jsonlen = 0, armored_len = 0;
    int r;

    if ((r = canonical_key(key_input, key, err, errlen)) < 0)
        return r;
    r = make_request(ctx, key, ctx->rule_virtual, NULL, &json, &jsonlen, err, errlen);
    if (r == 0 && (r = activation_request_armor(json, jsonlen, &armored, &armored_len)) < 0)
        errbuf_set(err, errlen, "cannot armor the request: %s", strerror(-r));
    if (r == 0 && (fwrite(armored, 1, armored_len, ctx->out) != armored_len || fflush(ctx->out))) {
        r = -EIO;
        errbuf_set(err, errlen, "cannot write the request: %s", strerror(errno));
    }
    free(json);
    free(armored);
    return r;
}

int ctl_cmd_install(const struct ctl_context *ctx, const char *file, char *err, size_t errlen)
{
    char path[PATH_BUF], note[512];
    char *text = NULL;
    size_t len = 0;
    struct license lic;
    bool changed = false;
    int r;

    r = fs_read_bounded(file, LICENSE_MAX_TEXT, &text, &len);
    if (r < 0) {
        errbuf_set(err, errlen, "%s: %s", file,
                   r == -EFBIG ? "larger than a license (64 KiB)" : strerror(-r));
        return r;
    }
    r = ctl_license_check(text, len, NULL, ctx->state_dir, &lic, note, sizeof(note));
    if (r < 0) {
        errbuf_set(err, errlen, "%s not installed: %s", file, note);
        goto out;
    }
    r = ctl_license_install(ctx->license_dir, text, len, &lic, &changed, path, sizeof(path), err,
                            errlen);
    if (r < 0)
        goto out;
    r = report_installed(ctx, "license", &lic, changed, path, err, errlen);
out:
    free(text);
    return r;
}

/* Whether two licenses carry the same binding line: rule, tolerance,
 * +virtual and the components in order. */
static bool same_binding(const struct license *a, const struct license *b)
{
    if (a->binding_rule != b->binding_rule || a->binding_tolerance != b->binding_tolerance ||
        a->binding_virtual != b->binding_virtual || a->ncomponents != b->ncomponents)
        return false;
    for (size_t i = 0; i < a->ncomponents; i++)
        if (a->components[i].type != b->components[i].type ||
            memcmp(a->components[i].digest, b->components[i].digest,
                   sizeof(a->components[i].digest)) != 0)
            return false;
    return true;
}

/* "<what>, lease until DATE" (the support term when there is no lease),
 * then the sunset and whether the license counts now, into line. */
static void refresh_line(const char *what, const struct license *lic, char *line, size_t len)
{
    char when[LICENSE_TIME_BUFSIZE], why[128];
    size_t used;

    if (lic->lease_not_after || !lic->perpetual) {
        license_format_time(lic->lease_not_after ? lic->lease_not_after : lic->support_until, when,
                            sizeof(when));
        used = (size_t)snprintf(line, len, "%s, %s %s", what,
                                lic->lease_not_after ? "lease until" : "support until", when);
    } else {
        used = (size_t)snprintf(line, len, "%s, perpetual", what);
    }
    if (lic->sunset && used < len) {
        license_format_time(lic->sunset, when, sizeof(when));
        used += (size_t)snprintf(line + used, len - used, ", sunset %s", when);
    }
    if (used < len && license_evaluate(lic, clock_wall_now(), why, sizeof(why)) != LICENSE_ACTIVE)
        snprintf(line + used, len - used, " (it does not count now: %s)", why);
}

/* Asks url (or ctx->authority) to renew the installed license and installs
 * the answer. 0 with *line the outcome for stdout; else -EREMOTEIO for the
 * authority's refusal or another -errno, with the reason in err. */
static int refresh_one(const struct ctl_context *ctx, const struct license *installed,
                       const char *url, bool recorded_virtual, bool *changed, char *line,
                       size_t linelen, char *err, size_t errlen)
{
    char code[64], note[512];
    char *license = NULL;
    size_t license_len = 0;
    bool binding_virtual, usage;
    struct license lic;
    uint32_t peak = 0;
    int r;

    *changed = false;
    line[0] = '\0';
    binding_virtual =
        installed->binding_rule != BINDING_NONE ? installed->binding_virtual : recorded_virtual;
    /* A cluster node reports its pool's peak; without a plugin to ask, it reports nothing. */
    usage = installed->kind == LICENSE_KIND_CLUSTER && ctx->pool_peak &&
            ctx->pool_peak(ctx->pool_peak_arg, &peak) == 0;
    r = exchange(ctx, ctx->authority ? ctx->authority : url, "/v1/refresh", installed->key_id,
                 binding_virtual, usage ? &peak : NULL, &license, &license_len, code, sizeof(code),
                 err, errlen);
    if (r < 0)
        goto out;
    r = ctl_license_check(license, license_len, installed->key_id, ctx->state_dir, &lic, note,
                          sizeof(note));
    if (r < 0) {
        errbuf_set(err, errlen, "the authority's license was not installed: %s", note);
        goto out;
    }
    r = ctl_license_install(ctx->license_dir, license, license_len, &lic, changed, NULL, 0, err,
                            errlen);
    if (r < 0)
        goto out;
    /* The answer says renewed or re-bound only through the license it carries. */
    refresh_line(!*changed                       ? "nothing to do: the installed license is current"
                 : same_binding(installed, &lic) ? "renewed"
                                                 : "re-bound to this machine's changed hardware",
                 &lic, line, linelen);
out:
    free(license);
    return r;
}

int ctl_cmd_refresh(const struct ctl_context *ctx, char *err, size_t errlen)
{
    char **names = NULL, path[PATH_BUF], seen[LICENSE_DIR_MAX_FILES][LICENSE_KEY_ID_MAX + 1];
    size_t count = 0, nseen = 0, renewed = 0, failed = 0;
    int r;

    errbuf_set(err, errlen, "%s", "");
    r = fs_list_dir(ctx->license_dir, "", ".lic", true, &names, &count, LICENSE_DIR_MAX_FILES);
    if (r == -ENOENT) {
        errbuf_set(err, errlen, "license-dir %s does not exist (see --config, --license-dir)",
                   ctx->license_dir);
        return r;
    }
    if (r < 0) {
        errbuf_set(err, errlen, "license-dir %s: %s", ctx->license_dir, strerror(-r));
        return r;
    }
    for (size_t i = 0; i < count; i++) {
        char url[CTL_URL_MAX], why[512], line[512], *text = NULL;
        struct license lic;
        size_t len = 0;
        bool dup = false, changed = false, v = false;

        if (join_path(path, sizeof(path), ctx->license_dir, names[i]) < 0 ||
            fs_read_bounded(path, LICENSE_MAX_TEXT, &text, &len) < 0)
            continue;
        r = license_parse_verify(text, len, licgate_issuer_keys, licgate_issuer_keys_count, &lic,
                                 NULL, 0);
        free(text);
        if (r < 0)
            continue; /* the plugin reports invalid files; only licenses can be renewed */
        for (size_t j = 0; j < nseen; j++)
            dup |= strcmp(seen[j], lic.key_id) == 0;
        if (dup)
            continue; /* the plugin counts the first file of a key only */
        memcpy(seen[nseen++], lic.key_id, sizeof(seen[0]));
        r = ctl_authority_lookup(ctx->state_dir, lic.key_id, url, sizeof(url), &v, why,
                                 sizeof(why));
        if (r == -ENOENT) {
            snprintf(line, sizeof(line), "nothing to do (offline license: no authority recorded)");
            r = 0;
        } else if (r == 0) {
            r = refresh_one(ctx, &lic, url, v, &changed, line, sizeof(line), why, sizeof(why));
        }
        if (r < 0) {
            fflush(ctx->out);
            fprintf(ctx->errout, "licgatectl: %s: %s%s%s\n", lic.key_id,
                    r == -EREMOTEIO ? "refused: " : "not renewed: ", why,
                    r == -ESTALE ? "" : " (the installed license is kept)");
            failed++;
        } else if (!ctx->quiet) {
            fprintf(ctx->out, "%s: %s\n", lic.key_id, line);
        }
        renewed += changed;
    }
    fs_free_list(names, count);
    if (nseen == 0 && !ctx->quiet)
        fprintf(ctx->out, "nothing to do: no valid license in %s\n", ctx->license_dir);
    fflush(ctx->out);
    r = failed > 0 ? -EREMOTEIO : 0; /* each failure has had its line */
    /* The renewed ones are installed even when another key failed. */
    if (renewed > 0 && ctx->reload && ctx->reload(ctx->reload_arg, ctx->quiet) < 0 && r == 0) {
        errbuf_set(err, errlen, "the renewed licenses are installed, but the reload failed");
        r = -EIO;
    }
    return r;
}
