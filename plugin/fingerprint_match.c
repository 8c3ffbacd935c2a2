/* The other half of a fingerprint: its components salted for one license
 * key, and a license's binding compared with this machine (fingerprint.h).
 * Reading the components is fingerprint.c. */
#include "fingerprint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define SALT_DOMAIN "licgate-fingerprint-v1"

static int salted_digest(const char *key_id, size_t key_len, enum component_type type,
                         const char *value, uint8_t out[32])
{
    /* domain NUL key_id NUL type NUL value */
    char buf[sizeof(SALT_DOMAIN) + LICENSE_KEY_ID_MAX + 1 + 16 + FINGERPRINT_VALUE_MAX];
    const char *name = license_component_name(type);
    size_t name_len = strlen(name), value_len = strnlen(value, FINGERPRINT_VALUE_MAX);
    size_t used = 0;
    int ret;

    if (value_len == FINGERPRINT_VALUE_MAX || name_len > 16 - 1)
        return -EINVAL;
    memcpy(buf, SALT_DOMAIN, sizeof(SALT_DOMAIN));
    used += sizeof(SALT_DOMAIN);
    memcpy(buf + used, key_id, key_len);
    used += key_len;
    buf[used++] = '\0';
    memcpy(buf + used, name, name_len + 1);
    used += name_len + 1;
    memcpy(buf + used, value, value_len);
    used += value_len;
    ret = crypto_sha256(buf, used, out);
    crypto_wipe(buf, sizeof(buf));
    return ret;
}

int fingerprint_digests_for_key(const struct fingerprint *fp, const char *key_id,
                                struct binding_component *out, size_t max, size_t *count)
{
    size_t key_len;
    int ret = 0;

    *count = 0;
    if (max > 0)
        memset(out, 0, max * sizeof(*out));
    if (fp == NULL || key_id == NULL || fp->count > LICENSE_MAX_COMPONENTS)
        return -EINVAL;
    key_len = strnlen(key_id, LICENSE_KEY_ID_MAX + 1);
    if (key_len == 0 || key_len > LICENSE_KEY_ID_MAX)
        return -EINVAL;
    if (max < fp->count)
        return -ENOSPC;
    for (size_t i = 0; i < fp->count && ret == 0; i++) {
        out[i].type = fp->components[i].type;
        ret = salted_digest(key_id, key_len, fp->components[i].type, fp->values[i], out[i].digest);
    }
    if (ret != 0) {
        memset(out, 0, max * sizeof(*out));
        return ret;
    }
    *count = fp->count;
    return 0;
}

struct why_buf {
    char *buf;
    size_t len, used;
};

__attribute__((format(printf, 2, 3))) static void why_add(struct why_buf *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->len == 0 || w->used + 1 >= w->len)
        return;
    if (w->used > 0) {
        n = snprintf(w->buf + w->used, w->len - w->used, "; ");
        w->used += (size_t)n < w->len - w->used ? (size_t)n : w->len - w->used - 1;
    }
    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->used, w->len - w->used, fmt, ap);
    va_end(ap);
    if (n < 0)
        w->buf[w->used] = '\0';
    else
        w->used += (size_t)n < w->len - w->used ? (size_t)n : w->len - w->used - 1;
}

static const char *source_note(enum fingerprint_source src)
{
    switch (src) {
    case FINGERPRINT_SOURCE_UNREADABLE:
        return " (unreadable)";
    case FINGERPRINT_SOURCE_MALFORMED:
        return " (malformed)";
    default:
        return "";
    }
}

/* Compares the license's machine-id or dmi-uuid with this machine's;
 * returns the number of differences (0 or 1). */
static size_t match_identity(const struct license *lic, const struct fingerprint *fp,
                             const struct binding_component *mine, size_t nmine,
                             enum component_type type, struct why_buf *w)
{
    enum fingerprint_source src =
        type == COMPONENT_MACHINE_ID ? fp->machine_id_source : fp->dmi_uuid_source;
    size_t diffs = 0;

    for (size_t i = 0; i < lic->ncomponents; i++) {
        const struct binding_component *want = &lic->components[i];
        bool found = false, equal = false;

        if (want->type != type)
            continue;
        for (size_t j = 0; j < nmine; j++) {
            if (mine[j].type != type)
                continue;
            found = true;
            equal = equal || memcmp(mine[j].digest, want->digest, 32) == 0;
        }
        if (!found)
            why_add(w, "%s missing%s", license_component_name(type), source_note(src));
        else if (!equal)
            why_add(w, "%s differs", license_component_name(type));
        diffs += !equal;
    }
    return diffs;
}

/* Returns the number of license nics not found here, and through *extra the
 * number of this machine's nics the license lacks. */
static size_t match_nics(const struct license *lic, const struct fingerprint *fp,
                         const struct binding_component *mine, size_t nmine, bool report_extra,
                         size_t *extra, struct why_buf *w)
{
    bool used[LICENSE_MAX_COMPONENTS] = {false};
    size_t want = 0, have = 0, found = 0;

    for (size_t j = 0; j < nmine; j++)
        have += mine[j].type == COMPONENT_NIC;
    for (size_t i = 0; i < lic->ncomponents; i++) {
        if (lic->components[i].type != COMPONENT_NIC)
            continue;
        want++;
        for (size_t j = 0; j < nmine; j++) {
            if (!used[j] && mine[j].type == COMPONENT_NIC &&
                memcmp(mine[j].digest, lic->components[i].digest, 32) == 0) {
                used[j] = true;
                found++;
                break;
            }
        }
    }
    *extra = have - found;
    if (want != have && (want > found || report_extra))
        why_add(w, "nic count %zu expected, %zu found", want, have);
    if (want > found)
        why_add(w, "%zu of %zu licensed nics not found", want - found, want);
    if (report_extra) {
        for (size_t j = 0; j < nmine; j++) {
            if (mine[j].type == COMPONENT_NIC && !used[j])
                why_add(w, "%s not in license", fp->components[j].label);
        }
    }
    return want - found;
}

int fingerprint_match(const struct license *lic, const struct fingerprint *fp, char *why,
                      size_t whylen)
{
    struct binding_component mine[LICENSE_MAX_COMPONENTS];
    struct why_buf w = {why, whylen, 0};
    size_t nmine = 0, diffs = 0, extra = 0;
    bool skip_dmi;
    int ret;

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    else
        w.len = 0;
    if (lic == NULL || fp == NULL)
        return -EINVAL;
    if (lic->binding_rule == BINDING_NONE)
        return 1;
    if (lic->binding_rule != BINDING_ALL && lic->binding_rule != BINDING_ALL_BUT &&
        lic->binding_rule != BINDING_MACHINE_ID_ONLY) {
        why_add(&w, "unknown binding rule");
        return 0;
    }
    if (lic->ncomponents == 0 || lic->ncomponents > LICENSE_MAX_COMPONENTS) {
        why_add(&w, "license binds no components");
        return 0;
    }
    ret = fingerprint_digests_for_key(fp, lic->key_id, mine, LICENSE_MAX_COMPONENTS, &nmine);
    if (ret != 0)
        return ret;

    diffs += match_identity(lic, fp, mine, nmine, COMPONENT_MACHINE_ID, &w);
    skip_dmi =
        fp->dmi_unreadable_is_unknown && fp->dmi_uuid_source == FINGERPRINT_SOURCE_UNREADABLE;
    switch (lic->binding_rule) {
    case BINDING_MACHINE_ID_ONLY:
        ret = diffs == 0;
        break;
    case BINDING_ALL:
        if (!skip_dmi)
            diffs += match_identity(lic, fp, mine, nmine, COMPONENT_DMI_UUID, &w);
        diffs += match_nics(lic, fp, mine, nmine, true, &extra, &w);
        ret = diffs == 0 && extra == 0;
        break;
    default: /* BINDING_ALL_BUT */
        if (!skip_dmi)
            diffs += match_identity(lic, fp, mine, nmine, COMPONENT_DMI_UUID, &w);
        diffs += match_nics(lic, fp, mine, nmine, false, &extra, &w);
        ret = diffs <= lic->binding_tolerance;
        if (!ret)
            why_add(&w, "%zu difference%s, all-but-%u tolerates %u", diffs, diffs == 1 ? "" : "s",
                    lic->binding_tolerance, lic->binding_tolerance);
        break;
    }
    crypto_wipe(mine, sizeof(mine));
    return ret;
}
